"""Lambertian shading against closed forms, and its place in the scene generator."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from gan3dlib.config import replace_nested
from gan3dlib.mesh import build_mesh_grid, sheet_shape_image
from gan3dlib.presets import scene_config
from gan3dlib.render import PerspectiveCamera, RendererConfig
from gan3dlib.render.shading import ShadingConfig, cone_directions, shade_and_composite


def test_flat_plane_matches_the_closed_form():
    n, size = 16, 32
    grid = build_mesh_grid(n)
    vertices = grid.shape_image_to_vertices(sheet_shape_image(n, 0.6)[None])
    camera = PerspectiveCamera((size, size), 30.0)
    renderer = RendererConfig(image_size=(size, size)).build("cpu")
    albedo = 0.2
    texture = torch.full((1, 3, 2 * n, 2 * n), albedo)
    normals = torch.tensor([[0.0, 0.0, 1.0]]).expand(1, n * n, 3)  # the sheet faces the camera
    out = renderer(camera.project(vertices), grid.faces, texture=texture, face_uvs=grid.face_uvs, vertex_normals=normals)
    theta = math.radians(50.0)
    light = torch.tensor([[math.sin(theta), 0.0, math.cos(theta)]])
    background = torch.tensor([-1.0, 0.0, 1.0])
    image = shade_and_composite(out.image, out.alpha, out.normals, background, light, 0.3, 0.6)
    inside = out.crisp_alpha[0, 0] == 1
    inside &= out.soft_alpha[0, 0] == 0
    expected = 2 * ((albedo + 1) / 2 * (0.3 + 0.6 * math.cos(theta))) - 1
    torch.testing.assert_close(image[0, :, inside], torch.full_like(image[0, :, inside], expected), atol=1e-5, rtol=0)
    far = out.alpha[0, 0] == 0
    torch.testing.assert_close(image[0, :, far], background[:, None].expand(3, int(far.sum())))
    # A light behind the surface leaves only the ambient term.
    dark = shade_and_composite(out.image, out.alpha, out.normals, background, -light, 0.3, 0.6)
    assert float(dark[0, 0, inside].mean()) == pytest.approx(2 * ((albedo + 1) / 2 * 0.3) - 1, abs=1e-5)


def test_unit_shade_is_the_renderers_own_composite():
    g = torch.Generator().manual_seed(0)
    fg, alpha = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1, torch.rand(2, 1, 8, 8, generator=g)
    fg = fg * alpha  # premultiplied
    background = torch.rand(2, 3, 8, 8, generator=g) * 2 - 1
    normals = torch.randn(2, 3, 8, 8, generator=g)
    lights = torch.nn.functional.normalize(torch.randn(2, 3, generator=g), dim=-1)
    image = shade_and_composite(fg, alpha, normals, background, lights, ambient=1.0, diffuse=0.0)
    torch.testing.assert_close(image, fg + (1 - alpha) * background)


def test_light_directions_lie_in_the_cone():
    lights = cone_directions(2000, 40.0, torch.Generator().manual_seed(0))
    torch.testing.assert_close(lights.norm(dim=-1), torch.ones(2000))
    angles = torch.rad2deg(torch.acos(lights[:, 2].clamp(-1, 1)))
    assert float(angles.max()) <= 40.0 + 1e-3 and float(angles.max()) > 35.0
    with pytest.raises(ValueError, match="mode"):
        ShadingConfig(mode="phong")
    with pytest.raises(ValueError, match="light_cone_degrees"):
        ShadingConfig(light_cone_degrees=200.0)


def test_a_shading_scene_lights_its_renders_and_shading_reaches_the_vertices():
    spec = scene_config(16, z_dim=16, mapping_layers=1, channel_base=64, channel_max=16, pyramid_levels=2)
    torch.manual_seed(0)
    plain = spec.build()
    torch.manual_seed(0)
    lit = replace_nested(spec, {"shading.mode": "lambertian"}).build()
    z = torch.randn(2, 2, 16, generator=torch.Generator().manual_seed(1))
    rotation = torch.eye(3).expand(2, 3, 3)
    a = plain(z[0], z[1], rotation, noise_mode="const", generator=torch.Generator().manual_seed(2))
    b = lit(z[0], z[1], rotation, noise_mode="const", generator=torch.Generator().manual_seed(2))
    assert b.light is not None and a.light is None
    # Unit shading (ambient 1, diffuse 0) is the unlit render: the paper's image.
    original = lit.config
    lit.config = dataclasses.replace(original, shading=dataclasses.replace(original.shading, ambient=1.0, diffuse=0.0))
    same = lit.render(b.vertices, rotation, texture=b.texture, background=b.background_crop, light=b.light)
    lit.config = original
    torch.testing.assert_close(same.image, a.image, atol=1e-5, rtol=0)
    assert float((a.image - b.image).detach().abs().max()) > 0.05
    # Shading is a function of the normals: the image depends on the shape even with a constant texture.
    vertices = b.vertices.detach().requires_grad_(True)
    from gan3dlib.viz.sheets import render_mesh

    views = render_mesh(lit, vertices, torch.zeros(2, 3, 32, 32), rotation[:1], light=torch.tensor([0.3, 0.0, 1.0]))
    views.image.sum().backward()
    assert float(vertices.grad.abs().sum()) > 0
