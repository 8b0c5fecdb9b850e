"""How close a scene generator is to a synthetic dataset: its shapes and its images.

Shapes. Generated objects and ground-truth objects are both rendered as depth maps from the same
canonical views (yaw -30°, 0°, +30° at pitch 0 by default, side by side), and matched with
[`match_depth_maps`][gan3dlib.eval.shape_metrics.match_depth_maps]: the mean aligned depth error of each
generated object to its nearest ground-truth object (lower is better), the normal error of those
matches in degrees, their mean mask IoU (higher is better) and the fraction of inverted (hollow)
matches. Both sets' full surfaces are also sampled as point clouds for Chamfer coverage and minimum
matching distance ([`coverage_and_mmd`][gan3dlib.eval.point_metrics.coverage_and_mmd], GET3D's protocol with
each cloud scaled into the unit box).

Images. FID and KID ([`compute_fid_kid`][gan3dlib.eval.image_metrics.compute_fid_kid]) between renders of
random latents from the training viewpoint distribution and the training images.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from einops import rearrange

from gan3dlib.eval.model_fid import model_fid, random_latents
from gan3dlib.eval.point_metrics import coverage_and_mmd, sample_surface_points
from gan3dlib.eval.shape_metrics import match_depth_maps
from gan3dlib.render.camera import rotation_matrix

__all__ = [
    "ShapeScore", "generated_depth", "truth_depth", "score_against_synthetic", "initial_scene", "score_scene", "score_run",
]

CANONICAL_YAWS_DEGREES = (-30.0, 0.0, 30.0)


@dataclass
class ShapeScore:
    """Metrics of a set of generated objects against the ground truth (NaN: not computed)."""

    depth_error: float
    mask_iou: float
    hollow_fraction: float
    num_generated: int
    num_truth: int
    normal_error: float = math.nan
    cov: float = math.nan
    mmd: float = math.nan

    def as_dict(self) -> dict:
        """Plain dict (for JSON)."""
        return asdict(self)


def _views(yaws_degrees) -> tuple[torch.Tensor, torch.Tensor]:
    yaw = torch.tensor([math.radians(y) for y in yaws_degrees])
    return yaw, torch.zeros_like(yaw)


@torch.no_grad()
def generated_depth(scene, num: int, seed: int = 0, yaws_degrees=CANONICAL_YAWS_DEGREES, truncation_psi: float = 1.0,
                    return_vertices: bool = False):
    """(num, N, V*N) depth maps of ``num`` generated objects from the canonical views.

    With ``return_vertices`` also returns their (num, N², 3) object-space vertices.
    """
    was_training = scene.training
    scene.eval()
    z_obj, z_bg = random_latents(scene, num, torch.Generator().manual_seed(seed))
    device = next(scene.parameters()).device
    yaw, pitch = _views(yaws_degrees)
    maps = []
    for rotation in rotation_matrix(yaw, pitch):
        out = scene(z_obj.to(device), z_bg.to(device), rotation.expand(num, 3, 3).to(device),
                    truncation_psi=truncation_psi, noise_mode="const")
        maps.append(out.render.depth[:, 0].cpu())
    scene.train(was_training)
    depth = rearrange(torch.stack(maps), "v b h w -> b h (v w)")
    return (depth, out.vertices.cpu()) if return_vertices else depth


def truth_depth(scenes, num: int, yaws_degrees=CANONICAL_YAWS_DEGREES):
    """(num, R, V*R) depth maps of the first ``num`` ground-truth objects from the canonical views."""
    yaw, pitch = _views(yaws_degrees)
    maps = [scenes.canonical_depth(i, yaw, pitch)[:, 0] for i in range(min(num, len(scenes)))]
    return rearrange(torch.stack(maps), "b v h w -> b h (v w)")


def score_against_synthetic(
    scene, scenes, num_generated: int = 64, num_truth: int = 256, seed: int = 0, num_points: int | None = 512
) -> ShapeScore:
    """Scores a scene generator's shapes against a [`SyntheticScenes`][gan3dlib.data.synthetic.SyntheticScenes] set.

    Args:
        scene: a [`SceneGenerator`][gan3dlib.scene.SceneGenerator] at the dataset's resolution.
        scenes: the ground-truth scenes.
        num_generated: generated objects to score.
        num_truth: ground-truth objects to match against.
        seed: latent seed (and point-sampling seed).
        num_points: points per surface for COV/MMD (GET3D uses 2048); ``None`` skips COV/MMD.

    Returns:
        [`ShapeScore`][gan3dlib.eval.synthetic_eval.ShapeScore].
    """
    generated, vertices = generated_depth(scene, num_generated, seed, return_vertices=True)
    truth = truth_depth(scenes, num_truth)
    match = match_depth_maps(generated, truth, fov_degrees=scene.config.camera.fov_degrees,
                             view_width=generated.shape[1])
    cov = mmd = math.nan
    if num_points is not None:
        g = torch.Generator().manual_seed(seed)
        gen_points = sample_surface_points(vertices, scene.faces.cpu(), num_points, generator=g)
        truth_vertices = torch.stack([scenes.object(i).vertices for i in range(truth.shape[0])])
        truth_points = sample_surface_points(truth_vertices, scenes.topology.faces, num_points, generator=g)
        result = coverage_and_mmd(gen_points, truth_points, normalize="unit_box")
        cov, mmd = result["cov"], result["mmd"]
    return ShapeScore(match.depth_error, match.mask_iou, match.hollow_fraction, generated.shape[0], truth.shape[0],
                      normal_error=match.normal_error, cov=cov, mmd=mmd)


def initial_scene(config):
    """The untrained generator exactly as [`train`][gan3dlib.train.loop.train] builds it for ``config``.

    The global RNG is left as it was.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return config.model.scene_config().build()


def score_scene(scene, config, num_generated: int = 64, num_truth: int = 256, num_fid: int = 500,
                extractor=None, num_points: int | None = 512) -> dict:
    """All metrics of a scene generator against the synthetic dataset a ``data='synthetic'`` run trains on.

    Args:
        scene: the [`SceneGenerator`][gan3dlib.scene.SceneGenerator] to score.
        config: the run's [`TrainConfig`][gan3dlib.train.config.TrainConfig] (data set size, resolution, seed).
        num_generated: generated objects for the shape metrics.
        num_truth: ground-truth objects for the shape metrics.
        num_fid: generated renders, and training images (at most the data set), for FID/KID.
        extractor: image feature extractor (default
            [`RandomProjectionFeatures`][gan3dlib.eval.image_metrics.RandomProjectionFeatures]).
        num_points: points per surface for COV/MMD; ``None`` skips them.

    Returns:
        ``{depth_error, normal_error, mask_iou, hollow_fraction, cov, mmd, fid, kid, ...}``.
    """
    from gan3dlib.data.synthetic import SyntheticScenes
    from gan3dlib.eval.image_metrics import RandomProjectionFeatures
    from gan3dlib.train.loop import build_dataset, synthetic_data_config

    if config.data != "synthetic":
        raise ValueError(f"config.data: expected a run trained on 'synthetic' data, got {config.data!r}")
    scenes = SyntheticScenes(synthetic_data_config(config.synthetic_images, config.model.resolution, config.seed))
    shapes = score_against_synthetic(scene, scenes, num_generated, num_truth, config.seed, num_points)
    extractor = RandomProjectionFeatures() if extractor is None else extractor
    images = model_fid(scene, build_dataset(config), extractor, num_fid, seed=config.seed)
    return {**shapes.as_dict(), "fid": images["fid"], "kid": images["kid_mean"], "kid_std": images["kid_std"],
            "feature_extractor": extractor.name}


def score_run(run_folder: str | Path, config, **kwargs) -> dict:
    """[`score_scene`][gan3dlib.eval.synthetic_eval.score_scene] of a finished run's exported ``model/``."""
    from gan3dlib.scene import SceneGenerator

    return score_scene(SceneGenerator.from_pretrained(Path(run_folder) / "model"), config, **kwargs)
