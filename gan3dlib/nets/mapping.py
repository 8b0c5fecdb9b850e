"""The StyleGAN mapping network z -> w, with ``w_avg`` tracking and the truncation trick."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import repeat
from torch import nn

from gan3dlib.nets.layers import EqualLinear
from gan3dlib.utils.checks import check_positive, check_tensor, describe

__all__ = ["MappingConfig", "MappingNetwork", "check_truncation"]


@dataclass(frozen=True)
class MappingConfig:
    """Settings of the mapping network; [`build`][gan3dlib.nets.mapping.MappingConfig.build] makes the module.

    Attributes:
        z_dim: width of the input latent z (512 in the paper).
        w_dim: width of the intermediate latent w (512).
        num_layers: fully connected layers (8 in the paper / StyleGAN v1; StyleGAN2-ADA's ``auto``
            config uses 2, enough below 512x512).
        hidden_dim: width of the hidden layers; None uses ``w_dim``.
        lr_multiplier: learning-rate factor of every mapping layer (0.01: the mapping learns 100x
            slower than the synthesis network).
        w_avg_beta: decay of the running average of w used for truncation (0.995).
        normalize_z: scale each z to unit second moment before the first layer.
    """

    z_dim: int = 512
    w_dim: int = 512
    num_layers: int = 8
    hidden_dim: int | None = None
    lr_multiplier: float = 0.01
    w_avg_beta: float = 0.995
    normalize_z: bool = True

    def __post_init__(self) -> None:
        check_positive(self.z_dim, "z_dim", integer=True)
        check_positive(self.w_dim, "w_dim", integer=True)
        check_positive(self.num_layers, "num_layers", integer=True)
        if self.hidden_dim is not None:
            check_positive(self.hidden_dim, "hidden_dim", integer=True)
        check_positive(self.lr_multiplier, "lr_multiplier")
        beta = self.w_avg_beta
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0.0 <= beta <= 1.0:
            raise ValueError(f"w_avg_beta: expected a number in [0, 1], got {describe(beta)}")
        if not isinstance(self.normalize_z, bool):
            raise ValueError(f"normalize_z: expected a bool, got {describe(self.normalize_z)}")

    def build(self, num_ws: int = 1) -> MappingNetwork:
        """Builds the network; ``num_ws`` is how many copies of w the synthesis network consumes."""
        return MappingNetwork(self, num_ws)


def check_truncation(truncation_psi: object, truncation_cutoff: object, num_ws: int) -> None:
    """Validates truncation arguments: ``psi`` a real number, ``cutoff`` None or an int in [0, num_ws]."""
    if isinstance(truncation_psi, bool) or not isinstance(truncation_psi, (int, float)):
        raise ValueError(f"truncation_psi: expected a real number, got {describe(truncation_psi)}")
    if truncation_cutoff is not None:
        check_positive(truncation_cutoff, "truncation_cutoff", integer=True, allow_zero=True)
        assert isinstance(truncation_cutoff, int)
        if truncation_cutoff > num_ws:
            raise ValueError(f"truncation_cutoff: expected None or an int <= num_ws={num_ws}, got {truncation_cutoff}")


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scales each row to unit mean square.

    Args:
        x: (B, D).

    Returns:
        (B, D) ``x / sqrt(mean(x**2) + eps)``.
    """
    return x * torch.rsqrt(x.square().mean(dim=1, keepdim=True) + eps)


class MappingNetwork(nn.Module):
    """z (B, z_dim) -> w (B, num_ws, w_dim), the same w broadcast to every synthesis layer.

    Keeps ``w_avg`` (w_dim,), an exponential moving average of w (decay ``w_avg_beta``) updated
    when ``update_w_avg`` is set (default: in training mode). Truncation moves w toward ``w_avg``:
    ``w' = w_avg + psi * (w - w_avg)`` for layers ``< truncation_cutoff`` (all layers if None).

    Args:
        config: the settings.
        num_ws: number of broadcast copies of w.
    """

    def __init__(self, config: MappingConfig, num_ws: int = 1) -> None:
        super().__init__()
        check_positive(num_ws, "num_ws", integer=True)
        self.config, self.num_ws = config, num_ws
        self.z_dim, self.w_dim = config.z_dim, config.w_dim
        hidden = config.hidden_dim or config.w_dim
        widths = [config.z_dim] + [hidden] * (config.num_layers - 1) + [config.w_dim]
        self.layers = nn.Sequential(
            *[
                EqualLinear(i, o, lr_multiplier=config.lr_multiplier, activation="lrelu")
                for i, o in zip(widths[:-1], widths[1:])
            ]
        )
        self.register_buffer("w_avg", torch.zeros(config.w_dim))

    def forward(
        self,
        z: torch.Tensor,
        truncation_psi: float = 1.0,
        truncation_cutoff: int | None = None,
        update_w_avg: bool | None = None,
    ) -> torch.Tensor:
        """Maps z to w.

        Args:
            z: (B, z_dim) latents.
            truncation_psi: 1 disables truncation, 0 gives ``w_avg``.
            truncation_cutoff: truncate only ws[:, :cutoff]; None truncates all.
            update_w_avg: update the running average with this batch; None means ``self.training``.

        Returns:
            (B, num_ws, w_dim) broadcast latents.
        """
        check_tensor(z, "z", (None, self.z_dim), floating=True)
        check_truncation(truncation_psi, truncation_cutoff, self.num_ws)
        x = normalize_2nd_moment(z) if self.config.normalize_z else z
        w = self.layers(x)
        if self.training if update_w_avg is None else update_w_avg:
            with torch.no_grad():
                batch_mean = w.detach().mean(dim=0).to(self.w_avg.dtype)
                self.w_avg.copy_(batch_mean.lerp(self.w_avg, self.config.w_avg_beta))
        ws = repeat(w, "b d -> b n d", n=self.num_ws)
        if truncation_psi != 1:
            ws = self.truncate(ws, truncation_psi, truncation_cutoff)
        return ws

    def truncate(self, ws: torch.Tensor, psi: float, cutoff: int | None = None) -> torch.Tensor:
        """The truncation trick: ``w_avg + psi * (ws - w_avg)`` on layers ``< cutoff``.

        Args:
            ws: (B, num_ws, w_dim) latents.
            psi: truncation strength.
            cutoff: number of leading layers truncated (None: all).

        Returns:
            (B, num_ws, w_dim).
        """
        check_truncation(psi, cutoff, ws.shape[1])
        avg = self.w_avg.to(ws.dtype)
        truncated = avg.lerp(ws, psi)
        if cutoff is None or cutoff >= ws.shape[1]:
            return truncated
        layer = torch.arange(ws.shape[1], device=ws.device)
        return torch.where((layer < cutoff)[None, :, None], truncated, ws)

    def extra_repr(self) -> str:
        c = self.config
        return f"z_dim={c.z_dim}, w_dim={c.w_dim}, num_layers={c.num_layers}, num_ws={self.num_ws}"
