"""The residual StyleGAN2 discriminator (config-e/f "resnet" architecture)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from einops import rearrange
from torch import nn

from gan3dlib.nets.layers import EqualConv2d, EqualLinear, MinibatchStdDev, check_power_of_two, fir_kernel
from gan3dlib.utils.checks import check_derived_set, check_positive, check_tensor

__all__ = ["DiscriminatorConfig", "Discriminator", "DiscriminatorBlock"]

RESIDUAL_GAIN = math.sqrt(0.5)  # keeps the variance of (skip + main) equal to that of each branch


@dataclass(frozen=True)
class DiscriminatorConfig:
    """Settings of the discriminator; [`build`][gan3dlib.nets.discriminator.DiscriminatorConfig.build] makes the module.

    Attributes:
        resolution: input size, a power of two >= 4 (the paper's renders: N = 128).
        in_channels: input channels (3 for RGB).
        channel_base: channels at resolution r are ``min(channel_base // r, channel_max)``
            (StyleGAN2-ADA ``auto``: 16384).
        channel_max: upper bound of channels per layer (512).
        mbstd_group_size: minibatch-stddev group size (4); batches not divisible by it fall back as
            documented in [`gan3dlib.nets.layers.mbstd_group_size`][gan3dlib.nets.layers.mbstd_group_size].
        mbstd_num_features: appended minibatch-stddev channels (1); must divide the 4x4 channels.
        conv_clamp: clamp of every conv output (None: off; 256 with fp16 in StyleGAN2-ADA).
        resample_filter: 1-D FIR taps of the downsampling low-pass (``(1, 3, 3, 1)``).
    """

    resolution: int | None = 128
    in_channels: int = 3
    channel_base: int = 16384
    channel_max: int = 512
    mbstd_group_size: int = 4
    mbstd_num_features: int = 1
    conv_clamp: float | None = None
    resample_filter: tuple[float, ...] = (1, 3, 3, 1)

    def __post_init__(self) -> None:
        if self.resolution is not None:
            check_power_of_two(self.resolution, "resolution")
        check_positive(self.in_channels, "in_channels", integer=True)
        check_positive(self.channel_base, "channel_base", integer=True)
        check_positive(self.channel_max, "channel_max", integer=True)
        if self.resolution is not None and self.channel_base // self.resolution < 1:
            raise ValueError(
                f"channel_base: expected >= resolution ({self.resolution}) so every layer has a channel, "
                f"got {self.channel_base}"
            )
        check_positive(self.mbstd_group_size, "mbstd_group_size", integer=True)
        check_positive(self.mbstd_num_features, "mbstd_num_features", integer=True)
        if self.channels(4) % self.mbstd_num_features:
            raise ValueError(
                f"mbstd_num_features: expected a divisor of the 4x4 channel count {self.channels(4)}, "
                f"got {self.mbstd_num_features}"
            )
        if self.conv_clamp is not None:
            check_positive(self.conv_clamp, "conv_clamp")
        try:
            fir_kernel(self.resample_filter)
        except (TypeError, ValueError) as err:
            raise ValueError(f"resample_filter: expected a tuple of taps with nonzero sum, got {err}") from err

    def channels(self, res: int) -> int:
        """Feature channels at resolution ``res``."""
        return min(self.channel_base // res, self.channel_max)

    @property
    def block_resolutions(self) -> list[int]:
        """Resolutions of the residual blocks, [resolution, ..., 8] (none at resolution 4)."""
        return [2**i for i in range(int(math.log2(self.resolution)), 2, -1)]

    def build(self) -> Discriminator:
        """Builds the discriminator."""
        return Discriminator(self)


class DiscriminatorBlock(nn.Module):
    """Residual block res -> res/2: ``sqrt(.5) * (conv1_down(conv0(x)) + skip_down(x))``.

    Args:
        cin: input channels (``channels(res)``).
        cout: output channels (``channels(res // 2)``).
        config: discriminator settings (clamp and filter).
    """

    def __init__(self, cin: int, cout: int, config: DiscriminatorConfig) -> None:
        super().__init__()
        common = dict(resample_filter=config.resample_filter, conv_clamp=config.conv_clamp)
        self.conv0 = EqualConv2d(cin, cin, 3, activation="lrelu", **common)
        self.conv1 = EqualConv2d(cin, cout, 3, activation="lrelu", down=2, **common)
        self.skip = EqualConv2d(cin, cout, 1, bias=False, down=2, **common)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, cin, r, r) -> (B, cout, r/2, r/2)."""
        y = self.skip(x, gain=RESIDUAL_GAIN)
        return self.conv1(self.conv0(x), gain=RESIDUAL_GAIN) + y


class Discriminator(nn.Module):
    """image (B, C, res, res) -> logits (B, 1).

    fromRGB (1x1 conv + lrelu), residual blocks down to 4x4, then the epilogue: minibatch stddev,
    3x3 conv, fully connected + lrelu, linear output.

    Args:
        config: the settings.
    """

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        check_derived_set(config.resolution, "resolution")
        self.config = config
        c = config.channels
        self.from_rgb = EqualConv2d(
            config.in_channels, c(config.resolution), 1, activation="lrelu", conv_clamp=config.conv_clamp
        )
        self.blocks = nn.Sequential(*[DiscriminatorBlock(c(r), c(r // 2), config) for r in config.block_resolutions])
        c4 = c(4)
        self.mbstd = MinibatchStdDev(config.mbstd_group_size, config.mbstd_num_features)
        self.conv = EqualConv2d(c4 + config.mbstd_num_features, c4, 3, activation="lrelu", conv_clamp=config.conv_clamp)
        self.fc = EqualLinear(c4 * 16, c4, activation="lrelu")
        self.out = EqualLinear(c4, 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Scores images.

        Args:
            image: (B, in_channels, resolution, resolution) images.

        Returns:
            (B, 1) real/fake logits.
        """
        cfg = self.config
        check_tensor(image, "image", (None, cfg.in_channels, cfg.resolution, cfg.resolution), floating=True)
        x = self.blocks(self.from_rgb(image))
        x = self.conv(self.mbstd(x))
        return self.out(self.fc(rearrange(x, "b c h w -> b (c h w)")))

    def extra_repr(self) -> str:
        return f"resolution={self.config.resolution}, in_channels={self.config.in_channels}"
