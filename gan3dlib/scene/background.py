"""Background crops (paper §4 and §6): a 2N x 2N background, a random N x N window per sample.

Modelling the background with a larger image and cropping it at random breaks the trivial
solution where the background generator paints the object: a crop need not contain it, so only a
real 3D object matches the data statistics. The crop offset distribution is configurable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from gan3dlib.utils.checks import check_positive, check_tensor

__all__ = ["crop_windows", "BackgroundCropConfig", "BackgroundCrop"]

Distribution = Literal["uniform", "center", "normal"]


def crop_windows(images: torch.Tensor, top: torch.Tensor, left: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Cuts one window per image (differentiable w.r.t. the images).

    Args:
        images: (B, C, H, W).
        top: (B,) int64 first row of each window.
        left: (B,) int64 first column of each window.
        size: (h, w) of the windows; every window must fit inside its image.

    Returns:
        (B, C, h, w) windows.
    """
    check_tensor(images, "images", ("B", None, None, None), floating=True)
    batch, _, height, width = images.shape
    h, w = size
    check_tensor(top, "top", (batch,), dtypes=(torch.int64,))
    check_tensor(left, "left", (batch,), dtypes=(torch.int64,))
    if bool((top < 0).any() | (top + h > height).any() | (left < 0).any() | (left + w > width).any()):
        raise ValueError(f"top, left: windows of size {size} must fit in images of size {(height, width)}")
    rows = (top.unsqueeze(1) + torch.arange(h, device=images.device)).view(batch, 1, h, 1)
    cols = (left.unsqueeze(1) + torch.arange(w, device=images.device)).view(batch, 1, 1, w)
    batch_index = torch.arange(batch, device=images.device).view(batch, 1, 1, 1)
    channels = torch.arange(images.shape[1], device=images.device).view(1, -1, 1, 1)
    return images[batch_index, channels, rows, cols]


@dataclass(frozen=True)
class BackgroundCropConfig:
    """How the N x N window is placed in the 2N x 2N background.

    Attributes:
        distribution: ``'uniform'`` over all positions (paper), ``'center'`` (always the middle:
            no crop randomness, e.g. for figures), or ``'normal'`` around the middle with standard
            deviation ``std`` (a fraction of the free range), clamped to the image.
        std: standard deviation of ``'normal'`` as a fraction of the free range ``2N - N``.
    """

    distribution: Distribution = "uniform"
    std: float = 0.25

    def __post_init__(self) -> None:
        if self.distribution not in ("uniform", "center", "normal"):
            raise ValueError(f"distribution: expected 'uniform', 'center' or 'normal', got {self.distribution!r}")
        check_positive(self.std, "std")

    def build(self) -> BackgroundCrop:
        """Makes the module."""
        return BackgroundCrop(self)


class BackgroundCrop(nn.Module):
    """Samples window offsets and crops (B, C, H, W) backgrounds to ``size``.

    Args:
        config: [`BackgroundCropConfig`][gan3dlib.scene.background.BackgroundCropConfig].
    """

    def __init__(self, config: BackgroundCropConfig | None = None) -> None:
        super().__init__()
        self.config = config or BackgroundCropConfig()

    def sample_offsets(
        self, batch: int, free: tuple[int, int], generator: torch.Generator | None = None, device=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Window offsets (top, left), each (B,) int64 in ``[0, free]``."""
        offsets = []
        draw_on = generator.device if generator is not None else None  # draws follow the generator
        for span in free:
            if self.config.distribution == "center":
                value = torch.full((batch,), span // 2, dtype=torch.long)
            elif self.config.distribution == "uniform":
                value = torch.randint(0, span + 1, (batch,), generator=generator, device=draw_on)
            else:
                noise = torch.randn(batch, generator=generator, device=draw_on) * (self.config.std * span)
                value = (span / 2 + noise).round().clamp(0, span).long()
            offsets.append(value.to(device))
        return offsets[0], offsets[1]

    def forward(
        self, backgrounds: torch.Tensor, size: tuple[int, int], generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Crops every background to ``size``.

        Args:
            backgrounds: (B, C, H, W) with H >= h and W >= w.
            size: (h, w) of the rendered image.
            generator: optional CPU ``torch.Generator`` for reproducible offsets.

        Returns:
            (B, C, h, w) crops.
        """
        check_tensor(backgrounds, "backgrounds", (None, None, None, None), floating=True)
        batch, _, height, width = backgrounds.shape
        h, w = size
        if h > height or w > width:
            raise ValueError(f"size: expected at most the background size {(height, width)}, got {size}")
        top, left = self.sample_offsets(batch, (height - h, width - w), generator, backgrounds.device)
        return crop_windows(backgrounds, top, left, size)
