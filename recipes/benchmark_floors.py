"""How far each ground-truth category is from the clean initial shapes: the benchmark's floors.

    python recipes/benchmark_floors.py                          # face, car, blob; sphere and sheet
    python recipes/benchmark_floors.py --categories "[face]" --out runs/floors.json

For every category of the synthetic benchmark (`gan3dlib.data.synthetic_shapes`) and every initial
shape, scores the clean initial shape (`gan3dlib.eval.baselines.floor_shapes`: best-fit size, no
offsets) and held-out ground truth against the same reference set, with the ladder's default
scoring (64 objects, 256 reference objects, 512 surface points each). A category whose floor
scores like its truth could not tell a method that learned nothing from one that learned the
shape; the table says by how much each metric separates them.
"""

from __future__ import annotations

import dataclasses

from gan3dlib.config import parse_overrides
from gan3dlib.errors import report_errors
from gan3dlib.eval.baselines import floor_shapes
from gan3dlib.eval.synthetic_eval import GAP_METRICS, ShapeReference, initial_scene
from gan3dlib.experiments.ablation import LadderScoring
from gan3dlib.presets import ablation
from gan3dlib.train.recipe import cpu_preset
from gan3dlib.utils.json_files import write_json

STATISTICS = ("relief_side", "aspect_mid", "aspect_thin", "depth_ratio")


@dataclasses.dataclass(frozen=True)
class Floors:
    """Which categories and initial shapes, and where the JSON goes."""

    categories: tuple[str, ...] = ("face", "car", "blob")
    inits: tuple[str, ...] = ("sphere", "sheet")
    seed: int = 0
    out: str = "runs/benchmark_floors.json"
    scoring: LadderScoring = dataclasses.field(default_factory=LadderScoring)


def main() -> None:
    run = parse_overrides(Floors)
    results: dict[str, dict] = {}
    columns = (*GAP_METRICS, *STATISTICS)
    lines = ["| category | row | " + " | ".join(columns) + " |", "|---" * (len(columns) + 2) + "|"]
    for category in run.categories:
        config = dataclasses.replace(cpu_preset(category, paper_s0=True), seed=run.seed)
        scoring = run.scoring
        reference = ShapeReference(config.synthetic_config(), scoring.num_truth, scoring.num_points, run.seed)
        rows = {"truth": reference.score(reference.held_out(scoring.num_generated)).as_dict()}
        for init in run.inits:
            model = ablation(config.model, "CAR" if init == "sheet" else "FULL")
            scene = initial_scene(dataclasses.replace(config, model=model))
            rows[f"floor, {init} s0"] = reference.score(floor_shapes(scene, reference, scoring.num_generated)).as_dict()
        results[category] = rows
        for name, score in rows.items():
            lines.append(f"| {category} | {name} | " + " | ".join(f"{score[c]:.3f}" for c in columns) + " |")
        write_json(run.out, results)
    print("\n".join(lines))


if __name__ == "__main__":
    report_errors(main, "benchmark_floors.py")
