"""The crisp layer equals PyTorch3D's MeshRasterizer + TexturesUV; Meshes + cameras input."""

from __future__ import annotations

import pytest
import torch

from gan3dlib.mesh import build_mesh_grid, sphere_shape_image
from gan3dlib.render import PerspectiveCamera, RendererConfig, ViewpointSampler
from gan3dlib.compat.pytorch3d import render_meshes
from gan3dlib.render.raster_pytorch3d import pytorch3d_available

pytestmark = pytest.mark.skipif(not pytorch3d_available(), reason="PyTorch3D extension not available")


def textured_sphere_meshes(n=12, batch=2, image_size=(24, 24)):
    from pytorch3d.renderer import TexturesUV
    from pytorch3d.structures import Meshes

    grid = build_mesh_grid(n)
    g = torch.Generator().manual_seed(0)
    shape = sphere_shape_image(n, 0.6).expand(batch, -1, -1, -1)
    verts = grid.shape_image_to_vertices(shape) + 0.05 * torch.randn(batch, n * n, 3, generator=g)
    camera = PerspectiveCamera(image_size=image_size)
    rotation = ViewpointSampler(yaw_range_degrees=(-60, 60), pitch_range_degrees=(-30, 30)).sample_rotations(batch, generator=g)
    maps = torch.rand(batch, 2 * n, 2 * n, 3, generator=g)
    textures = TexturesUV(maps=maps, faces_uvs=[grid.face_uvs_idx] * batch, verts_uvs=[grid.uvs] * batch)
    # Rotate the object in world space so the PyTorch3D camera can stay on +Z.
    world = torch.einsum("bij,bvj->bvi", rotation, verts)
    meshes = Meshes(verts=list(world), faces=[grid.faces] * batch, textures=textures)
    return meshes, camera.to_pytorch3d(), camera


@pytest.mark.parametrize("image_size", [(24, 24), (20, 28)])
def test_crisp_layer_equals_pytorch3d_mesh_rasterizer(image_size):
    from pytorch3d.renderer import MeshRasterizer, RasterizationSettings

    meshes, cameras, _ = textured_sphere_meshes(image_size=image_size)
    raster = MeshRasterizer(cameras=cameras, raster_settings=RasterizationSettings(image_size=image_size, faces_per_pixel=1))
    fragments = raster(meshes)
    texels = meshes.sample_textures(fragments)[..., 0, :]  # (B, H, W, C)
    num_faces = meshes.faces_padded().shape[1]
    p2f = fragments.pix_to_face[..., 0]
    ref_face = torch.where(p2f >= 0, p2f % num_faces, -1)

    for mode in ("crisp", "soft"):
        renderer = RendererConfig(image_size=image_size, mode=mode, backend="torch").build()
        out = render_meshes(renderer, meshes, cameras)
        assert torch.equal(out.face_idx, ref_face)
        covered = ref_face >= 0
        crisp_rgb = out.image.permute(0, 2, 3, 1) if mode == "crisp" else None
        if crisp_rgb is not None:
            torch.testing.assert_close(crisp_rgb[covered], texels[covered], atol=1e-5, rtol=0)
            assert float(crisp_rgb[~covered].abs().max()) == 0.0


def test_render_meshes_matches_rendering_screen_vertices_directly():
    meshes, cameras, camera = textured_sphere_meshes()
    renderer = RendererConfig(image_size=(24, 24), backend="torch").build()
    out = render_meshes(renderer, meshes, cameras, background=torch.tensor([0.2, 0.3, 0.4]))
    screen = camera.project(meshes.verts_padded())
    grid = build_mesh_grid(12)
    direct = renderer(
        screen,
        grid.faces,
        texture=meshes.textures.maps_padded().permute(0, 3, 1, 2),
        face_uvs=grid.face_uvs,
        background=torch.tensor([0.2, 0.3, 0.4]),
    )
    torch.testing.assert_close(out.image, direct.image, atol=1e-5, rtol=0)


def test_render_meshes_rejects_mixed_topology():
    from pytorch3d.structures import Meshes

    verts = torch.rand(4, 3)
    meshes = Meshes(verts=[verts, verts], faces=[torch.tensor([[0, 1, 2]]), torch.tensor([[0, 2, 3]])])
    renderer = RendererConfig(image_size=(8, 8), backend="torch").build()
    with pytest.raises(ValueError, match="meshes"):
        render_meshes(renderer, meshes, PerspectiveCamera(image_size=(8, 8)).to_pytorch3d())
