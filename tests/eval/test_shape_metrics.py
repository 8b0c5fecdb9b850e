"""Depth-map metrics on constructed cases with known answers."""

from __future__ import annotations

import math

import torch

from gan3dlib.eval import match_depth_maps, pairwise_aligned_depth_error
from gan3dlib.eval.shape_metrics import depth_normals


def dome(size=16, radius=6.0, height=2.0, base=5.0, center=(8.0, 8.0)):
    """Depth of a spherical cap seen from the front (nearer in the middle), 0 outside."""
    y, x = torch.meshgrid(torch.arange(size) + 0.5, torch.arange(size) + 0.5, indexing="ij")
    r2 = ((x - center[0]) ** 2 + (y - center[1]) ** 2) / radius**2
    depth = base - height * torch.sqrt((1 - r2).clamp(min=0))
    return torch.where(r2 < 1, depth, torch.zeros_like(depth)).double()


def test_identical_sets_score_perfectly():
    maps = torch.stack([dome(), dome(radius=5.0, center=(7.0, 9.0)), dome(height=1.0)])
    result = match_depth_maps(maps, maps)
    assert result.depth_error < 1e-9 and math.isclose(result.mask_iou, 1.0) and result.hollow_fraction == 0
    assert result.matched.tolist() == [0, 1, 2]


def test_scale_and_shift_are_forgiven():
    truth = dome()
    moved = torch.where(truth > 0, 3.0 * truth + 4.0, torch.zeros_like(truth))
    error, iou, scale = pairwise_aligned_depth_error(moved[None], truth[None])
    assert float(error) < 1e-9 and float(iou) == 1.0 and math.isclose(float(scale), 1 / 3)


def test_inverted_depth_is_detected_as_hollow():
    truth = dome()
    hollow = torch.where(truth > 0, 2 * 5.0 - truth, torch.zeros_like(truth))  # nearer at the rim
    result = match_depth_maps(hollow[None], truth[None])
    assert result.hollow_fraction == 1.0
    flat = torch.where(truth > 0, torch.full_like(truth, 4.0), torch.zeros_like(truth))
    # A flat disc is not inverted but explains less of the relief than the right dome does.
    assert match_depth_maps(flat[None], truth[None]).depth_error > match_depth_maps(truth[None], truth[None]).depth_error


def test_error_equals_a_brute_force_fit():
    g = torch.Generator().manual_seed(0)
    a = dome() * (1 + 0.1 * torch.rand(16, 16, generator=g, dtype=torch.float64))
    b = dome(radius=5.0)
    error, _, _ = pairwise_aligned_depth_error(a[None], b[None])
    both = (a > 0) & (b > 0)
    x, y = a[both], b[both]
    design = torch.stack([x, torch.ones_like(x)], 1)
    coef = torch.linalg.lstsq(design, y[:, None]).solution.flatten()
    expected = (design @ coef - y).abs().mean() / y.std(unbiased=False)
    assert math.isclose(float(error), float(expected), rel_tol=1e-9)


def plane_depth(k, m, size=12, views=1, fov=30.0, z0=4.0):
    """Exact depth maps of the plane Z - k X - m Y = z0 seen by the pinhole camera, views side by side."""
    focal = size / 2 / math.tan(math.radians(fov) / 2)
    col = torch.arange(size * views, dtype=torch.float64) % size
    x = ((col + 0.5 - size / 2) / focal)[None, :]
    y = (-(torch.arange(size, dtype=torch.float64) + 0.5 - size / 2) / focal)[:, None]
    return z0 / (1 - k * x - m * y)


def angle_between(a, b):
    a, b = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
    return math.degrees(math.acos(float(a @ b / (a.norm() * b.norm()))))


def test_normals_of_a_plane_are_exact():
    depth = plane_depth(0.3, -0.2)[None]
    normals, valid = depth_normals(depth, 30.0)
    expected = -torch.tensor([-0.3, 0.2, 1.0], dtype=torch.float64)  # towards the camera
    expected = expected / expected.norm()
    assert valid[0, 1:-1, 1:-1].all() and not valid[0, 0].any() and not valid[0, :, -1].any()
    torch.testing.assert_close(normals[0][valid[0]], expected.expand(int(valid.sum()), 3), rtol=0, atol=1e-12)


def test_normal_error_of_two_planes_is_their_angle():
    truth, tilted = plane_depth(0.0, 0.0, views=3), plane_depth(0.4, 0.1, views=3)
    result = match_depth_maps(tilted[None], truth[None], fov_degrees=30.0, view_width=12)
    assert math.isclose(result.normal_error, angle_between((-0.4, -0.1, 1), (0, 0, 1)), rel_tol=1e-9)
    same = match_depth_maps(truth[None], truth[None], fov_degrees=30.0, view_width=12)
    assert same.normal_error < 1e-9
    assert math.isnan(match_depth_maps(truth[None], truth[None]).normal_error)  # not asked for


def test_normals_do_not_cross_view_seams():
    depth = torch.cat([plane_depth(0.0, 0.0), plane_depth(0.9, 0.0)], dim=1)[None]
    _, valid = depth_normals(depth, 30.0, view_width=12)
    assert not valid[0, :, 11].any() and not valid[0, :, 12].any() and valid[0, 1:-1, 13:-1].all()


def test_normal_error_ignores_global_scale_and_flags_hollow_domes():
    truth = dome()
    result = match_depth_maps((2.5 * truth)[None], truth[None], fov_degrees=30.0)
    assert result.normal_error < 1e-9
    hollow = torch.where(truth > 0, 2 * 5.0 - truth, torch.zeros_like(truth))
    assert match_depth_maps(hollow[None], truth[None], fov_degrees=30.0).normal_error > 5.0
