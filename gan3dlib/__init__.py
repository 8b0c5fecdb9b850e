"""gan3dlib: generative models of textured 3D meshes learned from 2D photo collections.

Subpackages follow the pipeline: :mod:`gan3dlib.mesh` (shape-image mesh grid and initial shapes),
:mod:`gan3dlib.ops` (Kaolin-named mesh ops), :mod:`gan3dlib.render` (camera, rasterizers and the
soft-extension renderer).
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"

from gan3dlib.mesh import MeshGrid, build_mesh_grid, sheet_shape_image, sphere_shape_image
from gan3dlib.render import (
    PerspectiveCamera,
    RendererConfig,
    SoftExtensionRenderer,
    ViewpointSampler,
)

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
]
