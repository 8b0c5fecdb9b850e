"""The StyleGAN synthesis network ws -> image, with two interchangeable block types.

* ``'stylegan2'`` (default): StyleGAN2 config-e/f "skip" generator. Each resolution has two
  modulated 3x3 convolutions with weight demodulation (the first upsamples 2x via transposed conv +
  FIR ``[1, 3, 3, 1]``), per-layer noise, bias + leaky ReLU, and a toRGB layer (modulated 1x1, no
  demodulation) whose output is added to the FIR-upsampled image of the previous resolution.
* ``'adain'``: the StyleGAN v1 generator the paper used, without progressive growing. A learned
  constant input; each layer ends with noise, bias, leaky ReLU, instance normalisation and an AdaIN
  style; upsampling is nearest 2x, 3x3 conv, then FIR blur ``[1, 2, 1]``; one 1x1 toRGB at the end.

Both consume ``num_ws = 2 * log2(resolution) - 2`` latents: two per resolution. Every styled layer
carries ``w_index``, the row of ``ws`` it reads (StyleGAN2's toRGB shares its index with the next
resolution's first conv, as in StyleGAN2-ADA).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from gan3dlib.nets.layers import EqualConv2d, bias_act, check_power_of_two, fir_filter2d, fir_kernel, upsample2d
from gan3dlib.nets.modulated import AdaIN, ModulatedConv2d, NoiseInjection, NoiseMode, check_noise_mode
from gan3dlib.utils.checks import check_derived_set, check_positive, check_tensor, describe

__all__ = ["SynthesisConfig", "SynthesisNetwork", "BlockType"]

BlockType = Literal["stylegan2", "adain"]


@dataclass(frozen=True)
class SynthesisConfig:
    """Settings of the synthesis network; [`build`][gan3dlib.nets.synthesis.SynthesisConfig.build] makes the module.

    Attributes:
        resolution: output size, a power of two >= 4 (the paper's object/background generators
            run at 2N = 256 for N = 128 renders).
        out_channels: output channels (3 for RGB; the 3D generator asks for 3K + 3 shape + texture
            channels).
        w_dim: width of w.
        channel_base: channels at resolution r are ``min(channel_base // r, channel_max)``
            (StyleGAN2-ADA ``auto``: 16384, i.e. fmaps 0.5 below 512x512).
        channel_max: upper bound of channels per layer (512).
        block_type: ``'stylegan2'`` (modulated conv + skip toRGB, default) or ``'adain'``.
        conv_clamp: clamp of every layer's output (StyleGAN2-ADA uses 256 for fp16 layers); None
            disables it.
        resample_filter: 1-D FIR taps; None picks ``(1, 3, 3, 1)`` for ``'stylegan2'`` and
            ``(1, 2, 1)`` for ``'adain'`` (StyleGAN v1's blur).
    """

    resolution: int | None = 256
    out_channels: int | None = 3
    w_dim: int = 512
    channel_base: int = 16384
    channel_max: int = 512
    block_type: BlockType = "stylegan2"
    conv_clamp: float | None = None
    resample_filter: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.resolution is not None:
            check_power_of_two(self.resolution, "resolution")
        if self.out_channels is not None:
            check_positive(self.out_channels, "out_channels", integer=True)
        check_positive(self.w_dim, "w_dim", integer=True)
        check_positive(self.channel_base, "channel_base", integer=True)
        check_positive(self.channel_max, "channel_max", integer=True)
        if self.resolution is not None and self.channel_base // self.resolution < 1:
            raise ValueError(
                f"channel_base: expected >= resolution ({self.resolution}) so every layer has a channel, "
                f"got {self.channel_base}"
            )
        if self.block_type not in ("stylegan2", "adain"):
            raise ValueError(f"block_type: expected 'stylegan2' or 'adain', got {describe(self.block_type)}")
        if self.conv_clamp is not None:
            check_positive(self.conv_clamp, "conv_clamp")
        if self.resample_filter is not None:
            try:
                fir_kernel(self.resample_filter)
            except (TypeError, ValueError) as err:
                raise ValueError(f"resample_filter: expected a tuple of taps with nonzero sum, got {err}") from err

    @property
    def filter_taps(self) -> tuple[float, ...]:
        """The FIR taps in effect."""
        if self.resample_filter is not None:
            return tuple(self.resample_filter)
        return (1, 3, 3, 1) if self.block_type == "stylegan2" else (1, 2, 1)

    @property
    def block_resolutions(self) -> list[int]:
        """[4, 8, ..., resolution]."""
        return [2**i for i in range(2, int(math.log2(self.resolution)) + 1)]

    @property
    def num_ws(self) -> int:
        """Number of w rows consumed: two per resolution."""
        return 2 * len(self.block_resolutions)

    def channels(self, res: int) -> int:
        """Feature channels at resolution ``res``."""
        return min(self.channel_base // res, self.channel_max)

    def build(self) -> SynthesisNetwork:
        """Builds the network."""
        return SynthesisNetwork(self)


class StyleConvLayer(nn.Module):
    """StyleGAN2 synthesis layer: modulated conv (demodulated), noise, bias, leaky ReLU, clamp."""

    def __init__(self, cin: int, cout: int, res: int, cfg: SynthesisConfig, w_index: int, up: int = 1) -> None:
        super().__init__()
        self.w_index, self.conv_clamp = w_index, cfg.conv_clamp
        self.conv = ModulatedConv2d(cin, cout, 3, cfg.w_dim, up=up, resample_filter=cfg.filter_taps)
        self.noise = NoiseInjection(res)
        self.bias = nn.Parameter(torch.zeros(cout))

    def forward(
        self, x: torch.Tensor, ws: torch.Tensor, noise_mode: NoiseMode, generator: torch.Generator | None
    ) -> torch.Tensor:
        """(B, cin, r, r) -> (B, cout, res, res) using ``ws[:, w_index]``."""
        x = self.noise(self.conv(x, ws[:, self.w_index]), noise_mode, generator)
        return bias_act(x, self.bias, "lrelu", clamp=self.conv_clamp)


class ToRGBLayer(nn.Module):
    """StyleGAN2 toRGB: modulated 1x1 conv without demodulation, bias, linear, clamp."""

    def __init__(self, cin: int, cfg: SynthesisConfig, w_index: int) -> None:
        super().__init__()
        self.w_index, self.conv_clamp = w_index, cfg.conv_clamp
        self.conv = ModulatedConv2d(cin, cfg.out_channels, 1, cfg.w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(cfg.out_channels))

    def forward(self, x: torch.Tensor, ws: torch.Tensor) -> torch.Tensor:
        """(B, cin, r, r) -> (B, out_channels, r, r) using ``ws[:, w_index]``."""
        return bias_act(self.conv(x, ws[:, self.w_index]), self.bias, "linear", clamp=self.conv_clamp)


class SkipBlock(nn.Module):
    """One StyleGAN2 resolution: [const | conv0 (up 2x)] -> conv1 -> toRGB added to the upsampled image."""

    def __init__(self, res: int, cfg: SynthesisConfig) -> None:
        super().__init__()
        level = int(math.log2(res)) - 2  # 0 at 4x4
        cout = cfg.channels(res)
        self.res = res
        self.register_buffer("resample_kernel", fir_kernel(cfg.filter_taps), persistent=False)
        if level == 0:
            self.const = nn.Parameter(torch.randn(cout, 4, 4))
            self.conv0 = None
        else:
            self.conv0 = StyleConvLayer(cfg.channels(res // 2), cout, res, cfg, w_index=2 * level - 1, up=2)
        self.conv1 = StyleConvLayer(cout, cout, res, cfg, w_index=2 * level)
        self.torgb = ToRGBLayer(cout, cfg, w_index=2 * level + 1)

    def forward(
        self,
        x: torch.Tensor | None,
        img: torch.Tensor | None,
        ws: torch.Tensor,
        noise_mode: NoiseMode,
        generator: torch.Generator | None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, C_in, res/2, res/2) features and (B, out, res/2, res/2) image (None at 4x4) ->
        (B, C, res, res) features and (B, out, res, res) image."""
        if self.conv0 is None:
            x = self.const.to(ws.dtype).expand(ws.shape[0], -1, -1, -1)
        else:
            x = self.conv0(x, ws, noise_mode, generator)
        x = self.conv1(x, ws, noise_mode, generator)
        y = self.torgb(x, ws)
        img = y if img is None else upsample2d(img, self.resample_kernel) + y
        return x, img


class AdaINLayer(nn.Module):
    """StyleGAN v1 layer epilogue: noise (per-channel strengths), bias, leaky ReLU, clamp, AdaIN."""

    def __init__(self, channels: int, res: int, cfg: SynthesisConfig, w_index: int) -> None:
        super().__init__()
        self.w_index, self.conv_clamp = w_index, cfg.conv_clamp
        self.noise = NoiseInjection(res, num_channels=channels)
        self.bias = nn.Parameter(torch.zeros(channels))
        self.adain = AdaIN(channels, cfg.w_dim)

    def forward(
        self, x: torch.Tensor, ws: torch.Tensor, noise_mode: NoiseMode, generator: torch.Generator | None
    ) -> torch.Tensor:
        """(B, C, res, res) -> (B, C, res, res) using ``ws[:, w_index]``."""
        x = bias_act(self.noise(x, noise_mode, generator), self.bias, "lrelu", clamp=self.conv_clamp)
        return self.adain(x, ws[:, self.w_index])


class AdaINBlock(nn.Module):
    """One StyleGAN v1 resolution: [const | nearest 2x, conv, blur] -> epi0 -> conv 3x3 -> epi1."""

    def __init__(self, res: int, cfg: SynthesisConfig) -> None:
        super().__init__()
        level = int(math.log2(res)) - 2
        cout = cfg.channels(res)
        self.res = res
        self.register_buffer("resample_kernel", fir_kernel(cfg.filter_taps), persistent=False)
        if level == 0:
            # StyleGAN v1 initialises the constant to ones; a random start avoids instance-normalising
            # a spatially constant map (zero variance) in the first layer.
            self.const = nn.Parameter(torch.randn(cout, 4, 4))
            self.conv0 = None
        else:
            self.conv0 = EqualConv2d(cfg.channels(res // 2), cout, 3, bias=False)
        self.epi0 = AdaINLayer(cout, res, cfg, w_index=2 * level)
        self.conv1 = EqualConv2d(cout, cout, 3, bias=False)
        self.epi1 = AdaINLayer(cout, res, cfg, w_index=2 * level + 1)

    def forward(
        self,
        x: torch.Tensor | None,
        img: None,
        ws: torch.Tensor,
        noise_mode: NoiseMode,
        generator: torch.Generator | None,
    ) -> tuple[torch.Tensor, None]:
        """(B, C_in, res/2, res/2) features -> (B, C, res, res) features; no image (made at the end)."""
        if self.conv0 is None:
            x = self.const.to(ws.dtype).expand(ws.shape[0], -1, -1, -1)
        else:
            x = self.conv0(F.interpolate(x, scale_factor=2.0, mode="nearest"))
            taps = self.resample_kernel.shape[0]
            x = fir_filter2d(x, self.resample_kernel, (taps // 2, (taps - 1) // 2))  # same-size blur
        x = self.epi0(x, ws, noise_mode, generator)
        x = self.epi1(self.conv1(x), ws, noise_mode, generator)
        return x, None


class SynthesisNetwork(nn.Module):
    """ws (B, num_ws, w_dim) -> image (B, out_channels, resolution, resolution).

    Args:
        config: the settings; ``config.block_type`` selects StyleGAN2 skip blocks or StyleGAN v1
            AdaIN blocks behind this same interface.
    """

    def __init__(self, config: SynthesisConfig) -> None:
        super().__init__()
        check_derived_set(config.resolution, "resolution")
        check_derived_set(config.out_channels, "out_channels")
        self.config = config
        block = SkipBlock if config.block_type == "stylegan2" else AdaINBlock
        self.blocks = nn.ModuleList([block(res, config) for res in config.block_resolutions])
        self.to_image = None
        if config.block_type == "adain":
            self.to_image = EqualConv2d(
                config.channels(config.resolution), config.out_channels, 1, conv_clamp=config.conv_clamp
            )

    @property
    def num_ws(self) -> int:
        """Number of w rows consumed."""
        return self.config.num_ws

    @property
    def w_dim(self) -> int:
        """Width of w."""
        return self.config.w_dim

    def forward(
        self, ws: torch.Tensor, noise_mode: NoiseMode = "random", generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Synthesises images.

        Args:
            ws: (B, num_ws, w_dim) per-layer latents.
            noise_mode: ``'random'`` (fresh noise, from ``generator`` if given), ``'const'`` (the
                stored noise buffers) or ``'none'``.
            generator: random source of the noise.

        Returns:
            (B, out_channels, resolution, resolution) image.
        """
        check_tensor(ws, "ws", (None, self.num_ws, self.w_dim), floating=True)
        check_noise_mode(noise_mode)
        x = img = None
        for block in self.blocks:
            x, img = block(x, img, ws, noise_mode, generator)
        if self.to_image is not None:
            img = self.to_image(x)
        return img

    def extra_repr(self) -> str:
        c = self.config
        return f"resolution={c.resolution}, out_channels={c.out_channels}, block_type={c.block_type!r}"
