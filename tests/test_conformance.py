"""Every interchangeable component passes the same conformance contract (tests/conformance.py)."""

from __future__ import annotations

import pytest
import torch
from conformance import Component, check_component

from gan3dlib.mesh import build_mesh_grid, sphere_shape_image
from gan3dlib.nets import DiscriminatorConfig, GeneratorConfig, MappingConfig, SynthesisConfig
from gan3dlib.presets import ablation, scene_config
from gan3dlib.render import PerspectiveCamera, RendererConfig, pytorch3d_available
from gan3dlib.shape import ObjectShapeConfig, ShapePyramidConfig

Z = 16


def tiny_generator(block_type: str, out_channels: int = 3) -> GeneratorConfig:
    return GeneratorConfig(
        mapping=MappingConfig(z_dim=Z, w_dim=Z, num_layers=2),
        synthesis=SynthesisConfig(resolution=8, out_channels=out_channels, w_dim=Z, channel_base=64, channel_max=16, block_type=block_type),
    )


def latents(g: torch.Generator) -> tuple[torch.Tensor, ...]:
    return (torch.randn(2, Z, generator=g),)


def run_generator(module, inputs, g):
    return module(inputs[0], noise_mode="random", generator=g)


def sphere_scene(g: torch.Generator) -> tuple[torch.Tensor, ...]:
    grid = build_mesh_grid(8)
    verts = grid.shape_image_to_vertices(sphere_shape_image(8, 0.7).unsqueeze(0)).expand(2, -1, -1)
    verts = verts + 0.02 * torch.randn(verts.shape, generator=g)
    screen = PerspectiveCamera(image_size=(12, 12)).project(verts)
    return screen, torch.rand(2, 3, 8, 8, generator=g), torch.rand(2, 3, 12, 12, generator=g)


def run_renderer(module, inputs, g):
    grid = build_mesh_grid(8)
    screen, texture, background = inputs
    return module(screen, grid.faces, texture=texture, face_uvs=grid.face_uvs, background=background).image


def tiny_scene(name: str):
    return ablation(scene_config(8, z_dim=Z, mapping_layers=2, channel_base=64, channel_max=16, pyramid_levels=2), name)


def run_scene(module, inputs, g):
    return module(inputs[0], inputs[1], generator=g).image


COMPONENTS = [
    Component("generator/stylegan2", tiny_generator("stylegan2"), latents, run_generator, (2, 3, 8, 8)),
    Component("generator/adain", tiny_generator("adain"), latents, run_generator, (2, 3, 8, 8)),
    Component(
        "discriminator",
        DiscriminatorConfig(resolution=8, channel_base=64, channel_max=16, mbstd_group_size=2),
        lambda g: (torch.randn(2, 3, 8, 8, generator=g),),
        lambda module, inputs, g: module(inputs[0]),
        (2, 1),
    ),
    Component(
        "shape/full",
        ObjectShapeConfig(grid_size=8, shape_scale=0.5, pyramid=ShapePyramidConfig(levels=2)),
        lambda g: (torch.randn(2, 6, 16, 16, generator=g),),
        lambda module, inputs, g: module(inputs[0]),
        (2, 3, 8, 8),
    ),
    Component(
        "shape/plain-sheet",
        ObjectShapeConfig(grid_size=8, init="sheet", use_pyramid=False, use_size_constraint=False),
        lambda g: (torch.randn(2, 3, 16, 16, generator=g),),
        lambda module, inputs, g: module(inputs[0]),
        (2, 3, 8, 8),
    ),
    Component("renderer/soft/torch", RendererConfig(image_size=(12, 12), backend="torch"), sphere_scene, run_renderer, (2, 3, 12, 12)),
    Component("renderer/crisp/torch", RendererConfig(image_size=(12, 12), mode="crisp", backend="torch"), sphere_scene, run_renderer, (2, 3, 12, 12)),
    *(
        [Component("renderer/soft/pytorch3d", RendererConfig(image_size=(12, 12), backend="pytorch3d"), sphere_scene, run_renderer, (2, 3, 12, 12))]
        if pytorch3d_available()
        else []
    ),
    *(
        Component(
            f"scene/{name}",
            tiny_scene(name),
            lambda g: (torch.randn(2, Z, generator=g), torch.randn(2, Z, generator=g)),
            run_scene,
            (2, 3, 8, 8),
        )
        for name in ("CRISP", "FULL", "CAR")
    ),
]


@pytest.mark.parametrize("component", COMPONENTS, ids=[c.name for c in COMPONENTS])
def test_component_conforms(component, tmp_path):
    check_component(component, tmp_path)
