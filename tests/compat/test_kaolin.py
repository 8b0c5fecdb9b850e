"""Tests for gan3dlib.compat.kaolin against brute-force references of Kaolin's documented semantics.

The references are per-pixel Python loops that transcribe Kaolin's kernels as documented
(``docs``: shared/reference/pytorch3d-kaolin-interfaces.md §4): pixel centres
``x = (2c + 1 - W) / W``, ``y = (H - 2r - 1) / H``, coordinates scaled by ``multiplier``, a half-open
bounding-box test, barycentrics linear in screen space normalised by ``sum + copysign(eps, sum)``,
coverage when all are >= 0, both windings, the maximum z wins.
"""

from __future__ import annotations

import math

import pytest
import torch

from gan3dlib.compat import kaolin as K
from gan3dlib.render.raster_pytorch3d import pytorch3d_available

DTYPES = [torch.float32, torch.float64]
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
SIZES = [(12, 12), (10, 16), (16, 10)]


def feat_tol(dtype: torch.dtype) -> float:
    return 1e-5 if dtype == torch.float32 else 1e-10


def random_faces(batch: int, num_faces: int, dtype: torch.dtype, device: str, seed: int = 0):
    """Well-shaped random triangles in NDC, one depth layer per face (no ties, no interpenetration)."""
    gen = torch.Generator().manual_seed(seed)
    centre = torch.rand(batch, num_faces, 1, 2, generator=gen, dtype=torch.float64) * 1.6 - 0.8
    radius = torch.rand(batch, num_faces, 1, 1, generator=gen, dtype=torch.float64) * 0.5 + 0.3
    angle = torch.rand(batch, num_faces, 1, generator=gen, dtype=torch.float64) * 2 * math.pi
    angle = angle + torch.tensor([0.0, 2.1, 4.2], dtype=torch.float64)
    angle = angle + torch.rand(batch, num_faces, 3, generator=gen, dtype=torch.float64) * 0.4
    image = centre + radius * torch.stack([angle.cos(), angle.sin()], dim=-1)
    layer = torch.stack([torch.randperm(num_faces, generator=gen) for _ in range(batch)]).to(torch.float64)
    z = -(1.0 + 0.5 * layer.unsqueeze(-1) + 0.2 * torch.rand(batch, num_faces, 3, generator=gen, dtype=torch.float64))
    features = torch.rand(batch, num_faces, 3, 4, generator=gen, dtype=torch.float64)
    return (z.to(dtype=dtype, device=device), image.to(dtype=dtype, device=device),
            features.to(dtype=dtype, device=device))


def flip(x: torch.Tensor) -> torch.Tensor:
    """Swaps corners 1 and 2 of every face (reverses the winding)."""
    return x[:, :, [0, 2, 1]]


def ref_rasterize(height, width, z, image, features, valid=None, multiplier=1000.0, eps=1e-8):
    """Kaolin's rasterization kernel, one pixel and one face at a time."""
    batch, num_faces = z.shape[:2]
    zl, il, fl = z.double().tolist(), image.double().tolist(), features.double().tolist()
    vl = None if valid is None else valid.tolist()
    out = torch.zeros(batch, height, width, features.shape[-1], dtype=torch.float64)
    idx = torch.full((batch, height, width), -1, dtype=torch.long)
    for b in range(batch):
        for r in range(height):
            for c in range(width):
                x0 = multiplier / width * (2 * c + 1 - width)
                y0 = multiplier / height * (height - 2 * r - 1)
                best, choice = -math.inf, None
                for f in range(num_faces):
                    if vl is not None and not vl[b][f]:
                        continue
                    (ax, ay), (bx, by), (cx, cy) = [(p[0] * multiplier, p[1] * multiplier) for p in il[b][f]]
                    if x0 < min(ax, bx, cx) or x0 >= max(ax, bx, cx) or y0 < min(ay, by, cy) or y0 >= max(ay, by, cy):
                        continue
                    ax, ay, bx, by, cx, cy = ax - x0, ay - y0, bx - x0, by - y0, cx - x0, cy - y0
                    w = [bx * cy - by * cx, cx * ay - cy * ax, ax * by - ay * bx]
                    norm = sum(w)
                    norm += math.copysign(eps, norm)
                    w = [wi / norm for wi in w]
                    if min(w) < 0:
                        continue
                    depth = w[0] * zl[b][f][0] + w[1] * zl[b][f][1] + w[2] * zl[b][f][2]
                    if depth <= best:
                        continue
                    best, choice = depth, (f, w)
                if choice is not None:
                    f, w = choice
                    idx[b, r, c] = f
                    for d in range(features.shape[-1]):
                        out[b, r, c, d] = sum(w[k] * fl[b][f][k][d] for k in range(3))
    return out, idx


def point_segment_sq(px, py, ax, ay, bx, by):
    ex, ey = bx - ax, by - ay
    t = ((px - ax) * ex + (py - ay) * ey) / (ex * ex + ey * ey)
    t = min(max(t, 0.0), 1.0)
    return (px - ax - t * ex) ** 2 + (py - ay - t * ey) ** 2


def ref_soft_mask(image, selected, sigmainv, boxlen, knum, multiplier=1000.0):
    """Kaolin's DIB-R soft-mask kernel, one pixel and one face at a time."""
    batch, num_faces = image.shape[:2]
    _, height, width = selected.shape
    il, sl = image.double().tolist(), selected.tolist()
    out = torch.zeros(batch, height, width, dtype=torch.float64)
    for b in range(batch):
        for r in range(height):
            for c in range(width):
                if sl[b][r][c] >= 0:
                    out[b, r, c] = 1.0
                    continue
                x0, y0 = (2 * c + 1 - width) / width, (height - 2 * r - 1) / height
                xs, ys = x0 * multiplier, y0 * multiplier
                keep, count = 1.0, 0
                for f in range(num_faces):
                    pts = il[b][f]
                    lo_x = min(p[0] * multiplier for p in pts) - boxlen * multiplier
                    hi_x = max(p[0] * multiplier for p in pts) + boxlen * multiplier
                    lo_y = min(p[1] * multiplier for p in pts) - boxlen * multiplier
                    hi_y = max(p[1] * multiplier for p in pts) + boxlen * multiplier
                    if xs < lo_x or xs >= hi_x or ys < lo_y or ys >= hi_y:
                        continue
                    d2 = min(point_segment_sq(x0, y0, *pts[k], *pts[(k + 1) % 3]) for k in range(3))
                    keep *= 1.0 - math.exp(-sigmainv * d2)
                    count += 1
                    if count >= knum:
                        break
                out[b, r, c] = 1.0 - keep
    return out


# ----------------------------------------------------------------------------------------------
# rasterize


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("flipped", [False, True])
@pytest.mark.parametrize("with_valid", [False, True])
def test_rasterize_matches_kaolin_reference(device, dtype, size, flipped, with_valid):
    height, width = size
    z, image, features = random_faces(2, 8, dtype, device, seed=height * 31 + width)
    if flipped:
        z, image, features = flip(z), flip(image), flip(features)
    valid = None
    if with_valid:
        valid = torch.rand(2, 8, generator=torch.Generator().manual_seed(5)) > 0.4
        valid = valid.to(device)
    out, idx = K.rasterize(height, width, z, image, features, valid)
    ref_out, ref_idx = ref_rasterize(height, width, z.cpu(), image.cpu(), features.cpu(),
                                     None if valid is None else valid.cpu())
    assert out.shape == (2, height, width, 4) and out.dtype == dtype and idx.dtype == torch.int64
    assert torch.equal(idx.cpu(), ref_idx)
    assert (idx >= 0).any() and (idx < 0).any()
    torch.testing.assert_close(out.cpu().double(), ref_out, atol=feat_tol(dtype), rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [(16, 16), (8, 16)])
def test_rasterize_pixel_centres_on_shared_edges(dtype, size):
    """A full-screen quad whose diagonal and vertices hit pixel centres exactly: no holes, ties to the lower index."""
    height, width = size
    quad = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]], dtype=dtype)
    corners = torch.tensor([[0, 1, 2], [0, 2, 3], [1, 2, 3]])  # faces 0 and 1 tile; face 2 overlaps
    image = quad[corners].unsqueeze(0)
    image[0, 2] = image[0, 2] * 0.5 + 0.125  # a smaller face, its vertices on pixel centres for W=16
    z = torch.full((1, 3, 3), -2.0, dtype=dtype)
    z[0, 2] = -3.0  # behind
    features = torch.arange(27, dtype=dtype).view(1, 3, 3, 3)
    out, idx = K.rasterize(height, width, z, image, features)
    ref_out, ref_idx = ref_rasterize(height, width, z, image, features)
    assert (idx >= 0).all()
    assert torch.equal(idx, ref_idx)
    torch.testing.assert_close(out.double(), ref_out, atol=feat_tol(dtype) * 30, rtol=0)


def test_rasterize_tuple_features_and_multiplier_eps():
    z, image, features = random_faces(2, 6, torch.float64, "cpu", seed=3)
    parts = [features[..., :1], features[..., 1:]]
    (a, b), idx = K.rasterize(10, 16, z, image, parts)
    full, idx_full = K.rasterize(10, 16, z, image, features)
    assert isinstance((a, b), tuple) and a.shape[-1] == 1 and b.shape[-1] == 3
    assert torch.equal(idx, idx_full) and torch.equal(torch.cat([a, b], -1), full)
    out, idx2 = K.rasterize(10, 16, z, image, features, multiplier=10.0, eps=1e-3)
    ref_out, ref_idx = ref_rasterize(10, 16, z, image, features, multiplier=10.0, eps=1e-3)
    assert torch.equal(idx2, ref_idx)
    torch.testing.assert_close(out, ref_out, atol=1e-10, rtol=0)


def test_rasterize_gradients_match_finite_differences():
    z, image, features = random_faces(1, 5, torch.float64, "cpu", seed=11)
    weights = torch.rand(1, 12, 12, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)

    def loss(img, feat):
        out, idx = K.rasterize(12, 12, z, img, feat)
        return (out * weights).sum(), idx

    image_var, feat_var = image.clone().requires_grad_(), features.clone().requires_grad_()
    value, idx = loss(image_var, feat_var)
    value.backward()
    assert image_var.grad.abs().sum() > 0 and feat_var.grad.abs().sum() > 0
    drawn = sorted(set(idx[idx >= 0].tolist()))
    h = 1e-6
    checked = 0
    for f in drawn:
        for corner, axis in ((0, 0), (1, 1), (2, 0)):
            plus, minus = image.clone(), image.clone()
            plus[0, f, corner, axis] += h
            minus[0, f, corner, axis] -= h
            (lp, ip), (lm, im) = loss(plus, features), loss(minus, features)
            if not (torch.equal(ip, idx) and torch.equal(im, idx)):
                continue  # coverage changed: the derivative is not defined there
            numeric = (lp - lm) / (2 * h)
            assert abs(float(numeric) - float(image_var.grad[0, f, corner, axis])) < 1e-6 * max(1.0, abs(float(numeric)))
            checked += 1
        plus = features.clone()
        plus[0, f, 1, 2] += h
        numeric = (loss(image, plus)[0] - value.detach()) / h
        assert abs(float(numeric) - float(feat_var.grad[0, f, 1, 2])) < 1e-5
    assert checked >= 6
    z_var = z.clone().requires_grad_()
    out, _ = K.rasterize(12, 12, z_var, image, features)
    assert not out.requires_grad or z_var.grad is None


@pytest.mark.parametrize("device", DEVICES)
def test_rasterize_backends(device):
    z, image, features = random_faces(2, 8, torch.float32, device, seed=7)
    out, idx = K.rasterize(10, 16, z, image, features, backend="torch")
    names = ["cuda", "nvdiffrast", "nvdiffrast_fwd", "auto"] + (["pytorch3d"] if pytorch3d_available() else [])
    for name in names:
        other, other_idx = K.rasterize(10, 16, z, image, features, backend=name)
        assert torch.equal(other_idx, idx), name
        torch.testing.assert_close(other, out, atol=0, rtol=0)
    with pytest.raises(ValueError, match="backend"):
        K.rasterize(10, 16, z, image, features, backend="opengl")
    with pytest.raises(ValueError, match="backend"):
        K.soft_rasterize(10, 16, z, image, features, backend="vulkan")


# ----------------------------------------------------------------------------------------------
# dibr_soft_mask


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("params", [(7000.0, 0.02, 30), (30.0, 0.5, 3)])
def test_dibr_soft_mask_matches_kaolin_reference(device, dtype, size, params):
    height, width = size
    sigmainv, boxlen, knum = params
    z, image, _ = random_faces(2, 8, dtype, device, seed=height + width)
    image = image * 0.6  # leave background around the mesh
    _, idx = K.rasterize(height, width, z, image, image.new_ones(2, 8, 3, 1))
    mask = K.dibr_soft_mask(image, idx, sigmainv, boxlen, knum)
    ref = ref_soft_mask(image.cpu(), idx.cpu(), sigmainv, boxlen, knum)
    assert mask.shape == (2, height, width) and mask.dtype == dtype
    assert (mask[idx >= 0] == 1).all()
    uncovered = ref[idx.cpu() < 0]
    assert ((uncovered > 0.01) & (uncovered < 0.99)).any()
    torch.testing.assert_close(mask.cpu().double(), ref, atol=feat_tol(dtype), rtol=0)


def test_dibr_soft_mask_gradients():
    z, image, _ = random_faces(1, 4, torch.float64, "cpu", seed=4)
    image = image * 0.5
    _, idx = K.rasterize(10, 16, z, image, image.new_ones(1, 4, 3, 1))
    weights = torch.rand(1, 10, 16, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    var = image.clone().requires_grad_()
    (K.dibr_soft_mask(var, idx, 50.0, 0.3, 30) * weights).sum().backward()
    h = 1e-6
    for f, corner, axis in ((0, 0, 0), (1, 2, 1), (3, 1, 0)):
        plus, minus = image.clone(), image.clone()
        plus[0, f, corner, axis] += h
        minus[0, f, corner, axis] -= h
        numeric = ((K.dibr_soft_mask(plus, idx, 50.0, 0.3, 30) - K.dibr_soft_mask(minus, idx, 50.0, 0.3, 30))
                   * weights).sum() / (2 * h)
        assert abs(float(numeric) - float(var.grad[0, f, corner, axis])) < 1e-6
    # A pixel centre exactly on an uncovered face's vertex: a factor is 0, the gradient stays finite.
    on_vertex = torch.tensor([[[[-0.8125, 0.9], [0.5, 0.5], [-0.5, -0.5]]]], dtype=torch.float64, requires_grad=True)
    none = torch.full((1, 10, 16), -1, dtype=torch.long)
    mask = K.dibr_soft_mask(on_vertex, none)
    assert mask[0, 0, 1] == 1.0
    mask.sum().backward()
    assert torch.isfinite(on_vertex.grad).all()


# ----------------------------------------------------------------------------------------------
# soft_rasterize


def pixel_distance_to_triangle(height, width, image):
    """(H, W) distance in pixels from each pixel centre to the (single, 2D) triangle; 0 inside."""
    u = (image[:, 0].double() + 1) * width / 2
    v = (1 - image[:, 1].double()) * height / 2
    pts = list(zip(u.tolist(), v.tolist()))
    out = torch.zeros(height, width, dtype=torch.float64)
    for r in range(height):
        for c in range(width):
            px, py = c + 0.5, r + 0.5
            e = [(pts[(k + 1) % 3][0] - pts[k][0]) * (py - pts[k][1]) - (pts[(k + 1) % 3][1] - pts[k][1]) * (px - pts[k][0])
                 for k in range(3)]
            if min(e) > 0 or max(e) < 0:
                continue
            out[r, c] = math.sqrt(min(point_segment_sq(px, py, *pts[k], *pts[(k + 1) % 3]) for k in range(3)))
    return out


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
def test_soft_rasterize_single_triangle_band(device, dtype, size):
    height, width = size
    image = torch.tensor([[[[-0.6, -0.5], [0.55, -0.3], [0.1, 0.6]]]], dtype=dtype, device=device)
    z = torch.full((1, 1, 3), -2.0, dtype=dtype, device=device)
    features = torch.tensor([[[[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]]], dtype=dtype, device=device)
    blur = 1.5
    out, mask, idx = K.soft_rasterize(height, width, z, image, features, blur_px=blur)
    dist = pixel_distance_to_triangle(height, width, image[0, 0].cpu())
    expected = (1 - dist / blur).clamp(min=0)
    torch.testing.assert_close(mask.cpu().double()[0], expected, atol=1e-5 if dtype == torch.float32 else 1e-10, rtol=0)
    covered = idx[0].cpu() >= 0
    band = ~covered & (dist > 0) & (dist < blur)
    assert (mask[0].cpu()[covered] == 1).all() and band.any()
    assert ((mask[0].cpu()[band] > 0) & (mask[0].cpu()[band] < 1)).all()
    assert (mask[0].cpu()[dist >= blur] == 0).all() and (out[0].cpu()[dist >= blur] == 0).all()
    kaolin_out, kaolin_idx = K.rasterize(height, width, z, image, features)
    assert torch.equal(kaolin_idx, idx)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
def test_soft_rasterize_matches_rasterize_away_from_edges(dtype, size):
    height, width = size
    blur = 1.0
    z, image, features = random_faces(2, 6, dtype, "cpu", seed=21)
    valid = torch.tensor([[True, True, False, True, True, True], [True] * 6])
    (out, out2), mask, idx = K.soft_rasterize(height, width, z, image, [features[..., :3], features[..., 3:]], valid,
                                              blur_px=blur)
    ref, ref_idx = K.rasterize(height, width, z, image, features, valid)
    # Pixels farther than the band from every edge of every drawn face have no soft candidate.
    far = torch.ones(2, height, width, dtype=torch.bool)
    for b in range(2):
        for f in range(6):
            if valid[b, f]:
                tri = image[b, f].clone()
                for k in range(3):  # distance to each edge: a degenerate "triangle" on the edge
                    edge = torch.stack([tri[k], tri[(k + 1) % 3], (tri[k] + tri[(k + 1) % 3]) / 2])
                    far[b] &= pixel_distance_to_triangle(height, width, edge) >= blur
    assert far.any() and (~far).any()
    assert torch.equal(idx[far], ref_idx[far])
    torch.testing.assert_close(torch.cat([out, out2], -1)[far], ref[far], atol=feat_tol(dtype) * 10, rtol=0)
    assert (mask[idx >= 0] == 1).all()
    assert (out[mask == 0] == 0).all()


def test_soft_rasterize_silhouette_gradients():
    image = torch.tensor([[[[-0.6, -0.5], [0.55, -0.3], [0.1, 0.6]]]], dtype=torch.float64, requires_grad=True)
    z = torch.full((1, 1, 3), -2.0, dtype=torch.float64)
    features = torch.ones(1, 1, 3, 1, dtype=torch.float64)
    out, mask, idx = K.soft_rasterize(12, 12, z, image, features, blur_px=1.0)
    band = (mask > 0) & (mask < 1)
    assert band.any() and (idx[band] == -1).all()
    (grad,) = torch.autograd.grad(mask[band].sum() + out[band].sum(), image)
    assert grad.abs().sum() > 0 and torch.isfinite(grad).all()
    kaolin_out, _ = K.rasterize(12, 12, z, image, features)
    (kaolin_grad,) = torch.autograd.grad(kaolin_out[band].sum(), image, allow_unused=True)
    assert kaolin_grad is None or (kaolin_grad == 0).all()


@pytest.mark.parametrize("backend", ["torch"] + (["pytorch3d"] if pytorch3d_available() else []))
def test_soft_rasterize_no_holes_on_shared_edges(backend):
    quad = torch.tensor([[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]], dtype=torch.float64)
    image = quad[torch.tensor([[0, 1, 2], [0, 2, 3]])].unsqueeze(0)  # the diagonal crosses 16 pixel centres
    z = torch.full((1, 2, 3), -2.0, dtype=torch.float64)
    _, mask, idx = K.soft_rasterize(16, 16, z, image, torch.ones(1, 2, 3, 1, dtype=torch.float64), backend=backend)
    assert (idx >= 0).all() and (mask == 1).all()


@pytest.mark.skipif(not pytorch3d_available(), reason="PyTorch3D extension not available")
def test_soft_rasterize_backends_agree():
    z, image, features = random_faces(2, 6, torch.float64, "cpu", seed=9)
    a = K.soft_rasterize(10, 16, z, image, features, backend="torch")
    b = K.soft_rasterize(10, 16, z, image, features, backend="pytorch3d")
    assert torch.equal(a[2], b[2])
    torch.testing.assert_close(a[0], b[0])
    torch.testing.assert_close(a[1], b[1])


# ----------------------------------------------------------------------------------------------
# texture_mapping and prepare_vertices


def ref_texture(uv, tex, mode):
    """Naive lookup: uv clamped, align_corners=False texel centres, border padding."""
    channels, th, tw = tex.shape
    u, v = min(max(uv[0], 0.0), 1.0), min(max(uv[1], 0.0), 1.0)
    x, y = u * tw - 0.5, (1 - v) * th - 0.5
    if mode == "nearest":
        return tex[:, min(max(round(y), 0), th - 1), min(max(round(x), 0), tw - 1)]
    x, y = min(max(x, 0.0), tw - 1), min(max(y, 0.0), th - 1)
    x0, y0 = min(int(math.floor(x)), tw - 1), min(int(math.floor(y)), th - 1)
    x1, y1 = min(x0 + 1, tw - 1), min(y0 + 1, th - 1)
    ax, ay = x - x0, y - y0
    return ((1 - ax) * (1 - ay) * tex[:, y0, x0] + ax * (1 - ay) * tex[:, y0, x1]
            + (1 - ax) * ay * tex[:, y1, x0] + ax * ay * tex[:, y1, x1])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
@pytest.mark.parametrize("dense", [True, False])
def test_texture_mapping(device, dtype, mode, dense):
    gen = torch.Generator().manual_seed(3)
    shape = (2, 3, 5, 2) if dense else (2, 7, 2)
    uv = (torch.rand(shape, generator=gen, dtype=torch.float64) * 1.4 - 0.2).to(dtype=dtype, device=device)
    tex = torch.rand(2, 3, 4, 6, generator=gen, dtype=torch.float64).to(dtype=dtype, device=device)
    out = K.texture_mapping(uv, tex, mode)
    assert out.shape == (*shape[:-1], 3) and out.dtype == dtype
    flat_uv, flat_out = uv.reshape(2, -1, 2).cpu().double(), out.reshape(2, -1, 3).cpu().double()
    for b in range(2):
        for p in range(flat_uv.shape[1]):
            expected = ref_texture(flat_uv[b, p].tolist(), tex[b].cpu().double(), mode)
            torch.testing.assert_close(flat_out[b, p], expected, atol=1e-5 if dtype == torch.float32 else 1e-12, rtol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_prepare_vertices(dtype):
    gen = torch.Generator().manual_seed(0)
    vertices = (torch.rand(2, 5, 3, generator=gen, dtype=torch.float64) - 0.5).to(dtype)
    faces = torch.tensor([[0, 1, 2], [2, 1, 3], [4, 3, 0]])
    proj = K.generate_perspective_projection(0.8, 16 / 10, dtype=dtype)
    position = torch.tensor([[0.3, 0.4, 3.0], [-1.0, 0.5, -2.5]], dtype=dtype)
    look_at = torch.zeros(1, 3, dtype=dtype)
    up = torch.tensor([[0.0, 1.0, 0.0]], dtype=dtype)
    transform = K.generate_transformation_matrix(position, look_at, up)
    rot, trans = transform[:, :3].transpose(1, 2), position
    cam, img, normals = K.prepare_vertices(vertices, faces, proj, camera_rot=rot, camera_trans=trans)
    v_cam = torch.einsum("bij,bvj->bvi", rot, vertices - trans[:, None])
    x, y, zc = v_cam.unbind(-1)
    v_img = torch.stack([x * proj[0, 0] / -zc, y * proj[1, 0] / -zc], -1)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(cam, v_cam[:, faces], atol=tol, rtol=tol)
    torch.testing.assert_close(img, v_img[:, faces], atol=tol, rtol=tol)
    n = torch.linalg.cross(cam[:, :, 1] - cam[:, :, 0], cam[:, :, 2] - cam[:, :, 0], dim=-1)
    torch.testing.assert_close(normals, n / n.norm(dim=-1, keepdim=True), atol=tol, rtol=tol)
    cam2, img2, normals2 = K.prepare_vertices(vertices, faces, proj, camera_transform=transform)
    torch.testing.assert_close(cam2, cam, atol=tol, rtol=tol)
    torch.testing.assert_close(img2, img, atol=tol, rtol=tol)
    torch.testing.assert_close(normals2, normals, atol=tol, rtol=tol)


# ----------------------------------------------------------------------------------------------
# bad input


def test_exports():
    for name in ("rasterize", "soft_rasterize", "dibr_soft_mask", "dibr_rasterization", "texture_mapping",
                 "prepare_vertices", "index_vertices_by_faces", "face_normals", "generate_perspective_projection",
                 "generate_transformation_matrix", "rotate_translate_points", "perspective_camera"):
        assert callable(getattr(K, name)), name


def test_bad_inputs_name_the_argument():
    z, image, features = random_faces(2, 4, torch.float32, "cpu")
    cases = [
        ("height", lambda: K.rasterize(0, 8, z, image, features)),
        ("width", lambda: K.rasterize(8, 2.5, z, image, features)),
        ("face_vertices_z", lambda: K.rasterize(8, 8, z[..., :2], image, features)),
        ("face_vertices_image", lambda: K.rasterize(8, 8, z, image[:1], features)),
        ("face_vertices_image", lambda: K.rasterize(8, 8, z, image[:, :3], features)),
        ("face_vertices_image", lambda: K.rasterize(8, 8, z, image.long(), features)),
        ("face_features", lambda: K.rasterize(8, 8, z, image, features[:, :3])),
        ("face_features", lambda: K.rasterize(8, 8, z, image, [])),
        ("face_features\\[1\\]", lambda: K.rasterize(8, 8, z, image, [features, features[0]])),
        ("valid_faces", lambda: K.rasterize(8, 8, z, image, features, torch.ones(2, 4))),
        ("valid_faces", lambda: K.rasterize(8, 8, z, image, features, torch.ones(2, 3, dtype=torch.bool))),
        ("multiplier", lambda: K.rasterize(8, 8, z, image, features, multiplier=-1.0)),
        ("eps", lambda: K.rasterize(8, 8, z, image, features, eps="small")),
        ("blur_px", lambda: K.soft_rasterize(8, 8, z, image, features, blur_px=0.0)),
        ("knum", lambda: K.soft_rasterize(8, 8, z, image, features, knum=0)),
        ("face_vertices_image", lambda: K.dibr_soft_mask(image[..., :1], torch.full((2, 8, 8), -1))),
        ("selected_face_idx", lambda: K.dibr_soft_mask(image, torch.full((3, 8, 8), -1))),
        ("selected_face_idx", lambda: K.dibr_soft_mask(image, torch.full((2, 8, 8), -1.0))),
        ("selected_face_idx", lambda: K.dibr_soft_mask(image, torch.full((2, 8, 8), 4))),
        ("knum", lambda: K.dibr_soft_mask(image, torch.full((2, 8, 8), -1), knum=2.5)),
        ("texture_coordinates", lambda: K.texture_mapping(torch.rand(2, 4, 3), torch.rand(2, 3, 4, 4))),
        ("texture_maps", lambda: K.texture_mapping(torch.rand(2, 4, 2), torch.rand(3, 3, 4, 4))),
        ("texture_maps", lambda: K.texture_mapping(torch.rand(2, 4, 2), torch.rand(2, 4, 4))),
        ("mode", lambda: K.texture_mapping(torch.rand(2, 4, 2), torch.rand(2, 3, 4, 4), mode="linear")),
        ("camera_rot", lambda: K.prepare_vertices(torch.rand(2, 4, 3), torch.tensor([[0, 1, 2]]),
                                                  K.generate_perspective_projection(1.0))),
        ("camera_transform", lambda: K.prepare_vertices(torch.rand(2, 4, 3), torch.tensor([[0, 1, 2]]),
                                                        K.generate_perspective_projection(1.0),
                                                        camera_transform=torch.rand(2, 3, 3))),
        ("camera_transform", lambda: K.prepare_vertices(torch.rand(2, 4, 3), torch.tensor([[0, 1, 2]]),
                                                        K.generate_perspective_projection(1.0),
                                                        camera_rot=torch.eye(3).expand(2, 3, 3),
                                                        camera_transform=torch.rand(2, 4, 3))),
        ("faces", lambda: K.prepare_vertices(torch.rand(2, 4, 3), torch.tensor([[0, 1, 7]]),
                                             K.generate_perspective_projection(1.0),
                                             camera_transform=torch.rand(2, 4, 3))),
    ]
    for name, call in cases:
        with pytest.raises(ValueError, match=name):
            call()
