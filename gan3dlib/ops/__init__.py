"""Kaolin-named tensor operations."""

from __future__ import annotations

from gan3dlib.ops.mesh import face_normals, index_vertices_by_faces, stretch_depth, vertex_normals

__all__ = ["index_vertices_by_faces", "face_normals", "vertex_normals", "stretch_depth"]
