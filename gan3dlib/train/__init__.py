"""Training pieces: GAN losses and the generator EMA."""

from __future__ import annotations

from gan3dlib.train.ema import EMAConfig, ModelEMA, ema_beta
from gan3dlib.train.loss import discriminator_loss, generator_loss, r1_penalty

__all__ = ["EMAConfig", "ModelEMA", "ema_beta", "discriminator_loss", "generator_loss", "r1_penalty"]
