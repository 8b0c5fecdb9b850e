"""Running a recipe: a preset :class:`TrainConfig` plus command-line overrides, then :func:`train`.

``accelerate launch recipes/ffhq.py --data /data/ffhq128 --batch_size 64 --model.blur_px 1.5``
and plain ``python recipes/ffhq.py ...`` both end here.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from gan3dlib.config import parse_overrides
from gan3dlib.train.config import TrainConfig
from gan3dlib.train.loop import TrainResult, train

__all__ = ["MISSING_DATA", "paper_preset", "run_recipe"]

# Placeholder for recipes whose data the user must give; `run_recipe` refuses to start with it.
MISSING_DATA = "<required: --data PATH>"


def paper_preset(name: str) -> TrainConfig:
    """The training settings of one of the paper's models (``'ffhq'``, ``'lsun_car'``, ``'lsun_bus'``).

    128², batch 32, 5,000 k-images (the paper's 5M images), checkpoints and sample sheets every
    50 k-images, run folder ``runs/<name>``; the data path must be given (``--data``).
    """
    from gan3dlib.presets import PRESET_SPECS

    if name not in ("ffhq", "lsun_car", "lsun_bus"):
        raise ValueError(f"name: expected 'ffhq', 'lsun_car' or 'lsun_bus', got {name!r}")
    return TrainConfig(
        model=PRESET_SPECS[name], data=MISSING_DATA, out=f"runs/{name}", kimg=5000.0, batch_size=32,
        checkpoint_kimg=50.0, sample_kimg=50.0,
    )


def run_recipe(preset: TrainConfig, argv: Sequence[str] | None = None, max_steps: int | None = None) -> TrainResult:
    """Parses ``--a.b value`` overrides on top of ``preset`` and trains.

    Args:
        preset: the recipe's settings.
        argv: command-line arguments (``sys.argv[1:]`` if None).
        max_steps: optional cap on the steps of this invocation.

    Returns:
        The finished run's :class:`~gan3dlib.train.loop.TrainResult`.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    config = parse_overrides(TrainConfig, args, default=preset)
    if config.data == MISSING_DATA:
        raise SystemExit(
            "error: --data PATH is required: an image folder (searched recursively for .png/.jpg/.jpeg/.webp) "
            "or a StyleGAN dataset .zip; or --data synthetic for the built-in procedural dataset"
        )
    result = train(config, max_steps=max_steps)
    print(
        f"done: {result.kimg:.3f} kimg in {result.steps} steps ({result.seconds:.0f} s, {result.skipped_steps} skipped); "
        f"run folder {result.run_folder}, model {result.run_folder / 'model'}"
    )
    return result
