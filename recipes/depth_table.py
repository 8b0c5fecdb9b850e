"""One table from several depth-diagnosis folders (same benchmark, seed and scoring): the rows of each.

    python recipes/depth_table.py --folders "[runs/depth-diagnosis, runs/depth-more]" --out docs/data/depth-diagnosis.json
    python recipes/depth_table.py --tables "[docs/data/depth-diagnosis.json]" --folders "[runs/depth-deep]" --out docs/data/depth-diagnosis.json

Every folder is the ``--train.out`` of a `recipes/depth_diagnosis.py` call; the baselines (truth,
floor, oracle, untrained) are taken from the first folder, and a row seen twice keeps its first
appearance. ``--tables`` starts from the rows of earlier ``--out`` files (whose folders may be gone):
a folder's row replaces a table's row of the same name in place, as the newer measurement. Prints a
markdown table of the frontal relief, the fractions of objects with it in front and behind, the
object's offset towards the camera and its depth-to-width ratio beside the fraction of each floor-to-truth gap closed
(from the run's own floor), then the frontal-relief and shape gap from the floor every run shares (the
sphere's): they differ only for a run that starts from a stretched sphere.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from gan3dlib.config import parse_overrides
from gan3dlib.errors import report_errors
from gan3dlib.eval.synthetic_eval import GAP_METRICS
from gan3dlib.utils.json_files import write_json

STATISTICS = ("front_relief", "relief_side", "relief_behind", "z_offset", "depth_ratio")


@dataclasses.dataclass(frozen=True)
class Folders:
    """The result folders, in the order their rows should appear, and the combined JSON."""

    folders: tuple[str, ...] = ("runs/depth-diagnosis",)
    tables: tuple[str, ...] = ()
    out: str | None = None


def main() -> None:
    run = parse_overrides(Folders)
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
    header = ["row", "kimg", *STATISTICS, *(f"gap {m}" for m in GAP_METRICS), "shape gap",
              "gap front_relief, sphere floor", "shape gap, sphere floor"]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for name, row in rows.items():
        gap = row.get("gap_truth") or {}
        common = row.get("gap_common", gap)
        cells = [name, f"{row['kimg']:g}" if row.get('kimg') is not None else "–", *(f"{row.get(s, float('nan')):.2f}" for s in STATISTICS),
                 *(f"{gap.get(m, float('nan')):.2f}" for m in GAP_METRICS), f"{row['shape_gap']:.2f}",
                 f"{common.get('front_relief', float('nan')):.2f}", f"{row.get('shape_gap_common', row['shape_gap']):.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    print("\n".join(lines))
    if run.out:
        write_json(run.out, {"tables": list(run.tables), "folders": list(run.folders), "rows": rows})


if __name__ == "__main__":
    report_errors(main, "depth_table.py")
