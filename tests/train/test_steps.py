"""The D phase of a training step against a closed form: a linear discriminator's update."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from accelerate import Accelerator

from gan3dlib.train.steps import discriminator_step


@pytest.mark.parametrize("r1_full_precision", [False, True])
@pytest.mark.parametrize("gamma", [0.0, 0.5])
def test_discriminator_step_matches_the_closed_form_of_a_linear_discriminator(gamma, r1_full_precision):
    # D(x) = w . x + b: its input gradient is w, so R1 = ||w||² and every gradient has a closed form.
    torch.manual_seed(0)
    batch, shape = 4, (3, 2, 2)
    D = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 1)).double()
    w0, b0 = D[1].weight.detach().clone()[0], D[1].bias.detach().clone()[0]
    fake, real = torch.randn(batch, *shape, dtype=torch.double), torch.randn(batch, *shape, dtype=torch.double)
    G = lambda z_obj, z_bg, generator=None: SimpleNamespace(image=fake)  # noqa: E731
    opt = torch.optim.SGD(D.parameters(), lr=1.0)
    config = SimpleNamespace(r1_interval=16)
    finite, (loss_fake, loss_real, loss_r1) = discriminator_step(
        Accelerator(cpu=True), config, G, D, opt, real, torch.zeros(2, batch, 1), None, gamma, r1_full_precision)

    f, r = fake.flatten(1), real.flatten(1)
    logit_f, logit_r = f @ w0 + b0, r @ w0 + b0
    grad_w = (torch.sigmoid(logit_f)[:, None] * f).mean(0) - (torch.sigmoid(-logit_r)[:, None] * r).mean(0)
    grad_w = grad_w + gamma / 2 * config.r1_interval * 2 * w0
    grad_b = torch.sigmoid(logit_f).mean() - torch.sigmoid(-logit_r).mean()
    assert finite
    assert float(loss_fake) == pytest.approx(float(torch.nn.functional.softplus(logit_f).mean()))
    assert float(loss_r1) == pytest.approx(gamma / 2 * config.r1_interval * float(w0.square().sum()))
    torch.testing.assert_close(D[1].weight.detach()[0], w0 - grad_w)
    torch.testing.assert_close(D[1].bias.detach()[0], b0 - grad_b)
