"""End-to-end test of ``recipes/render_demo.py`` at a tiny size.

Expectations are computed here from first principles rather than from the demo's own images:
the background is re-derived from its documented gradient formula, the unit ball (inside which
the demo shape lies) projects to the inscribed circle of the image (``docs/conventions.md``), so
everything well outside that circle must be background, and the radius-0.5 sphere must cover the
image centre.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

DEMO = Path(__file__).resolve().parents[1] / "recipes" / "render_demo.py"
SIZE, GRID, VIEWS = 32, 16, 5
YAWS = (-90, -45, 0, 45, 90)


@pytest.fixture(scope="module")
def demo():
    return runpy.run_path(str(DEMO))


@pytest.fixture(scope="module")
def out_dir(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "nested" / "out"
    assert demo["main"](["--out", str(out), "--image-size", str(SIZE), "--grid", str(GRID)]) == 0
    return out


def _load(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        assert image.mode == "RGB"
        return np.asarray(image).astype(np.int64)


def _expected_background(demo) -> np.ndarray:
    """(H, W, 3) uint8 gradient: top colour at v = 0, bottom colour at v = H (pixel centres)."""
    top, bottom = np.array(demo["BG_TOP"]), np.array(demo["BG_BOTTOM"])
    v = (np.arange(SIZE) + 0.5) / SIZE
    column = top[None, :] * (1 - v[:, None]) + bottom[None, :] * v[:, None]
    return np.round(np.broadcast_to(column[:, None, :], (SIZE, SIZE, 3)) * 255).astype(np.int64)


def _radius_from_centre() -> np.ndarray:
    centre = np.arange(SIZE) + 0.5 - SIZE / 2
    return np.hypot(centre[None, :], centre[:, None])


CENTRE = (slice(SIZE // 2 - 1, SIZE // 2 + 1), slice(SIZE // 2 - 1, SIZE // 2 + 1))


def _view_paths(out: Path) -> list[Path]:
    return [out / f"view_{k}_yaw{yaw:+d}.png" for k, yaw in enumerate(YAWS)]


def test_writes_exactly_the_expected_files(out_dir):
    names = sorted(p.name for p in out_dir.iterdir())
    assert names == sorted(["views.png"] + [p.name for p in _view_paths(out_dir)])  # no temp files left


def test_image_sizes(out_dir):
    with Image.open(out_dir / "views.png") as sheet:
        assert sheet.size == (VIEWS * SIZE, 3 * SIZE)  # PIL: (width, height)
    for path in _view_paths(out_dir):
        with Image.open(path) as image:
            assert image.size == (SIZE, SIZE)


def test_background_outside_the_unit_ball_and_object_in_the_centre(demo, out_dir):
    background = _expected_background(demo)
    # The unit ball's silhouette is the inscribed circle; add the 1 px soft band and a margin.
    far = _radius_from_centre() > SIZE / 2 + 2
    assert far[0, 0] and far[-1, -1] and far[0, -1] and far[-1, 0]
    for path in _view_paths(out_dir):
        image = _load(path)
        assert np.abs(image[far] - background[far]).max() <= 1, path.name
        centre_diff = np.abs(image[CENTRE] - background[CENTRE]).max(axis=-1)
        assert centre_diff.min() > 40, path.name


def test_sheet_rows(demo, out_dir):
    sheet = _load(out_dir / "views.png")
    far = _radius_from_centre() > SIZE / 2 + 2
    for k, path in enumerate(_view_paths(out_dir)):
        cols = slice(k * SIZE, (k + 1) * SIZE)
        render, normals, alpha = (sheet[row * SIZE:(row + 1) * SIZE, cols] for row in range(3))
        np.testing.assert_array_equal(render, _load(path))
        # Normal map and alpha are composited over black; the object covers the centre fully.
        assert normals[far].max() == 0 and alpha[far].max() == 0
        assert alpha[CENTRE].min() == 255
        assert (alpha[..., 0] == alpha[..., 1]).all() and (alpha[..., 0] == alpha[..., 2]).all()
        assert normals[CENTRE].sum(axis=-1).min() > 100
    # Front view: the normals at the centre face the camera (+Z -> blue channel near 255).
    front = sheet[SIZE:2 * SIZE, 2 * SIZE:3 * SIZE]
    assert front[CENTRE][..., 2].min() > 0.8 * 255


def test_prints_what_it_wrote(demo, tmp_path, capsys):
    assert demo["main"](["--out", str(tmp_path), "--image-size", "16", "--grid", "8", "--mode", "crisp"]) == 0
    printed = capsys.readouterr().out
    assert str(tmp_path / "views.png") in printed
    assert all(str(p) in printed for p in _view_paths(tmp_path))
    assert " s" in printed.splitlines()[-1]


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--grid", "2"], "--grid"),
        (["--grid", "many"], "--grid"),
        (["--image-size", "0"], "--image-size"),
        (["--image-size", "1e9"], "--image-size"),
        (["--backend", "opengl"], "--backend"),
        (["--mode", "blurry"], "--mode"),
    ],
)
def test_bad_arguments_fail_clearly(demo, tmp_path, capsys, argv, needle):
    with pytest.raises(SystemExit) as info:
        demo["main"](["--out", str(tmp_path / "o")] + argv)
    assert info.value.code == 2
    assert needle in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_out_must_be_a_folder(demo, tmp_path, capsys):
    target = tmp_path / "file.png"
    target.write_bytes(b"x")
    with pytest.raises(SystemExit) as info:
        demo["main"](["--out", str(target)])
    assert info.value.code == 2
    assert "--out" in capsys.readouterr().err
