"""The paper's ablation ladder on the ground-truth benchmark: train each variant, score, tabulate.

For every ablation (CRISP, SOFT, SIZE, FULL, VIEW by default) and every seed, one run of the same
budget trains on the synthetic ground-truth dataset (the data keep the paper's FFHQ viewpoint
range, so VIEW's ±120° is a *wrong* prior, as in the paper), then G_ema is scored against the
ground-truth objects ([`gan3dlib.eval.synthetic_eval`][gan3dlib.eval.synthetic_eval]). The results are written as JSON and as
a Markdown table of mean ± std over seeds.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import statistics
from pathlib import Path

from gan3dlib.presets import ablation
from gan3dlib.train.config import TrainConfig
from gan3dlib.utils.atomic import atomic_write_bytes

__all__ = ["LADDER", "ladder_configs", "train_or_resume", "run_ablation_ladder", "summarize", "markdown_table"]

LADDER = ("CRISP", "SOFT", "SIZE", "FULL", "VIEW")
# The baseline row of every table: the untrained generator with FULL's settings (the initial sphere).
BASELINE = "untrained"
METRICS = ("depth_error", "normal_error", "mask_iou", "hollow_fraction", "cov", "mmd", "fid", "kid")
# Table columns: metric, header, multiplier, format (MMD and KID x 1000, as GET3D and StyleGAN-ADA print them).
COLUMNS = (
    ("depth_error", "depth error ↓", 1, ".3f"),
    ("normal_error", "normal error (°) ↓", 1, ".1f"),
    ("mask_iou", "mask IoU ↑", 1, ".3f"),
    ("hollow_fraction", "hollow ↓", 1, ".2f"),
    ("cov", "COV ↑", 1, ".3f"),
    ("mmd", "MMD ×10³ ↓", 1000, ".2f"),
    ("fid", "FID* ↓", 1, ".2f"),
    ("kid", "KID* ×10³ ↓", 1000, ".2f"),
)


def ladder_configs(
    base: TrainConfig, names: tuple[str, ...] = LADDER, seeds: tuple[int, ...] = (0, 1), out: str | Path = "runs/ablations"
) -> list[tuple[str, int, TrainConfig]]:
    """The ``(ablation, seed, config)`` of every run, seed-major (all ablations of one seed first).

    Seed-major order means a ladder stopped early still holds complete seeds to compare. Each run
    writes to ``<out>/<ABLATION>-seed<seed>``. The name ``BASELINE`` (``'untrained'``) stands for
    FULL's settings, scored before any training.
    """
    if base.data != "synthetic":
        raise ValueError(f"base.data: the ablation ladder needs the ground-truth dataset ('synthetic'), got {base.data!r}")
    if not names:
        raise ValueError("names: expected at least one ablation, got none")
    if not seeds:
        raise ValueError("seeds: expected at least one seed, got none")
    out = Path(out)
    return [
        (name, seed, dataclasses.replace(base, model=ablation(base.model, "FULL" if name == BASELINE else name), seed=seed,
                                         out=str(out / f"{name}-seed{seed}")))
        for seed in seeds for name in names
    ]


def train_or_resume(config: TrainConfig, max_steps: int | None = None):
    """Trains one run, resuming from its newest checkpoint when its folder already holds one.

    A finished run is therefore not trained again (its last checkpoint is at the full budget), and
    an interrupted ladder continues where it stopped.
    """
    from gan3dlib.train.checkpoint import latest_checkpoint
    from gan3dlib.train.loop import train

    if latest_checkpoint(config.out) is not None:
        config = dataclasses.replace(config, resume="latest")
    return train(config, max_steps=max_steps)


def run_ablation_ladder(
    base: TrainConfig,
    names: tuple[str, ...] = LADDER,
    seeds: tuple[int, ...] = (0, 1),
    out: str | Path = "runs/ablations",
    num_generated: int = 64,
    num_truth: int = 256,
    max_steps: int | None = None,
    extractor=None,
    num_fid: int = 500,
) -> list[dict]:
    """Trains and scores every (ablation, seed) with the budget of ``base``.

    Args:
        base: training settings shared by every run (``data`` must be ``'synthetic'``).
        names: ablations to run.
        seeds: seeds (weights, data order, latents and the synthetic scenes' order).
        out: folder of the runs and the result files.
        num_generated: generated objects (and renders) scored per run.
        num_truth: ground-truth objects (and real images) compared against.
        max_steps: optional cap on training steps per run (tests).
        extractor: image feature extractor for FID/KID (default:
            [`RandomProjectionFeatures`][gan3dlib.eval.image_metrics.RandomProjectionFeatures],
            whose numbers are only comparable within one table; pass
            [`InceptionFeatures`][gan3dlib.eval.InceptionFeatures] for the standard FID).
        num_fid: generated renders and training images for FID/KID.

    Returns:
        One dict per run: ``{"ablation", "seed", "kimg", <metrics>}``, each seed starting with a
        baseline row ``'untrained'`` (FULL's generator before training). The results so far are
        rewritten to ``<out>/results.json`` and ``<out>/results.md`` after every run. Runs whose
        folder already holds a finished checkpoint are not trained again, and each run's scores
        are kept in ``<run>/scores.json``, reused while the scoring settings, the extractor and
        the trained k-images are unchanged.
    """
    from gan3dlib.eval.image_metrics import RandomProjectionFeatures
    from gan3dlib.eval.synthetic_eval import initial_scene, score_scene
    from gan3dlib.scene import SceneGenerator

    out = Path(out)
    extractor = RandomProjectionFeatures() if extractor is None else extractor
    scoring = {"num_generated": num_generated, "num_truth": num_truth, "num_fid": num_fid}
    rows = []
    for name, seed, config in ladder_configs(base, (BASELINE, *names), seeds, out):
        if name == BASELINE:  # where every run starts: FULL's untrained generator
            folder, kimg = Path(config.out), 0.0
            load = functools.partial(initial_scene, config)
        else:
            result = train_or_resume(config, max_steps=max_steps)
            folder, kimg = result.run_folder, result.kimg
            load = functools.partial(SceneGenerator.from_pretrained, folder / "model")
        score = _cached_score(folder, {**scoring, "extractor": extractor.name, "kimg": kimg},
                              lambda: score_scene(load(), config, extractor=extractor, **scoring))
        rows.append({"ablation": name, "seed": seed, "kimg": kimg, **{m: score[m] for m in METRICS},
                     "feature_extractor": score["feature_extractor"]})
        table = summarize(rows)
        atomic_write_bytes(out / "results.json", json.dumps({"runs": rows, "summary": table}, indent=2).encode())
        atomic_write_bytes(out / "results.md", markdown_table(table, base, score["feature_extractor"]).encode())
    return rows


def _cached_score(folder: Path, key: dict, compute) -> dict:
    """``<folder>/scores.json`` when it was computed with the same ``key`` (settings, extractor, kimg), else ``compute()``."""
    path = folder / "scores.json"
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved.get("key") == key:
            return saved["score"]
    score = compute()
    atomic_write_bytes(path, json.dumps({"key": key, "score": score}, indent=2).encode())
    return score


def summarize(rows: list[dict]) -> dict[str, dict[str, tuple[float, float]]]:
    """Mean and (population) standard deviation of each metric over seeds, per ablation."""
    table: dict[str, dict[str, tuple[float, float]]] = {}
    for name in dict.fromkeys(row["ablation"] for row in rows):
        runs = [row for row in rows if row["ablation"] == name]
        table[name] = {m: (statistics.fmean(r[m] for r in runs), statistics.pstdev(r[m] for r in runs))
                       for m in METRICS if m in runs[0]}
    return table


def markdown_table(table: dict[str, dict[str, tuple[float, float]]], base: TrainConfig, extractor_name: str = "") -> str:
    """The summary as a Markdown table (columns for the metrics present)."""
    columns = [c for c in COLUMNS if any(c[0] in values for values in table.values())]
    star = f" *FID/KID with the `{extractor_name}` features." if extractor_name else ""
    lines = [
        f"Ablations on the synthetic ground-truth benchmark: {base.model.resolution}², {base.kimg:g} kimg per run, "
        f"batch {base.batch_size}; mean ± std over seeds.{star}",
        "",
        "| ablation | " + " | ".join(c[1] for c in columns) + " |",
        "|---" * (len(columns) + 1) + "|",
    ]
    for name, values in table.items():
        cells = []
        for key, _, factor, fmt in columns:
            mean, std = values.get(key, (math.nan, math.nan))
            cells.append(f"{mean * factor:{fmt}} ± {std * factor:{fmt}}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
