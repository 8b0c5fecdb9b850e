"""Mesh operations with Kaolin's names, signatures and layouts (``kaolin.ops.mesh``).

Layouts (``docs/conventions.md``): vertices ``(B, V, 3)``, faces ``(F, 3)`` shared by the batch,
face-vertex features ``(B, F, 3, D)``. Face normals are ``cross(v1 - v0, v2 - v0)`` and point
outwards for faces that are counter-clockwise seen from outside.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gan3dlib.utils.checks import check_faces, check_tensor

__all__ = ["index_vertices_by_faces", "face_normals", "vertex_normals", "stretch_depth"]

_INDEX_DTYPES = (torch.int64, torch.int32)
_NORM_EPS = 1e-12


def _unit(x: torch.Tensor) -> torch.Tensor:
    """Normalises the last dim; vectors shorter than 1e-12 are divided by 1e-12 instead, so a
    zero vector stays zero (no NaN in forward or backward)."""
    return F.normalize(x, dim=-1, eps=_NORM_EPS)


def index_vertices_by_faces(vertices_features: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Gathers per-vertex features for every face corner (``kaolin.ops.mesh``).

    Args:
        vertices_features: ``(B, V, D)`` per-vertex features (positions, UVs, colours, ...).
        faces: ``(F, S)`` int64 or int32 vertex indices in ``[0, V)``, shared by the batch
            (``S = 3`` for triangles, any ``S`` works).

    Returns:
        ``(B, F, S, D)`` tensor whose entry ``[b, f, s]`` is
        ``vertices_features[b, faces[f, s]]``. Differentiable with respect to
        ``vertices_features``.

    Raises:
        ValueError: naming ``vertices_features`` or ``faces`` if either has the wrong rank or
            dtype, they sit on different devices, or an index is outside ``[0, V)``.
    """
    check_tensor(vertices_features, "vertices_features", (None, None, None))
    check_tensor(
        faces, "faces", (None, None), dtypes=_INDEX_DTYPES, device=vertices_features.device
    )
    v = vertices_features.shape[1]
    if faces.numel() > 0:
        lo, hi = int(faces.min()), int(faces.max())
        if lo < 0 or hi >= v:
            raise ValueError(
                f"faces: expected vertex indices in [0, {v}) (V of vertices_features), "
                f"got indices in [{lo}, {hi}]"
            )
    return _gather(vertices_features, faces)


def _gather(vertices_features: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Unchecked core of [`index_vertices_by_faces`][gan3dlib.ops.mesh.index_vertices_by_faces]: (B, V, D), (F, S) -> (B, F, S, D)."""
    b, _, d = vertices_features.shape
    n_faces, s = faces.shape
    gathered = vertices_features.index_select(1, faces.reshape(-1).long())
    return gathered.view(b, n_faces, s, d)


def face_normals(face_vertices: torch.Tensor, unit: bool = False) -> torch.Tensor:
    """Normals of triangles given by their corner positions (``kaolin.ops.mesh``).

    Computes ``cross(v1 - v0, v2 - v0)``: its length is twice the triangle area and it points to
    the side from which the corners ``v0, v1, v2`` appear counter-clockwise.

    Args:
        face_vertices: ``(B, F, 3, 3)`` floating tensor, corner ``k`` of face ``f`` at
            ``[b, f, k]``.
        unit: if True, normalise the normals to unit length. Unlike Kaolin, a degenerate
            (zero-area) face gets a zero normal instead of NaN.

    Returns:
        ``(B, F, 3)`` face normals.

    Raises:
        ValueError: naming ``face_vertices`` if it is not a floating ``(B, F, 3, 3)`` tensor.
    """
    check_tensor(face_vertices, "face_vertices", (None, None, 3, 3), floating=True)
    v0, v1, v2 = face_vertices.unbind(dim=-2)
    normals = torch.linalg.cross(v1 - v0, v2 - v0, dim=-1)
    return _unit(normals) if unit else normals


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor, unit: bool = True) -> torch.Tensor:
    """Area-weighted vertex normals.

    Each vertex gets the sum of the unnormalised normals ``cross(v1 - v0, v2 - v0)`` of the faces
    that use it (each face counted once per corner that references the vertex), so larger faces
    weigh more.

    Args:
        vertices: ``(B, V, 3)`` floating vertex positions.
        faces: ``(F, 3)`` int64 or int32 vertex indices in ``[0, V)``, shared by the batch.
        unit: if True, normalise to unit length. Vertices used by no face (or whose normals
            cancel) get a zero normal, never NaN.

    Returns:
        ``(B, V, 3)`` vertex normals.

    Raises:
        ValueError: naming ``vertices`` if it is not a floating ``(B, V, 3)`` tensor, or
            ``faces`` if it is not a non-empty ``(F, 3)`` integer tensor on the same device with
            indices in ``[0, V)``.
    """
    check_tensor(vertices, "vertices", (None, None, 3), floating=True)
    check_faces(faces, vertices.shape[1])
    check_tensor(faces, "faces", (None, 3), device=vertices.device)
    b, v, _ = vertices.shape
    v0, v1, v2 = _gather(vertices, faces).unbind(dim=-2)  # (B, F, 3) each
    normals = torch.linalg.cross(v1 - v0, v2 - v0, dim=-1)  # (B, F, 3)
    src = normals.unsqueeze(2).expand(b, faces.shape[0], 3, 3).reshape(b, -1, 3)
    out = vertices.new_zeros(b, v, 3).index_add(1, faces.reshape(-1).long(), src)
    return _unit(out) if unit else out


def stretch_depth(vertices: torch.Tensor, scale: float, used: torch.Tensor | None = None) -> torch.Tensor:
    """Stretches meshes by ``scale`` along object-space z about the middle of each one's z extent.

    1 keeps the mesh, 0.5 halves its depth, -1 mirrors it in depth (the hollow-mask copy: its faces
    then wind the other way, so flip them, ``faces[:, [0, 2, 1]]``, to keep normals outwards).

    Args:
        vertices: (B, V, 3) vertex positions.
        scale: the factor along z.
        used: optional (V,) bool, the vertices that belong to the mesh (the extent is taken over them).

    Returns:
        (B, V, 3) stretched vertices; x and y unchanged.
    """
    z = vertices[..., 2] if used is None else vertices[..., used, 2]
    middle = (z.amax(-1) + z.amin(-1)) / 2  # (B,)
    centre = torch.stack([torch.zeros_like(middle), torch.zeros_like(middle), middle], dim=-1)[:, None]
    return (vertices - centre) * vertices.new_tensor([1.0, 1.0, scale]) + centre
