"""Presets: the paper's models (FFHQ faces, LSUN cars and buses), its ablations, and a tiny CPU model.

[`scene_config`][gan3dlib.presets.scene_config] assembles a [`SceneConfig`][gan3dlib.scene.SceneConfig] from the few
numbers that matter (the generators' resolutions and channel counts, the renderer's and camera's
image size and the shape grid follow from ``resolution`` and are left for the scene to derive). The
named presets are thin wrappers:

- ``ffhq``: 128², sphere s0 (r = 0.5), soft renderer, size constraint s_max = 1.3, K = 4 pyramid,
  yaw ±45°, pitch ±15°, 8-layer mapping (the paper's FULL model);
- ``lsun_car``: as ``ffhq`` but a flat-sheet s0 and no size constraint;
- ``lsun_bus``: the same as ``lsun_car`` (the paper trains one model per category);
- ``tiny_cpu``: 32², small networks (2-layer mapping, 64-d latents, few channels), trains on 2 CPU
  cores.

Ablations ([`ablation`][gan3dlib.presets.ablation]), applied to any scene config (everything else of it is kept): ``CRISP`` (crisp renderer, no size constraint,
no pyramid), ``SOFT`` (soft renderer only), ``SIZE`` (+ size constraint), ``FULL`` (+ pyramid),
``VIEW`` (FULL with yaw ±120°), ``CAR``/``BUS`` (FULL with a sheet s0, no size constraint).
"""

from __future__ import annotations

from typing import Literal

from gan3dlib.config import replace_nested
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
    "scene_config",
    "ffhq",
    "lsun_car",
    "lsun_bus",
    "tiny_cpu",
    "ablation",
    "ABLATIONS",
    "PRESETS",
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
    """A scene config from the settings a user actually chooses (defaults: the paper's FFHQ model).

    Returns:
        [`SceneConfig`][gan3dlib.scene.SceneConfig]; its sizes are derived from ``resolution`` when it is built.
    """
    shape = ObjectShapeConfig(
        grid_size=None,
        init=init,
        shape_scale=shape_scale,
        use_pyramid=use_pyramid,
        pyramid=ShapePyramidConfig(levels=pyramid_levels),
        use_size_constraint=use_size_constraint,
        s_max=s_max,
        symmetric=symmetric,
    )

    def stylegan() -> GeneratorConfig:
        return GeneratorConfig(
            mapping=MappingConfig(z_dim=z_dim, w_dim=z_dim, num_layers=mapping_layers),
            synthesis=SynthesisConfig(
                resolution=None,
                out_channels=None,
                w_dim=z_dim,
                channel_base=channel_base,
                channel_max=channel_max,
                block_type=block_type,
            ),
        )

    return SceneConfig(
        resolution=resolution,
        object_generator=stylegan(),
        background_generator=stylegan(),
        shape=shape,
        renderer=RendererConfig(image_size=None, blur_px=blur_px, mode=renderer_mode),
        camera=PerspectiveCamera(image_size=None, fov_degrees=fov_degrees),
        viewpoints=ViewpointSampler(yaw_range_degrees=yaw_range_degrees, pitch_range_degrees=pitch_range_degrees),
        background_crop=BackgroundCropConfig(),
        shading=ShadingConfig(mode=shading, light_cone_degrees=light_cone_degrees),
    )


def ffhq() -> SceneConfig:
    """The paper's FULL face model: FFHQ at 128²."""
    return scene_config()


def lsun_car() -> SceneConfig:
    """The paper's LSUN car model: sheet s0, no size constraint."""
    return scene_config(init="sheet", use_size_constraint=False)


def lsun_bus() -> SceneConfig:
    """The paper's LSUN bus model (same settings as the car model)."""
    return lsun_car()


def tiny_cpu() -> SceneConfig:
    """A 32² model small enough to train on 2 CPU cores in minutes."""
    return scene_config(32, z_dim=64, mapping_layers=2, channel_base=512, channel_max=64, pyramid_levels=3)


PRESETS = {"ffhq": ffhq, "lsun_car": lsun_car, "lsun_bus": lsun_bus, "tiny_cpu": tiny_cpu}

# What each ablation sets (FULL's values first, so every ablation starts from FULL): field paths of a
# SceneConfig and their values.
_FULL = {"renderer.mode": "soft", "shape.use_size_constraint": True, "shape.use_pyramid": True, "shape.init": "sphere"}
_SWITCHES: dict[str, dict] = {
    "CRISP": {"renderer.mode": "crisp", "shape.use_size_constraint": False, "shape.use_pyramid": False},
    "SOFT": {"shape.use_size_constraint": False, "shape.use_pyramid": False},
    "SIZE": {"shape.use_pyramid": False},
    "FULL": {},
    "VIEW": {"viewpoints.yaw_range_degrees": (-120.0, 120.0)},
    "CAR": {"shape.init": "sheet", "shape.use_size_constraint": False},
    "BUS": {"shape.init": "sheet", "shape.use_size_constraint": False},
}


def ablation(base: SceneConfig, name: Ablation) -> SceneConfig:
    """One of the paper's ablations (Table 2) on top of ``base``.

    The ablations differ from FULL only in the renderer mode, the size constraint, the pyramid,
    the yaw range (VIEW) and s0; every other setting of ``base`` (resolution, networks, camera,
    band, viewpoints, sphere radius, background crop, shading...) is kept.

    Args:
        base: a [`SceneConfig`][gan3dlib.scene.SceneConfig].
        name: ``'CRISP'``, ``'SOFT'``, ``'SIZE'``, ``'FULL'``, ``'VIEW'``, ``'CAR'`` or ``'BUS'``.

    Returns:
        The ablation's [`SceneConfig`][gan3dlib.scene.SceneConfig].
    """
    if name not in _SWITCHES:
        raise ValueError(f"name: expected one of {list(ABLATIONS)}, got {name!r}")
    if not isinstance(base, SceneConfig):
        raise ValueError(f"base: expected a SceneConfig, got {type(base).__name__}")
    return replace_nested(base, {**_FULL, **_SWITCHES[name]})
