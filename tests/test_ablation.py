"""The ablation ladder runs end to end at a tiny size and tabulates mean ± std."""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
import torch

from gan3dlib.eval.baselines import OracleConfig
from gan3dlib.experiments.ablation import (
    METRICS,
    LadderScoring,
    ladder_configs,
    markdown_table,
    ordering_checks,
    run_ablation_ladder,
    summarize,
)
from gan3dlib.nets.discriminator import DiscriminatorConfig
from gan3dlib.presets import scene_config
from gan3dlib.train.config import TrainConfig


def test_summary_gaps_and_the_ordering_verdicts():
    rows = [
        {"ablation": "FULL", "seed": 0, "depth_error": 0.1, "mask_iou": 0.9, "shape_gap": 0.8,
         "gap_truth": {"depth_error": 0.7}},
        {"ablation": "FULL", "seed": 1, "depth_error": 0.3, "mask_iou": 0.7, "shape_gap": 0.6,
         "gap_truth": {"depth_error": float("nan")}},
        {"ablation": "CRISP", "seed": 0, "depth_error": 0.5, "mask_iou": 0.5, "shape_gap": 0.1, "gap_truth": {}},
        {"ablation": "CRISP", "seed": 1, "depth_error": 0.5, "mask_iou": 0.5, "shape_gap": 0.1, "gap_truth": {}},
        {"ablation": "VIEW", "seed": 0, "depth_error": 0.5, "mask_iou": 0.5, "shape_gap": 0.9, "gap_truth": {}},
        {"ablation": "VIEW", "seed": 1, "depth_error": 0.5, "mask_iou": 0.5, "shape_gap": 0.3, "gap_truth": {}},
    ]
    table = summarize(rows)
    mean, std = table["FULL"]["depth_error"]
    assert math.isclose(mean, 0.2) and math.isclose(std, 0.1)
    assert table["FULL"]["gap_truth.depth_error"] == (0.7, 0.0)  # NaN seeds are skipped
    checks = {(w, b): (d, s, verdict) for w, b, d, s, verdict in ordering_checks(table)}
    # FULL - CRISP = 0.6 with a combined std of 0.1: the step holds; VIEW vs FULL is within 2 std.
    assert checks[("CRISP", "FULL")][2] == "holds beyond 2σ" and math.isclose(checks[("CRISP", "FULL")][0], 0.6)
    assert checks[("VIEW", "FULL")][2] == "within 2σ"
    text = markdown_table(table, TrainConfig())
    assert "| FULL | 0.200 ± 0.100 | – | 0.800 ± 0.100 |" in text
    assert "| CRISP → FULL | +0.60 ± 0.10 | holds beyond 2σ |" in text
    # One seed has no spread: no verdict either way, however large the difference.
    one = summarize([row for row in rows if row["seed"] == 0])
    assert {verdict for *_, verdict in ordering_checks(one)} == {"one seed: no spread to judge by"}


def tiny_base(out) -> TrainConfig:
    return TrainConfig(
        model=scene_config(16, z_dim=16, mapping_layers=2, channel_base=64, channel_max=16, pyramid_levels=2),
        discriminator=DiscriminatorConfig(None, channel_base=64, channel_max=16),
        data="synthetic", synthetic_images=8, synthetic_category="face", out=str(out), kimg=0.008, batch_size=4,
        cpu=True,
        checkpoint_kimg=1.0, sample_kimg=1.0, log_kimg=1.0,
    )


def test_runs_are_seed_major_with_each_ablations_settings(tmp_path):
    runs = ladder_configs(tiny_base(tmp_path), names=("CRISP", "VIEW"), seeds=(0, 1), out=tmp_path)
    # Seed-major order: a ladder stopped early holds complete seeds.
    assert [(name, seed) for name, seed, _ in runs] == [("CRISP", 0), ("VIEW", 0), ("CRISP", 1), ("VIEW", 1)]
    assert [config.seed for _, _, config in runs] == [0, 0, 1, 1]
    assert runs[3][2].out == str(tmp_path / "VIEW-seed1")
    assert runs[0][2].model.renderer.mode == "crisp" and runs[1][2].model.viewpoints.yaw_range_degrees == (-120.0, 120.0)


SCORING = LadderScoring(num_generated=4, num_truth=6, num_points=64, num_fid=8, num_oracle=1,
                        oracle=OracleConfig(steps=2))


def test_tiny_ladder_end_to_end_and_resumed(tmp_path):
    base = tiny_base(tmp_path)
    rows = run_ablation_ladder(base, names=("CRISP", "CAR"), seeds=(0,), out=tmp_path, scoring=SCORING)
    assert [r["ablation"] for r in rows] == ["truth", "floor, sphere s0", "oracle, FULL", "floor, sheet s0",
                                             "oracle, CAR", "untrained", "CRISP", "CAR"]
    by_name = {r["ablation"]: r for r in rows}
    assert [by_name[n]["kimg"] for n in ("untrained", "CRISP", "CAR")] == [0.0, 0.008, 0.008]
    for name in ("untrained", "CRISP", "CAR"):
        row = by_name[name]
        assert all(math.isfinite(row[m]) for m in METRICS), row
        assert 0 <= row["cov"] <= 1 and row["mmd"] > 0 and row["fid"] > 0 and 0 <= row["hollow_fraction"] <= 1
    # Gaps: the truth row closes the whole gap, the floor none of it; CAR is measured from the sheet.
    assert by_name["truth"]["shape_gap"] == 1.0 and by_name["floor, sphere s0"]["shape_gap"] == 0.0
    sheet = by_name["floor, sheet s0"]
    assert by_name["CAR"]["gap_truth"]["chamfer"] == pytest.approx(
        (by_name["CAR"]["chamfer"] - sheet["chamfer"]) / (by_name["truth"]["chamfer"] - sheet["chamfer"]))
    saved = json.loads((tmp_path / "results.json").read_text())
    assert set(saved["summary"]) == {r["ablation"] for r in rows}
    table_text = (tmp_path / "results.md").read_text()
    assert "| CRISP |" in table_text and "COV ↑" in table_text and "shape gap" in table_text
    # Each run used its ablation's settings and recorded no curve (eval_kimg is off in tiny_base).
    crisp = json.loads((tmp_path / "CRISP-seed0" / "train_config.json").read_text())
    assert crisp["model"]["renderer"]["mode"] == "crisp" and crisp["synthetic_category"] == "face"
    car = json.loads((tmp_path / "CAR-seed0" / "train_config.json").read_text())
    assert car["model"]["shape"]["init"] == "sheet"
    assert dataclasses.asdict(base)["kimg"] == 0.008
    # Running the ladder again resumes each finished run at its full budget: nothing is trained.
    weights = (tmp_path / "CRISP-seed0" / "model" / "model.safetensors").read_bytes()
    again = run_ablation_ladder(base, names=("CRISP",), seeds=(0,), out=tmp_path, scoring=SCORING)
    assert (tmp_path / "CRISP-seed0" / "model" / "model.safetensors").read_bytes() == weights
    assert [r for r in again if r["ablation"] == "CRISP"] == [by_name["CRISP"]]
    # Scores are kept per run and reused while the scoring settings are the same.
    cached = json.loads((tmp_path / "CRISP-seed0" / "scores.json").read_text())
    assert cached["key"]["num_fid"] == 8 and cached["key"]["kimg"] == 0.008
    cached["score"]["fid"] = -1.0  # marks the cached file: a reuse returns it
    (tmp_path / "CRISP-seed0" / "scores.json").write_text(json.dumps(cached))
    reused = run_ablation_ladder(base, names=("CRISP",), seeds=(0,), out=tmp_path, scoring=SCORING)
    assert reused[-1]["fid"] == -1.0
    rescored = run_ablation_ladder(base, names=("CRISP",), seeds=(0,), out=tmp_path,
                                   scoring=dataclasses.replace(SCORING, num_fid=6))
    assert rescored[-1]["fid"] > 0


def test_variants_override_the_base_and_keep_the_rest(tmp_path):
    base = tiny_base(tmp_path)
    variants = {"LIT": {"model.shading.mode": "lambertian", "kimg": 0.016}}
    runs = ladder_configs(base, names=("LIT", "FULL"), seeds=(3,), out=tmp_path, variants=variants)
    lit, full = runs[0][2], runs[1][2]
    assert lit.model.shading.mode == "lambertian" and lit.kimg == 0.016 and lit.seed == 3
    assert lit.model.resolution == base.model.resolution and lit.synthetic_category == "face"
    assert full.model.shading.mode == "none" and lit.out == str(tmp_path / "LIT-seed3")
    with pytest.raises(ValueError, match="neither paper ablations"):
        ladder_configs(base, names=("NOPE",), variants=variants)


def test_a_variant_with_a_stretched_sphere_is_measured_from_its_own_floor(tmp_path):
    variants = {"DEEP": {"model.shape.sphere_axes": (1.0, 1.0, 1.5)}}
    rows = run_ablation_ladder(tiny_base(tmp_path), names=("DEEP",), seeds=(0,), out=tmp_path, scoring=SCORING,
                               variants=variants)
    assert [r["ablation"] for r in rows] == ["truth", "floor, sphere s0", "oracle, FULL", "floor, sphere 1x1x1.5 s0",
                                             "oracle, FULL from sphere 1x1x1.5", "untrained", "DEEP"]
    by_name = {r["ablation"]: r for r in rows}
    floor, truth, deep = by_name["floor, sphere 1x1x1.5 s0"], by_name["truth"], by_name["DEEP"]
    # The floor is the stretched sphere itself: depth over width 1.5 times the sphere's.
    assert floor["depth_ratio"] == pytest.approx(1.5 * by_name["floor, sphere s0"]["depth_ratio"], rel=0.05)
    assert deep["gap_truth"]["chamfer"] == pytest.approx(
        (deep["chamfer"] - floor["chamfer"]) / (truth["chamfer"] - floor["chamfer"]))
    # ... and from the sphere's floor, which every run shares; a run from the sphere has no second scale.
    sphere = by_name["floor, sphere s0"]
    assert deep["gap_common"]["chamfer"] == pytest.approx(
        (deep["chamfer"] - sphere["chamfer"]) / (truth["chamfer"] - sphere["chamfer"]))
    finite = [v for v in deep["gap_common"].values() if math.isfinite(v)]
    assert deep["shape_gap_common"] == pytest.approx(sum(finite) / len(finite))
    assert "gap_common" not in by_name["untrained"]
    assert floor["gap_common"]["chamfer"] == pytest.approx(
        (floor["chamfer"] - sphere["chamfer"]) / (truth["chamfer"] - sphere["chamfer"]))
    saved = json.loads((tmp_path / "DEEP-seed0" / "train_config.json").read_text())
    assert saved["model"]["shape"]["sphere_axes"] == [1.0, 1.0, 1.5]


def test_ladder_rejects_bad_arguments():
    with pytest.raises(ValueError, match="base.data"):
        ladder_configs(TrainConfig(data="/some/folder"))
    with pytest.raises(ValueError, match="seeds"):
        ladder_configs(TrainConfig(data="synthetic"), seeds=())


def test_the_baseline_is_the_generator_training_starts_from(tmp_path):
    from gan3dlib.eval.synthetic_eval import initial_scene
    from gan3dlib.scene import SceneGenerator
    from gan3dlib.train.loop import train

    # With a vanishing learning rate for G the exported G_ema keeps the initial weights (w_avg is a buffer).
    config = dataclasses.replace(tiny_base(tmp_path / "run"), g_lr=1e-30)
    train(config)
    trained = SceneGenerator.from_pretrained(tmp_path / "run" / "model")
    state = torch.random.get_rng_state()
    initial = initial_scene(config)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG is untouched
    for (name, a), (_, b) in zip(initial.named_parameters(), trained.named_parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-25, msg=name)
