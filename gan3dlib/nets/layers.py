"""StyleGAN building blocks in plain torch: equalized learning rate, bias + activation, FIR resampling
and the minibatch standard-deviation layer.

Conventions follow StyleGAN2-ADA (``training/networks.py``), re-derived here:

* **Equalized learning rate.** Weights are stored as ``N(0, 1) / lr_multiplier`` and scaled at run
  time by ``weight_gain = lr_multiplier / sqrt(fan_in)``; biases are scaled by ``lr_multiplier``.
  The effective parameters therefore start at the He-initialised values while Adam sees unit-scale
  raw parameters, and ``lr_multiplier`` acts as a per-layer learning-rate factor (0.01 in the
  mapping network).
* **Activations.** ``'lrelu'`` is leaky ReLU (slope 0.2) times ``sqrt(2)`` so activations keep
  unit variance; ``'linear'`` has gain 1. An optional ``clamp`` bounds the result to
  ``[-clamp, clamp]`` (StyleGAN2-ADA's ``conv_clamp``, 256 for fp16 layers).
* **Resampling.** The separable FIR filter ``[1, 3, 3, 1]`` (normalised to unit DC gain) low-passes
  every 2x up- or downsampling, implemented with depthwise ``conv2d`` on zero-stuffed or padded
  input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from einops import rearrange, reduce, repeat
from torch import nn

from gan3dlib.utils.checks import check_positive, describe

__all__ = [
    "Activation",
    "bias_act",
    "check_power_of_two",
    "downsample2d",
    "EqualConv2d",
    "EqualLinear",
    "fir_filter2d",
    "fir_kernel",
    "fused_leaky_relu",
    "mbstd_group_size",
    "MinibatchStdDev",
    "upsample2d",
]

Activation = Literal["linear", "lrelu"]

LRELU_SLOPE = 0.2  # negative slope of every leaky ReLU in StyleGAN
LRELU_GAIN = math.sqrt(2.0)  # keeps the variance of lrelu outputs at ~1 for unit-variance inputs


def check_power_of_two(value: object, name: str, minimum: int = 4) -> int:
    """Checks that ``value`` is an integer power of two ``>= minimum`` and returns it.

    Raises:
        ValueError: naming ``name``, the expected form and the given value.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or value & (value - 1):
        raise ValueError(f"{name}: expected a power of two >= {minimum}, got {describe(value)}")
    return value


def _check_activation(activation: str) -> None:
    if activation not in ("linear", "lrelu"):
        raise ValueError(f"activation: expected 'linear' or 'lrelu', got {activation!r}")


def fused_leaky_relu(
    x: torch.Tensor,
    bias: torch.Tensor | None = None,
    negative_slope: float = LRELU_SLOPE,
    gain: float = LRELU_GAIN,
    clamp: float | None = None,
) -> torch.Tensor:
    """Bias, leaky ReLU, gain and optional clamp in one call (plain torch ops, no custom kernel).

    Args:
        x: (B, C, *) activations.
        bias: (C,) per-channel bias added before the nonlinearity, or None.
        negative_slope: slope for negative inputs.
        gain: output multiplier (``sqrt(2)`` by default).
        clamp: if given, the output is clamped to ``[-clamp, clamp]``.

    Returns:
        (B, C, *) ``clamp(gain * leaky_relu(x + bias))``.
    """
    if bias is not None:
        x = x + bias.to(x.dtype).reshape((1, -1) + (1,) * (x.ndim - 2))
    x = F.leaky_relu(x, negative_slope) * gain
    return x if clamp is None else x.clamp(-clamp, clamp)


def bias_act(
    x: torch.Tensor,
    bias: torch.Tensor | None = None,
    activation: Activation = "linear",
    gain: float = 1.0,
    clamp: float | None = None,
) -> torch.Tensor:
    """Adds a per-channel bias, applies the activation with its own gain times ``gain``, clamps.

    Args:
        x: (B, C, *) activations.
        bias: (C,) bias or None.
        activation: ``'linear'`` (gain 1) or ``'lrelu'`` (gain ``sqrt(2)``).
        gain: extra multiplier on top of the activation's own gain.
        clamp: if given, the result is clamped to ``[-clamp * gain, clamp * gain]`` (the clamp
            scales with the extra gain, as in StyleGAN2-ADA).

    Returns:
        (B, C, *) tensor.
    """
    bound = None if clamp is None else clamp * gain
    if activation == "lrelu":
        return fused_leaky_relu(x, bias, gain=LRELU_GAIN * gain, clamp=bound)
    if bias is not None:
        x = x + bias.to(x.dtype).reshape((1, -1) + (1,) * (x.ndim - 2))
    if gain != 1.0:
        x = x * gain
    return x if bound is None else x.clamp(-bound, bound)


def fir_kernel(
    taps: Sequence[float], *, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
) -> torch.Tensor:
    """The separable 2-D FIR filter ``outer(taps, taps)``, normalised to sum 1.

    Args:
        taps: 1-D filter taps, e.g. ``(1, 3, 3, 1)`` (StyleGAN2) or ``(1, 2, 1)`` (StyleGAN v1).

    Returns:
        (K, K) filter, K = ``len(taps)``.
    """
    t = torch.as_tensor([float(v) for v in taps], dtype=torch.float64)
    if t.ndim != 1 or t.numel() == 0 or float(t.sum()) == 0.0:
        raise ValueError(f"taps: expected a non-empty sequence with nonzero sum, got {describe(taps)}")
    k = torch.outer(t, t)
    return (k / k.sum()).to(dtype=dtype, device=device)


def fir_filter2d(
    x: torch.Tensor, kernel: torch.Tensor, pad: tuple[int, int] = (0, 0), gain: float = 1.0, down: int = 1
) -> torch.Tensor:
    """Depthwise FIR filtering (true convolution, i.e. flipped kernel) with padding and stride.

    Args:
        x: (B, C, H, W) input.
        kernel: (K, K) filter from [`fir_kernel`][gan3dlib.nets.layers.fir_kernel].
        pad: zeros added (before, after) on both spatial axes.
        gain: multiplier of the kernel (e.g. 4 after 2x zero-stuffing).
        down: stride (keeps every ``down``-th output sample).

    Returns:
        (B, C, H', W') with ``H' = (H + pad[0] + pad[1] - K) // down + 1``.
    """
    channels = x.shape[1]
    x = F.pad(x, [pad[0], pad[1], pad[0], pad[1]])
    weight = repeat(kernel.flip([0, 1]).to(x) * gain, "kh kw -> c 1 kh kw", c=channels)
    return F.conv2d(x, weight, stride=down, groups=channels)


def upsample2d(x: torch.Tensor, kernel: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """FIR upsampling: zero-stuff by ``factor``, then filter with gain ``factor**2``.

    Args:
        x: (B, C, H, W) input.
        kernel: (K, K) filter.
        factor: integer upsampling factor.

    Returns:
        (B, C, H * factor, W * factor) output.
    """
    taps = kernel.shape[0]
    b, c, h, w = x.shape
    x = F.pad(x.reshape(b, c, h, 1, w, 1), [0, factor - 1, 0, 0, 0, factor - 1])
    x = rearrange(x, "b c h i w j -> b c (h i) (w j)")
    pad = ((taps + factor - 1) // 2, (taps - factor) // 2)
    return fir_filter2d(x, kernel, pad, gain=factor**2)


def downsample2d(x: torch.Tensor, kernel: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """FIR downsampling: low-pass filter, keep every ``factor``-th sample.

    Args:
        x: (B, C, H, W) input with H, W divisible by ``factor``.
        kernel: (K, K) filter.
        factor: integer downsampling factor.

    Returns:
        (B, C, H // factor, W // factor) output.
    """
    taps = kernel.shape[0]
    pad = ((taps - factor + 1) // 2, (taps - factor) // 2)
    return fir_filter2d(x, kernel, pad, down=factor)


class EqualLinear(nn.Module):
    """Fully connected layer with equalized learning rate.

    Computes ``act(x @ (weight * weight_gain).T + bias * lr_multiplier)`` with
    ``weight_gain = lr_multiplier / sqrt(in_features)``.

    Args:
        in_features: input width.
        out_features: output width.
        bias: learn a bias.
        bias_init: initial value of the *effective* bias (1 for style affines so styles start at 1).
        lr_multiplier: learning-rate factor of this layer (0.01 in the mapping network).
        activation: ``'linear'`` or ``'lrelu'``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = True,
        bias_init: float = 0.0,
        lr_multiplier: float = 1.0,
        activation: Activation = "linear",
    ) -> None:
        super().__init__()
        check_positive(in_features, "in_features", integer=True)
        check_positive(out_features, "out_features", integer=True)
        check_positive(lr_multiplier, "lr_multiplier")
        _check_activation(activation)
        self.in_features, self.out_features = in_features, out_features
        self.activation = activation
        self.lr_multiplier = float(lr_multiplier)
        self.weight_gain = self.lr_multiplier / math.sqrt(in_features)
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / self.lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_features,), bias_init / self.lr_multiplier)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Applies the layer.

        Args:
            x: (B, in_features) input.

        Returns:
            (B, out_features) output.
        """
        w = self.weight.to(x.dtype) * self.weight_gain
        b = None if self.bias is None else self.bias.to(x.dtype) * self.lr_multiplier
        if self.activation == "linear":
            return F.linear(x, w, b)
        return bias_act(F.linear(x, w), b, self.activation)

    def extra_repr(self) -> str:
        return (
            f"{self.in_features}, {self.out_features}, lr_multiplier={self.lr_multiplier}, "
            f"activation={self.activation!r}"
        )


class EqualConv2d(nn.Module):
    """2-D convolution with equalized learning rate, bias + activation and optional FIR downsampling.

    ``down=2`` low-passes with the FIR filter (padding chosen so the output is exactly half size)
    and then applies the convolution with stride 2, as in StyleGAN2's discriminator.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: odd square kernel size.
        bias: learn a bias.
        bias_init: initial effective bias.
        lr_multiplier: learning-rate factor.
        activation: ``'linear'`` or ``'lrelu'``.
        down: 1 or 2.
        resample_filter: 1-D FIR taps for downsampling.
        conv_clamp: clamp of the output (None: no clamp).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        bias: bool = True,
        bias_init: float = 0.0,
        lr_multiplier: float = 1.0,
        activation: Activation = "linear",
        down: int = 1,
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        conv_clamp: float | None = None,
    ) -> None:
        super().__init__()
        check_positive(in_channels, "in_channels", integer=True)
        check_positive(out_channels, "out_channels", integer=True)
        check_positive(kernel_size, "kernel_size", integer=True)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size: expected an odd integer, got {kernel_size}")
        check_positive(lr_multiplier, "lr_multiplier")
        if down not in (1, 2):
            raise ValueError(f"down: expected 1 or 2, got {describe(down)}")
        _check_activation(activation)
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.activation, self.down, self.conv_clamp = activation, down, conv_clamp
        self.lr_multiplier = float(lr_multiplier)
        self.weight_gain = self.lr_multiplier / math.sqrt(in_channels * kernel_size**2)
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.weight = nn.Parameter(torch.randn(shape) / self.lr_multiplier)
        self.bias = nn.Parameter(torch.full((out_channels,), bias_init / self.lr_multiplier)) if bias else None
        self.register_buffer("resample_kernel", fir_kernel(resample_filter), persistent=False)

    def forward(self, x: torch.Tensor, gain: float = 1.0) -> torch.Tensor:
        """Applies the layer.

        Args:
            x: (B, in_channels, H, W) input.
            gain: extra output gain (e.g. ``sqrt(0.5)`` in residual blocks); scales the clamp too.

        Returns:
            (B, out_channels, H // down, W // down) output.
        """
        w = self.weight.to(x.dtype) * self.weight_gain
        if self.down == 1:
            x = F.conv2d(x, w, padding=self.kernel_size // 2)
        else:
            # Total padding so that blur + strided conv halves the size exactly.
            total = (self.resample_kernel.shape[0] - self.down) + (self.kernel_size - 1)
            x = fir_filter2d(x, self.resample_kernel, ((total + 1) // 2, total // 2))
            x = F.conv2d(x, w, stride=self.down)
        b = None if self.bias is None else self.bias * self.lr_multiplier
        return bias_act(x, b, self.activation, gain=gain, clamp=self.conv_clamp)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, down={self.down}, "
            f"activation={self.activation!r}, conv_clamp={self.conv_clamp}"
        )


def mbstd_group_size(batch_size: int, group_size: int) -> int:
    """The group size the minibatch-stddev layer actually uses for ``batch_size`` samples.

    StyleGAN2-ADA uses ``G = min(group_size, B)`` and requires ``B % G == 0``. Here a batch that is
    not divisible falls back gracefully: ``G`` is the largest divisor of ``B`` not above
    ``min(group_size, B)``; if that divisor is 1 (e.g. a prime ``B > group_size``) the whole batch
    forms one group (``G = B``) so the statistic stays meaningful.

    Returns:
        G, a divisor of ``batch_size``.
    """
    g = min(group_size, batch_size)
    while batch_size % g:
        g -= 1
    return batch_size if g == 1 and group_size > 1 else g


class MinibatchStdDev(nn.Module):
    """Minibatch standard deviation (StyleGAN): appends ``num_features`` channels holding the
    average per-group feature standard deviation.

    Sample ``i`` is grouped with the samples ``i'`` where ``i' ≡ i (mod B / G)`` (StyleGAN2-ADA's
    strided grouping); channels are split into ``num_features`` contiguous chunks. The group size
    ``G`` comes from [`mbstd_group_size`][gan3dlib.nets.layers.mbstd_group_size].

    Args:
        group_size: requested group size (4 in StyleGAN).
        num_features: number of appended statistics channels (1 in StyleGAN).
        eps: added to the variance before the square root.
    """

    def __init__(self, group_size: int = 4, num_features: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        check_positive(group_size, "group_size", integer=True)
        check_positive(num_features, "num_features", integer=True)
        self.group_size, self.num_features, self.eps = group_size, num_features, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Appends the statistics channels.

        Args:
            x: (B, C, H, W) features; C must be divisible by ``num_features``.

        Returns:
            (B, C + num_features, H, W).
        """
        b, c, h, w = x.shape
        if c % self.num_features:
            raise ValueError(f"x: expected channels divisible by num_features={self.num_features}, got {describe(x)}")
        g = mbstd_group_size(b, self.group_size)
        y = rearrange(x, "(g n) (f c) h w -> g n f c h w", g=g, f=self.num_features)
        y = (y - y.mean(dim=0)).square().mean(dim=0)  # population variance over each group
        y = (y + self.eps).sqrt()
        y = reduce(y, "n f c h w -> n f", "mean")
        y = repeat(y, "n f -> (g n) f h w", g=g, h=h, w=w)
        return torch.cat([x, y], dim=1)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}, num_features={self.num_features}"

