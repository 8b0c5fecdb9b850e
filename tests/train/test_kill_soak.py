"""Kill soak: SIGKILL a run again and again, rerun the same command, lose nothing (slow).

Half of the kills land at random moments, half are aimed at checkpoint writes (the moment a staging
folder appears). After every kill the same command runs again; a kill is counted as "inside a
checkpoint write" when a staging folder is still there afterwards. At the end the run reaches its
final k-image, every kept checkpoint loads, the final weights equal those of an uninterrupted run bit
for bit, and every end-of-run artifact exists.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from gan3dlib.scene import SceneGenerator
from gan3dlib.train.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint

sys.path.insert(0, str(Path(__file__).parent))

from train_helpers import image_folder, tiny_config  # noqa: E402

WORKER = Path(__file__).parent / "soak_worker.py"
KILLS, IN_WRITES = 20, 5


ENV = {**os.environ, "OMP_NUM_THREADS": "1"}  # one thread everywhere: float sums in one order, runs comparable bit for bit


def start(data: Path, run: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), str(data), str(run)], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def staging(run: Path) -> list[Path]:
    folder = run / "checkpoints"
    return [p for p in folder.iterdir() if p.name.endswith(".tmp")] if folder.is_dir() else []


@pytest.mark.slow
def test_twenty_kills_lose_nothing(tmp_path):
    rng = random.Random(0)
    data = image_folder(tmp_path / "data")
    straight = subprocess.run([sys.executable, str(WORKER), str(data), str(tmp_path / "straight")],
                              capture_output=True, timeout=600, env=ENV)
    assert straight.returncode == 0, straight.stderr.decode()[-2000:]
    run = tmp_path / "run"
    kills = in_writes = attempts = 0
    started = time.time()
    while (kills < KILLS or in_writes < IN_WRITES) and attempts < 120:
        attempts += 1
        proc = start(data, run)
        aimed = attempts % 2 == 0
        deadline = time.time() + (30.0 if aimed else rng.uniform(2.0, 8.0))
        while time.time() < deadline and proc.poll() is None and not (aimed and staging(run)):
            time.sleep(0.0005 if aimed else 0.01)
        if proc.poll() is not None:  # it finished before the kill: the run is complete
            assert proc.returncode == 0, proc.stderr.read().decode()[-2000:]
            break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        kills += 1
        in_writes += bool(staging(run))
    final = subprocess.run([sys.executable, str(WORKER), str(data), str(run)], capture_output=True, timeout=600,
                           env=ENV)
    assert final.returncode == 0, final.stderr.decode()[-2000:]
    assert kills >= KILLS and in_writes >= IN_WRITES, (kills, in_writes, attempts)
    config = tiny_config(data, run)
    for checkpoint in list_checkpoints(run):  # every kept checkpoint is complete and loads
        load_checkpoint(checkpoint, {"G": config.model.build()}, {})
    assert latest_checkpoint(run).name == "ckpt-000000080" == latest_checkpoint(tmp_path / "straight").name
    a = load_file(str(latest_checkpoint(tmp_path / "straight") / "models.safetensors"))
    b = load_file(str(latest_checkpoint(run) / "models.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=0, msg=key)
    for artifact in ("samples/interpolation.gif", "samples/sheet-000000.080kimg.png", "train_config.json"):
        assert (run / artifact).stat().st_size > 0, artifact
    SceneGenerator.from_pretrained(run / "model")
    assert not [p for p in run.rglob(".*.tmp")]
    kimgs = [json.loads(line)["kimg"] for line in (run / "stats.jsonl").read_text().splitlines()]
    assert kimgs == sorted(set(kimgs)) and kimgs[-1] == 0.08  # one line per logged step, none twice
    print(f"\nkill soak: {kills} kills ({in_writes} inside checkpoint writes) in {attempts} starts, "
          f"{time.time() - started:.0f} s; final weights equal the uninterrupted run's")
