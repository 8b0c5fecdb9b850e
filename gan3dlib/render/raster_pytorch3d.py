"""Candidate search through PyTorch3D's compiled ``rasterize_meshes`` (run without gradients).

Screen vertices (pixels) are mapped to PyTorch3D NDC (+X left, +Y up, the shorter side spanning
[-1, 1]) and rasterized with ``blur_radius = (2 B / min(H, W))²`` and ``faces_per_pixel = K``. On
CUDA PyTorch3D bins faces and is fast; on CPU it tests every face against every pixel, which is
why [`TorchRasterizer`][gan3dlib.render.raster_torch.TorchRasterizer] is the CPU default. PyTorch3D is imported
lazily, so gan3dlib imports and renders without ``pytorch3d._C``.
"""

from __future__ import annotations

import functools

import torch

from gan3dlib.render.fragments import (
    COVERING_DISTS,
    DEFAULT_PYTORCH3D_K,
    Fragments,
    RasterSettings,
    Rasterizer,
    check_screen_inputs,
)

__all__ = ["pytorch3d_available", "rasterize_pytorch3d", "PyTorch3DRasterizer", "screen_to_ndc"]


@functools.cache
def pytorch3d_available() -> bool:
    """True if PyTorch3D and its compiled extension import in this environment."""
    try:
        from pytorch3d import _C  # noqa: F401
        from pytorch3d.renderer.mesh.rasterize_meshes import rasterize_meshes  # noqa: F401
    except Exception:  # ImportError, OSError (undefined symbols) and friends
        return False
    return True


def screen_to_ndc(screen_verts: torch.Tensor, image_size: tuple[int, int]) -> torch.Tensor:
    """Maps (u, v, depth) pixels to PyTorch3D NDC (x, y, depth).

    Args:
        screen_verts: (..., 3) screen-space points.
        image_size: (H, W).

    Returns:
        (..., 3) points with ``x = (W - 2u) / s``, ``y = (H - 2v) / s``, ``s = min(H, W)``; depth
        unchanged.
    """
    H, W = image_size
    s = float(min(H, W))
    u, v, depth = screen_verts.unbind(-1)
    return torch.stack([(W - 2.0 * u) / s, (H - 2.0 * v) / s, depth], dim=-1)


@torch.no_grad()
def rasterize_pytorch3d(
    screen_verts: torch.Tensor, faces: torch.Tensor, settings: RasterSettings
) -> Fragments:
    """Finds candidates with PyTorch3D's ``rasterize_meshes``.

    Args:
        screen_verts: (B, V, 3) screen-space vertices (u, v, depth) in pixels.
        faces: (F, 3) int64 faces shared by the batch.
        settings: raster settings.

    Returns:
        [`Fragments`][gan3dlib.render.fragments.Fragments] (B, H, W, K), in the dtype of
        ``screen_verts`` (PyTorch3D itself computes in float32).

    Raises:
        ImportError: if PyTorch3D's compiled extension is not available.
    """
    screen_verts, faces = check_screen_inputs(screen_verts, faces)
    if not pytorch3d_available():
        raise ImportError(
            "backend 'pytorch3d' needs PyTorch3D's compiled extension (pip install "
            "easypytorch3d==0.7.9.post1 with torch 2.12.x on CPython 3.11/x86-64 Linux); "
            "use backend='torch' instead"
        )
    from pytorch3d.renderer.mesh.rasterize_meshes import rasterize_meshes
    from pytorch3d.structures import Meshes

    batch = screen_verts.shape[0]
    ndc = screen_to_ndc(screen_verts, settings.image_size).float()
    meshes = Meshes(verts=ndc, faces=faces.unsqueeze(0).expand(batch, -1, -1))
    pix_to_face, zbuf, bary, dists = rasterize_meshes(
        meshes,
        image_size=settings.image_size,
        # PyTorch3D's inside test is strict: a pixel centre exactly on a shared edge is covered by
        # no face (a crack). A tiny band keeps such candidates, which count as covering
        # (dists <= COVERING_DISTS), like the torch backend's closed triangles.
        blur_radius=max(settings.blur_radius_ndc, 2 * COVERING_DISTS),
        faces_per_pixel=settings.faces_per_pixel or DEFAULT_PYTORCH3D_K,
        perspective_correct=settings.perspective_correct,
        clip_barycentric_coords=settings.clip_barycentric_coords,
        cull_backfaces=settings.cull_backfaces,
    )
    if settings.prune_occluded:
        # Band candidates nearer than the covering face can push it out of the K slots. Put the
        # nearest covering face back into the last slot of such pixels (its depth is the largest
        # there, so the slots stay sorted).
        crisp_face, crisp_z, crisp_bary, crisp_dists = rasterize_meshes(
            meshes,
            image_size=settings.image_size,
            blur_radius=2 * COVERING_DISTS,
            faces_per_pixel=1,
            perspective_correct=settings.perspective_correct,
            clip_barycentric_coords=False,
            cull_backfaces=settings.cull_backfaces,
        )
        found = (crisp_face[..., 0] >= 0) & (crisp_dists[..., 0] <= COVERING_DISTS)
        lost = found & ~((pix_to_face >= 0) & (dists <= COVERING_DISTS)).any(-1)
        pix_to_face[..., -1][lost] = crisp_face[..., 0][lost]
        zbuf[..., -1][lost] = crisp_z[..., 0][lost]
        dists[..., -1][lost] = crisp_dists[..., 0][lost]
        bary[:, :, :, -1][lost] = crisp_bary[:, :, :, 0][lost]
    dtype = screen_verts.dtype
    return Fragments(pix_to_face, zbuf.to(dtype), bary.to(dtype), dists.to(dtype))


class PyTorch3DRasterizer(Rasterizer):
    """Rasterizer backend: PyTorch3D's compiled ``rasterize_meshes`` (binned and fast on CUDA).

    Args:
        settings: [`RasterSettings`][gan3dlib.render.fragments.RasterSettings].
    """

    search = staticmethod(rasterize_pytorch3d)
