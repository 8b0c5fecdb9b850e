"""Rasterizer backends: against a naive per-pixel reference and against each other."""

from __future__ import annotations

import dataclasses
import pytest
import torch
from naive_render import candidates_naive

from gan3dlib.render.fragments import RasterSettings
from gan3dlib.render.raster_pytorch3d import pytorch3d_available, rasterize_pytorch3d
from gan3dlib.render.raster_torch import rasterize_face_major

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
needs_p3d = pytest.mark.skipif(not pytorch3d_available(), reason="PyTorch3D extension not available")


def triangle_soup(seed, batch=2, num_faces=6, height=12, width=10, dtype=torch.float64, device="cpu"):
    """Random overlapping triangles at random depths, some larger than the image."""
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(batch, num_faces * 3, 2, generator=g, dtype=dtype) * 1.4 - 0.2
    xy = xy * torch.tensor([width, height], dtype=dtype)
    depth = 1.0 + torch.rand(batch, num_faces * 3, 1, generator=g, dtype=dtype) * 2.0
    verts = torch.cat([xy, depth], -1).to(device)
    faces = torch.arange(num_faces * 3, device=device).view(num_faces, 3)
    return verts, faces


def fragments_as_sets(frags):
    """Per pixel: {packed face: (zbuf, dists)}."""
    p2f = frags.pix_to_face.cpu()
    out = {}
    for idx in torch.nonzero(p2f >= 0).tolist():
        b, r, c, k = idx
        out.setdefault((b, r, c), {})[int(p2f[b, r, c, k])] = (
            float(frags.zbuf[b, r, c, k]),
            float(frags.dists[b, r, c, k]),
        )
    return out


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("size", [(12, 10), (9, 14)])
def test_torch_backend_matches_naive_reference(device, dtype, size):
    H, W = size
    blur = 1.3
    verts, faces = triangle_soup(0, height=H, width=W, dtype=dtype, device=device)
    settings = RasterSettings(image_size=(H, W), blur_px=blur, faces_per_pixel=20, prune_occluded=False)
    frags = rasterize_face_major(verts, faces, settings)
    got = fragments_as_sets(frags)
    scale = min(H, W) / 2.0
    num_faces = faces.shape[0]
    tol = 1e-4 if dtype == torch.float32 else 1e-9
    for b in range(verts.shape[0]):
        ref = candidates_naive(verts[b].cpu().tolist(), faces.tolist(), H, W, blur)
        for (r, c), found in ref.items():
            mine = got.get((b, r, c), {})
            # Pixels right at the band edge may flip with rounding; compare the robust ones.
            robust = {f: v for f, v in found.items() if v[0] or abs(v[1] ** 0.5 - blur) > 1e-3}
            assert set(robust) <= {f - b * num_faces for f in mine}, (b, r, c)
            for f, (inside, d2, depth) in robust.items():
                z, dist = mine[f + b * num_faces]
                assert (dist < 0) == inside
                assert abs(abs(dist) * scale * scale - d2) < tol * max(1.0, d2)
                assert abs(z - depth) < tol * 10
    # Slots are sorted by depth, nearest first.
    z = frags.zbuf.masked_fill(frags.pix_to_face < 0, float("inf"))
    assert bool((z[..., 1:] >= z[..., :-1]).all())


@pytest.mark.parametrize("chunk", [1, 17, 1 << 20])
def test_chunking_does_not_change_the_result(chunk):
    verts, faces = triangle_soup(1, height=16, width=16)
    ref = rasterize_face_major(verts, faces, RasterSettings(image_size=(16, 16), blur_px=1.0, faces_per_pixel=6))
    got = rasterize_face_major(
        verts, faces, RasterSettings(image_size=(16, 16), blur_px=1.0, faces_per_pixel=6, max_pairs_per_chunk=chunk)
    )
    for a, b in zip(ref, got):
        assert torch.equal(a, b)


def test_k_keeps_the_nearest_candidates():
    verts, faces = triangle_soup(2, num_faces=10, height=12, width=12)
    full = rasterize_face_major(
        verts, faces, RasterSettings(image_size=(12, 12), blur_px=1.0, faces_per_pixel=30, prune_occluded=False)
    )
    top2 = rasterize_face_major(
        verts, faces, RasterSettings(image_size=(12, 12), blur_px=1.0, faces_per_pixel=2, prune_occluded=False)
    )
    assert torch.equal(top2.pix_to_face, full.pix_to_face[..., :2])
    assert torch.equal(top2.zbuf, full.zbuf[..., :2])


def test_culling_drops_clockwise_faces_only():
    verts, faces = triangle_soup(3, height=12, width=12)
    settings = RasterSettings(image_size=(12, 12), blur_px=0.0, faces_per_pixel=8)
    culled = RasterSettings(image_size=(12, 12), blur_px=0.0, faces_per_pixel=8, cull_backfaces=True)
    both = fragments_as_sets(rasterize_face_major(verts, faces, settings))
    front = fragments_as_sets(rasterize_face_major(verts, faces, culled))
    def keeps(b, f):
        # PyTorch3D's face area E(v0, v1, v2) = (v0 - v1) x (v2 - v1); culling keeps area > 0.
        (x0, y0, _), (x1, y1, _), (x2, y2, _) = (verts[b, int(i)].tolist() for i in faces[f])
        return (x0 - x1) * (y2 - y1) - (y0 - y1) * (x2 - x1) > 0

    num_faces = faces.shape[0]
    for key, found in both.items():
        expected = {f for f in found if keeps(key[0], f - key[0] * num_faces)}
        assert set(front.get(key, {})) == expected


@needs_p3d
@pytest.mark.parametrize("size", [(16, 16), (12, 20), (20, 12)])
@pytest.mark.parametrize("blur", [0.0, 1.0, 2.5])
def test_backends_agree(size, blur):
    H, W = size
    verts, faces = triangle_soup(4, num_faces=8, height=H, width=W, dtype=torch.float32)
    settings = RasterSettings(image_size=(H, W), blur_px=blur, faces_per_pixel=16, prune_occluded=False)
    a = fragments_as_sets(rasterize_face_major(verts, faces, settings))
    b = fragments_as_sets(rasterize_pytorch3d(verts, faces, settings))
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].keys() == b[key].keys(), key
        for f in a[key]:
            assert abs(a[key][f][0] - b[key][f][0]) < 1e-4
            assert abs(a[key][f][1] - b[key][f][1]) < 1e-5


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda v, f: (v[0], f), "screen_verts"),
        (lambda v, f: (v.int(), f), "screen_verts"),
        (lambda v, f: (v.clone().index_fill_(1, torch.tensor([0]), float("nan")), f), "screen_verts"),
        (lambda v, f: (v, f + 100), "faces"),
        (lambda v, f: (v, f - 1), "faces"),
        (lambda v, f: (v, f.float()), "faces"),
        (lambda v, f: (v, f[:0]), "faces"),
        (lambda v, f: (v, f[:, :2]), "faces"),
        (lambda v, f: (v, f.to("meta")), "faces: expected a tensor on cpu"),
        (lambda v, f: (v[:, :0], f), "screen_verts"),
        (lambda v, f: (v.clone().index_fill_(1, torch.tensor([1]), float("inf")), f), "screen_verts"),
    ],
)
def test_bad_input_names_the_argument(make, match):
    verts, faces = triangle_soup(5)
    with pytest.raises(ValueError, match=match):
        rasterize_face_major(*make(verts, faces), RasterSettings(image_size=(8, 8)))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"faces_per_pixel": 0}, "faces_per_pixel"),
        ({"blur_px": -1.0}, "blur_px"),
        ({"image_size": (0, 8)}, "image_size"),
        ({"image_size": 8}, "image_size"),
        ({"max_pairs_per_chunk": 0}, "max_pairs_per_chunk"),
    ],
)
def test_bad_settings_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RasterSettings(**kwargs)


def test_a_renderer_refuses_a_shader_whose_band_is_not_the_rasterizers():
    from gan3dlib.render.fragments import RasterSettings
    from gan3dlib.render.raster_torch import TorchRasterizer
    from gan3dlib.render.renderer import SoftExtensionRenderer, SoftExtensionShader, make_rasterizer

    settings = RasterSettings(image_size=(8, 8), blur_px=1.0)
    rasterizer = TorchRasterizer(settings)
    renderer = SoftExtensionRenderer(rasterizer, SoftExtensionShader(settings))
    assert renderer.shader.settings is renderer.rasterizer.settings  # one settings object: one band
    SoftExtensionRenderer(rasterizer, SoftExtensionShader(dataclasses.replace(settings)))  # equal settings
    with pytest.raises(ValueError, match="band and depth slope"):
        SoftExtensionRenderer(rasterizer, SoftExtensionShader(dataclasses.replace(settings, blur_px=2.0)))
    with pytest.raises(ValueError, match="band and depth slope"):
        SoftExtensionRenderer(rasterizer, SoftExtensionShader(dataclasses.replace(settings, depth_slope=0.1)))
    SoftExtensionRenderer(rasterizer, SoftExtensionShader(dataclasses.replace(settings, blur_px=3.0), soft=False))  # crisp
    with pytest.raises(ValueError, match="settings: expected the rasterizer's RasterSettings"):
        SoftExtensionShader(1.0)
    assert isinstance(make_rasterizer("torch", "cpu", rasterizer.settings), TorchRasterizer)
    with pytest.raises(ValueError, match="backend"):
        make_rasterizer("opengl", "cpu", rasterizer.settings)
