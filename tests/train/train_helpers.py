"""Tiny training setups shared by the training tests (imported, not collected)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from PIL import Image

from gan3dlib.nets.discriminator import DiscriminatorConfig
from gan3dlib.presets import scene_config
from gan3dlib.train.config import TrainConfig

TINY_SPEC = scene_config(8, z_dim=16, mapping_layers=2, channel_base=64, channel_max=16, pyramid_levels=2)
TINY_D = DiscriminatorConfig(None, channel_base=64, channel_max=16)


def image_folder(root: Path, count: int = 12, size: int = 12) -> Path:
    """A folder of random RGB PNGs."""
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray((rng.random((size, size, 3)) * 255).astype(np.uint8)).save(root / f"{i:03d}.png")
    return root


def tiny_config(data: Path, out: Path, **changes) -> TrainConfig:
    """Batch 4 at 8x8: one step shows 4 images; checkpoint every step unless changed."""
    base = TrainConfig(
        model=TINY_SPEC, discriminator=TINY_D, data=str(data), out=str(out), kimg=0.024, batch_size=4, cpu=True,
        checkpoint_kimg=0.004, log_kimg=0.004, sample_kimg=1.0, r1_interval=2,
    )
    return dataclasses.replace(base, **changes)
