"""The built-in demo: learn 3D faces from procedurally rendered images on a CPU, no data needed.

    python recipes/synthetic.py                               # 12 kimg: about 10 minutes on 2 CPU cores
    python recipes/synthetic.py --synthetic_category car --model.init sheet --model.use_size_constraint false
    python recipes/synthetic.py --kimg 0.2                    # a quick smoke run

The data are head-like objects (a nose, brow, eye sockets, chin, ears) with random textures over
random backgrounds, rendered by PyTorch3D's standard renderer (not the renderer being trained) from
the paper's FFHQ viewpoint range (`gan3dlib.data.synthetic_shapes`). Settings:
`gan3dlib.train.recipe.cpu_preset`. At the end the recipe writes, into the run folder (default
``runs/synthetic``):

- ``samples/``: sample sheets (render | normals | texture | background | 5 views over ±90°);
- ``shape_curve.json``: the shape metrics of G_ema every 2 k-images (the learning curve);
- ``sample.glb``: one generated textured mesh;
- ``metrics.json``: the shape metrics of the trained G_ema, of the untrained generator, of the
  floor (the clean initial shape at its best-fit size) and of held-out ground truth, and the
  fraction of the floor-to-truth gap the run closed per metric and on average (the shape gap).
"""

import sys

import torch

from gan3dlib.eval.baselines import floor_vertices
from gan3dlib.eval.synthetic_eval import GAP_METRICS, ShapeReference, gaps, grid_shapes, initial_scene, scene_shapes
from gan3dlib.scene import SceneGenerator
from gan3dlib.train.config import TrainConfig
from gan3dlib.train.recipe import cpu_preset, run_recipe
from gan3dlib.utils.json_files import write_json

PRESET = cpu_preset("face")
ROWS = ("depth_error", "normal_error", "mask_iou", "chamfer", "aspect_error", "front_error", "front", "back")


def report(result, config: TrainConfig, num: int = 64, num_truth: int = 256) -> dict:
    """Exports a sample mesh and scores G_ema between the floor and held-out ground truth."""
    run = result.run_folder
    trained = SceneGenerator.from_pretrained(run / "model")
    output = trained(*torch.randn(2, 1, config.model.z_dim, generator=torch.Generator().manual_seed(0)), noise_mode="const")
    trained.export(output, 0, run / "sample.glb")
    reference = ShapeReference(config.synthetic_config(), num_truth=num_truth, num_points=512, seed=config.seed)
    untrained = initial_scene(config)
    scores = {
        "trained": reference.score(scene_shapes(trained, num, config.seed)).as_dict(),
        "untrained": reference.score(scene_shapes(untrained, num, config.seed)).as_dict(),
        "floor": reference.score(grid_shapes(untrained, floor_vertices(untrained, reference)[0])).as_dict(),
        "truth": reference.score(reference.held_out(num)).as_dict(),
    }
    fractions, shape_gap = gaps(scores["trained"], scores["floor"], scores["truth"])
    metrics = {"kimg": result.kimg, "category": config.synthetic_category, **scores,
               "gap_closed": fractions, "shape_gap": shape_gap}
    write_json(run / "metrics.json", metrics)
    print(f"shape metrics against the ground truth ({config.synthetic_category}, {num} objects each):")
    print(f"{'':>14}" + "".join(f"{name:>10}" for name in scores))
    for key in ROWS:
        print(f"{key:>14}" + "".join(f"{scores[name][key]:>10.4f}" for name in scores))
    closed = ", ".join(f"{m} {fractions[m]:.0%}" for m in GAP_METRICS)
    print(f"gap closed from the floor to held-out ground truth: {closed}; mean (shape gap) {shape_gap:.0%}")
    return metrics


if __name__ == "__main__":
    from accelerate import PartialState

    from gan3dlib.config import parse_overrides

    config = parse_overrides(TrainConfig, sys.argv[1:], default=PRESET)
    result = run_recipe(PRESET)
    if PartialState().is_main_process:  # one report per run under `accelerate launch`
        report(result, config)
