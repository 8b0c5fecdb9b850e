"""Train the paper's FFHQ face model (128², sphere s0, size constraint, K = 4 pyramid, ±45° yaw / ±15° pitch).

    accelerate launch recipes/ffhq.py --data /data/ffhq128 [--a.b value ...]
    python recipes/ffhq.py --data /data/ffhq128 --cpu true --kimg 1      # a quick look on a CPU

Every setting is a field of `gan3dlib.train.config.TrainConfig` (model knobs under `--model.`);
the run folder's `train_config.json` records what ran. Multi-GPU / multi-node: see docs/training.md.
"""

from gan3dlib.presets import PRESET_SPECS
from gan3dlib.train.config import TrainConfig
from gan3dlib.train.recipe import MISSING_DATA, run_recipe

PRESET = TrainConfig(
    model=PRESET_SPECS["ffhq"],
    data=MISSING_DATA,
    out="runs/ffhq",
    kimg=5000.0,  # the paper: 5M images
    batch_size=32,
    checkpoint_kimg=50.0,
    sample_kimg=50.0,
)

if __name__ == "__main__":
    run_recipe(PRESET)
