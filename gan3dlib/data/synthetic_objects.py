"""The synthetic dataset's procedural ingredients: the object topology, textures, backgrounds, lights.

Every function here draws from a ``torch.Generator`` it is given and nothing else, so a scene is a
pure function of its seeds; [`gan3dlib.data.synthetic`][gan3dlib.data.synthetic] seeds them and renders the scenes.

**Objects.** Every object is a closed, star-shaped surface on one topology: the mesh grid of the
generator (``docs/conventions.md``) wrapped around the sphere as in
[`gan3dlib.mesh.sphere_shape_image`][gan3dlib.mesh.sphere_shape_image] (disk centre at the front pole ``+Z``, disk border at
the back pole), with the small hole around the back pole closed by a fan of triangles to the
corner grid vertex 0, which is unused by the grid and already sits on the back pole. Its radial
function comes from one of three categories ([`gan3dlib.data.synthetic_shapes`][gan3dlib.data.synthetic_shapes]): ``blob``
(a sphere with bumps, dents and waves: the near-sphere control), ``face`` (a head with a nose,
brow, eye sockets, chin and ears, for the sphere ``s0``) and ``car`` (body, cabin and wheel
arches, for the sheet ``s0``). [`synthetic_preset`][gan3dlib.data.synthetic.synthetic_preset] gives each category's
dataset settings.
"""

from __future__ import annotations

import math

import torch

from gan3dlib.data.synthetic_shapes import cone_directions, uniform
from gan3dlib.mesh.grid import build_mesh_grid
from gan3dlib.mesh.init_shapes import sphere_shape_image

__all__ = ["SphereTopology", "sphere_topology", "sample_texture", "sample_background", "sample_light_direction"]

TEXTURE_STYLES = ("smooth", "stripes", "blobs")
BACKGROUND_STYLES = ("gradient", "blobs")


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
