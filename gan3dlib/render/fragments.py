"""Rasterizer output and settings shared by every rasterizer backend.

A rasterizer only *finds* candidates: for every pixel, the faces that cover it and the faces whose
projected triangle lies within ``blur_px`` pixels of its centre. It runs without gradients. The
shader ([`gan3dlib.render.soft_extension`][gan3dlib.render.soft_extension]) recomputes every continuous quantity from the
projected vertices with autograd, so gradients never go through a rasterizer's backward pass.

[`Fragments`][gan3dlib.render.fragments.Fragments] has the field names, shapes, ordering and units of PyTorch3D's ``Fragments``,
so PyTorch3D shaders can consume it (see [`Fragments.to_pytorch3d`][gan3dlib.render.fragments.Fragments.to_pytorch3d]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from gan3dlib.utils.checks import check_faces, check_positive, check_tensor

__all__ = [
    "Fragments",
    "RasterSettings",
    "check_screen_inputs",
    "COVERING_DISTS",
    "DEFAULT_PYTORCH3D_K",
    "Rasterizer",
]

# A candidate covers its pixel when its signed squared NDC distance is <= this: triangles are
# closed (a pixel centre exactly on a shared edge is covered, no cracks), with room for float32
# rounding of PyTorch3D's distances at such points (1e-6 NDC, far below a pixel).
COVERING_DISTS = 1e-12

# K of the pytorch3d backend when ``faces_per_pixel`` is None. A 128x128 shape-image mesh seen at
# 128x128 pixels has up to ~22 relevant candidates per pixel at grazing silhouettes (B = 1 px).
DEFAULT_PYTORCH3D_K = 32


class Fragments(NamedTuple):
    """Per-pixel candidate faces, in PyTorch3D's ``Fragments`` layout and units.

    Attributes:
        pix_to_face: (B, H, W, K) int64. *Packed* face index ``b * F + f`` of the K candidates of
            each pixel sorted by ascending depth (nearest first), -1 where unused.
        zbuf: (B, H, W, K) depth (distance along the viewing axis) of each candidate at the pixel,
            computed with perspective-corrected and clipped barycentrics, -1 where unused.
        bary_coords: (B, H, W, K, 3) barycentrics of the pixel centre in each candidate
            (perspective-corrected, clipped to the triangle when ``clip_barycentric_coords``),
            -1 where unused.
        dists: (B, H, W, K) *signed squared* distance from the pixel centre to the candidate
            triangle in PyTorch3D NDC units (the shorter image side spans 2): negative inside,
            positive outside, -1 where unused (mask with ``pix_to_face >= 0``).
    """

    pix_to_face: torch.Tensor
    zbuf: torch.Tensor
    bary_coords: torch.Tensor
    dists: torch.Tensor

    def to_pytorch3d(self):
        """Returns the same data as a ``pytorch3d.renderer.mesh.rasterizer.Fragments``."""
        from pytorch3d.renderer.mesh.rasterizer import Fragments as P3DFragments

        return P3DFragments(
            pix_to_face=self.pix_to_face,
            zbuf=self.zbuf,
            bary_coords=self.bary_coords,
            dists=self.dists,
        )


@dataclass(frozen=True)
class RasterSettings:
    """What a rasterizer backend needs to know.

    Attributes:
        image_size: (H, W) of the rendered image in pixels.
        blur_px: width B of the soft extension band in pixels. Faces within ``blur_px`` of a pixel
            centre are candidates of that pixel. 0 finds covering faces only (crisp rendering).
        faces_per_pixel: K, the number of candidates kept per pixel (the nearest in depth). None:
            the torch backend keeps every candidate (K = the largest count of any pixel, after
            ``prune_occluded``), so nothing is truncated; the pytorch3d backend, which must fix K
            before it rasterizes, uses ``DEFAULT_PYTORCH3D_K``.
        perspective_correct: perspective-correct barycentrics (True for a perspective camera with
            real depths; Kaolin's rasterizer uses screen-space barycentrics, i.e. False).
        clip_barycentric_coords: clip the barycentrics used for the depth sort key (and returned in
            ``bary_coords``) to the triangle, as PyTorch3D does with a blur radius.
        cull_backfaces: drop faces that are clockwise in the image (back faces of a mesh whose front
            faces are counter-clockwise seen from outside).
        depth_slope: λ of the soft extension depth ``z(p*) (1 + λ d / B)``, used by
            ``prune_occluded``.
        prune_occluded: torch backend only: before keeping the K nearest, drop candidates that the
            soft-extension shader can never use (covering faces behind the nearest covering face,
            band candidates whose extension depth is behind it). The image is unchanged, and K
            then bounds only the candidates that matter, so the crisp face is never truncated
            away. False reproduces PyTorch3D's candidate lists exactly.
        max_pairs_per_chunk: memory bound of the face-major torch backend: at most this many
            (face, pixel) pairs are tested at once.
    """

    image_size: tuple[int, int] = (128, 128)
    blur_px: float = 1.0
    faces_per_pixel: int | None = None
    perspective_correct: bool = True
    clip_barycentric_coords: bool = True
    cull_backfaces: bool = False
    depth_slope: float = 0.5
    prune_occluded: bool = True
    max_pairs_per_chunk: int = 1 << 21

    def __post_init__(self) -> None:
        size = self.image_size
        if (
            not isinstance(size, (tuple, list))
            or len(size) != 2
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size)
        ):
            raise ValueError(f"image_size: expected a pair of positive ints (H, W), got {size!r}")
        object.__setattr__(self, "image_size", (int(size[0]), int(size[1])))
        check_positive(self.blur_px, "blur_px", allow_zero=True)
        if not math.isfinite(self.blur_px):
            raise ValueError(f"blur_px: expected a finite number >= 0, got {self.blur_px!r}")
        if self.faces_per_pixel is not None:
            check_positive(self.faces_per_pixel, "faces_per_pixel", integer=True)
        check_positive(self.depth_slope, "depth_slope", allow_zero=True)
        check_positive(self.max_pairs_per_chunk, "max_pairs_per_chunk", integer=True)

    @property
    def blur_radius_ndc(self) -> float:
        """PyTorch3D's ``blur_radius`` for this band: ``(2 B / min(H, W))²`` (squared NDC)."""
        return (2.0 * self.blur_px / min(self.image_size)) ** 2


def check_screen_inputs(screen_verts: object, faces: object) -> tuple[torch.Tensor, torch.Tensor]:
    """Validates the (screen vertices, faces) pair every rasterizer takes.

    Args:
        screen_verts: (B, V, 3) floating tensor of (u, v, depth), pixels and depth units.
        faces: (F, 3) int64 tensor shared by the batch, indices in [0, V).

    Returns:
        The two tensors, ``faces`` as int64 on the vertices' device.

    Raises:
        ValueError: naming the argument on a wrong shape, dtype, device, non-finite vertex or an
            out-of-range face index.
    """
    check_tensor(screen_verts, "screen_verts", ("B", "V", 3), floating=True, finite=True)
    assert isinstance(screen_verts, torch.Tensor)
    if screen_verts.shape[0] == 0 or screen_verts.shape[1] == 0:
        raise ValueError(f"screen_verts: expected a non-empty (B, V, 3) tensor, got shape {tuple(screen_verts.shape)}")
    if isinstance(faces, torch.Tensor) and faces.device != screen_verts.device:
        raise ValueError(
            f"faces: expected a tensor on {screen_verts.device} (the device of screen_verts), "
            f"got one on {faces.device}"
        )
    check_faces(faces, screen_verts.shape[1], "faces")
    assert isinstance(faces, torch.Tensor)
    return screen_verts, faces.long()


class Rasterizer(nn.Module):
    """Base of the rasterizer backends: settings plus a candidate-search function.

    Subclasses set ``search``, a function ``(screen_verts (B, V, 3), faces (F, 3), settings) ->
    Fragments``; any module with the same ``forward`` can stand in.

    Args:
        settings: [`RasterSettings`][gan3dlib.render.fragments.RasterSettings] (defaults if None).
    """

    search = None

    def __init__(self, settings: RasterSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or RasterSettings()

    def forward(self, screen_verts: torch.Tensor, faces: torch.Tensor) -> Fragments:
        """Finds the candidates of every pixel.

        Args:
            screen_verts: (B, V, 3) screen-space vertices (u, v, depth) in pixels.
            faces: (F, 3) int64 faces shared by the batch.

        Returns:
            [`Fragments`][gan3dlib.render.fragments.Fragments] (B, H, W, K).
        """
        return type(self).search(screen_verts, faces, self.settings)
