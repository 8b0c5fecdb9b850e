"""One table from several depth-diagnosis folders (same benchmark, seed and scoring): the rows of each.

    python recipes/depth_table.py --folders "[runs/depth-diagnosis, runs/depth-more]" --out docs/data/depth-diagnosis.json
    python recipes/depth_table.py --tables "[docs/data/depth-diagnosis.json]" --folders "[runs/depth-deep]" --out docs/data/depth-diagnosis.json

Every folder is the ``--train.out`` of a `recipes/depth_diagnosis.py` call; a row (name and seed)
seen twice keeps its first appearance. ``--tables`` starts from the rows of earlier ``--out`` files
(whose folders may be gone): a folder's row replaces a table's row of the same name in place, as the newer measurement. Prints a
markdown table of the frontal relief, the fractions of objects with it in front and behind, the
object's offset towards the camera and its depth-to-width ratio beside the fraction of each floor-to-truth gap closed
(from the run's own floor), then the frontal-relief and shape gap from the floor every run shares (the
sphere's): they differ only for a run that starts from a stretched sphere. ``--pooled true`` adds a
table of every row name over its seeds (mean ± std):

    python recipes/depth_table.py --folders "[runs/depth-deep-s0, runs/depth-deep-s1]" --pooled true
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from pathlib import Path

from gan3dlib.config import parse_overrides
from gan3dlib.errors import report_errors
from gan3dlib.eval.synthetic_eval import GAP_METRICS, gaps
from gan3dlib.utils.json_files import write_json

STATISTICS = ("front_relief", "relief_side", "relief_behind", "z_offset", "depth_ratio")


# Pooled over seeds (``--pooled``): the raw scores (Chamfer ×10³) and the gaps from the sphere's floor.
POOLED = ("depth_error", "normal_error", "mask_iou", "chamfer", "aspect_error", *STATISTICS[:3], "depth_ratio", "fid")


@dataclasses.dataclass(frozen=True)
class Folders:
    """The result folders, in the order their rows should appear, and the combined JSON.

    ``pooled`` also prints every row name pooled over its seeds: mean ± std (population) of the
    raw scores and of the frontal-relief and shape gaps from the sphere's floor, with the seeds.
    """

    folders: tuple[str, ...] = ("runs/depth-diagnosis",)
    tables: tuple[str, ...] = ()
    out: str | None = None
    pooled: bool = False


def main() -> None:
    run = parse_overrides(Folders)
    rows = _collect(run)
    print(_per_run(rows))
    if run.pooled:
        print("\n" + _pooled(rows))
    if run.out:
        write_json(run.out, {"tables": list(run.tables), "folders": list(run.folders), "rows": rows})


def _collect(run: Folders) -> dict[str, dict]:
    """The rows of the tables, then of the folders (a folder's row replaces a table's of the same name)."""
    rows: dict[str, dict] = {}
    for table in run.tables:
        path = Path(table)
        if not path.is_file():
            raise ValueError(f"tables: {table!r} is not a file (expected a JSON written by depth_table.py --out)")
        rows.update(json.loads(path.read_text(encoding="utf-8"))["rows"])
    fresh: dict[str, dict] = {}
    for folder in run.folders:
        path = Path(folder) / "results.json"
        if not path.is_file():
            raise ValueError(f"folders: {folder!r} holds no results.json (run recipes/depth_diagnosis.py with "
                             f"--train.out {folder} first)")
        for row in json.loads(path.read_text(encoding="utf-8"))["runs"]:
            fresh.setdefault(f"{row['ablation']} (seed {row['seed']})", row)
    rows.update(fresh)
    return rows


def _common_gaps(row: dict, rows: dict[str, dict]) -> tuple[float, float]:
    """The frontal-relief and shape gap from the sphere's floor, the floor every run shares.

    A row scored before its gaps from the sphere's floor were recorded (``gap_common``) gets them
    from its seed's ``floor, sphere s0`` and ``truth`` rows of the table, where both are there:
    for a run from the sphere they equal its own gaps, for one from a stretched sphere they do not.
    """
    if "gap_common" in row:
        return row["gap_common"].get("front_relief", math.nan), row["shape_gap_common"]
    floor, truth = (rows.get(f"{name} (seed {row['seed']})") for name in ("floor, sphere s0", "truth"))
    if floor is None or truth is None:
        return (row.get("gap_truth") or {}).get("front_relief", math.nan), row["shape_gap"]
    common, shape_gap = gaps(row, floor, truth)
    return common["front_relief"], shape_gap


def _per_run(rows: dict[str, dict]) -> str:
    header = ["row", "kimg", *STATISTICS, *(f"gap {m}" for m in GAP_METRICS), "shape gap",
              "gap front_relief, sphere floor", "shape gap, sphere floor"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for name, row in rows.items():
        gap = row.get("gap_truth") or {}
        cells = [name, f"{row['kimg']:g}" if row.get("kimg") is not None else "–",
                 *(f"{row.get(s, math.nan):.2f}" for s in STATISTICS),
                 *(f"{gap.get(m, math.nan):.2f}" for m in GAP_METRICS), f"{row['shape_gap']:.2f}",
                 *(f"{g:.2f}" for g in _common_gaps(row, rows))]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _pooled(rows: dict[str, dict]) -> str:
    groups: dict[str, list[dict]] = {}
    for row in rows.values():
        groups.setdefault(row["ablation"], []).append(row)
    header = ["row", "seeds", *POOLED, "gap front_relief, sphere floor", "shape gap, sphere floor"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for name, group in groups.items():
        columns = [[math.nan if r.get(k) is None else r[k] for r in group] for k in POOLED]
        columns[POOLED.index("chamfer")] = [v * 1e3 for v in columns[POOLED.index("chamfer")]]
        columns += [list(c) for c in zip(*(_common_gaps(r, rows) for r in group))]
        seeds = ", ".join(str(r["seed"]) for r in group)
        lines.append("| " + " | ".join([name, seeds, *(_mean_std(c) for c in columns)]) + " |")
    return "\n".join(lines)


def _mean_std(values: list[float]) -> str:
    if any(math.isnan(v) for v in values):
        return "–"
    return f"{statistics.fmean(values):.3g} ± {statistics.pstdev(values):.2g}"


if __name__ == "__main__":
    report_errors(main, "depth_table.py")
