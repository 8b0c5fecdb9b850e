"""Size constraint: closed form, bound, identity near 0, finite gradients at |s| = 0."""

from __future__ import annotations

import math

import pytest
import torch

from gan3dlib.shape import SizeConstraint, SizeConstraintConfig, size_constraint


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_matches_closed_form_per_vertex(dtype):
    g = torch.Generator().manual_seed(0)
    s = (torch.randn(2, 3, 5, 4, generator=g) * 2).to(dtype)
    got = size_constraint(s, 1.3)
    for b in range(2):
        for i in range(5):
            for j in range(4):
                x, y, z = (float(v) for v in s[b, :, i, j])
                norm = math.sqrt(x * x + y * y + z * z)
                scale = 1.3 * math.tanh(norm / 1.3) / norm
                expected = torch.tensor([x * scale, y * scale, z * scale], dtype=dtype)
                torch.testing.assert_close(got[b, :, i, j], expected)


def test_norm_never_exceeds_s_max_and_direction_is_kept():
    s = torch.randn(1, 3, 10, 10, dtype=torch.float64) * torch.logspace(-8, 8, 10, dtype=torch.float64).view(1, 1, 1, 10)
    out = size_constraint(s, 0.9)
    norms = out.norm(dim=1)
    assert float(norms.max()) <= 0.9 * (1 + 1e-12)  # tanh saturates at 1 in floating point
    cos = (out * s).sum(1) / (norms * s.norm(dim=1))
    torch.testing.assert_close(cos, torch.ones_like(cos))


def test_identity_to_first_order_near_zero():
    s = torch.randn(1, 3, 4, 4, dtype=torch.float64) * 1e-4
    r_sq = (s * s).sum(1, keepdim=True) / 1.3**2
    torch.testing.assert_close(size_constraint(s, 1.3), s * (1 - r_sq / 3 + 2 * r_sq**2 / 15), atol=0, rtol=1e-14)


def test_finite_forward_and_backward_at_zero():
    s = torch.zeros(1, 3, 2, 2, dtype=torch.float64, requires_grad=True)
    out = size_constraint(s, 1.3)
    assert float(out.detach().abs().max()) == 0.0
    (grad,) = torch.autograd.grad(out.sum(), s)
    assert bool(torch.isfinite(grad).all())
    torch.testing.assert_close(grad, torch.ones_like(grad))  # d s_size / d s = I at the origin


def test_gradients_match_finite_differences_across_the_taylor_switch():
    values = torch.tensor([0.0, 5e-4, 1.2e-3, 0.3, 2.0, 7.0], dtype=torch.float64)
    s = torch.stack([values, 0.5 * values, -values]).view(1, 3, 1, -1).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda x: size_constraint(x, 1.3), (s,))


def test_module_and_config():
    torch.testing.assert_close(SizeConstraintConfig(s_max=2.0).build()(torch.ones(1, 3, 2, 2)), size_constraint(torch.ones(1, 3, 2, 2), 2.0))
    with pytest.raises(ValueError, match="s_max"):
        SizeConstraintConfig(s_max=0.0)
    with pytest.raises(ValueError, match="s_max"):
        SizeConstraintConfig(s_max=float("inf"))
    with pytest.raises(ValueError, match="shape_image"):
        SizeConstraint()(torch.ones(1, 4, 2, 2))
