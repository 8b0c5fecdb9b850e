"""Train the paper's LSUN car model (as FFHQ but a flat-sheet s0 and no size constraint).

    accelerate launch recipes/lsun_car.py --data /data/lsun_car [--a.b value ...]
    python recipes/lsun_car.py --data /data/lsun_car --cpu true --kimg 1      # a quick look on a CPU

Every setting is a field of `gan3dlib.train.config.TrainConfig` (model knobs under `--model.`);
the run folder's `train_config.json` records what ran. Multi-GPU / multi-node: see docs/training.md.
"""

from gan3dlib.presets import PRESET_SPECS
from gan3dlib.train.config import TrainConfig
from gan3dlib.train.recipe import MISSING_DATA, run_recipe

PRESET = TrainConfig(
    model=PRESET_SPECS["lsun_car"],
    data=MISSING_DATA,
    out="runs/lsun_car",
    kimg=5000.0,  # the paper: 5M images
    batch_size=32,
    checkpoint_kimg=50.0,
    sample_kimg=50.0,
)

if __name__ == "__main__":
    run_recipe(PRESET)
