"""Kaolin-compatible API: Kaolin's names, signatures, defaults and tensor layouts (Kaolin 0.18).

The modules mirror Kaolin's layout:

- [`rasterization`][gan3dlib.compat.kaolin.rasterization]: ``kaolin.render.mesh``'s ``rasterize``
  and ``dibr_rasterization``, and the new ``soft_rasterize`` (the paper's soft extension).
- [`dibr`][gan3dlib.compat.kaolin.dibr]: ``kaolin.render.mesh.dibr_soft_mask``.
- [`utils`][gan3dlib.compat.kaolin.utils]: ``kaolin.render.mesh``'s ``texture_mapping`` and
  ``prepare_vertices``.
- [`camera`][gan3dlib.compat.kaolin.camera]: the legacy ``kaolin.render.camera`` functions.
- ``kaolin.ops.mesh``'s ``index_vertices_by_faces`` and ``face_normals`` live in
  [`gan3dlib.ops.mesh`][gan3dlib.ops.mesh] and are re-exported here.

Every Kaolin-named function above is also available
here (``from gan3dlib.compat import kaolin as K; K.rasterize(...)``); the submodules are imported
on first use, so importing this package stays light. Kaolin itself is never imported.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public name -> the submodule that defines it (relative to this package).
_EXPORTS = {
    "rasterize": "rasterization",
    "soft_rasterize": "rasterization",
    "dibr_rasterization": "rasterization",
    "dibr_soft_mask": "dibr",
    "texture_mapping": "utils",
    "prepare_vertices": "utils",
    "generate_perspective_projection": "camera",
    "generate_rotate_translate_matrices": "camera",
    "generate_transformation_matrix": "camera",
    "rotate_translate_points": "camera",
    "perspective_camera": "camera",
}
_OPS = ("index_vertices_by_faces", "face_normals")

__all__ = [*_EXPORTS, *_OPS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    elif name in _OPS:
        value = getattr(importlib.import_module("gan3dlib.ops.mesh"), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
