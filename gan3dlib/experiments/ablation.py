"""The paper's ablation ladder on the ground-truth benchmark, placed between a floor and a ceiling.

For every seed the synthetic dataset of ``base`` (its category and size, that seed) is the ground
truth. First the baselines are scored once ([`gan3dlib.eval.baselines`][gan3dlib.eval.baselines]): held-out
ground truth (``truth``), and for each initial shape in use the clean ``s0`` at its best-fit scale
(``floor``) and the supervised oracle through that parametrization (``oracle``: FULL's for the
sphere, CAR's for the sheet; a variant's stretched sphere, ``sphere_axes``, is an initial shape of
its own, ``floor, sphere 1x1x1.3 s0``, and its runs are measured from it). ``untrained`` is FULL's generator before training. Then every
ablation (CRISP, SOFT, SIZE, FULL, VIEW by default; CAR and BUS use the sheet) trains with the same
budget on the same data (the data keep the paper's FFHQ viewpoint range, so VIEW's ±120° is a
*wrong* prior, as in the paper) and G_ema is scored with every shape metric
([`ShapeReference`][gan3dlib.eval.synthetic_eval.ShapeReference]) and FID/KID. Each row also carries the fraction
of the floor-to-truth (``gap_truth``) and floor-to-oracle (``gap_oracle``) gap it closes, per
metric, and ``shape_gap``, the mean floor-to-truth fraction over ``GAP_METRICS``. A run that starts
from another initial shape also carries its gaps from the base's floor, the one every run shares
(``gap_common``, ``shape_gap_common``), so that runs from different starts compare on one scale.

``<out>/results.json`` and ``<out>/results.md`` (metrics, gaps, and whether each step of the
paper's ordering holds beyond two standard deviations) are rewritten after every run. Runs are
seed-major and resumable; finished runs are not trained again, and scores are cached per run
folder (``scores.json``) and per initial shape and seed (``baselines-<s0>-seed<k>.json``) while the
scoring settings are unchanged.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gan3dlib.eval.baselines import OracleConfig, baseline_scores
from gan3dlib.eval.model_fid import model_fid
from gan3dlib.eval.synthetic_eval import GAP_METRICS, ShapeReference, gaps, initial_scene, scene_shapes
from gan3dlib.config import replace_nested
from gan3dlib.presets import ABLATIONS, ablation
from gan3dlib.train.config import TrainConfig
from gan3dlib.utils.atomic import atomic_write_bytes
from gan3dlib.utils.checks import check_positive
from gan3dlib.utils.json_files import json_safe, write_json

__all__ = ["LADDER", "GAP_METRICS", "ORDERING", "LadderScoring", "ladder_configs", "train_or_resume",
           "run_ablation_ladder", "summarize", "markdown_table"]

LADDER = ("CRISP", "SOFT", "SIZE", "FULL", "VIEW")
UNTRAINED = "untrained"
# The paper's ordering as (worse, better) pairs of ablations.
ORDERING = (("CRISP", "SOFT"), ("SOFT", "SIZE"), ("SIZE", "FULL"), ("VIEW", "FULL"), ("CRISP", "FULL"))
METRICS = ("depth_error", "normal_error", "mask_iou", "hollow_fraction", "chamfer", "aspect_error",
           "depth_extent_error", "relief_error", "front_error", "front", "back", "front_relief", "z_offset",
           "relief_side", "relief_behind", "depth_ratio", "aspect_thin",
           "cov", "mmd", "fid", "kid")
# Bumped whenever a metric's definition changes: cached scores of another version are recomputed.
METRICS_VERSION = 3
# Bumped whenever the baselines change (3: the floor is scored as a set of identical objects).
BASELINES_VERSION = 3
# Table columns: key, header, multiplier, format.
COLUMNS = (
    ("depth_error", "depth err ↓", 1, ".3f"),
    ("normal_error", "normal err (°) ↓", 1, ".1f"),
    ("mask_iou", "IoU ↑", 1, ".3f"),
    ("chamfer", "Chamfer ×10³ ↓", 1000, ".2f"),
    ("aspect_error", "aspect err ↓", 1, ".3f"),
    ("front_relief", "frontal relief", 1, ".2f"),
    ("relief_side", "relief in front ↑", 1, ".2f"),
    ("z_offset", "z offset", 1, ".2f"),
    ("depth_ratio", "depth/width", 1, ".2f"),
    ("cov", "COV ↑", 1, ".3f"),
    ("mmd", "MMD ×10³ ↓", 1000, ".2f"),
    ("fid", "FID* ↓", 1, ".2f"),
)


@dataclasses.dataclass(frozen=True)
class LadderScoring:
    """How every run of the ladder is scored.

    Attributes:
        num_generated: generated objects per run (and held-out ground-truth objects of the truth row).
        num_truth: reference ground-truth objects.
        num_points: surface points per object.
        num_fid: renders and training images for FID/KID.
        num_oracle: held-out objects fitted for the oracle row.
        oracle: how the oracle is fitted.
    """

    num_generated: int = 64
    num_truth: int = 256
    num_points: int = 512
    num_fid: int = 500
    num_oracle: int = 16
    oracle: OracleConfig = dataclasses.field(default_factory=OracleConfig)

    def __post_init__(self) -> None:
        """Validates the fields (a docstring here also keeps draccus's field-docstring scanner in bounds)."""
        for name in ("num_generated", "num_truth", "num_points", "num_fid", "num_oracle"):
            check_positive(getattr(self, name), name, integer=True)


def _initial_shape(config: TrainConfig) -> str:
    """The name of a run's s0: ``'sphere'``, ``'sheet'``, or a stretched sphere as ``'sphere 1x1x1.3'``."""
    shape = config.model.shape
    if shape.init != "sphere" or shape.sphere_axes == (1.0, 1.0, 1.0):
        return shape.init
    return "sphere " + "x".join(f"{a:g}" for a in shape.sphere_axes)


def ladder_configs(
    base: TrainConfig, names: tuple[str, ...] = LADDER, seeds: tuple[int, ...] = (0, 1), out: str | Path = "runs/ablations",
    variants: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[tuple[str, int, TrainConfig]]:
    """The ``(name, seed, config)`` of every run, seed-major (all runs of one seed first).

    A name is one of the paper's ablations ([`ablation`][gan3dlib.presets.ablation] on ``base.model``) or a
    key of ``variants``, whose value holds dotted overrides of ``base``
    ([`replace_nested`][gan3dlib.config.replace_nested], e.g. ``{"model.shading.mode": "lambertian"}``).
    Seed-major order means a ladder stopped early still holds complete seeds to compare. Each run
    writes to ``<out>/<name>-seed<seed>``. The name ``'untrained'`` stands for FULL's settings,
    scored before any training.
    """
    if base.data != "synthetic":
        raise ValueError(f"base.data: the ablation ladder needs the ground-truth dataset ('synthetic'), got {base.data!r}")
    if not names:
        raise ValueError("names: expected at least one ablation, got none")
    if not seeds:
        raise ValueError("seeds: expected at least one seed, got none")
    variants = dict(variants or {})
    unknown = [n for n in names if n not in variants and n not in ABLATIONS and n != UNTRAINED]
    if unknown:
        raise ValueError(f"names: {unknown} are neither paper ablations {list(ABLATIONS)} nor variants {list(variants)}")
    out = Path(out)

    def config_of(name: str, seed: int) -> TrainConfig:
        if name in variants:
            config = replace_nested(base, dict(variants[name]))
        else:
            config = dataclasses.replace(base, model=ablation(base.model, "FULL" if name == UNTRAINED else name))
        return dataclasses.replace(config, seed=seed, out=str(out / f"{name}-seed{seed}"))

    return [(name, seed, config_of(name, seed)) for seed in seeds for name in names]


def train_or_resume(config: TrainConfig, max_steps: int | None = None):
    """Trains one run, or continues it from its newest checkpoint (``resume='auto'``).

    A finished run is therefore not trained again, and an interrupted ladder continues where it stopped.
    """
    from gan3dlib.train.loop import train

    return train(dataclasses.replace(config, resume="auto"), max_steps=max_steps)


def _cached(path: Path, key: dict, compute) -> dict:
    """``path``'s score when it was computed with the same ``key``, else ``compute()`` (then saved)."""
    if path.is_file():
        saved = json.loads(path.read_text())
        if saved.get("key") == key:
            return saved["score"]
    score = compute()
    write_json(path, {"key": key, "score": score})
    return json_safe(score)


def _with_gaps(row: dict, floor: dict, truth: dict, oracle: dict) -> dict:
    row["gap_truth"], row["shape_gap"] = gaps(row, floor, truth)
    row["gap_oracle"], _ = gaps(row, floor, oracle)
    return row


def run_ablation_ladder(
    base: TrainConfig,
    names: tuple[str, ...] = LADDER,
    seeds: tuple[int, ...] = (0, 1),
    out: str | Path = "runs/ablations",
    scoring: LadderScoring | None = None,
    extractor=None,
    max_steps: int | None = None,
    variants: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict]:
    """Trains and scores every (ablation, seed) with the budget of ``base`` (see the module docstring).

    Args:
        base: training settings shared by every run (``data`` must be ``'synthetic'``).
        names: ablations to run.
        seeds: seeds (weights, data order, latents and the synthetic dataset).
        out: folder of the runs and the result files.
        scoring: scoring settings (defaults of [`LadderScoring`][gan3dlib.experiments.ablation.LadderScoring]).
        extractor: image feature extractor for FID/KID (default:
            [`RandomProjectionFeatures`][gan3dlib.eval.image_metrics.RandomProjectionFeatures],
            comparable within one table only; pass [`InceptionFeatures`][gan3dlib.eval.InceptionFeatures] for the
            standard FID).
        max_steps: optional cap on training steps per run (tests).
        variants: named runs beside the paper's ablations (see
            [`ladder_configs`][gan3dlib.experiments.ablation.ladder_configs]).

    Returns:
        One dict per row: ``{"ablation", "seed", "kimg", <metrics>, "gap_truth", "gap_oracle",
        "shape_gap"}``; per seed the baselines come first (``truth``, then ``floor, <s0> s0`` and
        ``oracle, <ablation>`` per initial shape), then ``untrained`` and the ablations.
    """
    from gan3dlib.eval.image_metrics import RandomProjectionFeatures
    from gan3dlib.scene import SceneGenerator
    from gan3dlib.train.loop import build_dataset

    out, scoring = Path(out), scoring or LadderScoring()
    extractor = RandomProjectionFeatures() if extractor is None else extractor
    key = {**dataclasses.asdict(scoring), "extractor": extractor.name, "metrics": METRICS_VERSION}
    rows: list[dict] = []
    references: dict[int, tuple[ShapeReference, dict]] = {}
    runs = ladder_configs(base, (UNTRAINED, *names), seeds, out, variants)
    for name, seed, config in runs:
        if seed not in references:  # the baselines of this seed, before its first run
            inits = {_initial_shape(c): c.model.shape.sphere_axes for n, s, c in runs if s == seed}
            references[seed] = _seed_baselines(base, seed, inits, out, scoring, key, rows)
        reference, baselines = references[seed]
        if name == UNTRAINED:
            folder, kimg = Path(config.out), 0.0
            load = functools.partial(initial_scene, config)
        else:
            result = train_or_resume(config, max_steps=max_steps)
            folder, kimg = result.run_folder, result.kimg
            load = functools.partial(SceneGenerator.from_pretrained, folder / "model")

        def score(load=load, config=config) -> dict:
            scene = load()
            shapes = reference.score(scene_shapes(scene, scoring.num_generated, seed,
                                                  resolution=reference.resolution)).as_dict()
            images = model_fid(scene, build_dataset(config), extractor, scoring.num_fid, seed=seed)
            return {**shapes, "fid": images["fid"], "kid": images["kid_mean"]}

        values = _cached(folder / "scores.json", {**key, "kimg": kimg}, score)
        init = baselines[_initial_shape(config)]
        row = {"ablation": name, "seed": seed, "kimg": kimg, **{m: values[m] for m in METRICS}}
        rows.append(_with_gaps(row, init["floor"], baselines["truth"], init["oracle"]))
        common = baselines[_initial_shape(base)]
        if common is not init:
            row["gap_common"], row["shape_gap_common"] = gaps(row, common["floor"], baselines["truth"])
        _write_results(out, rows, base, extractor.name)
    return rows


def _seed_baselines(base: TrainConfig, seed: int, inits: dict[str, tuple[float, float, float]], out: Path,
                    scoring: LadderScoring, key: dict, rows: list[dict]) -> tuple[ShapeReference, dict]:
    """The reference of one seed and its baselines (per initial shape: its name and sphere axes); appends their rows."""
    seeded = dataclasses.replace(base, seed=seed)
    reference = ShapeReference(seeded.synthetic_config(), scoring.num_truth, scoring.num_points, seed)
    baselines: dict = {}
    for init, axes in inits.items():
        model = "CAR" if init == "sheet" else "FULL"
        s0 = replace_nested(base.model, {"shape.sphere_axes": axes})
        scene = initial_scene(dataclasses.replace(seeded, model=ablation(s0, model)))

        def compute(scene=scene) -> dict:
            scores = baseline_scores(scene, reference, scoring.num_generated, scoring.num_oracle, scoring.oracle)
            return {k: v.as_dict() for k, v in scores.items()}

        scores = _cached(out / f"baselines-{init}-seed{seed}.json", {**key, "baselines": BASELINES_VERSION}, compute)
        baselines["truth"] = scores["truth"]
        baselines[init] = {"floor": scores["floor"], "oracle": scores["oracle"], "model": model}
    truth = baselines["truth"]
    first = baselines[next(iter(inits))]  # the base's s0 (untrained's): the truth row's gaps are measured from it
    rows.append(_with_gaps({"ablation": "truth", "seed": seed, "kimg": math.nan, **_metrics(truth)},
                           first["floor"], truth, first["oracle"]))
    for init in (k for k in baselines if k != "truth"):
        entry = baselines[init]
        for kind in ("floor", "oracle"):
            oracle = f"oracle, {entry['model']}" + ("" if init in ("sphere", "sheet") else f" from {init}")
            label = f"floor, {init} s0" if kind == "floor" else oracle
            row = {"ablation": label, "seed": seed, "kimg": math.nan, **_metrics(entry[kind])}
            rows.append(_with_gaps(row, entry["floor"], truth, entry["oracle"]))
            if entry is not first:
                row["gap_common"], row["shape_gap_common"] = gaps(row, first["floor"], truth)
    return reference, baselines


def _metrics(score: dict) -> dict:
    return {m: score.get(m, math.nan) for m in METRICS}


def summarize(rows: list[dict]) -> dict[str, dict[str, tuple[float, float]]]:
    """Mean and (population) standard deviation over seeds of every metric and gap, per row name.

    Gap fractions appear as ``gap_truth.<metric>`` and ``gap_oracle.<metric>``; NaNs are skipped.
    ``seeds`` holds the number of runs of the row (and 0).
    """
    table: dict[str, dict[str, tuple[float, float]]] = {}
    for name in dict.fromkeys(row["ablation"] for row in rows):
        runs = [_flat(row) for row in rows if row["ablation"] == name]
        keys = dict.fromkeys(k for run in runs for k in run)
        table[name] = {"seeds": (float(len(runs)), 0.0)}
        for k in keys:
            values = [run[k] for run in runs if isinstance(run.get(k), float | int) and math.isfinite(run[k])]
            if values:
                table[name][k] = (statistics.fmean(values), statistics.pstdev(values))
    return table


def _flat(row: dict) -> dict:
    flat = {k: v for k, v in row.items() if not isinstance(v, dict) and k not in ("ablation", "seed")}
    for group in ("gap_truth", "gap_oracle", "gap_common"):
        flat.update({f"{group}.{m}": v for m, v in row.get(group, {}).items()})
    return flat


def ordering_checks(table: dict) -> list[tuple[str, str, float, float, str]]:
    """For each (worse, better) pair of the paper present in ``table``: the difference of mean
    ``shape_gap`` (better minus worse), its combined standard deviation and the verdict."""
    checks = []
    for worse, better in ORDERING:
        if worse in table and better in table and "shape_gap" in table[worse] and "shape_gap" in table[better]:
            (m_w, s_w), (m_b, s_b) = table[worse]["shape_gap"], table[better]["shape_gap"]
            diff, spread = m_b - m_w, math.hypot(s_w, s_b)
            seeds = min(table[name].get("seeds", (2.0, 0.0))[0] for name in (worse, better))
            verdict = ("one seed: no spread to judge by" if seeds < 2 else "holds beyond 2σ" if diff > 2 * spread
                       else "reversed beyond 2σ" if diff < -2 * spread else "within 2σ")
            checks.append((worse, better, diff, spread, verdict))
    return checks


def _cell(values: dict, key: str, factor: float, fmt: str) -> str:
    if key not in values:
        return "–"
    mean, std = values[key]
    return f"{mean * factor:{fmt}} ± {std * factor:{fmt}}"


def markdown_table(table: dict[str, dict[str, tuple[float, float]]], base: TrainConfig, extractor_name: str = "") -> str:
    """The summary as Markdown: the metrics, the gaps closed, and the paper's ordering."""
    star = f" *FID with the `{extractor_name}` features (comparable within this table only)." if extractor_name else ""
    lines = [
        f"Ablations on the synthetic `{base.synthetic_category}` benchmark: {base.model.resolution}², {base.kimg:g} kimg "
        f"per run, batch {base.batch_size}; mean ± std over seeds.{star}", "",
        "| row | " + " | ".join(c[1] for c in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|",
    ]
    lines += [f"| {name} | " + " | ".join(_cell(v, key, factor, fmt) for key, _, factor, fmt in COLUMNS) + " |"
              for name, v in table.items()]
    lines += ["", "Fraction of the floor → truth gap closed (1: as good as held-out ground truth; 0: the clean "
              "initial shape; negative: worse than it); last column: the same for the mean, floor → oracle.", "",
              "| row | " + " | ".join(GAP_METRICS) + " | mean (shape gap) | mean vs oracle |",
              "|---" * (len(GAP_METRICS) + 3) + "|"]
    for name, v in table.items():
        cells = [_cell(v, f"gap_truth.{m}", 1, ".2f") for m in GAP_METRICS]
        oracle = [v[f"gap_oracle.{m}"][0] for m in GAP_METRICS if f"gap_oracle.{m}" in v]
        vs_oracle = f"{statistics.fmean(oracle):.2f}" if oracle else "–"
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {_cell(v, 'shape_gap', 1, '.2f')} | {vs_oracle} |")
    checks = ordering_checks(table)
    if checks:
        lines += ["", "The paper's ordering (difference of the mean shape gap, better minus worse, ± combined std):", "",
                  "| step | difference | verdict |", "|---|---|---|"]
        lines += [f"| {w} → {b} | {d:+.2f} ± {s:.2f} | {verdict} |" for w, b, d, s, verdict in checks]
    return "\n".join(lines) + "\n"


def _write_results(out: Path, rows: list[dict], base: TrainConfig, extractor_name: str) -> None:
    table = summarize(rows)
    write_json(out / "results.json", {"runs": rows, "summary": table, "ordering": ordering_checks(table)})
    atomic_write_bytes(out / "results.md", markdown_table(table, base, extractor_name).encode())
