"""Point-cloud metrics (surface sampling, Chamfer, COV/MMD) against independent references."""

from __future__ import annotations

import math

import pytest
import torch

from gan3dlib.eval.point_metrics import (
    chamfer_distance_matrix,
    coverage_and_mmd,
    normalize_point_clouds,
    sample_surface_points,
)


def point_triangle_distance(p: torch.Tensor, tri: torch.Tensor) -> float:
    """Brute force: the plane projection if it falls inside, else the nearest of the three edges."""
    a, b, c = tri
    n = torch.linalg.cross(b - a, c - a)
    n = n / n.norm()
    q = p - torch.dot(p - a, n) * n
    inside = all(torch.dot(torch.linalg.cross(v1 - v0, q - v0), n) >= -1e-12 for v0, v1 in ((a, b), (b, c), (c, a)))
    if inside:
        return float((p - q).norm())
    best = math.inf
    for v0, v1 in ((a, b), (b, c), (c, a)):
        t = float(torch.dot(p - v0, v1 - v0) / torch.dot(v1 - v0, v1 - v0))
        best = min(best, float((p - (v0 + min(max(t, 0.0), 1.0) * (v1 - v0))).norm()))
    return best


def naive_chamfer(x: torch.Tensor, y: torch.Tensor) -> float:
    """Double loop over the points: mean squared NN distance both ways, summed."""

    def one_way(s, t):
        return sum(min(sum((float(p[k]) - float(q[k])) ** 2 for k in range(3)) for q in t) for p in s) / len(s)

    return one_way(x, y) + one_way(y, x)


def cube_mesh(batch: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Randomly jittered cubes, plus a far-away degenerate face and an unused vertex."""
    corners = torch.tensor([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], dtype=torch.float64)
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = [f for a, b, c, d in quads for f in ((a, b, c), (a, c, d))]
    extra = torch.tensor([[10.0, 0, 0], [11.0, 0, 0], [12.0, 0, 0], [-20.0, 0, 0]], dtype=torch.float64)
    faces.append((8, 9, 10))  # collinear: zero area
    gen = torch.Generator().manual_seed(0)
    verts = corners + 0.2 * torch.rand(batch, 8, 3, generator=gen, dtype=torch.float64)
    verts = torch.cat([verts, extra.expand(batch, -1, -1)], dim=1)
    return verts, torch.tensor(faces)


def test_samples_lie_on_the_surface_and_avoid_degenerate_faces():
    verts, faces = cube_mesh()
    pts = sample_surface_points(verts, faces, 150, generator=torch.Generator().manual_seed(1))
    assert pts.shape == (2, 150, 3) and pts.dtype == torch.float64
    real = faces[:-1]  # the non-degenerate faces
    for b in range(2):
        for p in pts[b]:
            dist = min(point_triangle_distance(p, verts[b, f]) for f in real)
            assert dist < 1e-9
        assert float(pts[b, :, 0].max()) < 2.0  # nothing on the degenerate face at x >= 10


def test_sampling_is_area_proportional_and_uniform():
    # Two parallel triangles with areas 1 and 3, at z = 0 and z = 5.
    verts = torch.tensor([[[0.0, 0, 0], [2, 0, 0], [0, 1, 0], [0, 0, 5], [3, 0, 5], [0, 2, 5]]], dtype=torch.float64)
    faces = torch.tensor([[0, 1, 2], [3, 4, 5]])
    pts = sample_surface_points(verts, faces, 20000, generator=torch.Generator().manual_seed(2))[0]
    upper = pts[:, 2] > 2.5
    assert abs(float(upper.double().mean()) - 0.75) < 0.015
    # Uniform within a triangle: the sample mean is the centroid (std of the mean ~ 0.004 here).
    assert torch.allclose(pts[upper].mean(0), verts[0, 3:].mean(0), atol=0.03)
    assert torch.allclose(pts[~upper].mean(0), verts[0, :3].mean(0), atol=0.03)


def test_sampling_is_deterministic_with_a_seed():
    verts, faces = cube_mesh()
    first = sample_surface_points(verts.float(), faces, 64, generator=torch.Generator().manual_seed(3))
    again = sample_surface_points(verts.float(), faces, 64, generator=torch.Generator().manual_seed(3))
    other = sample_surface_points(verts.float(), faces, 64, generator=torch.Generator().manual_seed(4))
    assert torch.equal(first, again) and not torch.equal(first, other) and first.dtype == torch.float32


def test_chamfer_matches_a_naive_double_loop():
    gen = torch.Generator().manual_seed(5)
    a, b = torch.randn(3, 4, 3, generator=gen), torch.randn(2, 6, 3, generator=gen)
    got = chamfer_distance_matrix(a, b)
    assert got.shape == (3, 2)
    for i in range(3):
        for j in range(2):
            assert math.isclose(float(got[i, j]), naive_chamfer(a[i], b[j]), rel_tol=1e-5)


def test_chamfer_matches_pytorch3d_convention():
    from pytorch3d.loss import chamfer_distance

    gen = torch.Generator().manual_seed(6)
    a, b = torch.randn(4, 50, 3, generator=gen), torch.randn(3, 70, 3, generator=gen)
    got = chamfer_distance_matrix(a, b)
    xs = a[:, None].expand(-1, 3, -1, -1).reshape(12, 50, 3)
    ys = b[None].expand(4, -1, -1, -1).reshape(12, 70, 3)
    ref, _ = chamfer_distance(xs, ys, point_reduction="mean", batch_reduction=None)
    assert torch.allclose(got, ref.reshape(4, 3), rtol=1e-5, atol=1e-6)


def test_chamfer_is_zero_for_identical_clouds_and_independent_of_chunking():
    a = torch.randn(5, 40, 3, generator=torch.Generator().manual_seed(7))
    full = chamfer_distance_matrix(a, a, chunk=1000)
    assert torch.all(full.diagonal() == 0) and torch.all(full + torch.eye(5) > 0)
    assert torch.allclose(full, full.T)
    for chunk in (1, 3, 7):
        assert torch.equal(chamfer_distance_matrix(a, a, chunk=chunk), full)


def test_normalization_modes():
    pts = torch.randn(3, 100, 3, generator=torch.Generator().manual_seed(8)) * torch.tensor([1.0, 2.0, 0.5])
    box = normalize_point_clouds(pts, "unit_box")
    lo, hi = box.amin(1), box.amax(1)
    assert torch.allclose((lo + hi) / 2, torch.zeros(3, 3), atol=1e-6)
    assert torch.allclose((hi - lo).amax(-1), torch.ones(3))
    sphere = normalize_point_clouds(pts)
    assert torch.allclose(sphere.mean(1), torch.zeros(3, 3), atol=1e-6)
    assert torch.allclose(sphere.norm(dim=-1).amax(1), torch.ones(3))
    moved = 3.0 * pts + torch.tensor([5.0, -1.0, 2.0])
    for mode in ("unit_box", "unit_sphere"):
        assert torch.allclose(normalize_point_clouds(moved, mode), normalize_point_clouds(pts, mode), atol=1e-5)


def shape_set(n: int = 6, points: int = 64) -> torch.Tensor:
    """n distinct shapes: noisy ellipsoids with different axes."""
    gen = torch.Generator().manual_seed(9)
    dirs = torch.randn(n, points, 3, generator=gen)
    dirs = dirs / dirs.norm(dim=-1, keepdim=True)
    axes = 0.5 + torch.rand(n, 1, 3, generator=gen)
    return dirs * axes


def test_identical_sets_cover_everything_at_zero_distance():
    ref = shape_set()
    result = coverage_and_mmd(ref, ref)
    assert result["cov"] == 1.0 and result["mmd"] == 0.0
    assert result["matched"].tolist() == list(range(6))


def test_copies_of_one_shape_cover_one_reference():
    from pytorch3d.loss import chamfer_distance

    ref = shape_set()
    k = 2
    generated = ref[k : k + 1].expand(4, -1, -1).clone()
    result = coverage_and_mmd(generated, ref)
    assert math.isclose(result["cov"], 1 / 6)
    to_k, _ = chamfer_distance(ref, ref[k : k + 1].expand(6, -1, -1), batch_reduction=None)
    assert math.isclose(result["mmd"], float(to_k.mean()), rel_tol=1e-5)


def test_shuffled_set_covers_everything():
    ref = shape_set()
    perm = torch.randperm(6, generator=torch.Generator().manual_seed(10))
    result = coverage_and_mmd(ref[perm], ref)
    assert result["cov"] == 1.0 and result["mmd"] == 0.0
    assert torch.equal(result["matched"], perm)


def test_single_point_clouds_by_hand():
    # One point per cloud: CD = 2 |x - y|^2. References at x = 0, 1, 10; generated at 0.1, 0.2, 9.
    def on_x_axis(xs: list[float]) -> torch.Tensor:
        return torch.tensor([[[x, 0.0, 0.0]] for x in xs], dtype=torch.float64)  # (n, 1, 3)

    ref, gen = on_x_axis([0.0, 1.0, 10.0]), on_x_axis([0.1, 0.2, 9.0])
    result = coverage_and_mmd(gen, ref)
    assert result["matched"].tolist() == [0, 0, 2]
    assert math.isclose(result["cov"], 2 / 3)
    assert math.isclose(result["mmd"], (2 * 0.01 + 2 * 0.64 + 2 * 1.0) / 3)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: sample_surface_points(torch.zeros(1, 4, 2), torch.tensor([[0, 1, 2]]), 8), "vertices"),
        (lambda: sample_surface_points(torch.rand(1, 3, 3), torch.tensor([[0, 1, 5]]), 8), "faces"),
        (lambda: sample_surface_points(torch.rand(1, 3, 3), torch.tensor([[0, 1, 2]]), 0), "num_points"),
        (lambda: sample_surface_points(torch.zeros(1, 3, 3), torch.tensor([[0, 1, 2]]), 8), "vertices"),
        (lambda: normalize_point_clouds(torch.rand(2, 5, 3), "cube"), "mode"),
        (lambda: normalize_point_clouds(torch.rand(5, 3)), "points"),
        (lambda: chamfer_distance_matrix(torch.rand(2, 5, 3), torch.rand(2, 5, 2)), "b"),
        (lambda: chamfer_distance_matrix(torch.rand(2, 5, 3), torch.rand(2, 5, 3), chunk=0), "chunk"),
        (lambda: coverage_and_mmd(torch.rand(0, 5, 3), torch.rand(2, 5, 3)), "generated"),
        (lambda: coverage_and_mmd(torch.rand(2, 5, 3), torch.ones(2, 5, 3, dtype=torch.int64)), "reference"),
        (lambda: coverage_and_mmd(torch.rand(2, 5, 3), torch.rand(2, 5, 3), normalize="x"), "normalize"),
    ],
)
def test_bad_inputs_name_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{name}\b"):
        call()
