"""Tests for gan3dlib.mesh.grid against naive Python references."""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch

from gan3dlib.mesh import (
    build_mesh_grid,
    normalized_grid,
    shape_image_to_vertices,
    sheet_shape_image,
    vertices_to_shape_image,
)
from gan3dlib.ops import face_normals, index_vertices_by_faces

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
DTYPES = [torch.float32, torch.float64]


def _xy(n: int, i: int, j: int) -> tuple[float, float]:
    return 2.0 * j / (n - 1) - 1.0, 1.0 - 2.0 * i / (n - 1)


def _naive_faces(n: int, radius: float) -> list[tuple[int, int, int]]:
    """Cell by cell, row-major; cell split along the top-right/bottom-left diagonal."""

    def inside(i: int, j: int) -> bool:
        x, y = _xy(n, i, j)
        return x * x + y * y <= radius * radius + 1e-9

    faces = []
    for i in range(n - 1):
        for j in range(n - 1):
            a, b, c, d = (i, j), (i, j + 1), (i + 1, j), (i + 1, j + 1)
            for tri in ((a, c, b), (b, c, d)):
                if all(inside(*p) for p in tri):
                    faces.append(tuple(p[0] * n + p[1] for p in tri))
    return faces


@pytest.mark.parametrize("n,radius", [(2, 2.0), (5, 1.0), (8, 1.0), (9, 0.7), (11, 1.0), (16, 1.3)])
def test_faces_match_naive_loop(n: int, radius: float) -> None:
    grid = build_mesh_grid(n, radius)
    assert grid.faces.dtype == torch.int64
    assert grid.faces.shape[1] == 3
    assert [tuple(f) for f in grid.faces.tolist()] == _naive_faces(n, radius)
    assert torch.equal(grid.face_uvs_idx, grid.faces)
    assert grid.num_faces == grid.faces.shape[0]
    assert grid.num_vertices == n * n


@pytest.mark.parametrize("n", [2, 3, 6, 7])
@pytest.mark.parametrize("radius", [math.sqrt(2.0), 2.0, float("inf")])
def test_full_square_face_count(n: int, radius: float) -> None:
    grid = build_mesh_grid(n, radius)
    assert grid.num_faces == 2 * (n - 1) ** 2
    assert bool(grid.vertex_mask.all())


@pytest.mark.parametrize("n", [7, 10, 17])
def test_face_vertices_inside_circle(n: int) -> None:
    radius = 0.9
    grid = build_mesh_grid(n, radius)
    for face in grid.faces.tolist():
        for k in face:
            x, y = _xy(n, k // n, k % n)
            assert x * x + y * y <= radius * radius + 1e-9


def test_smallest_radius_keeps_centre_faces() -> None:
    # Odd N: the triangles around the centre vertex reach exactly distance 2/(N-1).
    n = 9
    grid = build_mesh_grid(n, 2.0 / (n - 1))
    assert grid.num_faces == len(_naive_faces(n, 2.0 / (n - 1))) > 0
    # Even N: the centre cell's corners are at distance sqrt(2)/(N-1).
    n = 8
    grid = build_mesh_grid(n, math.sqrt(2.0) / (n - 1))
    assert grid.num_faces == 2


@pytest.mark.parametrize("n", [4, 9, 16])
def test_faces_ccw_from_front(n: int) -> None:
    grid = build_mesh_grid(n)
    for face in grid.faces.tolist():
        (x0, y0), (x1, y1), (x2, y2) = (_xy(n, k // n, k % n) for k in face)
        assert (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0) > 0
    # Same through the ops on a flat sheet: normals point to +Z (the camera).
    verts = grid.shape_image_to_vertices(sheet_shape_image(n)[None])
    normals = face_normals(index_vertices_by_faces(verts, grid.faces))
    assert bool((normals[..., 2] > 0).all())


@pytest.mark.parametrize("n,radius", [(9, 1.0), (12, 1.0), (13, 0.8), (6, 2.0)])
def test_manifold_disk_with_consistent_winding(n: int, radius: float) -> None:
    grid = build_mesh_grid(n, radius)
    directed = Counter()
    for a, b, c in grid.faces.tolist():
        for e in ((a, b), (b, c), (c, a)):
            directed[e] += 1
    # Consistent winding: no directed edge twice; an edge shared by two faces is
    # traversed once in each direction.
    assert max(directed.values()) == 1
    undirected = Counter(frozenset(e) for e in directed)
    assert set(undirected.values()) <= {1, 2}
    boundary = [e for e in directed if (e[1], e[0]) not in directed]
    # Boundary edges form closed loops: in-degree equals out-degree at every vertex.
    assert Counter(a for a, _ in boundary) == Counter(b for _, b in boundary)
    # A triangulated disk has Euler characteristic 1.
    used = {k for face in grid.faces.tolist() for k in face}
    assert len(used) - len(undirected) + grid.num_faces == 1


@pytest.mark.parametrize("n,radius", [(8, 1.0), (11, 1.0), (10, 0.5), (5, 3.0)])
def test_vertex_mask_matches_used_vertices(n: int, radius: float) -> None:
    grid = build_mesh_grid(n, radius)
    used = {k for face in _naive_faces(n, radius) for k in face}
    assert grid.vertex_mask.shape == (n, n)
    assert grid.vertex_mask.dtype == torch.bool
    for i in range(n):
        for j in range(n):
            assert bool(grid.vertex_mask[i, j]) == (i * n + j in used)


@pytest.mark.parametrize("n", [2, 5, 8])
def test_uvs_grid_xy_and_face_uvs(n: int) -> None:
    grid = build_mesh_grid(n, 2.0)
    assert grid.uvs.shape == (n * n, 2)
    assert grid.grid_xy.shape == (n * n, 2)
    for i in range(n):
        for j in range(n):
            u, v = grid.uvs[i * n + j].tolist()
            assert u == pytest.approx(j / (n - 1), abs=1e-7)
            assert v == pytest.approx(1 - i / (n - 1), abs=1e-7)
            x, y = grid.grid_xy[i * n + j].tolist()
            assert (x, y) == pytest.approx(_xy(n, i, j), abs=1e-6)
    face_uvs = grid.face_uvs
    assert face_uvs.shape == (grid.num_faces, 3, 2)
    for f, face in enumerate(grid.faces.tolist()):
        for k in range(3):
            assert torch.equal(face_uvs[f, k], grid.uvs[face[k]])
    xy = normalized_grid(n, dtype=torch.float64)
    assert torch.allclose(xy.permute(1, 2, 0).reshape(-1, 2).float(), grid.grid_xy)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
def test_shape_image_round_trip(dtype: torch.dtype, device: str) -> None:
    n, b = 6, 2
    grid = build_mesh_grid(n, device=device)
    img = torch.randn(b, 3, n, n, dtype=dtype, device=device)
    verts = grid.shape_image_to_vertices(img)
    assert verts.shape == (b, n * n, 3)
    assert verts.dtype == dtype
    for bi in range(b):
        for i in range(n):
            for j in range(n):
                assert torch.equal(verts[bi, i * n + j], img[bi, :, i, j])
    back = grid.vertices_to_shape_image(verts)
    assert torch.equal(back, img)
    assert torch.equal(vertices_to_shape_image(shape_image_to_vertices(img), n), img)
    v2 = torch.randn(b, n * n, 3, dtype=dtype, device=device)
    assert torch.equal(shape_image_to_vertices(vertices_to_shape_image(v2, n), n), v2)


@pytest.mark.parametrize("half_size", [1.0, 0.5])
def test_sheet_vertices_follow_uvs(half_size: float) -> None:
    n = 7
    grid = build_mesh_grid(n)
    verts = grid.shape_image_to_vertices(sheet_shape_image(n, half_size=half_size)[None])[0]
    expected = torch.stack([2 * grid.uvs[:, 0] - 1, 2 * grid.uvs[:, 1] - 1], -1) * half_size
    assert torch.allclose(verts[:, :2], expected, atol=1e-6)
    assert bool((verts[:, 2] == 0).all())


@pytest.mark.parametrize("device", DEVICES)
def test_to_moves_and_casts(device: str) -> None:
    grid = build_mesh_grid(5)
    moved = grid.to(device, torch.float64)
    assert moved.faces.device.type == device and moved.device.type == device
    assert moved.uvs.dtype == torch.float64 and moved.grid_xy.dtype == torch.float64
    assert moved.faces.dtype == torch.int64 and moved.vertex_mask.dtype == torch.bool
    assert torch.equal(moved.faces.cpu(), grid.faces)
    assert torch.allclose(moved.uvs.cpu().float(), grid.uvs)
    assert (moved.n, moved.radius) == (grid.n, grid.radius)
    with pytest.raises(ValueError, match="dtype"):
        grid.to(dtype=torch.int32)


@pytest.mark.parametrize("bad_n", [1, 0, -3, 2.5, True, "8", None])
def test_bad_grid_size(bad_n: object) -> None:
    with pytest.raises(ValueError, match="^n:"):
        build_mesh_grid(bad_n)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^n:"):
        normalized_grid(bad_n)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad_radius", [0, -1.0, float("nan"), "1"])
def test_bad_radius(bad_radius: object) -> None:
    with pytest.raises(ValueError, match="radius"):
        build_mesh_grid(8, bad_radius)  # type: ignore[arg-type]


def test_radius_too_small_for_any_triangle() -> None:
    with pytest.raises(ValueError, match="radius.*at least one triangle"):
        build_mesh_grid(9, 0.99 * 2.0 / 8)
    with pytest.raises(ValueError, match="radius"):
        build_mesh_grid(8, 0.1)


def test_bad_shape_images() -> None:
    grid = build_mesh_grid(4)
    with pytest.raises(ValueError, match="shape_image.*\\(\\*, 3, 4, 4\\)"):
        grid.shape_image_to_vertices(torch.zeros(1, 3, 5, 5))
    with pytest.raises(ValueError, match="shape_image"):
        shape_image_to_vertices(torch.zeros(1, 3, 4, 5))
    with pytest.raises(ValueError, match="shape_image"):
        shape_image_to_vertices(torch.zeros(3, 4, 4))
    with pytest.raises(ValueError, match="shape_image"):
        shape_image_to_vertices(torch.zeros(1, 2, 4, 4))
    with pytest.raises(ValueError, match="shape_image.*floating"):
        shape_image_to_vertices(torch.zeros(1, 3, 4, 4, dtype=torch.int64))
    with pytest.raises(ValueError, match="shape_image"):
        shape_image_to_vertices([[0.0]])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="vertices.*\\(\\*, 16, 3\\)"):
        grid.vertices_to_shape_image(torch.zeros(1, 15, 3))
    with pytest.raises(ValueError, match="vertices.*floating"):
        vertices_to_shape_image(torch.zeros(1, 16, 3, dtype=torch.int32), 4)
    with pytest.raises(ValueError, match="^n:"):
        vertices_to_shape_image(torch.zeros(1, 16, 3), 1)
