"""The StyleGAN generator: mapping network + synthesis network + style mixing."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from gan3dlib.nets.mapping import MappingConfig, MappingNetwork, check_truncation
from gan3dlib.nets.modulated import NoiseMode, check_noise_mode
from gan3dlib.nets.synthesis import SynthesisConfig, SynthesisNetwork
from gan3dlib.utils.checks import check_tensor, describe

__all__ = ["GeneratorConfig", "Generator", "mix_styles"]


@dataclass(frozen=True)
class GeneratorConfig:
    """Settings of a StyleGAN generator; [`build`][gan3dlib.nets.generator.GeneratorConfig.build] makes the module.

    Attributes:
        mapping: mapping network settings (``mapping.w_dim`` must equal ``synthesis.w_dim``).
        synthesis: synthesis network settings.
        style_mixing_prob: probability, per training batch, of switching to a second latent at a
            random crossover layer (0.9 in StyleGAN).
    """

    mapping: MappingConfig = field(default_factory=MappingConfig)
    synthesis: SynthesisConfig = field(default_factory=SynthesisConfig)
    style_mixing_prob: float = 0.9

    def __post_init__(self) -> None:
        if not isinstance(self.mapping, MappingConfig):
            raise ValueError(f"mapping: expected a MappingConfig, got {describe(self.mapping)}")
        if not isinstance(self.synthesis, SynthesisConfig):
            raise ValueError(f"synthesis: expected a SynthesisConfig, got {describe(self.synthesis)}")
        if self.mapping.w_dim != self.synthesis.w_dim:
            raise ValueError(
                f"synthesis.w_dim: expected to equal mapping.w_dim={self.mapping.w_dim}, got {self.synthesis.w_dim}"
            )
        p = self.style_mixing_prob
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"style_mixing_prob: expected a number in [0, 1], got {describe(p)}")

    def build(self) -> Generator:
        """Builds the generator."""
        return Generator(self)


def mix_styles(ws: torch.Tensor, ws_mix: torch.Tensor, crossover: int | torch.Tensor) -> torch.Tensor:
    """Style mixing: rows ``< crossover`` from ``ws``, rows ``>= crossover`` from ``ws_mix``.

    Args:
        ws: (B, N, D) latents of the first z.
        ws_mix: (B, N, D) latents of the second z.
        crossover: first layer taken from ``ws_mix``; an int or a 0-d (or (B,)) integer tensor.
            ``crossover >= N`` means no mixing.

    Returns:
        (B, N, D) mixed latents.
    """
    layer = torch.arange(ws.shape[1], device=ws.device)
    cut = torch.as_tensor(crossover, device=ws.device).reshape(-1, 1)  # (1 or B, 1)
    return torch.where((layer[None, :] >= cut)[..., None], ws_mix, ws)


class Generator(nn.Module):
    """z (B, z_dim) -> image (B, out_channels, resolution, resolution).

    In training mode (``self.training``) each batch is style-mixed with probability
    ``style_mixing_prob``: a second latent is drawn, and from a crossover layer drawn uniformly in
    ``[1, num_ws)`` onward its ws replace the first's (one crossover per batch, as StyleGAN2-ADA).
    All random draws (second z, mixing decision, crossover, random noise) come from ``generator``
    when one is given, so a seeded ``torch.Generator`` makes the output deterministic.

    Attributes:
        mapping: the [`MappingNetwork`][gan3dlib.nets.mapping.MappingNetwork] (holds ``w_avg``).
        synthesis: the [`SynthesisNetwork`][gan3dlib.nets.synthesis.SynthesisNetwork].
    """

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        self.config = config
        self.synthesis = SynthesisNetwork(config.synthesis)
        self.mapping = MappingNetwork(config.mapping, num_ws=self.synthesis.num_ws)

    @property
    def num_ws(self) -> int:
        """Number of per-layer latents."""
        return self.synthesis.num_ws

    @property
    def z_dim(self) -> int:
        """Width of z."""
        return self.config.mapping.z_dim

    @property
    def w_dim(self) -> int:
        """Width of w."""
        return self.config.mapping.w_dim

    def map(
        self,
        z: torch.Tensor,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        update_w_avg: bool | None = None,
        style_mixing: bool | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """z -> per-layer latents, with truncation and (in training) style mixing.

        Args:
            z: (B, z_dim) latents.
            truncation_psi: truncation strength toward ``w_avg`` (1: off).
            truncation_cutoff: truncate only the first layers (None: all).
            update_w_avg: update ``w_avg`` from z (not from the mixing latent); None means
                ``self.training``.
            style_mixing: apply style mixing with probability ``style_mixing_prob``; None means
                ``self.training``.
            generator: source of the mixing draws.

        Returns:
            (B, num_ws, w_dim) latents.
        """
        check_tensor(z, "z", (None, self.z_dim), floating=True)
        check_truncation(truncation_psi, truncation_cutoff, self.num_ws)
        ws = self.mapping(z, truncation_psi, truncation_cutoff, update_w_avg=update_w_avg)
        prob = self.config.style_mixing_prob
        if not (self.training if style_mixing is None else style_mixing) or prob == 0 or self.num_ws < 2:
            return ws
        device = generator.device if generator is not None else z.device
        crossover = torch.randint(1, self.num_ws, (), generator=generator, device=device)
        mixed = torch.rand((), generator=generator, device=device) < prob
        crossover = torch.where(mixed, crossover, torch.full_like(crossover, self.num_ws)).to(z.device)
        z_mix = torch.randn(z.shape, generator=generator, device=device, dtype=z.dtype).to(z.device)
        ws_mix = self.mapping(z_mix, truncation_psi, truncation_cutoff, update_w_avg=False)
        return mix_styles(ws, ws_mix, crossover)

    def forward(
        self,
        z: torch.Tensor,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        noise_mode: NoiseMode = "random",
        update_w_avg: bool | None = None,
        style_mixing: bool | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Generates images.

        Args:
            z: (B, z_dim) latents.
            truncation_psi: truncation strength toward ``w_avg`` (1: off, 0: the average image).
            truncation_cutoff: truncate only ``ws[:, :cutoff]`` (None: all layers).
            noise_mode: ``'random'``, ``'const'`` or ``'none'``.
            update_w_avg: update the running ``w_avg``; None means ``self.training``.
            style_mixing: allow style mixing; None means ``self.training``.
            generator: source of every random draw (mixing and noise).

        Returns:
            (B, out_channels, resolution, resolution) image.
        """
        check_noise_mode(noise_mode)
        ws = self.map(z, truncation_psi, truncation_cutoff, update_w_avg, style_mixing, generator)
        return self.synthesis(ws, noise_mode=noise_mode, generator=generator)
