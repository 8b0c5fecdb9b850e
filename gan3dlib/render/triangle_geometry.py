"""Closed-form 2D triangle geometry shared by the rasterizers, the shader and the Kaolin layer.

All functions are vectorized over a leading dimension P of (point, triangle) pairs and are plain
differentiable torch expressions. Points and vertices are (P, 2) tensors in any 2D frame (the
renderer uses pixels). Edge functions follow PyTorch3D's definition, so their signs agree with
PyTorch3D's inside and back-face tests: ``E(p, a, b) = (p - a) x (b - a)``.
"""

from __future__ import annotations

import torch

__all__ = [
    "segment_distance_sq",
    "extension_depth",
    "edge_function",
    "screen_barycentrics",
    "closest_point_on_boundary",
    "perspective_correct",
]


def edge_function(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Signed doubled area of (p, a, b): ``(p.x - a.x)(b.y - a.y) - (p.y - a.y)(b.x - a.x)``.

    Args:
        p: (..., 2) points.
        a: (..., 2) edge start points.
        b: (..., 2) edge end points.

    Returns:
        (...) edge function values.
    """
    return (p[..., 0] - a[..., 0]) * (b[..., 1] - a[..., 1]) - (p[..., 1] - a[..., 1]) * (
        b[..., 0] - a[..., 0]
    )


def screen_barycentrics(
    p: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor, area: torch.Tensor
) -> torch.Tensor:
    """Barycentric coordinates of ``p`` in triangle (a, b, c), linear in the 2D frame.

    Args:
        p: (P, 2) points.
        a: (P, 2) first triangle vertices.
        b: (P, 2) second triangle vertices.
        c: (P, 2) third triangle vertices.
        area: (P,) ``edge_function(a, b, c)``; must be non-zero (callers mask degenerate faces).

    Returns:
        (P, 3) barycentrics (w0, w1, w2) summing to 1; all positive iff ``p`` is inside.
    """
    w0 = edge_function(p, b, c)
    w1 = edge_function(p, c, a)
    w2 = edge_function(p, a, b)
    return torch.stack([w0, w1, w2], dim=-1) / area.unsqueeze(-1)


def segment_distance_sq(
    px: torch.Tensor, py: torch.Tensor, ax: torch.Tensor, ay: torch.Tensor, bx: torch.Tensor, by: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared distance from points p to segments [a, b], and the parameter t in [0, 1] of the closest point.

    Coordinates come as separate, broadcastable tensors (the rasterizers' hot loops keep x and y
    apart); a degenerate segment (a = b) gives t = 0 and the distance to a.

    Returns:
        ``(d², t)``, both of the broadcast shape.
    """
    ex, ey = bx - ax, by - ay
    dx, dy = px - ax, py - ay
    len_sq = ex * ex + ey * ey
    degenerate = len_sq <= 0
    t = (dx * ex + dy * ey) / torch.where(degenerate, torch.ones_like(len_sq), len_sq)
    t = torch.where(degenerate, torch.zeros_like(t), t.clamp(0.0, 1.0))
    rx, ry = dx - t * ex, dy - t * ey
    return rx * rx + ry * ry, t


def extension_depth(z_closest: torch.Tensor, dist: torch.Tensor, depth_slope: float, blur_px: float) -> torch.Tensor:
    """The soft layer's depth ``z_s = z(p*) (1 + λ d / B)`` of a pixel at distance ``d`` outside a
    triangle whose closest point ``p*`` has depth ``z(p*)`` (λ = ``depth_slope``, B = ``blur_px``)."""
    return z_closest * (1.0 + depth_slope * dist / blur_px)


def _segment_distance_sq(p: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """[`segment_distance_sq`][gan3dlib.render.triangle_geometry.segment_distance_sq] of (..., 2) points."""
    return segment_distance_sq(p[..., 0], p[..., 1], a[..., 0], a[..., 1], b[..., 0], b[..., 1])


def closest_point_on_boundary(
    p: torch.Tensor, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Closest point to ``p`` on the boundary of triangle (a, b, c).

    For a point outside the triangle this is the closest point of the triangle itself,
    ``p*(T)`` of the paper, and the distance is ``d(p, T)``.

    Args:
        p: (P, 2) points.
        a: (P, 2) first triangle vertices.
        b: (P, 2) second triangle vertices.
        c: (P, 2) third triangle vertices.

    Returns:
        dist_sq: (P,) squared Euclidean distance to the boundary.
        bary: (P, 3) barycentrics of the closest point (two non-zero entries on an edge, one-hot
            at a vertex). Differentiable; the choice of edge is a discrete argmin.
    """
    d_ab, t_ab = _segment_distance_sq(p, a, b)
    d_bc, t_bc = _segment_distance_sq(p, b, c)
    d_ca, t_ca = _segment_distance_sq(p, c, a)
    dists = torch.stack([d_ab, d_bc, d_ca], dim=-1)  # (P, 3)
    edge = dists.argmin(dim=-1)  # (P,)
    dist_sq = dists.gather(-1, edge.unsqueeze(-1)).squeeze(-1)
    zero = torch.zeros_like(t_ab)
    one = torch.ones_like(t_ab)
    bary_ab = torch.stack([one - t_ab, t_ab, zero], dim=-1)
    bary_bc = torch.stack([zero, one - t_bc, t_bc], dim=-1)
    bary_ca = torch.stack([t_ca, zero, one - t_ca], dim=-1)
    candidates = torch.stack([bary_ab, bary_bc, bary_ca], dim=1)  # (P, 3 edges, 3)
    bary = candidates.gather(1, edge.view(-1, 1, 1).expand(-1, 1, 3)).squeeze(1)
    return dist_sq, bary


def perspective_correct(bary: torch.Tensor, depth: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Perspective-corrects screen-space barycentrics.

    With vertex depths z_i > 0, ``b'_i = (b_i / z_i) / sum_j (b_j / z_j)`` and the depth of the
    point is ``1 / sum_j (b_j / z_j)``.

    Args:
        bary: (P, 3) screen-space barycentrics.
        depth: (P, 3) vertex depths (positive).

    Returns:
        bary_pc: (P, 3) perspective-correct barycentrics.
        point_depth: (P,) depth of the point.
    """
    weights = bary / depth
    inv_depth = weights.sum(-1)
    return weights / inv_depth.unsqueeze(-1), 1.0 / inv_depth
