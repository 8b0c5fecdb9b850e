"""The floor and the ceiling of the shape benchmark: the clean initial shape and a supervised oracle.

A shape score means something only between the trivial answer and the best attainable one:

- **floor**: the clean initial shape ``s0`` of the generator (sphere or sheet, zero offsets, after
  the size constraint), scaled uniformly by the factor that maximises its mean silhouette IoU
  against the reference objects' canonical views (a grid search). It knows the average size of the
  objects and nothing else: a constant answer.
- **oracle**: held-out ground-truth objects fitted one by one through *the generator's own shape
  parametrization* (raw shape channels -> [`ObjectShape`][gan3dlib.shape.ObjectShape] -> grid mesh)
  by Adam on supervised losses from known viewpoints: silhouette L2 between the renderer's alpha
  and the ground-truth coverage, plus L1 depth on the pixels both cover, from a grid of viewpoints
  spanning the data's viewpoint range. It is what the generator's mesh could reach if it were told
  the answer from the views the data shows: the ceiling (the unseen back stays where ``s0`` put it,
  as for the GAN).
- **truth**: the held-out ground-truth objects themselves (what a perfect generator would produce).

[`baseline_scores`][gan3dlib.eval.baselines.baseline_scores] scores all three with a
[`ShapeReference`][gan3dlib.eval.synthetic_eval.ShapeReference].
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch

from gan3dlib.eval.shape_metrics import pairwise_aligned_depth_error
from gan3dlib.eval.synthetic_eval import ShapeReference, ShapeScore, ShapeSet, grid_shapes
from gan3dlib.render.camera import rotation_matrix
from gan3dlib.utils.checks import check_positive

__all__ = ["OracleConfig", "floor_vertices", "floor_shapes", "fit_oracle", "baseline_scores"]


@dataclass(frozen=True)
class OracleConfig:
    """How the oracle is fitted.

    Attributes:
        yaw_views: viewpoints per object along yaw (evenly over the data's yaw range, ends included).
        pitch_views: viewpoints along pitch (evenly over the data's pitch range).
        steps: Adam steps.
        lr: Adam learning rate of the offsets, in object units (cosine-decayed to 0).
        depth_weight: weight of the L1 depth term against the silhouette L2 term.
        batch_size: objects fitted together.
    """

    yaw_views: int = 3
    pitch_views: int = 2
    steps: int = 200
    lr: float = 0.01
    depth_weight: float = 1.0
    batch_size: int = 16

    def __post_init__(self) -> None:
        """Validates the fields (a docstring here also keeps draccus's field-docstring scanner in bounds)."""
        for name in ("yaw_views", "pitch_views", "steps", "batch_size"):
            check_positive(getattr(self, name), name, integer=True)
        check_positive(self.lr, "lr")
        check_positive(self.depth_weight, "depth_weight", allow_zero=True)


def _initial_vertices(scene) -> torch.Tensor:
    """(1, N², 3) the clean initial shape of ``scene`` (zero generator output through ObjectShape)."""
    shape = scene.object_shape
    n = shape.config.grid_size
    with torch.no_grad():
        image = shape(torch.zeros(1, shape.config.generator_channels, 2 * n, 2 * n, device=scene.faces.device))
    return scene.grid.shape_image_to_vertices(image)


def floor_vertices(scene, reference: ShapeReference, scales: torch.Tensor | None = None) -> tuple[torch.Tensor, float]:
    """The floor: ``s0`` scaled by the factor of best mean silhouette IoU against the reference.

    Args:
        scene: a [`SceneGenerator`][gan3dlib.scene.SceneGenerator] (its ``s0``, grid, camera, renderer).
        reference: the ground truth.
        scales: candidate factors (default 0.4 to 1.8 in steps of 0.05).

    Returns:
        ``(vertices (1, N², 3), scale)``.
    """
    scales = torch.arange(0.4, 1.8001, 0.05, dtype=torch.float64) if scales is None else scales
    s0 = _initial_vertices(scene)
    candidates = grid_shapes(scene, s0 * scales.to(s0)[:, None, None], reference.yaws_degrees, reference.resolution)
    _, iou, _ = pairwise_aligned_depth_error(candidates.depth, reference.truth.depth)
    best = int(iou.mean(dim=1).argmax())
    return s0 * float(scales[best]), float(scales[best])


def floor_shapes(scene, reference: ShapeReference, num: int = 64) -> ShapeSet:
    """The floor as a set of ``num`` identical objects, scored like any generated set.

    A constant answer repeated: its surface statistics are then averaged over ``num`` independent
    point samples, as a generated set's are, rather than read off one noisy sample.
    """
    check_positive(num, "num", integer=True)
    vertices, _ = floor_vertices(scene, reference)
    one = grid_shapes(scene, vertices, reference.yaws_degrees, reference.resolution)
    return ShapeSet(one.vertices.expand(num, -1, -1), one.faces, one.depth.expand(num, -1, -1))


def _view_grid(synthetic, config: OracleConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """(K,) yaws and pitches in radians spanning the data's viewpoint ranges."""
    yaws = torch.linspace(*(math.radians(v) for v in synthetic.yaw_range_degrees), config.yaw_views)
    pitches = torch.linspace(*(math.radians(v) for v in synthetic.pitch_range_degrees), config.pitch_views)
    if config.yaw_views == 1:
        yaws = yaws.new_tensor([math.radians(sum(synthetic.yaw_range_degrees) / 2)])
    if config.pitch_views == 1:
        pitches = pitches.new_tensor([math.radians(sum(synthetic.pitch_range_degrees) / 2)])
    yaw, pitch = torch.meshgrid(yaws, pitches, indexing="ij")
    return yaw.flatten(), pitch.flatten()


def fit_oracle(scene, reference: ShapeReference, truth_vertices: torch.Tensor,
               config: OracleConfig | None = None) -> torch.Tensor:
    """Fits ground-truth objects through ``scene``'s shape parametrization from known viewpoints.

    Args:
        scene: a [`SceneGenerator`][gan3dlib.scene.SceneGenerator] (its ObjectShape, grid, camera, renderer).
        reference: supplies the ground-truth renderer (PyTorch3D depth maps of its topology).
        truth_vertices: (B, V, 3) ground-truth objects on the reference's topology.
        config: fitting settings.

    Returns:
        (B, N², 3) fitted vertices on the scene's grid.
    """
    config = config or OracleConfig()
    shape, n = scene.object_shape, scene.config.resolution
    yaw, pitch = _view_grid(reference.scenes.config, config)
    views = yaw.numel()
    rotation = rotation_matrix(yaw, pitch)
    fitted = []
    for chunk in truth_vertices.split(config.batch_size):
        batch = chunk.shape[0]
        target = reference.scenes.mesh_depth(chunk.repeat_interleave(views, dim=0), yaw.repeat(batch),
                                             pitch.repeat(batch), resolution=n)  # (B K, 1, N, N)
        covered = (target > 0).float()
        offsets = torch.zeros(batch, shape.config.generator_channels, 2 * n, 2 * n, requires_grad=True)
        optimizer = torch.optim.Adam([offsets], lr=config.lr)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.steps)
        for _ in range(config.steps):
            vertices = scene.grid.shape_image_to_vertices(shape(offsets / shape.config.shape_scale))
            out = scene.render(vertices.repeat_interleave(views, dim=0), rotation.repeat(batch, 1, 1))
            both = covered * out.crisp_alpha.detach()
            depth_l1 = ((out.depth - target).abs() * both).sum() / both.sum().clamp(min=1)
            loss = (out.alpha - covered).square().mean() + config.depth_weight * depth_l1
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        with torch.no_grad():
            fitted.append(scene.grid.shape_image_to_vertices(shape(offsets / shape.config.shape_scale)))
    return torch.cat(fitted)


def baseline_scores(scene, reference: ShapeReference, num: int = 64, num_oracle: int = 16,
                    oracle: OracleConfig | None = None) -> dict[str, ShapeScore]:
    """Scores of the floor, the oracle and held-out ground truth against ``reference``.

    Args:
        scene: a [`SceneGenerator`][gan3dlib.scene.SceneGenerator] with the parametrization to fit
            (e.g. the untrained generator of a run; its weights are not used).
        reference: the ground truth.
        num: held-out objects for the truth row (as many as the generated objects of a run, so
            that COV and MMD compare).
        num_oracle: the first ``num_oracle`` of them are fitted for the oracle row (its COV and MMD
            are left NaN: they depend on the size of the set).
        oracle: oracle settings; None uses [`OracleConfig`][gan3dlib.eval.baselines.OracleConfig]'s defaults.

    Returns:
        ``{"floor": ..., "oracle": ..., "truth": ...}`` [`ShapeScore`][gan3dlib.eval.synthetic_eval.ShapeScore]s.
    """
    check_positive(num, "num", integer=True)
    check_positive(num_oracle, "num_oracle", integer=True)
    truth = reference.held_out(num)
    fitted = fit_oracle(scene, reference, truth.vertices[:num_oracle], oracle)
    fitted_shapes = grid_shapes(scene, fitted, reference.yaws_degrees, reference.resolution)
    oracle_score = dataclasses.replace(reference.score(fitted_shapes), cov=math.nan, mmd=math.nan)
    return {
        "floor": reference.score(floor_shapes(scene, reference, num)),
        "oracle": oracle_score,
        "truth": reference.score(truth),
    }
