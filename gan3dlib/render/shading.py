"""Lambertian shading of a rendered albedo: shading that depends on the geometry.

The paper's image model is an unlit texture ("a Lambertian surface illuminated with ambient light",
§9), so the generator can paint shading into the texture and relief never has to exist in the
mesh. With ``mode='lambertian'`` the texture is an *albedo*, each image gets a directional light,
and every pixel is darkened by its surface normal's angle to that light:

    shade = ambient + diffuse * max(0, n . l)

with ``n`` the interpolated unit normal (view space, from the mesh) and ``l`` the unit direction
towards the light, drawn per image uniformly in a cone around the camera axis ``+Z``. Colours live
in the generator range [-1, 1]; shading acts on the [0, 1] albedo ``(t + 1) / 2``. The object is
rendered over a zero background (its colour and normals then arrive premultiplied by the coverage
``alpha``) and composited here:

    image = 2 * (shade * (fg + alpha) / 2 + (1 - alpha) * (background + 1) / 2) - 1

which with ``shade = 1`` is exactly the renderer's own composite over the background. Off in the
paper's presets (``mode='none'``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch

from gan3dlib.utils.checks import check_positive, describe

__all__ = ["ShadingConfig", "shade_and_composite", "cone_directions"]


def cone_directions(batch: int, cone_degrees: float, generator: torch.Generator | None = None,
                    device: torch.device | str | None = None) -> torch.Tensor:
    """(batch, 3) unit vectors uniform on the spherical cap of half-angle ``cone_degrees`` around +Z."""
    u = torch.rand(2, batch, generator=generator, device=device)
    cos_t = 1 - u[0] * (1 - math.cos(math.radians(cone_degrees)))
    sin_t = (1 - cos_t.square()).clamp(min=0).sqrt()
    phi = 2 * math.pi * u[1]
    return torch.stack([sin_t * phi.cos(), sin_t * phi.sin(), cos_t], dim=-1)


@dataclass(frozen=True)
class ShadingConfig:
    """How rendered albedo is lit.

    Attributes:
        mode: ``'none'`` (the paper: the texture is the colour) or ``'lambertian'``.
        ambient: the light every pixel receives.
        diffuse: the directional light's strength.
        light_cone_degrees: directions towards the light are drawn uniformly within this angle of
            the camera axis.
    """

    mode: Literal["none", "lambertian"] = "none"
    ambient: float = 0.5
    diffuse: float = 0.5
    light_cone_degrees: float = 60.0

    def __post_init__(self) -> None:
        """Validates the fields."""
        if self.mode not in ("none", "lambertian"):
            raise ValueError(f"mode: expected 'none' or 'lambertian', got {describe(self.mode)}")
        check_positive(self.ambient, "ambient", allow_zero=True)
        check_positive(self.diffuse, "diffuse", allow_zero=True)
        if not 0 <= self.light_cone_degrees <= 180:
            raise ValueError(f"light_cone_degrees: expected a number in [0, 180], got {describe(self.light_cone_degrees)}")

    @property
    def enabled(self) -> bool:
        """True when the renderer's colour is shaded."""
        return self.mode == "lambertian"

    def sample_lights(self, batch: int, generator: torch.Generator | None = None,
                      device: torch.device | str | None = None) -> torch.Tensor:
        """(batch, 3) unit directions towards the light, in view space."""
        return cone_directions(batch, self.light_cone_degrees, generator, device)


def shade_and_composite(foreground: torch.Tensor, alpha: torch.Tensor, normals: torch.Tensor,
                        background: torch.Tensor, light: torch.Tensor, ambient: float, diffuse: float) -> torch.Tensor:
    """Lambertian shading of a premultiplied albedo render, composited over a background.

    Args:
        foreground: (B, 3, H, W) albedo rendered over a zero background (generator range,
            premultiplied by ``alpha``).
        alpha: (B, 1, H, W) coverage.
        normals: (B, 3, H, W) view-space normals rendered over zero (premultiplied).
        background: (B, 3, H, W) or (3,) background in the generator range.
        light: (B, 3) unit directions towards the light.
        ambient: ambient term.
        diffuse: diffuse term.

    Returns:
        (B, 3, H, W) image in the generator range.
    """
    unit = torch.nn.functional.normalize(normals, dim=1, eps=1e-8)
    lambert = (unit * light[:, :, None, None]).sum(dim=1, keepdim=True).clamp(min=0)
    shade = ambient + diffuse * lambert
    if background.ndim == 1:
        background = background.view(1, -1, 1, 1)
    lit = shade * (foreground + alpha) / 2 + (1 - alpha) * (background + 1) / 2
    return 2 * lit - 1
