"""A procedural ground-truth dataset: random textured 3D objects over random backgrounds.

Objects are star-shaped deformations of a sphere (family in [`gan3dlib.data.synthetic_objects`][gan3dlib.data.synthetic_objects])
with procedural textures, seen by the paper's camera (``docs/conventions.md``) from viewpoints
drawn by [`ViewpointSampler`][gan3dlib.render.camera.ViewpointSampler]. Images are rendered by PyTorch3D's
standard ``MeshRasterizer`` + ``HardPhongShader``, never by gan3dlib's own renderer, so the data
does not come from the renderer being trained.

- **Deterministic.** Scene ``i`` is a pure function of ``(seed, i)``: each ingredient (viewpoint,
  shape, texture, background, light) has its own generator seeded by a hash of
  ``(seed, i, ingredient)``, so any index can be regenerated alone and datasets of different
  sizes share their first scenes.
- **Lighting.** ``"directional"`` (default): ambient light plus one directional light (Phong,
  small specular) fixed in the camera frame, its direction drawn per scene in a cone around the
  camera axis; shading makes the shape visible, as in photos. ``"ambient"``: flat texture colours.
- **Antialiasing.** The object is rasterised at ``supersample`` times the resolution and
  box-filtered, then composited over the background. Depth maps and masks are one sample at each
  pixel centre (a second rasterisation at the output resolution): ``depth`` is the camera depth
  ``-z_view`` of the nearest surface (the rasteriser's perspective-correct z-buffer), 0 on the
  background, and ``mask == depth > 0``.
- **Speed.** PyTorch3D's CPU rasteriser tests every face at every pixel, so faces turned away from
  the camera are dropped before rasterising (exact: the mesh is closed, so the first surface a ray
  meets always faces it); shading still uses the full mesh's vertex normals.
"""

from __future__ import annotations

import dataclasses
import hashlib
import operator
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from gan3dlib.data.synthetic_files import WriteResult, read_config, write_dataset
from gan3dlib.data.synthetic_objects import (
    SyntheticConfig,
    _check_int,
    sample_background,
    sample_light_direction,
    sample_shape,
    sample_texture,
    sphere_topology,
)
from gan3dlib.render.camera import PerspectiveCamera, ViewpointSampler, rotation_matrix
from gan3dlib.render.raster_pytorch3d import pytorch3d_available
from gan3dlib.render.renderer import RendererConfig
from gan3dlib.utils.checks import describe

__all__ = ["SyntheticConfig", "SyntheticObject", "SyntheticRender", "SyntheticScenes", "SyntheticImageDataset",
           "WriteResult", "read_config"]  # WriteResult and read_config: gan3dlib.data.synthetic_files

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
    """Generates, renders and writes the scenes of a [`SyntheticConfig`][gan3dlib.data.synthetic_objects.SyntheticConfig].

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
        _check_int(index, "index", 0, self.config.num_images - 1)
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

    def _front_faces(self, vertices: torch.Tensor, rotation: torch.Tensor) -> list[torch.Tensor]:
        """Per scene, the faces that face the camera (the others are never seen on a closed mesh)."""
        faces = self.topology.faces
        corners = vertices[:, faces]  # (B, F, 3, 3)
        normals = torch.cross(corners[:, :, 1] - corners[:, :, 0], corners[:, :, 2] - corners[:, :, 0], dim=-1)
        eye = self.config.camera.distance * rotation[:, 2, :]  # camera position in object space, R^T (0, 0, d)
        facing = (normals * (eye[:, None] - corners[:, :, 0])).sum(-1) > 0
        return [faces[keep] for keep in facing]

    def _meshes(self, vertices: torch.Tensor, rotation: torch.Tensor, textures: torch.Tensor | None = None) -> Any:
        from pytorch3d.renderer import TexturesUV
        from pytorch3d.structures import Meshes

        batch = vertices.shape[0]
        normals = Meshes(verts=vertices, faces=self.topology.faces.expand(batch, -1, -1)).verts_normals_padded()
        faces = self._front_faces(vertices, rotation)
        maps = None
        if textures is not None:
            maps = TexturesUV(maps=textures.permute(0, 2, 3, 1), faces_uvs=faces,
                              verts_uvs=list(self.topology.uvs.expand(batch, -1, -1)), align_corners=True)
        return Meshes(verts=list(vertices), faces=faces, textures=maps, verts_normals=list(normals))

    def _rasterize(self, meshes: Any, cameras: Any, size: int) -> Any:
        from pytorch3d.renderer import MeshRasterizer, RasterizationSettings

        # A tiny blur radius closes triangles: PyTorch3D's strict inside test leaves pixel centres that
        # lie exactly on a shared edge uncovered (cracks along the symmetric grids' diagonals at yaw 0).
        settings = RasterizationSettings(image_size=size, blur_radius=1e-12, faces_per_pixel=1, bin_size=0)
        return MeshRasterizer(cameras=cameras, raster_settings=settings)(meshes)

    def _depth(self, meshes: Any, rotation: torch.Tensor, size: int) -> torch.Tensor:
        """(B, 1, size, size) camera depth at the pixel centres (0 = background)."""
        camera = PerspectiveCamera((size, size), self.config.fov_degrees)
        fragments = self._rasterize(meshes, camera.to_pytorch3d(rotation), size)
        hit = fragments.pix_to_face[..., :1] >= 0
        return torch.where(hit, fragments.zbuf[..., :1], 0.0).permute(0, 3, 1, 2).contiguous()

    def render(self, indices: Sequence[int]) -> SyntheticRender:
        """Renders scenes with PyTorch3D (in chunks of ``config.batch_size``).

        Args:
            indices: B scene indices.

        Returns:
            [`SyntheticRender`][gan3dlib.data.synthetic.SyntheticRender] with images (B, 3, R, R), depth and mask (B, 1, R, R).
        """
        indices = [self._check_index(i) for i in indices]
        if not indices:
            raise ValueError("indices: expected at least one scene index, got an empty sequence")
        step = self.config.batch_size
        parts = [self._render_chunk(indices[k:k + step]) for k in range(0, len(indices), step)]
        fields = [f.name for f in dataclasses.fields(SyntheticRender)]
        return SyntheticRender(**{name: torch.cat([getattr(p, name) for p in parts]) for name in fields})

    def _lights(self, indices: list[int], rotation: torch.Tensor) -> Any:
        from pytorch3d.renderer import AmbientLights, DirectionalLights

        cfg = self.config
        ambient = torch.full((len(indices), 3), cfg.ambient)
        if cfg.lighting == "ambient":
            return AmbientLights(ambient_color=ambient)
        # PyTorch3D's world frame is our object frame: turn the camera-frame light by R^T.
        toward = torch.stack([self.light_direction(i) for i in indices])
        direction = (rotation.transpose(1, 2) @ toward[..., None])[..., 0]
        return DirectionalLights(ambient_color=ambient, diffuse_color=torch.full_like(ambient, cfg.diffuse),
                                 specular_color=torch.full_like(ambient, cfg.specular), direction=direction)

    def _render_chunk(self, indices: list[int]) -> SyntheticRender:
        from pytorch3d.renderer import HardPhongShader, Materials

        cfg, size, ss = self.config, self.config.resolution, self.config.supersample
        objects = [self.object(i) for i in indices]
        vertices = torch.stack([o.vertices for o in objects])
        yaw = torch.tensor([o.yaw for o in objects], dtype=torch.float32)
        pitch = torch.tensor([o.pitch for o in objects], dtype=torch.float32)
        rotation = rotation_matrix(yaw, pitch)
        meshes = self._meshes(vertices, rotation, torch.stack([o.texture for o in objects]))
        cameras = PerspectiveCamera((size * ss,) * 2, cfg.fov_degrees).to_pytorch3d(rotation)
        fragments = self._rasterize(meshes, cameras, size * ss)
        shader = HardPhongShader(cameras=cameras, lights=self._lights(indices, rotation),
                                 materials=Materials(shininess=cfg.shininess))
        shaded = shader(fragments, meshes)  # (B, sR, sR, 4)
        covered = (fragments.pix_to_face[..., 0] >= 0).to(torch.float32)[:, None]  # (B, 1, sR, sR)
        colour = F.avg_pool2d(shaded[..., :3].permute(0, 3, 1, 2).clamp(0, 1) * covered, ss)
        coverage = F.avg_pool2d(covered, ss)
        backgrounds = torch.stack([self.background(i) for i in indices])
        images = (colour + (1 - coverage) * backgrounds).clamp(0, 1)
        depth = self._depth(meshes, rotation, size)
        return SyntheticRender(images=images.contiguous(), depth=depth, mask=depth > 0, yaw=yaw, pitch=pitch)

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
        (tested), so the ground truth of the 3D metrics exists wherever gan3dlib runs.
        """
        size = self.config.resolution if resolution is None else resolution
        _check_int(size, "resolution", 1, 4096)
        rotation = rotation_matrix(torch.as_tensor(yaw, dtype=torch.float32).reshape(-1),
                                   torch.as_tensor(pitch, dtype=torch.float32).reshape(-1))
        if vertices.ndim != 3 or vertices.shape[0] != rotation.shape[0]:
            raise ValueError(f"vertices: expected ({rotation.shape[0]}, V, 3) for {rotation.shape[0]} viewpoints, "
                             f"got {describe(vertices)}")
        if not pytorch3d_available():
            return self._own_depth(vertices.float(), rotation, size)
        return self._depth(self._meshes(vertices.float(), rotation), rotation, size)

    def write(self, folder: str | os.PathLike[str], progress: Callable[[int, int], None] | None = None,
              ground_truth: bool = True) -> WriteResult:
        """Writes the dataset to ``folder`` ([`write_dataset`][gan3dlib.data.synthetic_files.write_dataset])."""
        return write_dataset(self, folder, progress, ground_truth)

    def _own_depth(self, vertices: torch.Tensor, rotation: torch.Tensor, size: int) -> torch.Tensor:
        """``mesh_depth`` by gan3dlib's renderer (torch backend, crisp depth)."""
        camera = PerspectiveCamera((size, size), self.config.fov_degrees)
        renderer = RendererConfig(image_size=(size, size), backend="torch").build("cpu")
        return renderer(camera.project(vertices, rotation), self.topology.faces).depth

class SyntheticImageDataset(torch.utils.data.Dataset):
    """The images of a synthetic dataset as a ``torch.utils.data.Dataset``, rendered on the fly.

    Items are (3, R, R) float32 in [-1, 1]. With ``quantize`` (default) they are first rounded to
    8 bits (``uint8 / 127.5 - 1``), exactly what [`ImageDataset`][gan3dlib.data.ImageDataset] reads from the
    folder [`SyntheticScenes.write`][gan3dlib.data.synthetic.SyntheticScenes.write] produces. ``__getitems__`` renders a whole batch at once
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
