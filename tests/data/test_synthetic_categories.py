"""The ground-truth categories are what they claim (gan3dlib.data.synthetic_shapes)."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("pytorch3d.renderer")

from gan3dlib.data import synthetic_shapes  # noqa: E402
from gan3dlib.data.synthetic import synthetic_preset
from gan3dlib.data.synthetic_objects import sphere_topology  # noqa: E402
from gan3dlib.eval.object_metrics import extent_statistics  # noqa: E402
from gan3dlib.eval.point_metrics import sample_surface_points  # noqa: E402

NUM = 24


def objects(category: str, num: int = NUM):
    scenes = synthetic_preset(category, num, 32, 0).build()
    return scenes, torch.stack([scenes.object(i).vertices for i in range(num)])


def pixels_per_unit(scenes) -> float:
    """Image pixels per object unit at the rotation centre."""
    camera = scenes.config.camera
    return camera.focal_px / camera.distance


def radial_deviation_px(scenes, vertices: torch.Tensor) -> torch.Tensor:
    """(B,) largest distance of each object's surface from its best-fit (mean-radius) sphere, in pixels."""
    radius = vertices.double().norm(dim=-1)
    return (radius - radius.mean(dim=1, keepdim=True)).abs().amax(dim=1) * pixels_per_unit(scenes)


@pytest.mark.parametrize("category", synthetic_shapes.CATEGORIES)
def test_closed_star_shaped_and_inside_the_ball(category):
    scenes, vertices = objects(category, 8)
    faces = scenes.topology.faces
    norms = vertices.double().norm(dim=-1)
    assert norms.max() <= scenes.config.max_extent + 1e-6 and norms.min() > 0.05
    if category != "blob":  # faces and cars are scaled to a bounding radius in SIZE_RANGE
        low, high = synthetic_shapes.SIZE_RANGE
        assert bool((norms.amax(dim=1) >= low * scenes.config.max_extent - 1e-6).all())
    # A radial graph: every face keeps the sphere's outward orientation (no fold, no inversion).
    det = torch.linalg.det(vertices.double()[:, faces])
    assert bool((det > 0).all())


def test_blobs_are_near_spheres_and_faces_and_cars_are_not():
    deviation = {category: radial_deviation_px(*objects(category)) for category in synthetic_shapes.CATEGORIES}
    assert float(deviation["blob"].median()) < 2.0
    # Several pixels at 32^2 between every face or car and a sphere of its own mean radius.
    assert float(deviation["face"].min()) > 2.5 and float(deviation["car"].min()) > 4.0


def test_faces_are_symmetric_with_relief_in_front():
    directions = sphere_topology(64).directions
    mirror = directions * torch.tensor([-1.0, 1.0, 1.0], dtype=torch.float64)
    for seed in range(4):
        left = synthetic_shapes.face_radius(torch.Generator().manual_seed(seed), directions)
        right = synthetic_shapes.face_radius(torch.Generator().manual_seed(seed), mirror)
        torch.testing.assert_close(left, right, rtol=0, atol=1e-12)
    scenes, vertices = objects("face")
    points = sample_surface_points(vertices, scenes.topology.faces, 2000, generator=torch.Generator().manual_seed(0))
    stats = extent_statistics(points)
    assert bool((stats["front"] > stats["back"] + 0.15).all())  # the nose: relief on the camera's side
    assert bool((stats["depth_ratio"] > 1.1).all())  # heads are deeper than wide
    # The nose protrudes beyond the head ellipsoid by 35-50 % of the half-width: at least 2 pixels.
    nose_px = (stats["front"] - stats["back"]) * (points[..., 0].amax(1) - points[..., 0].amin(1)) / 2
    assert float(nose_px.min() * pixels_per_unit(scenes)) > 2.0


def test_cars_are_long_flat_bottomed_with_wheel_arches():
    scenes, vertices = objects("car")
    x, y, z = vertices.double().unbind(-1)
    length = x.amax(1) - x.amin(1)
    assert bool((length > 2 * (z.amax(1) - z.amin(1))).all()) and bool((length > 2 * (y.amax(1) - y.amin(1))).all())
    bottom = y.amin(1, keepdim=True)
    px = pixels_per_unit(scenes)
    for b in range(NUM):
        xs, ys = x[b] / (length[b] / 2), y[b] - bottom[b]
        # Flat bottom: between the arches the underside is level to within a third of a pixel.
        for centre in torch.linspace(-0.3, 0.3, 7).tolist():
            assert float(ys[(xs - centre).abs() < 0.04].min()) * px < 1 / 3
        # Wheel arches: near |x| = 0.6 of the half-length the lowest point is raised by over a pixel.
        for sign in (-1.0, 1.0):
            arch = (xs - sign * 0.6).abs() < 0.04
            assert float(ys[arch].min()) * px > 1.0, (b, sign)


def test_presets_and_category_validation():
    assert synthetic_preset("blob", 10, 32).grid_size == 16 and synthetic_preset("blob", 10, 64).grid_size == 32
    assert synthetic_preset("face", 10, 32).grid_size == 64 and synthetic_preset("car", 10, 32).category == "car"
    with pytest.raises(ValueError, match="category"):
        synthetic_preset("boat")
    with pytest.raises(ValueError, match="grid_size"):
        synthetic_preset("face", grid_size=7)


def test_depth_without_pytorch3d_agrees_with_pytorch3d(monkeypatch):
    import math

    import gan3dlib.data.synthetic_render as synthetic_render

    scenes, vertices = objects("face", 4)
    yaw = torch.tensor([math.radians(a) for a in (-45.0, -10.0, 20.0, 45.0)])
    pitch = torch.tensor([0.1, -0.2, 0.0, 0.25])
    reference = scenes.mesh_depth(vertices, yaw, pitch)
    monkeypatch.setattr(synthetic_render, "pytorch3d_available", lambda: False)
    own = scenes.mesh_depth(vertices, yaw, pitch)
    both = (reference > 0) & (own > 0)
    assert float(((reference > 0) != (own > 0)).float().mean()) < 0.005  # at most a few edge pixels
    torch.testing.assert_close(own[both], reference[both], atol=1e-4, rtol=0)
