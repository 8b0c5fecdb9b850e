"""The bad-input catalogue: every mistake gets one clear error, and nothing on disk is lost.

Each test names a mistake a user makes (or a damaged file they bring), asserts the exact kind of
error and its message, and, where files are involved, that what was on disk before is still there,
byte for byte, and that nothing half-written is left behind.
"""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).parent / "train"))

from train_helpers import TINY_SPEC, image_folder, tiny_config  # noqa: E402

from gan3dlib.cli import main as gan3d  # noqa: E402
from gan3dlib.config import replace_nested  # noqa: E402
from gan3dlib.data.images import ImageDatasetConfig  # noqa: E402
from gan3dlib.render import PerspectiveCamera, RendererConfig  # noqa: E402
from gan3dlib.scene import SceneGenerator  # noqa: E402
from gan3dlib.train.checkpoint import latest_checkpoint, list_checkpoints  # noqa: E402
from gan3dlib.train.loop import train  # noqa: E402
from gan3dlib.train.recipe import run_recipe  # noqa: E402
from gan3dlib.train.run_folder import RunLock  # noqa: E402
from gan3dlib.utils.checks import data_checks  # noqa: E402


def snapshot(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``folder`` (the lock file aside)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def no_staging_left(folder: Path) -> bool:
    return not [p for p in folder.rglob(".*.tmp")]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A finished 2-step run on an image folder, and its data folder."""
    root = tmp_path_factory.mktemp("finished")
    data = image_folder(root / "data")
    train(tiny_config(data, root / "run", kimg=0.008))
    return root / "run", data


def copy_run(run: Path, to: Path) -> Path:
    import shutil

    shutil.copytree(run, to)
    return to


def one_error_line(capsys, call) -> str:
    """Runs ``call()``, expecting exit status 2 and exactly one line on stderr, no traceback."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        call()
    err = capsys.readouterr().err
    assert stop.value.code == 2, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


# --- the run lifecycle ---------------------------------------------------------------------------


def test_rerunning_a_finished_run_trains_nothing_and_changes_nothing(finished_run, tmp_path, capsys):
    run, data = finished_run
    copy = copy_run(run, tmp_path / "run")
    before = snapshot(copy)
    result = train(tiny_config(data, copy, kimg=0.008))
    assert result.kimg == 0.008 and result.steps == 2 and result.seconds == 0.0
    assert "is finished" in capsys.readouterr().out
    assert snapshot(copy) == before


def test_the_same_command_continues_an_interrupted_run_exactly(tmp_path):
    data = image_folder(tmp_path / "data")
    straight = train(tiny_config(data, tmp_path / "a", kimg=0.016))
    train(tiny_config(data, tmp_path / "b", kimg=0.016), max_steps=2)  # the connection dropped
    again = train(tiny_config(data, tmp_path / "b", kimg=0.016))  # the same command, retyped
    assert again.steps == straight.steps == 4
    a = load_file(str(latest_checkpoint(tmp_path / "a") / "models.safetensors"))
    b = load_file(str(latest_checkpoint(tmp_path / "b") / "models.safetensors"))
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_a_larger_budget_continues_a_finished_run(finished_run, tmp_path):
    run, data = finished_run
    copy = copy_run(run, tmp_path / "run")
    result = train(tiny_config(data, copy, kimg=0.012))  # kimg may change between invocations
    assert result.steps == 3 and latest_checkpoint(copy).name == "ckpt-000000012"


def test_resume_latest_without_a_checkpoint(tmp_path):
    data = image_folder(tmp_path / "data")
    with pytest.raises(ValueError, match=r"--resume latest: no checkpoint in .*; use --resume auto"):
        train(tiny_config(data, tmp_path / "run", resume="latest"))
    assert list_checkpoints(tmp_path / "run") == []


def test_resume_never_refuses_to_overwrite_a_run(finished_run, tmp_path):
    run, data = finished_run
    copy = copy_run(run, tmp_path / "run")
    before = snapshot(copy)
    with pytest.raises(ValueError, match=r"--resume never: .* holds the checkpoints of a run .*new --out"):
        train(tiny_config(data, copy, resume="never"))
    assert snapshot(copy) == before
    fresh = train(tiny_config(data, tmp_path / "new", kimg=0.004, resume="never"))  # a new folder is fine
    assert fresh.steps == 1


def test_continuing_with_settings_that_change_the_run_is_refused(finished_run, tmp_path):
    run, data = finished_run
    copy = copy_run(run, tmp_path / "run")
    before = snapshot(copy)
    changed = tiny_config(data, copy, kimg=0.012, g_lr=0.001,
                          model=replace_nested(TINY_SPEC, {"shape.shape_scale": 0.01}))
    with pytest.raises(ValueError) as err:
        train(changed)
    message = str(err.value)
    assert "g_lr: 0.0025 -> 0.001" in message and "model.shape.shape_scale: 0.002 -> 0.01" in message
    assert "kimg" not in message.split("(")[1].split(")")[0]  # the budget may change: not listed
    assert snapshot(copy) == before


def test_leftovers_of_a_killed_write_are_removed_and_missing_artifacts_rewritten(finished_run, tmp_path):
    run, data = finished_run
    copy = copy_run(run, tmp_path / "run")
    staging = copy / "checkpoints" / ".ckpt-000000012.abcd.tmp"
    staging.mkdir()
    (staging / "models.safetensors").write_bytes(b"half")
    (copy / ".train_config.json.x1y2.tmp").write_text("{")
    (copy / "samples" / "interpolation.gif").unlink()
    import shutil

    shutil.rmtree(copy / "model")
    checkpoints = {p.name: snapshot(p) for p in list_checkpoints(copy)}
    train(tiny_config(data, copy, kimg=0.008))  # finished: rewrites only what is missing
    assert no_staging_left(copy)
    assert (copy / "samples" / "interpolation.gif").stat().st_size > 0
    assert SceneGenerator.from_pretrained(copy / "model").config.resolution == 8
    assert {p.name: snapshot(p) for p in list_checkpoints(copy)} == checkpoints


def test_a_second_process_in_the_same_run_folder_is_refused(tmp_path):
    data = image_folder(tmp_path / "data")
    with RunLock(tmp_path / "run"):
        with pytest.raises(ValueError, match="another process is training in"):
            train(tiny_config(data, tmp_path / "run"))


# --- the command line ----------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "expected"), [
    (["--model.resolution", "abc"], "--model.resolution: couldn't parse 'abc' into an int"),
    (["--batch_size", "-1"], "--batch_size: expected a integer > 0, got -1"),
    (["--kimg", "nan"], "--kimg: expected a number > 0, got nan"),
    (["--batch_size", "2.5"], "--batch_size: couldn't parse '2.5' into an int"),
    (["--model.resolution", "33"], "--model.resolution: expected a power of two >= 2"),
    (["--model.shading.mode", "phong"], "--model.shading.mode: invalid choice: 'phong' (choose from 'none', 'lambertian')"),
    (["--bogus", "1"], "unrecognized arguments: --bogus 1 (see --help for the settings)"),
    (["--data", "synthetic", "--resume", ""], "--resume: expected 'auto', 'latest', 'never' or a checkpoint"),
])
def test_command_line_mistakes_are_one_line_naming_the_flag(args, expected, tmp_path, capsys):
    preset = tiny_config(tmp_path / "data", tmp_path / "run")
    err = one_error_line(capsys, lambda: run_recipe(preset, args))
    assert expected in err and err.startswith("recipe: error: ")
    assert not (tmp_path / "run").exists()


def test_gan3d_export_into_a_place_it_cannot_write(finished_run, tmp_path, capsys):
    run, _ = finished_run
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me")
    err = one_error_line(capsys, lambda: gan3d(["export", "--model", str(run / "model"), "--out",
                                                str(blocker / "sample.glb")]))
    assert "gan3d export: error: --out: cannot create a folder at" in err and "a file is in the way" in err
    assert blocker.read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


# --- models and config files ---------------------------------------------------------------------


@pytest.fixture
def model_folder(finished_run, tmp_path) -> Path:
    run, _ = finished_run
    return copy_run(run / "model", tmp_path / "model")


def test_weights_with_nan_are_refused_with_their_names(model_folder):
    tensors = load_file(str(model_folder / "model.safetensors"))
    name = sorted(tensors)[3]
    tensors[name] = torch.full_like(tensors[name], float("nan"))
    save_file(tensors, str(model_folder / "model.safetensors"), metadata={"format": "gan3dlib.pretrained.v1"})
    with pytest.raises(ValueError, match=rf"1 tensors hold NaN or inf values \(\['{name}'\]\)"):
        SceneGenerator.from_pretrained(model_folder)


@pytest.mark.parametrize(("edit", "expected"), [
    (lambda h: h.update(comment="x"), r"unknown top-level keys \['comment'\]"),
    (lambda h: h["config"]["shape"].update(colour=1), r"unknown keys \['shape.colour'\]"),
    (lambda h: h["config"].update(resolution=7), "resolution"),
    (lambda h: h.update(format="other"), "is not a gan3dlib.pretrained.v1 config"),
])
def test_config_files_with_unknown_keys_or_bad_values_are_refused(model_folder, edit, expected):
    header = json.loads((model_folder / "config.json").read_text())
    edit(header)
    (model_folder / "config.json").write_text(json.dumps(header))
    with pytest.raises(ValueError, match=expected):
        SceneGenerator.from_pretrained(model_folder)


def test_damaged_weight_files_are_refused(model_folder, tmp_path):
    data = (model_folder / "model.safetensors").read_bytes()
    (model_folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable safetensors file"):
        SceneGenerator.from_pretrained(model_folder)
    (model_folder / "model.safetensors").write_bytes(data)
    tensors = load_file(str(model_folder / "model.safetensors"))
    first = sorted(tensors)[0]
    tensors[first] = tensors[first].double()
    save_file(tensors, str(model_folder / "model.safetensors"))
    with pytest.raises(ValueError, match=rf"{first}: .* torch.float64 vs .* torch.float32"):
        SceneGenerator.from_pretrained(model_folder)
    (model_folder / "config.json").rename(model_folder / "config.bak")
    with pytest.raises(ValueError, match="has no config.json"):
        SceneGenerator.from_pretrained(model_folder)


# --- tensors at the renderer and camera boundary ---------------------------------------------------


def test_non_finite_and_out_of_range_inputs_are_refused_where_they_enter():
    camera = PerspectiveCamera((16, 16))
    renderer = RendererConfig(image_size=(16, 16)).build("cpu")
    verts = torch.tensor([[[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]])
    faces = torch.tensor([[0, 1, 2]])
    uvs = torch.rand(1, 3, 2)
    rotation = torch.eye(3)[None].clone()
    rotation[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="rotation: expected finite values"):
        camera.project(verts, rotation)
    screen = camera.project(verts)
    texture = torch.rand(1, 3, 4, 4)
    texture[0, 0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="texture: expected finite values"):
        renderer(screen, faces, texture=texture, face_uvs=uvs)
    with pytest.raises(ValueError, match=r"faces: expected vertex indices in \[0, 3\)"):
        renderer(screen, torch.tensor([[0, 1, 3]]))
    with pytest.raises(ValueError, match="faces: expected dtype"):
        renderer(screen, faces.float())
    with pytest.raises(ValueError, match="background: expected finite values"):
        renderer(screen, faces, texture=torch.rand(1, 3, 4, 4), face_uvs=uvs,
                 background=torch.tensor([0.0, float("inf"), 0.0]))
    # Value checks can be switched off inside a hot loop that checked its inputs once; shapes still are.
    with data_checks(False):
        renderer(screen, faces, texture=texture, face_uvs=uvs)
        with pytest.raises(ValueError, match="texture: expected"):
            renderer(screen, faces, texture=torch.rand(3, 4, 4), face_uvs=uvs)


# --- data ----------------------------------------------------------------------------------------


def test_data_folders_that_hold_no_usable_image(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no images"):
        ImageDatasetConfig(str(tmp_path / "empty"), 8).build()
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for i in range(3):
        (corrupt / f"{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    dataset = ImageDatasetConfig(str(corrupt), 8).build()
    with pytest.raises(ValueError, match="all 3 images under .* are unreadable or corrupt"):
        dataset[0]
    with zipfile.ZipFile(tmp_path / "none.zip", "w") as archive:
        archive.writestr("dataset.json", "{}")
    with pytest.raises(ValueError, match="no images"):
        ImageDatasetConfig(str(tmp_path / "none.zip"), 8).build()


def test_one_readable_image_among_corrupt_ones_trains(tmp_path, capsys):
    data = image_folder(tmp_path / "data", count=1)
    for i in range(3):
        (data / f"bad{i}.png").write_bytes(b"broken")
    result = train(tiny_config(data, tmp_path / "run", kimg=0.008))
    assert result.steps == 2 and result.skipped_steps == 0


def test_an_all_corrupt_folder_stops_the_recipe_with_one_message(tmp_path, capsys):
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "0.png").write_bytes(b"broken")
    preset = tiny_config(corrupt, tmp_path / "run")
    err = one_error_line(capsys, lambda: run_recipe(preset, []))
    assert "unreadable or corrupt" in err
