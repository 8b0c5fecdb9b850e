"""GAN losses against closed forms; R1 on a linear critic; EMA decay and half-life."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gan3dlib.train import EMAConfig, ModelEMA, discriminator_loss, ema_beta, generator_loss, r1_penalty


def test_losses_match_the_log_sigmoid_forms():
    real = torch.tensor([[2.0], [-1.0], [0.5]], dtype=torch.float64)
    fake = torch.tensor([[-3.0], [0.0]], dtype=torch.float64)
    sig = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    d_expected = sum(-math.log(1 - sig(x)) for x in fake.flatten().tolist()) / 2 + sum(
        -math.log(sig(x)) for x in real.flatten().tolist()
    ) / 3
    g_expected = sum(-math.log(sig(x)) for x in fake.flatten().tolist()) / 2
    assert math.isclose(float(discriminator_loss(real, fake)), d_expected, rel_tol=1e-12)
    assert math.isclose(float(generator_loss(fake)), g_expected, rel_tol=1e-12)
    # Stable for huge logits (no inf/nan).
    assert torch.isfinite(discriminator_loss(torch.tensor([1e4, -1e4]), torch.tensor([1e4, -1e4])))


def test_r1_of_a_linear_critic_is_its_squared_weight_norm():
    w = torch.randn(3, 4, 4, dtype=torch.float64)
    images = torch.randn(5, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    logits = (images * w).sum(dim=(1, 2, 3))
    penalty = r1_penalty(images, logits)
    assert math.isclose(float(penalty), float(w.square().sum()), rel_tol=1e-12)
    # The penalty is differentiable (second order) w.r.t. the critic's parameters.
    w_param = w.clone().requires_grad_(True)
    images2 = images.detach().clone().requires_grad_(True)
    (grad_w,) = torch.autograd.grad(r1_penalty(images2, (images2 * w_param).sum(dim=(1, 2, 3))), w_param)
    torch.testing.assert_close(grad_w, 2 * w)
    with pytest.raises(ValueError, match="real_images"):
        r1_penalty(images.detach(), logits)


def test_ema_beta_follows_the_half_life_and_ramp_up():
    config = EMAConfig(half_life_kimg=10.0, rampup=None)
    assert math.isclose(ema_beta(32, 10**6, config), 0.5 ** (32 / 10_000))
    ramped = EMAConfig(half_life_kimg=10.0, rampup=0.05)
    assert math.isclose(ema_beta(32, 1000, ramped), 0.5 ** (32 / 50))  # min(10000, 1000 * 0.05)
    # The same half-life in images whatever the batch size.
    for batch in (4, 32, 64):
        steps = 10_000 / batch
        assert math.isclose(ema_beta(batch, 10**6, config) ** steps, 0.5, rel_tol=1e-9)


def test_model_ema_averages_parameters_and_copies_buffers():
    model = nn.Linear(3, 2)
    model.register_buffer("w_avg", torch.zeros(3))
    ema = ModelEMA(model, EMAConfig(half_life_kimg=0.004, rampup=None))  # 4 images
    start = [p.detach().clone() for p in ema.module.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
        model.w_avg.fill_(7.0)
    beta = ema.update(model, batch_size=2, cur_nimg=100)
    assert math.isclose(beta, 0.5 ** (2 / 4))
    for averaged, s, current in zip(ema.module.parameters(), start, model.parameters()):
        torch.testing.assert_close(averaged, beta * s + (1 - beta) * current)
    assert float(ema.module.w_avg[0]) == 7.0
    assert not any(p.requires_grad for p in ema.module.parameters()) and not ema.module.training
    assert math.isclose(ema.half_life_steps(2), 2.0)


def test_bad_ema_config():
    with pytest.raises(ValueError, match="half_life_kimg"):
        EMAConfig(half_life_kimg=0)
    with pytest.raises(ValueError, match="batch_size"):
        ema_beta(0, 10, EMAConfig())
