"""Tests for the procedural ground-truth dataset (gan3dlib.data.synthetic)."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("pytorch3d.renderer")

from gan3dlib.config import from_dict, to_dict  # noqa: E402
from gan3dlib.data.synthetic import SyntheticConfig, SyntheticImageDataset, SyntheticScenes  # noqa: E402
from gan3dlib.data.synthetic_files import read_config, write_dataset  # noqa: E402
from gan3dlib.render.camera import PerspectiveCamera, rotation_matrix  # noqa: E402

TINY = {"resolution": 24, "grid_size": 16, "texture_size": 16, "batch_size": 8}


def _config(num_images: int = 12, **kwargs: object) -> SyntheticConfig:
    return SyntheticConfig(num_images=num_images, **{**TINY, **kwargs})


@pytest.fixture(scope="module")
def scenes() -> SyntheticScenes:
    return _config(num_images=16).build()


@pytest.fixture(scope="module")
def rendered(scenes: SyntheticScenes):
    return scenes.render(range(16))


# --- config -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("num_images", 0),
        ("resolution", 4),
        ("resolution", 32.0),
        ("seed", -1),
        ("grid_size", 15),
        ("grid_size", 2),
        ("radius_range", (0.6, 0.4)),
        ("radius_range", (0.3, 1.5)),
        ("aspect_range", "wide"),
        ("num_bumps_range", (1.5, 2)),
        ("bump_amplitude", -0.1),
        ("bump_width_range_degrees", (0.0, 30.0)),
        ("num_waves", -1),
        ("wave_frequency_range", (1.0, float("nan"))),
        ("max_extent", 1.2),
        ("yaw_range_degrees", (30.0, -30.0)),
        ("pitch_range_degrees", (0.0, 200.0)),
        ("fov_degrees", 0.0),
        ("texture_size", 1),
        ("texture_style", "plaid"),
        ("background_style", "stars"),
        ("lighting", "spot"),
        ("ambient", -1.0),
        ("light_cone_degrees", 181.0),
        ("supersample", 0),
        ("batch_size", 0),
    ],
)
def test_bad_config_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        SyntheticConfig(**{field: value})


def test_config_normalises_and_round_trips() -> None:
    cfg = _config(yaw_range_degrees=[-30, 60], radius_range=[0.3, 0.5])
    assert cfg.yaw_range_degrees == (-30.0, 60.0) and cfg.radius_range == (0.3, 0.5)
    assert from_dict(SyntheticConfig, to_dict(cfg)) == cfg
    assert isinstance(cfg.build(), SyntheticScenes) and len(cfg.dataset()) == 12
    assert cfg.camera == PerspectiveCamera((24, 24), 30.0)


# --- determinism --------------------------------------------------------------------------------


def test_same_seed_same_images_and_prefix_stability(rendered) -> None:
    again = _config(num_images=16).build().render(range(16))
    assert torch.equal(again.images, rendered.images) and torch.equal(again.depth, rendered.depth)
    bigger = _config(num_images=40, batch_size=3).build()
    subset = bigger.render([11, 2, 5])  # other batch size, other batch composition, other order
    assert torch.equal(subset.images, rendered.images[[11, 2, 5]])
    assert torch.equal(subset.depth, rendered.depth[[11, 2, 5]])
    assert torch.equal(bigger.object(7).vertices, _config(num_images=8).build().object(7).vertices)


def test_different_seeds_differ(rendered) -> None:
    other = _config(num_images=16, seed=1).build().render(range(4))
    for k in range(4):
        assert (other.images[k] - rendered.images[k]).abs().mean() > 0.02


# --- objects ------------------------------------------------------------------------------------


def test_objects_star_shaped_closed_and_inside_the_unit_ball() -> None:
    wild = _config(num_images=30, num_bumps_range=(4, 8), bump_amplitude=0.8, aspect_range=(0.5, 1.8),
                   wave_amplitude=0.3, radius_range=(0.5, 0.9))
    scenes = wild.build()
    faces = scenes.topology.faces
    edges = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]).tolist()
    directed = set(map(tuple, edges))
    assert len(directed) == len(edges) and all((b, a) in directed for a, b in directed)  # closed, oriented
    for i in range(30):
        obj = scenes.object(i)
        norms = obj.vertices.double().norm(dim=-1)
        assert norms.max() <= wild.max_extent + 1e-6 and norms.min() > 0.05
        # Star-shaped around the origin: every face, seen from the origin, keeps its outward orientation
        # (a positive radial function keeps det[p0, p1, p2] > 0; a fold or an inversion would flip it).
        det = torch.linalg.det(obj.vertices.double()[obj.faces])
        assert bool((det > 0).all()), f"object {i}: {int((det <= 0).sum())} inverted faces"
        assert obj.texture.shape == (3, 16, 16) and 0 <= obj.texture.min() and obj.texture.max() <= 1
        assert obj.uvs.shape == (16 * 16, 2) and obj.faces.max() < obj.vertices.shape[0]


@pytest.mark.parametrize("texture_style", ["smooth", "stripes", "blobs"])
@pytest.mark.parametrize("background_style", ["gradient", "blobs"])
def test_styles(texture_style: str, background_style: str) -> None:
    scenes = _config(num_images=2, texture_style=texture_style, background_style=background_style).build()
    texture, background = scenes.object(1).texture, scenes.background(1)
    for image in (texture, background):
        assert 0 <= image.min() and image.max() <= 1 and image.std() > 0.01


# --- images, depth and masks --------------------------------------------------------------------


def test_images_masks_and_backgrounds(scenes: SyntheticScenes, rendered) -> None:
    images, depth, mask = rendered.images, rendered.depth, rendered.mask
    assert images.shape == (16, 3, 24, 24) and images.dtype == torch.float32
    assert depth.shape == mask.shape == (16, 1, 24, 24) and mask.dtype == torch.bool
    assert 0 <= images.min() and images.max() <= 1
    assert torch.equal(mask, depth > 0) and bool((depth[~mask] == 0).all())
    assert bool((images.flatten(1).std(1) > 0.02).all())
    # The object holds the origin, which projects to the image centre; max_extent < 1 keeps corners free.
    assert bool(mask[:, 0, 11:13, 11:13].all())
    assert not bool(mask[:, 0, [0, 0, -1, -1], [0, -1, 0, -1]].any())
    # Far from the object the image is exactly the scene's background.
    near = torch.nn.functional.max_pool2d(mask.float(), 5, stride=1, padding=2).bool()
    for k in range(16):
        far = ~near[k, 0]
        assert torch.allclose(images[k][:, far], scenes.background(k)[:, far], atol=1e-6)


def _ray_cast_depth(vertices: torch.Tensor, faces: torch.Tensor, camera: PerspectiveCamera,
                    yaw: float, pitch: float) -> torch.Tensor:
    """Independent depth map: Moller-Trumbore rays through the pixel centres, nearest hit."""
    rot = rotation_matrix(torch.tensor([yaw], dtype=torch.float64), torch.tensor([pitch], dtype=torch.float64))
    view = camera.world_to_view(vertices.double()[None], rot)[0]  # (V, 3), camera at the origin
    height, width = camera.image_size
    v, u = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    f = camera.focal_px
    rays = torch.stack([(u - width / 2) / f, -(v - height / 2) / f, -torch.ones_like(u)], -1).double().view(-1, 1, 3)
    a, b, c = view[faces[:, 0]], view[faces[:, 1]], view[faces[:, 2]]  # (F, 3)
    e1, e2 = b - a, c - a
    p = torch.cross(rays.expand(-1, faces.shape[0], -1), e2.expand_as(rays.expand(-1, faces.shape[0], -1)), dim=-1)
    det = (p * e1).sum(-1)
    inv = 1 / torch.where(det.abs() > 1e-12, det, torch.full_like(det, 1e-12))
    s = -a  # ray origin (0, 0, 0) minus a
    bu = (p * s).sum(-1) * inv
    q = torch.cross(s.expand_as(p), e1.expand_as(p), dim=-1)
    bv = (q * rays).sum(-1) * inv
    t = (q * e2).sum(-1) * inv  # ray parameter; the ray's z component is -1, so t is the depth
    hit = (det.abs() > 1e-12) & (bu >= 0) & (bv >= 0) & (bu + bv <= 1) & (t > 0)
    depth = torch.where(hit, t, torch.full_like(t, math.inf)).amin(-1)
    return torch.where(torch.isfinite(depth), depth, 0.0).view(height, width).float()


def test_depth_matches_independent_ray_casting_and_projection(scenes: SyntheticScenes, rendered) -> None:
    camera = scenes.config.camera
    mismatched = total = 0
    for k in range(8):
        obj = scenes.object(k)
        want = _ray_cast_depth(obj.vertices, obj.faces, camera, obj.yaw, obj.pitch)
        got = rendered.depth[k, 0]
        both = (want > 0) & (got > 0)
        mismatched += int(((want > 0) != (got > 0)).sum())
        total += got.numel()
        assert float((want - got)[both].abs().max()) < 1e-3
        # Projection: every vertex's pixel shows a surface at most one triangle in front of it, and
        # the vertices that the ray caster sees are at the rendered depth (up to a triangle's slope).
        rot = rotation_matrix(torch.tensor([obj.yaw]), torch.tensor([obj.pitch]))
        screen = camera.project(obj.vertices[None], rot)[0]
        used = torch.unique(obj.faces)
        col, row, vdepth = screen[used, 0].long(), screen[used, 1].long(), screen[used, 2]
        # Every surface point projects into the silhouette; at its rim a pixel centre may just miss it.
        near_mask = torch.nn.functional.max_pool2d(got.gt(0).float()[None, None], 3, stride=1, padding=1)[0, 0]
        assert bool(near_mask[row, col].bool().all())
        # Away from the rim (3x3 neighbourhood covered) no pixel shows a surface behind a vertex that
        # projects into it, by more than the depth change across part of a triangle.
        interior = -torch.nn.functional.max_pool2d(-got.gt(0).float()[None, None], 3, stride=1, padding=1)[0, 0]
        inside = interior[row, col] > 0
        assert int(inside.sum()) > 20
        assert bool((got[row, col][inside] <= vdepth[inside] + 0.1).all())
        visible = inside & ((want[row, col] - vdepth).abs() < 0.05)
        assert int(visible.sum()) >= 5
        assert float((got[row, col][visible] - vdepth[visible]).abs().max()) < 0.1
    assert mismatched / total < 0.01  # only grazing silhouette pixels may disagree


def test_canonical_depth_matches_the_rendered_view(scenes: SyntheticScenes, rendered) -> None:
    obj = scenes.object(3)
    depth = scenes.canonical_depth(3, torch.tensor([obj.yaw, 0.0]), torch.tensor([obj.pitch, 0.0]))
    assert depth.shape == (2, 1, 24, 24)
    assert torch.allclose(depth[0], rendered.depth[3], atol=1e-5)
    assert not torch.equal(depth[0], depth[1])
    big = scenes.canonical_depth(3, torch.zeros(1), torch.zeros(1), resolution=48)
    assert big.shape == (1, 1, 48, 48) and bool(big[0, 0, 23:25, 23:25].gt(0).all())


def test_lighting_modes() -> None:
    cfg = _config(num_images=3)
    flat = _config(num_images=3, lighting="ambient").build().render(range(3))
    lit = cfg.build().render(range(3))
    assert torch.equal(flat.mask, lit.mask)
    assert (flat.images - lit.images).abs().amax() > 0.05


def test_viewpoints_lie_in_the_configured_ranges() -> None:
    scenes = _config(num_images=400, yaw_range_degrees=(-30.0, 60.0), pitch_range_degrees=(5.0, 20.0)).build()
    yaw, pitch = (torch.tensor(v).rad2deg() for v in zip(*(scenes.viewpoint(i) for i in range(400))))
    assert yaw.min() >= -30 and yaw.max() <= 60 and pitch.min() >= 5 and pitch.max() <= 20
    assert yaw.min() < -25 and yaw.max() > 55 and pitch.min() < 6 and pitch.max() > 19  # fills the range
    assert abs(float(yaw.mean()) - 15) < 6 and abs(float(pitch.mean()) - 12.5) < 1.5
    batch = scenes.render([0, 1])
    assert torch.allclose(batch.yaw.double().rad2deg(), yaw[:2].double(), atol=1e-4)


# --- writing ------------------------------------------------------------------------------------


def test_write_folder_rerun_and_png_pixels(tmp_path, scenes: SyntheticScenes, rendered) -> None:
    cfg = _config(num_images=10)
    result = write_dataset(cfg.build(), tmp_path)
    assert (result.written, result.skipped) == (10, 0)
    pngs = sorted((tmp_path / "images").iterdir())
    npzs = sorted((tmp_path / "ground_truth").iterdir())
    assert [p.name for p in pngs] == [f"{i:06d}.png" for i in range(10)]
    assert [p.name for p in npzs] == [f"{i:06d}.npz" for i in range(10)]
    assert json.loads((tmp_path / "dataset.json").read_text())["config"]["num_images"] == 10
    assert read_config(tmp_path) == cfg
    for i in (0, 9):
        pixels = torch.from_numpy(np.array(Image.open(pngs[i]).convert("RGB"))).permute(2, 0, 1)
        assert torch.equal(pixels, (rendered.images[i] * 255).round().to(torch.uint8))
        with np.load(npzs[i]) as data:
            obj = scenes.object(i)
            assert np.array_equal(data["vertices"], obj.vertices.numpy())
            assert np.array_equal(data["faces"], obj.faces.numpy())
            assert np.array_equal(data["depth"], rendered.depth[i, 0].numpy())
            assert math.isclose(float(data["yaw"]), obj.yaw, abs_tol=1e-6)
            assert math.isclose(float(data["pitch"]), obj.pitch, abs_tol=1e-6)

    stamps = {p: p.stat().st_mtime_ns for p in pngs + npzs}
    again = write_dataset(cfg.build(), tmp_path)
    assert (again.written, again.skipped) == (0, 10)
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())
    os.remove(pngs[3])
    os.remove(npzs[7])
    repaired = write_dataset(cfg.build(), tmp_path)
    assert (repaired.written, repaired.skipped) == (2, 8)
    assert pngs[3].exists() and npzs[7].exists()
    assert npzs[3].stat().st_mtime_ns == stamps[npzs[3]]  # the complete half is not rewritten
    calls: list[tuple[int, int]] = []
    extended = write_dataset(_config(num_images=12, batch_size=1).build(), tmp_path, progress=lambda *a: calls.append(a))
    assert (extended.written, extended.skipped) == (2, 10) and calls == [(1, 2), (2, 2)]
    assert read_config(tmp_path).num_images == 12
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers
    with pytest.raises(ValueError, match="folder"):
        write_dataset(_config(num_images=12, seed=5).build(), tmp_path)


# --- the Dataset view ---------------------------------------------------------------------------


def test_image_dataset(rendered) -> None:
    dataset = SyntheticImageDataset(_config(num_images=16), cache=True)
    item = dataset[5]
    assert item.shape == (3, 24, 24) and item.dtype == torch.float32
    assert -1 <= item.min() and item.max() <= 1
    expected = (rendered.images[5] * 255).round() / 127.5 - 1
    assert torch.allclose(item, expected, atol=1e-6)
    assert torch.equal(dataset[-11], item) and torch.equal(dataset[5], item)
    loader = torch.utils.data.DataLoader(dataset, batch_size=4, shuffle=False)
    batch = next(iter(loader))
    assert batch.shape == (4, 3, 24, 24)
    assert torch.allclose(batch, (rendered.images[:4] * 255).round() / 127.5 - 1, atol=1e-6)
    raw = SyntheticImageDataset(_config(num_images=16), quantize=False)[5]
    assert torch.allclose(raw, rendered.images[5] * 2 - 1, atol=1e-6)
    with pytest.raises(IndexError):
        dataset[16]
