"""gan3dlib: generative models of textured 3D meshes learned from 2D photo collections.

Subpackages follow the pipeline: [`gan3dlib.nets`][gan3dlib.nets] (StyleGAN generator and discriminator),
[`gan3dlib.shape`][gan3dlib.shape] (shape pyramid, size constraint), [`gan3dlib.mesh`][gan3dlib.mesh] (shape-image mesh grid,
initial shapes, export), [`gan3dlib.ops`][gan3dlib.ops] (Kaolin-named mesh ops), [`gan3dlib.render`][gan3dlib.render]
(camera, rasterizers and the soft-extension renderer), [`gan3dlib.scene`][gan3dlib.scene] (the scene generator);
[`gan3dlib.presets`][gan3dlib.presets], [`gan3dlib.config`][gan3dlib.config] and [`gan3dlib.hub`][gan3dlib.hub] hold presets, config
serialisation and model sharing; [`gan3dlib.train`][gan3dlib.train] trains, [`gan3dlib.eval`][gan3dlib.eval] scores,
[`gan3dlib.experiments`][gan3dlib.experiments] runs the paper's ablations on the ground-truth benchmark.

The main entry points are importable from here: the scene generator and its configs and presets,
and ``TrainConfig``, ``train``, ``cpu_preset`` and ``paper_preset`` (imported on first use).
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"

from gan3dlib.mesh import MeshGrid, build_mesh_grid, sheet_shape_image, sphere_shape_image
from gan3dlib.presets import ablation, ffhq, lsun_bus, lsun_car, scene_config, tiny_cpu
from gan3dlib.render import (
    PerspectiveCamera,
    RendererConfig,
    SoftExtensionRenderer,
    ViewpointSampler,
)
from gan3dlib.scene import SceneConfig, SceneGenerator

__all__ = [
    "__version__",
    "MeshGrid",
    "build_mesh_grid",
    "sheet_shape_image",
    "sphere_shape_image",
    "PerspectiveCamera",
    "RendererConfig",
    "SoftExtensionRenderer",
    "ViewpointSampler",
    "SceneConfig",
    "SceneGenerator",
    "scene_config",
    "ablation",
    "ffhq",
    "lsun_car",
    "lsun_bus",
    "tiny_cpu",
    "TrainConfig",
    "train",
    "cpu_preset",
    "paper_preset",
]

# Training pulls in accelerate; these names import it only when first used.
_LAZY = {"TrainConfig": "gan3dlib.train.config", "train": "gan3dlib.train.loop",
         "cpu_preset": "gan3dlib.train.recipe", "paper_preset": "gan3dlib.train.recipe"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gan3dlib' has no attribute {name!r}")
