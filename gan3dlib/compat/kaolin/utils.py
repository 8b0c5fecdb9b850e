"""Kaolin's ``kaolin.render.mesh.utils``: ``texture_mapping`` and ``prepare_vertices``.

Same names, signatures, defaults, layouts and return order as Kaolin 0.18; re-exported by
[`gan3dlib.compat.kaolin.rasterization`][gan3dlib.compat.kaolin.rasterization].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gan3dlib.ops.mesh import face_normals, index_vertices_by_faces
from gan3dlib.compat.kaolin.camera import perspective_camera, rotate_translate_points
from gan3dlib.utils.checks import check_tensor, describe

__all__ = ["texture_mapping", "prepare_vertices"]

_TEXTURE_MODES = ("nearest", "bilinear", "bicubic")


def texture_mapping(texture_coordinates: torch.Tensor, texture_maps: torch.Tensor, mode: str = "nearest") -> torch.Tensor:
    """Kaolin's ``texture_mapping``: samples channel-first textures at uv coordinates.

    uv are clamped to [0, 1] (u right, v up), mapped to the grid ``(2u - 1, -(2v - 1))`` and sampled
    with ``F.grid_sample(mode=mode, align_corners=False, padding_mode='border')``.

    Args:
        texture_coordinates: (B, h, w, 2) dense or (B, N, 2) sparse uv.
        texture_maps: (B, C, H', W') textures, row 0 at the top (v = 1).
        mode: ``'nearest'``, ``'bilinear'`` or ``'bicubic'``.

    Returns:
        (B, h, w, C) or (B, N, C) sampled values in the dtype of ``texture_maps``.

    Raises:
        ValueError: naming the argument on a wrong shape, dtype, device or mode.
    """
    dims: dict[str, int] = {}
    coords = texture_coordinates
    rank = coords.ndim if isinstance(coords, torch.Tensor) else 0
    check_tensor(coords, "texture_coordinates", ("B", None, None, 2) if rank == 4 else ("B", None, 2),
                 floating=True, dims=dims)
    check_tensor(texture_maps, "texture_maps", ("B", None, None, None), floating=True, device=coords.device, dims=dims)
    if mode not in _TEXTURE_MODES:
        raise ValueError(f"mode: expected one of {list(_TEXTURE_MODES)}, got {describe(mode)}")
    batch, channels = texture_maps.shape[:2]
    uv = coords.clamp(0.0, 1.0).reshape(batch, -1, 1, 2).to(texture_maps.dtype)
    grid = torch.stack([uv[..., 0] * 2 - 1, 1 - uv[..., 1] * 2], dim=-1)
    sampled = F.grid_sample(texture_maps, grid, mode=mode, padding_mode="border", align_corners=False)
    return sampled.permute(0, 2, 3, 1).reshape(batch, *coords.shape[1:-1], channels)


def prepare_vertices(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    camera_proj: torch.Tensor,
    camera_rot: torch.Tensor | None = None,
    camera_trans: torch.Tensor | None = None,
    camera_transform: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Kaolin's ``prepare_vertices``: moves vertices to the camera, projects them and indexes them by faces.

    With ``camera_transform`` M, ``v_cam = [v, 1] @ M``; otherwise ``v_cam = (v - trans) @ rot^T``.
    The image coordinates are ``(x p0, y p1) / (-z)`` ([`perspective_camera`][gan3dlib.compat.kaolin.camera.perspective_camera]).

    Args:
        vertices: (B, V, 3) vertices.
        faces: (F, S) int64/int32 faces shared by the batch.
        camera_proj: (3, 1) projection vector ``[p0, p1, -1]`` (see
            [`generate_perspective_projection`][gan3dlib.compat.kaolin.camera.generate_perspective_projection]).
        camera_rot: (B, 3, 3) rotations; required with ``camera_trans`` unless ``camera_transform``.
        camera_trans: (B, 3) or (B, 3, 1) camera positions.
        camera_transform: (B, 4, 3) world-to-camera matrices, replacing ``camera_rot`` and
            ``camera_trans`` (see [`generate_transformation_matrix`][gan3dlib.compat.kaolin.camera.generate_transformation_matrix]).

    Returns:
        face_vertices_camera: (B, F, S, 3).
        face_vertices_image: (B, F, S, 2) Kaolin NDC.
        face_normals: (B, F, 3) unit normals of the camera-space faces (zero for degenerate faces).

    Raises:
        ValueError: naming the argument on a wrong shape, dtype or a bad combination of cameras.
    """
    dims: dict[str, int] = {}
    check_tensor(vertices, "vertices", ("B", None, 3), floating=True, dims=dims)
    if camera_transform is None:
        if camera_rot is None or camera_trans is None:
            raise ValueError(f"camera_rot, camera_trans: expected both when camera_transform is None, got "
                             f"camera_rot={describe(camera_rot)}, camera_trans={describe(camera_trans)}")
        vertices_camera = rotate_translate_points(vertices, camera_rot, camera_trans)
    else:
        if camera_rot is not None or camera_trans is not None:
            raise ValueError("camera_transform: expected camera_rot and camera_trans to be None when it is given, "
                             f"got camera_rot={describe(camera_rot)}, camera_trans={describe(camera_trans)}")
        check_tensor(camera_transform, "camera_transform", ("B", 4, 3), dtypes=(vertices.dtype,),
                     device=vertices.device, dims=dims)
        vertices_camera = F.pad(vertices, (0, 1), value=1.0) @ camera_transform
    if isinstance(camera_proj, torch.Tensor):
        camera_proj = camera_proj.to(device=vertices.device, dtype=vertices.dtype)
    vertices_image = perspective_camera(vertices_camera, camera_proj)
    face_vertices_camera = index_vertices_by_faces(vertices_camera, faces)
    face_vertices_image = index_vertices_by_faces(vertices_image, faces)
    return face_vertices_camera, face_vertices_image, face_normals(face_vertices_camera, unit=True)
