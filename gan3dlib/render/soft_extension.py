"""The soft-extension shader (paper §5): crisp layer, soft layer and their composite.

A rasterizer (no gradients) decides, per pixel, *which* faces matter: the candidate lists of a
[`Fragments`][gan3dlib.render.fragments.Fragments]. Everything continuous is recomputed here in plain,
vectorized torch from the projected vertices, so autograd gives the exact derivative of the image
with respect to the vertices wherever the discrete decisions do not change.

For a pixel centre p and a candidate triangle T (screen space, pixels):

- **Crisp layer** (eq. 6–8). T*_c(p) is the nearest candidate covering p (first covering slot
  in depth order). ``z_c`` is its perspective-correct depth at p, ``a_c`` its attributes
  interpolated with perspective-correct barycentrics, ``α_c = 1`` (0 where nothing covers p).
- **Soft layer** (eq. 9–11). For a candidate with ``0 < d(p, T) < B`` (d the exact Euclidean
  distance to the projected triangle, B = ``blur_px``), p*(T) is the closest point of T, its
  barycentrics are perspective-corrected and give the depth ``z(p*)`` and attributes ``a(p*)``.
  Its extension depth is ``z_s = z(p*) · (1 + λ · d / B)`` with λ = ``depth_slope`` (0.5, the
  form of the authors' public TensorFlow renderer: extensions are pushed back in proportion to
  their distance, so a surface's own neighbouring triangles never cover it). The candidate
  *counts* if ``z_s < z_c(p)`` or p is background. ``α_s = max (1 - d/B)`` over counted
  candidates and ``a_s`` is the *mean* of their attributes (eq. 10).
- **Composite** (eq. 12, read as an "over" operation):
  ``image = α_s a_s + (1 - α_s) (α_c a_c + (1 - α_c) background)``. Eq. 12 as printed,
  ``α_s a_s + (1 - α_s) α_c a_c + (1 - α_c) bcg``, does not sum to one when both layers are
  present; the over form does and reduces to it when either alpha is 0.

With a texture, UVs are the interpolated attribute of each layer; the texture is sampled for the
crisp face and for *each* counted soft candidate separately, and the soft colour is the mean of
the sampled colours (eq. 10 with the colour of the surface point p*(T) as its attribute).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gan3dlib.render.fragments import COVERING_DISTS, Fragments
from gan3dlib.render.texture import sample_texture
from gan3dlib.render.triangle_geometry import (
    closest_point_on_boundary,
    extension_depth,
    edge_function,
    perspective_correct,
    screen_barycentrics,
)

__all__ = [
    "SurfaceCandidates",
    "find_surface_candidates",
    "interpolate_face_attributes",
    "crisp_layer",
    "soft_layer",
    "composite_over",
    "texture_colors",
]


@dataclass
class SurfaceCandidates:
    """Continuous per-candidate geometry of one render, in compact form.

    P is the number of filled candidate slots of the fragments, ``S = B * H * W`` the number of
    pixels. Tensors marked (grad) carry gradients to the screen vertices.

    Attributes:
        image_shape: (B, H, W).
        pixel: (P,) int64 flat pixel index ``(b * H + row) * W + col``.
        batch: (P,) int64 image index.
        face: (P,) int64 per-mesh face index.
        slot: (P,) int64 flat index of the slot in ``fragments.pix_to_face.view(-1)``.
        bary: (P, 3) (grad) barycentrics of p (covering candidates) or of p*(T) (others),
            perspective-corrected when requested.
        depth: (P,) (grad) depth of that point.
        dist: (P,) (grad) distance d(p, T) in pixels, 0 for covering candidates.
        inside: (P,) bool, the candidate covers the pixel.
        crisp: (P,) bool, the candidate is the pixel's crisp face T*_c(p).
        counted: (P,) bool, the candidate counts in the soft layer.
        crisp_alpha: (S,) α_c in {0, 1}.
        soft_alpha: (S,) (grad) α_s.
        crisp_depth: (S,) (grad) z_c, 0 where nothing covers the pixel.
    """

    image_shape: tuple[int, int, int]
    pixel: torch.Tensor
    batch: torch.Tensor
    face: torch.Tensor
    slot: torch.Tensor
    bary: torch.Tensor
    depth: torch.Tensor
    dist: torch.Tensor
    inside: torch.Tensor
    crisp: torch.Tensor
    counted: torch.Tensor
    crisp_alpha: torch.Tensor
    soft_alpha: torch.Tensor
    crisp_depth: torch.Tensor

    @property
    def num_pixels(self) -> int:
        """S = B * H * W."""
        b, h, w = self.image_shape
        return b * h * w


def find_surface_candidates(
    fragments: Fragments,
    screen_verts: torch.Tensor,
    faces: torch.Tensor,
    blur_px: float = 1.0,
    depth_slope: float = 0.5,
    soft: bool = True,
    perspective_correct_bary: bool = True,
) -> SurfaceCandidates:
    """Recomputes the crisp and soft layers' geometry from the projected vertices.

    Args:
        fragments: candidates from a rasterizer run on ``screen_verts`` with band ``blur_px``
            (only ``pix_to_face`` and the sign of ``dists`` are used).
        screen_verts: (B, V, 3) screen-space vertices (u, v, depth), pixels; gradients flow
            from every output back to them.
        faces: (F, 3) int64 faces shared by the batch.
        blur_px: band width B in pixels (> 0 when ``soft``).
        depth_slope: λ of ``z_s = z(p*) (1 + λ d / B)``.
        soft: compute the soft layer; if False only the crisp layer is formed (α_s = 0).
        perspective_correct_bary: perspective-correct barycentrics and depth (False interpolates
            linearly in screen space, as Kaolin's rasterizer does).

    Returns:
        [`SurfaceCandidates`][gan3dlib.render.soft_extension.SurfaceCandidates].
    """
    pix_to_face = fragments.pix_to_face
    batch, height, width, k = pix_to_face.shape
    num_faces = faces.shape[0]
    num_pixels = batch * height * width
    dtype, device = screen_verts.dtype, screen_verts.device

    flat_faces = pix_to_face.reshape(-1)
    slot = torch.nonzero(flat_faces >= 0).squeeze(-1)
    packed = flat_faces[slot]
    pixel = torch.div(slot, k, rounding_mode="floor")
    image = torch.div(packed, num_faces, rounding_mode="floor")
    face = packed - image * num_faces
    inside = fragments.dists.reshape(-1)[slot] <= COVERING_DISTS

    row = torch.div(pixel, width, rounding_mode="floor") % height
    col = pixel % width
    p = torch.stack([col, row], dim=-1).to(dtype) + 0.5

    face_verts = screen_verts[:, faces].reshape(batch * num_faces, 3, 3)[packed]  # (P, 3, 3)
    a, b, c = face_verts[:, 0, :2], face_verts[:, 1, :2], face_verts[:, 2, :2]
    area = edge_function(a, b, c)
    safe_area = torch.where(inside, area, torch.ones_like(area))
    bary_inside = screen_barycentrics(p, a, b, c, safe_area)
    dist_sq, bary_boundary = closest_point_on_boundary(p, a, b, c)
    outside = ~inside & (dist_sq > 0)
    dist = torch.where(outside, torch.where(outside, dist_sq, torch.ones_like(dist_sq)).sqrt(), torch.zeros_like(dist_sq))
    bary = torch.where(inside.unsqueeze(-1), bary_inside, bary_boundary)
    vertex_depth = face_verts[:, :, 2]
    if perspective_correct_bary:
        bary, depth = perspective_correct(bary, vertex_depth)
    else:
        depth = (bary * vertex_depth).sum(-1)

    # Crisp face: the first covering slot of each pixel (slots are sorted by depth).
    covering = (pix_to_face >= 0) & (fragments.dists <= COVERING_DISTS)  # (B, H, W, K)
    covering = covering.reshape(num_pixels, k)
    has_crisp = covering.any(dim=-1)
    first = covering.to(torch.int8).argmax(dim=-1)
    crisp_slot_mask = torch.zeros(num_pixels * k, dtype=torch.bool, device=device)
    crisp_pixels = torch.nonzero(has_crisp).squeeze(-1)
    crisp_slot_mask[crisp_pixels * k + first[crisp_pixels]] = True
    crisp = crisp_slot_mask[slot]

    crisp_alpha = has_crisp.to(dtype)
    crisp_depth = depth.new_zeros(num_pixels).index_put((pixel[crisp],), depth[crisp])

    if soft:
        z_c = torch.where(has_crisp, crisp_depth.detach(), torch.full_like(crisp_depth, float("inf")))
        z_s = extension_depth(depth.detach(), dist.detach(), depth_slope, blur_px)
        counted = outside & (dist.detach() < blur_px) & (z_s < z_c[pixel])
        alpha = 1.0 - dist[counted] / blur_px
        soft_alpha = depth.new_zeros(num_pixels).scatter_reduce(
            0, pixel[counted], alpha, reduce="amax", include_self=True
        )
    else:
        counted = torch.zeros_like(inside)
        soft_alpha = depth.new_zeros(num_pixels)

    return SurfaceCandidates(
        image_shape=(batch, height, width),
        pixel=pixel,
        batch=image,
        face=face,
        slot=slot,
        bary=bary,
        depth=depth,
        dist=dist,
        inside=inside,
        crisp=crisp,
        counted=counted,
        crisp_alpha=crisp_alpha,
        soft_alpha=soft_alpha,
        crisp_depth=crisp_depth,
    )


def interpolate_face_attributes(
    candidates: SurfaceCandidates, face_attrs: torch.Tensor, which: torch.Tensor | None = None
) -> torch.Tensor:
    """Interpolates face-vertex attributes at the candidates' points.

    Args:
        candidates: from [`find_surface_candidates`][gan3dlib.render.soft_extension.find_surface_candidates].
        face_attrs: (B, F, 3, D) or (F, 3, D) per-face-corner attributes (Kaolin layout).
        which: optional (Q,) int64 subset of candidate indices; all P if None.

    Returns:
        (Q, D) or (P, D) interpolated attributes.
    """
    idx = slice(None) if which is None else which
    face = candidates.face[idx]
    if face_attrs.dim() == 3:
        corners = face_attrs[face]
    else:
        corners = face_attrs[candidates.batch[idx], face]  # (Q, 3, D)
    return torch.einsum("qc,qcd->qd", candidates.bary[idx].to(corners.dtype), corners)


def crisp_layer(candidates: SurfaceCandidates, values: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
    """Scatters the crisp candidates' values to their pixels: a_c.

    Args:
        candidates: from [`find_surface_candidates`][gan3dlib.render.soft_extension.find_surface_candidates].
        values: (Q, C) values of the candidates ``which``.
        which: (Q,) indices of candidates; the crisp ones among them are used.

    Returns:
        (S, C) crisp layer, 0 where nothing covers the pixel.
    """
    keep = candidates.crisp[which]
    out = values.new_zeros(candidates.num_pixels, values.shape[-1])
    return out.index_put((candidates.pixel[which][keep],), values[keep])


def soft_layer(candidates: SurfaceCandidates, values: torch.Tensor, which: torch.Tensor) -> torch.Tensor:
    """Averages the counted soft candidates' values per pixel: a_s (eq. 10).

    Args:
        candidates: from [`find_surface_candidates`][gan3dlib.render.soft_extension.find_surface_candidates].
        values: (Q, C) values of the candidates ``which``.
        which: (Q,) indices of candidates; the counted ones among them are used.

    Returns:
        (S, C) soft layer, 0 where no candidate counts.
    """
    keep = candidates.counted[which]
    pixels = candidates.pixel[which][keep]
    total = values.new_zeros(candidates.num_pixels, values.shape[-1]).index_add(0, pixels, values[keep])
    count = torch.bincount(pixels, minlength=candidates.num_pixels).clamp(min=1)
    return total / count.unsqueeze(-1).to(values.dtype)


def composite_over(
    candidates: SurfaceCandidates,
    crisp_values: torch.Tensor,
    soft_values: torch.Tensor,
    background: torch.Tensor | None,
) -> torch.Tensor:
    """``α_s a_s + (1 - α_s) (α_c a_c + (1 - α_c) background)``.

    Args:
        candidates: from [`find_surface_candidates`][gan3dlib.render.soft_extension.find_surface_candidates].
        crisp_values: (S, C) a_c.
        soft_values: (S, C) a_s.
        background: (S, C) or None (zeros).

    Returns:
        (S, C) composited values.
    """
    alpha_c = candidates.crisp_alpha.to(crisp_values.dtype).unsqueeze(-1)
    alpha_s = candidates.soft_alpha.to(crisp_values.dtype).unsqueeze(-1)
    under = alpha_c * crisp_values
    if background is not None:
        under = under + (1.0 - alpha_c) * background
    return alpha_s * soft_values + (1.0 - alpha_s) * under


def texture_colors(
    candidates: SurfaceCandidates,
    face_uvs: torch.Tensor,
    texture: torch.Tensor,
    which: torch.Tensor,
    align_corners: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """UVs and texture colours of the candidates ``which``.

    Args:
        candidates: from [`find_surface_candidates`][gan3dlib.render.soft_extension.find_surface_candidates].
        face_uvs: (F, 3, 2) or (B, F, 3, 2) per-face-corner UVs.
        texture: (B, C, Ht, Wt).
        which: (Q,) candidate indices.
        align_corners: see [`gan3dlib.render.texture.uv_to_texel`][gan3dlib.render.texture.uv_to_texel].

    Returns:
        uv: (Q, 2) and colors: (Q, C).
    """
    uv = interpolate_face_attributes(candidates, face_uvs, which)
    return uv, sample_texture(texture, uv, candidates.batch[which], align_corners)
