"""Depth-map metrics on constructed cases with known answers."""

from __future__ import annotations

import math

import torch

from gan3dlib.eval import match_depth_maps, pairwise_aligned_depth_error


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
