"""Presets: the paper's models (FFHQ faces, LSUN cars and buses), its ablations, and a tiny CPU model.

[`scene_config`][gan3dlib.presets.scene_config] assembles a consistent [`SceneConfig`][gan3dlib.scene.SceneConfig] from the few
numbers that matter (the generators' resolutions and channel counts follow from ``resolution`` and
the shape settings). The named presets are thin wrappers:

- ``ffhq``: 128², sphere s0 (r = 0.5), soft renderer, size constraint s_max = 1.3, K = 4 pyramid,
  yaw ±45°, pitch ±15°, 8-layer mapping (the paper's FULL model);
- ``lsun_car``: as ``ffhq`` but a flat-sheet s0 and no size constraint;
- ``lsun_bus``: the same as ``lsun_car`` (the paper trains one model per category);
- ``tiny_cpu``: 32², small networks (2-layer mapping, 64-d latents, few channels), trains on 2 CPU
  cores.

[`SceneSpec`][gan3dlib.presets.SceneSpec] holds the same few numbers as a config dataclass, for command lines:
``--model.resolution 64`` on a spec changes the generators' resolutions with it, which a single
field of the detailed [`SceneConfig`][gan3dlib.scene.SceneConfig] cannot (it is consistency-checked).

Ablations ([`ablation`][gan3dlib.presets.ablation]), applied to any base: ``CRISP`` (crisp renderer, no size constraint,
no pyramid), ``SOFT`` (soft renderer only), ``SIZE`` (+ size constraint), ``FULL`` (+ pyramid),
``VIEW`` (FULL with yaw ±120°), ``CAR``/``BUS`` (FULL with a sheet s0, no size constraint).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from gan3dlib.nets.generator import GeneratorConfig
from gan3dlib.nets.mapping import MappingConfig
from gan3dlib.nets.synthesis import SynthesisConfig
from gan3dlib.render.camera import PerspectiveCamera, ViewpointSampler
from gan3dlib.render.renderer import RendererConfig
from gan3dlib.render.shading import ShadingConfig
from gan3dlib.scene.background import BackgroundCropConfig
from gan3dlib.scene.generator import SceneConfig
from gan3dlib.shape.object_shape import ObjectShapeConfig
from gan3dlib.shape.pyramid import ShapePyramidConfig

__all__ = [
    "SceneSpec",
    "scene_config",
    "ffhq",
    "lsun_car",
    "lsun_bus",
    "tiny_cpu",
    "ablation",
    "ABLATIONS",
    "PRESETS",
    "PRESET_SPECS",
]

Ablation = Literal["CRISP", "SOFT", "SIZE", "FULL", "VIEW", "CAR", "BUS"]
ABLATIONS: tuple[str, ...] = ("CRISP", "SOFT", "SIZE", "FULL", "VIEW", "CAR", "BUS")


def scene_config(
    resolution: int = 128,
    *,
    z_dim: int = 512,
    mapping_layers: int = 8,
    channel_base: int = 16384,
    channel_max: int = 512,
    block_type: Literal["stylegan2", "adain"] = "stylegan2",
    init: Literal["sphere", "sheet"] = "sphere",
    use_pyramid: bool = True,
    pyramid_levels: int = 4,
    use_size_constraint: bool = True,
    s_max: float = 1.3,
    renderer_mode: Literal["soft", "crisp"] = "soft",
    blur_px: float = 1.0,
    yaw_range_degrees: tuple[float, float] = (-45.0, 45.0),
    pitch_range_degrees: tuple[float, float] = (-15.0, 15.0),
    fov_degrees: float = 30.0,
    shape_scale: float = 0.002,
    symmetric: bool = False,
    shading: Literal["none", "lambertian"] = "none",
    light_cone_degrees: float = 60.0,
) -> SceneConfig:
    """A consistent scene config from the settings a user actually chooses.

    Returns:
        [`SceneConfig`][gan3dlib.scene.SceneConfig] with both generators at ``2 * resolution``.
    """
    if isinstance(resolution, bool) or not isinstance(resolution, int) or resolution < 2 or resolution & (resolution - 1):
        raise ValueError(f"resolution: expected a power of two >= 2 (the generators work at 2 x resolution), "
                         f"got {resolution!r}")
    if shading not in ("none", "lambertian"):
        raise ValueError(f"shading: expected 'none' or 'lambertian', got {shading!r}")
    shape = ObjectShapeConfig(
        grid_size=resolution,
        init=init,
        shape_scale=shape_scale,
        use_pyramid=use_pyramid,
        pyramid=ShapePyramidConfig(levels=pyramid_levels),
        use_size_constraint=use_size_constraint,
        s_max=s_max,
        symmetric=symmetric,
    )

    def stylegan(out_channels: int) -> GeneratorConfig:
        return GeneratorConfig(
            mapping=MappingConfig(z_dim=z_dim, w_dim=z_dim, num_layers=mapping_layers),
            synthesis=SynthesisConfig(
                resolution=2 * resolution,
                out_channels=out_channels,
                w_dim=z_dim,
                channel_base=channel_base,
                channel_max=channel_max,
                block_type=block_type,
            ),
        )

    return SceneConfig(
        resolution=resolution,
        object_generator=stylegan(shape.generator_channels + 3),
        background_generator=stylegan(3),
        shape=shape,
        renderer=RendererConfig(image_size=(resolution, resolution), blur_px=blur_px, mode=renderer_mode),
        camera=PerspectiveCamera(image_size=(resolution, resolution), fov_degrees=fov_degrees),
        viewpoints=ViewpointSampler(yaw_range_degrees=yaw_range_degrees, pitch_range_degrees=pitch_range_degrees),
        background_crop=BackgroundCropConfig(),
        shading=ShadingConfig(mode=shading, light_cone_degrees=light_cone_degrees),
    )


@dataclasses.dataclass(frozen=True)
class SceneSpec:
    """The high-level knobs of a scene generator; [`scene_config`][gan3dlib.presets.SceneSpec.scene_config] expands them.

    Fields are the arguments of [`scene_config`][gan3dlib.presets.scene_config] (same names, same defaults: the paper's FFHQ
    model). Validated at construction by expanding them.
    """

    resolution: int = 128
    z_dim: int = 512
    mapping_layers: int = 8
    channel_base: int = 16384
    channel_max: int = 512
    block_type: Literal["stylegan2", "adain"] = "stylegan2"
    init: Literal["sphere", "sheet"] = "sphere"
    use_pyramid: bool = True
    pyramid_levels: int = 4
    use_size_constraint: bool = True
    s_max: float = 1.3
    renderer_mode: Literal["soft", "crisp"] = "soft"
    blur_px: float = 1.0
    yaw_range_degrees: tuple[float, float] = (-45.0, 45.0)
    pitch_range_degrees: tuple[float, float] = (-15.0, 15.0)
    fov_degrees: float = 30.0
    shape_scale: float = 0.002
    symmetric: bool = False
    shading: Literal["none", "lambertian"] = "none"
    light_cone_degrees: float = 60.0

    def __post_init__(self) -> None:
        self.scene_config()  # raises ValueError naming the offending setting

    def scene_config(self) -> SceneConfig:
        """The detailed, consistent [`SceneConfig`][gan3dlib.scene.SceneConfig]."""
        settings = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return scene_config(**settings)

    def build(self):
        """Makes the [`SceneGenerator`][gan3dlib.scene.SceneGenerator]."""
        return self.scene_config().build()


PRESET_SPECS: dict[str, SceneSpec] = {
    "ffhq": SceneSpec(),
    "lsun_car": SceneSpec(init="sheet", use_size_constraint=False),
    "lsun_bus": SceneSpec(init="sheet", use_size_constraint=False),
    "tiny_cpu": SceneSpec(32, z_dim=64, mapping_layers=2, channel_base=512, channel_max=64, pyramid_levels=3),
}


def ffhq() -> SceneConfig:
    """The paper's FULL face model: FFHQ at 128²."""
    return PRESET_SPECS["ffhq"].scene_config()


def lsun_car() -> SceneConfig:
    """The paper's LSUN car model: sheet s0, no size constraint."""
    return PRESET_SPECS["lsun_car"].scene_config()


def lsun_bus() -> SceneConfig:
    """The paper's LSUN bus model (same settings as the car model)."""
    return PRESET_SPECS["lsun_bus"].scene_config()


def tiny_cpu() -> SceneConfig:
    """A 32² model small enough to train on 2 CPU cores in minutes."""
    return PRESET_SPECS["tiny_cpu"].scene_config()


PRESETS = {"ffhq": ffhq, "lsun_car": lsun_car, "lsun_bus": lsun_bus, "tiny_cpu": tiny_cpu}

_SWITCHES: dict[str, dict] = {
    "CRISP": dict(renderer_mode="crisp", use_size_constraint=False, use_pyramid=False),
    "SOFT": dict(use_size_constraint=False, use_pyramid=False),
    "SIZE": dict(use_pyramid=False),
    "FULL": dict(),
    "VIEW": dict(yaw_range_degrees=(-120.0, 120.0)),
    "CAR": dict(init="sheet", use_size_constraint=False),
    "BUS": dict(init="sheet", use_size_constraint=False),
}


def ablation(base: SceneConfig | SceneSpec, name: Ablation) -> SceneConfig | SceneSpec:
    """One of the paper's ablations (Table 2) on top of ``base``'s networks and resolution.

    The ablations differ from FULL only in the renderer mode, the size constraint, the pyramid,
    the yaw range and s0; everything else (resolution, networks, camera, band) comes from ``base``.

    Args:
        base: a [`SceneSpec`][gan3dlib.presets.SceneSpec] (returns a spec) or a [`SceneConfig`][gan3dlib.scene.SceneConfig]
            (returns a config; its background crop is kept too).
        name: ``'CRISP'``, ``'SOFT'``, ``'SIZE'``, ``'FULL'``, ``'VIEW'``, ``'CAR'`` or ``'BUS'``.

    Returns:
        The ablation, of the same type as ``base``.
    """
    if name not in _SWITCHES:
        raise ValueError(f"name: expected one of {list(ABLATIONS)}, got {name!r}")
    full = dict(renderer_mode="soft", use_size_constraint=True, use_pyramid=True, init="sphere")
    if isinstance(base, SceneSpec):
        return dataclasses.replace(base, **{**full, **_SWITCHES[name]})
    mapping = base.object_generator.mapping
    synthesis = base.object_generator.synthesis
    spec = SceneSpec(
        resolution=base.resolution,
        z_dim=mapping.z_dim,
        mapping_layers=mapping.num_layers,
        channel_base=synthesis.channel_base,
        channel_max=synthesis.channel_max,
        block_type=synthesis.block_type,
        pyramid_levels=base.shape.pyramid.levels,
        s_max=base.shape.s_max,
        blur_px=base.renderer.blur_px,
        yaw_range_degrees=(-45.0, 45.0),
        pitch_range_degrees=base.viewpoints.pitch_range_degrees,
        fov_degrees=base.camera.fov_degrees,
        shape_scale=base.shape.shape_scale,
    )
    config = ablation(spec, name).scene_config()
    return dataclasses.replace(config, background_crop=base.background_crop)
