"""Sample sheets in the layout of the paper's Figure 1, re-rendering of generated meshes, PNG output.

A sheet has one row per sample and ``4 + num_views`` tiles of N x N pixels per row (N = the scene
resolution), all in [0, 1]:

1. the scene's own render from a random viewpoint (drawn by ``config.viewpoints`` from a seeded
   generator, or the given rotation), over the generated background crop;
2. the normal map of the front view (identity rotation), ``(n + 1) / 2`` composited by the render's
   coverage alpha over black;
3. the texture, 2N x 2N resized to N x N;
4. the full background, 2N x 2N resized to N x N;
5. ``num_views`` renders from canonical viewpoints (yaws evenly spaced over ``yaw_range_degrees``,
   ends included, pitch 0), over a neutral mid-grey background by default so that the silhouette of
   the shape is visible (``view_background='scene'`` uses the generated background crop instead);
   a scene with shading is lit from the upper left of the camera (``SHEET_LIGHT``).

The generators run once per sheet: every tile of a row comes from one [`SceneOutput`][gan3dlib.scene.generator.SceneOutput], whose
mesh and texture are re-rendered for the other viewpoints ([`render_views`][gan3dlib.viz.sheets.render_views]), so shape, texture
and background are identical across a row.

Resizing (texture and background tiles): values are first mapped from the generator range [-1, 1]
to [0, 1] with ``(x + 1) / 2``, then resized with ``torch.nn.functional.interpolate(mode='area')``
(for the exact factor 2 of the scene this is the mean of each 2 x 2 block), then clamped to [0, 1].
Every other tile is mapped the same way and clamped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from PIL import Image
from torch import nn

from gan3dlib.render.camera import canonical_views, rotation_matrix
from gan3dlib.scene.generator import SceneGenerator, SceneOutput
from gan3dlib.utils.atomic import atomic_write
from gan3dlib.utils.checks import check_positive, check_tensor, describe

__all__ = ["GREY", "ViewRenders", "eval_no_grad", "normal_tile", "render_mesh", "render_views",
           "sample_sheet", "to_unit_range", "to_uint8_hwc", "save_image"]

GREY = 0.0
"""Neutral background level in the generator range [-1, 1] (mid grey, 0.5 once mapped to [0, 1])."""

Background = float | torch.Tensor

SHEET_LIGHT = torch.nn.functional.normalize(torch.tensor([-0.4, 0.5, 1.0]), dim=0)
"""Light of a shading scene's canonical views on a sheet: from the camera, upper left (view space)."""


@dataclass
class ViewRenders:
    """Renders of B meshes from R viewpoints each.

    Attributes:
        image: (B, R, 3, N, N) colour in the generator range (about [-1, 1]).
        alpha: (B, R, 1, N, N) coverage in [0, 1].
        normals: (B, R, 3, N, N) normal maps composited over zero (view space), or None.
    """

    image: torch.Tensor
    alpha: torch.Tensor
    normals: torch.Tensor | None


@contextmanager
def eval_no_grad(module: nn.Module) -> Iterator[None]:
    """Runs the block with ``module`` in eval mode and without autograd, restoring every submodule's mode."""
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, training in modes:
            m.training = training


def _background_for(background: Background, batch: int, size: int, like: torch.Tensor) -> torch.Tensor:
    """(3,) colour or (B, 3, N, N) image for the renderer, from a grey level, a colour or an image."""
    if isinstance(background, (int, float)) and not isinstance(background, bool):
        return torch.full((3,), float(background), dtype=torch.float32, device=like.device)
    if isinstance(background, torch.Tensor) and background.shape == (3,):
        return background.to(device=like.device, dtype=torch.float32)
    check_tensor(background, "background", (batch, 3, size, size), floating=True)
    return background.to(device=like.device, dtype=torch.float32)


def render_mesh(scene: SceneGenerator, vertices: torch.Tensor, texture: torch.Tensor, rotations: torch.Tensor,
                background: Background = GREY, *, normals: bool = False, light: torch.Tensor | None = None) -> ViewRenders:
    """Renders textured grid meshes of ``scene`` from several viewpoints, as ``scene.forward`` does.

    Each viewpoint is one renderer call on the whole batch (float32, autocast off), with the same
    camera, faces and UVs as the scene, so a rotation given to ``scene.forward`` gives the same image
    (with shading, the same light too).

    Args:
        scene: the scene generator (camera, renderer, mesh grid).
        vertices: (B, N², 3) object-space vertices (``SceneOutput.vertices``).
        texture: (B, 3, Ht, Wt) UV texture in the generator range.
        rotations: (R, 3, 3) rotations shared by the batch, or (B, R, 3, 3) per sample.
        background: a grey level or (3,) colour in the generator range, or a (B, 3, N, N) image.
        normals: also render normal maps (view space, as ``forward(vertex_normals=True)``).
        light: (3,) or (B, 3) view-space direction towards the light; shades the texture as an albedo
            with ``scene.config.shading``'s ambient and diffuse terms (the scene's mode aside).

    Returns:
        [`ViewRenders`][gan3dlib.viz.sheets.ViewRenders] with R views per sample.
    """
    n = scene.config.resolution
    dims: dict[str, int] = {}
    check_tensor(vertices, "vertices", ("B", n * n, 3), floating=True, dims=dims)
    check_tensor(texture, "texture", ("B", 3, None, None), floating=True, dims=dims)
    if not isinstance(rotations, torch.Tensor) or rotations.ndim not in (3, 4):
        raise ValueError(f"rotations: expected (R, 3, 3) or (B, R, 3, 3), got {describe(rotations)}")
    if rotations.ndim == 3:
        check_tensor(rotations, "rotations", ("R", 3, 3), floating=True, dims=dims)
        rotations = rotations.unsqueeze(0).expand(dims["B"], -1, -1, -1)
    check_tensor(rotations, "rotations", ("B", None, 3, 3), floating=True, dims=dims)
    batch = dims["B"]
    bg = _background_for(background, batch, n, vertices)
    lit = None if light is None else light.to(device=vertices.device, dtype=torch.float32).expand(batch, 3)
    images, alphas, normal_maps = [], [], []
    for r in range(rotations.shape[1]):
        rot = rotations[:, r].to(device=vertices.device, dtype=torch.float32)
        out = scene.render(vertices, rot, texture=texture, background=bg, light=lit, normals=normals)
        images.append(out.image)
        alphas.append(out.alpha)
        normal_maps.append(out.normals)
    return ViewRenders(image=torch.stack(images, 1), alpha=torch.stack(alphas, 1),
                       normals=torch.stack(normal_maps, 1) if normals else None)


def render_views(scene: SceneGenerator, output: SceneOutput, rotations: torch.Tensor,
                 background: Background = GREY, *, normals: bool = False, light: torch.Tensor | None = None) -> ViewRenders:
    """Re-renders the meshes and textures of an existing [`SceneOutput`][gan3dlib.scene.generator.SceneOutput] from other viewpoints.

    No network runs: shape and texture are those of ``output``.

    Args:
        scene: the generator that made ``output``.
        output: its output for B samples.
        rotations: (R, 3, 3) rotations shared by the batch, or (B, R, 3, 3).
        background: grey level, (3,) colour (generator range) or (B, 3, N, N) image, e.g.
            ``output.background_crop``.
        normals: also render normal maps.
        light: view-space light direction for a shading scene (see [`render_mesh`][gan3dlib.viz.sheets.render_mesh]).

    Returns:
        [`ViewRenders`][gan3dlib.viz.sheets.ViewRenders], images (B, R, 3, N, N).
    """
    return render_mesh(scene, output.vertices, output.texture, rotations, background, normals=normals, light=light)


def to_unit_range(x: torch.Tensor) -> torch.Tensor:
    """Maps generator-range values [-1, 1] to [0, 1] (``(x + 1) / 2``, clamped)."""
    return ((x.float() + 1) / 2).clamp(0.0, 1.0)


def _resized_tile(image: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 3, H, W) in [-1, 1] -> (B, 3, size, size) in [0, 1]: map, area-resize, clamp."""
    return F.interpolate((image.float() + 1) / 2, size=(size, size), mode="area").clamp(0.0, 1.0)


def normal_tile(normals: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """Displayable normal map: ``(n + 1) / 2`` where covered, black elsewhere.

    Args:
        normals: (..., 3, H, W) normals composited over zero, i.e. ``alpha * n``.
        alpha: (..., 1, H, W) coverage.

    Returns:
        (..., 3, H, W) ``alpha * (n + 1) / 2 = (normals + alpha) / 2``, clamped to [0, 1].
    """
    return ((normals.float() + alpha.float()) / 2).clamp(0.0, 1.0)


def sample_sheet(scene: SceneGenerator, z_obj: torch.Tensor, z_bg: torch.Tensor, *,
                 rotation: torch.Tensor | None = None, num_views: int = 5,
                 yaw_range_degrees: tuple[float, float] = (-90.0, 90.0), truncation_psi: float = 1.0,
                 noise_mode: str = "const", seed: int = 0,
                 view_background: Literal["grey", "scene"] = "grey") -> torch.Tensor:
    """A Figure-1 sheet: per sample, render | normals | texture | background | canonical views.

    Runs ``scene`` once (eval mode, no grad; the module's modes are restored afterwards) with a
    ``torch.Generator`` seeded with ``seed`` for every random draw (the random viewpoint when
    ``rotation`` is None, the background crop, noise when ``noise_mode='random'``), so the sheet is
    deterministic. See the module docstring for the tiles.

    Args:
        scene: the scene generator.
        z_obj: (B, z_dim) object latents.
        z_bg: (B, z_dim) background latents.
        rotation: (B, 3, 3) viewpoint of the first column; drawn from ``scene.config.viewpoints``
            when None.
        num_views: number V of canonical views.
        yaw_range_degrees: (min, max) yaw of the canonical views (both ends included), pitch 0.
        truncation_psi: truncation of both generators.
        noise_mode: ``'const'`` (default), ``'random'`` or ``'none'``.
        seed: seed of the random draws.
        view_background: ``'grey'`` (neutral mid grey) or ``'scene'`` (the generated crop) behind
            the canonical views.

    Returns:
        (3, B * N, (4 + V) * N) float sheet in [0, 1].
    """
    check_positive(num_views, "num_views", integer=True)
    if view_background not in ("grey", "scene"):
        raise ValueError(f"view_background: expected 'grey' or 'scene', got {describe(view_background)}")
    n = scene.config.resolution
    device = z_obj.device
    with eval_no_grad(scene):
        generator = torch.Generator(device=device).manual_seed(int(seed))
        out = scene(z_obj, z_bg, rotation, truncation_psi=truncation_psi, noise_mode=noise_mode, generator=generator)
        front = render_views(scene, out, torch.eye(3, device=device).unsqueeze(0), GREY, normals=True)
        yaw, pitch = canonical_views(num_views, yaw_range_degrees, 0.0, device=device)
        behind = GREY if view_background == "grey" else out.background_crop
        light = SHEET_LIGHT.to(device) if scene.config.shading.enabled else None
        views = render_views(scene, out, rotation_matrix(yaw, pitch), behind, light=light)
        assert front.normals is not None
        single = [to_unit_range(out.image), _resized_tile(out.texture, n), _resized_tile(out.background, n)]
        render, texture, background = (t.unsqueeze(1) for t in single)
        tiles = torch.cat([render, normal_tile(front.normals, front.alpha), texture, background,
                           to_unit_range(views.image)], dim=1)  # (B, 4 + V, 3, N, N)
    return rearrange(tiles, "b t c h w -> c (b h) (t w)").contiguous()


def to_uint8_hwc(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) float image in [0, 1] -> (H, W, C) uint8 array (clamped, rounded to nearest).

    Args:
        image: (C, H, W) with C in {1, 3, 4}, finite.

    Returns:
        (H, W, C) ``uint8`` numpy array.
    """
    check_tensor(image, "image", (None, None, None), floating=True, finite=True)
    if image.shape[0] not in (1, 3, 4):
        raise ValueError(f"image: expected 1, 3 or 4 channels (C, H, W), got {describe(image)}")
    scaled = (image.detach().float().clamp(0.0, 1.0) * 255).round().to(torch.uint8)
    return rearrange(scaled, "c h w -> h w c").cpu().numpy()


def save_image(image: torch.Tensor, path: str | os.PathLike[str]) -> Path:
    """Saves a (3, H, W) (or (1, H, W)) float image in [0, 1] as an 8-bit PNG, atomically.

    Args:
        image: (C, H, W) in [0, 1], C in {1, 3}.
        path: target file (PNG whatever the extension); parent folders are created.

    Returns:
        The written path.
    """
    array = to_uint8_hwc(image)
    if array.shape[2] == 4:
        raise ValueError(f"image: expected 1 or 3 channels, got {describe(image)}")
    pil = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
    return atomic_write(path, lambda f: pil.save(f, format="PNG"))

