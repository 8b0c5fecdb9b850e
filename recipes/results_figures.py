"""The figures of the results page: ground-truth sheets, learned-versus-truth normal sheets, learning curves.

    python recipes/results_figures.py --out docs/images
    python recipes/results_figures.py --ladders "[runs/ladder-face, runs/ladder-car]" --out docs/images

- ``ground_truth_<category>.png``: per category, objects of the synthetic benchmark: the training image
  (as the discriminator sees it, upscaled) and the surface normals of the object from yaw -60°, -30°, 0°,
  30° and 60° (from its depth maps, so generated and true shapes are drawn the same way);
- ``<ladder>_normals_seed<k>.png``: per run of a ladder folder (one row per run, first held-out ground
  truth), the normals of 3 objects from yaw -30°, 0° and 30°;
- ``<ladder>_curves.svg`` and ``<ladder>_front.svg``: per run, the mean over seeds of the shape gap
  closed (0: the clean initial shape, 1: held-out ground truth) and of the frontal relief ``front_relief``
  against the k-images trained, from every run's ``shape_curve.json``;
- ``<runs_name>_<key>.svg``: one curve per folder of ``--runs`` (single runs, e.g. of several seeds)
  for every ``--run_keys`` entry of their shape curves (``gap.<metric>`` for a gap closed), with the
  truth and floor as reference lines:

      python recipes/results_figures.py --categories "[]" --runs "[runs/depth-long/kimg 150-seed0]" \
          --runs_name depth-long --run_keys "[gap.front_relief, depth_ratio, z_offset, gap.depth_error]"
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from collections import defaultdict
from pathlib import Path

import torch
import torch.nn.functional as F

from gan3dlib.config import parse_overrides
from gan3dlib.data.synthetic import SyntheticScenes
from gan3dlib.data.synthetic import synthetic_preset
from gan3dlib.errors import report_errors
from gan3dlib.eval.curves import read_curve
from gan3dlib.eval.shape_metrics import depth_normals
from gan3dlib.eval.synthetic_eval import ShapeReference, scene_shapes
from gan3dlib.scene import SceneGenerator
from gan3dlib.utils.atomic import atomic_write_bytes
from gan3dlib.viz import save_image
from gan3dlib.viz.plots import line_plot_svg

SHEET_YAWS = (-60.0, -30.0, 0.0, 30.0, 60.0)
LADDER_YAWS = (-30.0, 0.0, 30.0)
SIZE = 64  # pixels per tile


@dataclasses.dataclass(frozen=True)
class Figures:
    """What to draw."""

    out: str = "docs/images"
    categories: tuple[str, ...] = ("face", "car", "blob")
    ladders: tuple[str, ...] = ()
    seed: int = 0
    objects: int = 3
    runs: tuple[str, ...] = ()
    runs_name: str = "runs"
    run_keys: tuple[str, ...] = ("gap.front_relief", "depth_ratio", "z_offset")


def normal_tiles(depth: torch.Tensor, views: int) -> torch.Tensor:
    """(B, 3, H, K*W) RGB normal maps ``(n + 1) / 2`` (grey background) from (B, H, K*W) depth maps.

    ``depth_normals`` works in camera space with ``+z`` = depth; the tiles use the renderer's view
    space (``+z`` towards the camera), as the sample sheets do, so a surface facing the camera is blue.
    """
    normals, valid = depth_normals(depth.double(), 30.0, depth.shape[-1] // views)
    rgb = (normals * normals.new_tensor([1.0, 1.0, -1.0]) + 1) / 2
    grey = torch.full_like(rgb, 0.5)
    return torch.where((depth > 0)[..., None], torch.where(valid[..., None], rgb, 0.5 * rgb + 0.25), grey
                       ).permute(0, 3, 1, 2).float()


def ground_truth_sheet(category: str, count: int = 6) -> torch.Tensor:
    """(3, count * SIZE, (1 + 5) * SIZE) the training image and 5 normal views of ``count`` objects."""
    scenes = SyntheticScenes(synthetic_preset(category, count, 32, 0))
    images = F.interpolate(scenes.render(range(count)).images, size=(SIZE, SIZE), mode="nearest")
    rows = []
    for i in range(count):
        yaw = torch.tensor([math.radians(y) for y in SHEET_YAWS])
        depth = scenes.canonical_depth(i, yaw, torch.zeros_like(yaw), resolution=SIZE)[:, 0]
        normals = normal_tiles(torch.cat(list(depth), dim=1)[None], len(SHEET_YAWS))[0]
        rows.append(torch.cat([images[i], normals], dim=2))
    return torch.cat(rows, dim=1)


def ladder_sheet(ladder: Path, seed: int, count: int) -> torch.Tensor | None:
    """Rows: held-out ground truth, then every trained run of ``seed``; ``count`` objects x 3 views each."""
    runs = sorted(p for p in ladder.glob(f"*-seed{seed}") if (p / "model").is_dir())
    if not runs:
        return None
    config = json.loads((runs[0] / "train_config.json").read_text())
    synthetic = synthetic_preset(config["synthetic_category"], 100, config["model"]["resolution"], seed)
    reference = ShapeReference(synthetic, num_truth=1, num_points=16, seed=seed, yaws_degrees=LADDER_YAWS)
    rows = [_row(reference.held_out(count).depth, synthetic.resolution)]
    for run in runs:
        scene = SceneGenerator.from_pretrained(run / "model")
        rows.append(_row(scene_shapes(scene, count, seed, yaws_degrees=LADDER_YAWS).depth, synthetic.resolution))
    names = ["truth"] + [run.name.rsplit("-seed", 1)[0] for run in runs]
    print(f"{ladder.name} seed {seed}: rows " + ", ".join(names))
    return torch.cat(rows, dim=1)


def _row(depth: torch.Tensor, resolution: int) -> torch.Tensor:
    tiles = normal_tiles(depth, len(LADDER_YAWS))  # (B, 3, R, 3R)
    tiles = F.interpolate(tiles, scale_factor=SIZE / resolution, mode="nearest")
    return torch.cat(list(tiles), dim=2)


def curves(ladder: Path, key: str) -> dict[str, list[tuple[float, float]]]:
    """Per run name, ``(kimg, mean over seeds of key)`` from the runs' shape curves."""
    points: dict[str, dict[float, list[float]]] = defaultdict(lambda: defaultdict(list))
    for path in sorted(ladder.glob("*-seed*/shape_curve.json")):
        name = path.parent.name.rsplit("-seed", 1)[0]
        for point in json.loads(path.read_text())["points"]:
            value = point.get(key)
            if isinstance(value, int | float) and math.isfinite(value):
                points[name][point["kimg"]].append(value)
    return {name: [(k, statistics.fmean(v)) for k, v in sorted(by_kimg.items())] for name, by_kimg in points.items()}


def _value(record: dict, key: str) -> float | None:
    """``record[key]``, or ``record["gap"][metric]`` for ``key = "gap.<metric>"``; None when absent."""
    for part in key.split("."):
        record = record.get(part) if isinstance(record, dict) else None
    return float(record) if isinstance(record, int | float) else None


def run_curves(folders: list[Path], key: str) -> tuple[dict[str, list[tuple[float, float]]], dict[str, float]]:
    """Per run folder, ``(kimg, key)`` from its shape curve; and the truth and floor of ``key`` (first run)."""
    series, references = {}, {}
    for folder in folders:
        saved = read_curve(folder)
        series[folder.name] = [(p["kimg"], v) for p in saved["points"] if (v := _value(p, key)) is not None]
        if not references:
            gap = key.startswith("gap.")
            references = {"truth": 1.0, "floor": 0.0} if gap else {
                name: v for name in ("truth", "floor") if (v := _value(saved[name], key)) is not None}
    return series, references


def main() -> None:
    figures = parse_overrides(Figures)
    out = Path(figures.out)
    for category in figures.categories:
        save_image(ground_truth_sheet(category), out / f"ground_truth_{category}.png")
    for ladder in map(Path, figures.ladders):
        sheet = ladder_sheet(ladder, figures.seed, figures.objects)
        if sheet is not None:
            save_image(sheet, out / f"{ladder.name}_normals_seed{figures.seed}.png")
        gap = curves(ladder, "shape_gap")
        if gap:
            svg = line_plot_svg(gap, title=f"{ladder.name}: shape gap closed (mean over seeds)", x_label="k-images",
                                y_label="fraction of the floor → truth gap", reference_lines={"truth": 1.0, "floor": 0.0})
            atomic_write_bytes(out / f"{ladder.name}_curves.svg", svg.encode())
        front = curves(ladder, "front_relief")
        if front:
            first = next(ladder.glob("*-seed*/shape_curve.json"))
            saved = json.loads(first.read_text())
            svg = line_plot_svg(front, title=f"{ladder.name}: frontal relief (mean over seeds)", x_label="k-images",
                                y_label="front relief (half-widths)",
                                reference_lines={"truth": saved["truth"]["front_relief"],
                                                 "floor": saved["floor"]["front_relief"]})
            atomic_write_bytes(out / f"{ladder.name}_front.svg", svg.encode())
    for key in figures.run_keys if figures.runs else ():
        series, references = run_curves([Path(r) for r in figures.runs], key)
        label = f"fraction of the floor → truth gap of {key[4:]}" if key.startswith("gap.") else key
        svg = line_plot_svg(series, title=f"{figures.runs_name}: {label}", x_label="k-images", y_label=label,
                            reference_lines=references)
        atomic_write_bytes(out / f"{figures.runs_name}_{key.replace('.', '_')}.svg", svg.encode())


if __name__ == "__main__":
    report_errors(main, "results_figures.py")
