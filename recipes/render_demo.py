"""Built-in render demo: a textured, bumpy sphere-grid mesh from the paper's 5 canonical views.

Needs no user data. It builds the paper's mesh grid (an ``N x N`` shape image wrapped around a
sphere of radius 0.5, paper §6-7), deforms it with a smooth analytic bump, paints it with a
procedural checker/gradient texture (``2N x 2N``) and renders it with the soft-extension renderer
from 5 viewpoints evenly spaced over yaw -90°..+90° (as in the paper's Figure 1), over a
procedural background. It writes into ``--out``:

- ``views.png``: a sheet with one column per view; row 1 the textured render, row 2 the normal
  map (view-space vertex normals, mapped from [-1, 1] to [0, 1] and composited over black),
  row 3 the alpha (coverage) map;
- ``view_<k>_yaw<deg>.png``: the textured render of view ``k`` alone.

Run ``python recipes/render_demo.py --help`` for the options. Everything it draws is defined by
the closed-form functions below, so tests can recompute expectations independently.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gan3dlib.mesh import build_mesh_grid, sphere_shape_image
from gan3dlib.ops import vertex_normals
from gan3dlib.render import (
    PerspectiveCamera,
    RendererConfig,
    canonical_views,
    default_backend,
    pytorch3d_available,
    rotation_matrix,
)

NUM_VIEWS = 5
YAW_RANGE_DEGREES = (-90.0, 90.0)
SPHERE_RADIUS = 0.5
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 16, 1024
MIN_GRID, MAX_GRID = 4, 256

# Procedural background: a vertical gradient from BG_TOP (row 0) to BG_BOTTOM (last row),
# ``colour(v) = BG_TOP + (BG_BOTTOM - BG_TOP) * v / H`` at the pixel centre ``v = row + 0.5``.
BG_TOP = (0.86, 0.90, 0.97)
BG_BOTTOM = (0.55, 0.60, 0.70)

# Texture: an 8 x 8 checker of a warm and a dark colour, both modulated by a gradient in u.
CHECKER_CELLS = 8
TEX_WARM = (0.98, 0.55, 0.12)
TEX_DARK = (0.10, 0.22, 0.55)


def bumpy_sphere_vertices(n: int) -> torch.Tensor:
    """The demo shape as ``(1, N², 3)`` vertices: the paper's sphere s0 with a smooth bump.

    Every point ``p`` of the radius-0.5 sphere shape image is scaled radially by
    ``1 + 0.25 exp(-|p̂ - c|² / 0.18) + 0.03 sin(6 p̂_y)`` where ``p̂ = p / |p|`` and
    ``c = (0.5, 0.35, 0.79) / |.|`` (a bump on the upper right of the front). The surface stays
    inside the ball of radius ``0.5 * 1.28 < 0.65``, well inside the unit ball the camera frames.
    """
    points = sphere_shape_image(n, radius=SPHERE_RADIUS).reshape(3, -1).T  # (V, 3)
    unit = points / points.norm(dim=-1, keepdim=True)
    centre = torch.tensor([0.5, 0.35, 0.79])
    centre = centre / centre.norm()
    bump = 0.25 * torch.exp(-(unit - centre).square().sum(-1) / 0.18)
    ripple = 0.03 * torch.sin(6.0 * unit[:, 1])
    return (points * (1.0 + bump + ripple).unsqueeze(-1)).unsqueeze(0)


def procedural_texture(size: int) -> torch.Tensor:
    """``(1, 3, size, size)`` checker/gradient texture (row 0 is the top, v = 1)."""
    t = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    row, col = torch.meshgrid(t, t, indexing="ij")
    checker = ((row * CHECKER_CELLS).floor() + (col * CHECKER_CELLS).floor()) % 2  # (S, S) in {0, 1}
    warm = torch.tensor(TEX_WARM).view(3, 1, 1)
    dark = torch.tensor(TEX_DARK).view(3, 1, 1)
    colour = warm * checker + dark * (1 - checker)
    shade = 0.75 + 0.25 * col  # gradient along u
    stripe = 1.0 + 0.1 * torch.cos(2 * math.pi * 3 * row)  # soft bands along v
    return (colour * shade * stripe).clamp(0, 1).unsqueeze(0)


def procedural_background(height: int, width: int) -> torch.Tensor:
    """``(1, 3, H, W)`` vertical gradient from :data:`BG_TOP` to :data:`BG_BOTTOM`."""
    v = (torch.arange(height, dtype=torch.float32) + 0.5) / height
    top = torch.tensor(BG_TOP).view(3, 1)
    bottom = torch.tensor(BG_BOTTOM).view(3, 1)
    column = top + (bottom - top) * v.view(1, height)  # (3, H)
    return column.view(1, 3, height, 1).expand(1, 3, height, width).contiguous()


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) float in [0, 1] -> (H, W, C) uint8 (rounded); one channel gives (H, W)."""
    array = (image.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return array[..., 0] if array.shape[-1] == 1 else array


def save_png(array: np.ndarray, path: Path) -> None:
    """Writes ``array`` as a PNG atomically (temporary file in the same folder, then os.replace)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            Image.fromarray(array).save(handle, format="PNG")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def render_views(image_size: int, grid_size: int, backend: str, mode: str, device: torch.device) -> dict:
    """Renders the demo mesh from the canonical views.

    Returns:
        dict with ``image`` (V, 3, H, W), ``normals`` (V, 3, H, W) in [0, 1], ``alpha``
        (V, 1, H, W), ``yaw_degrees`` (list of V floats) and ``backend`` (the one used).
    """
    grid = build_mesh_grid(grid_size, device=device)
    faces = grid.faces
    verts = bumpy_sphere_vertices(grid_size).to(device).expand(NUM_VIEWS, -1, -1)
    yaw, pitch = canonical_views(NUM_VIEWS, YAW_RANGE_DEGREES, device=device)
    rotation = rotation_matrix(yaw, pitch)
    rotated = verts @ rotation.transpose(1, 2)  # object rotated to each viewpoint (view-space axes)

    camera = PerspectiveCamera(image_size=(image_size, image_size))
    screen_verts = camera.project(rotated)
    normals = vertex_normals(rotated, faces)  # (V, N², 3) unit, view-space directions

    texture = procedural_texture(2 * grid_size).to(device).expand(NUM_VIEWS, -1, -1, -1)
    background = procedural_background(image_size, image_size).to(device).expand(NUM_VIEWS, -1, -1, -1)
    resolved = default_backend(device) if backend == "auto" else backend
    renderer = RendererConfig(image_size=(image_size, image_size), mode=mode, backend=resolved).build(device)
    with torch.no_grad():
        out = renderer(
            screen_verts,
            faces,
            texture=texture,
            face_uvs=grid.face_uvs,
            vertex_normals=normals,
            background=background,
        )
    # Premultiplied normals: 0.5 * (n + 1) * alpha == 0.5 * (normals + alpha), black behind.
    normal_map = 0.5 * (out.normals + out.alpha)
    return {
        "image": out.image,
        "normals": normal_map,
        "alpha": out.alpha,
        "yaw_degrees": [round(math.degrees(float(a)), 6) for a in yaw],
        "backend": resolved,
    }


def _int_in_range(name: str, lo: int, hi: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name}: expected an integer, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{name}: expected an integer in [{lo}, {hi}], got {value}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Render a textured sphere-grid mesh with gan3dlib's soft-extension renderer "
        "from 5 canonical views (yaw -90..+90 degrees) and write PNGs.",
    )
    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder (default: demo_out)")
    parser.add_argument(
        "--image-size",
        type=_int_in_range("--image-size", MIN_IMAGE_SIZE, MAX_IMAGE_SIZE),
        default=128,
        help=f"square image side in pixels, {MIN_IMAGE_SIZE}..{MAX_IMAGE_SIZE} (default: 128)",
    )
    parser.add_argument(
        "--grid",
        type=_int_in_range("--grid", MIN_GRID, MAX_GRID),
        default=64,
        help=f"mesh grid size N (N x N vertices, texture 2N x 2N), {MIN_GRID}..{MAX_GRID} (default: 64)",
    )
    parser.add_argument(
        "--backend",
        choices=("auto", "torch", "pytorch3d"),
        default="auto",
        help="rasterizer backend (default: auto = torch on CPU, pytorch3d on CUDA when available)",
    )
    parser.add_argument(
        "--mode",
        choices=("soft", "crisp"),
        default="soft",
        help="soft: the paper's soft-extension renderer; crisp: its CRISP ablation (default: soft)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the demo; ``argv`` defaults to ``sys.argv[1:]``. Returns the exit status (0)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.out.exists() and not args.out.is_dir():
        parser.error(f"--out: expected a folder, but {str(args.out)!r} exists and is not a folder")
    if args.backend == "pytorch3d" and not pytorch3d_available():
        parser.error(
            "--backend pytorch3d: PyTorch3D's compiled extension could not be loaded here (its wheel "
            "exists only for CPython 3.11 on x86-64 Linux with torch 2.12.x); use --backend torch"
        )
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")

    start = time.perf_counter()
    result = render_views(args.image_size, args.grid, args.backend, args.mode, device)
    render_seconds = time.perf_counter() - start

    args.out.mkdir(parents=True, exist_ok=True)
    sheet = torch.cat(
        [
            torch.cat(list(result["image"]), dim=2),
            torch.cat(list(result["normals"]), dim=2),
            torch.cat(list(result["alpha"].expand(-1, 3, -1, -1)), dim=2),
        ],
        dim=1,
    )  # (3, 3H, V*W)
    written = [args.out / "views.png"]
    save_png(to_uint8(sheet), written[0])
    for k, (image, yaw) in enumerate(zip(result["image"], result["yaw_degrees"])):
        path = args.out / f"view_{k}_yaw{yaw:+.0f}.png"
        save_png(to_uint8(image), path)
        written.append(path)
    total_seconds = time.perf_counter() - start

    size = args.image_size
    print(
        f"render_demo: {NUM_VIEWS} views at {size}x{size}, grid {args.grid}, mode {args.mode}, "
        f"backend {result['backend']}, device {device.type}"
    )
    print(f"  {written[0]}  ({NUM_VIEWS * size}x{3 * size}: renders, normal maps, alpha)")
    for path, yaw in zip(written[1:], result["yaw_degrees"]):
        print(f"  {path}  (yaw {yaw:+.0f} deg)")
    print(f"render {render_seconds:.2f} s, total {total_seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
