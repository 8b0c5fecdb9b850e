"""The synthetic dataset's config and procedural ingredients: shapes, textures, backgrounds, lights.

Every function here draws from a ``torch.Generator`` it is given and nothing else, so a scene is a
pure function of its seeds; [`gan3dlib.data.synthetic`][gan3dlib.data.synthetic] seeds them, renders and writes the scenes
(and re-exports [`SyntheticConfig`][gan3dlib.data.synthetic_objects.SyntheticConfig]).

**Objects.** Every object is a closed, star-shaped surface on one topology: the mesh grid of the
generator (``docs/conventions.md``) wrapped around the sphere as in
[`gan3dlib.mesh.sphere_shape_image`][gan3dlib.mesh.sphere_shape_image] (disk centre at the front pole ``+Z``, disk border at
the back pole), with the small hole around the back pole closed by a fan of triangles to the
corner grid vertex 0, which is unused by the grid and already sits on the back pole. Its radial
function comes from one of three categories ([`gan3dlib.data.synthetic_shapes`][gan3dlib.data.synthetic_shapes]): ``blob``
(a sphere with bumps, dents and waves: the near-sphere control), ``face`` (a head with a nose,
brow, eye sockets, chin and ears, for the sphere ``s0``) and ``car`` (body, cabin and wheel
arches, for the sheet ``s0``). [`synthetic_preset`][gan3dlib.data.synthetic_objects.synthetic_preset] gives each category's
dataset settings.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import torch

from gan3dlib.data.synthetic_shapes import CATEGORIES, cone_directions, sample_shape, uniform
from gan3dlib.mesh.grid import build_mesh_grid
from gan3dlib.mesh.init_shapes import sphere_shape_image
from gan3dlib.render.camera import PerspectiveCamera, ViewpointSampler
from gan3dlib.utils.checks import describe

if TYPE_CHECKING:  # pragma: no cover
    from gan3dlib.data.synthetic import SyntheticImageDataset, SyntheticScenes

__all__ = ["SyntheticConfig", "synthetic_preset", "SphereTopology", "sphere_topology", "sample_shape", "sample_texture", "sample_background",
           "sample_light_direction"]

TEXTURE_STYLES = ("smooth", "stripes", "blobs")
BACKGROUND_STYLES = ("gradient", "blobs")


def _check_int(value: object, name: str, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name}: expected an integer {bound}, got {describe(value)}")


def _check_number(value: object, name: str, low: float, high: float) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not low <= value <= high:  # type: ignore[operator]
        raise ValueError(f"{name}: expected a finite number in [{low}, {high}], got {describe(value)}")
    return float(value)  # type: ignore[arg-type]


def _check_pair(value: object, name: str, low: float, high: float, integer: bool = False) -> tuple:
    if not (isinstance(value, Sequence) and len(value) == 2):
        raise ValueError(f"{name}: expected a (min, max) pair, got {describe(value)}")
    if integer:
        for v in value:
            _check_int(v, name, int(low), int(high))
        pair: tuple = (int(value[0]), int(value[1]))
    else:
        pair = tuple(_check_number(v, name, low, high) for v in value)
    if pair[0] > pair[1]:
        raise ValueError(f"{name}: expected min <= max, got {describe(value)}")
    return pair


@dataclass(frozen=True)
class SyntheticConfig:
    """Everything that defines a synthetic dataset (see [`gan3dlib.data.synthetic`][gan3dlib.data.synthetic] for the choices).

    Attributes:
        num_images: number of scenes (a few hundred to 100k).
        resolution: R, the image side in pixels (e.g. 32, 64, 128).
        seed: dataset seed; scene ``i`` depends only on ``(seed, i)``.
        category: the object category, ``blob``, ``face`` or ``car``
            ([`gan3dlib.data.synthetic_shapes`][gan3dlib.data.synthetic_shapes]); the ``radius_range`` to
            ``wave_frequency_range`` fields shape blobs only.
        grid_size: N, the object mesh grid (even, >= 4); V = N² vertices.
        radius_range: base sphere radius range.
        aspect_range: range of the three per-axis scale factors.
        num_bumps_range: (min, max) number of Gaussian bumps/dents.
        bump_amplitude: max |amplitude| of a bump in log-radius (0.3: up to +35% / -26%).
        bump_width_range_degrees: angular width range of the bumps.
        bump_cone_degrees: bump centres lie within this angle of the front +Z.
        num_waves: number of low-frequency global deformations.
        wave_amplitude: max |amplitude| of a wave in log-radius.
        wave_frequency_range: range of the wave frequencies (radians of phase per unit of d.u).
        max_extent: objects are scaled down to fit the ball of this radius (<= 1, the unit ball
            that the camera fits tightly).
        yaw_range_degrees: viewpoint yaw range (paper's FFHQ: +-45).
        pitch_range_degrees: viewpoint pitch range (paper's FFHQ: +-15).
        fov_degrees: the camera's field of view.
        texture_size: T, the texture side.
        texture_style: ``mixed``, ``smooth``, ``stripes`` or ``blobs``.
        background_style: ``mixed``, ``gradient`` or ``blobs``.
        lighting: ``directional`` (ambient + one directional light) or ``ambient`` (flat).
        ambient: ambient light intensity.
        diffuse: directional light diffuse intensity.
        specular: directional light specular intensity.
        shininess: Phong exponent.
        light_cone_degrees: the light direction lies within this angle of the camera axis.
        supersample: antialiasing factor (the object is rasterised at ``supersample * R``).
        batch_size: scenes rendered per PyTorch3D call.
    """

    num_images: int = 1000
    resolution: int = 64
    seed: int = 0
    category: Literal["blob", "face", "car"] = "blob"
    grid_size: int = 32
    radius_range: tuple[float, float] = (0.35, 0.55)
    aspect_range: tuple[float, float] = (0.85, 1.15)
    num_bumps_range: tuple[int, int] = (1, 5)
    bump_amplitude: float = 0.3
    bump_width_range_degrees: tuple[float, float] = (15.0, 40.0)
    bump_cone_degrees: float = 100.0
    num_waves: int = 2
    wave_amplitude: float = 0.06
    wave_frequency_range: tuple[float, float] = (1.0, 3.0)
    max_extent: float = 0.95
    yaw_range_degrees: tuple[float, float] = (-45.0, 45.0)
    pitch_range_degrees: tuple[float, float] = (-15.0, 15.0)
    fov_degrees: float = 30.0
    texture_size: int = 64
    texture_style: Literal["mixed", "smooth", "stripes", "blobs"] = "mixed"
    background_style: Literal["mixed", "gradient", "blobs"] = "mixed"
    lighting: Literal["directional", "ambient"] = "directional"
    ambient: float = 0.55
    diffuse: float = 0.5
    specular: float = 0.1
    shininess: float = 16.0
    light_cone_degrees: float = 60.0
    supersample: int = 2
    batch_size: int = 64

    def __post_init__(self) -> None:
        _check_int(self.num_images, "num_images", 1)
        _check_int(self.resolution, "resolution", 8, 4096)
        _check_int(self.seed, "seed", 0)
        _check_int(self.grid_size, "grid_size", 4, 1024)
        if self.grid_size % 2:
            raise ValueError(f"grid_size: expected an even integer (odd sizes make degenerate faces), "
                             f"got {self.grid_size}")
        pairs = {"radius_range": (1e-3, 1.0, False), "aspect_range": (0.1, 10.0, False),
                 "num_bumps_range": (0, 64, True), "bump_width_range_degrees": (1.0, 180.0, False),
                 "wave_frequency_range": (0.0, 20.0, False)}
        for name, (low, high, integer) in pairs.items():
            object.__setattr__(self, name, _check_pair(getattr(self, name), name, low, high, integer))
        viewpoints = ViewpointSampler(self.yaw_range_degrees, self.pitch_range_degrees)  # names the field
        object.__setattr__(self, "yaw_range_degrees", viewpoints.yaw_range_degrees)
        object.__setattr__(self, "pitch_range_degrees", viewpoints.pitch_range_degrees)
        numbers = {"bump_amplitude": (0.0, 2.0), "bump_cone_degrees": (0.0, 180.0), "wave_amplitude": (0.0, 2.0),
                   "max_extent": (1e-3, 1.0), "fov_degrees": (1e-3, 179.0), "ambient": (0.0, 10.0),
                   "diffuse": (0.0, 10.0), "specular": (0.0, 10.0), "shininess": (0.0, 1e4),
                   "light_cone_degrees": (0.0, 180.0)}
        for name, (low, high) in numbers.items():
            object.__setattr__(self, name, _check_number(getattr(self, name), name, low, high))
        _check_int(self.num_waves, "num_waves", 0, 64)
        _check_int(self.texture_size, "texture_size", 2, 8192)
        _check_int(self.supersample, "supersample", 1, 8)
        _check_int(self.batch_size, "batch_size", 1)
        choices = {"category": CATEGORIES, "texture_style": ("mixed", "smooth", "stripes", "blobs"),
                   "background_style": ("mixed", "gradient", "blobs"), "lighting": ("directional", "ambient")}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name}: expected one of {allowed}, got {describe(getattr(self, name))}")

    @property
    def camera(self) -> PerspectiveCamera:
        """The camera that sees every scene: (R, R) pixels, ``fov_degrees``."""
        return PerspectiveCamera((self.resolution, self.resolution), self.fov_degrees)

    def build(self) -> SyntheticScenes:
        """The scene generator for this config."""
        from gan3dlib.data.synthetic import SyntheticScenes

        return SyntheticScenes(self)

    def dataset(self, cache: bool = False) -> SyntheticImageDataset:
        """A ``torch.utils.data.Dataset`` of the images, rendered on the fly."""
        from gan3dlib.data.synthetic import SyntheticImageDataset

        return SyntheticImageDataset(self, cache=cache)


def synthetic_preset(category: str = "face", num_images: int = 2000, resolution: int = 32, seed: int = 0,
                     **overrides: object) -> SyntheticConfig:
    """The dataset settings of one ground-truth category at one resolution.

    ``blob`` objects are smooth, so a grid of 16 (32 above 32²) gives triangles of about 2 pixels;
    ``face`` and ``car`` carry details of a few pixels (nose, arches) and use a grid of 64.

    Args:
        category: ``'blob'``, ``'face'`` or ``'car'``.
        num_images: number of scenes.
        resolution: image side.
        seed: dataset seed.
        **overrides: any other [`SyntheticConfig`][gan3dlib.data.synthetic_objects.SyntheticConfig] field.

    Returns:
        The [`SyntheticConfig`][gan3dlib.data.synthetic_objects.SyntheticConfig].
    """
    if category not in CATEGORIES:
        raise ValueError(f"category: expected one of {CATEGORIES}, got {describe(category)}")
    grid = (16 if resolution <= 32 else 32) if category == "blob" else 64
    settings = {"num_images": num_images, "resolution": resolution, "seed": seed, "category": category,
                "grid_size": grid, **overrides}
    return SyntheticConfig(**settings)  # type: ignore[arg-type]


class SphereTopology:
    """Closed triangle mesh of the unit sphere built on the ``N x N`` mesh grid.

    Attributes:
        directions: (V, 3) float64 unit vectors, ``V = N²`` (vertex ``i * N + j`` = grid pixel
            ``(i, j)``; unused grid vertices sit on the back pole).
        faces: (F, 3) int64, counter-clockwise seen from outside: the grid's faces, then the fan
            closing the back pole at vertex 0.
        uvs: (V, 2) float32 grid UVs (``v`` up); the texture's centre is the object's front.
    """

    def __init__(self, directions: torch.Tensor, faces: torch.Tensor, uvs: torch.Tensor) -> None:
        self.directions = directions
        self.faces = faces
        self.uvs = uvs


def sphere_topology(grid_size: int) -> SphereTopology:
    """Builds the closed sphere mesh used by every synthetic object.

    Args:
        grid_size: N, an even integer >= 4 (odd sizes put grid vertices exactly on the disk
            border, which creates degenerate triangles at the back pole).

    Returns:
        A [`SphereTopology`][gan3dlib.data.synthetic_objects.SphereTopology].
    """
    grid = build_mesh_grid(grid_size)
    n = grid.n
    directions = sphere_shape_image(n, 1.0, dtype=torch.float64).reshape(3, -1).T.contiguous()
    faces = grid.faces
    edges = torch.cat([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    key, reverse = edges[:, 0] * n * n + edges[:, 1], edges[:, 1] * n * n + edges[:, 0]
    border = edges[~torch.isin(key, reverse)]  # directed edges a -> b with no twin
    # (b, a, pole) runs the shared edge backwards, so the fan keeps the grid's orientation.
    pole = torch.zeros_like(border[:, 0])
    fan = torch.stack([border[:, 1], border[:, 0], pole], dim=1)
    return SphereTopology(directions, torch.cat([faces, fan]).contiguous(), grid.uvs.clone())


def _colours(generator: torch.Generator, count: int) -> torch.Tensor:
    """(count, 3) random RGB colours in [0.05, 0.95]."""
    return uniform(generator, 0.05, 0.95, count, 3)


def _plane(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(size, size) coordinates x (right) and y (up) in [-1, 1] at the pixel centres."""
    t = (torch.arange(size, dtype=torch.float64) + 0.5) * (2.0 / size) - 1.0
    return t.view(1, size).expand(size, size), -t.view(size, 1).expand(size, size)


def _mix(base: torch.Tensor, colour: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Blends (3, H, W) ``base`` towards the (3,) ``colour`` with (H, W) weights in [0, 1]."""
    return base + (colour.view(3, 1, 1) - base) * weight


def _gaussian_blobs(generator: torch.Generator, image: torch.Tensor, count: int, sigma: tuple[float, float],
                    sharp: bool) -> torch.Tensor:
    x, y = _plane(image.shape[-1])
    centres = uniform(generator, -1.0, 1.0, count, 2)
    sigmas = uniform(generator, *sigma, count)
    colours = _colours(generator, count)
    for k in range(count):
        dist2 = (x - centres[k, 0]).square() + (y - centres[k, 1]).square()
        if sharp:  # a disk with a soft rim
            weight = torch.sigmoid(((sigmas[k] - dist2.sqrt()) / (0.15 * sigmas[k])).clamp(-40, 40))
        else:
            weight = torch.exp((-dist2 / (2 * sigmas[k].square())).clamp(min=-40))  # no denormals: they are slow
        image = _mix(image, colours[k], weight)
    return image


def _gradient(generator: torch.Generator, size: int) -> torch.Tensor:
    """(3, size, size) smooth two-colour ramp along a random direction."""
    x, y = _plane(size)
    angle = float(uniform(generator, 0.0, 2 * math.pi, 1))
    c0, c1 = _colours(generator, 2)
    t = (0.5 + 0.5 * (x * math.cos(angle) + y * math.sin(angle)) / math.sqrt(2)).clamp(0, 1)
    return _mix(c0.view(3, 1, 1).expand(3, size, size), c1, t)


def _pick(generator: torch.Generator, style: str, styles: tuple[str, ...]) -> str:
    draw = int(torch.randint(len(styles), (1,), generator=generator))
    return styles[draw] if style == "mixed" else style


def sample_texture(generator: torch.Generator, size: int, style: str) -> torch.Tensor:
    """A procedural texture map.

    Styles: ``smooth`` (colour ramp plus a few wide soft colour fields), ``stripes`` (two colours
    in sinusoidal stripes of random direction, frequency and sharpness over a faint ramp),
    ``blobs`` (a base colour with 4-9 soft-rimmed spots), ``mixed`` (one of them at random).

    Args:
        generator: the object's texture stream.
        size: T, the texture side.
        style: one of ``smooth``, ``stripes``, ``blobs``, ``mixed``.

    Returns:
        (3, T, T) float32 in [0, 1] (row 0 = the top, ``v = 1``).
    """
    style = _pick(generator, style, TEXTURE_STYLES)
    image = _gradient(generator, size)
    if style == "smooth":
        image = _gaussian_blobs(generator, image, 3, (0.25, 0.6), sharp=False)
    elif style == "stripes":
        x, y = _plane(size)
        angle, freq, phase = (float(v) for v in uniform(generator, 0.0, 1.0, 3))
        angle, freq, phase = angle * math.pi, 1.5 + 3.5 * freq, phase * 2 * math.pi
        sharpness = float(uniform(generator, 3.0, 12.0, 1))
        wave = torch.sin(math.pi * freq * (x * math.cos(angle) + y * math.sin(angle)) + phase)
        colour = _colours(generator, 1)[0]
        image = _mix(image, colour, torch.sigmoid(sharpness * wave))
    else:
        count = int(torch.randint(4, 10, (1,), generator=generator))
        image = _gaussian_blobs(generator, image, count, (0.08, 0.3), sharp=True)
    return image.clamp(0, 1).to(torch.float32)


def sample_background(generator: torch.Generator, size: int, style: str) -> torch.Tensor:
    """A procedural background, independent of the object.

    Styles: ``gradient`` (a two-colour ramp with one faint wide blob), ``blobs`` (a base colour
    under 3-6 large soft colour fields), ``mixed`` (one of them at random). Defined on
    ``[-1, 1]²``, so it looks the same at every resolution.

    Args:
        generator: the scene's background stream.
        size: R, the image side.
        style: one of ``gradient``, ``blobs``, ``mixed``.

    Returns:
        (3, R, R) float32 in [0, 1].
    """
    style = _pick(generator, style, BACKGROUND_STYLES)
    if style == "gradient":
        image = _gradient(generator, size)
        image = 0.5 * image + 0.5 * _gaussian_blobs(generator, image, 1, (0.4, 0.8), sharp=False)
    else:
        base = _colours(generator, 1)[0].view(3, 1, 1).expand(3, size, size)
        count = int(torch.randint(3, 7, (1,), generator=generator))
        image = _gaussian_blobs(generator, base, count, (0.2, 0.6), sharp=False)
    return image.clamp(0, 1).to(torch.float32)


def sample_light_direction(generator: torch.Generator, cone_degrees: float) -> torch.Tensor:
    """Direction towards the light in the camera's world frame, uniform in a cone around +Z.

    Args:
        generator: the scene's light stream.
        cone_degrees: half-angle of the cone around the direction to the camera.

    Returns:
        (3,) float32 unit vector.
    """
    return cone_directions(generator, 1, cone_degrees)[0].to(torch.float32)
