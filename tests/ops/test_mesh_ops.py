"""Tests for gan3dlib.ops.mesh against naive per-face Python loops."""

from __future__ import annotations

import math

import pytest
import torch

from gan3dlib.ops import face_normals, index_vertices_by_faces, vertex_normals

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
DTYPES = [torch.float32, torch.float64]


def _tol(dtype: torch.dtype) -> float:
    return 1e-5 if dtype == torch.float32 else 1e-12


def _cross(u: list[float], v: list[float]) -> list[float]:
    return [u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]]


def _naive_face_normal(p0: list[float], p1: list[float], p2: list[float]) -> list[float]:
    return _cross([p1[k] - p0[k] for k in range(3)], [p2[k] - p0[k] for k in range(3)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("d,s,index_dtype", [(3, 3, torch.int64), (1, 4, torch.int32), (5, 2, torch.int64)])
def test_index_vertices_by_faces_naive(
    dtype: torch.dtype, device: str, d: int, s: int, index_dtype: torch.dtype
) -> None:
    gen = torch.Generator().manual_seed(0)
    b, v, f = 2, 7, 9
    feats = torch.randn(b, v, d, generator=gen, dtype=dtype).to(device)
    faces = torch.randint(0, v, (f, s), generator=gen).to(device=device, dtype=index_dtype)
    out = index_vertices_by_faces(feats, faces)
    assert out.shape == (b, f, s, d) and out.dtype == dtype
    for bi in range(b):
        for fi in range(f):
            for si in range(s):
                assert torch.equal(out[bi, fi, si], feats[bi, int(faces[fi, si])])


def test_index_vertices_by_faces_gradient_counts_uses() -> None:
    v = 6
    faces = torch.tensor([[0, 1, 2], [2, 1, 3], [3, 1, 0]])
    feats = torch.randn(1, v, 2, requires_grad=True)
    index_vertices_by_faces(feats, faces).sum().backward()
    counts = [sum(row.count(k) for row in faces.tolist()) for k in range(v)]
    assert feats.grad is not None
    assert feats.grad[0, :, 0].tolist() == [float(c) for c in counts]


def test_index_vertices_by_faces_empty_faces() -> None:
    out = index_vertices_by_faces(torch.randn(2, 4, 3), torch.zeros(0, 3, dtype=torch.int64))
    assert out.shape == (2, 0, 3, 3)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
def test_face_normals_naive(dtype: torch.dtype, device: str) -> None:
    gen = torch.Generator().manual_seed(1)
    fv = torch.randn(2, 10, 3, 3, generator=gen, dtype=dtype).to(device)
    normals = face_normals(fv)
    unit = face_normals(fv, unit=True)
    assert normals.shape == (2, 10, 3) and unit.shape == (2, 10, 3)
    for bi in range(2):
        for fi in range(10):
            expected = _naive_face_normal(*fv[bi, fi].tolist())
            length = math.sqrt(sum(c * c for c in expected))
            assert normals[bi, fi].tolist() == pytest.approx(expected, abs=_tol(dtype) * 10)
            assert unit[bi, fi].tolist() == pytest.approx(
                [c / length for c in expected], abs=_tol(dtype) * 10
            )
    assert torch.allclose(unit.norm(dim=-1), torch.ones(2, 10, dtype=dtype, device=device))


def test_face_normals_ccw_points_to_viewer() -> None:
    # Counter-clockwise seen from +Z (x right, y up) gives a +Z normal with length 2 * area.
    fv = torch.tensor([[[[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 3.0, 0.0]]]])
    assert face_normals(fv).tolist() == [[[0.0, 0.0, 6.0]]]
    assert face_normals(fv.flip(2)).tolist() == [[[0.0, 0.0, -6.0]]]


@pytest.mark.parametrize("dtype", DTYPES)
def test_face_normals_degenerate_is_zero(dtype: torch.dtype) -> None:
    # Dyadic coordinates, so the cross product of the collinear edges is exactly zero.
    p = torch.tensor([0.5, -0.25, 1.5], dtype=dtype)
    collinear = torch.stack([p, 2 * p, 3 * p])
    point = torch.stack([p, p, p])
    fv = torch.stack([collinear, point])[None].requires_grad_(True)
    unit = face_normals(fv, unit=True)
    assert bool(torch.isfinite(unit).all())
    assert unit.tolist() == [[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]
    unit.sum().backward()
    assert fv.grad is not None and bool(torch.isfinite(fv.grad).all())


def _naive_vertex_normals(verts: list[list[float]], faces: list[list[int]], unit: bool):
    acc = [[0.0, 0.0, 0.0] for _ in verts]
    for face in faces:
        n = _naive_face_normal(*(verts[k] for k in face))
        for k in face:
            acc[k] = [acc[k][c] + n[c] for c in range(3)]
    if unit:
        for k, a in enumerate(acc):
            length = math.sqrt(sum(c * c for c in a))
            acc[k] = [c / length for c in a] if length > 0 else [0.0, 0.0, 0.0]
    return acc


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("unit", [False, True])
def test_vertex_normals_naive(dtype: torch.dtype, device: str, unit: bool) -> None:
    gen = torch.Generator().manual_seed(2)
    b, v, f = 2, 9, 12
    verts = torch.randn(b, v, 3, generator=gen, dtype=dtype).to(device)
    faces = torch.randint(0, v - 1, (f, 3), generator=gen)  # vertex v-1 is never used
    faces = faces.to(device)
    out = vertex_normals(verts, faces, unit=unit)
    assert out.shape == (b, v, 3) and out.dtype == dtype
    assert bool(torch.isfinite(out).all())
    for bi in range(b):
        expected = _naive_vertex_normals(verts[bi].tolist(), faces.tolist(), unit)
        for k in range(v):
            assert out[bi, k].tolist() == pytest.approx(expected[k], abs=_tol(dtype) * 100)
        assert out[bi, v - 1].tolist() == [0.0, 0.0, 0.0]


def test_vertex_normals_of_tetrahedron_are_radial() -> None:
    # Regular tetrahedron centred at the origin, faces counter-clockwise seen from outside.
    verts = torch.tensor(
        [[1.0, 1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0], [-1.0, -1.0, 1.0]]
    )
    faces = torch.tensor([[0, 1, 2], [0, 2, 3], [0, 3, 1], [1, 3, 2]])
    fv = index_vertices_by_faces(verts[None], faces)
    assert bool(((face_normals(fv)[0] * fv.mean(2)[0]).sum(-1) > 0).all())  # outward
    normals = vertex_normals(verts[None], faces)[0]
    assert torch.allclose(normals, verts / math.sqrt(3.0), atol=1e-6)


def test_bad_inputs_name_the_argument() -> None:
    verts = torch.randn(1, 4, 3)
    faces = torch.tensor([[0, 1, 2], [0, 2, 3]])
    with pytest.raises(ValueError, match="^vertices_features:.*3-d"):
        index_vertices_by_faces(verts[0], faces)
    with pytest.raises(ValueError, match="^faces:.*dtype"):
        index_vertices_by_faces(verts, faces.float())
    with pytest.raises(ValueError, match="^faces:.*2-d"):
        index_vertices_by_faces(verts, faces[None])
    with pytest.raises(ValueError, match=r"^faces:.*\[0, 4\)"):
        index_vertices_by_faces(verts, faces + 2)
    with pytest.raises(ValueError, match=r"^faces:.*\[0, 4\)"):
        index_vertices_by_faces(verts, faces - 1)
    with pytest.raises(ValueError, match="^face_vertices:.*\\(\\*, \\*, 3, 3\\)"):
        face_normals(torch.randn(1, 2, 3, 2))
    with pytest.raises(ValueError, match="^face_vertices:.*floating"):
        face_normals(torch.zeros(1, 2, 3, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match="^face_vertices:"):
        face_normals("not a tensor")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="^vertices:"):
        vertex_normals(torch.randn(1, 4, 2), faces)
    with pytest.raises(ValueError, match="^vertices:.*floating"):
        vertex_normals(torch.zeros(1, 4, 3, dtype=torch.int64), faces)
    with pytest.raises(ValueError, match="^faces:"):
        vertex_normals(verts, torch.tensor([[0, 1, 2, 3]]))
    with pytest.raises(ValueError, match="^faces:.*empty"):
        vertex_normals(verts, torch.zeros(0, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"^faces:.*\[0, 4\)"):
        vertex_normals(verts, faces + 3)
