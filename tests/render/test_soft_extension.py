"""The soft-extension shader: naive reference, exact gradients, modes and bad input."""

from __future__ import annotations

import pytest
import torch
from naive_render import render_naive
from test_raster import triangle_soup

from gan3dlib.render.raster_pytorch3d import pytorch3d_available
from gan3dlib.render.renderer import RendererConfig

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
BACKENDS = ["torch"] + (["pytorch3d"] if pytorch3d_available() else [])


def build(size, blur=1.5, mode="soft", backend="torch", k=16, device="cpu"):
    return RendererConfig(image_size=size, blur_px=blur, faces_per_pixel=k, mode=mode, backend=backend).build(device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", ["soft", "crisp"])
@pytest.mark.parametrize("size", [(10, 10), (8, 13)])
def test_image_matches_naive_reference(device, mode, size):
    H, W = size
    verts, faces = triangle_soup(10, batch=2, num_faces=5, height=H, width=W, device=device)
    g = torch.Generator().manual_seed(0)
    face_attrs = torch.rand(2, faces.shape[0], 3, 3, generator=g, dtype=torch.float64).to(device)
    renderer = build(size, mode=mode, device=device)
    out = renderer(verts, faces, face_attrs=face_attrs)  # composited over a zero background
    for b in range(2):
        ref_img, ref_as, ref_ac, ref_face = render_naive(
            verts[b].cpu().tolist(), faces.tolist(), face_attrs[b].cpu().tolist(), None, H, W, 1.5, soft=mode == "soft"
        )
        ref_img = torch.tensor(ref_img, dtype=torch.float64).permute(2, 0, 1)
        torch.testing.assert_close(out.attributes[b].cpu(), ref_img, atol=1e-10, rtol=0)
        torch.testing.assert_close(out.soft_alpha[b, 0].cpu(), torch.tensor(ref_as, dtype=torch.float64), atol=1e-10, rtol=0)
        torch.testing.assert_close(out.crisp_alpha[b, 0].cpu(), torch.tensor(ref_ac, dtype=torch.float64))
        assert torch.equal(out.face_idx[b].cpu(), torch.tensor(ref_face))
    if mode == "soft":
        assert bool((out.soft_alpha > 0).any()) and bool(((out.soft_alpha > 0) & (out.crisp_alpha > 0)).any())


def affine_texture(batch, size=9, dtype=torch.float64):
    """Texture whose bilinear sample at uv is exactly (u, v, 1 - u) for uv in [0, 1]."""
    v_rows = torch.linspace(1, 0, size, dtype=dtype).view(size, 1).expand(size, size)
    u_cols = torch.linspace(0, 1, size, dtype=dtype).view(1, size).expand(size, size)
    return torch.stack([u_cols, v_rows, 1 - u_cols]).expand(batch, -1, -1, -1).contiguous()


@pytest.mark.parametrize("backend", BACKENDS)
def test_texture_path_samples_each_candidate_then_blends(backend):
    """With an affine texture, sampling per candidate then averaging equals averaging UVs."""
    H, W = 10, 12
    verts, faces = triangle_soup(11, batch=2, num_faces=5, height=H, width=W)
    g = torch.Generator().manual_seed(1)
    face_uvs = torch.rand(faces.shape[0], 3, 2, generator=g, dtype=torch.float64)
    background = torch.rand(2, 3, H, W, generator=g, dtype=torch.float64)
    out = build((H, W), backend=backend)(verts, faces, texture=affine_texture(2), face_uvs=face_uvs, background=background)
    uv_attrs = torch.cat([face_uvs, 1 - face_uvs[..., :1]], -1)  # (F, 3, 3): (u, v, 1 - u)
    for b in range(2):
        ref, *_ = render_naive(
            verts[b].tolist(), faces.tolist(), uv_attrs.tolist(), background[b].permute(1, 2, 0).tolist(), H, W, 1.5
        )
        torch.testing.assert_close(out.image[b], torch.tensor(ref, dtype=torch.float64).permute(2, 0, 1), atol=1e-10, rtol=0)


def discrete_state(out, num_slots):
    """Everything discrete the image depends on, per pixel."""
    cand = out.candidates
    counted = torch.zeros(num_slots, dtype=torch.bool)
    counted[cand.slot[cand.counted]] = True
    crisp = torch.zeros(num_slots, dtype=torch.bool)
    crisp[cand.slot[cand.crisp]] = True
    # Which counted candidate attains the max soft alpha.
    alpha = torch.full((num_slots,), -1.0, dtype=torch.float64)
    alpha[cand.slot[cand.counted]] = 1 - cand.dist[cand.counted].detach() / 1.5
    shape = out.fragments.pix_to_face.shape
    winner = alpha.view(*shape).argmax(-1)
    return out.fragments.pix_to_face, counted.view(shape), crisp.view(shape), winner


def assert_exact_directional_derivative(render, verts, direction, min_stable=0.9):
    """autograd JVP of the image == central finite difference wherever nothing discrete changes.

    Returns the masks of compared silhouette pixels and occlusion-boundary pixels with a non-zero
    derivative.
    """
    out = render(verts)
    _, jvp = torch.autograd.functional.jvp(lambda v: render(v).image, (verts,), (direction,))
    eps = 1e-6
    plus, minus = render(verts + eps * direction), render(verts - eps * direction)
    finite_diff = (plus.image - minus.image) / (2 * eps)

    num_slots = out.fragments.pix_to_face.numel()
    state = discrete_state(out, num_slots)
    batch, _, height, width = out.image.shape
    stable = torch.ones(batch, height, width, dtype=torch.bool)
    for other in (plus, minus):
        for a, b in zip(state, discrete_state(other, num_slots)):
            stable &= (a == b).reshape(batch, height, width, -1).all(-1)
    assert stable.float().mean() > min_stable
    error = (jvp - finite_diff).abs().amax(1)
    assert error[stable].max() < 1e-6 * max(1.0, float(jvp.abs().max()))
    moving = jvp.abs().amax(1) > 1e-3
    silhouette = stable & (out.soft_alpha[:, 0] > 0) & (out.crisp_alpha[:, 0] == 0) & moving
    occlusion = stable & (out.soft_alpha[:, 0] > 0) & (out.crisp_alpha[:, 0] == 1) & moving
    return silhouette, occlusion


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vertex_gradients_equal_finite_differences(backend, seed):
    """Paper's central claim: exact vertex gradients, silhouettes and occlusion edges included."""
    H, W = 14, 12
    verts, faces = triangle_soup(20 + seed, batch=2, num_faces=6, height=H, width=W)
    g = torch.Generator().manual_seed(seed)
    face_uvs = torch.rand(faces.shape[0], 3, 2, generator=g, dtype=torch.float64)
    texture = torch.rand(2, 3, 6, 6, generator=g, dtype=torch.float64)
    background = torch.rand(2, 3, H, W, generator=g, dtype=torch.float64)
    direction = torch.randn(verts.shape, generator=g, dtype=torch.float64)
    renderer = build((H, W), backend=backend)

    def render(v):
        return renderer(v, faces, texture=texture, face_uvs=face_uvs, background=background)

    silhouette, occlusion = assert_exact_directional_derivative(render, verts, direction)
    # The comparison covers silhouette pixels (soft over background) and occlusion boundaries
    # (soft over a crisp surface), where the gradient is non-zero.
    assert bool(silhouette.any()) and bool(occlusion.any())


@pytest.mark.parametrize("backend", BACKENDS)
def test_vertex_gradients_exact_on_a_self_occluding_grid_mesh(backend):
    """The same on a connected shape-image mesh that hides part of itself (a bumpy sphere)."""
    from gan3dlib.mesh import build_mesh_grid, sphere_shape_image
    from gan3dlib.render import PerspectiveCamera, rotation_matrix

    n, size = 10, (16, 16)
    grid = build_mesh_grid(n)
    g = torch.Generator().manual_seed(3)
    shape = sphere_shape_image(n, 0.7, dtype=torch.float64) * (1 + 0.3 * torch.rand(1, n, n, generator=g, dtype=torch.float64))
    verts = grid.shape_image_to_vertices(shape.unsqueeze(0))
    rotation = rotation_matrix(torch.tensor([0.9], dtype=torch.float64), torch.tensor([0.3], dtype=torch.float64))
    camera = PerspectiveCamera(image_size=size)
    texture = torch.rand(1, 3, 2 * n, 2 * n, generator=g, dtype=torch.float64)
    background = torch.rand(1, 3, *size, generator=g, dtype=torch.float64)
    direction = torch.randn(verts.shape, generator=g, dtype=torch.float64)
    renderer = build(size, blur=1.0, k=32, backend=backend)

    def render(v):
        return renderer(camera.project(v, rotation), grid.faces, texture=texture, face_uvs=grid.face_uvs.double(), background=background)

    silhouette, occlusion = assert_exact_directional_derivative(render, verts, direction, min_stable=0.8)
    assert bool(silhouette.any()) and bool(occlusion.any())


def test_crisp_mode_has_no_silhouette_gradient():
    """Outside the covered pixels a crisp renderer gives no vertex gradient; the soft one does."""
    H, W = 12, 12
    verts, faces = triangle_soup(30, batch=1, num_faces=3, height=H, width=W)
    verts.requires_grad_(True)
    attrs = torch.rand(1, 3, 3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    soft = build((H, W))(verts, faces, face_attrs=attrs)
    crisp = build((H, W), mode="crisp")(verts, faces, face_attrs=attrs)
    assert not crisp.alpha.requires_grad and float(crisp.soft_alpha.abs().max()) == 0.0
    band = (crisp.crisp_alpha[:, 0] == 0) & (soft.soft_alpha[:, 0] > 0)
    assert bool(band.any())
    (grad_crisp,) = torch.autograd.grad((crisp.attributes.sum(1) * band).sum(), verts, allow_unused=True, materialize_grads=True)
    (grad_soft,) = torch.autograd.grad((soft.attributes.sum(1) * band).sum(), verts)
    assert float(grad_crisp.abs().max()) == 0.0
    assert float(grad_soft.abs().max()) > 1e-3


def test_float32_and_float64_agree():
    H, W = 12, 12
    verts, faces = triangle_soup(31, batch=1, num_faces=4, height=H, width=W)
    attrs = torch.rand(1, 4, 3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    out64 = build((H, W))(verts, faces, face_attrs=attrs)
    out32 = build((H, W))(verts.float(), faces, face_attrs=attrs.float())
    assert out64.attributes.dtype == torch.float64 and out32.attributes.dtype == torch.float32
    torch.testing.assert_close(out32.attributes.double(), out64.attributes, atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"texture": torch.rand(1, 3, 4, 4)}, "face_uvs"),
        ({"texture": torch.rand(2, 3, 4, 4), "face_uvs": torch.rand(3, 3, 2)}, "texture"),
        ({"texture": torch.rand(1, 3, 4, 4), "face_uvs": torch.rand(2, 3, 2)}, "face_uvs"),
        ({"face_attrs": torch.rand(1, 5, 3, 2)}, "face_attrs"),
        ({"texture": torch.rand(1, 3, 4, 4), "face_uvs": torch.rand(3, 3, 2), "background": torch.rand(1, 3, 5, 5)}, "background"),
        ({"texture": torch.rand(1, 3, 4, 4), "face_uvs": torch.rand(3, 3, 2), "background": torch.rand(4)}, "background"),
    ],
)
def test_bad_shader_input_names_the_argument(kwargs, match):
    verts, faces = triangle_soup(32, batch=1, num_faces=3, height=8, width=8, dtype=torch.float32)
    with pytest.raises(ValueError, match=match):
        build((8, 8))(verts, faces, **kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"blur_px": 0.0}, "blur_px"),
        ({"blur_px": -1.0}, "blur_px"),
        ({"faces_per_pixel": 0}, "faces_per_pixel"),
        ({"mode": "fuzzy"}, "mode"),
        ({"backend": "opengl"}, "backend"),
        ({"depth_slope": -0.5}, "depth_slope"),
    ],
)
def test_bad_renderer_config_names_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RendererConfig(image_size=(8, 8), **kwargs).build()


@pytest.mark.parametrize("backend", BACKENDS)
def test_small_k_keeps_the_crisp_face_and_pruning_keeps_the_image(backend):
    """On a dense grid many band candidates are nearer than the covering face; K must not lose it."""
    from gan3dlib.mesh import build_mesh_grid, sphere_shape_image
    from gan3dlib.render import PerspectiveCamera

    grid = build_mesh_grid(24)
    verts = grid.shape_image_to_vertices(sphere_shape_image(24, 0.8, dtype=torch.float64).unsqueeze(0))
    screen = PerspectiveCamera(image_size=(24, 24)).project(verts)
    texture = torch.rand(1, 3, 16, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    kwargs = {"texture": texture, "face_uvs": grid.face_uvs.double()}
    crisp = build((24, 24), mode="crisp", k=1, backend=backend)(screen, grid.faces, **kwargs)
    small_k = build((24, 24), blur=1.0, k=3, backend=backend)(screen, grid.faces, **kwargs)
    # Same covering surface everywhere (a pixel centre on a shared edge may pick either face).
    assert torch.equal(small_k.face_idx >= 0, crisp.face_idx >= 0)
    assert float((small_k.face_idx != crisp.face_idx).float().mean()) < 0.01
    torch.testing.assert_close(small_k.depth, crisp.depth, atol=1e-9, rtol=0)
    if backend == "torch":
        unpruned = RendererConfig(image_size=(24, 24), blur_px=1.0, faces_per_pixel=64).raster_settings()
        from dataclasses import replace

        from gan3dlib.render import SoftExtensionRenderer, TorchRasterizer

        renderer = build((24, 24), blur=1.0, k=None)  # K = whatever the busiest pixel needs
        reference = SoftExtensionRenderer(TorchRasterizer(replace(unpruned, prune_occluded=False)), renderer.shader)
        pruned = renderer(screen, grid.faces, **kwargs)
        full = reference(screen, grid.faces, **kwargs)
        assert pruned.fragments.pix_to_face.shape[-1] < (full.fragments.pix_to_face >= 0).sum(-1).max()
        torch.testing.assert_close(pruned.image, full.image, atol=1e-12, rtol=0)


def test_normal_map_of_a_sphere_faces_the_camera():
    from gan3dlib.mesh import build_mesh_grid, sphere_shape_image
    from gan3dlib.ops import vertex_normals
    from gan3dlib.render import PerspectiveCamera, render

    grid = build_mesh_grid(17)
    verts = grid.shape_image_to_vertices(sphere_shape_image(17, 0.8, dtype=torch.float64).unsqueeze(0))
    screen = PerspectiveCamera(image_size=(16, 16)).project(verts)
    normals = vertex_normals(verts, grid.faces)
    out = render(screen, grid.faces, RendererConfig(image_size=(16, 16)), vertex_normals=normals)
    same = render(screen, grid.faces, RendererConfig(image_size=(16, 16)), face_attrs=normals[:, grid.faces])
    torch.testing.assert_close(out.normals, same.attributes)
    covered = out.crisp_alpha[0, 0] > 0
    # On a sphere the normal is the unit position; its z is positive wherever the camera sees it,
    # and the image centre sees the front pole.
    assert bool((out.normals[0, 2][covered & (out.soft_alpha[0, 0] == 0)] > 0).all())
    torch.testing.assert_close(out.normals[0, :, 7:9, 7:9].mean((1, 2)), torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64), atol=0.05, rtol=0)


def test_renders_without_pytorch3d(tmp_path):
    """The torch backend needs no compiled PyTorch3D: block the import and render."""
    import subprocess
    import sys

    script = (
        "import sys; sys.modules['pytorch3d'] = None\n"
        "import torch\n"
        "from gan3dlib.render import RendererConfig, default_backend, pytorch3d_available\n"
        "assert not pytorch3d_available() and default_backend('cuda') == 'torch'\n"
        "v = torch.tensor([[[2.0, 2.0, 2.0], [14.0, 3.0, 2.0], [6.0, 13.0, 2.0]]], requires_grad=True)\n"
        "out = RendererConfig(image_size=(16, 16)).build()(v, torch.tensor([[0, 1, 2]]), face_attrs=torch.ones(1, 3, 1))\n"
        "out.attributes.sum().backward(); assert v.grad.abs().sum() > 0\n"
        "try:\n"
        "    RendererConfig(image_size=(16, 16), backend='pytorch3d').build()(v, torch.tensor([[0, 1, 2]]))\n"
        "except ImportError as err:\n"
        "    assert 'backend' in str(err); print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
