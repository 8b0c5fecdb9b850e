"""The built-in demo: learn 3D faces from procedurally rendered images on a CPU, no data needed.

    python recipes/synthetic.py                               # 12 kimg: about 7 minutes on 2 CPU cores
    python recipes/synthetic.py --synthetic_category car --model.shape.init sheet --model.shape.use_size_constraint false
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
  fraction of the floor-to-truth gap the run closed per metric and on average (the shape gap); a
  run that starts from a stretched sphere also holds the sphere's floor (``floor_sphere``) and the
  gaps from it (``gap_closed_from_sphere``, ``shape_gap_from_sphere``).
"""

import json

import torch

from gan3dlib.config import replace_nested
from gan3dlib.errors import report_errors
from gan3dlib.eval.baselines import floor_shapes
from gan3dlib.eval.synthetic_eval import GAP_METRICS, ShapeReference, gaps, initial_scene, scene_shapes
from gan3dlib.scene import SceneGenerator
from gan3dlib.train.config import TrainConfig
from gan3dlib.train.recipe import cpu_preset, run_recipe
from gan3dlib.utils.json_files import write_json

PRESET = cpu_preset("face")
ROWS = ("depth_error", "normal_error", "mask_iou", "chamfer", "aspect_error", "front_error", "front", "back")


def report(result, config: TrainConfig, num: int = 64, num_truth: int = 256) -> dict:
    """Exports a sample mesh and scores G_ema between the floor and held-out ground truth.

    A run folder that already holds both for the trained k-images keeps them (the scores are printed again).
    """
    run = result.run_folder
    trained = SceneGenerator.from_pretrained(run / "model")
    if not (run / "sample.glb").is_file():
        latents = torch.randn(2, 1, config.model.z_dim, generator=torch.Generator().manual_seed(0))
        trained.export(trained(*latents, noise_mode="const"), 0, run / "sample.glb")
    saved = json.loads((run / "metrics.json").read_text()) if (run / "metrics.json").is_file() else None
    if saved is not None and saved.get("kimg") == result.kimg and saved.get("num") == num:
        _print(saved)
        return saved
    reference = ShapeReference(config.synthetic_config(), num_truth=num_truth, num_points=512, seed=config.seed)
    untrained = initial_scene(config)
    scores = {
        "trained": reference.score(scene_shapes(trained, num, config.seed)).as_dict(),
        "untrained": reference.score(scene_shapes(untrained, num, config.seed)).as_dict(),
        "floor": reference.score(floor_shapes(untrained, reference, num)).as_dict(),
        "truth": reference.score(reference.held_out(num)).as_dict(),
    }
    fractions, shape_gap = gaps(scores["trained"], scores["floor"], scores["truth"])
    metrics = {"kimg": result.kimg, "num": num, "category": config.synthetic_category, **scores,
               "gap_closed": fractions, "shape_gap": shape_gap}
    if config.model.shape.init == "sphere" and tuple(config.model.shape.sphere_axes) != (1.0, 1.0, 1.0):
        # A stretched start is a prior: the gap from the paper's sphere says what start and training gave together.
        sphere = initial_scene(replace_nested(config, {"model.shape.sphere_axes": (1.0, 1.0, 1.0)}))
        metrics["floor_sphere"] = reference.score(floor_shapes(sphere, reference, num)).as_dict()
        metrics["gap_closed_from_sphere"], metrics["shape_gap_from_sphere"] = gaps(
            scores["trained"], metrics["floor_sphere"], scores["truth"])
    write_json(run / "metrics.json", metrics)
    _print(metrics)
    return metrics


def _print(metrics: dict) -> None:
    names = ("trained", "untrained", "floor", "truth", *(["floor_sphere"] if "floor_sphere" in metrics else []))
    print(f"shape metrics against the ground truth ({metrics['category']}, {metrics['num']} objects each):")
    print(f"{'':>14}" + "".join(f"{name:>13}" for name in names))
    for key in ROWS:
        print(f"{key:>14}" + "".join(f"{metrics[name][key]:>13.4f}" for name in names))
    closed = ", ".join(f"{m} {metrics['gap_closed'][m]:.0%}" for m in GAP_METRICS)
    print(f"gap closed from the floor to held-out ground truth: {closed}; mean (shape gap) {metrics['shape_gap']:.0%}")
    if "floor_sphere" in metrics:
        closed = ", ".join(f"{m} {metrics['gap_closed_from_sphere'][m]:.0%}" for m in GAP_METRICS)
        print(f"the same from the sphere (floor_sphere): {closed}; mean {metrics['shape_gap_from_sphere']:.0%}")


if __name__ == "__main__":
    from accelerate import PartialState

    result = run_recipe(PRESET)
    if PartialState().is_main_process:  # one report per run under `accelerate launch`
        report_errors(lambda: report(result, result.config), "synthetic.py")
