"""Tests for the initial shapes s0 (sphere and flat sheet)."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch

from gan3dlib.mesh import build_mesh_grid, sheet_shape_image, sphere_shape_image
from gan3dlib.ops import face_normals, index_vertices_by_faces, vertex_normals

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
DTYPES = [torch.float32, torch.float64]


def _xy(n: int, i: int, j: int) -> tuple[float, float]:
    return 2.0 * j / (n - 1) - 1.0, 1.0 - 2.0 * i / (n - 1)


def _sphere_vertices(n: int, radius: float = 0.5, dtype=torch.float64) -> torch.Tensor:
    grid = build_mesh_grid(n)
    return grid.shape_image_to_vertices(sphere_shape_image(n, radius, dtype=dtype)[None])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
def test_sphere_output_form(dtype: torch.dtype, device: str) -> None:
    s0 = sphere_shape_image(9, dtype=dtype, device=device)
    assert s0.shape == (3, 9, 9)
    assert s0.dtype == dtype and s0.device.type == device
    assert bool(torch.isfinite(s0).all())


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("radius", [0.5, 1.3])
def test_sphere_vertices_on_sphere(dtype: torch.dtype, radius: float) -> None:
    n = 12
    s0 = sphere_shape_image(n, radius, dtype=dtype)
    dist = s0.double().norm(dim=0)
    tol = 1e-6 if dtype == torch.float32 else 1e-12
    assert torch.allclose(dist, torch.full_like(dist, radius), atol=tol)


def test_sphere_matches_closed_form_and_poles() -> None:
    n, r, disk = 9, 0.5, 0.9
    s0 = sphere_shape_image(n, r, disk_radius=disk, dtype=torch.float64)
    for i in range(n):
        for j in range(n):
            x, y = _xy(n, i, j)
            rho = math.hypot(x, y) / disk
            if rho >= 1:
                expected = (0.0, 0.0, -r)  # back pole
            else:
                theta, phi = math.pi * rho, math.atan2(y, x)
                expected = (
                    r * math.sin(theta) * math.cos(phi),
                    r * math.sin(theta) * math.sin(phi),
                    r * math.cos(theta),
                )
            assert s0[:, i, j].tolist() == pytest.approx(expected, abs=1e-12)
    # The centre vertex (odd N) is the front pole, facing the camera on +Z.
    assert s0[:, n // 2, n // 2].tolist() == pytest.approx([0.0, 0.0, r], abs=1e-15)


@pytest.mark.parametrize("n", [8, 11, 17, 32])
def test_sphere_face_normals_point_outwards(n: int) -> None:
    verts = _sphere_vertices(n)
    fv = index_vertices_by_faces(verts, build_mesh_grid(n).faces)
    normals = face_normals(fv)[0]
    centroids = fv.mean(dim=2)[0]
    area2 = normals.norm(dim=-1)
    degenerate = area2 < 1e-12
    # Only faces with two vertices exactly on the disk boundary collapse (e.g. N = 11).
    assert int(degenerate.sum()) <= 8
    cos = (normals[~degenerate] * centroids[~degenerate]).sum(-1) / (area2[~degenerate] * 0.5)
    assert bool((cos > 0.1).all())


def test_sphere_vertex_normals_are_radial() -> None:
    n, r = 32, 0.5
    grid = build_mesh_grid(n)
    verts = _sphere_vertices(n, r)
    normals = vertex_normals(verts, grid.faces)[0]
    interior = grid.grid_xy.double().norm(dim=-1) < 0.8
    cos = (normals[interior] * verts[0, interior] / r).sum(-1)
    assert bool((cos > 0.999).all())


@pytest.mark.parametrize("n", [16, 33])
def test_sphere_nearly_closes(n: int) -> None:
    # The open boundary of the wrapped disk lies in a small cap around the back pole.
    r = 0.5
    grid = build_mesh_grid(n)
    verts = _sphere_vertices(n, r)[0]
    directed = {e for a, b, c in grid.faces.tolist() for e in ((a, b), (b, c), (c, a))}
    boundary = {a for a, b in directed if (b, a) not in directed}
    assert boundary
    h = 2.0 / (n - 1)
    z_max = -r * math.cos(math.pi * math.sqrt(2.0) * h)
    assert max(verts[k, 2].item() for k in boundary) < z_max
    # ...and the kept surface covers the front half and reaches behind the equator.
    used = grid.vertex_mask.reshape(-1)
    # (the grid vertex nearest to the centre is at most h / sqrt(2) away from it)
    assert verts[used, 2].max().item() >= r * math.cos(math.pi * h / math.sqrt(2.0)) - 1e-12
    assert verts[used, 2].min().item() < -0.9 * r


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("half_size", [1.0, 0.25])
def test_sheet_closed_form(dtype: torch.dtype, device: str, half_size: float) -> None:
    n = 6
    s0 = sheet_shape_image(n, half_size=half_size, dtype=dtype, device=device)
    assert s0.shape == (3, n, n) and s0.dtype == dtype and s0.device.type == device
    for i in range(n):
        for j in range(n):
            x, y = _xy(n, i, j)
            expected = [half_size * x, half_size * y, 0.0]
            assert s0[:, i, j].tolist() == pytest.approx(expected, abs=1e-6)


def test_sheet_faces_face_camera() -> None:
    n = 10
    grid = build_mesh_grid(n)
    verts = grid.shape_image_to_vertices(sheet_shape_image(n)[None])
    normals = face_normals(index_vertices_by_faces(verts, grid.faces), unit=True)[0]
    assert torch.allclose(normals, torch.tensor([0.0, 0.0, 1.0]).expand_as(normals), atol=1e-6)
    # Every face appears once in the mesh: no duplicated triangles.
    assert max(Counter(frozenset(f) for f in grid.faces.tolist()).values()) == 1


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"n": 1}, "n"),
        ({"n": 4.0}, "n"),
        ({"n": 8, "radius": 0.0}, "radius"),
        ({"n": 8, "radius": -0.5}, "radius"),
        ({"n": 8, "radius": float("inf")}, "radius"),
        ({"n": 8, "disk_radius": 0}, "disk_radius"),
        ({"n": 8, "dtype": torch.int64}, "dtype"),
    ],
)
def test_sphere_bad_input(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name}:"):
        sphere_shape_image(**kwargs)


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"n": 0}, "n"),
        ({"n": 8, "half_size": 0.0}, "half_size"),
        ({"n": 8, "half_size": float("nan")}, "half_size"),
        ({"n": 8, "dtype": "float32"}, "dtype"),
    ],
)
def test_sheet_bad_input(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=f"^{name}:"):
        sheet_shape_image(**kwargs)
