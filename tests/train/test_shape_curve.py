"""Shape learning curves during synthetic runs, and the demo's report."""

from __future__ import annotations

import dataclasses
import json
import math
import runpy
from pathlib import Path

import pytest

pytest.importorskip("pytorch3d.renderer")

from gan3dlib.eval.curves import CURVE_METRICS, read_curve  # noqa: E402
from gan3dlib.nets.discriminator import DiscriminatorConfig  # noqa: E402
from gan3dlib.presets import scene_config  # noqa: E402
from gan3dlib.train.config import TrainConfig  # noqa: E402
from gan3dlib.train.loop import train  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def face_run(out: Path, **changes) -> TrainConfig:
    spec = scene_config(16, z_dim=16, mapping_layers=1, channel_base=64, channel_max=16, pyramid_levels=2,
                     shape_scale=0.01)
    base = TrainConfig(model=spec, discriminator=DiscriminatorConfig(None, channel_base=64, channel_max=16), data="synthetic", synthetic_images=8, synthetic_category="face", out=str(out),
                       kimg=0.016, batch_size=4, cpu=True, checkpoint_kimg=0.008, sample_kimg=1.0, log_kimg=1.0,
                       eval_kimg=0.008)
    return dataclasses.replace(base, **changes)


def test_a_synthetic_run_records_its_shape_curve_and_resume_keeps_it_consistent(tmp_path):
    config = face_run(tmp_path / "run")
    train(config)
    curve = read_curve(tmp_path / "run")
    assert [p["kimg"] for p in curve["points"]] == [0.0, 0.008, 0.016]  # the start, every eval_kimg, the end
    first = curve["points"][0]
    assert set(first["gap"]) == set(CURVE_METRICS) and math.isfinite(first["shape_gap"])
    # Against itself the truth row closes the whole gap; the floor none of it.
    assert curve["truth"]["chamfer"] < curve["floor"]["chamfer"]
    # A run resumed from its first checkpoint drops the later points and records them again.
    (tmp_path / "run" / "checkpoints").rename(tmp_path / "kept")
    (tmp_path / "run" / "checkpoints").mkdir()
    for ckpt in sorted((tmp_path / "kept").iterdir())[:1]:
        ckpt.rename(tmp_path / "run" / "checkpoints" / ckpt.name)
    points = {p["kimg"]: p for p in curve["points"]}
    train(dataclasses.replace(config, resume="latest"))
    again = read_curve(tmp_path / "run")
    assert [p["kimg"] for p in again["points"]] == [0.0, 0.008, 0.016]
    assert again["points"][0] == points[0.0]  # kept, not recomputed
    assert again["points"][2]["chamfer"] == pytest.approx(points[0.016]["chamfer"], rel=1e-4)  # resuming is exact


def test_no_curve_without_eval_kimg_or_on_image_data(tmp_path):
    train(face_run(tmp_path / "run", eval_kimg=None, kimg=0.004))
    assert not (tmp_path / "run" / "shape_curve.json").exists()
    with pytest.raises(ValueError, match="eval_kimg"):
        face_run(tmp_path, eval_kimg=-1.0)


def test_the_demo_reports_the_gap_it_closed(tmp_path, capsys):
    demo = runpy.run_path(str(REPO / "recipes" / "synthetic.py"))
    config = face_run(tmp_path / "run", kimg=0.004)
    result = train(config)
    metrics = demo["report"](result, config, num=4, num_truth=8)
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert saved["category"] == "face" and set(saved) >= {"trained", "untrained", "floor", "truth", "gap_closed"}
    assert saved["truth"]["depth_error"] < saved["floor"]["depth_error"]
    assert math.isclose(saved["shape_gap"], metrics["shape_gap"])
    assert (tmp_path / "run" / "sample.glb").stat().st_size > 0
    assert "gap closed from the floor to held-out ground truth" in capsys.readouterr().out


def test_a_demo_from_a_stretched_sphere_also_reports_its_gap_from_the_sphere(tmp_path, capsys):
    from gan3dlib.config import replace_nested
    from gan3dlib.eval.synthetic_eval import gap_closed

    demo = runpy.run_path(str(REPO / "recipes" / "synthetic.py"))
    config = replace_nested(face_run(tmp_path / "run", kimg=0.004), {"model.shape.sphere_axes": (1.0, 1.0, 1.3)})
    metrics = demo["report"](train(config), config, num=4, num_truth=8)
    # Two different floors: the stretched start is deeper than wide, the sphere is not.
    assert metrics["floor"]["depth_ratio"] > metrics["floor_sphere"]["depth_ratio"] + 0.15
    for metric, closed in metrics["gap_closed_from_sphere"].items():
        expected = gap_closed(metrics["trained"][metric], metrics["floor_sphere"][metric], metrics["truth"][metric])
        assert closed == pytest.approx(expected, nan_ok=True), metric
    assert "the same from the sphere (floor_sphere)" in capsys.readouterr().out
