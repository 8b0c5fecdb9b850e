"""Per-object 3D statistics of a surface point cloud: proportions, depth extent and frontal relief.

Depth maps and Chamfer distances say *how far* a shape is from the truth; these statistics say
*in which way*: too round, too flat, relief on the wrong side. They are computed on points sampled
uniformly on each surface ([`sample_surface_points`][gan3dlib.eval.point_metrics.sample_surface_points]),
in object space (the generator's canonical frame: ``+Z`` towards the camera at yaw 0, ``+Y`` up),
with robust extents: the range between the ``q`` and ``1 - q`` quantiles of the coordinates.

For one cloud with quantile ranges ``W`` (along X), ``H`` (Y) and ``D`` (Z) and principal extents
``e1 >= e2 >= e3`` (the same ranges along the principal axes of the centred cloud):

- ``aspect_mid = e2 / e1`` and ``aspect_thin = e3 / e1``: rotation-invariant proportions (a sphere
  has 1 and 1, an elongated flattened object less);
- ``depth_ratio = D / W``: the extent along the viewing axis against the width (what silhouettes
  from near-frontal views cannot show directly; a sphere has 1, a head with a nose about 1.3, a car
  seen from the side about 0.4);
- ``front = z_max / (W / 2)`` and ``back = -z_min / (W / 2)``: how far the surface reaches towards
  and away from the camera, from the rotation centre (the origin, which every viewpoint turns the
  object about), in half-widths. A sphere centred at the origin has 1 and 1; a face with a nose has
  ``front > back``; its hollow (depth-inverted) copy has ``back > front``. Both also move when the
  whole object sits in front of or behind the rotation centre, hence:
- ``front_relief = (z_max + z_min - 2 z_c) / (W / 2)``, with ``z_c`` the centroid of the surface: how
  much further the surface reaches towards the camera than away from it, measured from the object's
  own centre, so a shift along the viewing axis does not change it. 0 for anything symmetric front
  to back (a sphere, an ellipsoid, a car seen from the side), > 0 with a nose, < 0 when the relief
  is behind (the hollow copy);
- ``z_offset = z_c / (W / 2)``: how far the object's centre sits in front of the rotation centre.

All are scale-free, so no alignment is needed. Errors against a matched ground-truth object are
absolute differences ([`statistic_errors`][gan3dlib.eval.object_metrics.statistic_errors]).
"""

from __future__ import annotations

import torch

from gan3dlib.utils.checks import check_tensor

__all__ = ["STATISTICS", "extent_statistics", "statistic_errors"]

STATISTICS = ("aspect_mid", "aspect_thin", "depth_ratio", "front", "back", "front_relief", "z_offset")


def _quantile_range(values: torch.Tensor, q: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row ``q`` and ``1 - q`` quantiles of (B, P, ...) values along dim 1."""
    bounds = torch.quantile(values, values.new_tensor([q, 1 - q]), dim=1)
    return bounds[0], bounds[1]


def extent_statistics(points: torch.Tensor, quantile: float = 0.01) -> dict[str, torch.Tensor]:
    """The statistics of the module docstring for each cloud.

    Args:
        points: (B, P, 3) surface points in object space, finite.
        quantile: the robust extent's lower quantile ``q`` in [0, 0.5) (0: exact min and max).

    Returns:
        ``{name: (B,) float64}`` for every name in ``STATISTICS``.
    """
    check_tensor(points, "points", (None, None, 3), floating=True, finite=True)
    if not 0 <= quantile < 0.5:
        raise ValueError(f"quantile: expected a number in [0, 0.5), got {quantile!r}")
    points = points.to(torch.float64)
    low, high = _quantile_range(points, quantile)  # (B, 3)
    extent = (high - low).clamp(min=1e-12)
    half_width = extent[:, 0] / 2
    centred = points - points.mean(dim=1, keepdim=True)
    covariance = centred.transpose(1, 2) @ centred / points.shape[1]
    axes = torch.linalg.eigh(covariance).eigenvectors  # (B, 3, 3), columns by ascending variance
    p_low, p_high = _quantile_range(centred @ axes, quantile)
    principal = (p_high - p_low).sort(dim=-1, descending=True).values.clamp(min=1e-12)
    z_centre = points[..., 2].mean(dim=1)
    return {
        "aspect_mid": principal[:, 1] / principal[:, 0],
        "aspect_thin": principal[:, 2] / principal[:, 0],
        "depth_ratio": extent[:, 2] / extent[:, 0],
        "front": high[:, 2] / half_width,
        "back": -low[:, 2] / half_width,
        "front_relief": (high[:, 2] + low[:, 2] - 2 * z_centre) / half_width,
        "z_offset": z_centre / half_width,
    }


def statistic_errors(generated: dict[str, torch.Tensor], truth: dict[str, torch.Tensor],
                     matched: torch.Tensor) -> dict[str, float]:
    """Mean absolute statistic errors of generated objects against their matched ground truth.

    Args:
        generated: ``extent_statistics`` of G generated clouds.
        truth: ``extent_statistics`` of T ground-truth clouds.
        matched: (G,) index of each generated object's ground-truth match.

    Returns:
        ``aspect_error`` (mean of the two aspect ratios' errors), ``depth_extent_error``
        (``depth_ratio``), ``relief_error`` (mean of the ``front`` and ``back`` errors) and
        ``front_error``, each averaged over the generated objects.
    """
    diff = {name: (generated[name] - truth[name][matched]).abs() for name in STATISTICS}
    return {
        "aspect_error": float(((diff["aspect_mid"] + diff["aspect_thin"]) / 2).mean()),
        "depth_extent_error": float(diff["depth_ratio"].mean()),
        "relief_error": float(((diff["front"] + diff["back"]) / 2).mean()),
        "front_error": float(diff["front"].mean()),
    }
