"""FID/KID: closed forms on Gaussians, naive references, streaming statistics, the stats cache and
the Inception wrapper (with a fake torch-fidelity, so no weights file is needed)."""

from __future__ import annotations

import math
import os
import sys
import types

import numpy as np
import pytest
import torch

from gan3dlib.eval.image_metrics import (
    INCEPTION_WEIGHTS_FILE,
    FeatureStats,
    InceptionFeatures,
    RandomProjectionFeatures,
    cached_dataset_stats,
    compute_feature_stats,
    compute_fid_kid,
    frechet_distance,
    kernel_inception_distance,
)


def random_spd(d: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=g, dtype=torch.float64)
    return a @ a.T / d + 0.1 * torch.eye(d, dtype=torch.float64)


def numpy_fid(mu1, s1, mu2, s2) -> float:
    """Independent reference: Tr((S1 S2)^{1/2}) from the eigenvalues of the product itself."""
    eig = np.linalg.eig(s1 @ s2)[0]
    tr_covmean = np.sqrt(np.clip(eig.real, 0, None)).sum()
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_covmean)


def test_frechet_identical_gaussians_is_zero():
    s = random_spd(8, 0)
    mu = torch.randn(8, dtype=torch.float64)
    assert abs(frechet_distance(mu, s, mu, s)) < 1e-9


def test_frechet_one_dimensional_closed_form():
    m1, m2, v1, v2 = 0.3, -1.2, 2.5, 0.7
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    got = frechet_distance(t([m1]), t([[v1]]), t([m2]), t([[v2]]))
    assert math.isclose(got, (m1 - m2) ** 2 + (math.sqrt(v1) - math.sqrt(v2)) ** 2, rel_tol=1e-9)


def test_frechet_diagonal_closed_form():
    g = torch.Generator().manual_seed(1)
    m1, m2 = torch.randn(6, generator=g, dtype=torch.float64), torch.randn(6, generator=g, dtype=torch.float64)
    v1, v2 = torch.rand(6, generator=g, dtype=torch.float64) + 0.1, torch.rand(6, generator=g, dtype=torch.float64) + 0.1
    expected = float(((m1 - m2) ** 2 + (v1.sqrt() - v2.sqrt()) ** 2).sum())
    assert math.isclose(frechet_distance(m1, torch.diag(v1), m2, torch.diag(v2)), expected, rel_tol=1e-9)


def test_frechet_matches_numpy_eig_reference():
    s1, s2 = random_spd(10, 2), random_spd(10, 3)
    mu1, mu2 = torch.randn(10, dtype=torch.float64), torch.randn(10, dtype=torch.float64)
    expected = numpy_fid(mu1.numpy(), s1.numpy(), mu2.numpy(), s2.numpy())
    assert math.isclose(frechet_distance(mu1, s1, mu2, s2), expected, rel_tol=1e-8)
    # numpy arrays are accepted too, and a singular covariance (rank-deficient) is handled.
    low_rank = s1[:, :3] @ s1[:, :3].T
    expected = numpy_fid(mu1.numpy(), low_rank.numpy(), mu2.numpy(), s2.numpy())
    assert math.isclose(frechet_distance(mu1.numpy(), low_rank.numpy(), mu2, s2), expected, rel_tol=1e-6)


def test_fid_of_a_set_against_itself_and_a_shifted_copy():
    g = torch.Generator().manual_seed(4)
    feats = torch.randn(500, 16, generator=g, dtype=torch.float64) @ random_spd(16, 5)
    stats = FeatureStats.from_batches([feats])
    assert abs(frechet_distance(stats.mean, stats.cov, stats.mean, stats.cov)) < 1e-8
    shift = torch.linspace(-1, 1, 16, dtype=torch.float64)
    moved = FeatureStats.from_batches([feats + shift])
    fid = frechet_distance(stats.mean, stats.cov, moved.mean, moved.cov)
    assert math.isclose(fid, float(shift @ shift), rel_tol=1e-6)


def naive_mmd(x: np.ndarray, y: np.ndarray) -> float:
    d, m = x.shape[1], x.shape[0]
    k = lambda a, b: (float(a @ b) / d + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_matches_naive_double_loop():
    g = torch.Generator().manual_seed(6)
    x, y = torch.randn(7, 5, generator=g, dtype=torch.float64), torch.randn(7, 5, generator=g, dtype=torch.float64) + 0.5
    # subset_size == N: every subset is a permutation of the full set, so each MMD^2 is the same.
    mean, std = kernel_inception_distance(x, y, num_subsets=3, subset_size=7)
    assert math.isclose(mean, naive_mmd(x.numpy(), y.numpy()), rel_tol=1e-10) and std < 1e-10


def test_kid_identical_near_zero_and_different_positive():
    g = torch.Generator().manual_seed(7)
    a, b = torch.randn(400, 32, generator=g), torch.randn(400, 32, generator=g)
    same, _ = kernel_inception_distance(a, b, num_subsets=20, subset_size=200)
    differ, _ = kernel_inception_distance(a, b * 1.5 + 0.5, num_subsets=20, subset_size=200)
    assert abs(same) < 0.02 and differ > 0.2
    # The very same samples on both sides: the unbiased estimate is slightly negative, about
    # -2 (mean k(x, x) - mean k(x, y)) / m, vanishing as the subset size m grows.
    itself, _ = kernel_inception_distance(a, a, num_subsets=5, subset_size=1000)  # capped at 400
    diag = ((a.double() ** 2).sum(1) / 32 + 1) ** 3
    assert itself < 0 and abs(itself) < 2 * float(diag.mean()) / 400
    seeded = [kernel_inception_distance(a, b, 5, 50, torch.Generator().manual_seed(3)) for _ in range(2)]
    assert seeded[0] == seeded[1]


def test_feature_stats_streaming_matches_numpy():
    g = torch.Generator().manual_seed(8)
    feats = torch.randn(103, 9, generator=g, dtype=torch.float64) * 3 + 100  # large offset: stability
    stats = FeatureStats.from_batches(feats.split(10))
    assert stats.count == 103
    np.testing.assert_allclose(stats.mean.numpy(), feats.numpy().mean(0), rtol=1e-12)
    np.testing.assert_allclose(stats.cov.numpy(), np.cov(feats.numpy(), rowvar=False), rtol=1e-9, atol=1e-10)


def test_feature_stats_save_load_round_trip(tmp_path):
    stats = FeatureStats.from_batches([torch.randn(20, 4)])
    path = stats.save(tmp_path / "sub" / "s.safetensors", metadata={"note": "x"})
    back = FeatureStats.load(path)
    assert back.count == 20 and torch.equal(back.mean, stats.mean) and torch.equal(back.cov, stats.cov)
    assert FeatureStats.metadata_of(path)["note"] == "x"
    assert [p.name for p in path.parent.iterdir()] == ["s.safetensors"]  # no temporary left behind


def test_cache_computes_only_when_missing(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return FeatureStats.from_batches([torch.randn(10, 3)])

    first = cached_dataset_stats("ffhq/train", 64, tmp_path, compute, extractor_name="rp")
    again = cached_dataset_stats("ffhq/train", 64, tmp_path, compute, extractor_name="rp")
    assert len(calls) == 1 and torch.equal(first.cov, again.cov)
    cached_dataset_stats("ffhq/train", 128, tmp_path, compute, extractor_name="rp")
    cached_dataset_stats("ffhq/train", 64, tmp_path, compute, extractor_name="inception")
    assert len(calls) == 3 and len(list(tmp_path.glob("*.safetensors"))) == 3
    for f in tmp_path.glob("*.safetensors"):
        f.unlink()
    cached_dataset_stats("ffhq/train", 64, tmp_path, compute, extractor_name="rp")
    assert len(calls) == 4


def test_compute_fid_kid_with_random_projection():
    extractor = RandomProjectionFeatures(dim=16, seed=0, size=8)
    g = torch.Generator().manual_seed(9)
    real = torch.rand(64, 3, 24, 24, generator=g) * 2 - 1
    same = compute_fid_kid(real, real.split(16), extractor, kid_subsets=5, batch_size=10)
    assert same["num_generated"] == same["num_real"] == 64
    assert abs(same["fid"]) < 1e-6 and abs(same["kid_mean"]) < 1e-2  # unbiased: O(1/m) below 0
    darker = compute_fid_kid(lambda: iter([(real[:32] - 0.5, 0), (real[32:] - 0.5, 0)]), real, extractor, kid_subsets=5)
    assert darker["fid"] > 100 * max(same["fid"], 1e-6) and darker["kid_mean"] > 0
    stats = compute_feature_stats(real, extractor)
    only_stats = compute_fid_kid(real - 0.5, None, extractor, real_stats=stats)
    assert math.isclose(only_stats["fid"], darker["fid"], rel_tol=1e-5) and only_stats["kid_mean"] is None


def test_inception_without_weights_names_weights_path(tmp_path):
    with pytest.raises(ValueError, match="weights_path") as info:
        InceptionFeatures(tmp_path / "missing.pth")
    assert INCEPTION_WEIGHTS_FILE in str(info.value) and "torch-fidelity" in str(info.value)
    with pytest.raises(ValueError, match="weights_path"):
        InceptionFeatures(tmp_path)  # a folder, not a file


def test_inception_wrapper_feeds_uint8_to_torch_fidelity(tmp_path, monkeypatch):
    seen = {}

    class FakeInception(torch.nn.Module):
        def __init__(self, name, features_list, feature_extractor_weights_path=None):
            super().__init__()
            seen.update(name=name, features_list=features_list, path=feature_extractor_weights_path)

        def forward(self, x):
            seen["input"] = x
            return (x.float().mean((2, 3)).repeat(1, 683)[:, :2048],)

    package = types.ModuleType("torch_fidelity")
    module = types.ModuleType("torch_fidelity.feature_extractor_inceptionv3")
    module.FeatureExtractorInceptionV3 = FakeInception
    monkeypatch.setitem(sys.modules, "torch_fidelity", package)
    monkeypatch.setitem(sys.modules, "torch_fidelity.feature_extractor_inceptionv3", module)
    weights = tmp_path / INCEPTION_WEIGHTS_FILE
    torch.save({"w": torch.zeros(2)}, weights)
    extractor = InceptionFeatures(weights)
    assert seen["features_list"] == ["2048"] and seen["path"] == str(weights)
    images = torch.tensor([-1.0, 0.0, 1.0, 2.0]).reshape(1, 1, 2, 2).expand(2, 3, 2, 2)
    assert extractor(images).shape == (2, 2048)
    assert seen["input"].dtype == torch.uint8 and seen["input"][0, 0].flatten().tolist() == [0, 128, 255, 255]


class RunsCode:
    """Unpickling this runs ``os.system`` (what a malicious weights file does)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_weights_that_need_code_are_refused_before_torch_fidelity_reads_them(tmp_path, monkeypatch):
    opened = []
    module = types.ModuleType("torch_fidelity.feature_extractor_inceptionv3")
    module.FeatureExtractorInceptionV3 = lambda *args, **kwargs: opened.append(kwargs)
    monkeypatch.setitem(sys.modules, "torch_fidelity", types.ModuleType("torch_fidelity"))
    monkeypatch.setitem(sys.modules, "torch_fidelity.feature_extractor_inceptionv3", module)
    marker = tmp_path / "code-ran"
    evil = tmp_path / INCEPTION_WEIGHTS_FILE
    torch.save({"w": RunsCode(marker)}, evil)
    with pytest.raises(ValueError, match="not a plain PyTorch weights file"):
        InceptionFeatures(evil)
    assert not marker.exists() and not opened
    damaged = tmp_path / "damaged.pth"
    damaged.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="weights_path"):
        InceptionFeatures(damaged)
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(ValueError, match="state dict of tensors"):
        InceptionFeatures(tmp_path / "list.pth")


def test_real_torch_fidelity_network_with_random_weights(tmp_path, monkeypatch):
    """The wrapper drives torch-fidelity's own Inception-v3 (random weights: no download needed)."""
    inception = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3")
    network = inception.FeatureExtractorInceptionV3
    with monkeypatch.context() as patch:  # build one network without any weights, to save its random ones
        patch.setattr(inception.torch, "load", lambda *args, **kwargs: {})
        patch.setattr(network, "load_state_dict", lambda self, state: None)
        torch.manual_seed(0)
        template = network("inception-v3-compat", ["2048"], feature_extractor_weights_path="unused")
    weights = tmp_path / INCEPTION_WEIGHTS_FILE
    torch.save(template.state_dict(), weights)
    extractor = InceptionFeatures(weights)
    images = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    features = extractor(images)
    assert features.shape == (3, 2048) and features.dtype == torch.float32 and torch.isfinite(features).all()
    expected = template(((images + 1) * 127.5).round().to(torch.uint8))[0]
    torch.testing.assert_close(features, expected)
    same = compute_fid_kid(images, images, extractor, kid_subset_size=3)
    assert abs(same["fid"]) < 1e-3


def test_missing_torch_fidelity_gives_install_hint(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)  # makes the import fail
    monkeypatch.setitem(sys.modules, "torch_fidelity.feature_extractor_inceptionv3", None)
    weights = tmp_path / INCEPTION_WEIGHTS_FILE
    torch.save({"w": torch.zeros(2)}, weights)
    with pytest.raises(ValueError, match=r"gan3dlib\[eval\]"):
        InceptionFeatures(weights)


def test_bad_shapes_name_the_argument():
    s = torch.eye(3, dtype=torch.float64)
    with pytest.raises(ValueError, match="sigma2"):
        frechet_distance(torch.zeros(3), s, torch.zeros(3), torch.eye(4))
    with pytest.raises(ValueError, match="mu2"):
        frechet_distance(torch.zeros(3), s, torch.zeros(2), s)
    with pytest.raises(ValueError, match="feats2"):
        kernel_inception_distance(torch.zeros(5, 3), torch.zeros(5, 4))
    with pytest.raises(ValueError, match="feats1"):
        kernel_inception_distance(torch.zeros(1, 3), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="images"):
        RandomProjectionFeatures()(torch.zeros(2, 1, 8, 8))
    with pytest.raises(ValueError, match=r"generated\[0\]"):
        compute_fid_kid(torch.zeros(4, 8, 8), torch.zeros(4, 3, 8, 8), RandomProjectionFeatures())
    with pytest.raises(ValueError, match="batches"):
        FeatureStats.from_batches([torch.zeros(1, 3)])
