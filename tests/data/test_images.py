"""Image folders and zip archives: listing, pixel pipeline, odd modes, bad data, flips, loader."""

from __future__ import annotations

import io
import logging
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from gan3dlib.data import ImageDataset, ImageDatasetConfig, infinite_loader

LOGGER = "gan3dlib.data.images"


def _save(path, array_or_image, **kwargs) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    img = array_or_image if isinstance(array_or_image, Image.Image) else Image.fromarray(array_or_image)
    img.save(path, **kwargs)


def _solid(colour, size=(64, 48)) -> np.ndarray:
    width, height = size
    return np.broadcast_to(np.asarray(colour, dtype=np.uint8), (height, width, 3)).copy()


def _dataset(path, resolution=8, **kwargs) -> ImageDataset:
    return ImageDatasetConfig(path=str(path), resolution=resolution, **kwargs).build()


def _expected(colour, resolution) -> torch.Tensor:
    values = torch.tensor([c / 127.5 - 1.0 for c in colour], dtype=torch.float32)
    return values.view(3, 1, 1).expand(3, resolution, resolution)


def _jpeg_bytes(array) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def test_recursive_listing_is_complete_sorted_and_ignores_other_files(tmp_path):
    root = tmp_path / "photos"
    wanted = ["a.png", "b/c.JPG", "b/d/e.jpeg", "b/d/f.WebP", "g/h.Png", "z.jpg"]
    for name in reversed(wanted):
        _save(str(root / name), _solid((10, 20, 30), (8, 8)))
    for junk in ["notes.txt", "b/labels.json", "b/d/e.jpeg.bak", ".hidden.png", ".cache/x.png"]:
        (root / junk).parent.mkdir(parents=True, exist_ok=True)
        (root / junk).write_bytes(b"not an image")
    ds = _dataset(root)
    assert ds.image_paths == sorted(wanted)
    assert len(ds) == len(wanted)
    assert _dataset(root).image_paths == ds.image_paths
    assert _dataset(root, max_images=4).image_paths == sorted(wanted)[:4]
    assert len(_dataset(root, max_images=4)) == 4
    assert _dataset(root, extensions=(".PNG",)).image_paths == ["a.png", "g/h.Png"]


def test_solid_colour_maps_to_stylegan_range(tmp_path):
    colour = (200, 17, 128)
    _save(str(tmp_path / "im" / "solid.png"), _solid(colour, (64, 48)))
    item = _dataset(tmp_path / "im", resolution=16)[0]
    assert item.dtype == torch.float32 and item.shape == (3, 16, 16)
    torch.testing.assert_close(item, _expected(colour, 16), atol=1.01 / 127.5, rtol=0)


def test_center_crop_keeps_only_the_central_square(tmp_path):
    array = _solid((255, 0, 0), (96, 64))
    array[:, 16:80] = (0, 0, 255)  # central 64 x 64 square; 16-pixel red margins left and right
    _save(str(tmp_path / "im" / "wide.png"), array)
    _save(str(tmp_path / "im" / "tall.png"), np.ascontiguousarray(array.transpose(1, 0, 2)))
    ds = _dataset(tmp_path / "im", resolution=16)
    for item in (ds[0], ds[1]):
        torch.testing.assert_close(item, _expected((0, 0, 255), 16), atol=1e-6, rtol=0)


def test_downsampling_is_antialiased(tmp_path):
    blocks = (np.add.outer(np.arange(32), np.arange(32)) % 2 * 255).astype(np.uint8)
    checker = np.repeat(np.repeat(blocks, 2, axis=0), 2, axis=1)  # 64 x 64 of 2 x 2 blocks
    _save(str(tmp_path / "im" / "checker.png"), checker)
    item = _dataset(tmp_path / "im", resolution=16)[0]
    got = (item[0].numpy() + 1.0) * 127.5
    box = checker.astype(np.float64).reshape(16, 4, 16, 4).mean(axis=(1, 3))  # independent reference
    nearest = checker[2::4, 2::4].astype(np.float64)
    assert abs(got.mean() - checker.mean()) < 1.0
    assert np.abs(got - box).max() < 5.0  # Lanczos ringing at the image corners is a few levels
    assert abs(nearest.mean() - checker.mean()) > 100  # point sampling would alias to one colour
    torch.testing.assert_close(item[0], item[1])
    torch.testing.assert_close(item[1], item[2])


def test_other_modes_and_formats_convert_to_rgb(tmp_path):
    root = tmp_path / "im"
    _save(str(root / "grey.png"), np.full((20, 30), 100, dtype=np.uint8))
    rgba = np.zeros((20, 20, 4), dtype=np.uint8)
    rgba[..., :3], rgba[..., 3] = (0, 0, 0), 128  # half-transparent black over white
    _save(str(root / "rgba.png"), rgba)
    palette = Image.new("P", (20, 20), 1)
    palette.putpalette([0, 0, 0, 10, 200, 50] + [0] * 762)
    _save(str(root / "palette.png"), palette)
    transparent = Image.new("P", (20, 20), 0)
    transparent.putpalette([1, 2, 3] * 256)
    _save(str(root / "palette_transparent.png"), transparent, transparency=0)
    for name, value in [("w16_max.png", 65535), ("w16_mid.png", 32768), ("w16_zero.png", 0)]:
        _save(str(root / name), np.full((16, 24), value, dtype=np.uint16))
    _save(str(root / "photo.jpg"), _solid((30, 140, 220), (24, 16)), quality=95)
    _save(str(root / "lossless.webp"), _solid((30, 140, 220), (24, 16)), lossless=True)
    _save(str(root / "lossy.webp"), _solid((30, 140, 220), (24, 16)), quality=90)
    _save(str(root / "cmyk.jpg"), Image.new("CMYK", (16, 16), (0, 255, 255, 0)), quality=95)
    assert Image.open(root / "w16_max.png").mode.startswith("I")
    ds = _dataset(root, resolution=8)
    expect = {
        "grey.png": ((100, 100, 100), 1.01),
        "rgba.png": ((127.5, 127.5, 127.5), 1.51),  # 255 * (1 - 128/255) over a white matte
        "palette.png": ((10, 200, 50), 1.01),
        "palette_transparent.png": ((255, 255, 255), 1.01),
        "w16_max.png": ((255, 255, 255), 0.01),
        "w16_mid.png": ((127.5, 127.5, 127.5), 1.01),
        "w16_zero.png": ((0, 0, 0), 0.01),
        "photo.jpg": ((30, 140, 220), 3.0),
        "lossless.webp": ((30, 140, 220), 0.01),
        "lossy.webp": ((30, 140, 220), 6.0),
        "cmyk.jpg": ((255, 0, 0), 3.0),
    }
    assert sorted(ds.image_paths) == sorted(expect)
    for index, name in enumerate(ds.image_paths):
        item = ds[index]
        assert item.dtype == torch.float32 and item.shape == (3, 8, 8), name
        assert float(item.min()) >= -1.0 and float(item.max()) <= 1.0, name
        colour, tol = expect[name]
        torch.testing.assert_close(item, _expected(colour, 8), atol=tol / 127.5, rtol=0, msg=name)
    assert float(ds[ds.image_paths.index("w16_max.png")].min()) == 1.0
    black = _dataset(root, resolution=8, alpha_matte="black")
    torch.testing.assert_close(black[ds.image_paths.index("rgba.png")], _expected((0, 0, 0), 8), atol=1e-6, rtol=0)


def _make_tree(root, count=5, size=(20, 14)):
    rng = np.random.default_rng(0)
    for i in range(count):
        sub = "" if i % 2 else f"part{i % 3}/"
        _save(str(root / f"{sub}img{i:02d}.png"), rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


def test_zip_matches_folder_and_survives_pickling(tmp_path):
    root = tmp_path / "folder"
    _make_tree(root)
    archive_path = tmp_path / "data.zip"
    with zipfile.ZipFile(archive_path, "w") as archive:
        archive.writestr("dataset.json", '{"labels": null}')
        archive.writestr("part0/", "")
        for name in _dataset(root).image_paths:
            archive.write(root / name, arcname=name)
    folder, packed = _dataset(root, resolution=12), _dataset(archive_path, resolution=12)
    assert packed.image_paths == folder.image_paths
    for i in range(len(folder)):
        torch.testing.assert_close(packed[i], folder[i], atol=0, rtol=0)
    clone = pickle.loads(pickle.dumps(packed))  # what a spawned DataLoader worker receives
    torch.testing.assert_close(clone[3], folder[3], atol=0, rtol=0)
    with zipfile.ZipFile(archive_path, "a") as archive:
        archive.writestr("part1/broken.png", b"not a png")
    damaged = _dataset(archive_path, resolution=12)
    batches = infinite_loader(damaged, batch_size=2, seed=0, num_workers=2)  # forked workers reopen the zip
    seen = [next(batches) for _ in range(9)]  # three epochs of three batches
    assert all(b.shape == (2, 3, 12, 12) for b in seen)
    assert damaged.num_skipped == 1  # counted in a worker, visible here


def test_corrupt_files_are_skipped_once_and_counted(tmp_path, caplog):
    root = tmp_path / "im"
    colours = [(10, 10, 10), (50, 50, 50), (90, 90, 90), (130, 130, 130)]
    _save(str(root / "0_good.png"), _solid(colours[0], (16, 16)))
    (root / "1_noise.png").write_bytes(np.random.default_rng(1).integers(0, 256, 500, dtype=np.uint8).tobytes())
    _save(str(root / "2_good.png"), _solid(colours[2], (16, 16)))
    full = _jpeg_bytes(np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    (root / "3_truncated.jpg").write_bytes(full[: len(full) // 2])
    ds = _dataset(root, resolution=8)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        items = [ds[i] for i in range(len(ds))] + [ds[i] for i in range(len(ds))]
    torch.testing.assert_close(items[1], _expected(colours[2], 8), atol=1.01 / 127.5, rtol=0)  # next good one
    torch.testing.assert_close(items[3], _expected(colours[0], 8), atol=1.01 / 127.5, rtol=0)  # wraps around
    assert ds.num_skipped == 2
    records = [r for r in caplog.records if r.name == LOGGER]
    assert len(records) == 2 and all(r.levelno == logging.WARNING for r in records)
    assert "1_noise.png" in records[0].getMessage() and "3_truncated.jpg" in records[1].getMessage()
    assert all("\n" not in r.getMessage() for r in records)


def test_all_corrupt_raises_a_clear_error(tmp_path):
    root = tmp_path / "im"
    root.mkdir()
    for name in ("a.png", "b.jpg"):
        (root / name).write_bytes(b"\x89PNG garbage")
    ds = _dataset(root)
    with pytest.raises(ValueError, match="path: all 2 images .* unreadable"):
        ds[0]
    assert ds.num_skipped == 2


def test_missing_empty_and_non_zip_paths_fail_at_construction(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "text_only").mkdir()
    (tmp_path / "text_only" / "readme.txt").write_text("hello")
    (tmp_path / "file.zip").write_text("not a zip")
    empty_zip = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty_zip, "w") as archive:
        archive.writestr("dataset.json", "{}")
    for bad in ("missing", "empty", "text_only", "empty.zip"):
        with pytest.raises(ValueError, match=r"^path: .*point --data at a folder of images or a StyleGAN"):
            _dataset(tmp_path / bad)
    with pytest.raises(ValueError, match="no images .*png/.jpg/.jpeg/.webp"):
        _dataset(tmp_path / "empty")
    with pytest.raises(ValueError, match="^path: .*not a zip archive"):
        _dataset(tmp_path / "file.zip")
    with pytest.raises(ValueError, match="resolution"):
        ImageDatasetConfig(path=str(tmp_path), resolution=0)
    with pytest.raises(ValueError, match="extensions"):
        ImageDatasetConfig(path=str(tmp_path), resolution=8, extensions=("png",))


def test_seeded_hflip_is_deterministic_and_about_half(tmp_path):
    root = tmp_path / "im"
    _make_tree(root, count=40, size=(8, 8))
    plain = _dataset(root, resolution=8)
    flips = _dataset(root, resolution=8, hflip=True, seed=3)

    def pattern(ds):
        out = []
        for i in range(len(ds)):
            item, ref = ds[i], plain[i]
            if torch.equal(item, ref):
                out.append(False)
            else:
                assert torch.equal(item, ref.flip(-1))  # independent flip of the unflipped tensor
                out.append(True)
        return out

    first = pattern(flips)
    assert 10 <= sum(first) <= 30
    assert pattern(_dataset(root, resolution=8, hflip=True, seed=3)) == first
    flips.set_epoch(1)
    assert pattern(flips) != first
    assert pattern(plain) == [False] * 40


def test_infinite_loader_reshuffles_deterministically(tmp_path):
    root = tmp_path / "im"
    for i in range(5):
        _save(str(root / f"{i}.png"), _solid((40 * i, 40 * i, 40 * i), (8, 8)))
    ds = _dataset(root, resolution=4)

    def ids(batch):
        return [round(float((x[0, 0, 0] + 1) * 127.5) / 40) for x in batch]

    def take(seed, count, **kwargs):
        stream = infinite_loader(ds, batch_size=2, seed=seed, **kwargs)
        return [next(stream) for _ in range(count)]

    batches = take(0, 7)
    assert all(b.shape == (2, 3, 4, 4) and b.dtype == torch.float32 for b in batches)
    epochs = [sum((ids(b) for b in batches[k:k + 2]), []) for k in (0, 2, 4)]  # 2 batches per epoch
    assert all(len(set(e)) == 4 for e in epochs)
    assert len({tuple(e) for e in epochs}) > 1  # reshuffled
    again = take(0, 7)
    assert all(torch.equal(a, b) for a, b in zip(batches, again))
    assert [ids(b) for b in take(1, 7)] != [ids(b) for b in batches]
    rank0 = take(0, 1, rank=0, world_size=2)[0]
    rank1 = take(0, 1, rank=1, world_size=2)[0]
    assert not set(ids(rank0)) & set(ids(rank1))
    with pytest.raises(ValueError, match="batch_size"):
        infinite_loader(ds, batch_size=6, seed=0)  # fails at the call, not at the first batch
