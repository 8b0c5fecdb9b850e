"""The paper's fixed perspective camera, viewpoints, and conversions to PyTorch3D and Kaolin.

Frames follow ``docs/conventions.md``: the camera sits on +Z at ``d = 1 / sin(fov/2)`` looking at
the origin (the unit ball touches the border of the shorter image side), a viewpoint
``(yaw, pitch)`` rotates the *object* by ``R = R_x(pitch) @ R_y(yaw)``, view space is
``(x, y, z - d)`` with visible points at ``z < 0``, and screen vertices are ``(u, v, depth)`` in
pixels.

The Kaolin-signature camera functions live in [`gan3dlib.compat.kaolin.camera`][gan3dlib.compat.kaolin.camera].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from gan3dlib.utils.checks import check_derived_set, check_positive, check_tensor, describe

__all__ = ["PerspectiveCamera", "ViewpointSampler", "canonical_views", "rotation_matrix"]

# PyTorch3D view space is (-x, y, -z) of ours, i.e. ours rotated by 180 degrees about +Y.
_P3D_FLIP = (-1.0, 1.0, -1.0)


def rotation_matrix(yaw: torch.Tensor, pitch: torch.Tensor) -> torch.Tensor:
    """Object rotation ``R = R_x(pitch) @ R_y(yaw)`` of a viewpoint (``p' = R p``, column vectors).

    ``R_y(yaw)`` turns +Z towards +X, ``R_x(pitch)`` turns +Z towards -Y (both right-handed).

    Args:
        yaw: (B,) float, radians.
        pitch: (B,) float, radians, same dtype and device as ``yaw``.

    Returns:
        (B, 3, 3) rotation matrices, differentiable in both angles.
    """
    dims: dict[str, int] = {}
    check_tensor(yaw, "yaw", ("B",), floating=True, dims=dims)
    check_tensor(pitch, "pitch", ("B",), dtypes=(yaw.dtype,), device=yaw.device, dims=dims)
    cy, sy, cp, sp = torch.cos(yaw), torch.sin(yaw), torch.cos(pitch), torch.sin(pitch)
    zero, one = torch.zeros_like(yaw), torch.ones_like(yaw)
    r_y = torch.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).view(-1, 3, 3)
    r_x = torch.stack([one, zero, zero, zero, cp, -sp, zero, sp, cp], -1).view(-1, 3, 3)
    return r_x @ r_y


def _check_image_size(image_size: object, name: str = "image_size") -> tuple[int, int]:
    ok = isinstance(image_size, Sequence) and len(image_size) == 2
    if ok and all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in image_size):
        return (int(image_size[0]), int(image_size[1]))
    raise ValueError(f"{name}: expected a pair (H, W) of positive integers, got {describe(image_size)}")


def check_camera_trans(trans: object, dtype: torch.dtype, dims: dict[str, int]) -> torch.Tensor:
    """Checks a Kaolin ``camera_trans`` of shape (B, 3) or (B, 3, 1); returns it as (B, 3)."""
    three_d = isinstance(trans, torch.Tensor) and trans.ndim == 3
    check_tensor(trans, "camera_trans", ("B", 3, 1) if three_d else ("B", 3), dtypes=(dtype,), dims=dims)
    assert isinstance(trans, torch.Tensor)
    return trans.reshape(trans.shape[0], 3)


def generate_perspective_projection(fovyangle: float, ratio: float = 1.0,
                                    dtype: torch.dtype = torch.float) -> torch.Tensor:
    """Kaolin's legacy projection vector ``[1/(ratio tan(fovy/2)), 1/tan(fovy/2), -1]``.

    Args:
        fovyangle: vertical field of view in radians, in (0, pi).
        ratio: aspect ratio W / H.
        dtype: dtype of the result.

    Returns:
        (3, 1) tensor.
    """
    fovy = float(fovyangle) if isinstance(fovyangle, torch.Tensor) and fovyangle.numel() == 1 else fovyangle
    check_positive(fovy, "fovyangle")
    if not fovy < math.pi:
        raise ValueError(f"fovyangle: expected radians in (0, pi), got {fovy!r}")
    check_positive(ratio, "ratio")
    tan_half = math.tan(fovy / 2)
    return torch.tensor([[1.0 / (ratio * tan_half)], [1.0 / tan_half], [-1.0]], dtype=dtype)


def _tolerance(dtype: torch.dtype, scale: float = 1.0) -> float:
    return 1e3 * torch.finfo(dtype).eps * max(1.0, scale)


def _check_rotations(rot: torch.Tensor, name: str) -> None:
    if rot.numel() == 0:
        return
    err = (rot @ rot.transpose(1, 2) - torch.eye(3, dtype=rot.dtype, device=rot.device)).abs().max()
    if err > _tolerance(rot.dtype) or bool((torch.linalg.det(rot) <= 0).any()):
        raise ValueError(f"{name}: expected rotation matrices (orthonormal, det +1), got {describe(rot)}")


@dataclass(frozen=True)
class PerspectiveCamera:
    """The paper's fixed camera: on +Z, looking at the origin, unit ball fitting tightly.

    Attributes:
        image_size: (H, W) in pixels; None inside a [`SceneConfig`][gan3dlib.scene.SceneConfig], which sets
            it from its ``resolution``.
        fov_degrees: field of view covering the shorter image side, in (0, 180).
    """

    image_size: tuple[int, int] | None = (128, 128)
    fov_degrees: float = 30.0

    def __post_init__(self) -> None:
        if self.image_size is not None:
            object.__setattr__(self, "image_size", _check_image_size(self.image_size))
        check_positive(self.fov_degrees, "fov_degrees")
        if not self.fov_degrees < 180.0:
            raise ValueError(f"fov_degrees: expected a number in (0, 180), got {self.fov_degrees!r}")

    @property
    def distance(self) -> float:
        """Camera distance ``1 / sin(fov/2)``: the unit ball's silhouette fills the shorter side."""
        return 1.0 / math.sin(math.radians(self.fov_degrees) / 2)

    @property
    def focal_px(self) -> float:
        """Focal length in pixels, ``(min(H, W) / 2) / tan(fov/2)``."""
        check_derived_set(self.image_size, "image_size")
        return min(self.image_size) / 2 / math.tan(math.radians(self.fov_degrees) / 2)

    def world_to_view(self, vertices: torch.Tensor, rotation: torch.Tensor | None = None) -> torch.Tensor:
        """Rotates the object and moves it to Kaolin/OpenGL view space (visible points: z < 0).

        Args:
            vertices: (B, V, 3) float object-space points.
            rotation: (B, 3, 3) object rotations (same dtype/device), or None for the identity.

        Returns:
            (B, V, 3) view-space points ``R p - (0, 0, d)``.
        """
        dims: dict[str, int] = {}
        check_tensor(vertices, "vertices", ("B", None, 3), floating=True, finite=True, dims=dims)
        if rotation is not None:
            check_tensor(rotation, "rotation", ("B", 3, 3), dtypes=(vertices.dtype,), device=vertices.device,
                         finite=True, dims=dims)
            vertices = vertices @ rotation.transpose(1, 2)
        return vertices - torch.tensor([0.0, 0.0, self.distance], dtype=vertices.dtype, device=vertices.device)

    def project(self, vertices: torch.Tensor, rotation: torch.Tensor | None = None) -> torch.Tensor:
        """Screen vertices ``(u, v, depth)`` in pixels (``u`` right, ``v`` down, depth = -z_view).

        Args:
            vertices: (B, V, 3) float object-space points.
            rotation: (B, 3, 3) object rotations, or None for the identity.

        Returns:
            (B, V, 3) ``u = W/2 + f x/depth``, ``v = H/2 - f y/depth`` and ``depth``; differentiable.
        """
        check_derived_set(self.image_size, "image_size")
        view = self.world_to_view(vertices, rotation)
        height, width = self.image_size
        depth = -view[..., 2]
        scale = self.focal_px / depth
        return torch.stack([width / 2 + view[..., 0] * scale, height / 2 - view[..., 1] * scale, depth], -1)

    def _rotation_or_identity(self, rotation: object, dtype: torch.dtype, device: Any) -> torch.Tensor:
        if rotation is None:
            return torch.eye(3, dtype=dtype, device=device).unsqueeze(0)
        check_tensor(rotation, "rotation", (None, 3, 3), floating=True)
        assert isinstance(rotation, torch.Tensor)
        return rotation if device is None else rotation.to(device)

    def to_pytorch3d(self, rotation: torch.Tensor | None = None, device: Any = None) -> Any:
        """A PyTorch3D ``FoVPerspectiveCameras`` that sees the *unrotated* object as we see it rotated.

        ``R = rotation^T @ diag(-1, 1, -1)``, ``T = (0, 0, d)``, ``fov = fov_degrees``,
        ``aspect_ratio = 1``: PyTorch3D's NDC already keeps the shorter side at [-1, 1] for non-square
        images (``aspect_ratio`` is the *pixel* aspect), which is exactly our fov convention. Its view
        z equals our depth and ``transform_points_screen(p, image_size=(H, W))`` equals our (u, v).
        PyTorch3D's projection runs in float32, so R and T are cast to float32.

        Args:
            rotation: (B, 3, 3) object rotations, or None for a single identity view.
            device: device of the cameras (default: that of ``rotation``, else CPU).

        Returns:
            ``pytorch3d.renderer.FoVPerspectiveCameras`` with batch size B.
        """
        try:
            from pytorch3d.renderer import FoVPerspectiveCameras
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise ImportError("PerspectiveCamera.to_pytorch3d needs PyTorch3D (pip install easypytorch3d)") from err
        rot = self._rotation_or_identity(rotation, torch.float32, device).to(torch.float32)
        d = self.distance
        r_p3d = rot.transpose(1, 2) * torch.tensor(_P3D_FLIP, device=rot.device)
        t_p3d = torch.tensor([[0.0, 0.0, d]], device=rot.device).repeat(rot.shape[0], 1)
        return FoVPerspectiveCameras(znear=max((d - 1) / 2, 1e-3 * d), zfar=max(100.0, 4 * d), aspect_ratio=1.0,
                                     fov=self.fov_degrees, degrees=True, R=r_p3d, T=t_p3d, device=rot.device)

    @classmethod
    def from_pytorch3d(cls, cameras: Any, image_size: tuple[int, int]) -> tuple[PerspectiveCamera, torch.Tensor]:
        """Inverts [`to_pytorch3d`][gan3dlib.render.camera.PerspectiveCamera.to_pytorch3d].

        Accepts ``FoVPerspectiveCameras`` with square pixels (``aspect_ratio = 1``), one fov for the
        batch, no custom ``K``, looking at the origin from distance ``1 / sin(fov/2)`` (any roll).

        Args:
            cameras: PyTorch3D ``FoVPerspectiveCameras`` with batch size B.
            image_size: (H, W) in pixels.

        Returns:
            ``(camera, rotation)`` with rotation (B, 3, 3) in the cameras' dtype and device.

        Raises:
            ValueError: for any other camera (the error names the offending attribute).
        """
        size = _check_image_size(image_size)
        if type(cameras).__name__ != "FoVPerspectiveCameras" or getattr(cameras, "K", None) is not None:
            raise ValueError(f"cameras: expected FoVPerspectiveCameras without K, got {describe(cameras)}")
        fov = cameras.fov.reshape(-1).double()
        aspect = torch.as_tensor(cameras.aspect_ratio).reshape(-1).double()
        if bool((fov - fov[0]).abs().max() > 1e-6 * fov[0].abs()) or bool(((aspect - 1).abs() > 1e-6).any()):
            raise ValueError(f"cameras: expected one fov for the batch and aspect_ratio 1, got fov "
                             f"{fov.tolist()}, aspect_ratio {aspect.tolist()}")
        fov_deg = float(fov[0]) if cameras.degrees else math.degrees(float(fov[0]))
        camera = cls(image_size=size, fov_degrees=fov_deg)
        r_p3d, t_p3d = cameras.R, cameras.T
        _check_rotations(r_p3d, "cameras.R")
        want = torch.tensor([0.0, 0.0, camera.distance], dtype=t_p3d.dtype, device=t_p3d.device)
        if bool((t_p3d - want).abs().max() > _tolerance(t_p3d.dtype, camera.distance)):
            raise ValueError(f"cameras.T: expected (0, 0, {camera.distance:.6g}) (looking at the origin "
                             f"from 1/sin(fov/2)), got {t_p3d.tolist()}")
        flip = torch.tensor(_P3D_FLIP, dtype=r_p3d.dtype, device=r_p3d.device)
        return camera, (r_p3d * flip).transpose(1, 2)

    def _kaolin_fovy(self) -> float:
        height, _ = self.image_size
        return 2 * math.atan(height / min(self.image_size) * math.tan(math.radians(self.fov_degrees) / 2))

    def to_kaolin(self, rotation: torch.Tensor | None = None, *, dtype: torch.dtype = torch.float32,
                  device: Any = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Legacy Kaolin ``prepare_vertices`` camera that sees the unrotated object as we see it rotated.

        ``camera_rot = rotation`` and ``camera_trans = d * rotation[:, 2, :]`` (the camera position),
        so ``(v - trans) @ rot^T`` is our view space. Kaolin's fov covers the *height* and its NDC
        spans each side separately (``x_ndc = 2u/W - 1``, ``y_ndc = 1 - 2v/H``), so
        ``camera_proj = generate_perspective_projection(fovy, ratio=W/H)`` with
        ``tan(fovy/2) = (H / min(H, W)) * tan(fov/2)``, i.e. ``p0 = 2f/W`` and ``p1 = 2f/H``.

        Args:
            rotation: (B, 3, 3) object rotations, or None for one identity view.
            dtype: dtype of the result when ``rotation`` is None (else that of ``rotation``).
            device: device of the result (default: that of ``rotation``, else CPU).

        Returns:
            ``camera_proj`` (3, 1), ``camera_rot`` (B, 3, 3), ``camera_trans`` (B, 3).
        """
        rot = self._rotation_or_identity(rotation, dtype, device)
        proj = generate_perspective_projection(self._kaolin_fovy(), self.image_size[1] / self.image_size[0],
                                               dtype=rot.dtype).to(rot.device)
        return proj, rot, self.distance * rot[:, 2, :]

    @classmethod
    def from_kaolin(cls, camera_proj: torch.Tensor, camera_rot: torch.Tensor, camera_trans: torch.Tensor,
                    image_size: tuple[int, int]) -> tuple[PerspectiveCamera, torch.Tensor]:
        """Inverts [`to_kaolin`][gan3dlib.render.camera.PerspectiveCamera.to_kaolin].

        Args:
            camera_proj: (3, 1) ``[p0, p1, -1]`` with square pixels (``p0 * W == p1 * H``).
            camera_rot: (B, 3, 3) rotations.
            camera_trans: (B, 3) or (B, 3, 1) camera positions, at ``1/sin(fov/2)`` from the origin
                on the camera's optical axis (the camera looks at the origin).
            image_size: (H, W) in pixels.

        Returns:
            ``(camera, rotation)`` with rotation (B, 3, 3) equal to ``camera_rot``.

        Raises:
            ValueError: if the arguments do not describe such a camera.
        """
        height, width = _check_image_size(image_size)
        check_tensor(camera_proj, "camera_proj", (3, 1), floating=True)
        dims: dict[str, int] = {}
        check_tensor(camera_rot, "camera_rot", ("B", 3, 3), floating=True, dims=dims)
        trans = check_camera_trans(camera_trans, camera_rot.dtype, dims)
        p0, p1, p2 = (float(x) for x in camera_proj.reshape(3))
        tol = _tolerance(camera_proj.dtype)
        if not (p1 > 0 and abs(p0 * width - p1 * height) <= tol * p1 * height and abs(p2 + 1) <= tol):
            raise ValueError(f"camera_proj: expected [p0, p1, -1] with p1 > 0 and p0*W == p1*H "
                             f"(square pixels, W={width}, H={height}), got {[p0, p1, p2]}")
        tan_half = min(height, width) / (height * p1)
        camera = cls(image_size=(height, width), fov_degrees=math.degrees(2 * math.atan(tan_half)))
        _check_rotations(camera_rot, "camera_rot")
        err = (trans - camera.distance * camera_rot[:, 2, :]).abs().max() if trans.shape[0] else 0.0
        if err > _tolerance(trans.dtype, camera.distance):
            raise ValueError(f"camera_trans: expected {camera.distance:.6g} * camera_rot[:, 2, :] (the "
                             f"camera looks at the origin from 1/sin(fov/2)), max deviation {float(err):.3g}")
        return camera, camera_rot


def _is_degrees(a: object) -> bool:
    return isinstance(a, (int, float)) and not isinstance(a, bool) and math.isfinite(a) and abs(a) <= 180


def _check_range(value: object, name: str) -> tuple[float, float]:
    if not (isinstance(value, Sequence) and len(value) == 2 and all(_is_degrees(a) for a in value)):
        raise ValueError(f"{name}: expected (min, max) finite degrees in [-180, 180], got {describe(value)}")
    lo, hi = float(value[0]), float(value[1])  # type: ignore[index]
    if lo > hi:
        raise ValueError(f"{name}: expected min <= max, got the empty range ({lo}, {hi})")
    return lo, hi


@dataclass(frozen=True)
class ViewpointSampler:
    """Uniform random viewpoints (the paper's p_v); the defaults are its FFHQ ranges.

    Attributes:
        yaw_range_degrees: (min, max) yaw in degrees.
        pitch_range_degrees: (min, max) pitch in degrees.
    """

    yaw_range_degrees: tuple[float, float] = (-45.0, 45.0)
    pitch_range_degrees: tuple[float, float] = (-15.0, 15.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "yaw_range_degrees", _check_range(self.yaw_range_degrees, "yaw_range_degrees"))
        object.__setattr__(self, "pitch_range_degrees",
                           _check_range(self.pitch_range_degrees, "pitch_range_degrees"))

    def sample(self, batch_size: int, generator: torch.Generator | None = None, device: Any = None,
               dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
        """Draws ``batch_size`` viewpoints uniformly (yaw first, then pitch, from one draw).

        Args:
            batch_size: number B of viewpoints.
            generator: optional random generator (its device is used for the draw).
            device: device of the result.
            dtype: floating dtype of the result.

        Returns:
            ``yaw`` (B,) and ``pitch`` (B,) in radians.
        """
        check_positive(batch_size, "batch_size", integer=True)
        if not dtype.is_floating_point:
            raise ValueError(f"dtype: expected a floating-point dtype, got {dtype}")
        draw_device = generator.device if generator is not None else device
        unit = torch.rand(2, batch_size, generator=generator, dtype=dtype, device=draw_device).to(device)
        (y0, y1), (p0, p1) = self.yaw_range_degrees, self.pitch_range_degrees
        return (y0 + (y1 - y0) * unit[0]) * (math.pi / 180), (p0 + (p1 - p0) * unit[1]) * (math.pi / 180)

    def sample_rotations(self, batch_size: int, generator: torch.Generator | None = None,
                         device: Any = None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Random object rotations; same arguments as [`sample`][gan3dlib.render.camera.ViewpointSampler.sample]. Returns (B, 3, 3)."""
        return rotation_matrix(*self.sample(batch_size, generator, device, dtype))


def canonical_views(num_views: int = 5, yaw_range_degrees: tuple[float, float] = (-90.0, 90.0),
                    pitch_degrees: float = 0.0, dtype: torch.dtype = torch.float32,
                    device: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Evenly spaced yaws including both ends (the paper's Figure 1 views), one fixed pitch.

    Args:
        num_views: number V of views; 1 gives the middle of the range.
        yaw_range_degrees: (min, max) yaw in degrees.
        pitch_degrees: pitch of every view, in degrees.
        dtype: floating dtype of the result.
        device: device of the result.

    Returns:
        ``yaw`` (V,) and ``pitch`` (V,) in radians.
    """
    check_positive(num_views, "num_views", integer=True)
    if not dtype.is_floating_point:
        raise ValueError(f"dtype: expected a floating-point dtype, got {dtype}")
    lo, hi = _check_range(yaw_range_degrees, "yaw_range_degrees")
    if not _is_degrees(pitch_degrees):
        raise ValueError(f"pitch_degrees: expected finite degrees in [-180, 180], got {describe(pitch_degrees)}")
    if num_views == 1:
        lo = hi = (lo + hi) / 2
    yaw = torch.linspace(math.radians(lo), math.radians(hi), num_views, dtype=dtype, device=device)
    return yaw, torch.full_like(yaw, math.radians(pitch_degrees))
