"""Tests for gan3dlib.render.camera against independent references (plain math, numpy, PyTorch3D)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gan3dlib.render.camera import PerspectiveCamera, ViewpointSampler, canonical_views, rotation_matrix
from gan3dlib.compat.kaolin.camera import (
    generate_perspective_projection,
    generate_rotate_translate_matrices,
    generate_transformation_matrix,
    perspective_camera,
    rotate_translate_points,
)

DTYPES = [torch.float32, torch.float64]
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
SIZES = [(24, 24), (20, 32), (32, 20)]


def tol(dtype: torch.dtype) -> float:
    return 1e-4 if dtype == torch.float32 else 1e-9


def rodrigues(axis: tuple[float, float, float], angle: float) -> np.ndarray:
    """Rotation by ``angle`` about ``axis`` (right-handed), from the axis-angle formula."""
    k = np.asarray(axis, dtype=np.float64)
    k = k / np.linalg.norm(k)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(angle) * kx + (1 - math.cos(angle)) * kx @ kx


def random_rotations(n: int, gen: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    """Arbitrary rotations (incl. roll), from QR of Gaussian matrices, det fixed to +1."""
    q, r = torch.linalg.qr(torch.randn(n, 3, 3, generator=gen, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r, dim1=1, dim2=2)).unsqueeze(1)
    q[torch.linalg.det(q) < 0, :, 0] *= -1
    return q.to(dtype)


def ball_points(b: int, v: int, gen: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    p = torch.randn(b, v, 3, generator=gen, dtype=torch.float64)
    p = p / p.norm(dim=-1, keepdim=True) * torch.rand(b, v, 1, generator=gen, dtype=torch.float64)
    return p.to(dtype)


# ----------------------------------------------------------------------------- rotations


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_rotation_matrix_matches_rodrigues(dtype, device):
    yaw = torch.tensor([0.0, 0.3, -1.2, 2.5, math.pi], dtype=dtype, device=device)
    pitch = torch.tensor([0.0, -0.4, 0.7, 1.5, -math.pi / 3], dtype=dtype, device=device)
    rot = rotation_matrix(yaw, pitch)
    assert rot.shape == (5, 3, 3) and rot.dtype == dtype and rot.device.type == device
    eye = torch.eye(3, dtype=dtype, device=device).expand(5, 3, 3)
    torch.testing.assert_close(rot @ rot.transpose(1, 2), eye, atol=tol(dtype), rtol=0)
    torch.testing.assert_close(torch.linalg.det(rot), torch.ones(5, dtype=dtype, device=device))
    for i in range(5):
        want = rodrigues((1, 0, 0), float(pitch[i])) @ rodrigues((0, 1, 0), float(yaw[i]))
        np.testing.assert_allclose(rot[i].cpu().double().numpy(), want, atol=tol(dtype))


def test_rotation_directions_and_gradients():
    quarter = torch.tensor([math.pi / 2], dtype=torch.float64)
    zero = torch.zeros(1, dtype=torch.float64)
    plus_z = torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(rotation_matrix(quarter, zero)[0] @ plus_z, torch.tensor([1.0, 0, 0]).double())
    torch.testing.assert_close(rotation_matrix(zero, quarter)[0] @ plus_z, torch.tensor([0.0, -1, 0]).double())
    yaw = torch.tensor([0.3, -0.8], dtype=torch.float64, requires_grad=True)
    pitch = torch.tensor([0.1, 0.5], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(rotation_matrix, (yaw, pitch))


# ----------------------------------------------------------------------------- projection


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("fov", [10.0, 30.0, 90.0])
def test_unit_ball_fits_tightly(size, fov, dtype, device):
    gen = torch.Generator().manual_seed(0)
    cam = PerspectiveCamera(size, fov)
    assert cam.distance == pytest.approx(1 / math.sin(math.radians(fov) / 2))
    sphere = torch.randn(4, 20000, 3, generator=gen, dtype=torch.float64)
    sphere = (sphere / sphere.norm(dim=-1, keepdim=True)).to(dtype=dtype, device=device)
    rot = random_rotations(4, gen, dtype).to(device)
    screen = cam.project(sphere, rot)
    h, w = size
    radius = torch.hypot(screen[..., 0] - w / 2, screen[..., 1] - h / 2).amax(dim=1)
    torch.testing.assert_close(radius, torch.full_like(radius, min(h, w) / 2), rtol=1e-4, atol=0)
    # The naive distance 1/tan(fov/2) would push the silhouette past the border.
    d_tan = 1 / math.tan(math.radians(fov) / 2)
    z = sphere[..., 2].double().cpu() - d_tan
    r_tan = (cam.focal_px * sphere[..., :2].double().cpu().norm(dim=-1) / -z).max()
    assert r_tan > min(h, w) / 2 * (1 + 1e-3)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
def test_project_matches_naive_pinhole(size, dtype, device):
    gen = torch.Generator().manual_seed(1)
    cam = PerspectiveCamera(size, 40.0)
    pts = ball_points(2, 7, gen, dtype).to(device)
    yaw = torch.tensor([0.4, -2.0], dtype=dtype, device=device)
    pitch = torch.tensor([-0.3, 0.9], dtype=dtype, device=device)
    screen = cam.project(pts, rotation_matrix(yaw, pitch))
    view = cam.world_to_view(pts, rotation_matrix(yaw, pitch))
    h, w = size
    half = math.radians(40.0) / 2
    d, f = 1 / math.sin(half), min(h, w) / 2 / math.tan(half)
    for b in range(2):
        cy, sy = math.cos(float(yaw[b])), math.sin(float(yaw[b]))
        cp, sp = math.cos(float(pitch[b])), math.sin(float(pitch[b]))
        for i in range(7):
            x, y, z = (float(c) for c in pts[b, i])
            x, z = cy * x + sy * z, -sy * x + cy * z  # yaw about +Y
            y, z = cp * y - sp * z, sp * y + cp * z  # pitch about +X
            depth = d - z
            want = [w / 2 + f * x / depth, h / 2 - f * y / depth, depth]
            np.testing.assert_allclose(screen[b, i].cpu().double().numpy(), want, rtol=tol(dtype), atol=tol(dtype))
            np.testing.assert_allclose(view[b, i].cpu().double().numpy(), [x, y, z - d], atol=tol(dtype))
    assert bool((view[..., 2] < 0).all())
    torch.testing.assert_close(cam.project(pts), cam.project(pts, torch.eye(3, dtype=dtype, device=device).repeat(2, 1, 1)))


def test_project_is_differentiable():
    cam = PerspectiveCamera((12, 16), 30.0)
    pts = ball_points(1, 5, torch.Generator().manual_seed(2), torch.float64).requires_grad_()
    angles = torch.tensor([0.2], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda p, a: cam.project(p, rotation_matrix(a, -a)), (pts, angles))


# ----------------------------------------------------------------------------- PyTorch3D


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("fov", [20.0, 60.0])
def test_to_pytorch3d_matches_projection(size, fov):
    pytest.importorskip("pytorch3d")
    gen = torch.Generator().manual_seed(3)
    cam = PerspectiveCamera(size, fov)
    rot = random_rotations(3, gen, torch.float32)
    pts = ball_points(3, 50, gen, torch.float32)
    ours = cam.project(pts, rot)
    cameras = cam.to_pytorch3d(rot)
    h, w = size
    s = min(h, w)
    ndc = cameras.transform_points_ndc(pts)  # +X left, +Y up, shorter side in [-1, 1]
    u_ref, v_ref = (w - s * ndc[..., 0]) / 2, (h - s * ndc[..., 1]) / 2
    torch.testing.assert_close(torch.stack([u_ref, v_ref], -1), ours[..., :2], atol=1e-4 * s, rtol=1e-4)
    screen = cameras.transform_points_screen(pts, image_size=(size,))
    torch.testing.assert_close(screen[..., :2], ours[..., :2], atol=1e-4 * s, rtol=1e-4)
    view_z = cameras.get_world_to_view_transform().transform_points(pts)[..., 2]
    torch.testing.assert_close(view_z, ours[..., 2], atol=1e-5, rtol=1e-5)


def test_pytorch3d_identity_is_look_at_and_round_trips():
    p3d = pytest.importorskip("pytorch3d.renderer")
    cam = PerspectiveCamera((20, 32), 30.0)
    r, t = p3d.look_at_view_transform(dist=cam.distance, elev=0.0, azim=0.0)
    cameras = cam.to_pytorch3d()
    torch.testing.assert_close(cameras.R, r)
    torch.testing.assert_close(cameras.T, t)
    rot = random_rotations(4, torch.Generator().manual_seed(4), torch.float32)
    back, rot_back = PerspectiveCamera.from_pytorch3d(cam.to_pytorch3d(rot), (20, 32))
    assert back == cam
    torch.testing.assert_close(rot_back, rot)
    # A camera built by PyTorch3D's own look-at on the sphere of radius d is accepted too.
    r, t = p3d.look_at_view_transform(dist=cam.distance, elev=[25.0, -10.0], azim=[40.0, 170.0])
    cameras = p3d.FoVPerspectiveCameras(R=r, T=t, fov=30.0)
    back, rot_back = PerspectiveCamera.from_pytorch3d(cameras, (20, 32))
    pts = ball_points(2, 10, torch.Generator().manual_seed(5), torch.float32)
    screen = cameras.transform_points_screen(pts, image_size=((20, 32),))
    torch.testing.assert_close(back.project(pts, rot_back)[..., :2], screen[..., :2], atol=2e-3, rtol=1e-4)


def test_from_pytorch3d_rejects_unsupported_cameras():
    p3d = pytest.importorskip("pytorch3d.renderer")
    cam = PerspectiveCamera((16, 16), 30.0)
    r, t = p3d.look_at_view_transform(dist=2 * cam.distance)
    with pytest.raises(ValueError, match="cameras.T"):
        PerspectiveCamera.from_pytorch3d(p3d.FoVPerspectiveCameras(R=r, T=t, fov=30.0), (16, 16))
    r, t = p3d.look_at_view_transform(dist=cam.distance)
    with pytest.raises(ValueError, match="aspect_ratio"):
        PerspectiveCamera.from_pytorch3d(p3d.FoVPerspectiveCameras(R=r, T=t, fov=30.0, aspect_ratio=2.0), (16, 16))
    with pytest.raises(ValueError, match="cameras"):
        PerspectiveCamera.from_pytorch3d(p3d.PerspectiveCameras(R=r, T=t), (16, 16))
    with pytest.raises(ValueError, match="image_size"):
        PerspectiveCamera.from_pytorch3d(cam.to_pytorch3d(), (16, 0))


# ----------------------------------------------------------------------------- Kaolin


def kaolin_reference_pixels(pts, proj, rot, trans, size):
    """``prepare_vertices``-style projection from Kaolin's documented formulas, then to pixels."""
    cam = (pts - trans.reshape(-1, 1, 3)) @ rot.transpose(1, 2)
    p0, p1, p2 = proj.reshape(3).tolist()
    x_ndc, y_ndc = cam[..., 0] * p0 / (cam[..., 2] * p2), cam[..., 1] * p1 / (cam[..., 2] * p2)
    h, w = size
    return torch.stack([(x_ndc + 1) * w / 2, (1 - y_ndc) * h / 2, -cam[..., 2]], -1)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
def test_to_kaolin_matches_projection(size, dtype, device):
    gen = torch.Generator().manual_seed(6)
    cam = PerspectiveCamera(size, 35.0)
    rot = random_rotations(3, gen, dtype).to(device)
    pts = ball_points(3, 40, gen, dtype).to(device)
    proj, k_rot, k_trans = cam.to_kaolin(rot)
    assert proj.shape == (3, 1) and k_rot.shape == (3, 3, 3) and k_trans.shape == (3, 3)
    h, w = size
    fovy = 2 * math.atan(h / min(h, w) * math.tan(math.radians(35.0) / 2))
    want = [1 / (w / h * math.tan(fovy / 2)), 1 / math.tan(fovy / 2), -1.0]
    np.testing.assert_allclose(proj.reshape(3).cpu().double().numpy(), want, rtol=tol(dtype))
    ref = kaolin_reference_pixels(pts, proj, k_rot, k_trans, size)
    torch.testing.assert_close(ref, cam.project(pts, rot), atol=tol(dtype) * 10, rtol=tol(dtype))
    ndc = perspective_camera(rotate_translate_points(pts, k_rot, k_trans), proj)
    torch.testing.assert_close(ndc[..., 0], (ref[..., 0] * 2 / w - 1), atol=tol(dtype), rtol=tol(dtype))
    # The same extrinsics come out of Kaolin's look-at with the camera's own up vector.
    origin = torch.zeros(1, 3, dtype=dtype, device=device)
    la_rot, la_trans = generate_rotate_translate_matrices(k_trans, origin, k_rot[:, 1, :])
    torch.testing.assert_close(la_rot, k_rot, atol=tol(dtype), rtol=0)
    torch.testing.assert_close(la_trans, k_trans)
    back, rot_back = PerspectiveCamera.from_kaolin(proj, k_rot, k_trans.unsqueeze(-1), size)
    assert back.image_size == cam.image_size and back.fov_degrees == pytest.approx(35.0, rel=tol(dtype))
    torch.testing.assert_close(rot_back, rot)


def test_from_kaolin_rejects_unsupported_cameras():
    cam = PerspectiveCamera((20, 32), 30.0)
    proj, rot, trans = cam.to_kaolin(dtype=torch.float64)
    with pytest.raises(ValueError, match="camera_trans"):
        PerspectiveCamera.from_kaolin(proj, rot, 2 * trans, (20, 32))
    with pytest.raises(ValueError, match="camera_proj"):
        PerspectiveCamera.from_kaolin(proj, rot, trans, (32, 20))  # wrong aspect ratio
    with pytest.raises(ValueError, match="camera_rot"):
        PerspectiveCamera.from_kaolin(proj, 2 * rot, trans, (20, 32))


def test_kaolin_camera_functions():
    proj = generate_perspective_projection(math.radians(60), ratio=2.0)
    assert proj.dtype == torch.float and proj.shape == (3, 1)
    t = math.tan(math.radians(30))
    torch.testing.assert_close(proj.reshape(3), torch.tensor([1 / (2 * t), 1 / t, -1.0]))
    pos = torch.tensor([[0.0, 0.0, 3.0], [4.0, 0.0, 0.0], [1.0, 2.0, -2.0]], dtype=torch.float64)
    at = torch.zeros(1, 3, dtype=torch.float64)
    up = torch.tensor([[0.0, 1.0, 0.0]], dtype=torch.float64)
    rot, trans = generate_rotate_translate_matrices(pos, at, up)
    torch.testing.assert_close(rot[0], torch.eye(3, dtype=torch.float64))
    torch.testing.assert_close(trans, pos)
    # Standing on +X looking at the origin, +Z is to the camera's left and the origin straight ahead.
    probe = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]], dtype=torch.float64).repeat(3, 1, 1)
    cam_pts = rotate_translate_points(probe, rot, trans)
    torch.testing.assert_close(cam_pts[1, 0], torch.tensor([0.0, 0.0, -4.0], dtype=torch.float64))
    assert cam_pts[1, 1, 0] < 0 and cam_pts[1, 2, 1] > 0
    torch.testing.assert_close(cam_pts[:, 0].norm(dim=-1), pos.norm(dim=-1))
    mtx = generate_transformation_matrix(pos, at, up)
    assert mtx.shape == (3, 4, 3)
    homo = torch.cat([probe, torch.ones(3, 3, 1, dtype=torch.float64)], -1)
    torch.testing.assert_close(homo @ mtx, cam_pts)


# ----------------------------------------------------------------------------- viewpoints


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_viewpoint_sampler(dtype, device):
    sampler = ViewpointSampler()
    assert sampler.yaw_range_degrees == (-45.0, 45.0) and sampler.pitch_range_degrees == (-15.0, 15.0)
    yaw, pitch = sampler.sample(10000, torch.Generator().manual_seed(7), device=device, dtype=dtype)
    assert yaw.shape == pitch.shape == (10000,) and yaw.dtype == dtype and yaw.device.type == device
    for angles, half in ((yaw, math.radians(45)), (pitch, math.radians(15))):
        a = angles.double().cpu()
        assert a.abs().max() <= half * (1 + 1e-6) and a.abs().max() > 0.99 * half
        assert abs(float(a.mean())) < 0.03 * half  # std of the mean ~ 0.0058 * half
        assert float(a.var()) == pytest.approx(half**2 / 3, rel=0.05)
    again = sampler.sample(10000, torch.Generator().manual_seed(7), device=device, dtype=dtype)
    torch.testing.assert_close(again, (yaw, pitch))
    fixed = ViewpointSampler((10.0, 10.0), (-5.0, -5.0))
    rot = fixed.sample_rotations(3, torch.Generator().manual_seed(0), device=device, dtype=dtype)
    y = torch.full((3,), math.radians(10.0), dtype=dtype, device=device)
    torch.testing.assert_close(rot, rotation_matrix(y, torch.full_like(y, math.radians(-5.0))))


@pytest.mark.parametrize("field", ["yaw_range_degrees", "pitch_range_degrees"])
@pytest.mark.parametrize("bad", [(10.0, -10.0), (0.0, 200.0), (float("nan"), 1.0), (1.0,), "ab"])
def test_viewpoint_sampler_rejects_bad_ranges(field, bad):
    with pytest.raises(ValueError, match=field):
        ViewpointSampler(**{field: bad})


def test_canonical_views():
    yaw, pitch = canonical_views()
    torch.testing.assert_close(yaw, torch.tensor([-90.0, -45.0, 0.0, 45.0, 90.0]) * math.pi / 180)
    torch.testing.assert_close(pitch, torch.zeros(5))
    yaw, pitch = canonical_views(4, (-30.0, 60.0), pitch_degrees=10.0, dtype=torch.float64)
    torch.testing.assert_close(torch.diff(yaw), torch.full((3,), math.radians(30.0), dtype=torch.float64))
    assert float(yaw[0]) == pytest.approx(math.radians(-30)) and float(yaw[-1]) == pytest.approx(math.radians(60))
    torch.testing.assert_close(pitch, torch.full((4,), math.radians(10.0), dtype=torch.float64))
    assert float(canonical_views(1, (-30.0, 60.0))[0][0]) == pytest.approx(math.radians(15))
    with pytest.raises(ValueError, match="num_views"):
        canonical_views(0)
    with pytest.raises(ValueError, match="yaw_range_degrees"):
        canonical_views(3, (90.0, -90.0))


# ----------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"image_size": (0, 16)}, "image_size"), ({"image_size": (16.0, 16)}, "image_size"),
     ({"image_size": 16}, "image_size"), ({"fov_degrees": 0.0}, "fov_degrees"),
     ({"fov_degrees": 180.0}, "fov_degrees"), ({"fov_degrees": "30"}, "fov_degrees")],
)
def test_camera_rejects_bad_settings(kwargs, name):
    with pytest.raises(ValueError, match=name):
        PerspectiveCamera(**kwargs)


def test_bad_tensor_inputs_name_the_argument():
    cam = PerspectiveCamera()
    pts = torch.zeros(2, 5, 3)
    rot = torch.eye(3).repeat(2, 1, 1)
    cases = [
        (lambda: cam.project(torch.zeros(5, 3)), "vertices"),
        (lambda: cam.project(torch.zeros(2, 5, 3, dtype=torch.long)), "vertices"),
        (lambda: cam.project(pts, torch.eye(3)), "rotation"),
        (lambda: cam.project(pts, rot[:1]), "rotation"),
        (lambda: cam.world_to_view(pts, rot.double()), "rotation"),
        (lambda: rotation_matrix(torch.zeros(3), torch.zeros(2)), "pitch"),
        (lambda: rotation_matrix(torch.zeros(3, dtype=torch.long), torch.zeros(3)), "yaw"),
        (lambda: rotate_translate_points(pts, rot, torch.zeros(2, 4)), "camera_trans"),
        (lambda: rotate_translate_points(pts, rot[:, :2], torch.zeros(2, 3)), "camera_rot"),
        (lambda: generate_transformation_matrix(torch.zeros(2, 3), torch.zeros(3, 3), torch.zeros(1, 3)), "look_at"),
        (lambda: generate_rotate_translate_matrices(torch.zeros(2, 2), torch.zeros(1, 3), torch.zeros(1, 3)), "camera_position"),
        (lambda: generate_perspective_projection(-1.0), "fovyangle"),
        (lambda: generate_perspective_projection(1.0, ratio=0), "ratio"),
        (lambda: perspective_camera(pts, torch.zeros(3)), "camera_proj"),
        (lambda: cam.to_kaolin(torch.zeros(2, 3)), "rotation"),
        (lambda: ViewpointSampler().sample(0), "batch_size"),
        (lambda: ViewpointSampler().sample(3, dtype=torch.long), "dtype"),
    ]
    for fn, name in cases:
        with pytest.raises(ValueError, match=name):
            fn()
