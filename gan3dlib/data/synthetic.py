"""A procedural ground-truth dataset: random textured 3D objects over random backgrounds.

Objects come from one of three categories ([`gan3dlib.data.synthetic_shapes`][gan3dlib.data.synthetic_shapes]) on one
closed sphere topology, with procedural textures, backgrounds and lights
([`gan3dlib.data.synthetic_objects`][gan3dlib.data.synthetic_objects]), seen by the paper's camera
(``docs/conventions.md``) from viewpoints drawn by [`ViewpointSampler`][gan3dlib.render.camera.ViewpointSampler],
and drawn by PyTorch3D's standard renderer, never by gan3dlib's own
([`gan3dlib.data.synthetic_render`][gan3dlib.data.synthetic_render]). [`write_dataset`][gan3dlib.data.synthetic_files.write_dataset]
writes a dataset to disk.

- **Deterministic.** Scene ``i`` is a pure function of ``(seed, i)``: each ingredient (viewpoint,
  shape, texture, background, light) has its own generator seeded by a hash of
  ``(seed, i, ingredient)``, so any index can be regenerated alone and datasets of different
  sizes share their first scenes.
- **Lighting.** ``"directional"`` (default): ambient light plus one directional light (Phong,
  small specular) fixed in the camera frame, its direction drawn per scene in a cone around the
  camera axis; shading makes the shape visible, as in photos. ``"ambient"``: flat texture colours.
- **Depth.** Depth maps and masks are one sample at each pixel centre: ``depth`` is the camera
  depth ``-z_view`` of the nearest surface, 0 on the background, and ``mask == depth > 0``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from gan3dlib.data.synthetic_objects import sample_background, sample_light_direction, sample_texture, sphere_topology
from gan3dlib.data.synthetic_render import depth_maps, render_images
from gan3dlib.data.synthetic_shapes import CATEGORIES, sample_shape
from gan3dlib.ops.mesh import stretch_depth
from gan3dlib.render.camera import PerspectiveCamera, ViewpointSampler, rotation_matrix
from gan3dlib.utils.checks import check_int_range, check_number_range, check_range_pair, describe

__all__ = ["SyntheticConfig", "synthetic_preset", "SyntheticObject", "SyntheticRender", "SyntheticScenes",
           "SyntheticImageDataset"]


@dataclass(frozen=True)
class SyntheticConfig:
    """Everything that defines a synthetic dataset (see the module docstring for the choices).

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
        check_int_range(self.num_images, "num_images", 1)
        check_int_range(self.resolution, "resolution", 8, 4096)
        check_int_range(self.seed, "seed", 0)
        check_int_range(self.grid_size, "grid_size", 4, 1024)
        if self.grid_size % 2:
            raise ValueError(f"grid_size: expected an even integer (odd sizes make degenerate faces), "
                             f"got {self.grid_size}")
        pairs = {"radius_range": (1e-3, 1.0, False), "aspect_range": (0.1, 10.0, False),
                 "num_bumps_range": (0, 64, True), "bump_width_range_degrees": (1.0, 180.0, False),
                 "wave_frequency_range": (0.0, 20.0, False)}
        for name, (low, high, integer) in pairs.items():
            object.__setattr__(self, name, check_range_pair(getattr(self, name), name, low, high, integer))
        viewpoints = ViewpointSampler(self.yaw_range_degrees, self.pitch_range_degrees)  # names the field
        object.__setattr__(self, "yaw_range_degrees", viewpoints.yaw_range_degrees)
        object.__setattr__(self, "pitch_range_degrees", viewpoints.pitch_range_degrees)
        numbers = {"bump_amplitude": (0.0, 2.0), "bump_cone_degrees": (0.0, 180.0), "wave_amplitude": (0.0, 2.0),
                   "max_extent": (1e-3, 1.0), "fov_degrees": (1e-3, 179.0), "ambient": (0.0, 10.0),
                   "diffuse": (0.0, 10.0), "specular": (0.0, 10.0), "shininess": (0.0, 1e4),
                   "light_cone_degrees": (0.0, 180.0)}
        for name, (low, high) in numbers.items():
            object.__setattr__(self, name, check_number_range(getattr(self, name), name, low, high))
        check_int_range(self.num_waves, "num_waves", 0, 64)
        check_int_range(self.texture_size, "texture_size", 2, 8192)
        check_int_range(self.supersample, "supersample", 1, 8)
        check_int_range(self.batch_size, "batch_size", 1)
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
        return SyntheticScenes(self)

    def dataset(self, cache: bool = False) -> SyntheticImageDataset:
        """A ``torch.utils.data.Dataset`` of the images, rendered on the fly."""
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
        **overrides: any other [`SyntheticConfig`][gan3dlib.data.synthetic.SyntheticConfig] field.

    Returns:
        The [`SyntheticConfig`][gan3dlib.data.synthetic.SyntheticConfig].
    """
    if category not in CATEGORIES:
        raise ValueError(f"category: expected one of {CATEGORIES}, got {describe(category)}")
    grid = (16 if resolution <= 32 else 32) if category == "blob" else 64
    settings = {"num_images": num_images, "resolution": resolution, "seed": seed, "category": category,
                "grid_size": grid, **overrides}
    return SyntheticConfig(**settings)  # type: ignore[arg-type]



@dataclass
class SyntheticObject:
    """Ground truth of one scene's object.

    Attributes:
        vertices: (V, 3) float32 object-space positions (inside the unit ball).
        faces: (F, 3) int64, counter-clockwise seen from outside.
        uvs: (V, 2) float32 per-vertex UVs (``v`` up).
        texture: (3, T, T) float32 in [0, 1].
        yaw: viewpoint yaw in radians.
        pitch: viewpoint pitch in radians.
    """

    vertices: torch.Tensor
    faces: torch.Tensor
    uvs: torch.Tensor
    texture: torch.Tensor
    yaw: float
    pitch: float


@dataclass
class SyntheticRender:
    """A rendered batch.

    Attributes:
        images: (B, 3, R, R) float32 in [0, 1].
        depth: (B, 1, R, R) float32 camera depth at the pixel centres, 0 on the background.
        mask: (B, 1, R, R) bool, ``depth > 0``.
        yaw: (B,) float32 radians.
        pitch: (B,) float32 radians.
    """

    images: torch.Tensor
    depth: torch.Tensor
    mask: torch.Tensor
    yaw: torch.Tensor
    pitch: torch.Tensor


def _generator(seed: int, index: int, stream: str) -> torch.Generator:
    digest = hashlib.blake2b(f"gan3dlib.synthetic:{seed}:{index}:{stream}".encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little") & (2**63 - 1))


class SyntheticScenes:
    """Generates, renders and writes the scenes of a [`SyntheticConfig`][gan3dlib.data.synthetic.SyntheticConfig].

    Args:
        config: the dataset config.
    """

    def __init__(self, config: SyntheticConfig | None = None) -> None:
        if config is not None and not isinstance(config, SyntheticConfig):
            raise ValueError(f"config: expected a SyntheticConfig, got {describe(config)}")
        self.config = config or SyntheticConfig()
        self.topology = sphere_topology(self.config.grid_size)
        cfg = self.config
        self.viewpoints = ViewpointSampler(cfg.yaw_range_degrees, cfg.pitch_range_degrees)

    def __len__(self) -> int:
        return self.config.num_images

    def _check_index(self, index: object) -> int:
        check_int_range(index, "index", 0, self.config.num_images - 1)
        return int(index)  # type: ignore[arg-type]

    def viewpoint(self, index: int) -> tuple[float, float]:
        """``(yaw, pitch)`` in radians of scene ``index``, drawn uniformly from the configured ranges."""
        index = self._check_index(index)
        yaw, pitch = self.viewpoints.sample(1, _generator(self.config.seed, index, "viewpoint"), dtype=torch.float64)
        return float(yaw), float(pitch)

    def object(self, index: int) -> SyntheticObject:
        """The ground-truth object and viewpoint of scene ``index`` (see [`SyntheticObject`][gan3dlib.data.synthetic.SyntheticObject])."""
        index, cfg = self._check_index(index), self.config
        yaw, pitch = self.viewpoint(index)
        return SyntheticObject(
            vertices=sample_shape(_generator(cfg.seed, index, "shape"), self.topology.directions, cfg),
            faces=self.topology.faces, uvs=self.topology.uvs,
            texture=sample_texture(_generator(cfg.seed, index, "texture"), cfg.texture_size, cfg.texture_style),
            yaw=yaw, pitch=pitch)

    def background(self, index: int) -> torch.Tensor:
        """(3, R, R) float32 background of scene ``index``, in [0, 1]."""
        index = self._check_index(index)
        return sample_background(_generator(self.config.seed, index, "background"), self.config.resolution,
                                 self.config.background_style)

    def light_direction(self, index: int) -> torch.Tensor:
        """(3,) direction towards the light of scene ``index``, in the camera's world frame (+Z = camera)."""
        index = self._check_index(index)
        return sample_light_direction(_generator(self.config.seed, index, "light"), self.config.light_cone_degrees)

    def render(self, indices: Sequence[int], depth_scale: float = 1.0) -> SyntheticRender:
        """Renders scenes with PyTorch3D (in chunks of ``config.batch_size``).

        Args:
            indices: B scene indices.
            depth_scale: each object stretched along its own depth axis by this factor
                ([`stretch_depth`][gan3dlib.ops.mesh.stretch_depth]; 1: the scenes as they are, -1:
                the hollow copies, their faces flipped to keep normals outwards), everything else
                unchanged: the flattened, deepened and hollow controls of a depth probe.

        Returns:
            [`SyntheticRender`][gan3dlib.data.synthetic.SyntheticRender] with images (B, 3, R, R), depth and mask (B, 1, R, R).
        """
        indices = [self._check_index(i) for i in indices]
        if not indices:
            raise ValueError("indices: expected at least one scene index, got an empty sequence")
        if isinstance(depth_scale, bool) or not isinstance(depth_scale, (int, float)) or not math.isfinite(depth_scale) \
                or depth_scale == 0:
            raise ValueError(f"depth_scale: expected a finite non-zero number, got {describe(depth_scale)}")
        step = self.config.batch_size
        parts = [self._render_chunk(indices[k:k + step], float(depth_scale)) for k in range(0, len(indices), step)]
        fields = [f.name for f in dataclasses.fields(SyntheticRender)]
        return SyntheticRender(**{name: torch.cat([getattr(p, name) for p in parts]) for name in fields})

    def _render_chunk(self, indices: list[int], depth_scale: float) -> SyntheticRender:
        objects = [self.object(i) for i in indices]
        vertices = torch.stack([o.vertices for o in objects])
        faces = self.topology.faces
        if depth_scale != 1.0:
            vertices = stretch_depth(vertices, depth_scale)
            faces = faces if depth_scale > 0 else faces[:, [0, 2, 1]]
        yaw = torch.tensor([o.yaw for o in objects], dtype=torch.float32)
        pitch = torch.tensor([o.pitch for o in objects], dtype=torch.float32)
        rotation = rotation_matrix(yaw, pitch)
        images = render_images(self.config, faces, self.topology.uvs, vertices, rotation,
                               torch.stack([o.texture for o in objects]),
                               torch.stack([self.light_direction(i) for i in indices]),
                               torch.stack([self.background(i) for i in indices]))
        depth = depth_maps(self.config, faces, vertices, rotation, self.config.resolution)
        return SyntheticRender(images=images, depth=depth, mask=depth > 0, yaw=yaw, pitch=pitch)

    def canonical_depth(self, index: int, yaw: torch.Tensor, pitch: torch.Tensor,
                        resolution: int | None = None) -> torch.Tensor:
        """Depth maps of object ``index`` seen from the given viewpoints (for the 3D metrics).

        Args:
            index: scene index.
            yaw: (V,) radians.
            pitch: (V,) radians.
            resolution: image side (default ``config.resolution``).

        Returns:
            (V, 1, S, S) float32 camera depth at the pixel centres, 0 on the background.
        """
        vertices = self.object(index).vertices
        return self.mesh_depth(vertices.expand(torch.as_tensor(yaw).numel(), -1, -1), yaw, pitch, resolution)

    def mesh_depth(self, vertices: torch.Tensor, yaw: torch.Tensor, pitch: torch.Tensor,
                   resolution: int | None = None) -> torch.Tensor:
        """Depth maps of closed meshes on this dataset's topology (``self.topology.faces``).

        Args:
            vertices: (B, V, 3) object-space vertices, outward-oriented with the topology's faces.
            yaw: (B,) radians, one viewpoint per mesh.
            pitch: (B,) radians.
            resolution: image side (default ``config.resolution``).

        Returns:
            (B, 1, S, S) float32 camera depth at the pixel centres, 0 on the background.

        PyTorch3D's rasterizer draws them where it is installed; elsewhere (e.g. a GPU machine
        without its wheel) gan3dlib's own crisp depth, which agrees with it to float precision
        (tested), so the ground truth of the 3D metrics exists wherever gan3dlib runs
        ([`depth_maps`][gan3dlib.data.synthetic_render.depth_maps]).
        """
        size = self.config.resolution if resolution is None else resolution
        check_int_range(size, "resolution", 1, 4096)
        rotation = rotation_matrix(torch.as_tensor(yaw, dtype=torch.float32).reshape(-1),
                                   torch.as_tensor(pitch, dtype=torch.float32).reshape(-1))
        if vertices.ndim != 3 or vertices.shape[0] != rotation.shape[0]:
            raise ValueError(f"vertices: expected ({rotation.shape[0]}, V, 3) for {rotation.shape[0]} viewpoints, "
                             f"got {describe(vertices)}")
        return depth_maps(self.config, self.topology.faces, vertices.float(), rotation, size)


class SyntheticImageDataset(torch.utils.data.Dataset):
    """The images of a synthetic dataset as a ``torch.utils.data.Dataset``, rendered on the fly.

    Items are (3, R, R) float32 in [-1, 1]. With ``quantize`` (default) they are first rounded to
    8 bits (``uint8 / 127.5 - 1``), exactly what [`ImageDataset`][gan3dlib.data.ImageDataset] reads from the
    folder [`write_dataset`][gan3dlib.data.synthetic_files.write_dataset] produces. ``__getitems__`` renders a whole batch at once
    (the DataLoader uses it automatically).

    Args:
        config: the dataset config.
        cache: keep rendered items in memory (3 R² bytes per item when quantized).
        quantize: round to 8 bits like a written PNG.
    """

    def __init__(self, config: SyntheticConfig | None = None, cache: bool = False, quantize: bool = True) -> None:
        self.scenes = SyntheticScenes(config)
        self.config = self.scenes.config
        self.quantize = quantize
        self._cache: dict[int, torch.Tensor] | None = {} if cache else None

    def __len__(self) -> int:
        return self.config.num_images

    def _index(self, index: object) -> int:
        try:
            value = operator.index(index)  # type: ignore[arg-type]
        except TypeError:
            value = None
        if isinstance(index, bool) or value is None or not -len(self) <= value < len(self):
            raise IndexError(f"index: expected an integer in [{-len(self)}, {len(self)}), got {describe(index)}")
        return value % len(self)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[torch.Tensor]:
        """The items at ``indices`` (a list of (3, R, R) tensors), missing ones rendered in one batch."""
        indices = [self._index(i) for i in indices]
        cache = self._cache if self._cache is not None else {}
        stored = {i: cache[i] for i in indices if i in cache}
        missing = sorted({i for i in indices if i not in stored})
        if missing:
            for i, image in zip(missing, self.scenes.render(missing).images):
                stored[i] = (image * 255).round().to(torch.uint8) if self.quantize else image.clone()
                if self._cache is not None:
                    self._cache[i] = stored[i]
        return [stored[i].to(torch.float32) / 127.5 - 1 if self.quantize else stored[i] * 2 - 1 for i in indices]
