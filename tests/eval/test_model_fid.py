"""FID of a scene generator against a dataset: renders, the cache, and known answers."""

from __future__ import annotations

import pytest
import torch

from gan3dlib.eval.image_metrics import RandomProjectionFeatures
from gan3dlib.eval.model_fid import dataset_batches, model_fid, scene_renders
from gan3dlib.presets import scene_config


@pytest.fixture(scope="module")
def scene():
    torch.manual_seed(0)
    return scene_config(8, z_dim=16, mapping_layers=2, channel_base=64, channel_max=16, pyramid_levels=2).build()


class RefusingDataset(list):
    """A dataset whose items must not be read (the cache should answer)."""

    def __getitem__(self, index):
        raise AssertionError("the cached statistics should have been used")


def test_renders_are_deterministic_batched_and_restore_training_mode(scene):
    scene.train()
    first = torch.cat(list(scene_renders(scene, 10, seed=3, batch_size=4)))
    assert first.shape == (10, 3, 8, 8) and first.abs().max() <= 1 and scene.training
    again = torch.cat(list(scene_renders(scene, 10, seed=3, batch_size=4)))
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    assert not torch.equal(first, torch.cat(list(scene_renders(scene, 10, seed=4, batch_size=4))))


def test_fid_against_the_models_own_renders_is_zero(scene):
    own = list(torch.cat(list(scene_renders(scene, 40, seed=1))))
    extractor = RandomProjectionFeatures(dim=8, size=4)
    same = model_fid(scene, own, extractor, 40, seed=1)
    assert abs(same["fid"]) < 1e-6 and same["num_real"] == 40
    other = model_fid(scene, own, extractor, 40, seed=2)
    assert other["fid"] > 100 * max(abs(same["fid"]), 1e-9)


def test_cached_real_statistics_are_reused(scene, tmp_path):
    real = [torch.rand(3, 8, 8) * 2 - 1 for _ in range(24)]
    extractor = RandomProjectionFeatures(dim=8, size=4)
    fresh = model_fid(scene, real, extractor, 24, cache_dir=tmp_path, dataset_key="toy")
    assert len(list(tmp_path.glob("*.safetensors"))) == 1 and fresh["kid_mean"] is None
    cached = model_fid(scene, RefusingDataset(range(24)), extractor, 24, cache_dir=tmp_path, dataset_key="toy")
    assert cached["fid"] == pytest.approx(fresh["fid"], rel=1e-12)
    uncached = model_fid(scene, real, extractor, 24)
    assert uncached["fid"] == pytest.approx(fresh["fid"], rel=1e-9) and uncached["kid_mean"] is not None
    with pytest.raises(ValueError, match="dataset_key"):
        model_fid(scene, real, extractor, 24, cache_dir=tmp_path)


def test_dataset_batches_cover_the_first_items():
    items = [torch.full((3, 2, 2), float(i)) for i in range(7)]
    batches = list(dataset_batches(items, 5, batch_size=2))
    assert [b.shape[0] for b in batches] == [2, 2, 1]
    assert torch.cat(batches)[:, 0, 0, 0].tolist() == [0, 1, 2, 3, 4]
