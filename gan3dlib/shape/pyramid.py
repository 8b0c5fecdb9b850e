"""The shape-image pyramid (paper §7, eq. 13): K shape images blurred at growing scales, summed.

``s_pyr = sum_{k=0}^{K-1} blur(s_k, sigma = 2^k px)``: the generator's coarse levels can only
change the shape smoothly, which the paper found to avoid high-frequency artefacts and the
hollow-mask minimum. Eq. 13 is garbled in the paper's text; this is the form its prose
describes ("blurred with varying amounts and summed", "sigma is interpreted in pixels on the
shape image").

The Gaussian blur is a fixed separable convolution with replicate padding, so a constant image
stays constant up to the border (a zero border would pull the mesh rim towards the origin).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from gan3dlib.utils.checks import check_positive, check_tensor

__all__ = ["gaussian_kernel1d", "GaussianBlur", "ShapePyramidConfig", "ShapePyramid"]


def gaussian_kernel1d(sigma: float, truncate: float = 3.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Normalised 1D Gaussian taps ``exp(-x² / 2 sigma²)`` for ``|x| <= ceil(truncate * sigma)``.

    Args:
        sigma: standard deviation in pixels (> 0).
        truncate: half-width of the kernel in standard deviations.
        dtype: dtype of the taps.

    Returns:
        (2r + 1,) taps summing to one, ``r = ceil(truncate * sigma)``.
    """
    check_positive(sigma, "sigma")
    check_positive(truncate, "truncate")
    radius = max(1, math.ceil(truncate * sigma))
    x = torch.arange(-radius, radius + 1, dtype=torch.float64)
    taps = torch.exp(-0.5 * (x / sigma) ** 2)
    return (taps / taps.sum()).to(dtype)


class GaussianBlur(nn.Module):
    """Separable Gaussian blur of every channel, replicate padding, output size = input size.

    Args:
        sigma: standard deviation in pixels.
        truncate: kernel half-width in standard deviations.
    """

    def __init__(self, sigma: float, truncate: float = 3.0) -> None:
        super().__init__()
        self.sigma = float(sigma)
        self.register_buffer("taps", gaussian_kernel1d(sigma, truncate), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Blurs (B, C, H, W) images; returns (B, C, H, W)."""
        check_tensor(images, "images", (None, None, None, None), floating=True)
        channels = images.shape[1]
        taps = self.taps.to(images.dtype)
        radius = taps.numel() // 2
        horizontal = taps.view(1, 1, 1, -1).expand(channels, 1, 1, -1)
        vertical = taps.view(1, 1, -1, 1).expand(channels, 1, -1, 1)
        # Replicate padding by index clamping: works even when the kernel is wider than the image.
        out = F.conv2d(_replicate_pad(images, radius, -1), horizontal, groups=channels)
        return F.conv2d(_replicate_pad(out, radius, -2), vertical, groups=channels)


def _replicate_pad(images: torch.Tensor, radius: int, dim: int) -> torch.Tensor:
    """Pads ``dim`` by ``radius`` on both sides with the edge values."""
    size = images.shape[dim]
    index = torch.arange(-radius, size + radius, device=images.device).clamp(0, size - 1)
    return images.index_select(dim, index)


@dataclass(frozen=True)
class ShapePyramidConfig:
    """Settings of the shape pyramid.

    Attributes:
        levels: K, the number of shape images (paper: 4); K = 1 is a single (blurred) image.
        base_sigma: sigma of level 0 in shape-image pixels; level k uses ``base_sigma * 2^k``.
        blur_finest: blur level 0 too (the paper's formula, sigma = 2^0 = 1 px). False leaves the
            finest level sharp.
    """

    levels: int = 4
    base_sigma: float = 1.0
    blur_finest: bool = True

    def __post_init__(self) -> None:
        check_positive(self.levels, "levels", integer=True)
        check_positive(self.base_sigma, "base_sigma")

    def build(self) -> ShapePyramid:
        """Makes the module."""
        return ShapePyramid(self)


class ShapePyramid(nn.Module):
    """Sums K shape images blurred with sigma ``base_sigma * 2^k`` (eq. 13).

    Args:
        config: [`ShapePyramidConfig`][gan3dlib.shape.pyramid.ShapePyramidConfig].
    """

    def __init__(self, config: ShapePyramidConfig | None = None) -> None:
        super().__init__()
        self.config = config or ShapePyramidConfig()
        blurs = []
        for level in range(self.config.levels):
            if level == 0 and not self.config.blur_finest:
                blurs.append(nn.Identity())
            else:
                blurs.append(GaussianBlur(self.config.base_sigma * 2**level))
        self.blurs = nn.ModuleList(blurs)

    @property
    def in_channels(self) -> int:
        """3 K: the channels the generator must produce for the shape."""
        return 3 * self.config.levels

    def forward(self, shape_images: torch.Tensor) -> torch.Tensor:
        """Combines the levels.

        Args:
            shape_images: (B, 3K, H, W) the K shape images stacked level-major (channels
                ``3k .. 3k+2`` are level k's xyz).

        Returns:
            (B, 3, H, W) the summed, blurred shape image.
        """
        check_tensor(shape_images, "shape_images", (None, self.in_channels, None, None), floating=True)
        levels = rearrange(shape_images, "b (k c) h w -> k b c h w", k=self.config.levels)
        return sum(blur(level) for blur, level in zip(self.blurs, levels))
