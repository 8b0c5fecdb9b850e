"""Face-major candidate search in plain torch (any device, no compiled code).

For every face, only the pixels of its screen bounding box grown by ``blur_px`` are enumerated.
The (face, pixel) pairs are tested in batched tensor ops (inside test, exact point–triangle
distance, depth) and reduced per pixel by sorting (pixel, depth): the K nearest survive, exactly
like PyTorch3D's ``rasterize_meshes`` keeps the K nearest faces that cover the pixel or lie within
its blur radius. Pairs are processed in chunks of at most ``max_pairs_per_chunk`` so large
triangles cannot exhaust memory.

Unlike PyTorch3D's CPU rasterizer, which tests every face against every pixel, the work here is
proportional to the number of (face, pixel) pairs in the grown bounding boxes.

Like PyTorch3D, faces with a vertex closer than 1e-8 to the camera plane (depth < 1e-8) and
faces of (near) zero screen area are skipped: clip geometry that crosses the camera plane first.
Unlike PyTorch3D's strict inside test, triangles are closed, so a pixel centre exactly on a shared
edge is covered (no cracks in symmetric meshes).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from gan3dlib.render.fragments import Fragments, RasterSettings, Rasterizer, check_screen_inputs
from gan3dlib.render.triangle_geometry import edge_function, extension_depth, segment_distance_sq

__all__ = ["rasterize_face_major", "iter_bbox_pixel_pairs", "TorchRasterizer"]

# PyTorch3D's kEpsilon: faces with |area| <= eps (in NDC², here converted to pixels²) and faces with
# a vertex closer than eps to the camera plane are skipped.
_EPS = 1e-8


def _pixel_ranges(lo: torch.Tensor, hi: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """First and last pixel index whose centre (i + 0.5) lies in [lo, hi], clamped to the image."""
    first = torch.ceil(lo - 0.5).clamp(min=0, max=size).long()
    last = torch.floor(hi - 0.5).clamp(min=-1, max=size - 1).long()
    return first, last


@torch.no_grad()
def rasterize_face_major(
    screen_verts: torch.Tensor, faces: torch.Tensor, settings: RasterSettings
) -> Fragments:
    """Finds each pixel's covering and nearby faces by enumerating face bounding boxes.

    Args:
        screen_verts: (B, V, 3) vertices in screen space (u, v, depth): pixels, u right, v down,
            pixel (r, c) centred at (c + 0.5, r + 0.5); depth > 0 in front of the camera.
        faces: (F, 3) int64 vertex indices shared by the batch.
        settings: image size, band width ``blur_px``, K and the options described there.

    Returns:
        [`Fragments`][gan3dlib.render.fragments.Fragments] with tensors of shape (B, H, W, K)
        (``bary_coords`` (B, H, W, K, 3)), in the dtype of ``screen_verts``. Computed without
        gradients.
    """
    screen_verts, faces = check_screen_inputs(screen_verts, faces)
    H, W = settings.image_size
    blur = float(settings.blur_px)
    scale = min(H, W) / 2.0  # pixels per NDC unit
    batch, num_faces = screen_verts.shape[0], faces.shape[0]
    device, dtype = screen_verts.device, screen_verts.dtype

    face_verts = screen_verts[:, faces].reshape(batch * num_faces, 3, 3)  # packed (B*F, 3, 3)
    xy, z = face_verts[..., :2], face_verts[..., 2]
    area = edge_function(xy[:, 0], xy[:, 1], xy[:, 2])
    usable = (area.abs() > _EPS * scale * scale) & (z.min(dim=1).values >= _EPS)
    if settings.cull_backfaces:
        usable &= area > 0

    face_table = torch.cat([xy.reshape(-1, 6).T, z.T, area.unsqueeze(0)]).contiguous()  # (10, B*F)
    lo = xy.min(dim=1).values - blur
    hi = xy.max(dim=1).values + blur
    kept = [
        chunk
        for face, row, col in iter_bbox_pixel_pairs(lo, hi, usable, (H, W), settings.max_pairs_per_chunk)
        if (chunk := _test_pairs(face_table, face, row, col, num_faces, settings)) is not None
    ]

    num_pixels = batch * H * W
    if not kept:
        return _fragments_from_slots(None, num_pixels, settings.faces_per_pixel or 1, (batch, H, W), dtype, device)
    parts = kept[0] if len(kept) == 1 else tuple(
        torch.cat(column) if column[0] is not None else None for column in zip(*kept)
    )
    pixel, face, depth, signed_dist, bary, prune_depth = parts
    if prune_depth is not None:
        # Drop candidates that can never show: covering faces behind the nearest covering face,
        # and band candidates whose extension depth is not in front of it.
        covering = signed_dist <= 0
        nearest = torch.full((num_pixels,), float("inf"), dtype=dtype, device=device)
        nearest = nearest.scatter_reduce(0, pixel[covering], prune_depth[covering], reduce="amin")
        front = nearest.index_select(0, pixel)
        keep = torch.nonzero(torch.where(covering, prune_depth <= front, prune_depth < front)).squeeze(-1)
        pixel, face, depth, signed_dist, bary = pixel[keep], face[keep], depth[keep], signed_dist[keep], bary[keep]

    # Sort by (pixel, depth, face) with one int64 key: the bit pattern of a non-negative float32 is
    # monotonic in its value, and pairs arrive face-ascending (stable sort).
    order = torch.sort((pixel << 32) | depth.float().view(torch.int32).long(), stable=True).indices
    pixel, face, depth, signed_dist, bary = pixel[order], face[order], depth[order], signed_dist[order], bary[order]
    position = torch.arange(pixel.numel(), device=device)
    group_start = torch.ones_like(pixel, dtype=torch.bool)
    group_start[1:] = pixel[1:] != pixel[:-1]
    rank = position - torch.cummax(torch.where(group_start, position, torch.zeros_like(position)), 0).values
    K = settings.faces_per_pixel or int(rank.max()) + 1

    top = torch.nonzero(rank < K).squeeze(-1)
    slot = pixel[top] * K + rank[top]
    if settings.prune_occluded:
        # A pixel's nearest covering face stays even if K nearer band candidates precede it: it
        # takes the last slot (it is the deepest kept candidate there, so the order holds).
        covering = torch.nonzero(signed_dist <= 0).squeeze(-1)
        first = torch.ones_like(covering, dtype=torch.bool)
        first[1:] = pixel[covering[1:]] != pixel[covering[:-1]]
        lost = covering[first][rank[covering[first]] >= K]
        if lost.numel():
            replaced = torch.zeros(num_pixels * K, dtype=torch.bool, device=device)
            replaced[pixel[lost] * K + (K - 1)] = True
            stays = torch.nonzero(~replaced[slot]).squeeze(-1)
            top = torch.cat([top[stays], lost])
            slot = torch.cat([slot[stays], pixel[lost] * K + (K - 1)])
    values = (face[top], depth[top], signed_dist[top] / (scale * scale), bary[top])
    return _fragments_from_slots((slot, *values), num_pixels, K, (batch, H, W), dtype, device)


def _fragments_from_slots(
    filled: tuple[torch.Tensor, ...] | None,
    num_pixels: int,
    k: int,
    image_shape: tuple[int, int, int],
    dtype: torch.dtype,
    device: torch.device,
) -> Fragments:
    """Scatters (slot, face, depth, dists, bary) into padded (B, H, W, K) Fragments."""
    pix_to_face = torch.full((num_pixels * k,), -1, dtype=torch.long, device=device)
    zbuf = torch.full((num_pixels * k,), -1.0, dtype=dtype, device=device)
    dists = torch.full((num_pixels * k,), -1.0, dtype=dtype, device=device)
    bary = torch.full((num_pixels * k, 3), -1.0, dtype=dtype, device=device)
    if filled is not None:
        slot, face_values, depth_values, dist_values, bary_values = filled
        pix_to_face[slot] = face_values
        zbuf[slot] = depth_values
        dists[slot] = dist_values
        bary[slot] = bary_values
    return Fragments(
        pix_to_face=pix_to_face.view(*image_shape, k),
        zbuf=zbuf.view(*image_shape, k),
        bary_coords=bary.view(*image_shape, k, 3),
        dists=dists.view(*image_shape, k),
    )


def iter_bbox_pixel_pairs(
    lo: torch.Tensor,
    hi: torch.Tensor,
    usable: torch.Tensor,
    image_size: tuple[int, int],
    max_pairs: int,
) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Enumerates (face, pixel) pairs whose pixel centre lies in the face's box, in chunks.

    Args:
        lo: (F, 2) lower corner (u, v) of each face's box in pixels (already grown by any band).
        hi: (F, 2) upper corner.
        usable: (F,) bool; faces that are False get no pairs.
        image_size: (H, W).
        max_pairs: at most this many pairs per chunk (a single face may exceed it).

    Yields:
        (face, row, col): (P,) int64 tensors, faces ascending, pixels of one face row-major.
    """
    H, W = image_size
    device = lo.device
    cols_first, cols_last = _pixel_ranges(lo[:, 0], hi[:, 0], W)
    rows_first, rows_last = _pixel_ranges(lo[:, 1], hi[:, 1], H)
    n_cols = (cols_last - cols_first + 1).clamp(min=0)
    n_rows = (rows_last - rows_first + 1).clamp(min=0)
    pair_counts = torch.where(usable, n_cols * n_rows, torch.zeros_like(n_cols))
    pair_offsets = torch.cumsum(pair_counts, 0)
    total_faces = pair_counts.numel()
    start_face = 0
    while start_face < total_faces:
        # Grow the chunk of faces while its pairs fit in the budget (at least one face).
        base = int(pair_offsets[start_face - 1]) if start_face > 0 else 0
        end_face = int(torch.searchsorted(pair_offsets, base + max_pairs, right=True))
        end_face = min(max(end_face, start_face + 1), total_faces)
        counts = pair_counts[start_face:end_face]
        total = int(pair_offsets[end_face - 1]) - base
        if total > 0:
            local = torch.repeat_interleave(torch.arange(counts.numel(), device=device), counts, output_size=total)
            face = local + start_face
            within = torch.arange(total, device=device) - (torch.cumsum(counts, 0) - counts).index_select(0, local)
            width = n_cols.index_select(0, face)
            row_offset = torch.div(within, width, rounding_mode="floor")
            col = cols_first.index_select(0, face) + (within - row_offset * width)
            row = rows_first.index_select(0, face) + row_offset
            yield face, row, col
        start_face = end_face


def _test_pairs(
    face_table: torch.Tensor,
    face: torch.Tensor,
    row: torch.Tensor,
    col: torch.Tensor,
    num_faces: int,
    settings: RasterSettings,
) -> tuple[torch.Tensor, ...] | None:
    """Tests (face, pixel) pairs.

    ``face_table`` is (10, B*F): x0, y0, x1, y1, x2, y2, z0, z1, z2, area. Everything is computed
    on 1D per-component tensors (reductions over tiny trailing dims are slow on CPU).

    Returns (pixel, face, depth, signed squared distance in pixels², barycentrics (Q, 3)) of the
    pairs that pass (covering, or within the band, and in front of the camera), or None.
    """
    H, W = settings.image_size
    x0, y0, x1, y1, x2, y2, z0, z1, z2, area = face_table.index_select(1, face).unbind(0)
    px = col.to(face_table.dtype) + 0.5
    py = row.to(face_table.dtype) + 0.5
    # Edge functions E(p, a, b) = (p - a) x (b - a) of PyTorch3D; barycentric w_i = E_i / area.
    w0 = ((px - x1) * (y2 - y1) - (py - y1) * (x2 - x1)) / area
    w1 = ((px - x2) * (y0 - y2) - (py - y2) * (x0 - x2)) / area
    w2 = ((px - x0) * (y1 - y0) - (py - y0) * (x1 - x0)) / area
    inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)  # closed triangles: no cracks on shared edges
    d01, t01 = segment_distance_sq(px, py, x0, y0, x1, y1)
    d12, t12 = segment_distance_sq(px, py, x1, y1, x2, y2)
    d20, t20 = segment_distance_sq(px, py, x2, y2, x0, y0)
    dist_sq = torch.minimum(torch.minimum(d01, d12), d20)
    prune_depth = None
    if settings.prune_occluded and settings.blur_px > 0:
        # Depth that decides whether a candidate can matter: z at p for covering pairs, the
        # extension depth z(p*) (1 + slope d / B) at the closest point p* for the others.
        on01 = (d01 <= d12) & (d01 <= d20)
        on12 = ~on01 & (d12 <= d20)
        zero = torch.zeros_like(t01)
        c0 = torch.where(on01, 1 - t01, torch.where(on12, zero, t20))
        c1 = torch.where(on01, t01, torch.where(on12, 1 - t12, zero))
        c2 = torch.where(on01, zero, torch.where(on12, t12, 1 - t20))
        if settings.perspective_correct:
            z_closest = 1.0 / (c0 / z0 + c1 / z1 + c2 / z2)
            z_at_p = 1.0 / (w0 / z0 + w1 / z1 + w2 / z2)
        else:
            z_closest = c0 * z0 + c1 * z1 + c2 * z2
            z_at_p = w0 * z0 + w1 * z1 + w2 * z2
        z_ext = extension_depth(z_closest, dist_sq.sqrt(), settings.depth_slope, settings.blur_px)
        prune_depth = torch.where(inside, z_at_p, z_ext)
    if settings.perspective_correct:
        # PyTorch3D's correction with its denominator clamped at eps (matters only far outside).
        w0, w1, w2 = w0 * (z1 * z2), w1 * (z0 * z2), w2 * (z0 * z1)
        total_w = (w0 + w1 + w2).clamp(min=_EPS)
        w0, w1, w2 = w0 / total_w, w1 / total_w, w2 / total_w
    if settings.clip_barycentric_coords:
        w0, w1, w2 = w0.clamp(min=0), w1.clamp(min=0), w2.clamp(min=0)
        total_w = (w0 + w1 + w2).clamp(min=1e-5)
        w0, w1, w2 = w0 / total_w, w1 / total_w, w2 / total_w
    depth = w0 * z0 + w1 * z1 + w2 * z2
    keep = (inside | (dist_sq < settings.blur_px**2)) & (depth >= 0)
    idx = torch.nonzero(keep).squeeze(-1)
    if idx.numel() == 0:
        return None
    face = face.index_select(0, idx)
    image = torch.div(face, num_faces, rounding_mode="floor")  # packed face b * F + f is in image b
    pixel = (image * H + row.index_select(0, idx)) * W + col.index_select(0, idx)
    dist_sq = dist_sq.index_select(0, idx)
    signed = torch.where(inside.index_select(0, idx), -dist_sq, dist_sq)
    bary = torch.stack([w0.index_select(0, idx), w1.index_select(0, idx), w2.index_select(0, idx)], dim=-1)
    prune_depth = prune_depth.index_select(0, idx) if prune_depth is not None else None
    return pixel, face, depth.index_select(0, idx), signed, bary, prune_depth


class TorchRasterizer(Rasterizer):
    """Rasterizer backend: face-major candidate search in plain torch.

    Args:
        settings: [`RasterSettings`][gan3dlib.render.fragments.RasterSettings].
    """

    search = staticmethod(rasterize_face_major)
