"""StyleGAN layers against independent naive references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gan3dlib.nets import (
    AdaIN,
    EqualConv2d,
    EqualLinear,
    MinibatchStdDev,
    ModulatedConv2d,
    NoiseInjection,
    downsample2d,
    fir_kernel,
    fused_leaky_relu,
    mbstd_group_size,
    modulated_conv2d,
    upsample2d,
)

TAPS = (1.0, 3.0, 3.0, 1.0)


def naive_fir(x: torch.Tensor, taps, pad: tuple[int, int], gain: float = 1.0, stride: int = 1) -> torch.Tensor:
    """Per-channel convolution with the normalised outer-product filter."""
    t = torch.tensor(taps, dtype=x.dtype)
    k = torch.outer(t, t) / t.sum() ** 2 * gain
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    chans = [F.conv2d(x[:, c : c + 1], k.flip([0, 1])[None, None], stride=stride) for c in range(x.shape[1])]
    return torch.cat(chans, dim=1)


def separable_upfirdn_np(img: np.ndarray, taps, up: int, down: int, pad: tuple[int, int]) -> np.ndarray:
    """1-D upfirdn along each axis of a 2-D array with numpy (zero-stuff, pad, filter, decimate)."""
    t = np.asarray(taps, dtype=np.float64)
    t = t / t.sum() * up

    def along(a: np.ndarray) -> np.ndarray:
        stuffed = np.zeros(a.size * up)
        stuffed[::up] = a
        padded = np.concatenate([np.zeros(pad[0]), stuffed, np.zeros(pad[1])])
        return np.convolve(padded, t, mode="valid")[::down]

    rows = np.stack([along(r) for r in img])
    return np.stack([along(c) for c in rows.T]).T


@pytest.mark.parametrize("lr_multiplier", [1.0, 0.01])
@pytest.mark.parametrize("activation", ["linear", "lrelu"])
def test_equal_linear_matches_scaled_weight(lr_multiplier, activation):
    torch.manual_seed(0)
    layer = EqualLinear(7, 5, bias_init=0.3, lr_multiplier=lr_multiplier, activation=activation).double()
    with torch.no_grad():
        layer.bias.normal_()
    x = torch.randn(4, 7, dtype=torch.float64)
    w_eff = layer.weight.detach() * (lr_multiplier / math.sqrt(7))
    b_eff = layer.bias.detach() * lr_multiplier
    ref = F.linear(x, w_eff, b_eff)
    if activation == "lrelu":
        ref = F.leaky_relu(ref, 0.2) * math.sqrt(2)
    torch.testing.assert_close(layer(x), ref)


def test_equal_linear_init_and_gradient_scaling():
    torch.manual_seed(1)
    lr = 0.01
    layer = EqualLinear(64, 32, bias_init=0.5, lr_multiplier=lr).double()
    # Raw weights are N(0, 1) / lr, so the effective weights start at N(0, 1/fan_in); bias at bias_init.
    assert abs(float(layer.weight.detach().std()) - 1 / lr) < 0.1 / lr
    torch.testing.assert_close(layer.bias * lr, torch.full((32,), 0.5, dtype=torch.float64))
    x = torch.randn(6, 64, dtype=torch.float64)
    g = torch.randn(6, 32, dtype=torch.float64)
    (layer(x) * g).sum().backward()
    w_eff = (layer.weight.detach() * lr / 8.0).requires_grad_()
    b_eff = (layer.bias.detach() * lr).requires_grad_()
    (F.linear(x, w_eff, b_eff) * g).sum().backward()
    torch.testing.assert_close(layer.weight.grad, w_eff.grad * lr / 8.0)
    torch.testing.assert_close(layer.bias.grad, b_eff.grad * lr)


@pytest.mark.parametrize("kernel_size", [1, 3])
def test_equal_conv2d_matches_scaled_weight_and_grad(kernel_size):
    torch.manual_seed(2)
    conv = EqualConv2d(4, 6, kernel_size, activation="lrelu", lr_multiplier=0.5).double()
    with torch.no_grad():
        conv.bias.normal_()
    x = torch.randn(2, 4, 8, 8, dtype=torch.float64)
    gain = 0.5 / math.sqrt(4 * kernel_size**2)
    w_eff = (conv.weight.detach() * gain).requires_grad_()
    b_eff = conv.bias.detach() * 0.5
    ref = F.leaky_relu(F.conv2d(x, w_eff, b_eff, padding=kernel_size // 2), 0.2) * math.sqrt(2)
    out = conv(x)
    torch.testing.assert_close(out, ref)
    g = torch.randn_like(out)
    (out * g).sum().backward()
    (ref * g).sum().backward()
    torch.testing.assert_close(conv.weight.grad, w_eff.grad * gain)


@pytest.mark.parametrize("kernel_size", [1, 3])
def test_equal_conv2d_downsampling_is_blur_then_strided_conv(kernel_size):
    torch.manual_seed(3)
    conv = EqualConv2d(3, 5, kernel_size, bias=False, down=2).double()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    total = 2 + kernel_size - 1  # (filter taps - 2) + (kernel - 1)
    blurred = naive_fir(x, TAPS, ((total + 1) // 2, total // 2))
    ref = F.conv2d(blurred, conv.weight * (1 / math.sqrt(3 * kernel_size**2)), stride=2)
    out = conv(x)
    assert out.shape == (2, 5, 4, 4)
    torch.testing.assert_close(out, ref)


def test_fused_leaky_relu_and_clamp():
    x = torch.randn(3, 4, 5, dtype=torch.float64)
    b = torch.randn(4, dtype=torch.float64)
    ref = torch.where(x + b[:, None] > 0, x + b[:, None], 0.2 * (x + b[:, None])) * math.sqrt(2)
    torch.testing.assert_close(fused_leaky_relu(x, b), ref)
    torch.testing.assert_close(fused_leaky_relu(x, b, clamp=0.5), ref.clamp(-0.5, 0.5))


def test_fir_resampling_matches_numpy_upfirdn():
    torch.manual_seed(4)
    x = torch.randn(1, 1, 6, 6, dtype=torch.float64)
    k = fir_kernel(TAPS, dtype=torch.float64)
    up = upsample2d(x, k)
    down = downsample2d(x, k)
    assert up.shape == (1, 1, 12, 12) and down.shape == (1, 1, 3, 3)
    np.testing.assert_allclose(up[0, 0].numpy(), separable_upfirdn_np(x[0, 0].numpy(), TAPS, 2, 1, (2, 1)))
    np.testing.assert_allclose(down[0, 0].numpy(), separable_upfirdn_np(x[0, 0].numpy(), TAPS, 1, 2, (1, 1)))
    # Unit DC gain: a constant image stays constant away from the zero-padded border.
    ones = torch.ones(1, 2, 8, 8, dtype=torch.float64)
    torch.testing.assert_close(upsample2d(ones, k)[..., 2:-2, 2:-2], torch.ones(1, 2, 12, 12, dtype=torch.float64))
    torch.testing.assert_close(downsample2d(ones, k)[..., 1:-1, 1:-1], torch.ones(1, 2, 2, 2, dtype=torch.float64))


def naive_modulated_conv(layer: ModulatedConv2d, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Per-sample loop: modulate, demodulate per output channel, (transposed) conv, FIR."""
    weight = layer.weight * (1 / math.sqrt(layer.in_channels * layer.kernel_size**2))
    styles = layer.affine(w)
    k = layer.kernel_size
    outs = []
    for b in range(x.shape[0]):
        wb = weight * styles[b].reshape(1, -1, 1, 1)
        if layer.demodulate:
            norms = torch.stack([wb[o].pow(2).sum() for o in range(wb.shape[0])])
            wb = wb / torch.sqrt(norms + layer.eps).reshape(-1, 1, 1, 1)
        xb = x[b : b + 1]
        if layer.up == 1:
            outs.append(F.conv2d(xb, wb, padding=k // 2))
            continue
        # Transposed conv with stride 2 == conv over the zero-dilated input with the flipped kernel.
        h, wd = xb.shape[-2:]
        dil = xb.new_zeros(1, xb.shape[1], 2 * h - 1, 2 * wd - 1)
        dil[..., ::2, ::2] = xb
        y = F.conv2d(F.pad(dil, [k - 1] * 4), wb.flip([2, 3]))
        total = len(TAPS) - k + 1
        outs.append(naive_fir(y, TAPS, ((total + 1) // 2, total // 2), gain=4.0))
    return torch.cat(outs)


@pytest.mark.parametrize("up", [1, 2])
@pytest.mark.parametrize("demodulate", [True, False])
@pytest.mark.parametrize("kernel_size", [1, 3])
def test_modulated_conv_matches_per_sample_loop(up, demodulate, kernel_size):
    torch.manual_seed(5)
    layer = ModulatedConv2d(4, 3, kernel_size, 8, demodulate=demodulate, up=up).double()
    with torch.no_grad():
        layer.affine.bias.normal_()
    x = torch.randn(3, 4, 5, 5, dtype=torch.float64)
    w = torch.randn(3, 8, dtype=torch.float64)
    out = layer(x, w)
    assert out.shape == (3, 3, 5 * up, 5 * up)
    torch.testing.assert_close(out, naive_modulated_conv(layer, x, w))


def test_demodulated_filters_have_unit_norm_effect():
    # With demodulation, scaling a sample's style leaves its output unchanged.
    torch.manual_seed(6)
    layer = ModulatedConv2d(4, 3, 3, 8).double()
    x = torch.randn(2, 4, 6, 6, dtype=torch.float64)
    w = torch.randn(2, 8, dtype=torch.float64)
    with torch.no_grad():
        styles = layer.affine(w)
    weight = layer.weight * layer.weight_gain
    torch.testing.assert_close(
        modulated_conv2d(x, weight, styles), modulated_conv2d(x, weight, styles * 7.0), rtol=1e-6, atol=1e-6
    )


def naive_mbstd(x: torch.Tensor, group: int, num_features: int, eps: float = 1e-8) -> torch.Tensor:
    b, c, h, w = x.shape
    n = b // group
    stats = torch.empty(b, num_features, dtype=x.dtype)
    for i in range(b):
        members = x[[j for j in range(b) if j % n == i % n]]
        for f in range(num_features):
            chunk = members[:, f * (c // num_features) : (f + 1) * (c // num_features)]
            var = ((chunk - chunk.mean(0)) ** 2).mean(0)
            stats[i, f] = torch.sqrt(var + eps).mean()
    return torch.cat([x, stats[:, :, None, None].expand(b, num_features, h, w)], dim=1)


@pytest.mark.parametrize(
    "batch,group_size,num_features,expected_group",
    [(8, 4, 1, 4), (8, 4, 2, 4), (2, 4, 1, 2), (6, 4, 1, 3), (7, 4, 1, 7), (1, 4, 1, 1), (5, 1, 1, 1)],
)
def test_minibatch_stddev_matches_naive_loop(batch, group_size, num_features, expected_group):
    torch.manual_seed(7)
    assert mbstd_group_size(batch, group_size) == expected_group
    x = torch.randn(batch, 4, 3, 3, dtype=torch.float64)
    out = MinibatchStdDev(group_size, num_features)(x)
    assert out.shape == (batch, 4 + num_features, 3, 3)
    torch.testing.assert_close(out, naive_mbstd(x, expected_group, num_features))


def test_noise_injection_modes():
    torch.manual_seed(8)
    noise = NoiseInjection(4)
    x = torch.randn(2, 3, 4, 4)
    torch.testing.assert_close(noise(x, "random"), x)  # strength starts at 0
    with torch.no_grad():
        noise.strength.fill_(0.5)
    torch.testing.assert_close(noise(x, "none"), x)
    torch.testing.assert_close(noise(x, "const"), x + 0.5 * noise.noise_const)
    a = noise(x, "random", torch.Generator().manual_seed(3))
    b = noise(x, "random", torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, b)
    assert not torch.equal(a[0] - x[0], a[1] - x[1])  # per-sample noise
    assert "noise_const" in noise.state_dict()
    per_channel = NoiseInjection(4, num_channels=3)
    assert per_channel.strength.shape == (3,)
    with pytest.raises(ValueError, match="noise_mode"):
        noise(x, "bogus")


def test_adain_sets_channel_statistics_from_style():
    torch.manual_seed(9)
    layer = AdaIN(3, 8).double()
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64) * 4 + 2
    w = torch.randn(2, 8, dtype=torch.float64)
    out = layer(x, w)
    scale, bias = layer.affine(w).chunk(2, dim=1)
    torch.testing.assert_close(out.mean(dim=(2, 3)), bias)
    torch.testing.assert_close(out.std(dim=(2, 3), unbiased=False), (1 + scale).abs(), rtol=1e-5, atol=1e-6)


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="lr_multiplier"):
        EqualLinear(3, 3, lr_multiplier=0.0)
    with pytest.raises(ValueError, match="kernel_size"):
        EqualConv2d(3, 3, 2)
    with pytest.raises(ValueError, match="down"):
        EqualConv2d(3, 3, 3, down=3)
    with pytest.raises(ValueError, match="activation"):
        EqualLinear(3, 3, activation="relu")
    with pytest.raises(ValueError, match="up"):
        ModulatedConv2d(3, 3, 3, 4, up=4)
    with pytest.raises(ValueError, match="taps"):
        fir_kernel(())
