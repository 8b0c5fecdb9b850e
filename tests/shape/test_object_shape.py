"""Object shape assembly: each paper ablation switch composes the documented steps."""

from __future__ import annotations

import pytest
import torch

from gan3dlib.mesh import sheet_shape_image, sphere_shape_image
from gan3dlib.shape import GaussianBlur, ObjectShapeConfig, ShapePyramidConfig, size_constraint


def naive_avg_pool2(x):
    return 0.25 * (x[..., 0::2, 0::2] + x[..., 1::2, 0::2] + x[..., 0::2, 1::2] + x[..., 1::2, 1::2])


def test_plain_offsets_on_a_sphere():
    cfg = ObjectShapeConfig(grid_size=8, use_pyramid=False, use_size_constraint=False, shape_scale=0.5)
    raw = torch.randn(2, 3, 16, 16, dtype=torch.float64)
    got = cfg.build().double()(raw)
    torch.testing.assert_close(got, sphere_shape_image(8, 0.5, dtype=torch.float64) + 0.5 * naive_avg_pool2(raw))


def test_full_model_composes_pyramid_then_size_constraint():
    cfg = ObjectShapeConfig(grid_size=8, pyramid=ShapePyramidConfig(levels=3), shape_scale=0.3, s_max=0.7)
    assert cfg.generator_channels == 9
    raw = torch.randn(1, 9, 16, 16, dtype=torch.float64)
    pooled = 0.3 * naive_avg_pool2(raw)
    pyramid = sum(GaussianBlur(2.0**k)(pooled[:, 3 * k:3 * k + 3]) for k in range(3))
    expected = size_constraint(sphere_shape_image(8, 0.5, dtype=torch.float64) + pyramid, 0.7)
    torch.testing.assert_close(cfg.build()(raw), expected)
    assert float(cfg.build()(raw * 1e4).norm(dim=1).max()) <= 0.7 * (1 + 1e-9)


def test_sheet_init_for_cars_and_buses():
    cfg = ObjectShapeConfig(grid_size=6, init="sheet", use_size_constraint=False)
    torch.testing.assert_close(cfg.build()(torch.zeros(1, 12, 12, 12)), sheet_shape_image(6).unsqueeze(0))


def test_a_stretched_sphere_init_is_the_sphere_scaled_per_axis():
    cfg = ObjectShapeConfig(grid_size=8, use_size_constraint=False, sphere_axes=[1, 1.2, 1.5])
    assert cfg.sphere_axes == (1.0, 1.2, 1.5)
    got = cfg.build().double()(torch.zeros(1, 12, 16, 16, dtype=torch.float64))[0]
    sphere = sphere_shape_image(8, 0.5, dtype=torch.float64)
    torch.testing.assert_close(got, torch.stack([sphere[0], 1.2 * sphere[1], 1.5 * sphere[2]]))
    # Its extent along z over x is 1.5 times the sphere's (whose coarse grid misses x's extremes).
    def ratio(shape):
        extent = shape.flatten(1).amax(1) - shape.flatten(1).amin(1)
        return float(extent[2] / extent[0])
    assert ratio(got) == pytest.approx(1.5 * ratio(sphere), rel=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"grid_size": 1}, "grid_size"), ({"init": "cube"}, "init"), ({"shape_scale": 0.0}, "shape_scale"), ({"s_max": -1.0}, "s_max"),
     ({"sphere_axes": (1.0, 0.0, 1.0)}, "sphere_axes"), ({"sphere_axes": (1.0, 1.0)}, "sphere_axes"),
     ({"sphere_axes": (1.0, float("nan"), 1.0)}, "sphere_axes")],
)
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ObjectShapeConfig(**kwargs)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="raw"):
        ObjectShapeConfig(grid_size=8).build()(torch.zeros(1, 12, 8, 8))


def test_symmetric_shapes_mirror_left_to_right():
    n = 8
    cfg = ObjectShapeConfig(grid_size=n, use_pyramid=False, use_size_constraint=False, shape_scale=0.5, symmetric=True)
    raw = torch.randn(2, 3, 2 * n, 2 * n, dtype=torch.float64)
    got = cfg.build().double()(raw)
    # Vertex (i, j) mirrors vertex (i, N-1-j) through the plane x = 0.
    torch.testing.assert_close(got[:, 0], -got[:, 0].flip(-1))
    torch.testing.assert_close(got[:, 1:], got[:, 1:].flip(-1))
    # Against a naive reference: the mean of the offsets and their mirror image.
    offsets = 0.5 * naive_avg_pool2(raw)
    mirrored = torch.stack([-offsets[:, 0].flip(-1), offsets[:, 1].flip(-1), offsets[:, 2].flip(-1)], dim=1)
    torch.testing.assert_close(got, sphere_shape_image(n, 0.5, dtype=torch.float64) + (offsets + mirrored) / 2)
    # A shape that is already symmetric is unchanged.
    plain = ObjectShapeConfig(grid_size=n, use_pyramid=False, use_size_constraint=False, shape_scale=0.5).build().double()
    sym_raw = torch.cat([raw[:, :1] - raw[:, :1].flip(-1), raw[:, 1:] + raw[:, 1:].flip(-1)], dim=1)
    torch.testing.assert_close(cfg.build().double()(sym_raw), plain(sym_raw))


def test_centered_shapes_cannot_translate_as_a_whole():
    from gan3dlib.mesh import build_mesh_grid
    from gan3dlib.shape import ObjectShape

    n = 8
    mask = build_mesh_grid(n).vertex_mask
    cfg = ObjectShapeConfig(grid_size=n, use_pyramid=False, use_size_constraint=False, shape_scale=0.5, centered=True)
    shape = ObjectShape(cfg, vertex_mask=mask).double()
    raw = torch.randn(2, 3, 2 * n, 2 * n, dtype=torch.float64)
    got = shape(raw)
    s0 = sphere_shape_image(n, 0.5, dtype=torch.float64)
    # Naive reference: the offsets minus their mean over the used vertices, one loop per coordinate.
    offsets = 0.5 * naive_avg_pool2(raw)
    expected = offsets.clone()
    for b in range(2):
        for c in range(3):
            expected[b, c] -= offsets[b, c][mask].mean()
    torch.testing.assert_close(got, s0 + expected)
    # A translation of every vertex (a constant raw offset) changes nothing; the corners outside
    # the disk, which no face uses, cannot pay for a translation of the disk.
    shifted = raw + torch.tensor([0.0, 0.0, 3.0], dtype=torch.float64).view(1, 3, 1, 1)
    torch.testing.assert_close(shape(shifted), got)
    corners = raw.clone()
    corners[:, :, ~mask.repeat_interleave(2, 0).repeat_interleave(2, 1)] -= 5.0
    torch.testing.assert_close(shape(corners)[:, :, mask], got[:, :, mask])
    # A local bump still moves the surface (less its share of the mean).
    bump = raw.clone()
    bump[:, 2, 6:10, 6:10] += 1.0
    assert (shape(bump) - got)[:, 2, 3:5, 3:5].min() > 0.4
