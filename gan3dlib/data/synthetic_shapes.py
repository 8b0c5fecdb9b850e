"""Ground-truth object categories of the synthetic dataset: ``blob``, ``face`` and ``car``.

Every object is a closed, star-shaped surface around the origin on one topology (the sphere mesh
of [`sphere_topology`][gan3dlib.data.synthetic_objects.sphere_topology]): a vertex with unit direction
``d`` sits at ``r(d) d``, where the radial function ``r > 0`` is drawn per object. A radial graph
cannot fold or self-intersect, so every category renders cleanly and has a well-defined inside.
Object space is the generator's: ``+Z`` is the front (towards the camera at yaw 0), ``+Y`` is up,
``+X`` is to the right. Each function draws from the ``torch.Generator`` it is given and nothing
else.

- **blob** (the near-sphere control): ``r(d) = r0 exp(sum_k a_k exp((d.c_k - 1) / w_k²) + sum_j
  b_j sin(f_j d.u_j + phi_j))`` times a diagonal aspect, with Gaussian bumps and dents ``a_k``
  centred in a cone around the front and low-frequency waves ``b_j``; the ranges are the fields of
  [`SyntheticConfig`][gan3dlib.data.synthetic.SyntheticConfig]. The radius varies by a few
  per cent around an object: a clean sphere is already close.
- **face** (for the sphere ``s0``): a head-like ellipsoid, deeper than wide and taller than deep,
  narrowing towards the jaw, with frontal relief as Gaussian radial offsets in azimuth ``alpha =
  atan2(x, z)`` and elevation ``beta = asin(y)``: a nose (35-50 % of the half-width, the largest
  feature, below the centre of the front), a brow ridge, two eye sockets (recesses), a chin, and two
  ears at the sides. All objects share the front, like aligned face photos, and are symmetric left
  to right. The nose reveals itself only through the side views' silhouettes and the shading.
- **car** (for the sheet ``s0``, the paper's CAR/BUS setting): the radial envelope around the
  origin of a solid made of a rounded-box body with a flat bottom, a rounded cabin set back on its top, and two
  wheel arches cut from the bottom of the body; the long axis is ``X``, so yaw 0 is a side view.
  The radius of a direction is where its ray last leaves the solid (ray marching plus bisection):
  the arches' inner halves are seen from the origin, their outer halves become walls along the
  rays, so they appear as notches in the side silhouette.

After its radial function, every object is scaled uniformly: ``face`` and ``car`` to a random
bounding radius in ``SIZE_RANGE`` (times ``max_extent``), ``blob`` only when it would leave the ball
of radius ``max_extent``.

The parameter ranges of ``face`` and ``car`` are the module constants ``FACE`` and ``CAR``
(``name: (low, high)``, in object units before the final scaling unless the name says otherwise),
drawn uniformly per object.
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["CATEGORIES", "FACE", "CAR", "SIZE_RANGE", "sample_shape", "blob_points", "face_radius", "car_radius"]

CATEGORIES = ("blob", "face", "car")

# Bounding radius of a face or car after the final scaling, as a fraction of ``max_extent``.
SIZE_RANGE = (0.8, 1.0)

FACE = {
    "half_width": (0.36, 0.42),  # ellipsoid semi-axis along X
    "half_height": (0.50, 0.58),  # along Y
    "depth_ratio": (1.10, 1.30),  # semi-axis along Z over half_width: heads are deeper than wide
    "jaw_taper": (0.15, 0.35),  # the width shrinks by this fraction towards the bottom
    "nose_length": (0.35, 0.50),  # radial offset at the tip, fraction of half_width
    "nose_elevation": (-0.20, -0.05),  # radians; below the centre of the front
    "nose_width": (0.15, 0.19),  # Gaussian sigma in azimuth, radians
    "nose_height": (0.22, 0.30),  # Gaussian sigma in elevation, radians
    "brow": (0.03, 0.05),  # ridge height
    "eye_depth": (0.04, 0.07),  # socket depth
    "chin": (0.03, 0.06),
    "ear": (0.03, 0.06),
}

CAR = {
    "body_half_height": (0.17, 0.22),  # the body's half-length is 1
    "body_half_width": (0.36, 0.44),
    "cabin_half_length": (0.45, 0.60),
    "cabin_height": (0.22, 0.32),  # above the body's top
    "cabin_offset": (-0.20, 0.05),  # along X (negative: set back)
    "cabin_narrowing": (0.80, 0.90),  # cabin half-width over body half-width
    "arch_position": (0.55, 0.65),  # |x| of the arch centres
    "arch_radius": (0.14, 0.19),
}


def uniform(generator: torch.Generator, low: float, high: float, *shape: int) -> torch.Tensor:
    """A float64 tensor of ``shape`` drawn uniformly from [low, high)."""
    return low + (high - low) * torch.rand(shape, generator=generator, dtype=torch.float64)


def _draw(generator: torch.Generator, ranges: dict[str, tuple[float, float]]) -> dict[str, float]:
    """One value per named range, in the dict's order (so the stream of draws is fixed)."""
    return {name: float(uniform(generator, low, high, 1)) for name, (low, high) in ranges.items()}


def cone_directions(generator: torch.Generator, count: int, cone_degrees: float) -> torch.Tensor:
    """(count, 3) unit vectors uniform on the spherical cap of half-angle ``cone_degrees`` around +Z."""
    cos_t = uniform(generator, math.cos(math.radians(cone_degrees)), 1.0, count)
    phi = uniform(generator, 0.0, 2 * math.pi, count)
    sin_t = (1 - cos_t.square()).clamp(min=0).sqrt()
    return torch.stack([sin_t * phi.cos(), sin_t * phi.sin(), cos_t], dim=-1)


def blob_points(generator: torch.Generator, directions: torch.Tensor, config: Any) -> torch.Tensor:
    """(V, 3) float64 points of one blob (bumps, dents, waves and an aspect on a sphere)."""
    r0 = uniform(generator, *config.radius_range, 1)
    lo, hi = config.num_bumps_range
    num_bumps = int(torch.randint(lo, hi + 1, (1,), generator=generator))
    centres = cone_directions(generator, num_bumps, config.bump_cone_degrees)
    amps = uniform(generator, -config.bump_amplitude, config.bump_amplitude, num_bumps)
    widths = uniform(generator, *(math.radians(w) for w in config.bump_width_range_degrees), num_bumps)
    log_r = torch.log(r0).expand(directions.shape[0]).clone()
    if num_bumps:
        log_r += (amps * torch.exp(((directions @ centres.T - 1) / widths.square()).clamp(min=-40))).sum(-1)
    waves = torch.randn(config.num_waves, 3, generator=generator, dtype=torch.float64)
    waves = waves / waves.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    freqs = uniform(generator, *config.wave_frequency_range, config.num_waves)
    phases = uniform(generator, 0.0, 2 * math.pi, config.num_waves)
    wave_amps = uniform(generator, -config.wave_amplitude, config.wave_amplitude, config.num_waves)
    if config.num_waves:
        log_r += (wave_amps * torch.sin(freqs * (directions @ waves.T) + phases)).sum(-1)
    aspect = uniform(generator, *config.aspect_range, 3)
    return torch.exp(log_r)[:, None] * directions * aspect


def _bump(alpha: torch.Tensor, beta: torch.Tensor, centre: tuple[float, float], sigma: tuple[float, float]) -> torch.Tensor:
    """Gaussian profile in (azimuth, elevation) around ``centre`` with per-axis ``sigma`` (radians)."""
    return torch.exp(-0.5 * (((alpha - centre[0]) / sigma[0]) ** 2 + ((beta - centre[1]) / sigma[1]) ** 2))


def face_radius(generator: torch.Generator, directions: torch.Tensor) -> torch.Tensor:
    """(V,) float64 radial function of one head-like object (see the module docstring and ``FACE``)."""
    p = _draw(generator, FACE)
    x, y, z = directions.unbind(-1)
    a = p["half_width"] * (1 - p["jaw_taper"] * (-y).clamp(min=0) ** 1.5)
    b, c = p["half_height"], p["half_width"] * p["depth_ratio"]
    radius = ((x / a) ** 2 + (y / b) ** 2 + (z / c) ** 2).rsqrt()
    alpha, beta = torch.atan2(x, z), torch.asin(y.clamp(-1, 1))
    nose = p["nose_length"] * p["half_width"]
    features = [
        (nose, (0.0, p["nose_elevation"]), (p["nose_width"], p["nose_height"])),
        (p["brow"], (0.0, 0.32), (0.55, 0.12)),
        (-p["eye_depth"], (0.38, 0.12), (0.15, 0.13)),
        (-p["eye_depth"], (-0.38, 0.12), (0.15, 0.13)),
        (p["chin"], (0.0, -0.75), (0.30, 0.18)),
        (p["ear"], (math.pi / 2, 0.0), (0.18, 0.25)),
        (p["ear"], (-math.pi / 2, 0.0), (0.18, 0.25)),
    ]
    for amplitude, centre, sigma in features:
        radius = radius + amplitude * _bump(alpha, beta, centre, sigma)
    return radius


def _superellipsoid(points: torch.Tensor, centre: tuple[float, float, float], half: tuple[float, float, float],
                    power: int) -> torch.Tensor:
    """Bool mask of the points inside ``sum_i ((p_i - c_i) / h_i)^power <= 1`` (``power`` even)."""
    squared = ((points - points.new_tensor(centre)) / points.new_tensor(half)).square()
    return (squared ** (power // 2)).sum(-1) <= 1


def _inside_car(points: torch.Tensor, p: dict[str, float]) -> torch.Tensor:
    """Bool mask of the points (..., 3) inside the car solid with parameters ``p``."""
    hb, hw = p["body_half_height"], p["body_half_width"]
    body = _superellipsoid(points, (0.0, 0.0, 0.0), (1.0, hb, hw), 6)
    cabin_centre = (p["cabin_offset"], hb, 0.0)
    cabin_half = (p["cabin_half_length"], p["cabin_height"], hw * p["cabin_narrowing"])
    cabin = _superellipsoid(points, cabin_centre, cabin_half, 4) & (points[..., 1] >= 0)
    x, y = points[..., 0], points[..., 1]
    arches = torch.zeros_like(body)
    for sign in (-1.0, 1.0):
        arches |= (x - sign * p["arch_position"]) ** 2 + (y + hb) ** 2 < p["arch_radius"] ** 2
    return (body | cabin) & ~arches


def car_radius(generator: torch.Generator, directions: torch.Tensor, steps: int = 128, refine: int = 20) -> torch.Tensor:
    """(V,) float64 radial function of one car-like object (see the module docstring and ``CAR``).

    Each ray ``t d`` is marched over ``steps`` samples of ``t`` in (0, 2] to its last sample inside
    the solid, then the crossing to the next (outside) sample is bisected ``refine`` times.
    """
    p = _draw(generator, CAR)
    t = torch.linspace(0.0, 2.0, steps + 1, dtype=torch.float64)  # t[0] = 0 is the origin, inside
    inside = _inside_car(directions[:, None, :] * t[None, :, None], p)  # (V, S + 1)
    inside[:, 0] = True
    last = (inside * torch.arange(1, steps + 2)).argmax(dim=1).clamp(max=steps - 1)  # (V,) last inside sample
    low, high = t[last], t[last + 1]
    for _ in range(refine):
        mid = (low + high) / 2
        go_in = _inside_car(directions * mid[:, None], p)
        low = torch.where(go_in, mid, low)
        high = torch.where(go_in, high, mid)
    return (low + high) / 2


def sample_shape(generator: torch.Generator, directions: torch.Tensor, config: Any) -> torch.Tensor:
    """Draws one object of ``config.category``.

    Args:
        generator: the object's shape stream.
        directions: (V, 3) float64 unit vertex directions (`SphereTopology.directions`).
        config: the dataset config (``category`` and, for blobs, the shape fields).

    Returns:
        (V, 3) float32 object-space vertices, all with norm in (0, ``config.max_extent``].
    """
    if config.category == "blob":
        points = blob_points(generator, directions, config)
        extent = float(points.norm(dim=-1).max())
        scale = min(1.0, config.max_extent / extent)
    else:
        radius = face_radius(generator, directions) if config.category == "face" else car_radius(generator, directions)
        points = radius[:, None] * directions
        size = float(uniform(generator, *SIZE_RANGE, 1)) * config.max_extent
        scale = size / float(radius.max())
    return (points * scale).to(torch.float32)
