"""Sample sheets, interpolations, turntables and their files, checked against direct computations."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
import torch
from PIL import Image, ImageSequence

from gan3dlib.presets import scene_config
from gan3dlib.scene import SceneGenerator
from gan3dlib.viz import (
    interpolation_frames,
    sample_sheet,
    save_gif,
    save_image,
    save_turntable,
    save_video,
    to_uint8_hwc,
    turntable_frames,
)

Z = 16
N = 8


@pytest.fixture(scope="module")
def scene() -> SceneGenerator:
    torch.manual_seed(0)
    config = scene_config(N, z_dim=Z, mapping_layers=2, channel_base=64, channel_max=16, pyramid_levels=2)
    return config.build().eval()


def latents(batch: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, Z, generator=g), torch.randn(batch, Z, generator=g)


def yaw_rotation(degrees: float) -> torch.Tensor:
    """R_y(yaw) written out (docs/conventions.md: +Z turns towards +X), (1, 3, 3)."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    return torch.tensor([[[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]]])


def direct_render(scene, vertices, texture, rotation, background):
    """The renderer called by hand, outside gan3dlib.viz: returns the RenderOutput."""
    renderer = scene.config.renderer.build()
    screen = scene.config.camera.project(vertices, rotation.expand(vertices.shape[0], 3, 3))
    return renderer(screen, scene.grid.faces, texture=texture, face_uvs=scene.grid.face_uvs, background=background)


def tile(sheet: torch.Tensor, row: int, col: int) -> torch.Tensor:
    return sheet[:, row * N:(row + 1) * N, col * N:(col + 1) * N]


def block_mean(x: torch.Tensor) -> torch.Tensor:
    """(C, 2N, 2N) -> (C, N, N): the mean of each 2 x 2 block."""
    c, h, w = x.shape
    return x.reshape(c, h // 2, 2, w // 2, 2).mean(dim=(2, 4))


@pytest.mark.parametrize("batch, num_views", [(2, 5), (1, 3)])
def test_sheet_shape_and_range(scene, batch, num_views):
    z_obj, z_bg = latents(batch)
    sheet = sample_sheet(scene, z_obj, z_bg, num_views=num_views)
    assert sheet.shape == (3, batch * N, (4 + num_views) * N)
    assert sheet.dtype == torch.float32
    assert float(sheet.min()) >= 0.0 and float(sheet.max()) <= 1.0


def test_sheet_tiles_match_direct_computations(scene):
    z_obj, z_bg = latents(2)
    rotation = torch.cat([yaw_rotation(30.0), yaw_rotation(-20.0)])
    sheet = sample_sheet(scene, z_obj, z_bg, rotation=rotation, seed=7)
    out = scene(z_obj, z_bg, rotation, noise_mode="const", generator=torch.Generator().manual_seed(7))
    grey = torch.zeros(3)
    for b in range(2):
        # Column 0: the scene's own render for that rotation, mapped to [0, 1].
        torch.testing.assert_close(tile(sheet, b, 0), ((out.image[b] + 1) / 2).clamp(0, 1))
        # Columns 2 and 3: texture and background, 2x2 block means of (x + 1) / 2, clamped.
        torch.testing.assert_close(tile(sheet, b, 2), block_mean((out.texture[b] + 1) / 2).clamp(0, 1))
        torch.testing.assert_close(tile(sheet, b, 3), block_mean((out.background[b] + 1) / 2).clamp(0, 1))
        views = [tile(sheet, b, 4 + k) for k in range(5)]
        for i in range(5):
            for j in range(i + 1, 5):
                assert (views[i] - views[j]).abs().max() > 1e-3, (b, i, j)
    # The middle canonical view (yaw 0) is the identity render over grey.
    front = direct_render(scene, out.vertices, out.texture, torch.eye(3)[None], grey)
    for b in range(2):
        torch.testing.assert_close(tile(sheet, b, 6), ((front.image[b] + 1) / 2).clamp(0, 1), atol=1e-5, rtol=0)
    # The first canonical view (yaw -90) is R_y(-90) over grey.
    side = direct_render(scene, out.vertices, out.texture, yaw_rotation(-90.0), grey)
    torch.testing.assert_close(tile(sheet, 0, 4), ((side.image[0] + 1) / 2).clamp(0, 1), atol=1e-5, rtol=0)
    # Column 1: front normal map, black off the object, (n + 1) / 2 with |n| ~ 1 and n_z > 0 on it.
    alpha = front.alpha[:, 0]
    for b in range(2):
        normal = tile(sheet, b, 1)
        assert bool((normal[:, alpha[b] == 0] == 0).all())
        covered = alpha[b] > 1 - 1e-6
        assert int(covered.sum()) > 4
        n = normal[:, covered] * 2 - 1
        assert bool(((n.norm(dim=0) > 0.8) & (n.norm(dim=0) < 1 + 1e-4)).all())
        assert bool((n[2] > 0).all())  # faces seen from the front point towards the camera (+Z)


def test_sheet_random_viewpoint_comes_from_the_seeded_sampler(scene):
    z_obj, z_bg = latents(2, seed=3)
    sheet = sample_sheet(scene, z_obj, z_bg, seed=11)
    g = torch.Generator().manual_seed(11)
    rotation = scene.config.viewpoints.sample_rotations(2, generator=g)
    out = scene(z_obj, z_bg, rotation, noise_mode="const", generator=g)
    torch.testing.assert_close(sheet[:, :, :N], ((torch.cat(list(out.image), 1) + 1) / 2).clamp(0, 1))


def test_sheet_is_deterministic_and_restores_the_mode(scene):
    z_obj, z_bg = latents(2, seed=5)
    scene.train()
    try:
        a = sample_sheet(scene, z_obj, z_bg, seed=2)
        assert scene.training and scene.object_generator.training
        b = sample_sheet(scene, z_obj, z_bg, seed=2)
    finally:
        scene.eval()
    assert not a.requires_grad
    torch.testing.assert_close(a, b, atol=0, rtol=0)
    # One row per sample: a batch of one gives the first row (the render column aside, whose
    # random viewpoint depends on the batch size).
    single = sample_sheet(scene, z_obj[:1], z_bg[:1], seed=2)
    torch.testing.assert_close(single[:, :, N:], a[:, :N, N:], atol=1e-6, rtol=0)


def test_sheet_views_over_the_scene_background(scene):
    z_obj, z_bg = latents(1, seed=9)
    sheet = sample_sheet(scene, z_obj, z_bg, num_views=3, view_background="scene", seed=4)
    # Same draws as the sheet: the viewpoint first, then the background crop.
    g = torch.Generator().manual_seed(4)
    rotation = scene.config.viewpoints.sample_rotations(1, generator=g)
    out = scene(z_obj, z_bg, rotation, noise_mode="const", generator=g)
    front = direct_render(scene, out.vertices, out.texture, torch.eye(3)[None], out.background_crop)
    torch.testing.assert_close(tile(sheet, 0, 5), ((front.image[0] + 1) / 2).clamp(0, 1), atol=1e-5, rtol=0)


def test_save_image_round_trips_through_pil(tmp_path):
    image = torch.rand(3, 5, 7, generator=torch.Generator().manual_seed(0))
    path = save_image(image, tmp_path / "a" / "b" / "sheet.png")
    assert path == tmp_path / "a" / "b" / "sheet.png"
    with Image.open(path) as im:
        assert im.format == "PNG" and im.mode == "RGB" and im.size == (7, 5)
        got = np.asarray(im)
    want = np.floor(image.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(to_uint8_hwc(image), want)
    assert os.listdir(path.parent) == ["sheet.png"]


def test_save_image_failure_keeps_the_previous_file(tmp_path, monkeypatch):
    path = save_image(torch.zeros(3, 4, 4), tmp_path / "x.png")
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_image(torch.ones(3, 4, 4), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["x.png"]
    with pytest.raises(ValueError, match="image"):
        save_image(torch.full((3, 2, 2), float("nan")), tmp_path / "y.png")
    assert os.listdir(tmp_path) == ["x.png"]


def read_gif(path) -> list[np.ndarray]:
    with Image.open(path) as im:
        assert im.format == "GIF"
        return [np.asarray(frame.convert("RGB")) for frame in ImageSequence.Iterator(im)]


def test_save_gif_writes_every_frame(tmp_path):
    g = torch.Generator().manual_seed(0)
    frames = [torch.rand(3, 6, 10, generator=g) for _ in range(5)]  # 60 colours: exact GIF palette
    path = save_gif(frames, tmp_path / "anim" / "f.gif", fps=20)
    got = read_gif(path)
    assert len(got) == 5 and got[0].shape == (6, 10, 3)
    for frame, array in zip(frames, got):
        np.testing.assert_array_equal(array, to_uint8_hwc(frame))
    with Image.open(path) as im:
        assert im.info["duration"] == 50
    assert os.listdir(path.parent) == ["f.gif"]
    save_video(frames, tmp_path / "v.gif")
    assert len(read_gif(tmp_path / "v.gif")) == 5
    with pytest.raises(ValueError, match="gif"):
        save_video(frames, tmp_path / "v.mp4")
    with pytest.raises(ValueError, match="frames"):
        save_gif([frames[0], torch.rand(3, 4, 4)], tmp_path / "bad.gif")
    assert not (tmp_path / "bad.gif").exists()


@pytest.mark.parametrize("space", ["z", "w"])
def test_interpolation_endpoints_are_the_renders_of_the_latents(scene, space):
    z_obj, z_bg = latents(2, seed=21)
    frames = interpolation_frames(scene, z_obj[0], z_obj[1], 4, space=space)
    assert len(frames) == 4 and all(f.shape == (3, N, 3 * N) for f in frames)
    rotations = [yaw_rotation(-45.0), yaw_rotation(0.0), yaw_rotation(45.0)]
    for frame, k in ((frames[0], 0), (frames[-1], 1)):
        out = scene(z_obj[k:k + 1], z_bg[k:k + 1], torch.eye(3)[None], noise_mode="const")
        for v, rot in enumerate(rotations):
            want = direct_render(scene, out.vertices, out.texture, rot, torch.zeros(3)).image[0]
            torch.testing.assert_close(frame[:, :, v * N:(v + 1) * N], ((want + 1) / 2).clamp(0, 1),
                                       atol=1e-5, rtol=0)
    assert (frames[1] - frames[0]).abs().max() > 1e-4 and (frames[2] - frames[1]).abs().max() > 1e-4


def test_turntable_turns_the_same_mesh(scene, tmp_path):
    z_obj, z_bg = latents(2, seed=31)
    out = scene(z_obj, z_bg, noise_mode="const")
    frames = turntable_frames(scene, out, num_frames=8, index=1)
    assert len(frames) == 8 and all(f.shape == (3, N, N) for f in frames)
    for k in (0, 2, 5):  # yaw 0, 90 and 225 degrees
        want = direct_render(scene, out.vertices[1:], out.texture[1:], yaw_rotation(45.0 * k), torch.zeros(3))
        torch.testing.assert_close(frames[k], ((want.image[0] + 1) / 2).clamp(0, 1), atol=1e-5, rtol=0)
    distinct = all(not np.array_equal(to_uint8_hwc(a), to_uint8_hwc(b)) for a, b in zip(frames, frames[1:]))
    path = save_turntable(scene, out, tmp_path / "turn.gif", index=1, num_frames=8)
    got = read_gif(path)
    assert got[0].shape == (N, N, 3)
    if distinct:  # Pillow merges identical consecutive frames
        assert len(got) == 8
