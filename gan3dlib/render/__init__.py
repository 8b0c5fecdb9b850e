"""Cameras, rasterizer backends and the soft-extension renderer (paper §5–6)."""

from __future__ import annotations

from gan3dlib.render.camera import (
    PerspectiveCamera,
    ViewpointSampler,
    canonical_views,
    rotation_matrix,
)
from gan3dlib.render.fragments import Fragments, RasterSettings
from gan3dlib.render.raster_pytorch3d import PyTorch3DRasterizer, pytorch3d_available, rasterize_pytorch3d
from gan3dlib.render.raster_torch import TorchRasterizer, rasterize_face_major
from gan3dlib.render.renderer import (
    RendererConfig,
    RenderOutput,
    SoftExtensionRenderer,
    SoftExtensionShader,
    default_backend,
    render,
)
from gan3dlib.render.texture import sample_texture

__all__ = [
    "PerspectiveCamera",
    "ViewpointSampler",
    "canonical_views",
    "rotation_matrix",
    "Fragments",
    "RasterSettings",
    "PyTorch3DRasterizer",
    "TorchRasterizer",
    "pytorch3d_available",
    "rasterize_pytorch3d",
    "rasterize_face_major",
    "RendererConfig",
    "RenderOutput",
    "SoftExtensionRenderer",
    "SoftExtensionShader",
    "default_backend",
    "render",
    "sample_texture",
]
