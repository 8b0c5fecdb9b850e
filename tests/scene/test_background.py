"""Background crops: windows equal naive slicing; offset distributions."""

from __future__ import annotations

import pytest
import torch

from gan3dlib.scene import BackgroundCrop, BackgroundCropConfig, crop_windows


def test_windows_equal_naive_slices_and_carry_gradients():
    images = torch.rand(3, 2, 10, 12, requires_grad=True)
    top, left = torch.tensor([0, 3, 5]), torch.tensor([7, 0, 2])
    got = crop_windows(images, top, left, (5, 5))
    for b in range(3):
        torch.testing.assert_close(got[b], images[b, :, top[b]:top[b] + 5, left[b]:left[b] + 5])
    got.sum().backward()
    assert float(images.grad.sum()) == 3 * 2 * 25


def test_uniform_offsets_cover_the_free_range_reproducibly():
    crop = BackgroundCropConfig().build()
    g = torch.Generator().manual_seed(0)
    top, left = crop.sample_offsets(4000, (16, 16), generator=g)
    assert int(top.min()) == 0 and int(top.max()) == 16
    assert abs(float(top.float().mean()) - 8.0) < 0.5
    again = crop.sample_offsets(4000, (16, 16), generator=torch.Generator().manual_seed(0))
    assert torch.equal(top, again[0]) and torch.equal(left, again[1])


def test_center_and_normal_offsets():
    center = BackgroundCropConfig(distribution="center").build()
    top, left = center.sample_offsets(5, (16, 10))
    assert bool((top == 8).all()) and bool((left == 5).all())
    normal = BackgroundCropConfig(distribution="normal", std=0.1).build()
    top, _ = normal.sample_offsets(4000, (16, 16), generator=torch.Generator().manual_seed(1))
    assert abs(float(top.float().mean()) - 8.0) < 0.2 and float(top.float().std()) < 2.5
    backgrounds = torch.rand(2, 3, 16, 16)
    out = center(backgrounds, (8, 8))
    torch.testing.assert_close(out, backgrounds[:, :, 4:12, 4:12])


def test_bad_input():
    with pytest.raises(ValueError, match="distribution"):
        BackgroundCropConfig(distribution="gaussian")
    with pytest.raises(ValueError, match="size"):
        BackgroundCrop()(torch.rand(1, 3, 8, 8), (9, 9))
    with pytest.raises(ValueError, match="top, left"):
        crop_windows(torch.rand(1, 3, 8, 8), torch.tensor([5]), torch.tensor([0]), (4, 4))
