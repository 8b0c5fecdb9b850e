"""Shape-image mesh topology (paper §6) and initial shapes ``s0`` (paper §7)."""

from __future__ import annotations

from gan3dlib.mesh.export import export_glb, export_mesh, export_obj, export_ply, sample_vertex_colors
from gan3dlib.mesh.grid import (
    MeshGrid,
    build_mesh_grid,
    normalized_grid,
    shape_image_to_vertices,
    vertices_to_shape_image,
)
from gan3dlib.mesh.init_shapes import sheet_shape_image, sphere_shape_image

__all__ = [
    "export_glb",
    "export_mesh",
    "export_obj",
    "export_ply",
    "sample_vertex_colors",
    "MeshGrid",
    "build_mesh_grid",
    "normalized_grid",
    "shape_image_to_vertices",
    "vertices_to_shape_image",
    "sheet_shape_image",
    "sphere_shape_image",
]
