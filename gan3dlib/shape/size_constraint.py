"""The size constraint (paper §7, eq. 14): vertices are squashed into a ball of radius s_max.

``s_size = s_max * tanh(|s| / s_max) * s / |s|`` per vertex (the norm taken over xyz at every
pixel of the shape image). Eq. 14 is garbled in the paper's text; this is the form whose norm is
``s_max * tanh(|s| / s_max) < s_max`` for every input and which is the identity to first order
near the origin, so the constraint only bites on vertices that wander far out (the paper's
"3D models tended to grow large and tried to model the background").

At ``|s| = 0`` the factor ``s_max tanh(|s|/s_max) / |s|`` is evaluated by its Taylor series
``1 - |s|² / (3 s_max²)``, so forward and backward stay finite (no NaN) there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from gan3dlib.utils.checks import check_positive, check_tensor

__all__ = ["size_constraint", "SizeConstraintConfig", "SizeConstraint"]

# Below this squared norm (relative to s_max²) the factor uses its Taylor series; the series'
# next term, 2 r⁴ / (15 s_max⁴), is then < 1e-13 in relative terms.
_TAYLOR_BELOW = 1e-6


def size_constraint(shape_image: torch.Tensor, s_max: float = 1.3, dim: int = 1) -> torch.Tensor:
    """Applies ``s_max * tanh(|s| / s_max) * s / |s|`` to every vertex.

    Args:
        shape_image: (B, 3, H, W) shape image (or any tensor whose ``dim`` holds xyz).
        s_max: radius of the ball the vertices are squashed into (paper: 1.3).
        dim: the xyz dimension.

    Returns:
        Tensor of the same shape whose vertex norms are ``s_max * tanh(|s| / s_max)``.
    """
    check_tensor(shape_image, "shape_image", floating=True)
    check_positive(s_max, "s_max")
    if not math.isfinite(s_max):
        raise ValueError(f"s_max: expected a finite number > 0, got {s_max!r}")
    norm_sq = (shape_image * shape_image).sum(dim=dim, keepdim=True) / (s_max * s_max)
    small = norm_sq < _TAYLOR_BELOW
    # Double where: the unused branch must not see 0 (sqrt and division would give NaN grads).
    ratio = torch.where(small, torch.ones_like(norm_sq), norm_sq).sqrt()  # |s| / s_max
    factor = torch.where(small, 1.0 - norm_sq / 3.0, torch.tanh(ratio) / ratio)
    return shape_image * factor


@dataclass(frozen=True)
class SizeConstraintConfig:
    """Settings of the size constraint.

    Attributes:
        s_max: ball radius (paper: 1.3 for faces; the paper's cars and buses use no constraint).
    """

    s_max: float = 1.3

    def __post_init__(self) -> None:
        check_positive(self.s_max, "s_max")
        if not math.isfinite(self.s_max):
            raise ValueError(f"s_max: expected a finite number > 0, got {self.s_max!r}")

    def build(self) -> SizeConstraint:
        """Makes the module."""
        return SizeConstraint(self)


class SizeConstraint(nn.Module):
    """Module form of [`size_constraint`][gan3dlib.shape.size_constraint.size_constraint] on (B, 3, H, W) shape images.

    Args:
        config: [`SizeConstraintConfig`][gan3dlib.shape.size_constraint.SizeConstraintConfig].
    """

    def __init__(self, config: SizeConstraintConfig | None = None) -> None:
        super().__init__()
        self.config = config or SizeConstraintConfig()

    def forward(self, shape_image: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, 3, H, W) with every vertex norm below ``s_max``."""
        check_tensor(shape_image, "shape_image", (None, 3, None, None), floating=True)
        return size_constraint(shape_image, self.config.s_max)
