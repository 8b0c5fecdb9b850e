"""How close a scene generator's shapes are to a synthetic dataset's ground-truth shapes.

Generated objects and ground-truth objects are both rendered as depth maps from the same
canonical views (yaw -30°, 0°, +30° at pitch 0 by default, side by side), and matched with
:func:`~gan3dlib.eval.shape_metrics.match_depth_maps`: the mean aligned depth error of each
generated object to its nearest ground-truth object (lower is better), the mean mask IoU of those
matches (higher is better) and the fraction of inverted (hollow) matches.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from einops import rearrange

from gan3dlib.eval.shape_metrics import match_depth_maps
from gan3dlib.render.camera import rotation_matrix

__all__ = ["ShapeScore", "generated_depth", "truth_depth", "score_against_synthetic"]

CANONICAL_YAWS_DEGREES = (-30.0, 0.0, 30.0)


@dataclass
class ShapeScore:
    """Depth-map metrics of a set of generated objects against the ground truth."""

    depth_error: float
    mask_iou: float
    hollow_fraction: float
    num_generated: int
    num_truth: int

    def as_dict(self) -> dict:
        """Plain dict (for JSON)."""
        return asdict(self)


def _views(yaws_degrees) -> tuple[torch.Tensor, torch.Tensor]:
    yaw = torch.tensor([math.radians(y) for y in yaws_degrees])
    return yaw, torch.zeros_like(yaw)


@torch.no_grad()
def generated_depth(scene, num: int, seed: int = 0, yaws_degrees=CANONICAL_YAWS_DEGREES, truncation_psi: float = 1.0):
    """(num, N, V*N) depth maps of ``num`` generated objects from the canonical views."""
    was_training = scene.training
    scene.eval()
    z_dim = scene.config.object_generator.mapping.z_dim
    g = torch.Generator().manual_seed(seed)
    z_obj, z_bg = torch.randn(num, z_dim, generator=g), torch.randn(num, z_dim, generator=g)
    device = next(scene.parameters()).device
    yaw, pitch = _views(yaws_degrees)
    maps = []
    for rotation in rotation_matrix(yaw, pitch):
        out = scene(z_obj.to(device), z_bg.to(device), rotation.expand(num, 3, 3).to(device),
                    truncation_psi=truncation_psi, noise_mode="const")
        maps.append(out.render.depth[:, 0].cpu())
    scene.train(was_training)
    return rearrange(torch.stack(maps), "v b h w -> b h (v w)")


def truth_depth(scenes, num: int, yaws_degrees=CANONICAL_YAWS_DEGREES):
    """(num, R, V*R) depth maps of the first ``num`` ground-truth objects from the canonical views."""
    yaw, pitch = _views(yaws_degrees)
    maps = [scenes.canonical_depth(i, yaw, pitch)[:, 0] for i in range(min(num, len(scenes)))]
    return rearrange(torch.stack(maps), "b v h w -> b h (v w)")


def score_against_synthetic(scene, scenes, num_generated: int = 64, num_truth: int = 256, seed: int = 0) -> ShapeScore:
    """Scores a scene generator against a :class:`~gan3dlib.data.synthetic.SyntheticScenes` set.

    Args:
        scene: a :class:`~gan3dlib.scene.SceneGenerator` at the dataset's resolution.
        scenes: the ground-truth scenes.
        num_generated: generated objects to score.
        num_truth: ground-truth objects to match against.
        seed: latent seed.

    Returns:
        :class:`ShapeScore`.
    """
    generated = generated_depth(scene, num_generated, seed)
    truth = truth_depth(scenes, num_truth)
    match = match_depth_maps(generated, truth)
    return ShapeScore(match.depth_error, match.mask_iou, match.hollow_fraction, generated.shape[0], truth.shape[0])
