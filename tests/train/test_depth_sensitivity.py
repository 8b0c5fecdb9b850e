"""The depth-sensitivity probe (recipes/depth_sensitivity.py): D's logits on objects stretched in depth."""

from __future__ import annotations

import math
import runpy
from pathlib import Path

import pytest
import torch

pytest.importorskip("pytorch3d.renderer")

from test_shape_curve import face_run  # noqa: E402

from gan3dlib.data.synthetic import SyntheticImageDataset, SyntheticScenes, synthetic_preset  # noqa: E402
from gan3dlib.ops.mesh import stretch_depth  # noqa: E402
from gan3dlib.train.loop import train  # noqa: E402
from gan3dlib.train.run_folder import load_run_networks  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PROBE = runpy.run_path(str(REPO / "recipes" / "depth_sensitivity.py"))


def signed_volume(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """(B,) the divergence-theorem volume of closed meshes: positive when the faces wind outwards."""
    a, b, c = (vertices[:, faces[:, k]] for k in range(3))
    return (a * torch.cross(b, c, dim=-1)).sum((-1, -2)) / 6


def test_stretching_scales_the_depth_extent_about_its_middle_and_nothing_else():
    g = torch.Generator().manual_seed(0)
    vertices = torch.randn(3, 50, 3, generator=g, dtype=torch.float64) + torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64)
    for scale in (0.5, 1.5, -1.0):
        got = stretch_depth(vertices, scale)
        torch.testing.assert_close(got[..., :2], vertices[..., :2])
        middle = (vertices[..., 2].amax(-1) + vertices[..., 2].amin(-1)) / 2
        torch.testing.assert_close(got[..., 2], middle[:, None] + scale * (vertices[..., 2] - middle[:, None]))
    # Unused vertices neither set the middle nor escape the stretch.
    used = torch.ones(50, dtype=torch.bool)
    used[0] = False
    far = vertices.clone()
    far[:, 0, 2] = 100.0
    torch.testing.assert_close(stretch_depth(far, 0.5, used)[:, 1:], stretch_depth(vertices[:, 1:], 0.5))


def test_real_renders_as_they_are_equal_the_training_images_and_a_hollow_copy_keeps_its_normals_outwards():
    config = synthetic_preset("face", 6, 16, 0)
    scenes = SyntheticScenes(config)
    images = PROBE["real_images"](scenes, [1, 4], 1.0)
    torch.testing.assert_close(images, torch.stack(SyntheticImageDataset(config).__getitems__([1, 4])), rtol=0, atol=0)
    flattened = PROBE["real_images"](scenes, [1, 4], 0.5)
    assert flattened.shape == images.shape and not torch.equal(flattened, images)
    # The mirror z -> -z reverses the winding; the probe flips the faces back, so the volume stays positive.
    vertices = torch.stack([scenes.object(i).vertices for i in (1, 4)]).double()
    faces = scenes.topology.faces
    hollow = stretch_depth(vertices, -1.0)
    assert (signed_volume(vertices, faces) > 0).all() and (signed_volume(hollow, faces) < 0).all()
    assert (signed_volume(hollow, faces[:, [0, 2, 1]]) > 0).all()
    # The data's renderer draws the hollow copies (flipped faces, nothing culled away) and refuses bad factors.
    as_is, inverted = scenes.render([1, 4]), scenes.render([1, 4], depth_scale=-1.0)
    assert inverted.mask.any() and not torch.equal(inverted.images, as_is.images)
    for bad in (0.0, float("nan"), "deep"):
        with pytest.raises(ValueError, match="depth_scale"):
            scenes.render([1], depth_scale=bad)


def test_the_probe_scores_stretched_reals_and_fakes_of_a_synthetic_run(tmp_path):
    train(face_run(tmp_path / "run", kimg=0.008, eval_kimg=None))
    result = PROBE["probe_run"](tmp_path / "run", (0.5, 1.0, -1.0), num=4, batch=3, seed=0)
    assert result["kimg"] == pytest.approx(0.008) and [r["scale"] for r in result["scales"]] == [0.5, 1.0, -1.0]
    by_scale = {r["scale"]: r for r in result["scales"]}
    assert by_scale[1.0]["real_gain"] == 0.0 and by_scale[1.0]["fake_gain"] == 0.0
    assert result["margin"] == pytest.approx(by_scale[1.0]["real_logit"] - by_scale[1.0]["fake_logit"])
    for r in result["scales"]:
        assert all(math.isfinite(v) for v in r.values())
        assert r["real_gain"] == pytest.approx((r["real_logit"] - by_scale[1.0]["real_logit"]) / result["margin"], rel=1e-4)
    assert by_scale[0.5]["real_logit"] != by_scale[1.0]["real_logit"]
    assert PROBE["probe_run"](tmp_path / "run", (0.5, 1.0, -1.0), num=4, batch=3, seed=0) == result  # repeatable
    # G's re-render of its own shape, unstretched, is the image G made.
    _, G, _, _ = load_run_networks(tmp_path / "run")
    torch.manual_seed(0)
    out = G(torch.randn(2, G.config.z_dim), torch.randn(2, G.config.z_dim))
    again = G.render(stretch_depth(out.vertices, 1.0, G.grid.vertex_mask.flatten()), out.rotation,
                     texture=out.texture, background=out.background_crop, light=out.light).image
    torch.testing.assert_close(again, out.image)


def test_bad_probe_settings_name_the_argument():
    with pytest.raises(ValueError, match="scales"):
        PROBE["Probe"](scales=(0.5, 1.5))
    with pytest.raises(ValueError, match="scales"):
        PROBE["Probe"](scales=(0.0, 1.0))
    with pytest.raises(ValueError, match="num"):
        PROBE["Probe"](num=1)
    with pytest.raises(ValueError, match="runs: .* is not a run folder"):
        PROBE["probe_run"](Path("/nonexistent/run"), (1.0,), 4, 2, 0)
