"""recipes/depth_table.py: one table from result folders and earlier tables."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _row(name: str, seed: int, relief: float, **extra) -> dict:
    return {"ablation": name, "seed": seed, "kimg": 12.0, "front_relief": relief, "relief_side": 0.5,
            "z_offset": 0.0, "depth_ratio": 1.0, "gap_truth": {"front_relief": relief}, "shape_gap": relief, **extra}


def _table(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "recipes" / "depth_table.py"), *args],
                          capture_output=True, text=True, cwd=REPO)


def test_a_folder_replaces_a_table_row_in_place_and_keeps_the_rest(tmp_path):
    old = {"truth (seed 0)": _row("truth", 0, 1.0), "FULL (seed 0)": _row("FULL", 0, 0.1),
           "kimg 50 (seed 0)": _row("kimg 50", 0, 0.4)}
    (tmp_path / "old.json").write_text(json.dumps({"folders": ["gone"], "rows": old}))
    folder = tmp_path / "new"
    folder.mkdir()
    runs = [_row("truth", 0, 1.0, relief_behind=0.0), _row("FULL", 0, 0.2, relief_behind=0.1),
            _row("FULL", 0, 0.9), _row("deep s0", 0, 0.5, relief_behind=0.0)]
    (folder / "results.json").write_text(json.dumps({"runs": runs}))
    out = tmp_path / "merged.json"
    done = _table("--tables", f"[{tmp_path / 'old.json'}]", "--folders", f"[{folder}]", "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = json.loads(out.read_text())["rows"]
    assert list(rows) == ["truth (seed 0)", "FULL (seed 0)", "kimg 50 (seed 0)", "deep s0 (seed 0)"]
    # the folder's first FULL row replaced the table's; the table's own rows stay as they were
    assert rows["FULL (seed 0)"]["front_relief"] == 0.2 and rows["kimg 50 (seed 0)"]["front_relief"] == 0.4
    lines = {line.split(" | ")[0].lstrip("| "): line for line in done.stdout.splitlines()}
    assert " 0.10 " in lines["FULL (seed 0)"]  # relief behind, from the new row
    assert math.isnan(float(lines["kimg 50 (seed 0)"].split(" | ")[4]))  # the old row has none: nan, not a crash


def test_a_missing_table_is_one_line_naming_the_argument(tmp_path):
    done = _table("--tables", f"[{tmp_path / 'nope.json'}]", "--folders", "[]")
    assert done.returncode != 0
    assert "tables:" in done.stderr and "Traceback" not in done.stderr


def test_pooled_rows_are_the_mean_and_std_over_seeds_of_each_name(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    runs = [_row("FULL", 1, 0.1, chamfer=0.004), _row("FULL", 2, 0.3, chamfer=0.006),
            _row("deep s0", 1, 0.5, chamfer=0.002, gap_common={"front_relief": 0.7}, shape_gap_common=0.8)]
    (folder / "results.json").write_text(json.dumps({"runs": runs}))
    done = _table("--folders", f"[{folder}]", "--pooled", "true")
    assert done.returncode == 0, done.stderr
    pooled = done.stdout.split("\n\n")[1]
    cells = {line.split(" | ")[0].lstrip("| "): line.rstrip(" |").split(" | ") for line in pooled.splitlines()}
    header = cells["row"]
    full, deep = cells["FULL"], cells["deep s0"]
    assert full[header.index("seeds")] == "1, 2"
    assert full[header.index("front_relief")] == "0.2 ± 0.1"  # population std of 0.1 and 0.3
    assert full[header.index("chamfer")] == "5 ± 1"  # ×10³
    assert full[header.index("depth_error")] == "–"  # not scored: no number made up
    # a stretched start's gaps are read from the sphere's floor, a sphere start's from its own
    assert deep[header.index("gap front_relief, sphere floor")] == "0.7 ± 0"
    assert full[header.index("shape gap, sphere floor")] == "0.2 ± 0.1"


def test_a_row_scored_before_the_common_gaps_existed_gets_them_from_its_seeds_sphere_floor(tmp_path):
    truth = {"depth_error": 0.1, "normal_error": 4.0, "chamfer": 0.003, "aspect_error": 0.02, "front_relief": 0.2}
    floor = {"depth_error": 0.5, "normal_error": 20.0, "chamfer": 0.013, "aspect_error": 0.09, "front_relief": 0.0}
    halfway = {m: (truth[m] + floor[m]) / 2 for m in truth}
    own = {m: 0.1 for m in truth}  # its gaps from its own (stretched) floor: not the common scale
    rows = {"truth (seed 3)": {**_row("truth", 3, 0.2), **truth},
            "floor, sphere s0 (seed 3)": {**_row("floor, sphere s0", 3, 0.0), **floor},
            "deep s0 kimg 50 (seed 3)": {**_row("deep s0 kimg 50", 3, 0.1), **halfway, "gap_truth": own,
                                         "shape_gap": 0.1},
            "deep s0 (seed 4)": {**_row("deep s0", 4, 0.1), **halfway, "gap_truth": own, "shape_gap": 0.1}}
    (tmp_path / "old.json").write_text(json.dumps({"folders": [], "rows": rows}))
    done = _table("--tables", f"[{tmp_path / 'old.json'}]", "--folders", "[]")
    assert done.returncode == 0, done.stderr
    lines = {line.split(" | ")[0].lstrip("| "): line.rstrip(" |").split(" | ") for line in done.stdout.splitlines()}
    assert lines["deep s0 kimg 50 (seed 3)"][-2:] == ["0.50", "0.50"]  # halfway from the sphere to the truth
    assert lines["deep s0 (seed 4)"][-2:] == ["0.10", "0.10"]  # no floor of its seed: its own gaps, as recorded
