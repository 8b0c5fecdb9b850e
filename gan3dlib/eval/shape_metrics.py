"""3D metrics against a ground-truth shape distribution, from canonical-view depth maps.

The paper reports only FID; with a synthetic data set whose 3D is known we can ask whether the
learned *shapes* are right. Both sets are rendered from the same canonical views (depth maps,
0 on the background). For one generated depth map ``g`` and one ground-truth map ``t``:

- the **aligned depth error** is ``mean_{p in M} |a g(p) + b - t(p)| / std_{p in M} t(p)`` over
  the pixels ``M`` both cover, where ``(a, b)`` is the least-squares scale and shift of ``g`` onto
  ``t`` (so a shape that is right up to the unknowable global scale and distance scores 0); it is
  relative to the ground truth's *relief* (its depth spread), not its distance, so 1 means an error
  as large as the relief itself (a flat disc against a dome scores about 0.85);
- the **mask IoU** of the two silhouettes;
- the **normal error**: both maps are back-projected to camera-space points with the known
  pinhole camera, surface normals come from central differences of those points, and the error is
  the mean angle (degrees) between the two normals over the pixels where both surfaces have a
  complete 4-neighbourhood. It needs no alignment: normals do not change when the whole scene is
  scaled about the camera, and both sets are rendered from the same camera.

Each generated sample is matched to its nearest ground-truth sample (smallest aligned error), and
the reported numbers are means over generated samples: a minimum-matching-distance score, as
GET3D's MMD but on depth maps. ``hollow`` counts the generated samples whose best scale ``a`` is
negative: depth inverted, the hollow-mask illusion.
"""

from __future__ import annotations

from dataclasses import dataclass

import math

import torch

from gan3dlib.utils.checks import check_positive, check_tensor

__all__ = ["pairwise_aligned_depth_error", "depth_normals", "DepthMatch", "match_depth_maps"]


def pairwise_aligned_depth_error(
    generated: torch.Tensor, target: torch.Tensor, min_pixels: int = 8
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Aligned depth error and IoU for every (generated, target) pair.

    Args:
        generated: (G, H, W) depth maps, 0 on the background.
        target: (T, H, W) depth maps, 0 on the background.
        min_pixels: pairs sharing fewer covered pixels get an infinite error.

    Returns:
        error: (G, T) relative aligned L1 depth error.
        iou: (G, T) mask IoU.
        scale: (G, T) the least-squares scale ``a`` (negative: inverted depth).
    """
    check_tensor(generated, "generated", (None, "H", "W"), floating=True)
    check_tensor(target, "target", (None, generated.shape[1], generated.shape[2]), floating=True)
    g = generated.flatten(1).to(torch.float64)  # (G, P)
    t = target.flatten(1).to(torch.float64)  # (T, P)
    gm, tm = (g > 0).to(torch.float64), (t > 0).to(torch.float64)
    both = gm @ tm.T  # (G, T) shared pixel counts
    union = gm.sum(1, keepdim=True) + tm.sum(1) - both
    iou = both / union.clamp(min=1)
    # Least squares of a*g + b = t over shared pixels, via the sums of the normal equations.
    n = both.clamp(min=1)
    sg, st = g @ tm.T, gm @ t.T
    sgg, sgt = (g * g) @ tm.T, g @ t.T
    var = sgg - sg * sg / n
    scale = torch.where(var > 1e-12, (sgt - sg * st / n) / var.clamp(min=1e-12), torch.zeros_like(var))
    shift = (st - scale * sg) / n
    # Mean |a g + b - t| over shared pixels needs the pixels themselves: evaluate per pair.
    residual = (scale[:, :, None] * g[:, None, :] + shift[:, :, None] - t[None, :, :]).abs()
    mask = gm[:, None, :] * tm[None, :, :]
    mean_abs = (residual * mask).sum(-1) / n
    relief = ((t * t) @ gm.T).T / n - (st / n) ** 2  # variance of t over the shared pixels
    error = mean_abs / relief.clamp(min=1e-12).sqrt()
    error = torch.where(both >= min_pixels, error, torch.full_like(error, float("inf")))
    return error, iou, scale


def depth_normals(
    depth: torch.Tensor, fov_degrees: float, view_width: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Camera-space unit normals of depth maps, from central differences of back-projected points.

    Pixel ``(row, col)`` of a view ``H x Wv`` back-projects to ``Z * ((col + 0.5 - Wv/2) / f,
    -(row + 0.5 - H/2) / f, 1)`` with ``f = (min(H, Wv) / 2) / tan(fov / 2)`` (the camera of
    [`PerspectiveCamera`][gan3dlib.render.camera.PerspectiveCamera]: fov across the shorter side). The normal is
    ``normalize(dP/dcol x dP/drow)`` (pointing towards the camera for a front-facing surface).

    Args:
        depth: (B, H, W) camera depth, 0 on the background; W may hold several views side by side.
        fov_degrees: the camera's field of view, in (0, 180).
        view_width: width Wv of one view when ``W`` holds ``W / Wv`` views side by side (default ``W``).

    Returns:
        normals: (B, H, W, 3) unit normals (0 where invalid), in ``depth``'s float dtype.
        valid: (B, H, W) bool, pixels whose 4 neighbours lie in the same view and are all covered.
    """
    check_tensor(depth, "depth", (None, None, None), floating=True, finite=True)
    check_positive(fov_degrees, "fov_degrees")
    if not fov_degrees < 180:
        raise ValueError(f"fov_degrees: expected a number in (0, 180), got {fov_degrees!r}")
    batch, height, width = depth.shape
    view_width = width if view_width is None else view_width
    check_positive(view_width, "view_width", integer=True)
    if width % view_width:
        raise ValueError(f"view_width: expected a divisor of the maps' width {width}, got {view_width}")
    focal = min(height, view_width) / 2 / math.tan(math.radians(fov_degrees) / 2)
    col = torch.arange(width, dtype=depth.dtype, device=depth.device) % view_width
    x = ((col + 0.5 - view_width / 2) / focal).expand(height, width)
    y = (-(torch.arange(height, dtype=depth.dtype, device=depth.device) + 0.5 - height / 2) / focal)[:, None].expand(height, width)
    points = torch.stack([x * depth, y * depth, depth], dim=-1)  # (B, H, W, 3)
    d_col = points[:, 1:-1, 2:] - points[:, 1:-1, :-2]
    d_row = points[:, 2:, 1:-1] - points[:, :-2, 1:-1]
    inner = torch.nn.functional.normalize(torch.linalg.cross(d_col, d_row, dim=-1), dim=-1)
    covered = depth > 0
    inner_valid = (covered[:, 1:-1, 1:-1] & covered[:, 1:-1, 2:] & covered[:, 1:-1, :-2]
                   & covered[:, 2:, 1:-1] & covered[:, :-2, 1:-1])
    view_col = torch.arange(1, width - 1, device=depth.device) % view_width
    inner_valid = inner_valid & ((view_col > 0) & (view_col < view_width - 1))
    normals = depth.new_zeros(batch, height, width, 3)
    valid = torch.zeros_like(covered)
    normals[:, 1:-1, 1:-1] = inner
    valid[:, 1:-1, 1:-1] = inner_valid
    return normals, valid


def _matched_normal_error(generated, target, matched, fov_degrees, view_width) -> float:
    """Mean (over generated maps with shared valid pixels) of the mean normal angle to their match."""
    n_gen, v_gen = depth_normals(generated.to(torch.float64), fov_degrees, view_width)
    n_tgt, v_tgt = depth_normals(target.to(torch.float64)[matched], fov_degrees, view_width)
    both = v_gen & v_tgt
    # atan2(|a x b|, a.b) stays accurate for tiny angles, where acos(a.b) loses half the digits.
    sine = torch.linalg.cross(n_gen, n_tgt, dim=-1).norm(dim=-1)
    angle = torch.rad2deg(torch.atan2(sine, (n_gen * n_tgt).sum(-1)))
    count = both.flatten(1).sum(1)
    per_map = (angle * both).flatten(1).sum(1) / count.clamp(min=1)
    return float(per_map[count > 0].mean()) if bool((count > 0).any()) else float("nan")


@dataclass
class DepthMatch:
    """Nearest-ground-truth matching of generated depth maps."""

    depth_error: float
    mask_iou: float
    hollow_fraction: float
    matched: torch.Tensor
    normal_error: float = float("nan")


def match_depth_maps(
    generated: torch.Tensor, target: torch.Tensor, fov_degrees: float | None = None, view_width: int | None = None
) -> DepthMatch:
    """Matches each generated depth map to its nearest ground-truth map.

    Args:
        generated: (G, H, W) depth maps.
        target: (T, H, W) ground-truth depth maps.
        fov_degrees: the camera's field of view; when given, the normal error of the matches is
            computed too (see [`depth_normals`][gan3dlib.eval.shape_metrics.depth_normals]), otherwise it is NaN.
        view_width: width of one view when the maps hold several views side by side.

    Returns:
        [`DepthMatch`][gan3dlib.eval.shape_metrics.DepthMatch] with the mean aligned depth error and mask IoU of the matches, the
        fraction of inverted (hollow) matches, the matched indices (G,) and the normal error in degrees.
    """
    error, iou, scale = pairwise_aligned_depth_error(generated, target)
    best = error.argmin(dim=1)
    rows = torch.arange(error.shape[0])
    best_error = error[rows, best]
    finite = torch.isfinite(best_error)
    return DepthMatch(
        depth_error=float(best_error[finite].mean()) if bool(finite.any()) else float("inf"),
        mask_iou=float(iou[rows, best].mean()),
        hollow_fraction=float((scale[rows, best] < 0).double().mean()),
        matched=best,
        normal_error=float("nan") if fov_degrees is None else _matched_normal_error(
            generated, target, best, fov_degrees, view_width),
    )
