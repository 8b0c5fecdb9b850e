"""Exponential moving average of the generator (StyleGAN2-ADA's G_ema).

The decay comes from a half-life in images, computed from the *actual* batch size:
``beta = 0.5 ** (batch_size / ema_nimg)`` with ``ema_nimg = half_life_kimg * 1000``, optionally
ramped up early in training (``ema_nimg = min(ema_nimg, cur_nimg * rampup)``) so the average
follows the fast-changing first iterations. A hard-coded per-step decay (e.g. ``0.5 ** (32 /
10000)``) silently changes the half-life whenever the batch size changes.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn

from gan3dlib.utils.checks import check_positive

__all__ = ["EMAConfig", "ema_beta", "ModelEMA"]


@dataclass(frozen=True)
class EMAConfig:
    """EMA settings.

    Attributes:
        half_life_kimg: half-life of the average in thousands of images (StyleGAN2-ADA: 10 at
            batch 32, i.e. ``batch * 10 / 32``).
        rampup: ramp-up ratio (StyleGAN2-ADA: 0.05); None disables the ramp-up.
    """

    half_life_kimg: float = 10.0
    rampup: float | None = 0.05

    def __post_init__(self) -> None:
        check_positive(self.half_life_kimg, "half_life_kimg")
        if self.rampup is not None:
            check_positive(self.rampup, "rampup")


def ema_beta(batch_size: int, cur_nimg: int, config: EMAConfig) -> float:
    """Decay of one EMA step.

    Args:
        batch_size: images in this step (the global batch across processes).
        cur_nimg: images seen before this step.
        config: half-life and ramp-up.

    Returns:
        ``0.5 ** (batch_size / ema_nimg)``.
    """
    check_positive(batch_size, "batch_size", integer=True)
    ema_nimg = config.half_life_kimg * 1000.0
    if config.rampup is not None:
        ema_nimg = min(ema_nimg, cur_nimg * config.rampup)
    return 0.5 ** (batch_size / max(ema_nimg, 1e-8))


class ModelEMA(nn.Module):
    """Holds the averaged copy of a model and updates it in place.

    Parameters are averaged; buffers (e.g. StyleGAN's ``w_avg``) are copied. The copy is in eval
    mode and needs no gradients.

    Args:
        model: the model to average (copied at construction).
        config: [`EMAConfig`][gan3dlib.train.ema.EMAConfig].
    """

    def __init__(self, model: nn.Module, config: EMAConfig | None = None) -> None:
        super().__init__()
        self.config = config or EMAConfig()
        self.module = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, batch_size: int, cur_nimg: int) -> float:
        """One EMA step towards ``model``; returns the decay used."""
        beta = ema_beta(batch_size, cur_nimg, self.config)
        for averaged, current in zip(self.module.parameters(), model.parameters()):
            averaged.copy_(current.detach().lerp(averaged, beta))
        for averaged, current in zip(self.module.buffers(), model.buffers()):
            averaged.copy_(current)
        return beta

    def half_life_steps(self, batch_size: int) -> float:
        """Steps after which a constant model's weight in the average reaches one half."""
        return math.log(0.5) / math.log(ema_beta(batch_size, 10**12, self.config))
