"""The discriminator-memorisation probe (recipes/discriminator_fit.py)."""

from __future__ import annotations

import itertools
import math
import runpy
from pathlib import Path

import pytest
import torch

pytest.importorskip("pytorch3d.renderer")

from test_shape_curve import face_run  # noqa: E402
from train_helpers import image_folder, tiny_config  # noqa: E402

from gan3dlib.train.loop import train  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PROBE = runpy.run_path(str(REPO / "recipes" / "discriminator_fit.py"))


def test_roc_auc_matches_counting_every_pair():
    g = torch.Generator().manual_seed(0)
    positive = torch.randint(0, 5, (23,), generator=g).double()  # small integers: many ties
    negative = torch.randint(0, 5, (17,), generator=g).double()
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(positive, negative))
    assert PROBE["roc_auc"](positive, negative) == pytest.approx(wins / (23 * 17))
    assert PROBE["roc_auc"](positive + 10, negative) == 1.0 and PROBE["roc_auc"](positive, negative + 10) == 0.0


def test_the_probe_scores_a_synthetic_run_and_refuses_an_image_folder_run(tmp_path):
    train(face_run(tmp_path / "run", kimg=0.008, eval_kimg=None))
    row = PROBE["probe_run"](tmp_path / "run", num=6, batch=4, seed=0)
    logit = row["logit"]
    assert set(logit) == {"train", "held_out", "held_out_b", "fake"} and row["kimg"] == pytest.approx(0.008)
    assert all(math.isfinite(v) for v in logit.values())
    assert row["memorised"] == pytest.approx((logit["train"] - logit["held_out"]) / (logit["train"] - logit["fake"]))
    assert row["null"] == pytest.approx((logit["held_out_b"] - logit["held_out"]) / (logit["train"] - logit["fake"]))
    assert 0 <= row["auc_train"] <= 1 and 0 <= row["auc_held_out"] <= 1 and -1 <= row["r_t"] <= 1
    # The same seed gives the same images and latents: the probe is repeatable.
    assert PROBE["probe_run"](tmp_path / "run", num=6, batch=4, seed=0) == row

    train(tiny_config(image_folder(tmp_path / "data"), tmp_path / "photos", kimg=0.004))
    with pytest.raises(ValueError, match="synthetic"):
        PROBE["probe_run"](tmp_path / "photos", num=6, batch=4, seed=0)
    with pytest.raises(ValueError, match="not a run folder"):
        PROBE["probe_run"](tmp_path / "nothing", num=6, batch=4, seed=0)
    (tmp_path / "photos" / "train_config.json").write_text("{")
    with pytest.raises(ValueError, match="runs: cannot read the run's recorded settings"):
        PROBE["probe_run"](tmp_path / "photos", num=6, batch=4, seed=0)
