"""How much frontal relief the images can tell at all: supervised fits from silhouettes alone.

    python recipes/depth_information.py                                  # 32² and 64², three view sets
    python recipes/depth_information.py --resolutions "[32]" --out runs/depth-information.json

The GAN sees each object once, from an unknown viewpoint, as a shaded image. This recipe asks an
easier question with the same parametrization (FULL's `SceneGenerator`, `shape_scale` of the CPU
demo): fit held-out face-benchmark objects from *known* viewpoints (`gan3dlib.eval.baselines.fit_oracle`)
with

- ``silhouettes + depth`` (the ladder's oracle, the ceiling of the tables),
- ``silhouettes`` only, from the oracle's 3 x 2 views over the data's yaw/pitch range,
- ``silhouettes`` only, from 9 x 3 views over the same range (as many viewpoints as the range has
  to give),

at each resolution, and scores every fit against held-out ground truth between the clean sphere
(floor) and the truth. What the silhouette-only fits do not recover, only shading or texture can
carry to a generator trained on these images; what they do not recover at 32² but do at 64², the
resolution withholds.
"""

from __future__ import annotations

import dataclasses

from gan3dlib.config import parse_overrides
from gan3dlib.errors import report_errors
from gan3dlib.eval.baselines import OracleConfig, fit_oracle, floor_shapes
from gan3dlib.eval.synthetic_eval import GAP_METRICS, ShapeReference, gaps, grid_shapes, initial_scene
from gan3dlib.train.recipe import cpu_preset
from gan3dlib.utils.json_files import write_json

FITS = {
    "silhouettes + depth, 3x2 views": {"depth_weight": 1.0},
    "silhouettes, 3x2 views": {"depth_weight": 0.0},
    "silhouettes, 9x3 views": {"depth_weight": 0.0, "yaw_views": 9, "pitch_views": 3, "batch_size": 4},
}
COLUMNS = ("front_relief", "relief_side", "depth_error", "normal_error", "chamfer", "aspect_error")


@dataclasses.dataclass(frozen=True)
class Information:
    """Resolutions, fits, objects and where the JSON goes."""

    resolutions: tuple[int, ...] = (32, 64)
    fits: tuple[str, ...] = tuple(FITS)
    num_objects: int = 16
    num_truth: int = 256
    num_points: int = 512
    seed: int = 0
    out: str = "runs/depth-information.json"


def main() -> None:
    run = parse_overrides(Information)
    unknown = [name for name in run.fits if name not in FITS]
    if unknown:
        raise ValueError(f"fits: expected names from {list(FITS)}, got {unknown}")
    results: dict[str, dict] = {}
    lines = ["| resolution | row | " + " | ".join(COLUMNS) + " | front_relief gap | shape gap |",
             "|---" * (len(COLUMNS) + 4) + "|"]
    for resolution in run.resolutions:
        config = cpu_preset("face", paper_s0=True)
        config = dataclasses.replace(config, seed=run.seed, model=dataclasses.replace(config.model, resolution=resolution))
        reference = ShapeReference(config.synthetic_config(), run.num_truth, run.num_points, run.seed)
        scene = initial_scene(config)
        truth = reference.held_out(run.num_objects)
        rows = {"floor": reference.score(floor_shapes(scene, reference, run.num_objects)).as_dict(),
                "truth": reference.score(truth).as_dict()}
        for name in run.fits:
            fitted = fit_oracle(scene, reference, truth.vertices, OracleConfig(**FITS[name]))
            rows[name] = reference.score(grid_shapes(scene, fitted, reference.yaws_degrees, reference.resolution)).as_dict()
        for name, row in rows.items():
            per_metric, shape_gap = gaps(row, rows["floor"], rows["truth"], GAP_METRICS)
            row["gap_truth"], row["shape_gap"] = per_metric, shape_gap
            cells = " | ".join(f"{row[c]:.3f}" for c in COLUMNS)
            lines.append(f"| {resolution}² | {name} | {cells} | {per_metric['front_relief']:.2f} | {shape_gap:.2f} |")
            print(lines[-1], flush=True)
        results[f"{resolution}"] = rows
        write_json(run.out, results)
    print("\n".join(lines))


if __name__ == "__main__":
    report_errors(main, "depth_information.py")
