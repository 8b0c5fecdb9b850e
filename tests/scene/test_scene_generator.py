"""The scene generator wires its parts as the paper describes; presets and ablations; sharing."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from gan3dlib.config import from_json, to_json
from gan3dlib.presets import ABLATIONS, PRESETS, ablation, ffhq, lsun_car, scene_config, tiny_cpu
from gan3dlib.scene import SceneConfig, SceneGenerator

Z = 16


def tiny(**kwargs) -> SceneConfig:
    return scene_config(8, z_dim=Z, mapping_layers=2, channel_base=64, channel_max=16, pyramid_levels=2, **kwargs)


def test_forward_equals_assembling_the_parts_by_hand():
    scene = tiny().build().eval()  # eval: no style mixing, no w_avg update
    g = torch.Generator().manual_seed(0)
    z_obj, z_bg = torch.randn(2, Z, generator=g), torch.randn(2, Z, generator=g)
    rotation = scene.config.viewpoints.sample_rotations(2, generator=g)
    out = scene(z_obj, z_bg, rotation, noise_mode="const")

    raw = scene.object_generator(z_obj, noise_mode="const")
    assert raw.shape == (2, 3 * 2 + 3, 16, 16)
    shape_image = scene.object_shape(raw[:, :6])
    torch.testing.assert_close(out.shape_image, shape_image)
    torch.testing.assert_close(out.texture, raw[:, 6:])
    background = scene.background_generator(z_bg, noise_mode="const")
    torch.testing.assert_close(out.background, background)
    # The crop is one of the 8x8 windows of the 16x16 background.
    windows = background.unfold(2, 8, 1).unfold(3, 8, 1)  # (B, 3, 9, 9, 8, 8)
    for b in range(2):
        match = (windows[b] - out.background_crop[b].view(3, 1, 1, 8, 8)).abs().amax(dim=(0, 3, 4)) == 0
        assert bool(match.any())
    screen = scene.config.camera.project(scene.grid.shape_image_to_vertices(shape_image), rotation)
    renderer = scene.config.renderer.build()
    expected = renderer(screen, scene.grid.faces, texture=raw[:, 6:], face_uvs=scene.grid.face_uvs, background=out.background_crop)
    torch.testing.assert_close(out.image, expected.image)


def test_truncation_zero_gives_one_shape_for_every_latent():
    scene = tiny().build().eval()
    out = scene(torch.randn(3, Z), torch.randn(3, Z), truncation_psi=0.0, noise_mode="const")
    torch.testing.assert_close(out.shape_image[0], out.shape_image[2])
    torch.testing.assert_close(out.texture[0], out.texture[1])


def test_renderer_stays_float32_under_autocast():
    scene = tiny().build()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = scene(torch.randn(2, Z), torch.randn(2, Z), vertex_normals=True)
    assert out.image.dtype == torch.float32 and out.render.normals.shape == (2, 3, 8, 8)


def test_save_and_load_pretrained_reproduce_the_scene(tmp_path):
    scene = tiny().build().eval()
    scene.save_pretrained(tmp_path / "model", facts={"dataset": "unit test"})
    loaded = SceneGenerator.from_pretrained(tmp_path / "model")
    z = torch.randn(2, Z), torch.randn(2, Z)
    a = scene(*z, generator=torch.Generator().manual_seed(3))
    b = loaded(*z, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(a.image, b.image, rtol=0, atol=0)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_are_valid_and_round_trip(name):
    config = PRESETS[name]()
    assert from_json(SceneConfig, to_json(config)) == config


def test_paper_settings():
    full = ffhq().resolved()
    assert full.resolution == 128 and full.object_generator.synthesis.resolution == 256
    assert full.shape.init == "sphere" and full.shape.sphere_radius == 0.5 and full.shape.pyramid.levels == 4
    assert full.shape.use_size_constraint and full.shape.s_max == 1.3 and full.shape.shape_scale == 0.002
    assert full.viewpoints.yaw_range_degrees == (-45.0, 45.0) and full.viewpoints.pitch_range_degrees == (-15.0, 15.0)
    assert full.object_generator.mapping.num_layers == 8
    car = lsun_car()
    assert car.shape.init == "sheet" and not car.shape.use_size_constraint
    assert tiny_cpu().resolution == 32


@pytest.mark.parametrize("name", ABLATIONS)
def test_each_ablation_is_one_switch_from_full(name):
    base = tiny()
    config = ablation(base, name)
    full = ablation(base, "FULL")
    differences = {
        field.name for field in dataclasses.fields(SceneConfig) if getattr(config, field.name) != getattr(full, field.name)
    }
    expected = {
        "CRISP": {"renderer", "shape"},  # crisp renderer, no size, no pyramid (K = 1: the generator's channels follow)
        "SOFT": {"shape"},
        "SIZE": {"shape"},
        "FULL": set(),
        "VIEW": {"viewpoints"},
        "CAR": {"shape"},
        "BUS": {"shape"},
    }[name]
    assert differences == expected
    config.build()(torch.randn(1, Z), torch.randn(1, Z))  # every ablation runs


@pytest.mark.parametrize(
    "change, match",
    [
        ({"resolution": 16}, "resolution"),
        ({"shape": dataclasses.replace(tiny().shape, pyramid=dataclasses.replace(tiny().shape.pyramid, levels=3))}, "out_channels"),
    ],
)
def test_sizes_given_explicitly_must_agree_with_the_resolution(change, match):
    dataclasses.replace(tiny(), **change)  # sizes left to derive follow any change
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(tiny().resolved(), **change)


def test_bad_latents_name_the_argument():
    scene = tiny().build()
    with pytest.raises(ValueError, match="z_obj"):
        scene(torch.randn(2, Z + 1), torch.randn(2, Z))
    with pytest.raises(ValueError, match="z_bg"):
        scene(torch.randn(2, Z), torch.randn(3, Z))


@pytest.mark.parametrize("fmt", ["obj", "glb", "ply"])
def test_export_a_generated_sample(tmp_path, fmt):
    import trimesh

    scene = tiny().build().eval()
    out = scene(torch.randn(2, Z), torch.randn(2, Z), noise_mode="const")
    paths = scene.export(out, 1, tmp_path / f"sample.{fmt}")
    mesh = trimesh.load(paths[0], force="mesh", process=False)
    used = scene.grid.vertex_mask.reshape(-1)
    expected = out.vertices[1][used].detach().numpy()
    assert mesh.vertices.shape == expected.shape
    assert abs(mesh.vertices - expected).max() < 1e-5
    assert len(mesh.faces) == scene.grid.num_faces
    with pytest.raises(ValueError, match="index"):
        scene.export(out, 2, tmp_path / "bad.glb")


def test_scene_config_derives_every_size_from_its_resolution():
    from gan3dlib.config import parse_overrides, replace_nested
    from gan3dlib.presets import scene_config

    preset = tiny_cpu()
    assert from_json(SceneConfig, to_json(preset)) == preset
    smaller = parse_overrides(SceneConfig, ["--resolution", "16", "--shape.pyramid.levels", "2"], default=preset)
    built = smaller.build().config  # the modules are built from the resolved config
    assert built.object_generator.synthesis.resolution == built.background_generator.synthesis.resolution == 32
    assert built.object_generator.synthesis.out_channels == 3 * 2 + 3 and built.background_generator.synthesis.out_channels == 3
    assert built.shape.grid_size == 16 and built.renderer.image_size == built.camera.image_size == (16, 16)
    assert smaller.resolved() == built and built.resolved() == built  # filling in twice changes nothing
    assert smaller.renderer.image_size is None and smaller.shape.grid_size is None  # stored once: resolution
    with pytest.raises(ValueError, match=r"renderer.image_size: expected \(16, 16\) for resolution=16"):
        replace_nested(smaller, {"renderer.image_size": (32, 32)})
    with pytest.raises(ValueError, match="background_generator.mapping.z_dim"):
        replace_nested(smaller, {"background_generator.mapping.z_dim": 32})
    with pytest.raises(ValueError, match="s_max"):
        scene_config(s_max=-1.0)
    with pytest.raises(ValueError, match=r"channel_base: expected >= resolution \(256\)"):
        scene_config(128, channel_base=128)  # a derived size the generator's own check refuses


def test_an_ablation_of_a_custom_config_keeps_everything_but_its_switches():
    from gan3dlib.config import replace_nested
    from gan3dlib.scene.background import BackgroundCropConfig

    custom = replace_nested(tiny_cpu(), {"viewpoints.yaw_range_degrees": (-30.0, 20.0), "shape.sphere_radius": 0.4,
                                         "background_crop": BackgroundCropConfig(distribution="normal", std=0.1), "grid_radius": 0.9,
                                         "renderer.blur_px": 2.0, "shape.shape_scale": 0.01})
    for name in ABLATIONS:
        changed = ablation(custom, name)
        kept = ("background_crop", "grid_radius", "camera", "shading", "object_generator", "background_generator")
        assert all(getattr(changed, field) == getattr(custom, field) for field in kept), name
        assert changed.shape.sphere_radius == 0.4 and changed.shape.shape_scale == 0.01 and changed.renderer.blur_px == 2.0
        yaw = (-120.0, 120.0) if name == "VIEW" else (-30.0, 20.0)
        assert changed.viewpoints.yaw_range_degrees == yaw, name
    assert ablation(custom, "CRISP").renderer.mode == "crisp" and ablation(custom, "CAR").shape.init == "sheet"
    assert ablation(ablation(custom, "CRISP"), "FULL") == custom  # FULL restores every switch
