"""Shape pyramid: Gaussian blur against a dense naive convolution; the sum over levels."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gan3dlib.shape import GaussianBlur, ShapePyramid, ShapePyramidConfig, gaussian_kernel1d

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def naive_blur(image: np.ndarray, sigma: float, truncate: float = 3.0) -> np.ndarray:
    """Dense 2D Gaussian with replicate borders, one output pixel at a time."""
    radius = max(1, math.ceil(truncate * sigma))
    height, width = image.shape
    weights = {(dy, dx): math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma))
               for dy in range(-radius, radius + 1) for dx in range(-radius, radius + 1)}
    total = sum(weights.values())
    out = np.zeros_like(image)
    for y in range(height):
        for x in range(width):
            acc = 0.0
            for (dy, dx), wgt in weights.items():
                yy, xx = min(max(y + dy, 0), height - 1), min(max(x + dx, 0), width - 1)
                acc += wgt * image[yy, xx]
            out[y, x] = acc / total
    return out


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("sigma", [1.0, 2.0, 4.5])
def test_blur_matches_dense_naive_convolution(device, sigma):
    g = torch.Generator().manual_seed(0)
    image = torch.rand(1, 2, 9, 7, generator=g, dtype=torch.float64)
    got = GaussianBlur(sigma).to(device)(image.to(device)).cpu()
    for c in range(2):
        ref = naive_blur(image[0, c].numpy(), sigma)
        np.testing.assert_allclose(got[0, c].numpy(), ref, atol=1e-12)


def test_kernel_is_normalised_and_constants_survive():
    assert math.isclose(float(gaussian_kernel1d(3.0).sum()), 1.0, rel_tol=1e-6)
    const = torch.full((2, 3, 8, 8), 0.7)
    torch.testing.assert_close(GaussianBlur(8.0)(const), const)  # kernel wider than the image


def test_pyramid_is_the_sum_of_blurred_levels():
    g = torch.Generator().manual_seed(1)
    levels = torch.randn(2, 12, 16, 16, generator=g, dtype=torch.float64, requires_grad=True)
    pyramid = ShapePyramidConfig(levels=4).build()
    got = pyramid(levels)
    ref = sum(GaussianBlur(2.0**k)(levels[:, 3 * k:3 * k + 3]) for k in range(4))
    torch.testing.assert_close(got, ref)
    got.sum().backward()
    assert levels.grad is not None and bool((levels.grad.abs().sum((0, 2, 3)) > 0).all())
    # Coarser levels are smoother: the high-frequency energy of a blurred noise level drops with k.
    energy = [float((GaussianBlur(2.0**k)(levels[:, :3].detach()).diff(dim=-1) ** 2).mean()) for k in range(4)]
    assert energy == sorted(energy, reverse=True)


def test_unblurred_finest_level_passes_through():
    levels = torch.randn(1, 6, 8, 8)
    pyramid = ShapePyramid(ShapePyramidConfig(levels=2, blur_finest=False))
    torch.testing.assert_close(pyramid(levels), levels[:, :3] + GaussianBlur(2.0)(levels[:, 3:]))


@pytest.mark.parametrize("kwargs, match", [({"levels": 0}, "levels"), ({"base_sigma": -1.0}, "base_sigma")])
def test_bad_config(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ShapePyramidConfig(**kwargs)


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="shape_images"):
        ShapePyramid()(torch.zeros(1, 9, 8, 8))
