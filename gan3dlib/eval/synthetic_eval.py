"""How close a scene generator's 3D objects are to a synthetic dataset's ground truth.

Both sides become a [`ShapeSet`][gan3dlib.eval.synthetic_eval.ShapeSet]: meshes in object space plus their depth
maps from the same canonical views (yaw -30°, 0°, +30° at pitch 0 by default, side by side).
[`ShapeReference`][gan3dlib.eval.synthetic_eval.ShapeReference] holds the ground-truth side (computed once) and
scores any set against it:

- **depth maps** ([`match_depth_maps`][gan3dlib.eval.shape_metrics.match_depth_maps]): each object is matched to the
  ground-truth object of smallest aligned depth error; ``depth_error``, ``normal_error`` (degrees),
  ``mask_iou`` and ``hollow_fraction`` (inverted depth) of the matches;
- **surfaces** (points sampled uniformly on each surface, each cloud centred and scaled into the
  unit box, GET3D's protocol): ``chamfer``, the scale-aligned Chamfer distance of each object to its
  nearest ground-truth object (fidelity of every sample), and ``cov``/``mmd``
  ([`coverage_and_mmd`][gan3dlib.eval.point_metrics.coverage_and_mmd]: coverage and fidelity of the distribution);
- **proportions and relief** ([`gan3dlib.eval.object_metrics`][gan3dlib.eval.object_metrics]): ``aspect_error``,
  ``depth_extent_error``, ``relief_error`` and ``front_error`` against the Chamfer-nearest
  ground-truth object, the set's mean statistics (``aspect_mid``, ``aspect_thin``, ``depth_ratio``,
  ``front``, ``back``, ``front_relief``, ``z_offset``) beside the ground truth's, and
  ``relief_side``, the fraction of objects whose ``front_relief`` is on the ground truth's side by
  at least half of its mean (a nose in front, not a bulge behind), and ``relief_behind``, the
  fraction on the other side by as much (a hollow face): objects in neither have too little relief
  to say which side it is on.

A number alone says little; [`gap_closed`][gan3dlib.eval.synthetic_eval.gap_closed] puts it between a floor
(the clean initial shape) and a target (held-out ground truth, or the supervised oracle) from
[`gan3dlib.eval.baselines`][gan3dlib.eval.baselines].
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from einops import rearrange

from gan3dlib.eval.model_fid import random_latents
from gan3dlib.eval.object_metrics import STATISTICS, extent_statistics, statistic_errors
from gan3dlib.eval.point_metrics import coverage_and_mmd, sample_surface_points
from gan3dlib.eval.shape_metrics import match_depth_maps
from gan3dlib.render.camera import rotation_matrix

__all__ = [
    "CANONICAL_YAWS_DEGREES", "LOWER_IS_BETTER", "ShapeSet", "ShapeScore", "ShapeReference", "grid_shapes",
    "scene_shapes", "truth_shapes", "gap_closed", "GAP_METRICS", "GAP_MIN_SPAN", "gaps", "initial_scene",
]

CANONICAL_YAWS_DEGREES = (-30.0, 0.0, 30.0)
# Direction of every scored number: True when lower is better, False when higher is, None for
# statistics whose ideal is the ground truth's value.
LOWER_IS_BETTER = {
    "depth_error": True, "normal_error": True, "mask_iou": False, "hollow_fraction": True, "chamfer": True,
    "cov": False, "mmd": True, "aspect_error": True, "depth_extent_error": True, "relief_error": True,
    "front_error": True, "relief_side": False, "relief_behind": True, **{name: None for name in STATISTICS},
}


@dataclass
class ShapeSet:
    """Meshes of one topology and their canonical-view depth maps.

    Attributes:
        vertices: (B, V, 3) object-space vertices (float32, CPU).
        faces: (F, 3) int64 faces shared by the set.
        depth: (B, H, K * W) camera depth from the K canonical views side by side, 0 on the background.
    """

    vertices: torch.Tensor
    faces: torch.Tensor
    depth: torch.Tensor

    def __len__(self) -> int:
        return self.vertices.shape[0]


@dataclass
class ShapeScore:
    """Every shape metric of a set against the ground truth (NaN: not computed); see the module docstring."""

    depth_error: float
    mask_iou: float
    hollow_fraction: float
    num_generated: int
    num_truth: int
    normal_error: float = math.nan
    chamfer: float = math.nan
    cov: float = math.nan
    mmd: float = math.nan
    aspect_error: float = math.nan
    depth_extent_error: float = math.nan
    relief_error: float = math.nan
    front_error: float = math.nan
    aspect_mid: float = math.nan
    aspect_thin: float = math.nan
    depth_ratio: float = math.nan
    front: float = math.nan
    back: float = math.nan
    front_relief: float = math.nan
    z_offset: float = math.nan
    relief_side: float = math.nan
    relief_behind: float = math.nan

    def as_dict(self) -> dict:
        """Plain dict (for JSON)."""
        return asdict(self)


def _rotations(yaws_degrees: Sequence[float]) -> torch.Tensor:
    yaw = torch.tensor([math.radians(y) for y in yaws_degrees])
    return rotation_matrix(yaw, torch.zeros_like(yaw))


@torch.no_grad()
def grid_shapes(scene, vertices: torch.Tensor, yaws_degrees: Sequence[float] = CANONICAL_YAWS_DEGREES,
                resolution: int | None = None) -> ShapeSet:
    """Meshes on ``scene``'s grid (generated, initial or fitted shapes), depth maps by its renderer.

    Args:
        scene: a [`SceneGenerator`][gan3dlib.scene.SceneGenerator] (its grid, camera and renderer are used).
        vertices: (B, N², 3) object-space vertices.
        yaws_degrees: the canonical views.
        resolution: side of the depth maps (default: the scene's); another size renders with the
            same camera and renderer settings at that size, so models of any resolution can be
            scored against one reference.

    Returns:
        [`ShapeSet`][gan3dlib.eval.synthetic_eval.ShapeSet] on the CPU.
    """
    device = scene.faces.device
    verts = vertices.detach().to(device=device, dtype=torch.float32)
    size = None if resolution == scene.config.resolution else resolution
    maps = [scene.render(verts, rotation.expand(verts.shape[0], 3, 3), resolution=size).depth[:, 0].cpu()
            for rotation in _rotations(yaws_degrees).to(device)]
    depth = rearrange(torch.stack(maps), "k b h w -> b h (k w)")
    return ShapeSet(verts.cpu(), scene.faces.cpu(), depth)


@torch.no_grad()
def scene_shapes(scene, num: int, seed: int = 0, truncation_psi: float = 1.0, batch_size: int = 64,
                 yaws_degrees: Sequence[float] = CANONICAL_YAWS_DEGREES, resolution: int | None = None) -> ShapeSet:
    """``num`` objects of a scene generator (random latents drawn from ``seed``), in their canonical pose.

    The scene runs in eval mode with constant noise; its mode is restored afterwards. ``resolution``:
    as in [`grid_shapes`][gan3dlib.eval.synthetic_eval.grid_shapes].
    """
    was_training = scene.training
    scene.eval()
    z_obj, z_bg = random_latents(scene, num, torch.Generator().manual_seed(seed))
    device = scene.faces.device
    identity = torch.eye(3, device=device)
    try:
        vertices = torch.cat([
            scene(z_obj[s:s + batch_size].to(device), z_bg[s:s + batch_size].to(device),
                  identity.expand(len(z_obj[s:s + batch_size]), 3, 3), truncation_psi=truncation_psi,
                  noise_mode="const").vertices
            for s in range(0, num, batch_size)
        ])
    finally:
        scene.train(was_training)
    return grid_shapes(scene, vertices, yaws_degrees, resolution)


def truth_shapes(scenes, indices: Sequence[int], yaws_degrees: Sequence[float] = CANONICAL_YAWS_DEGREES,
                 vertices: torch.Tensor | None = None) -> ShapeSet:
    """Ground-truth objects of a [`SyntheticScenes`][gan3dlib.data.synthetic.SyntheticScenes], depth maps by PyTorch3D.

    Args:
        scenes: the synthetic scenes.
        indices: which objects.
        yaws_degrees: the canonical views.
        vertices: (B, V, 3) other vertices on the same topology to use instead of the objects' own
            (e.g. deliberately wrong copies of them, for the metrics' tests).

    Returns:
        [`ShapeSet`][gan3dlib.eval.synthetic_eval.ShapeSet] on the topology of ``scenes``.
    """
    if vertices is None:
        vertices = torch.stack([scenes.object(i).vertices for i in indices])
    views = len(yaws_degrees)
    yaw = torch.tensor([math.radians(y) for y in yaws_degrees])
    step = max(1, scenes.config.batch_size // views)
    depth = torch.cat([
        scenes.mesh_depth(chunk.repeat_interleave(views, dim=0), yaw.repeat(len(chunk)), torch.zeros(views * len(chunk)))
        for chunk in vertices.split(step)
    ])
    depth = rearrange(depth[:, 0], "(b k) h w -> b h (k w)", k=views)
    return ShapeSet(vertices.float(), scenes.topology.faces, depth)


class ShapeReference:
    """The ground-truth side of the shape metrics: objects ``0 .. num_truth - 1`` of a synthetic config.

    Scene ``i`` depends only on the dataset seed and ``i``, so the reference may hold more objects
    than a training set of the same config; objects from ``num_truth`` on are "held out"
    ([`held_out`][gan3dlib.eval.synthetic_eval.ShapeReference.held_out]).

    Args:
        synthetic: the [`SyntheticConfig`][gan3dlib.data.synthetic.SyntheticConfig] (its ``num_images`` is ignored).
        num_truth: ground-truth objects compared against.
        num_points: points sampled per surface for Chamfer, COV/MMD and the statistics.
        seed: seed of the point sampling.
        yaws_degrees: the canonical views of the depth maps.
    """

    def __init__(self, synthetic, num_truth: int = 256, num_points: int = 512, seed: int = 0,
                 yaws_degrees: Sequence[float] = CANONICAL_YAWS_DEGREES) -> None:
        from gan3dlib.data.synthetic import SyntheticScenes

        self.num_truth, self.num_points, self.seed = num_truth, num_points, seed
        self.yaws_degrees = tuple(yaws_degrees)
        self.scenes = SyntheticScenes(dataclasses.replace(synthetic, num_images=num_truth + 100_000))
        self.truth = truth_shapes(self.scenes, range(num_truth), self.yaws_degrees)
        self.points = self._points(self.truth)
        self.statistics = extent_statistics(self.points)

    def _points(self, shapes: ShapeSet) -> torch.Tensor:
        generator = torch.Generator().manual_seed(self.seed)
        return sample_surface_points(shapes.vertices, shapes.faces, self.num_points, generator=generator)

    @property
    def resolution(self) -> int:
        """Side of the reference's depth maps (the synthetic config's resolution)."""
        return self.scenes.config.resolution

    def held_out(self, num: int, vertices: torch.Tensor | None = None) -> ShapeSet:
        """``num`` ground-truth objects that are not in the reference (indices ``num_truth ..``)."""
        return truth_shapes(self.scenes, range(self.num_truth, self.num_truth + num), self.yaws_degrees, vertices)

    def score(self, shapes: ShapeSet) -> ShapeScore:
        """Scores a set of objects (see the module docstring)."""
        view_width = self.truth.depth.shape[1]
        match = match_depth_maps(shapes.depth, self.truth.depth, fov_degrees=self.scenes.config.fov_degrees,
                                 view_width=view_width)
        points = self._points(shapes)
        surfaces = coverage_and_mmd(points, self.points, normalize="unit_box")
        matched = surfaces["matched"]
        statistics = extent_statistics(points)
        means = {name: float(statistics[name].mean()) for name in STATISTICS}
        # The fraction of objects whose relief is on the camera's side, as the ground truth's is, and
        # on the other side (NaN when the ground truth has no front-to-back asymmetry to speak of).
        truth_relief = float(self.statistics["front_relief"].mean())
        signed = statistics["front_relief"] * math.copysign(1, truth_relief)
        sided = abs(truth_relief) > 0.05
        relief_side = float((signed > abs(truth_relief) / 2).double().mean()) if sided else math.nan
        relief_behind = float((signed < -abs(truth_relief) / 2).double().mean()) if sided else math.nan
        return ShapeScore(
            depth_error=match.depth_error, mask_iou=match.mask_iou, hollow_fraction=match.hollow_fraction,
            num_generated=len(shapes), num_truth=self.num_truth, normal_error=match.normal_error,
            chamfer=float(surfaces["distances"].amin(dim=0).mean()), cov=surfaces["cov"], mmd=surfaces["mmd"],
            **statistic_errors(statistics, self.statistics, matched), **means, relief_side=relief_side,
            relief_behind=relief_behind,
        )

    def truth_statistics(self) -> dict[str, float]:
        """Mean statistics of the reference objects."""
        return {name: float(values.mean()) for name, values in self.statistics.items()}


def gap_closed(value: float, floor: float, target: float) -> float:
    """Fraction of the way from ``floor`` to ``target`` that ``value`` has come (1: at the target).

    Works for either direction of a metric: ``(value - floor) / (target - floor)``; NaN when the
    floor already scores like the target (the benchmark cannot tell them apart).
    """
    span = target - floor
    if not all(math.isfinite(v) for v in (value, floor, target)) or abs(span) < 1e-12:
        return math.nan
    return (value - floor) / span


# The metrics whose floor-to-target gap summarises a run: depth maps, surfaces, proportions, and the
# frontal relief of the whole set ("front_relief", a mean: matched errors such as "front_error"
# reward generating the least-featured members of the distribution, a mean does not; and measured
# from the object's own centre, so a shift towards the camera is not mistaken for relief).
GAP_METRICS = ("depth_error", "normal_error", "chamfer", "aspect_error", "front_relief")
# The smallest floor-to-target span that counts: below it the floor already scores like the target
# and the fraction would be noise over a near-zero span. front_relief is relative to the half-width:
# 0.05 is under half a pixel of relief at 32² (a car or a blob has none to learn; a face about 0.18).
GAP_MIN_SPAN = {"front_relief": 0.05}


def gaps(score: dict, floor: dict, target: dict, metrics: Sequence[str] = GAP_METRICS) -> tuple[dict, float]:
    """[`gap_closed`][gan3dlib.eval.synthetic_eval.gap_closed] of each metric, and their mean (the "shape gap").

    Args:
        score: the scored set's metrics (e.g. ``ShapeScore.as_dict()``).
        floor: the floor's metrics.
        target: the target's (held-out truth or oracle).
        metrics: which metrics.

    Returns:
        ``({metric: fraction}, mean of the finite fractions or NaN)``; a metric whose floor and
        target differ by less than its ``GAP_MIN_SPAN`` is NaN (it cannot tell them apart).
    """
    fractions = {m: (gap_closed(score[m], floor[m], target[m])
                     if abs(target[m] - floor[m]) >= GAP_MIN_SPAN.get(m, 0.0) else math.nan) for m in metrics}
    finite = [v for v in fractions.values() if math.isfinite(v)]
    return fractions, (sum(finite) / len(finite) if finite else math.nan)


def initial_scene(config):
    """The untrained generator exactly as [`train`][gan3dlib.train.loop.train] builds it for ``config``.

    The global RNG is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return config.model.build()
