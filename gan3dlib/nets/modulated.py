"""Style-conditioned layers: StyleGAN2's modulated convolution, per-layer noise, StyleGAN v1's AdaIN."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from gan3dlib.nets.layers import EqualLinear, fir_filter2d, fir_kernel
from gan3dlib.utils.checks import check_positive, describe

__all__ = ["AdaIN", "modulated_conv2d", "ModulatedConv2d", "NoiseInjection", "NoiseMode", "check_noise_mode"]

NoiseMode = Literal["random", "const", "none"]


def check_noise_mode(noise_mode: object) -> None:
    """Raises ValueError unless ``noise_mode`` is ``'random'``, ``'const'`` or ``'none'``."""
    if noise_mode not in ("random", "const", "none"):
        raise ValueError(f"noise_mode: expected 'random', 'const' or 'none', got {describe(noise_mode)}")


def modulated_conv2d(
    x: torch.Tensor,
    weight: torch.Tensor,
    styles: torch.Tensor,
    *,
    demodulate: bool = True,
    up: int = 1,
    resample_kernel: torch.Tensor | None = None,
    eps: float = 1e-8,
) -> torch.Tensor:
    """Modulated convolution as one grouped convolution over the batch (StyleGAN2).

    Per sample ``b``: ``w_b[o, i] = weight[o, i] * styles[b, i]``; with demodulation each output
    filter is rescaled to unit L2 norm, ``w_b[o] /= sqrt(sum_{i,kh,kw} w_b[o]^2 + eps)``. The batch
    is folded into the channel axis so all samples run as ``groups=B`` in a single convolution.

    With ``up=2`` the convolution is a stride-2 transposed convolution (no padding) followed by the
    FIR low-pass with gain 4, padded so the output is exactly twice the input size.

    Args:
        x: (B, I, H, W) input.
        weight: (O, I, K, K) effective (already gain-scaled) weight, K odd.
        styles: (B, I) per-sample input-channel scales.
        demodulate: normalise each sample's output filters.
        up: 1 or 2.
        resample_kernel: (F, F) FIR filter, required when ``up=2``.
        eps: added to the squared filter norm.

    Returns:
        (B, O, H * up, W * up) output.
    """
    batch = x.shape[0]
    kernel_size = weight.shape[-1]
    w = weight[None] * styles[:, None, :, None, None]  # (B, O, I, K, K)
    if demodulate:
        w = w * torch.rsqrt(w.square().sum(dim=(2, 3, 4), keepdim=True) + eps)
    x = rearrange(x, "b i h w -> 1 (b i) h w")
    if up == 1:
        out = F.conv2d(x, rearrange(w, "b o i kh kw -> (b o) i kh kw"), padding=kernel_size // 2, groups=batch)
    elif up == 2:
        if resample_kernel is None:
            raise ValueError("resample_kernel: required when up=2, got None")
        out = F.conv_transpose2d(x, rearrange(w, "b o i kh kw -> (b i) o kh kw"), stride=2, groups=batch)
        # Transposed conv gives 2H + K - 2 samples; the FIR padding brings it back to 2H.
        total = resample_kernel.shape[0] - kernel_size + 1
        out = fir_filter2d(out, resample_kernel, ((total + 1) // 2, total // 2), gain=4.0)
    else:
        raise ValueError(f"up: expected 1 or 2, got {describe(up)}")
    return rearrange(out, "1 (b o) h w -> b o h w", b=batch)


class ModulatedConv2d(nn.Module):
    """Modulated convolution with its style affine (StyleGAN2 synthesis / toRGB layers).

    ``styles = affine(w)`` (equalized-LR linear, bias initialised to 1), then
    [`modulated_conv2d`][gan3dlib.nets.modulated.modulated_conv2d] with the equalized-LR weight ``weight / sqrt(I * K * K)``. The layer
    has no bias; callers add bias + activation.

    Args:
        in_channels: I.
        out_channels: O.
        kernel_size: odd K (3 for convolutions, 1 for toRGB).
        w_dim: width of the intermediate latent w.
        demodulate: weight demodulation (True in synthesis layers, False in toRGB).
        up: 1 or 2 (transposed conv + FIR upsampling).
        resample_filter: 1-D FIR taps for ``up=2``.
        eps: demodulation epsilon.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        w_dim: int,
        *,
        demodulate: bool = True,
        up: int = 1,
        resample_filter: Sequence[float] = (1, 3, 3, 1),
        eps: float = 1e-8,
    ) -> None:
        super().__init__()
        check_positive(in_channels, "in_channels", integer=True)
        check_positive(out_channels, "out_channels", integer=True)
        check_positive(kernel_size, "kernel_size", integer=True)
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size: expected an odd integer, got {kernel_size}")
        if up not in (1, 2):
            raise ValueError(f"up: expected 1 or 2, got {describe(up)}")
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.demodulate, self.up, self.eps = demodulate, up, eps
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)  # styles start at 1
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size**2)  # equalized LR
        self.register_buffer("resample_kernel", fir_kernel(resample_filter), persistent=False)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Applies the layer.

        Args:
            x: (B, in_channels, H, W) input.
            w: (B, w_dim) latent of this layer.

        Returns:
            (B, out_channels, H * up, W * up) output.
        """
        styles = self.affine(w)
        return modulated_conv2d(
            x,
            self.weight.to(x.dtype) * self.weight_gain,
            styles,
            demodulate=self.demodulate,
            up=self.up,
            resample_kernel=self.resample_kernel,
            eps=self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, up={self.up}, "
            f"demodulate={self.demodulate}"
        )


class NoiseInjection(nn.Module):
    """Adds ``strength * noise`` to the activations, with a learned strength (initialised to 0).

    Noise modes: ``'random'`` draws fresh N(0, 1) noise per sample (from ``generator`` if given);
    ``'const'`` uses the fixed noise image stored in the ``noise_const`` buffer (drawn at
    construction, saved in the state dict); ``'none'`` adds nothing.

    Args:
        resolution: spatial size of the activations (and of ``noise_const``).
        num_channels: None for one scalar strength (StyleGAN2); C for per-channel strengths
            (StyleGAN v1's per-feature noise weights).
    """

    def __init__(self, resolution: int, num_channels: int | None = None) -> None:
        super().__init__()
        check_positive(resolution, "resolution", integer=True)
        if num_channels is not None:
            check_positive(num_channels, "num_channels", integer=True)
        self.resolution = resolution
        self.strength = nn.Parameter(torch.zeros(1 if num_channels is None else num_channels))
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))

    def forward(
        self, x: torch.Tensor, noise_mode: NoiseMode = "random", generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Adds the noise.

        Args:
            x: (B, C, resolution, resolution) activations.
            noise_mode: ``'random'``, ``'const'`` or ``'none'``.
            generator: source of the random noise (``'random'`` mode); its device is used for the
                draw and the noise is moved to ``x``'s device.

        Returns:
            (B, C, resolution, resolution).
        """
        check_noise_mode(noise_mode)
        if noise_mode == "none":
            return x
        if noise_mode == "const":
            noise = self.noise_const
        else:
            shape = (x.shape[0], 1, x.shape[2], x.shape[3])
            device = generator.device if generator is not None else x.device
            noise = torch.randn(shape, generator=generator, device=device, dtype=x.dtype).to(x.device)
        strength = self.strength.to(x.dtype).reshape(1, -1, 1, 1)
        return x + noise.to(x.dtype) * strength

    def extra_repr(self) -> str:
        return f"resolution={self.resolution}, strengths={self.strength.numel()}"


class AdaIN(nn.Module):
    """Adaptive instance normalisation (StyleGAN v1): instance-normalise, then apply a style.

    ``y = IN(x) * (1 + s_scale) + s_bias`` with ``(s_scale, s_bias) = affine(w)`` (equalized-LR
    linear, bias 0, so the scale starts at 1 as in StyleGAN v1's ``style_mod``).

    Args:
        channels: C.
        w_dim: width of the intermediate latent w.
        eps: added to the variance in the normalisation (1e-8 as in StyleGAN v1).
    """

    def __init__(self, channels: int, w_dim: int, eps: float = 1e-8) -> None:
        super().__init__()
        check_positive(channels, "channels", integer=True)
        self.channels, self.eps = channels, eps
        self.affine = EqualLinear(w_dim, 2 * channels)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Normalises and styles ``x``.

        Args:
            x: (B, C, H, W) activations.
            w: (B, w_dim) latent of this layer.

        Returns:
            (B, C, H, W).
        """
        x = x - x.mean(dim=(2, 3), keepdim=True)
        x = x * torch.rsqrt(x.square().mean(dim=(2, 3), keepdim=True) + self.eps)
        scale, bias = rearrange(self.affine(w), "b (two c) -> two b c 1 1", two=2)
        return x * (scale + 1) + bias

