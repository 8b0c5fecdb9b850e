"""StyleGAN networks (paper §7), written for gan3dlib: layers, mapping, synthesis, generator, discriminator.

Each network has a frozen config dataclass that validates at construction and builds the module:
``GeneratorConfig(mapping=MappingConfig(...), synthesis=SynthesisConfig(...)).build()`` and
``DiscriminatorConfig(...).build()``.
"""

from __future__ import annotations

from gan3dlib.nets.discriminator import Discriminator, DiscriminatorBlock, DiscriminatorConfig
from gan3dlib.nets.generator import Generator, GeneratorConfig, mix_styles
from gan3dlib.nets.layers import (
    EqualConv2d,
    EqualLinear,
    MinibatchStdDev,
    bias_act,
    downsample2d,
    fir_filter2d,
    fir_kernel,
    fused_leaky_relu,
    mbstd_group_size,
    upsample2d,
)
from gan3dlib.nets.mapping import MappingConfig, MappingNetwork
from gan3dlib.nets.modulated import AdaIN, ModulatedConv2d, NoiseInjection, modulated_conv2d
from gan3dlib.nets.synthesis import SynthesisConfig, SynthesisNetwork

__all__ = [
    "AdaIN",
    "bias_act",
    "Discriminator",
    "DiscriminatorBlock",
    "DiscriminatorConfig",
    "downsample2d",
    "EqualConv2d",
    "EqualLinear",
    "fir_filter2d",
    "fir_kernel",
    "fused_leaky_relu",
    "Generator",
    "GeneratorConfig",
    "MappingConfig",
    "MappingNetwork",
    "mbstd_group_size",
    "MinibatchStdDev",
    "mix_styles",
    "ModulatedConv2d",
    "modulated_conv2d",
    "NoiseInjection",
    "SynthesisConfig",
    "SynthesisNetwork",
    "upsample2d",
]
