"""Two CPU processes (torchrun + gloo): identical generator weights, different data per rank."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from train_helpers import image_folder


@pytest.mark.skipif(shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists(), reason="torchrun missing")
def test_two_processes_stay_in_sync_and_see_different_data(tmp_path):
    data = image_folder(tmp_path / "data", count=40)
    torchrun = str(Path(sys.executable).parent / "torchrun")
    worker = Path(__file__).parent / "distributed_worker.py"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run(
        [torchrun, "--nproc_per_node", "2", "--master_port", "29517", str(worker), str(data), str(tmp_path)],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert ranks[0]["steps"] == ranks[1]["steps"] == 4  # 16 images at a global batch of 4
    assert ranks[0]["G"] == ranks[1]["G"]  # gradients were all-reduced: identical weights
    assert ranks[0]["seen"] != ranks[1]["seen"]  # each process drew its own real images
    assert len(ranks[0]["seen"]) == len(ranks[1]["seen"]) == 4 * 2  # 2 images per rank per step
