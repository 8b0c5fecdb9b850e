"""Kaolin-signature camera functions (legacy ``kaolin.render.camera``, angles in radians).

Kaolin-signature functions (legacy ``kaolin.render.camera``, angles in radians):

====================================== ======================================================
here                                   mirrors (same signature, defaults and return order)
====================================== ======================================================
``generate_perspective_projection``    ``kaolin.render.camera.generate_perspective_projection``
``generate_rotate_translate_matrices`` ``kaolin.render.camera.generate_rotate_translate_matrices``
``generate_transformation_matrix``     ``kaolin.render.camera.generate_transformation_matrix``
``rotate_translate_points``            ``kaolin.render.camera.rotate_translate_points``
``perspective_camera``                 ``kaolin.render.camera.perspective_camera``
====================================== ======================================================
"""

from __future__ import annotations


import torch

from gan3dlib.render.camera import check_camera_trans, generate_perspective_projection
from gan3dlib.utils.checks import check_tensor, describe

__all__ = [
    "check_camera_trans",
    "generate_perspective_projection",
    "generate_rotate_translate_matrices",
    "generate_transformation_matrix",
    "rotate_translate_points",
    "perspective_camera",
]


def _look_at_axes(camera_position: torch.Tensor, look_at: torch.Tensor, camera_up_direction: torch.Tensor,
                  eps: float) -> tuple[torch.Tensor, ...]:
    check_tensor(camera_position, "camera_position", (None, 3), floating=True)
    check_tensor(look_at, "look_at", (None, 3), dtypes=(camera_position.dtype,))
    check_tensor(camera_up_direction, "camera_up_direction", (None, 3), dtypes=(camera_position.dtype,))
    try:
        pos, at, up = torch.broadcast_tensors(camera_position, look_at, camera_up_direction)
    except RuntimeError as err:
        raise ValueError(f"camera_position, look_at, camera_up_direction: expected (B, 3) or (1, 3) "
                         f"tensors, got batch sizes {camera_position.shape[0]}, {look_at.shape[0]}, "
                         f"{camera_up_direction.shape[0]}") from err
    backward = pos - at  # camera +z: from the target to the camera
    backward = backward / (backward.norm(dim=1, keepdim=True) + eps)
    right = torch.cross(up, backward, dim=1)
    right = right / (right.norm(dim=1, keepdim=True) + eps)
    true_up = torch.cross(backward, right, dim=1)
    true_up = true_up / (true_up.norm(dim=1, keepdim=True) + eps)
    return pos, right, true_up, backward


def generate_rotate_translate_matrices(camera_position: torch.Tensor, look_at: torch.Tensor,
                                       camera_up_direction: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Kaolin's look-at camera as ``(rot, trans)``, with ``p_cam = rot (p_world - trans)``.

    The camera looks down its -z axis, x to its right, y up.

    Args:
        camera_position: (B, 3) camera positions.
        look_at: (B, 3) or (1, 3) target points.
        camera_up_direction: (B, 3) or (1, 3) up directions, usually (0, 1, 0).

    Returns:
        ``rot`` (B, 3, 3) with rows (right, up, backward) and ``trans`` (B, 3) = camera_position.
    """
    pos, right, up, backward = _look_at_axes(camera_position, look_at, camera_up_direction, 1e-10)
    return torch.stack([right, up, backward], dim=1), pos


def generate_transformation_matrix(camera_position: torch.Tensor, look_at: torch.Tensor,
                                   camera_up_direction: torch.Tensor) -> torch.Tensor:
    """Kaolin's look-at camera as one (B, 4, 3) matrix: ``p_cam = [p_world, 1] @ M``.

    Args:
        camera_position: (B, 3) camera positions.
        look_at: (B, 3) or (1, 3) target points.
        camera_up_direction: (B, 3) or (1, 3) up directions.

    Returns:
        (B, 4, 3): rows 0-2 are ``rot^T`` (columns right, up, backward), row 3 is
        ``-camera_position @ rot^T``; the camera looks down -z.
    """
    pos, right, up, backward = _look_at_axes(camera_position, look_at, camera_up_direction, 0.0)
    rot_t = torch.stack([right, up, backward], dim=2)
    return torch.cat([rot_t, -pos.unsqueeze(1) @ rot_t], dim=1)


def rotate_translate_points(points: torch.Tensor, camera_rot: torch.Tensor,
                            camera_trans: torch.Tensor) -> torch.Tensor:
    """Kaolin's ``(points - trans) @ rot^T``, batched.

    Args:
        points: (B, N, 3) points.
        camera_rot: (B, 3, 3) rotations.
        camera_trans: (B, 3) or (B, 3, 1) translations (camera positions).

    Returns:
        (B, N, 3) camera-space points.
    """
    dims: dict[str, int] = {}
    check_tensor(points, "points", ("B", None, 3), floating=True, dims=dims)
    check_tensor(camera_rot, "camera_rot", ("B", 3, 3), dtypes=(points.dtype,), dims=dims)
    trans = check_camera_trans(camera_trans, points.dtype, dims)
    return (points - trans.unsqueeze(1)) @ camera_rot.transpose(1, 2)


def perspective_camera(points: torch.Tensor, camera_proj: torch.Tensor) -> torch.Tensor:
    """Kaolin's legacy projection ``xy_ndc = (x p0, y p1) / (z p2)`` (``p2 = -1``).

    Args:
        points: (B, N, 3) camera-space points.
        camera_proj: (3, 1) or (B, 3, 1) projection vectors.

    Returns:
        (B, N, 2) image coordinates (NDC, x right, y up, each side in [-1, 1]).
    """
    check_tensor(points, "points", (None, None, 3), floating=True)
    if not isinstance(camera_proj, torch.Tensor) or camera_proj.shape[-2:] != (3, 1) or camera_proj.ndim > 3:
        raise ValueError(f"camera_proj: expected a (3, 1) or (B, 3, 1) tensor, got {describe(camera_proj)}")
    projected = points * camera_proj.reshape(-1, 1, 3)
    return projected[..., :2] / projected[..., 2:3]
