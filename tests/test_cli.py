"""The gan3d command on a tiny saved model."""

from __future__ import annotations

import json
import re

import pytest
import torch
from PIL import Image

from gan3dlib.cli import main, parse_seeds
from gan3dlib.presets import scene_config


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    torch.manual_seed(0)
    spec = scene_config(8, z_dim=16, mapping_layers=2, channel_base=64, channel_max=16, pyramid_levels=2)
    spec.build().save_pretrained(folder / "m")
    return folder / "m"


def test_parse_seeds():
    assert parse_seeds("0-3,7,2") == [0, 1, 2, 3, 7]
    for bad in ("a", "5-2", "-1"):
        with pytest.raises(Exception, match="--seeds"):
            parse_seeds(bad)


def test_sample_export_views_info(model_dir, tmp_path, capsys):
    main(["sample", "--model", str(model_dir), "--seeds", "0-2", "--out", str(tmp_path / "s"), "--views", "3"])
    sheet = Image.open(next((tmp_path / "s").glob("sheet-*.png")))
    assert sheet.size == ((4 + 3) * 8, 3 * 8)
    main(["export", "--model", str(model_dir), "--seed", "3", "--format", "obj", "--out", str(tmp_path / "m.obj")])
    assert (tmp_path / "m.obj").is_file() and (tmp_path / "m.mtl").is_file() and (tmp_path / "m.png").is_file()
    main(["views", "--model", str(model_dir), "--seed", "1", "--frames", "4", "--out", str(tmp_path / "t.gif")])
    assert Image.open(tmp_path / "t.gif").n_frames == 4
    capsys.readouterr()
    main(["info", "--model", str(model_dir)])
    info = json.loads(capsys.readouterr().out)
    assert info["resolution"] == 8 and info["parameters"]["object_generator"] > 0


def test_the_same_seed_exports_the_same_mesh(model_dir, tmp_path):
    main(["export", "--model", str(model_dir), "--seed", "5", "--format", "ply", "--out", str(tmp_path / "a.ply")])
    main(["export", "--model", str(model_dir), "--seed", "5", "--format", "ply", "--out", str(tmp_path / "b.ply")])
    assert (tmp_path / "a.ply").read_bytes() == (tmp_path / "b.ply").read_bytes()


def one_error(capsys, args) -> str:
    """Runs ``gan3d args`` expecting a user error: exit status 2 and one line on stderr, no traceback."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        main(args)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and "Traceback" not in err and err.count("\n") == 1, err
    return err


def test_a_missing_model_folder_says_what_to_do(tmp_path, capsys):
    assert "save_pretrained" in one_error(capsys, ["info", "--model", str(tmp_path / "nothing")])


def test_fid_command_and_its_errors(model_dir, tmp_path, capsys):
    data = tmp_path / "images"
    data.mkdir()
    for i in range(6):
        Image.fromarray((torch.rand(8, 8, 3) * 255).to(torch.uint8).numpy()).save(data / f"{i}.png")
    main(["fid", "--model", str(model_dir), "--data", str(data), "--features", "random", "--num", "6",
          "--cache-dir", str(tmp_path / "cache")])
    result = json.loads(capsys.readouterr().out)
    assert result["fid"] > 0 and result["num_real"] == 6 and result["features"].startswith("random-projection")
    assert list((tmp_path / "cache").glob("*.safetensors"))
    # A newcomer's first mistakes each say what to do next.
    err = one_error(capsys, ["fid", "--model", str(model_dir), "--data", str(data)])
    assert re.search("gan3d fid: error: --inception-weights FILE is required.*--features random", err)
    err = one_error(capsys, ["fid", "--model", str(model_dir), "--data", str(data), "--inception-weights",
                             str(tmp_path / "nope.pth")])
    assert re.search("weights-inception-2015-12-05-6726825d.pth.*never downloads", err)
    assert "--data" in one_error(capsys, ["fid", "--model", str(model_dir), "--data", str(tmp_path / "missing"),
                                          "--features", "random"])


def test_train_runs_a_preset_with_the_recipes_overrides(tmp_path, capsys):
    from gan3dlib.config import replace_nested, to_dict
    from gan3dlib.train.recipe import cpu_preset

    data = tmp_path / "images"
    data.mkdir()
    for i in range(8):
        Image.fromarray((torch.rand(8, 8, 3) * 255).to(torch.uint8).numpy()).save(data / f"{i}.png")
    out = tmp_path / "run"
    main(["train", "cpu_face", "--data", str(data), "--out", str(out), "--kimg", "0.004", "--batch_size", "4",
          "--model.resolution", "8", "--model.renderer.blur_px", "2", "--checkpoint_kimg", "0.004",
          "--sample_kimg", "1", "--log_kimg", "1"])
    recorded = json.loads((out / "train_config.json").read_text())
    expected = replace_nested(cpu_preset("face"), {
        "data": str(data), "out": str(out), "kimg": 0.004, "batch_size": 4, "model.resolution": 8,
        "model.renderer.blur_px": 2.0, "checkpoint_kimg": 0.004, "sample_kimg": 1.0, "log_kimg": 1.0})
    assert recorded == to_dict(expected)  # the preset, the overrides, nothing else
    assert (out / "model").is_dir() and "done: 0.004 kimg" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "message"), [
    (["train", "boat"], "gan3d train: error: preset: expected one of ffhq, lsun_car, lsun_bus, cpu_face"),
    (["train", "ffhq"], "gan3d train: error: --data: required"),
    (["train", "cpu_face", "--model.shading.mode", "phong"], "gan3d train: error: --model.shading.mode: invalid choice"),
])
def test_train_refuses_bad_input_in_one_line(args, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2 and capsys.readouterr().err.startswith(message)
