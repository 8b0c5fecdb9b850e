"""The renderer benchmark stays runnable: its set-up and every method work at a tiny size."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from gan3dlib.render import pytorch3d_available

spec = importlib.util.spec_from_file_location("bench_render", Path(__file__).parents[1] / "benchmarks" / "bench_render.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


@pytest.mark.parametrize("method", [m for m in bench.METHODS if m == "ours/torch" or pytorch3d_available()])
def test_every_method_runs_at_a_tiny_size(method):
    result = bench.measure(method, grid_size=6, batch=1, image_size=16, blur=1.0, k=4, repeats=1)
    assert result["seconds"] > 0 and result["faces"] == 2 * 5 * 5
    if method == "ours/pytorch3d":
        assert result["max_abs_diff_vs_torch_backend"] < 1e-4


def test_scene_is_inside_the_image():
    screen, *_ = bench.make_scene(grid_size=8, batch=2, image_size=32)
    assert float(screen[..., :2].min()) > 0 and float(screen[..., :2].max()) < 32
    assert float(screen[..., 2].min()) > 0


def test_generator_benchmark_runs_at_a_tiny_size():
    spec_g = importlib.util.spec_from_file_location(
        "bench_generator", Path(__file__).parents[1] / "benchmarks" / "bench_generator.py"
    )
    bench_g = importlib.util.module_from_spec(spec_g)
    spec_g.loader.exec_module(bench_g)
    row = bench_g.measure("tiny_cpu", batch=2, repeats=1)
    assert row["params_object_g"] > 0 and row["fwd_img_s"] > 0 and 0 < row["render_share"] < 1


def test_training_benchmark_runs_at_a_tiny_size(tmp_path):
    spec_t = importlib.util.spec_from_file_location("bench_train", Path(__file__).parents[1] / "benchmarks" / "bench_train.py")
    bench_t = importlib.util.module_from_spec(spec_t)
    spec_t.loader.exec_module(bench_t)
    row = bench_t.measure("tiny_cpu", batch=4, steps=2, folder=tmp_path)
    assert row["img_s"] > 0 and row["d_s"] > 0 and row["render_s"] > 0


def test_the_device_check_runs_on_the_cpu_at_toy_sizes(tmp_path, capsys):
    spec_d = importlib.util.spec_from_file_location("device_check", Path(__file__).parents[1] / "benchmarks" / "device_check.py")
    device_check = importlib.util.module_from_spec(spec_d)
    spec_d.loader.exec_module(device_check)
    report = device_check.main(["--device", "cpu", "--quick", "--json", str(tmp_path / "report.json")])
    table = capsys.readouterr().out
    assert "| 3D / 2D ratio |" in table and "| face run |" in table and "| 16² |" in table
    steps = {row["step"]: row for row in report["steps"]}
    assert steps["3D"]["img_s"] > 0 and steps["2D"]["img_s"] > 0
    assert abs(steps["3D / 2D"]["img_s"] - steps["3D"]["img_s"] / steps["2D"]["img_s"]) < 1e-9
    for kind in ("3D", "2D"):  # the mean over one lazy-R1 cycle: 15 plain steps and one R1 step
        row = steps[kind]
        assert row["r1_seconds"] > 0 and row["r1_fp32_seconds"] > 0
        assert row["cycle_img_s"] == pytest.approx(16 * row["batch"] / (15 * row["seconds"] + row["r1_seconds"]))
    assert steps["3D"]["share_renderer"] > 0 and steps["3D"]["share_D"] > 0 and 0 <= steps["3D"]["share_G"] <= 1
    run = report["run"]
    assert run["kimg"] > 0 and run["steps"] >= 1 and run["front_floor"] < run["front_truth"]
    assert json.loads((tmp_path / "report.json").read_text())["renderer"][0]["faces"] == report["renderer"][0]["faces"]
