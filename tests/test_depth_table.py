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
