"""Learning curves of the 3D shape: G_ema's shape metrics every few k-images of a synthetic run.

Image metrics keep improving long after the shapes stop (or start going wrong), so a run on
synthetic data records its shape metrics as it trains. [`ShapeCurve`][gan3dlib.eval.curves.ShapeCurve]
builds a small ground-truth reference once, scores the floor (the clean initial shape) and held-out
ground truth against it, and then, at each call, scores G_ema and appends a point to
``<run>/shape_curve.json``: the metrics, and for the main ones the fraction of the floor-to-truth
gap closed ([`gaps`][gan3dlib.eval.synthetic_eval.gaps]) with their mean, ``shape_gap``. The file is rewritten atomically after
every point; on resume, points beyond the resumed k-image (from the lost part of an interrupted
run) are dropped, so the curve always describes the weights that exist.
"""

from __future__ import annotations

import json
from pathlib import Path

from gan3dlib.eval.baselines import floor_shapes
from gan3dlib.eval.synthetic_eval import GAP_METRICS, ShapeReference, gaps, scene_shapes
from gan3dlib.utils.checks import check_positive
from gan3dlib.utils.json_files import write_json

__all__ = ["CURVE_METRICS", "ShapeCurve", "read_curve"]

# Metrics whose floor-to-truth gap is reported at every point (with "shape_gap", the mean over GAP_METRICS).
CURVE_METRICS = (*GAP_METRICS, "front", "back", "z_offset", "depth_ratio")
FILENAME = "shape_curve.json"


def read_curve(run_folder: str | Path) -> dict:
    """The ``shape_curve.json`` of a run: ``{"floor", "truth", "points": [{"kimg", ..., "gap": {...}}]}``."""
    return json.loads((Path(run_folder) / FILENAME).read_text())


class ShapeCurve:
    """Scores G_ema against a synthetic config's ground truth during training.

    Args:
        synthetic: the run's [`SyntheticConfig`][gan3dlib.data.synthetic.SyntheticConfig].
        scene: the run's generator (its initial shape is the floor; its weights are not used).
        run_folder: where ``shape_curve.json`` goes.
        num_generated: generated (and held-out ground-truth) objects per point.
        num_truth: reference objects.
        num_points: surface points per object.
        seed: latents and point sampling (the same at every point, so the curve is smooth).
    """

    def __init__(self, synthetic, scene, run_folder: str | Path, num_generated: int = 16, num_truth: int = 64,
                 num_points: int = 256, seed: int = 0) -> None:
        check_positive(num_generated, "num_generated", integer=True)
        self.path = Path(run_folder) / FILENAME
        self.num_generated, self.seed = num_generated, seed
        self.reference = ShapeReference(synthetic, num_truth, num_points, seed)
        self.floor = self.reference.score(floor_shapes(scene, self.reference, num_generated)).as_dict()
        self.truth = self.reference.score(self.reference.held_out(num_generated)).as_dict()
        self.points: list[dict] = []

    def resume(self, kimg: float) -> None:
        """Keeps the points of an existing file up to ``kimg`` (those of the weights being resumed)."""
        if self.path.is_file():
            saved = json.loads(self.path.read_text())
            self.points = [p for p in saved.get("points", []) if p["kimg"] <= kimg + 1e-9]

    def record(self, scene, kimg: float) -> dict:
        """Scores ``scene`` (G_ema), appends the point and rewrites the file.

        Returns:
            The point: ``{"kimg", <metrics>, "gap": {metric: fraction of the floor-to-truth gap}}``.
        """
        shapes = scene_shapes(scene, self.num_generated, self.seed, resolution=self.reference.resolution)
        score = self.reference.score(shapes).as_dict()
        gap, _ = gaps(score, self.floor, self.truth, CURVE_METRICS)
        _, shape_gap = gaps(score, self.floor, self.truth)
        point = {"kimg": round(float(kimg), 6), **score, "shape_gap": shape_gap, "gap": gap}
        self.points = [p for p in self.points if p["kimg"] < point["kimg"] - 1e-9] + [point]
        write_json(self.path, {"floor": self.floor, "truth": self.truth, "points": self.points})
        return point
