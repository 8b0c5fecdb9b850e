"""The scene generator (paper §3, §6–7): latents and a viewpoint in, a rendered image out.

``(z_obj, z_bg, viewpoint) -> mesh (vertices, faces, UVs) + texture + background -> image``:

1. the object StyleGAN paints, at 2N x 2N, K shape images and the texture (3K + 3 channels);
2. [`ObjectShape`][gan3dlib.shape.ObjectShape] turns the shape channels into the N x N shape image
   (downsample, scale, pyramid, + s0, size constraint), i.e. the vertices of the mesh grid;
3. the background StyleGAN paints a 2N x 2N background, cropped to N x N at random;
4. the object is rotated to the viewpoint (sampled from the configured ranges when not given) and
   rendered by the soft-extension renderer in float32 over the background crop.

Every ablation of the paper is a config switch: renderer mode (CRISP), ``shape.use_size_constraint``
(SIZE), ``shape.use_pyramid`` (FULL), ``viewpoints`` ranges (VIEW), ``shape.init`` (CAR, BUS); the
network type is ``*_generator.synthesis.block_type``. See [`gan3dlib.presets`][gan3dlib.presets].
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from gan3dlib.config import replace_nested
from gan3dlib.hub import PretrainedMixin
from gan3dlib.mesh.export import export_mesh
from gan3dlib.mesh.grid import build_mesh_grid
from gan3dlib.nets.generator import Generator, GeneratorConfig
from gan3dlib.nets.layers import check_power_of_two
from gan3dlib.nets.mapping import MappingConfig
from gan3dlib.nets.synthesis import SynthesisConfig
from gan3dlib.ops.mesh import vertex_normals as compute_vertex_normals
from gan3dlib.render.camera import PerspectiveCamera, ViewpointSampler
from gan3dlib.render.renderer import RendererConfig, RenderOutput, SoftExtensionRenderer
from gan3dlib.render.shading import ShadingConfig, shade_and_composite
from gan3dlib.scene.background import BackgroundCrop, BackgroundCropConfig
from gan3dlib.shape.object_shape import ObjectShape, ObjectShapeConfig
from gan3dlib.utils.checks import check_positive, check_tensor, describe

__all__ = ["SceneConfig", "SceneGenerator", "SceneOutput"]


def _scene_generator() -> GeneratorConfig:
    """A StyleGAN whose output size and channels the scene sets (the paper's networks otherwise)."""
    return GeneratorConfig(mapping=MappingConfig(), synthesis=SynthesisConfig(resolution=None, out_channels=None))


@dataclass(frozen=True)
class SceneConfig:
    """Everything that defines a scene generator (defaults: the paper's FFHQ model at 128²).

    Every size follows from ``resolution`` and is stored once: the nested configs leave theirs
    None and [`resolved`][gan3dlib.scene.generator.SceneConfig.resolved] fills them in when the generator is built,
    so ``--model.resolution 64`` changes all of them. A nested size that is given must agree
    (checked here).

    Attributes:
        resolution: N, the rendered image size and mesh grid size; both generators work at 2N.
        object_generator: StyleGAN for shape + texture (derived: ``synthesis.resolution = 2N``,
            ``synthesis.out_channels = 3K + 3``: K shape images, then RGB texture).
        background_generator: StyleGAN for the background (derived: ``resolution = 2N``, 3 channels).
        shape: shape assembly (derived: ``grid_size = N``).
        renderer: the soft-extension renderer (derived: ``image_size = (N, N)``).
        camera: the fixed camera (derived: ``image_size = (N, N)``).
        viewpoints: viewpoint distribution used when no viewpoint is given.
        background_crop: where the N x N window falls in the 2N x 2N background.
        grid_radius: radius of the disk of kept triangles (1: the inscribed circle).
        shading: how the texture is lit (``mode='none'``: the paper's unlit texture;
            ``'lambertian'``: the texture is an albedo shaded by a random directional light,
            [`gan3dlib.render.shading`][gan3dlib.render.shading]).
    """

    resolution: int = 128
    object_generator: GeneratorConfig = field(default_factory=_scene_generator)
    background_generator: GeneratorConfig = field(default_factory=_scene_generator)
    shape: ObjectShapeConfig = field(default_factory=lambda: ObjectShapeConfig(grid_size=None))
    renderer: RendererConfig = field(default_factory=lambda: RendererConfig(image_size=None))
    camera: PerspectiveCamera = field(default_factory=lambda: PerspectiveCamera(image_size=None))
    viewpoints: ViewpointSampler = field(default_factory=ViewpointSampler)
    background_crop: BackgroundCropConfig = field(default_factory=BackgroundCropConfig)
    grid_radius: float = 1.0
    shading: ShadingConfig = field(default_factory=ShadingConfig)

    def __post_init__(self) -> None:
        check_power_of_two(self.resolution, "resolution", minimum=2)
        check_positive(self.grid_radius, "grid_radius")
        sizes = self._derived_sizes()
        for name, (given, derived) in sizes.items():
            if given is not None and given != derived:
                raise ValueError(f"{name}: expected {derived} for resolution={self.resolution} (or None: "
                                 f"derived from it), got {given}")
        if any(given is None for given, _ in sizes.values()):
            self.resolved()  # the parts' own checks at the derived sizes (e.g. channel_base >= 2N)
        if self.background_generator.mapping.z_dim != self.z_dim:
            raise ValueError(f"background_generator.mapping.z_dim: expected the object generator's "
                             f"({self.z_dim}: latent pairs are drawn together), got {self.background_generator.mapping.z_dim}")

    @property
    def z_dim(self) -> int:
        """Width of both generators' latents."""
        return self.object_generator.mapping.z_dim

    def _derived_sizes(self) -> dict[str, tuple[object, object]]:
        """``{field path: (given value, value derived from resolution)}`` of every size."""
        n = self.resolution
        obj, bg = self.object_generator.synthesis, self.background_generator.synthesis
        return {
            "object_generator.synthesis.resolution": (obj.resolution, 2 * n),
            "object_generator.synthesis.out_channels": (obj.out_channels, self.shape.generator_channels + 3),
            "background_generator.synthesis.resolution": (bg.resolution, 2 * n),
            "background_generator.synthesis.out_channels": (bg.out_channels, 3),
            "shape.grid_size": (self.shape.grid_size, n),
            "renderer.image_size": (None if self.renderer.image_size is None else tuple(self.renderer.image_size),
                                    (n, n)),
            "camera.image_size": (None if self.camera.image_size is None else tuple(self.camera.image_size), (n, n)),
        }

    def resolved(self) -> SceneConfig:
        """This config with every derived size filled in (what the modules are built from)."""
        return replace_nested(self, {name: derived for name, (_, derived) in self._derived_sizes().items()})

    def build(self) -> SceneGenerator:
        """Makes the module."""
        return SceneGenerator(self)


@dataclass
class SceneOutput:
    """One batch of generated scenes.

    Attributes:
        image: (B, 3, N, N) rendered image over the background crop.
        shape_image: (B, 3, N, N) vertex positions in object space (before the viewpoint).
        vertices: (B, N², 3) the same as mesh vertices (unused grid vertices included, masked by
            ``SceneGenerator.grid.vertex_mask``).
        texture: (B, 3, 2N, 2N) UV texture (row 0 = v = 1).
        background: (B, 3, 2N, 2N) the full background.
        background_crop: (B, 3, N, N) the window behind the object.
        rotation: (B, 3, 3) the viewpoint's object rotation.
        render: the renderer's full output (alpha, depth, normals, face index...; ``image`` is
            ``image``).
        light: (B, 3) view-space directions towards the light with shading, else None.
    """

    image: torch.Tensor
    shape_image: torch.Tensor
    vertices: torch.Tensor
    texture: torch.Tensor
    background: torch.Tensor
    background_crop: torch.Tensor
    rotation: torch.Tensor
    render: RenderOutput
    light: torch.Tensor | None = None


class SceneGenerator(PretrainedMixin, nn.Module):
    """Object StyleGAN + background StyleGAN + shape assembly + renderer.

    Args:
        config: [`SceneConfig`][gan3dlib.scene.generator.SceneConfig].
    """

    config_class = SceneConfig

    def __init__(self, config: SceneConfig | None = None) -> None:
        super().__init__()
        self.config = (config or SceneConfig()).resolved()
        cfg = self.config
        self.object_generator = Generator(cfg.object_generator)
        self.background_generator = Generator(cfg.background_generator)
        self.grid = build_mesh_grid(cfg.resolution, radius=cfg.grid_radius)
        self.object_shape = ObjectShape(cfg.shape, vertex_mask=self.grid.vertex_mask)
        self.background_crop = BackgroundCrop(cfg.background_crop)
        self.register_buffer("faces", self.grid.faces, persistent=False)
        self.register_buffer("face_uvs", self.grid.face_uvs, persistent=False)
        self._renderers: dict[tuple[str, int | None], SoftExtensionRenderer] = {}

    def renderer_for(self, device: torch.device, resolution: int | None = None) -> SoftExtensionRenderer:
        """The renderer, built for ``device`` (``backend='auto'`` resolves per device type) and, when
        given, another image side than the scene's (same settings otherwise)."""
        key = (torch.device(device).type, resolution)
        if key not in self._renderers:
            config = self.config.renderer
            if resolution is not None:
                config = dataclasses.replace(config, image_size=(resolution, resolution))
            self._renderers[key] = config.build(key[0])
        return self._renderers[key]

    def render(
        self,
        vertices: torch.Tensor,
        rotation: torch.Tensor,
        *,
        texture: torch.Tensor | None = None,
        background: torch.Tensor | float | None = None,
        light: torch.Tensor | None = None,
        normals: bool = False,
        resolution: int | None = None,
    ) -> RenderOutput:
        """Renders meshes on this scene's grid: the one render path of the scene, its sample sheets and
        its evaluation.

        Projects with the scene's camera, renders in float32 whatever autocast is active (rasterizers
        reject half precision; depth tests and the exact-gradient shader need the range), and, with a
        ``light``, shades the texture as an albedo ([`gan3dlib.render.shading`][gan3dlib.render.shading]).

        Args:
            vertices: (B, N², 3) object-space vertices.
            rotation: (B, 3, 3) viewpoints.
            texture: (B, 3, 2N, 2N) UV texture (None: geometry only).
            background: (B, 3, H, W) image or (3,) colour behind the object (None: zeros).
            light: (B, 3) or (3,) view-space direction towards the light (None: unlit, the paper's).
            normals: also render the normal map (``normals``, view space).
            resolution: image side (default: the scene's); the camera keeps its field of view.

        Returns:
            [`RenderOutput`][gan3dlib.render.renderer.RenderOutput]; its ``image`` is the final, shaded
            composite.
        """
        camera = self.config.camera
        if resolution is not None:
            camera = dataclasses.replace(camera, image_size=(resolution, resolution))
        with torch.autocast(device_type=vertices.device.type, enabled=False):
            verts32, rotation32 = vertices.float(), rotation.float()
            screen = camera.project(verts32, rotation32)
            vertex_normals = None
            if normals or light is not None:
                vertex_normals = compute_vertex_normals(torch.einsum("bij,bvj->bvi", rotation32, verts32), self.faces)
            if isinstance(background, (int, float)):
                background = torch.full((3,), float(background), device=vertices.device)
            background = None if background is None else background.float()
            out = self.renderer_for(vertices.device, resolution)(
                screen, self.faces, texture=None if texture is None else texture.float(),
                face_uvs=None if texture is None else self.face_uvs.float(),
                background=None if light is not None else background, vertex_normals=vertex_normals,
            )
            if light is not None and out.image is not None:
                shading = self.config.shading
                behind = background if background is not None else torch.zeros(3, device=vertices.device)
                lit = light.float().expand(vertices.shape[0], 3)
                out = dataclasses.replace(out, image=shade_and_composite(
                    out.image, out.alpha, out.normals, behind, lit, shading.ambient, shading.diffuse))
        return out

    def forward(
        self,
        z_obj: torch.Tensor,
        z_bg: torch.Tensor,
        rotation: torch.Tensor | None = None,
        *,
        truncation_psi: float = 1.0,
        noise_mode: str = "random",
        generator: torch.Generator | None = None,
        vertex_normals: bool = False,
    ) -> SceneOutput:
        """Generates and renders a batch of scenes.

        Args:
            z_obj: (B, z_dim) object latents.
            z_bg: (B, z_dim) background latents (independent of the object's, paper §7).
            rotation: (B, 3, 3) object rotations (viewpoints); sampled from ``config.viewpoints``
                when None.
            truncation_psi: StyleGAN truncation of both generators (1: off).
            noise_mode: ``'random'``, ``'const'`` or ``'none'``.
            generator: optional ``torch.Generator`` for every random draw (style mixing, noise,
                viewpoints, background crops), making the output deterministic.
            vertex_normals: also render a normal map (``render.normals``).

        Returns:
            [`SceneOutput`][gan3dlib.scene.generator.SceneOutput].
        """
        cfg = self.config
        check_tensor(z_obj, "z_obj", ("B", cfg.object_generator.mapping.z_dim), floating=True)
        batch = z_obj.shape[0]
        check_tensor(z_bg, "z_bg", (batch, cfg.background_generator.mapping.z_dim), floating=True)
        if rotation is None:
            rotation = self.config.viewpoints.sample_rotations(batch, generator=generator, device=z_obj.device)
        check_tensor(rotation, "rotation", (batch, 3, 3), floating=True)

        raw = self.object_generator(z_obj, truncation_psi=truncation_psi, noise_mode=noise_mode, generator=generator)
        shape_channels = cfg.shape.generator_channels
        shape_image = self.object_shape(raw[:, :shape_channels])
        texture = raw[:, shape_channels:]
        background = self.background_generator(z_bg, truncation_psi=truncation_psi, noise_mode=noise_mode, generator=generator)
        crop = self.background_crop(background, (cfg.resolution, cfg.resolution), generator=generator)

        vertices = self.grid.shape_image_to_vertices(shape_image)
        light = cfg.shading.sample_lights(batch, generator, z_obj.device) if cfg.shading.enabled else None
        render = self.render(vertices, rotation, texture=texture, background=crop, light=light, normals=vertex_normals)
        return SceneOutput(
            image=render.image,
            shape_image=shape_image,
            vertices=vertices,
            texture=texture,
            background=background,
            background_crop=crop,
            rotation=rotation,
            render=render,
            light=light,
        )

    def export(
        self,
        output: SceneOutput,
        index: int,
        path: str | os.PathLike[str],
        format: str | None = None,
        value_range: tuple[float, float] = (-1.0, 1.0),
    ) -> list[Path]:
        """Exports sample ``index`` of ``output`` as a textured mesh (OBJ+MTL+PNG, GLB or PLY).

        The mesh is written in object space (canonical pose, before the viewpoint rotation), with
        the unused grid vertices dropped; the texture is mapped from ``value_range`` (the
        generator's image range, [-1, 1] for data normalised that way) to [0, 1] and clamped.

        Args:
            output: a [`SceneOutput`][gan3dlib.scene.generator.SceneOutput] of this generator.
            index: which sample of the batch.
            path: target file; its extension picks the format when ``format`` is None.
            format: ``'obj'``, ``'glb'`` or ``'ply'``.
            value_range: (low, high) of the texture values.

        Returns:
            The written paths.
        """
        batch = output.vertices.shape[0]
        if isinstance(index, bool) or not isinstance(index, int) or not -batch <= index < batch:
            raise ValueError(f"index: expected an int in [0, {batch}), got {describe(index)}")
        low, high = value_range
        if not high > low:
            raise ValueError(f"value_range: expected (low, high) with high > low, got {value_range!r}")
        texture = ((output.texture[index].detach().float() - low) / (high - low)).clamp(0.0, 1.0).cpu()
        return export_mesh(
            path,
            output.vertices[index].detach().float().cpu(),
            self.grid.faces.cpu(),
            format=format,
            uvs=self.grid.uvs.cpu(),
            texture=texture,
            vertex_mask=self.grid.vertex_mask.cpu(),
        )
