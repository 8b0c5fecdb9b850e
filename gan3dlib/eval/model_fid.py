"""FID/KID of a scene generator's renders against an image dataset.

The generated side is ``num`` renders of random latents, each from a random viewpoint of the
model's own viewpoint distribution over its own background crop: exactly what the discriminator
saw in training. The real side is an image dataset at the model's resolution; its FID statistics
can be cached on disk ([`cached_dataset_stats`][gan3dlib.eval.image_metrics.cached_dataset_stats], keyed by the
dataset's resolved path, the resolution, the image count and the feature extractor).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch

from gan3dlib.eval.image_metrics import FeatureExtractor, cached_dataset_stats, compute_feature_stats, compute_fid_kid
from gan3dlib.utils.checks import check_positive

__all__ = ["random_latents", "scene_renders", "dataset_batches", "model_fid"]


def random_latents(scene, num: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(num, z_dim) object latents, then (num, z_dim) background latents, drawn from ``generator``."""
    z_dim = scene.config.object_generator.mapping.z_dim
    return torch.randn(num, z_dim, generator=generator), torch.randn(num, z_dim, generator=generator)


@torch.no_grad()
def scene_renders(scene, num: int, seed: int = 0, batch_size: int = 64, truncation_psi: float = 1.0) -> Iterator[torch.Tensor]:
    """Batches of (B, 3, N, N) renders in [-1, 1] of ``num`` random latents, from random viewpoints.

    Deterministic in ``seed``; the scene is put in eval mode while iterating and restored after.
    """
    check_positive(num, "num", integer=True)
    check_positive(batch_size, "batch_size", integer=True)
    was_training = scene.training
    scene.eval()
    g = torch.Generator().manual_seed(seed)
    z_obj, z_bg = random_latents(scene, num, g)  # g then drives viewpoints, crops and mixing
    device = next(scene.parameters()).device
    try:
        for start in range(0, num, batch_size):
            out = scene(z_obj[start:start + batch_size].to(device), z_bg[start:start + batch_size].to(device),
                        truncation_psi=truncation_psi, noise_mode="const", generator=g)
            yield out.image.clamp(-1, 1)
    finally:
        scene.train(was_training)


def dataset_batches(dataset, num: int, batch_size: int = 64) -> Iterator[torch.Tensor]:
    """(B, 3, R, R) batches of the first ``min(num, len(dataset))`` items of an image dataset."""
    count = min(num, len(dataset))
    for start in range(0, count, batch_size):
        yield torch.stack([dataset[i] for i in range(start, min(start + batch_size, count))])


def model_fid(
    scene, dataset, extractor: FeatureExtractor, num: int = 10_000, *, seed: int = 0, batch_size: int = 64,
    cache_dir: str | Path | None = None, dataset_key: str | None = None, device: str | torch.device = "cpu",
) -> dict:
    """FID (and KID when the real features are computed, i.e. not cached) of a scene generator.

    Args:
        scene: a [`SceneGenerator`][gan3dlib.scene.SceneGenerator].
        dataset: image dataset whose items are (3, N, N) in [-1, 1] at the scene's resolution.
        extractor: feature extractor ([`InceptionFeatures`][gan3dlib.eval.image_metrics.InceptionFeatures] for
            the standard FID).
        num: generated renders, and at most this many real images.
        seed: latent/viewpoint seed.
        batch_size: renders and extractor batch size.
        cache_dir: folder for cached real statistics; needs ``dataset_key``. Without it, real
            features are computed and KID is reported too.
        dataset_key: identifies the dataset in the cache (e.g. its resolved path).
        device: where the extractor runs.

    Returns:
        ``{"fid", "kid_mean", "kid_std", "num_generated", "num_real"}`` (KID ``None`` when cached
        statistics were used).
    """
    resolution = scene.config.resolution
    if cache_dir is None:
        return compute_fid_kid(lambda: scene_renders(scene, num, seed, batch_size), lambda: dataset_batches(dataset, num, batch_size),
                               extractor, seed=seed, batch_size=batch_size, device=device,
                               kid_subset_size=min(1000, num))
    if not dataset_key:
        raise ValueError(f"dataset_key: expected a non-empty string with cache_dir, got {dataset_key!r}")
    count = min(num, len(dataset))
    stats = cached_dataset_stats(
        f"{dataset_key}-n{count}", resolution, cache_dir,
        lambda: compute_feature_stats(lambda: dataset_batches(dataset, count, batch_size), extractor, batch_size, device),
        extractor_name=extractor.name,
    )
    return compute_fid_kid(lambda: scene_renders(scene, num, seed, batch_size), None, extractor, real_stats=stats,
                           seed=seed, batch_size=batch_size, device=device)
