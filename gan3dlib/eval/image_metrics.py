"""Image metrics: FID and KID between generated renders and a real image set.

Both metrics compare two sets of image *features*. The published numbers use the pool3 (2048-d)
features of the TensorFlow FID Inception-v3; [`InceptionFeatures`][gan3dlib.eval.image_metrics.InceptionFeatures] loads that network through
torch-fidelity (``pip install "gan3dlib[eval]"``) from a weights file the user provides -- nothing
is downloaded here. [`RandomProjectionFeatures`][gan3dlib.eval.image_metrics.RandomProjectionFeatures] is a tiny deterministic stand-in for tests and
CPU smoke runs; its scores are **not** comparable to any published FID/KID.

- **FID** (Heusel et al., 2017): ``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^{1/2})`` between the
  Gaussians fitted to both feature sets ([`frechet_distance`][gan3dlib.eval.image_metrics.frechet_distance]).
- **KID** (Binkowski et al., 2018): the unbiased MMD^2 with the cubic polynomial kernel
  ``k(x, y) = (x.y / d + 1)^3``, averaged over random subsets ([`kernel_inception_distance`][gan3dlib.eval.image_metrics.kernel_inception_distance]).

Real-set statistics can be cached on disk, keyed by data set, resolution and extractor
([`cached_dataset_stats`][gan3dlib.eval.image_metrics.cached_dataset_stats]).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, Union

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_save
from torch import nn

from gan3dlib.utils.atomic import atomic_write_bytes
from gan3dlib.utils.checks import check_positive, check_tensor, describe

__all__ = [
    "FeatureExtractor", "InceptionFeatures", "RandomProjectionFeatures", "FeatureStats",
    "frechet_distance", "kernel_inception_distance", "compute_feature_stats", "cached_dataset_stats",
    "compute_fid_kid", "INCEPTION_WEIGHTS_FILE",
]

INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
_INCEPTION_HINT = (
    f"expected the FID Inception-v3 weights file '{INCEPTION_WEIGHTS_FILE}' (the TensorFlow "
    "inception-2015-12-05 / pt_inception weights converted by torch-fidelity, released at "
    "https://github.com/toshas/torch-fidelity/releases/tag/v0.2.0); download it once by hand and "
    "verify the checksum published by torch-fidelity (the 8 hex digits in the name follow torch.hub's "
    "SHA-256-prefix naming). gan3dlib never downloads it"
)

Images = Union[torch.Tensor, Iterable, Callable[[], Iterable]]


class FeatureExtractor(Protocol):
    """Anything mapping images (B, 3, H, W) in [-1, 1] to features (B, D), with a ``name``."""

    name: str

    def __call__(self, images: torch.Tensor) -> torch.Tensor: ...


def _as_float64(x: object, name: str, shape) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    return check_tensor(x, name, shape, floating=True, finite=True).detach().to("cpu", torch.float64)


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between the Gaussians N(mu1, sigma1) and N(mu2, sigma2), in float64.

    ``Tr((S1 S2)^{1/2})`` is computed without scipy as the sum of the square roots of the
    eigenvalues of the symmetric PSD matrix ``S1^{1/2} S2 S1^{1/2}`` (similar to ``S1 S2``);
    ``S1^{1/2}`` comes from ``torch.linalg.eigh``, tiny negative eigenvalues clamped to 0.

    Args:
        mu1: (D,) mean of the first set (tensor or numpy array).
        sigma1: (D, D) covariance of the first set.
        mu2: (D,) mean of the second set.
        sigma2: (D, D) covariance of the second set.

    Returns:
        The squared Fréchet distance (``>= 0`` up to rounding).
    """
    m1 = _as_float64(mu1, "mu1", (None,))
    d = m1.shape[0]
    s1 = _as_float64(sigma1, "sigma1", (d, d))
    m2 = _as_float64(mu2, "mu2", (d,))
    s2 = _as_float64(sigma2, "sigma2", (d, d))
    s1, s2 = (s1 + s1.T) / 2, (s2 + s2.T) / 2
    w, v = torch.linalg.eigh(s1)
    sqrt_s1 = (v * w.clamp(min=0).sqrt()) @ v.T
    inner = sqrt_s1 @ s2 @ sqrt_s1
    tr_covmean = torch.linalg.eigvalsh((inner + inner.T) / 2).clamp(min=0).sqrt().sum()
    diff = m1 - m2
    return float(diff @ diff + torch.trace(s1) + torch.trace(s2) - 2 * tr_covmean)


def kernel_inception_distance(
    feats1, feats2, num_subsets: int = 100, subset_size: int = 1000, generator: torch.Generator | None = None
) -> tuple[float, float]:
    """KID: unbiased MMD^2 with the kernel ``(x.y / d + 1)^3``, mean and std over random subsets.

    Args:
        feats1: (N1, D) features of the first set.
        feats2: (N2, D) features of the second set.
        num_subsets: number of random subset pairs.
        subset_size: samples per subset, capped at ``min(N1, N2)`` (which must be at least 2).
        generator: random generator for the subsets (default: seeded with 0, so deterministic).

    Returns:
        ``(mean, std)`` of the per-subset MMD^2 (std with ddof 0, as torch-fidelity). Being
        unbiased, the mean can be slightly negative for identical distributions.
    """
    x_all = _as_float64(feats1, "feats1", (None, None))
    y_all = _as_float64(feats2, "feats2", (None, x_all.shape[1]))
    check_positive(num_subsets, "num_subsets", integer=True)
    check_positive(subset_size, "subset_size", integer=True)
    m = min(subset_size, x_all.shape[0], y_all.shape[0])
    if m < 2:
        raise ValueError(f"feats1/feats2: KID needs at least 2 samples per set, got {x_all.shape[0]} and "
                         f"{y_all.shape[0]} (subset_size={subset_size})")
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    d = x_all.shape[1]
    scores = torch.empty(num_subsets, dtype=torch.float64)
    for i in range(num_subsets):
        x = x_all[torch.randperm(x_all.shape[0], generator=gen)[:m]]
        y = y_all[torch.randperm(y_all.shape[0], generator=gen)[:m]]
        kxx, kyy, kxy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        within = (kxx.sum() - kxx.diagonal().sum() + kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
        scores[i] = within - 2 * kxy.sum() / (m * m)
    return float(scores.mean()), float(scores.std(correction=0))


@dataclass
class FeatureStats:
    """Mean (D,) and unbiased covariance (D, D) of ``count`` feature vectors, float64."""

    mean: torch.Tensor
    cov: torch.Tensor
    count: int

    @classmethod
    def from_batches(cls, batches: Iterable[torch.Tensor]) -> FeatureStats:
        """Streams (B, D) feature batches, merging per-batch mean and scatter (Chan et al.) in float64."""
        n, mean, scatter = 0, None, None
        for i, batch in enumerate(batches):
            f = _as_float64(batch, f"batches[{i}]", (None, None if mean is None else mean.shape[0]))
            if f.shape[0] == 0:
                continue
            b_mean = f.mean(0)
            centered = f - b_mean
            b_scatter = centered.T @ centered
            if mean is None:
                n, mean, scatter = f.shape[0], b_mean, b_scatter
                continue
            total = n + f.shape[0]
            delta = b_mean - mean
            scatter = scatter + b_scatter + torch.outer(delta, delta) * (n * f.shape[0] / total)
            mean = mean + delta * (f.shape[0] / total)
            n = total
        if mean is None or n < 2:
            raise ValueError(f"batches: expected at least 2 feature vectors in total, got {n}")
        return cls(mean=mean, cov=scatter / (n - 1), count=n)

    def save(self, path: str | Path, metadata: dict[str, str] | None = None) -> Path:
        """Writes the statistics atomically as safetensors (string ``metadata`` kept in the header)."""
        meta = {**(metadata or {}), "count": str(self.count)}
        data = safetensors_save({"mean": self.mean.contiguous(), "cov": self.cov.contiguous()}, metadata=meta)
        return atomic_write_bytes(path, data)

    @classmethod
    def load(cls, path: str | Path) -> FeatureStats:
        """Reads statistics written by [`save`][gan3dlib.eval.image_metrics.FeatureStats.save]."""
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            mean, cov = f.get_tensor("mean"), f.get_tensor("cov")
        if "count" not in meta:
            raise ValueError(f"path: {path} is not a FeatureStats file (no 'count' in its metadata)")
        return cls(mean=mean.to(torch.float64), cov=cov.to(torch.float64), count=int(meta["count"]))

    @staticmethod
    def metadata_of(path: str | Path) -> dict[str, str]:
        """The string metadata stored with a statistics file."""
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})


def cached_dataset_stats(
    dataset_key: str, resolution: int, cache_dir: str | Path, compute_fn: Callable[[], FeatureStats], *,
    extractor_name: str,
) -> FeatureStats:
    """Loads data-set statistics from ``cache_dir``, computing and saving them when missing.

    The file name is a readable slug plus a SHA-256 of ``(dataset_key, resolution, extractor_name)``;
    a file whose stored key differs (a hash collision) is recomputed and overwritten.

    Args:
        dataset_key: identifies the real image set (e.g. its folder and split).
        resolution: image resolution the statistics were computed at.
        cache_dir: folder for the cached files (created when needed).
        compute_fn: called with no argument to compute the statistics when not cached.
        extractor_name: the feature extractor's ``name``.

    Returns:
        The statistics.
    """
    if not isinstance(dataset_key, str) or not dataset_key:
        raise ValueError(f"dataset_key: expected a non-empty string, got {describe(dataset_key)}")
    check_positive(resolution, "resolution", integer=True)
    key = {"dataset_key": dataset_key, "resolution": str(resolution), "extractor": str(extractor_name)}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{dataset_key}-{resolution}-{extractor_name}")[:60]
    path = Path(cache_dir) / f"{slug}-{digest}.safetensors"
    if path.is_file() and all(FeatureStats.metadata_of(path).get(k) == v for k, v in key.items()):
        return FeatureStats.load(path)
    stats = compute_fn()
    if not isinstance(stats, FeatureStats):
        raise ValueError(f"compute_fn: expected it to return FeatureStats, got {describe(stats)}")
    stats.save(path, metadata=key)
    return stats


class RandomProjectionFeatures(nn.Module):
    """Deterministic stand-in extractor: area-downsampled pixels times a fixed Gaussian matrix.

    For tests and CPU smoke runs only: FID/KID computed with it are **not** comparable to published
    numbers (which need [`InceptionFeatures`][gan3dlib.eval.image_metrics.InceptionFeatures]).

    Args:
        dim: feature dimension D.
        seed: seed of the projection matrix.
        size: images are average-pooled to ``size x size`` before projection.
    """

    def __init__(self, dim: int = 64, seed: int = 0, size: int = 16):
        super().__init__()
        check_positive(dim, "dim", integer=True)
        check_positive(size, "size", integer=True)
        g = torch.Generator().manual_seed(seed)
        self.size = size
        self.name = f"random-projection-d{dim}-s{seed}-r{size}"
        self.register_buffer("weight", torch.randn(3 * size * size, dim, generator=g) / (3 * size * size) ** 0.5)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) images in [-1, 1] -> (B, D) features."""
        check_tensor(images, "images", (None, 3, None, None), floating=True)
        pooled = nn.functional.adaptive_avg_pool2d(images.to(self.weight.dtype), self.size)
        return pooled.flatten(1) @ self.weight


class InceptionFeatures(nn.Module):
    """The standard FID Inception-v3 pool3 features (2048-d) via torch-fidelity, from a local file.

    Images in [-1, 1] are mapped to uint8 0..255 as torch-fidelity expects; it resizes them to
    299 x 299 internally (TensorFlow-compatible bilinear), so any input size works.

    The file is a PyTorch pickle, and torch-fidelity reads it with ``torch.load(...,
    weights_only=False)``. It is therefore first read with ``weights_only=True``, PyTorch's
    restricted unpickler, which only rebuilds tensors and plain containers: a file that needs
    anything else (code) is refused before torch-fidelity opens it.

    Args:
        weights_path: the local ``weights-inception-2015-12-05-6726825d.pth`` file (see the module docs).

    Raises:
        ValueError: if ``weights_path`` is not a file, is not a plain tensor file, or torch-fidelity
            is not installed.
    """

    name = "inception-v3-compat-2048"

    def __init__(self, weights_path: str | Path):
        super().__init__()
        if weights_path is None or not Path(weights_path).is_file():
            raise ValueError(f"weights_path: no file at {weights_path!r}; {_INCEPTION_HINT}")
        try:
            from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
        except ImportError as err:
            raise ValueError(
                f"InceptionFeatures needs torch-fidelity: pip install \"gan3dlib[eval]\" ({err})"
            ) from err
        try:
            state = torch.load(str(weights_path), map_location="cpu", weights_only=True)
        except Exception as err:  # UnpicklingError for code, RuntimeError/EOFError for a damaged file
            raise ValueError(
                f"weights_path: {str(weights_path)!r} is not a plain PyTorch weights file (refused by "
                f"torch.load(weights_only=True): {type(err).__name__}); {_INCEPTION_HINT}"
            ) from None
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise ValueError(f"weights_path: {str(weights_path)!r} does not hold a state dict of tensors; {_INCEPTION_HINT}")
        self.model = FeatureExtractorInceptionV3(
            name="inception-v3-compat", features_list=["2048"], feature_extractor_weights_path=str(weights_path)
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) images in [-1, 1] -> (B, 2048) float32 features."""
        check_tensor(images, "images", (None, 3, None, None), floating=True)
        as_uint8 = ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return self.model(as_uint8)[0]


def _image_batches(images: Images, name: str) -> Iterable[torch.Tensor]:
    if callable(images) and not isinstance(images, torch.Tensor):
        images = images()
    if isinstance(images, torch.Tensor):
        images = (images,)
    for i, batch in enumerate(images):
        if isinstance(batch, (tuple, list)) and batch:
            batch = batch[0]
        yield check_tensor(batch, f"{name}[{i}]", (None, 3, None, None), floating=True)


@torch.no_grad()
def _features(images: Images, extractor: FeatureExtractor, name: str, batch_size: int, device) -> Iterable[torch.Tensor]:
    check_positive(batch_size, "batch_size", integer=True)
    for batch in _image_batches(images, name):
        for chunk in batch.split(batch_size):
            feats = extractor(chunk.to(device))
            check_tensor(feats, f"{getattr(extractor, 'name', 'extractor')} output", (chunk.shape[0], None))
            yield feats.detach().to("cpu", torch.float32)


def compute_feature_stats(
    images: Images, extractor: FeatureExtractor, batch_size: int = 64, device: str | torch.device = "cpu"
) -> FeatureStats:
    """Streams images through ``extractor`` and returns their [`FeatureStats`][gan3dlib.eval.image_metrics.FeatureStats].

    Args:
        images: a (N, 3, H, W) tensor in [-1, 1], an iterable of such batches (or of tuples whose
            first element is one), or a zero-argument callable returning such an iterable.
        extractor: the feature extractor.
        batch_size: largest batch passed to the extractor.
        device: where the extractor runs.
    """
    return FeatureStats.from_batches(_features(images, extractor, "images", batch_size, device))


def compute_fid_kid(
    generated: Images, real: Images | None, extractor: FeatureExtractor, *, real_stats: FeatureStats | None = None,
    kid_subsets: int = 100, kid_subset_size: int = 1000, seed: int = 0, batch_size: int = 64,
    device: str | torch.device = "cpu",
) -> dict:
    """FID and KID between generated and real images.

    Args:
        generated: generated images, in any form [`compute_feature_stats`][gan3dlib.eval.image_metrics.compute_feature_stats] accepts.
        real: real images likewise; may be ``None`` when ``real_stats`` is given (KID is then ``None``).
        extractor: the feature extractor (both sets go through the same one).
        real_stats: precomputed (e.g. cached) real statistics used for FID instead of ``real``'s.
        kid_subsets: KID subsets.
        kid_subset_size: KID subset size (capped at the smaller set).
        seed: seed of the KID subsets.
        batch_size: largest batch passed to the extractor.
        device: where the extractor runs.

    Returns:
        ``{"fid", "kid_mean", "kid_std", "num_generated", "num_real"}``.
    """
    if real is None and real_stats is None:
        raise ValueError("real: expected real images or real_stats, got neither")
    gen_feats = torch.cat(list(_features(generated, extractor, "generated", batch_size, device)))
    gen_stats = FeatureStats.from_batches([gen_feats])
    real_feats = None if real is None else torch.cat(list(_features(real, extractor, "real", batch_size, device)))
    if real_stats is None:
        real_stats = FeatureStats.from_batches([real_feats])
    fid = frechet_distance(gen_stats.mean, gen_stats.cov, real_stats.mean, real_stats.cov)
    kid_mean = kid_std = None
    if real_feats is not None:
        gen = torch.Generator().manual_seed(seed)
        kid_mean, kid_std = kernel_inception_distance(gen_feats, real_feats, kid_subsets, kid_subset_size, gen)
    num_real = real_stats.count if real_feats is None else real_feats.shape[0]
    return {"fid": fid, "kid_mean": kid_mean, "kid_std": kid_std,
            "num_generated": gen_feats.shape[0], "num_real": num_real}
