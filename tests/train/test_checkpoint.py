"""Checkpoints: exact round trip of models, optimizers and RNG; atomicity; rotation."""

from __future__ import annotations

import os

import pytest
import torch
from torch import nn

from gan3dlib.train import checkpoint as ckpt


def make():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    model.register_buffer("w_avg", torch.zeros(3))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(0.0, 0.99))
    return model, optimizer


def train_steps(model, optimizer, steps):
    losses = []
    for _ in range(steps):
        x = torch.randn(5, 4)
        loss = model(x).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        model.w_avg.add_(1.0)
        losses.append(float(loss.detach()))
    return losses


def test_resume_reproduces_the_next_steps_exactly(tmp_path):
    model, optimizer = make()
    torch.manual_seed(1)
    train_steps(model, optimizer, 3)
    path = ckpt.save_checkpoint(tmp_path, 0.003, {"G": model}, {"opt": optimizer}, {"torch": torch.get_rng_state()}, {"step": 3})
    expected = train_steps(model, optimizer, 4)

    other, other_opt = make()
    state, rng, kimg = ckpt.load_checkpoint(path, {"G": other}, {"opt": other_opt})
    torch.set_rng_state(rng["torch"])
    assert state == {"step": 3} and kimg == 0.003
    assert train_steps(other, other_opt, 4) == expected
    for a, b in zip(model.state_dict().values(), other.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_rotation_keeps_the_newest(tmp_path):
    model, optimizer = make()
    for i in range(5):
        ckpt.save_checkpoint(tmp_path, float(i), {"G": model}, {"opt": optimizer}, {}, {"i": i}, keep=2)
    names = [p.name for p in ckpt.list_checkpoints(tmp_path)]
    assert names == ["ckpt-000003000", "ckpt-000004000"]
    assert ckpt.latest_checkpoint(tmp_path).name == "ckpt-000004000"


def test_a_crash_during_a_write_leaves_the_last_good_checkpoint(tmp_path, monkeypatch):
    model, optimizer = make()
    good = ckpt.save_checkpoint(tmp_path, 1.0, {"G": model}, {"opt": optimizer}, {}, {"i": 1})

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt, "save_file", crash)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_checkpoint(tmp_path, 2.0, {"G": model}, {"opt": optimizer}, {}, {"i": 2})
    assert ckpt.latest_checkpoint(tmp_path) == good
    assert sorted(os.listdir(tmp_path / "checkpoints")) == [good.name]  # no temporary folder left
    other, other_opt = make()
    assert ckpt.load_checkpoint(good, {"G": other}, {"opt": other_opt})[0] == {"i": 1}


def test_incomplete_or_mismatched_checkpoints_are_clear_errors(tmp_path):
    model, optimizer = make()
    path = ckpt.save_checkpoint(tmp_path, 1.0, {"G": model}, {"opt": optimizer}, {}, {})
    with pytest.raises(ValueError, match="weights"):
        ckpt.load_checkpoint(path, {"G": nn.Linear(4, 2)}, {})
    (path / "rng.safetensors").unlink()
    with pytest.raises(ValueError, match="missing"):
        ckpt.load_checkpoint(path, {"G": model}, {"opt": optimizer})
    with pytest.raises(ValueError, match="keep"):
        ckpt.save_checkpoint(tmp_path, 2.0, {}, {}, {}, {}, keep=0)
