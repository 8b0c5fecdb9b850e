"""Config serialisation: exact JSON round trip, strict decoding, atomic files, CLI overrides."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

from gan3dlib.config import from_dict, from_json, load_config, parse_overrides, save_config, to_dict, to_json
from gan3dlib.render import PerspectiveCamera, RendererConfig, ViewpointSampler
from gan3dlib.scene import BackgroundCropConfig
from gan3dlib.shape import ObjectShapeConfig, ShapePyramidConfig


@dataclasses.dataclass(frozen=True)
class Composite:
    renderer: RendererConfig = dataclasses.field(default_factory=RendererConfig)
    shape: ObjectShapeConfig = dataclasses.field(default_factory=ObjectShapeConfig)
    camera: PerspectiveCamera = dataclasses.field(default_factory=PerspectiveCamera)
    viewpoints: ViewpointSampler = dataclasses.field(default_factory=ViewpointSampler)
    crop: BackgroundCropConfig = dataclasses.field(default_factory=BackgroundCropConfig)
    name: str = "run"


CUSTOM = Composite(
    renderer=RendererConfig(image_size=(32, 48), blur_px=2.0, faces_per_pixel=5, mode="crisp", backend="torch"),
    shape=ObjectShapeConfig(grid_size=16, init="sheet", pyramid=ShapePyramidConfig(levels=2), use_size_constraint=False),
    camera=PerspectiveCamera(image_size=(32, 48), fov_degrees=12.5),
    viewpoints=ViewpointSampler(yaw_range_degrees=(-120.0, 120.0), pitch_range_degrees=(0.0, 0.0)),
    crop=BackgroundCropConfig(distribution="normal", std=0.1),
    name="ablation",
)


@pytest.mark.parametrize("config", [Composite(), CUSTOM])
def test_json_round_trip_is_exact_and_keeps_dataclasses(config):
    again = from_json(Composite, to_json(config))
    assert again == config
    assert isinstance(again.shape.pyramid, ShapePyramidConfig)
    assert isinstance(again.renderer.image_size, tuple)
    # The encoding is plain JSON with every field present.
    data = json.loads(to_json(config))
    assert set(data) == {f.name for f in dataclasses.fields(Composite)}
    assert data["renderer"]["image_size"] == list(config.renderer.image_size)


def test_unknown_keys_and_invalid_values_are_errors():
    data = to_dict(CUSTOM)
    data["renderer"]["blur"] = 1.0
    with pytest.raises(ValueError, match="blur"):
        from_dict(Composite, data)
    data = to_dict(CUSTOM)
    data["shape"]["s_max"] = -1.0
    with pytest.raises(ValueError, match="s_max"):
        from_dict(Composite, data)
    with pytest.raises(ValueError, match="text"):
        from_json(Composite, "{not json")


def test_save_is_atomic_and_load_reads_it_back(tmp_path, monkeypatch):
    path = tmp_path / "run" / "config.json"
    save_config(CUSTOM, path)
    assert load_config(Composite, path) == CUSTOM

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        save_config(Composite(), path)
    assert load_config(Composite, path) == CUSTOM  # the last good file is intact
    assert [p.name for p in path.parent.iterdir()] == ["config.json"]  # no temp files left
    with pytest.raises(ValueError, match="path"):
        load_config(Composite, tmp_path / "missing.json")


def test_command_line_overrides_on_a_preset():
    got = parse_overrides(
        Composite,
        ["--renderer.blur_px", "3", "--shape.pyramid.levels", "3", "--viewpoints.yaw_range_degrees", "[-10, 10]"],
        default=CUSTOM,
    )
    assert got.renderer.blur_px == 3.0 and got.shape.pyramid.levels == 3
    assert got.viewpoints.yaw_range_degrees == (-10.0, 10.0)
    assert got.renderer.image_size == CUSTOM.renderer.image_size  # untouched fields keep the preset
    assert dataclasses.replace(got, renderer=CUSTOM.renderer, shape=CUSTOM.shape, viewpoints=CUSTOM.viewpoints) == CUSTOM


@pytest.mark.parametrize(
    "args, match",
    [(["--renderer.blur_px", "-1"], "blur_px"), (["--renderer.nope", "1"], "nope"), (["--renderer.mode", "fuzzy"], "mode")],
)
def test_bad_overrides_name_the_field(args, match):
    with pytest.raises(ValueError, match=match):
        parse_overrides(Composite, args, exit_on_error=False)


def test_overrides_without_a_preset_keep_nested_default_factories():
    @dataclasses.dataclass(frozen=True)
    class Outer:
        renderer: RendererConfig = dataclasses.field(default_factory=lambda: RendererConfig(image_size=(32, 32)))

    assert parse_overrides(Outer, []).renderer.image_size == (32, 32)
    assert parse_overrides(Outer, ["--renderer.blur_px", "2"]).renderer == RendererConfig(image_size=(32, 32), blur_px=2.0)


def test_replace_nested_changes_only_the_named_fields():
    from gan3dlib.config import replace_nested
    from gan3dlib.presets import scene_config
    from gan3dlib.train.config import TrainConfig

    base = TrainConfig(model=scene_config(32, yaw_range_degrees=(-30.0, 30.0)), kimg=5.0)
    changed = replace_nested(base, {"model.shading.mode": "lambertian", "kimg": 7.0, "model.shape.symmetric": True})
    assert changed.kimg == 7.0 and changed.model.shading.mode == "lambertian" and changed.model.shape.symmetric
    assert changed.model.viewpoints.yaw_range_degrees == (-30.0, 30.0) and changed.model.resolution == 32
    assert replace_nested(base, {}) == base
    with pytest.raises(ValueError, match="'model.colour' names no field of SceneConfig"):
        replace_nested(base, {"model.colour": 1})
    with pytest.raises(ValueError, match="'kimg' of TrainConfig is not a config"):
        replace_nested(base, {"kimg.x": 1})
    with pytest.raises(ValueError, match="mode: expected .none. or .lambertian."):
        replace_nested(base, {"model.shading.mode": "phong"})  # validated by the rebuilt level


def test_the_top_level_exports_the_entry_points_and_imports_training_lazily():
    import subprocess
    import sys

    code = ("import sys, gan3dlib; assert 'accelerate' not in sys.modules; "
            "from gan3dlib import TrainConfig, train, cpu_preset, paper_preset, SceneGenerator, ablation; "
            "assert cpu_preset('car').model.shape.init == 'sheet' and paper_preset('ffhq').model.resolution == 128; "
            "assert ablation(gan3dlib.ffhq(), 'CRISP').renderer.mode == 'crisp'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_synthetic_data_settings_of_a_run():
    from gan3dlib.train.config import TrainConfig

    config = TrainConfig(data="synthetic", synthetic_category="face", synthetic_texture="smooth", synthetic_images=7)
    synthetic = config.synthetic_config()
    assert (synthetic.category, synthetic.texture_style, synthetic.num_images) == ("face", "smooth", 7)
    assert synthetic.resolution == config.model.resolution and synthetic.seed == config.seed
    assert synthetic.lighting == "directional"
    assert TrainConfig(synthetic_lighting="ambient").synthetic_config().lighting == "ambient"
    for field, value in (("synthetic_category", "boat"), ("synthetic_texture", "plaid"), ("eval_kimg", 0.0),
                         ("synthetic_lighting", "neon")):
        with pytest.raises(ValueError, match=field):
            TrainConfig(**{field: value})


def test_the_cpu_face_demo_starts_deeper_than_wide_and_its_paper_baseline_from_the_round_sphere():
    from gan3dlib.config import replace_nested
    from gan3dlib.eval.synthetic_eval import initial_scene
    from gan3dlib.train.recipe import cpu_preset

    def depth_over_width(config):
        s0 = initial_scene(config).object_shape.initial_shape[0].flatten(1)  # (3, N*N), x y z
        extent = s0.max(dim=1).values - s0.min(dim=1).values
        return (extent[2] / extent[0]).item()

    round_sphere = depth_over_width(cpu_preset("face", paper_s0=True))
    assert round_sphere == pytest.approx(1.0, abs=0.01)  # the grid's vertices, not the ideal sphere
    assert depth_over_width(cpu_preset("face")) == pytest.approx(1.3 * round_sphere, rel=1e-5)
    assert depth_over_width(cpu_preset("blob")) == pytest.approx(round_sphere, rel=1e-5)
    assert cpu_preset("car").model.shape.init == "sheet"
    paper = cpu_preset("face", paper_s0=True)  # differs from the demo in s0 alone
    assert replace_nested(paper, {"model.shape.sphere_axes": (1.0, 1.0, 1.3)}) == cpu_preset("face")


def test_a_run_recorded_before_the_model_was_a_full_scene_config_still_decodes():
    from gan3dlib.config import to_dict
    from gan3dlib.nets.discriminator import DiscriminatorConfig
    from gan3dlib.presets import scene_config
    from gan3dlib.train.config import TrainConfig, train_config_from_dict

    flat = {"resolution": 32, "z_dim": 64, "mapping_layers": 2, "channel_base": 512, "channel_max": 64,
            "pyramid_levels": 3, "shape_scale": 0.01, "yaw_range_degrees": [-30.0, 30.0], "shading": "lambertian"}
    recorded = {**to_dict(TrainConfig(kimg=12.0, batch_size=16)), "model": flat}
    recorded.pop("discriminator")
    config = train_config_from_dict(recorded)
    settings = {**flat, "yaw_range_degrees": (-30.0, 30.0)}
    assert config.model == scene_config(**settings) and config.kimg == 12.0 and config.batch_size == 16
    # D took the object generator's channels then; it keeps them.
    assert config.discriminator == DiscriminatorConfig(None, channel_base=512, channel_max=64)
    assert train_config_from_dict(to_dict(config)) == config  # today's format decodes as it is
    with pytest.raises(ValueError, match="unknown keys"):
        train_config_from_dict({**recorded, "model": {**flat, "colour": 1}})
