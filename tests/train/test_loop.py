"""Short end-to-end training runs: finite losses, checkpoints, exact resume, export, kill safety."""

from __future__ import annotations

import json
import re

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from train_helpers import image_folder, tiny_config

from gan3dlib.config import load_config
from gan3dlib.scene import SceneGenerator
from gan3dlib.train.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint
from gan3dlib.train.config import TrainConfig
from gan3dlib.train.loop import train


def weights(checkpoint: Path) -> dict[str, torch.Tensor]:
    return load_file(str(checkpoint / "models.safetensors"))


def test_a_short_run_trains_checkpoints_and_exports(tmp_path):
    data = image_folder(tmp_path / "data")
    config = tiny_config(data, tmp_path / "run", kimg=0.012)
    result = train(config)
    assert result.steps == 3 and result.skipped_steps == 0
    assert set(result.last_losses) == {"loss_D", "loss_G", "loss_R1"}
    assert all(torch.isfinite(torch.tensor(v)) for v in result.last_losses.values())
    # One stats line per log interval: losses and the RMS gradient reaching shape, texture, background.
    stats = [json.loads(line) for line in (tmp_path / "run" / "stats.jsonl").read_text().splitlines()]
    assert [s["kimg"] for s in stats] == [0.004, 0.008, 0.012]
    assert all(s["grad_shape"] > 0 and s["grad_texture"] > 0 and s["grad_background"] > 0 for s in stats)
    assert load_config(TrainConfig, tmp_path / "run" / "train_config.json") == config
    assert [p.name for p in list_checkpoints(tmp_path / "run")] == ["ckpt-000000004", "ckpt-000000008", "ckpt-000000012"]
    samples = sorted(p.name for p in (tmp_path / "run" / "samples").iterdir())
    assert "interpolation.gif" in samples and any(name.startswith("sheet-") for name in samples)
    model = SceneGenerator.from_pretrained(tmp_path / "run" / "model")
    out = model(torch.randn(2, 16), torch.randn(2, 16), noise_mode="const")
    assert out.image.shape == (2, 3, 8, 8) and bool(torch.isfinite(out.image).all())
    # The exported model is G_ema, not G.
    saved = weights(latest_checkpoint(tmp_path / "run"))
    key = next(k for k in saved if k.startswith("G_ema/") and k.endswith("weight"))
    torch.testing.assert_close(model.state_dict()[key[len("G_ema/"):]], saved[key])


def test_the_logged_r1_penalty_is_that_of_the_newest_r1_step(tmp_path):
    # R1 on steps 0 and 2, log lines after steps 1 and 3: no log line falls on an R1 step.
    data = image_folder(tmp_path / "data")
    config = tiny_config(data, tmp_path / "run", kimg=0.016, log_kimg=0.008, r1_interval=2, r1_gamma=1.0,
                         checkpoint_kimg=0.016)
    result = train(config)
    stats = [json.loads(line) for line in (tmp_path / "run" / "stats.jsonl").read_text().splitlines()]
    assert [s["kimg"] for s in stats] == [0.008, 0.016]
    assert all(s["loss_R1"] > 0 for s in stats) and result.last_losses["loss_R1"] == stats[-1]["loss_R1"]
    # Without R1 the logged penalty is zero.
    none = train(dataclasses.replace(config, out=str(tmp_path / "none"), r1_gamma=0.0))
    assert none.last_losses["loss_R1"] == 0.0


def test_resume_continues_the_same_run_exactly(tmp_path):
    data = image_folder(tmp_path / "data")
    straight = train(tiny_config(data, tmp_path / "a", kimg=0.020))
    assert straight.steps == 5
    train(tiny_config(data, tmp_path / "b", kimg=0.020), max_steps=2)  # "killed" after step 2
    (tmp_path / "b" / "stats.jsonl").open("a").write('{"kimg": 0.016, "cut sh')  # a line cut by a crash
    resumed = train(tiny_config(data, tmp_path / "b", kimg=0.020, resume="latest"))
    assert resumed.steps == 5
    kimgs = [json.loads(line)["kimg"] for line in (tmp_path / "b" / "stats.jsonl").read_text().splitlines()]
    assert kimgs == [0.004, 0.008, 0.012, 0.016, 0.02]
    a, b = weights(latest_checkpoint(tmp_path / "a")), weights(latest_checkpoint(tmp_path / "b"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0, msg=key)


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path):
    data = image_folder(tmp_path / "data")
    with pytest.raises(ValueError, match="resume"):
        train(tiny_config(data, tmp_path / "run", resume="latest"))


def test_missing_and_empty_data_fail_at_start(tmp_path):
    (tmp_path / "empty").mkdir()
    for path in (tmp_path / "missing", tmp_path / "empty"):
        with pytest.raises(ValueError, match="path"):
            train(tiny_config(path, tmp_path / "run"))


def test_killing_a_run_at_any_moment_leaves_a_loadable_checkpoint(tmp_path):
    data = image_folder(tmp_path / "data")
    run = tmp_path / "run"
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from train_helpers import tiny_config
        from gan3dlib.train.loop import train
        train(tiny_config({str(data)!r}, {str(run)!r}, kimg=10.0))
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while len(list_checkpoints(run)) < 2 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        time.sleep(0.13)  # somewhere in the middle of a step or a checkpoint write
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    for checkpoint in list_checkpoints(run):  # every listed checkpoint is complete and loads
        config = tiny_config(data, run)
        scene = config.model.build()
        load_checkpoint(checkpoint, {"G": scene}, {})  # models only: strict names/shapes
    before = latest_checkpoint(run)
    resumed = train(tiny_config(data, run, kimg=10.0, resume="latest"), max_steps=1)
    assert resumed.steps == int(before.name.split("-")[1]) // 4 + 1


def test_tensorboard_without_the_package_is_a_clear_error(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("no tensorboard")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    data = image_folder(tmp_path / "data")
    with pytest.raises(ValueError, match="tensorboard"):
        train(tiny_config(data, tmp_path / "run", tensorboard=True), max_steps=1)


@pytest.fixture
def fresh_accelerate_state():
    """accelerate keeps one process-wide state; a test that changes the precision needs a fresh one."""
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)
    yield
    AcceleratorState._reset_state(reset_partial_state=True)


def test_bf16_mixed_precision_trains_with_a_float32_renderer(tmp_path, fresh_accelerate_state):
    data = image_folder(tmp_path / "data")
    result = train(tiny_config(data, tmp_path / "run", kimg=0.008, mixed_precision="bf16"))
    assert result.steps == 2 and result.skipped_steps == 0
    assert all(torch.isfinite(torch.tensor(v)) for v in result.last_losses.values())
    assert load_config(TrainConfig, tmp_path / "run" / "train_config.json").mixed_precision == "bf16"


def test_paper_recipes_need_data_and_carry_the_paper_settings(capsys):
    from gan3dlib.train.recipe import paper_preset, run_recipe

    ffhq, car = paper_preset("ffhq"), paper_preset("lsun_car")
    assert ffhq.model.resolution == 128 and ffhq.model.shape.init == "sphere" and ffhq.model.shape.use_size_constraint
    assert car.model.shape.init == "sheet" and not car.model.shape.use_size_constraint and car.kimg == 5000.0
    with pytest.raises(SystemExit) as stop:
        run_recipe(ffhq, [])
    assert stop.value.code == 2 and "error: --data: required" in capsys.readouterr().err


def test_a_newcomers_first_mistakes_stop_early_with_what_to_do(tmp_path, monkeypatch, capsys):
    from gan3dlib.train import recipe
    from gan3dlib.train.recipe import paper_preset, run_recipe

    def error_of(args) -> str:
        with pytest.raises(SystemExit) as stop:
            run_recipe(ffhq, args)
        assert stop.value.code == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.count("error:") == 1
        return err

    ffhq = paper_preset("ffhq")
    assert re.search(r"--data: path: .*missing.* does not exist; point --data at", error_of(["--data", str(tmp_path / "missing")]))
    (tmp_path / "empty").mkdir()
    assert re.search("--data: .*no images", error_of(["--data", str(tmp_path / "empty")]))
    # No GPU: the 128² model does not start on the CPU unless asked for, and says what to do instead.
    monkeypatch.setattr(recipe, "accelerator_available", lambda: False)
    data = image_folder(tmp_path / "data")
    assert re.search(r"no GPU found(.|\n)*recipes/synthetic.py(.|\n)*--cpu true", error_of(["--data", str(data)]))
    recipe.check_can_start(dataclasses.replace(ffhq, data=str(data), cpu=True))  # asked for: allowed
    recipe.check_can_start(dataclasses.replace(ffhq, data="synthetic", model=dataclasses.replace(ffhq.model, resolution=32)))
