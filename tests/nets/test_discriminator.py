"""Residual StyleGAN2 discriminator: shapes, mbstd batch handling, residual block, gradients, errors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from gan3dlib.nets import Discriminator, DiscriminatorBlock, DiscriminatorConfig


def build(seed: int = 0, **kw) -> Discriminator:
    torch.manual_seed(seed)
    kw = {"channel_base": 256, "channel_max": 32, **kw}
    return DiscriminatorConfig(**kw).build()


@pytest.mark.parametrize("in_channels", [3, 4])
@pytest.mark.parametrize("resolution", [4, 8, 16, 32])
def test_output_shapes(resolution, in_channels):
    D = build(resolution=resolution, in_channels=in_channels)
    assert len(D.blocks) == int(math.log2(resolution)) - 2
    logits = D(torch.randn(4, in_channels, resolution, resolution))
    assert logits.shape == (4, 1) and logits.dtype == torch.float32 and torch.isfinite(logits).all()


@pytest.mark.parametrize("batch", [1, 2, 3, 4, 6, 7, 8])
def test_any_batch_size(batch):
    # Batches not divisible by the mbstd group fall back to a divisor (or one group of the batch).
    D = build(resolution=8)
    assert D(torch.randn(batch, 3, 8, 8)).shape == (batch, 1)


def test_minibatch_stddev_couples_samples_of_a_group():
    D = build(resolution=8, mbstd_group_size=2).eval()
    x = torch.randn(4, 3, 8, 8)
    y = x.clone()
    y[2] += 1.0  # sample 2 shares a group with sample 0 (strided grouping: i mod B/G)
    with torch.no_grad():
        a, b = D(x), D(y)
    assert not torch.allclose(a[0], b[0])
    torch.testing.assert_close(a[[1, 3]], b[[1, 3]])


def test_residual_block_formula():
    torch.manual_seed(1)
    cfg = DiscriminatorConfig(resolution=8, channel_base=256, channel_max=32)
    block = DiscriminatorBlock(4, 6, cfg).double()
    x = torch.randn(2, 4, 8, 8, dtype=torch.float64)
    g = math.sqrt(0.5)
    ref = (block.conv1(block.conv0(x)) + block.skip(x)) * g  # linear gain commutes with lrelu
    out = block(x)
    assert out.shape == (2, 6, 4, 4)
    torch.testing.assert_close(out, ref)
    assert block.skip.bias is None and block.skip.kernel_size == 1


def test_from_rgb_and_epilogue_are_equalized():
    D = build(resolution=4).double()
    x = torch.randn(4, 3, 4, 4, dtype=torch.float64)
    h = F.leaky_relu(F.conv2d(x, D.from_rgb.weight / math.sqrt(3), D.from_rgb.bias), 0.2) * math.sqrt(2)
    std = torch.sqrt(h.var(0, unbiased=False) + 1e-8).mean().expand(4, 1, 4, 4)
    h = torch.cat([h, std], dim=1)
    c = h.shape[1]
    h = F.leaky_relu(F.conv2d(h, D.conv.weight / math.sqrt(c * 9), D.conv.bias, padding=1), 0.2) * math.sqrt(2)
    h = h.flatten(1)
    h = F.leaky_relu(F.linear(h, D.fc.weight / math.sqrt(h.shape[1]), D.fc.bias), 0.2) * math.sqrt(2)
    ref = F.linear(h, D.out.weight / math.sqrt(h.shape[1]), D.out.bias)
    torch.testing.assert_close(D(x), ref)


def test_gradients_reach_every_parameter_and_the_input():
    D = build(resolution=16)
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    D(x).sum().backward()
    for name, p in D.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_determinism():
    D1, D2 = build(seed=4, resolution=8), build(seed=4, resolution=8)
    x = torch.randn(4, 3, 8, 8)
    torch.testing.assert_close(D1(x), D2(x), rtol=0, atol=0)
    torch.testing.assert_close(D1(x), D1(x), rtol=0, atol=0)


def test_defaults():
    cfg = DiscriminatorConfig()
    assert (cfg.mbstd_group_size, cfg.mbstd_num_features, cfg.channel_base, cfg.channel_max) == (4, 1, 16384, 512)


@pytest.mark.parametrize(
    "kw,field",
    [
        ({"resolution": 24}, "resolution"),
        ({"resolution": 1}, "resolution"),
        ({"in_channels": 0}, "in_channels"),
        ({"channel_base": 16, "resolution": 32}, "channel_base"),
        ({"channel_max": 0}, "channel_max"),
        ({"mbstd_group_size": 0}, "mbstd_group_size"),
        ({"mbstd_num_features": 5}, "mbstd_num_features"),
        ({"conv_clamp": 0.0}, "conv_clamp"),
        ({"resample_filter": ()}, "resample_filter"),
    ],
)
def test_bad_configs_name_the_field(kw, field):
    with pytest.raises(ValueError, match=field):
        DiscriminatorConfig(**{"channel_base": 256, "channel_max": 32, **kw})


def test_bad_inputs_name_the_argument():
    D = build(resolution=8)
    for bad in (torch.randn(2, 3, 16, 16), torch.randn(2, 1, 8, 8), torch.zeros(2, 3, 8, 8, dtype=torch.uint8), None):
        with pytest.raises(ValueError, match="image"):
            D(bad)
