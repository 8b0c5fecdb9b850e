"""Per-object statistics against closed forms (gan3dlib.eval.object_metrics)."""

from __future__ import annotations

import math

import pytest
import torch

from gan3dlib.eval.object_metrics import STATISTICS, extent_statistics, statistic_errors


def box_cloud(a: float, b: float, c: float, offset=(0.0, 0.0, 0.0), n: int = 9) -> torch.Tensor:
    """(1, n³, 3) a regular grid filling the box [-a, a] x [-b, b] x [-c, c] (ends included), shifted."""
    axes = [torch.linspace(-h, h, n, dtype=torch.float64) for h in (a, b, c)]
    grid = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(1, -1, 3)
    return grid + torch.tensor(offset, dtype=torch.float64)


def test_box_statistics_match_closed_forms():
    stats = extent_statistics(box_cloud(0.5, 0.8, 0.3, offset=(0.0, 0.0, 0.1)), quantile=0.0)
    expected = {"aspect_mid": 0.5 / 0.8, "aspect_thin": 0.3 / 0.8, "depth_ratio": 0.3 / 0.5,
                "front": 0.4 / 0.5, "back": 0.2 / 0.5, "front_relief": 0.0, "z_offset": 0.1 / 0.5}
    for name, value in expected.items():
        assert float(stats[name]) == pytest.approx(value, abs=1e-9), name


def test_aspect_is_rotation_invariant_and_scale_free():
    cloud = box_cloud(0.5, 0.8, 0.3)
    angle = 0.7
    rot = torch.tensor([[math.cos(angle), 0, math.sin(angle)], [0, 1, 0], [-math.sin(angle), 0, math.cos(angle)]],
                       dtype=torch.float64)
    base, turned, scaled = (extent_statistics(c, quantile=0.0) for c in (cloud, cloud @ rot.T, 3 * cloud))
    for name in ("aspect_mid", "aspect_thin"):
        assert float(turned[name]) == pytest.approx(float(base[name]), abs=1e-9)
    for name in STATISTICS:
        assert float(scaled[name]) == pytest.approx(float(base[name]), abs=1e-9)


def test_sphere_points_give_unit_statistics():
    g = torch.Generator().manual_seed(0)
    points = torch.nn.functional.normalize(torch.randn(2, 20000, 3, generator=g, dtype=torch.float64), dim=-1)
    stats = extent_statistics(points * 0.5, quantile=0.0)
    for name in STATISTICS:
        expected = 0.0 if name in ("front_relief", "z_offset") else 1.0
        assert torch.allclose(stats[name], torch.full((2,), expected, dtype=torch.float64), atol=0.03), name


def test_relief_is_measured_from_the_objects_centre_not_the_rotation_centre():
    g = torch.Generator().manual_seed(1)
    sphere = torch.nn.functional.normalize(torch.randn(1, 20000, 3, generator=g, dtype=torch.float64), dim=-1) * 0.5
    nose = sphere.clone()
    tip = nose[..., 2] > 0.45  # a cap near the front pole pushed out: a protrusion towards the camera
    nose[..., 2] = torch.where(tip, nose[..., 2] + 0.2, nose[..., 2])
    shift = torch.tensor([0.0, 0.0, 0.3], dtype=torch.float64)
    s_nose, s_moved = extent_statistics(nose, 0.0), extent_statistics(nose + shift, 0.0)
    assert float(s_nose["front_relief"]) > 0.3
    assert float(s_moved["front_relief"]) == pytest.approx(float(s_nose["front_relief"]), abs=1e-9)
    assert float(s_moved["front"]) > float(s_nose["front"]) + 0.5  # "front" moves with the object, relief does not
    assert float(s_moved["z_offset"] - s_nose["z_offset"]) == pytest.approx(0.6, abs=1e-3)  # 0.3 / half-width 0.5
    hollow = nose * torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64)
    assert float(extent_statistics(hollow, 0.0)["front_relief"]) == pytest.approx(-float(s_nose["front_relief"]))


def test_relief_on_the_wrong_side_is_seen():
    nose = box_cloud(0.5, 0.5, 0.5, offset=(0.0, 0.0, 0.2))  # front 1.4, back 0.6
    hollow = nose * torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64)
    s_nose, s_hollow = extent_statistics(nose, 0.0), extent_statistics(hollow, 0.0)
    assert float(s_nose["front"]) > float(s_nose["back"]) and float(s_hollow["back"]) > float(s_hollow["front"])
    errors = statistic_errors(s_hollow, s_nose, torch.tensor([0]))
    assert errors["relief_error"] == pytest.approx(0.8, abs=1e-9) and errors["front_error"] == pytest.approx(0.8, abs=1e-9)
    assert errors["aspect_error"] == pytest.approx(0.0, abs=1e-9)
    assert statistic_errors(s_nose, s_nose, torch.tensor([0])) == {
        "aspect_error": 0.0, "depth_extent_error": 0.0, "relief_error": 0.0, "front_error": 0.0}


def test_bad_arguments():
    with pytest.raises(ValueError, match="points"):
        extent_statistics(torch.zeros(1, 5, 2))
    with pytest.raises(ValueError, match="quantile"):
        extent_statistics(torch.zeros(1, 5, 3), quantile=0.5)
