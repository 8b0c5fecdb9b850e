"""The command the kill soak runs again and again: ``python soak_worker.py DATA RUN [--a.b value ...]``.

A tiny run on an image folder through the recipe entry point (start-or-resume by default), with a
checkpoint after every step so that kills often land inside a checkpoint write.
"""

import dataclasses
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from train_helpers import tiny_config  # noqa: E402

from gan3dlib.train.recipe import run_recipe  # noqa: E402

if __name__ == "__main__":
    data, run, *overrides = sys.argv[1:]
    preset = dataclasses.replace(tiny_config(data, run, kimg=0.08), sample_kimg=0.02, keep_checkpoints=3)
    run_recipe(preset, overrides)
