"""Kaolin's DIB-R soft silhouette, ``kaolin.render.mesh.dibr_soft_mask``, in vectorized torch.

Everything is in Kaolin's NDC (see [`gan3dlib.compat.kaolin.rasterization`][gan3dlib.compat.kaolin.rasterization]): x right, y up, *each* image
side spanning [-1, 1], the centre of pixel (row r, col c) at ``x = (2c + 1 - W) / W``,
``y = (H - 2r - 1) / H``. For a non-square image one NDC unit is a different number of pixels
along x and y; distances here are measured in NDC units, as Kaolin measures them.
"""

from __future__ import annotations

import torch

from gan3dlib.render.raster_torch import iter_bbox_pixel_pairs
from gan3dlib.render.triangle_geometry import segment_distance_sq
from gan3dlib.utils.checks import check_positive, check_tensor

__all__ = ["dibr_soft_mask"]

_MAX_PAIRS = 1 << 22
# Pixel boxes are grown by this much before Kaolin's exact half-open box test in NDC, so rounding
# in the NDC -> pixel conversion can never lose a (face, pixel) pair.
_BOX_MARGIN_PX = 0.01


def _edge_dist_sq(px: torch.Tensor, py: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(P,) squared distance from points (px, py) to segments [a, b] given as (P, 2) corners."""
    return segment_distance_sq(px, py, a[:, 0], a[:, 1], b[:, 0], b[:, 1])[0]


def _box_pairs(
    scaled: torch.Tensor,
    selected: torch.Tensor,
    boxlen: float,
    multiplier: float,
    size: tuple[int, int],
    num_faces: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(pixel, packed face) pairs passing Kaolin's grown-box test at uncovered pixels, face-ascending.

    Args:
        scaled: (B*F, 3, 2) face vertices in NDC times ``multiplier`` (no gradient).
        selected: (B*H*W,) int64 flattened ``selected_face_idx``.
        boxlen: box margin in NDC.
        multiplier: Kaolin's coordinate multiplier.
        size: (H, W).
        num_faces: F, faces per mesh.

    Returns:
        pixel (Q,) flat ``(b * H + row) * W + col`` and face (Q,) packed ``b * F + f``.
    """
    height, width = size
    num_faces_total = scaled.shape[0]
    lo = scaled.min(dim=1).values - boxlen * multiplier  # (B*F, 2) Kaolin's large boxes
    hi = scaled.max(dim=1).values + boxlen * multiplier
    # The same boxes in pixels (u right, v down), grown by a margin; the exact test comes below.
    u_lo = (lo[:, 0] / multiplier + 1.0) * (width / 2) - _BOX_MARGIN_PX
    u_hi = (hi[:, 0] / multiplier + 1.0) * (width / 2) + _BOX_MARGIN_PX
    v_lo = (1.0 - hi[:, 1] / multiplier) * (height / 2) - _BOX_MARGIN_PX
    v_hi = (1.0 - lo[:, 1] / multiplier) * (height / 2) + _BOX_MARGIN_PX
    usable = torch.ones(num_faces_total, dtype=torch.bool, device=scaled.device)
    pixels, faces = [], []
    for face, row, col in iter_bbox_pixel_pairs(
        torch.stack([u_lo, v_lo], -1), torch.stack([u_hi, v_hi], -1), usable, size, _MAX_PAIRS
    ):
        x0 = (multiplier / width) * (2 * col + 1 - width).to(scaled.dtype)
        y0 = (multiplier / height) * (height - 2 * row - 1).to(scaled.dtype)
        inside = (x0 >= lo[face, 0]) & (x0 < hi[face, 0]) & (y0 >= lo[face, 1]) & (y0 < hi[face, 1])
        pixel = (torch.div(face, num_faces, rounding_mode="floor") * height + row) * width + col
        keep = inside & (selected[pixel] < 0)
        pixels.append(pixel[keep])
        faces.append(face[keep])
    if not pixels:
        empty = torch.zeros(0, dtype=torch.long, device=scaled.device)
        return empty, empty
    return torch.cat(pixels), torch.cat(faces)


def dibr_soft_mask(
    face_vertices_image: torch.Tensor,
    selected_face_idx: torch.Tensor,
    sigmainv: float = 7000,
    boxlen: float = 0.02,
    knum: int = 30,
    multiplier: float = 1000.0,
) -> torch.Tensor:
    """DIB-R's soft silhouette with Kaolin's signature, defaults and semantics.

    A pixel with ``selected_face_idx >= 0`` gets 1 (no gradient). Any other pixel gets
    ``1 - prod_k (1 - exp(-sigmainv * d_k²))`` over the first ``knum`` faces, *in face index
    order*, whose bounding box grown by ``boxlen`` contains the pixel centre (Kaolin's half-open
    test ``min - boxlen <= x < max + boxlen``, the same in y), where ``d_k²`` is the squared NDC
    distance from the pixel centre to the nearest edge or vertex of face k. Pixels no face box
    reaches get 0. All faces count, whatever their orientation or depth (as in Kaolin).

    The product is formed on a dense (pixels, knum) table padded with ones, so the gradient stays
    finite when a factor is 0 (a pixel centre exactly on an uncovered triangle's boundary).

    Args:
        face_vertices_image: (B, F, 3, 2) face vertices in Kaolin NDC (x right, y up, each side
            in [-1, 1]). Gradients flow back to it.
        selected_face_idx: (B, H, W) int64 per-mesh face index of each pixel, -1 where uncovered
            (the second output of [`gan3dlib.compat.kaolin.rasterization.rasterize`][gan3dlib.compat.kaolin.rasterization.rasterize]); H and W come from it.
        sigmainv: sharpness, in 1 / NDC².
        boxlen: margin of the face boxes in NDC.
        knum: maximum number of faces per pixel.
        multiplier: Kaolin scales NDC coordinates by it internally. Here it is used the same
            way for the box test (so rounding at box boundaries matches); the distance itself is
            computed in NDC, which is mathematically identical.

    Returns:
        (B, H, W) soft mask in [0, 1], in the dtype of ``face_vertices_image``.

    Raises:
        ValueError: naming the argument on a wrong shape, dtype, device or value.
    """
    dims: dict[str, int] = {}
    check_tensor(face_vertices_image, "face_vertices_image", ("B", "F", 3, 2), floating=True, finite=True, dims=dims)
    check_tensor(selected_face_idx, "selected_face_idx", ("B", None, None), dtypes=(torch.int64,),
                 device=face_vertices_image.device, dims=dims)
    check_positive(sigmainv, "sigmainv", allow_zero=True)
    check_positive(boxlen, "boxlen", allow_zero=True)
    check_positive(knum, "knum", integer=True)
    check_positive(multiplier, "multiplier")
    batch, num_faces = face_vertices_image.shape[:2]
    _, height, width = selected_face_idx.shape
    if selected_face_idx.numel() and int(selected_face_idx.max()) >= num_faces:
        raise ValueError(f"selected_face_idx: expected indices in [-1, {num_faces}) (F of face_vertices_image), "
                         f"got a maximum of {int(selected_face_idx.max())}")
    dtype, device = face_vertices_image.dtype, face_vertices_image.device
    selected = selected_face_idx.reshape(-1)
    flat = face_vertices_image.reshape(batch * num_faces, 3, 2)
    with torch.no_grad():
        pixel, face = _box_pairs(flat.detach() * multiplier, selected, float(boxlen), float(multiplier),
                                 (height, width), num_faces)
        # Rank each pixel's faces in index order (pairs arrive face-ascending; the sort is stable).
        order = torch.sort(pixel, stable=True).indices
        pixel, face = pixel[order], face[order]
        start = torch.ones_like(pixel, dtype=torch.bool)
        start[1:] = pixel[1:] != pixel[:-1]
        position = torch.arange(pixel.numel(), device=device)
        rank = position - torch.cummax(torch.where(start, position, torch.zeros_like(position)), 0).values
        group = torch.cumsum(start.long(), 0) - 1
        keep = rank < knum
        pixel, face, rank, group = pixel[keep], face[keep], rank[keep], group[keep]
        unique_pixels = pixel[start[keep]] if pixel.numel() else pixel
        col = (pixel % width).to(dtype)
        row = (torch.div(pixel, width, rounding_mode="floor") % height).to(dtype)
        x0 = (2 * col + 1 - width) / width
        y0 = (height - 2 * row - 1) / height

    corners = flat[face]  # (Q, 3, 2) with gradient
    dist_sq = torch.minimum(
        torch.minimum(_edge_dist_sq(x0, y0, corners[:, 0], corners[:, 1]),
                      _edge_dist_sq(x0, y0, corners[:, 1], corners[:, 2])),
        _edge_dist_sq(x0, y0, corners[:, 2], corners[:, 0]),
    )
    keep_out = 1.0 - torch.exp(-float(sigmainv) * dist_sq)  # (Q,) 1 - prob
    table = torch.ones(unique_pixels.numel(), knum, dtype=dtype, device=device)
    table = table.index_put((group, rank), keep_out)
    soft = torch.zeros(batch * height * width, dtype=dtype, device=device)
    soft = soft.index_put((unique_pixels,), 1.0 - table.prod(dim=1))
    soft = torch.where(selected >= 0, torch.ones_like(soft), soft)
    return soft.view(batch, height, width)
