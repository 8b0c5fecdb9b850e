"""UV sampling against F.grid_sample; triangle geometry against brute force."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gan3dlib.render.texture import sample_texture
from gan3dlib.render.triangle_geometry import (
    closest_point_on_boundary,
    edge_function,
    perspective_correct,
    screen_barycentrics,
)

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("align_corners", [True, False])
@pytest.mark.parametrize("size", [(5, 7), (1, 4), (6, 1)])
def test_sample_texture_equals_grid_sample(device, dtype, align_corners, size):
    g = torch.Generator().manual_seed(0)
    texture = torch.rand(2, 3, *size, generator=g, dtype=dtype).to(device).requires_grad_(True)
    uv = (torch.rand(2, 10, 2, generator=g, dtype=dtype) * 1.4 - 0.2).to(device).requires_grad_(True)
    grid = torch.stack([uv[..., 0] * 2 - 1, 1 - uv[..., 1] * 2], -1).unsqueeze(1)
    ref = F.grid_sample(texture, grid, mode="bilinear", padding_mode="border", align_corners=align_corners)
    ref = ref[:, :, 0].permute(0, 2, 1).reshape(20, 3)
    batch = torch.arange(2, device=device).repeat_interleave(10)
    got = sample_texture(texture, uv.reshape(20, 2), batch, align_corners)
    tol = 1e-6 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(got, ref, atol=tol, rtol=0)
    weights = torch.rand(20, 3, generator=g, dtype=dtype).to(device)
    grads = torch.autograd.grad((got * weights).sum(), (texture, uv))
    ref_grads = torch.autograd.grad((ref * weights).sum(), (texture, uv))
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b, atol=tol * 10, rtol=0)


def test_uv_convention_is_v_up():
    texture = torch.zeros(1, 1, 4, 4)
    texture[0, 0, 3, 0] = 1.0  # bottom-left texel
    value = sample_texture(texture, torch.tensor([[0.0, 0.0]]), torch.tensor([0]))
    assert float(value) == 1.0


@pytest.mark.parametrize("seed", range(5))
def test_closest_point_matches_dense_sampling(seed):
    g = torch.Generator().manual_seed(seed)
    tri = torch.rand(3, 2, generator=g, dtype=torch.float64) * 10
    points = torch.rand(50, 2, generator=g, dtype=torch.float64) * 14 - 2
    a, b, c = (tri[i].expand(50, 2) for i in range(3))
    dist_sq, bary = closest_point_on_boundary(points, a, b, c)
    # Brute force: the boundary sampled densely.
    t = torch.linspace(0, 1, 4001, dtype=torch.float64).unsqueeze(-1)
    boundary = torch.cat([tri[0] + t * (tri[1] - tri[0]), tri[1] + t * (tri[2] - tri[1]), tri[2] + t * (tri[0] - tri[2])])
    brute = torch.cdist(points, boundary).min(dim=1).values
    torch.testing.assert_close(dist_sq.sqrt(), brute, atol=1e-2, rtol=0)
    closest = bary @ tri
    torch.testing.assert_close(((points - closest) ** 2).sum(-1), dist_sq, atol=1e-12, rtol=0)
    assert bool((bary >= 0).all()) and torch.allclose(bary.sum(-1), torch.ones(50, dtype=torch.float64))


def test_barycentrics_and_perspective_correction_closed_form():
    a, b, c = torch.tensor([[0.0, 0.0]]), torch.tensor([[4.0, 0.0]]), torch.tensor([[0.0, 4.0]])
    p = torch.tensor([[1.0, 1.0]])
    area = edge_function(a, b, c)
    bary = screen_barycentrics(p, a, b, c, area)
    torch.testing.assert_close(bary, torch.tensor([[0.5, 0.25, 0.25]]))
    # A segment from depth 1 to depth 3: its screen midpoint lies at depth 1.5 (harmonic mean).
    pc, depth = perspective_correct(torch.tensor([[0.5, 0.5, 0.0]]), torch.tensor([[1.0, 3.0, 2.0]]))
    assert math.isclose(float(depth), 1.5)
    torch.testing.assert_close(pc, torch.tensor([[0.75, 0.25, 0.0]]))


def test_segment_distance_matches_a_dense_sampling_of_the_segment():
    from gan3dlib.render.triangle_geometry import extension_depth, segment_distance_sq

    g = torch.Generator().manual_seed(0)
    p, a, b = (torch.randn(200, 2, generator=g, dtype=torch.float64) for _ in range(3))
    b[:10] = a[:10]  # degenerate segments: the distance to a, t = 0
    d_sq, t = segment_distance_sq(p[:, 0], p[:, 1], a[:, 0], a[:, 1], b[:, 0], b[:, 1])
    s = torch.linspace(0, 1, 20001, dtype=torch.float64)
    samples = a[:, None] + s[None, :, None] * (b - a)[:, None]  # (P, S, 2)
    naive = ((samples - p[:, None]) ** 2).sum(-1)
    torch.testing.assert_close(d_sq, naive.min(dim=1).values, atol=1e-6, rtol=0)
    assert (t[:10] == 0).all() and ((t >= 0) & (t <= 1)).all()
    closest = a + t[:, None] * (b - a)
    torch.testing.assert_close(((closest - p) ** 2).sum(-1), d_sq)
    # z_s = z(p*) (1 + λ d / B): the closest point's depth at d = 0, growing linearly to (1 + λ) z at d = B.
    z = torch.tensor([2.0, 2.0, 2.0])
    torch.testing.assert_close(extension_depth(z, torch.tensor([0.0, 0.5, 1.0]), 0.5, 1.0), torch.tensor([2.0, 2.5, 3.0]))
