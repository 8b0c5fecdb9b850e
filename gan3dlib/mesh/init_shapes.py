"""Initial shapes ``s0`` added to the generated shape image (paper §7).

"For faces we set s0 to a sphere with a radius r = 0.5 centered at the origin. For buses and
cars s0 was a flat sheet." Both functions return an unbatched ``(3, N, N)`` shape image (channel
= xyz, pixel ``(i, j)`` = grid vertex ``i * N + j``, see ``docs/conventions.md``); add a batch
dimension with ``s0[None]`` or ``s0.expand(B, -1, -1, -1)``.
"""

from __future__ import annotations

import math

import torch

from gan3dlib.mesh.grid import _check_grid_size, normalized_grid
from gan3dlib.utils.checks import check_positive, describe

__all__ = ["sphere_shape_image", "sheet_shape_image"]


def _check_finite_positive(value: object, name: str) -> float:
    check_positive(value, name)
    if not math.isfinite(value):  # type: ignore[arg-type]
        raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def _check_dtype(dtype: object) -> torch.dtype:
    if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise ValueError(f"dtype: expected a floating torch.dtype, got {describe(dtype)}")
    return dtype


def sphere_shape_image(
    n: int,
    radius: float = 0.5,
    disk_radius: float = 1.0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """A sphere of radius ``radius`` centred at the origin, as an ``(3, N, N)`` shape image.

    The grid disk is wrapped around the sphere. For the normalised position ``(x, y)`` of a
    grid vertex (``docs/conventions.md``), with ``rho = sqrt(x² + y²) / disk_radius``:

    - polar angle from ``+Z``: ``theta = pi * min(rho, 1)``;
    - azimuth: ``phi = atan2(y, x)``;
    - point: ``radius * (sin(theta) cos(phi), sin(theta) sin(phi), cos(theta))``.

    The disk centre goes to the front pole ``(0, 0, radius)`` (facing the camera, which sits on
    ``+Z``), rings of constant ``rho`` go to circles of latitude, and the disk boundary goes to
    the back pole ``(0, 0, -radius)``. Near the front pole the map is a scaled copy of the flat
    sheet, and it preserves orientation everywhere, so the grid's faces (counter-clockwise seen
    from ``+Z``) are counter-clockwise seen from outside: their normals point outwards. With a
    mesh grid of radius ``R <= disk_radius`` the surface is closed except for a small cap around
    the back pole of polar size about ``pi * (1 - rho_max)``, ``rho_max`` being the largest
    kept ``rho``. Vertices with ``rho >= 1`` (outside the disk, unused by the default grid, or
    exactly on its boundary) are placed exactly at the back pole, so all values are finite. A
    face with two vertices exactly on the boundary circle (this happens for a few grid sizes,
    e.g. ``N = 11``) collapses to zero area there; that is harmless.

    Args:
        n: grid size ``N >= 2``.
        radius: sphere radius ``r`` (the paper uses 0.5 for faces).
        disk_radius: radius of the grid disk mapped onto the sphere, in normalised grid
            coordinates; it should match the mesh grid's ``radius``.
        dtype: floating dtype of the result.
        device: device of the result.

    Returns:
        ``(3, N, N)`` shape image of xyz positions.

    Raises:
        ValueError: naming ``n``, ``radius``, ``disk_radius`` or ``dtype`` if invalid.
    """
    n = _check_grid_size(n)
    radius = _check_finite_positive(radius, "radius")
    disk_radius = _check_finite_positive(disk_radius, "disk_radius")
    dtype = _check_dtype(dtype)
    xy = normalized_grid(n, dtype=torch.float64)  # (2, N, N)
    x, y = xy[0], xy[1]
    rho = torch.sqrt(x * x + y * y) / float(disk_radius)
    outside = rho >= 1.0
    theta = math.pi * rho.clamp(max=1.0)
    phi = torch.atan2(y, x)
    sin_t = torch.where(outside, torch.zeros_like(theta), torch.sin(theta))
    cos_t = torch.where(outside, -torch.ones_like(theta), torch.cos(theta))
    points = float(radius) * torch.stack([sin_t * torch.cos(phi), sin_t * torch.sin(phi), cos_t])
    return points.to(dtype=dtype, device=device)


def sheet_shape_image(
    n: int,
    half_size: float = 1.0,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """A flat sheet in the ``z = 0`` plane facing the camera, as an ``(3, N, N)`` shape image.

    Grid vertex ``(i, j)`` goes to ``(half_size * x, half_size * y, 0)`` with the normalised
    grid position ``x = 2j/(N-1) - 1``, ``y = 1 - 2i/(N-1)``. With the default
    ``half_size = 1`` the sheet spans ``[-1, 1]²`` and its kept disk (mesh-grid radius 1) is the
    unit disk, which the camera's unit ball fits tightly. Faces are counter-clockwise seen from
    ``+Z`` (normals point to the camera).

    Args:
        n: grid size ``N >= 2``.
        half_size: half the side length of the sheet.
        dtype: floating dtype of the result.
        device: device of the result.

    Returns:
        ``(3, N, N)`` shape image of xyz positions.

    Raises:
        ValueError: naming ``n``, ``half_size`` or ``dtype`` if invalid.
    """
    n = _check_grid_size(n)
    half_size = _check_finite_positive(half_size, "half_size")
    dtype = _check_dtype(dtype)
    xy = normalized_grid(n, dtype=torch.float64) * float(half_size)
    points = torch.cat([xy, torch.zeros_like(xy[:1])])
    return points.to(dtype=dtype, device=device)
