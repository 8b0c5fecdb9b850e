"""The built-in demo: learn 3D from procedurally rendered scenes on a CPU, no data needed.

    python recipes/synthetic.py                  # 12 kimg: 7-10 minutes on 2 CPU cores
    python recipes/synthetic.py --kimg 0.2       # a quick smoke run

The data are random smooth textured objects over random backgrounds, rendered by PyTorch3D's
standard renderer (not the renderer being trained) from the paper's FFHQ viewpoint range. At the
end the recipe writes, into the run folder (default ``runs/synthetic``):

- ``samples/``: sample sheets (render | normals | texture | background | 5 views over ±90°);
- ``sample.glb``: one generated textured mesh;
- ``metrics.json``: the shape score of the trained G_ema and of the untrained generator (its
  initial sphere) against the ground-truth objects: aligned depth error of canonical-view depth
  maps to the nearest ground-truth object (lower is better), mask IoU, hollow fraction
  (``gan3dlib.eval.synthetic_eval``).
"""

import dataclasses
import json
import sys

import torch

from gan3dlib.data.synthetic import SyntheticScenes
from gan3dlib.eval.synthetic_eval import initial_scene, score_against_synthetic
from gan3dlib.presets import PRESET_SPECS
from gan3dlib.scene import SceneGenerator
from gan3dlib.train.config import TrainConfig
from gan3dlib.train.loop import synthetic_data_config
from gan3dlib.train.recipe import run_recipe

PRESET = TrainConfig(
    # 5x the paper's shape learning rate (shape_scale 0.002): shapes must move within 12 k-images.
    model=dataclasses.replace(PRESET_SPECS["tiny_cpu"], shape_scale=0.01),
    data="synthetic",
    synthetic_images=2000,
    out="runs/synthetic",
    kimg=12.0,
    batch_size=16,
    r1_gamma=0.05,
    checkpoint_kimg=2.0,
    sample_kimg=2.0,
    log_kimg=0.16,
)


def report(result, config: TrainConfig) -> dict:
    """Exports a sample mesh and scores G_ema and the untrained generator against the ground truth."""
    run = result.run_folder
    trained = SceneGenerator.from_pretrained(run / "model")
    output = trained(*torch.randn(2, 1, config.model.z_dim, generator=torch.Generator().manual_seed(0)), noise_mode="const")
    trained.export(output, 0, run / "sample.glb")
    scenes = SyntheticScenes(synthetic_data_config(config.synthetic_images, config.model.resolution, config.seed))
    untrained = initial_scene(config)
    metrics = {
        "kimg": result.kimg,
        "trained": score_against_synthetic(trained, scenes).as_dict(),
        "untrained (initial sphere)": score_against_synthetic(untrained, scenes).as_dict(),
    }
    (run / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    print(json.dumps(metrics, indent=2))
    return metrics


if __name__ == "__main__":
    from accelerate import PartialState

    from gan3dlib.config import parse_overrides

    config = parse_overrides(TrainConfig, sys.argv[1:], default=PRESET)
    result = run_recipe(PRESET)
    if PartialState().is_main_process:  # one report per run under `accelerate launch`
        report(result, config)
