"""The ablation ladder runs end to end at a tiny size and tabulates mean ± std."""

from __future__ import annotations

import dataclasses
import json
import math

from gan3dlib.eval.ablation import markdown_table, run_ablation_ladder, summarize
from gan3dlib.presets import SceneSpec
from gan3dlib.train.config import TrainConfig


def test_summary_statistics():
    rows = [
        {"ablation": "FULL", "seed": 0, "depth_error": 0.1, "mask_iou": 0.9, "hollow_fraction": 0.0},
        {"ablation": "FULL", "seed": 1, "depth_error": 0.3, "mask_iou": 0.7, "hollow_fraction": 0.5},
    ]
    table = summarize(rows)
    mean, std = table["FULL"]["depth_error"]
    assert math.isclose(mean, 0.2) and math.isclose(std, 0.1)
    assert "| FULL | 0.200 ± 0.100 | 0.800 ± 0.100 | 0.250 ± 0.250 |" in markdown_table(table, TrainConfig())


def test_tiny_ladder_end_to_end(tmp_path):
    base = TrainConfig(
        model=SceneSpec(16, z_dim=16, mapping_layers=2, channel_base=64, channel_max=16, pyramid_levels=2),
        data="synthetic", synthetic_images=8, out=str(tmp_path), kimg=0.008, batch_size=4, cpu=True,
        checkpoint_kimg=1.0, sample_kimg=1.0, log_kimg=1.0,
    )
    rows = run_ablation_ladder(base, names=("CRISP", "VIEW"), seeds=(0,), out=tmp_path, num_generated=4, num_truth=4)
    assert [(r["ablation"], r["seed"]) for r in rows] == [("CRISP", 0), ("VIEW", 0)]
    saved = json.loads((tmp_path / "results.json").read_text())
    assert set(saved["summary"]) == {"CRISP", "VIEW"}
    assert "| CRISP |" in (tmp_path / "results.md").read_text()
    # Each run used its ablation's settings.
    config = json.loads((tmp_path / "VIEW-seed0" / "train_config.json").read_text())
    assert config["model"]["yaw_range_degrees"] == [-120.0, 120.0]
    crisp = json.loads((tmp_path / "CRISP-seed0" / "train_config.json").read_text())
    assert crisp["model"]["renderer_mode"] == "crisp"
    assert dataclasses.asdict(base)["kimg"] == 0.008
