"""3D metrics against a ground-truth shape distribution, from canonical-view depth maps.

The paper reports only FID; with a synthetic data set whose 3D is known we can ask whether the
learned *shapes* are right. Both sets are rendered from the same canonical views (depth maps,
0 on the background). For one generated depth map ``g`` and one ground-truth map ``t``:

- the **aligned depth error** is ``mean_{p in M} |a g(p) + b - t(p)| / std_{p in M} t(p)`` over
  the pixels ``M`` both cover, where ``(a, b)`` is the least-squares scale and shift of ``g`` onto
  ``t`` (so a shape that is right up to the unknowable global scale and distance scores 0); it is
  relative to the ground truth's *relief* (its depth spread), not its distance, so 1 means an error
  as large as the relief itself (a flat disc against a dome scores about 0.85);
- the **mask IoU** of the two silhouettes.

Each generated sample is matched to its nearest ground-truth sample (smallest aligned error), and
the reported numbers are means over generated samples: a minimum-matching-distance score, as
GET3D's MMD but on depth maps. ``hollow`` counts the generated samples whose best scale ``a`` is
negative: depth inverted, the hollow-mask illusion.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from gan3dlib.utils.checks import check_tensor

__all__ = ["pairwise_aligned_depth_error", "DepthMatch", "match_depth_maps"]


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


@dataclass
class DepthMatch:
    """Nearest-ground-truth matching of generated depth maps."""

    depth_error: float
    mask_iou: float
    hollow_fraction: float
    matched: torch.Tensor


def match_depth_maps(generated: torch.Tensor, target: torch.Tensor) -> DepthMatch:
    """Matches each generated depth map to its nearest ground-truth map.

    Args:
        generated: (G, H, W) depth maps.
        target: (T, H, W) ground-truth depth maps.

    Returns:
        :class:`DepthMatch` with the mean aligned depth error and mask IoU of the matches, the
        fraction of inverted (hollow) matches and the matched indices (G,).
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
    )
