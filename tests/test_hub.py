"""save_pretrained / from_pretrained: round trip, strict loading, corrupted files, atomic saves."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from torch import nn

import gan3dlib.hub as hub
from gan3dlib.hub import PretrainedMixin


@dataclasses.dataclass(frozen=True)
class TinyConfig:
    width: int = 4

    def build(self):
        return Tiny(self)


class Tiny(PretrainedMixin, nn.Module):
    config_class = TinyConfig

    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.config = config
        self.linear = nn.Linear(config.width, 2)
        self.register_buffer("w_avg", torch.zeros(config.width))

    def forward(self, x):
        return self.linear(x + self.w_avg)


class Other(Tiny):
    pass


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = Tiny(TinyConfig(width=5))
    m.w_avg.copy_(torch.randn(5))
    return m


def test_round_trip_gives_identical_outputs(model, tmp_path):
    folder = model.save_pretrained(tmp_path / "g", facts={"dataset": "synthetic", "kimg": 12})
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    loaded = Tiny.from_pretrained(folder)
    x = torch.randn(3, 5)
    torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    assert loaded.config == model.config
    card = (folder / "README.md").read_text()
    assert "library_name: gan3dlib" in card and "| dataset | synthetic |" in card and '"width": 5' in card


def test_strict_loading_errors(model, tmp_path):
    folder = model.save_pretrained(tmp_path / "g")
    header = json.loads((folder / "config.json").read_text())
    header["config"]["width"] = 6  # config no longer matches the weights
    (folder / "config.json").write_text(json.dumps(header))
    with pytest.raises(ValueError, match="weights: tensors differ"):
        Tiny.from_pretrained(folder)
    model.save_pretrained(folder)
    with pytest.raises(ValueError, match="cls"):
        Other.from_pretrained(folder)
    model.double().save_pretrained(folder)  # dtype mismatch against a float32 model
    with pytest.raises(ValueError, match="float64"):
        Tiny.from_pretrained(folder)


def test_corrupted_and_truncated_weights(model, tmp_path):
    folder = model.save_pretrained(tmp_path / "g")
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="safetensors"):
        Tiny.from_pretrained(folder)
    weights.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match="safetensors"):
        Tiny.from_pretrained(folder)
    with pytest.raises(ValueError, match="source"):
        Tiny.from_pretrained(tmp_path / "nowhere")
    (folder / "config.json").write_text("{")
    with pytest.raises(ValueError, match="JSON"):
        Tiny.from_pretrained(folder)


def test_a_crash_while_saving_keeps_the_last_good_folder(model, tmp_path, monkeypatch):
    folder = model.save_pretrained(tmp_path / "g")
    before = (folder / "model.safetensors").read_bytes()

    def crash(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(hub, "save_model", crash)
    with pytest.raises(RuntimeError):
        Tiny(TinyConfig(width=5)).save_pretrained(folder)
    assert (folder / "model.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g"]  # no staging folders left


def test_interrupted_swap_falls_back_to_previous(model, tmp_path):
    folder = model.save_pretrained(tmp_path / "g")
    folder.rename(tmp_path / "g.previous")  # as if killed between the two renames
    loaded = Tiny.from_pretrained(tmp_path / "g")
    torch.testing.assert_close(loaded.w_avg, model.w_avg)


def test_sources_are_told_apart(tmp_path, monkeypatch):
    """Local paths never reach the hub; 'owner/name' ids do (offline here: a clear error)."""
    calls = []

    def fake_download(repo_id, **kwargs):
        calls.append(repo_id)
        raise OSError("offline")

    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_download)
    with pytest.raises(ValueError, match="reachable hub repository"):
        Tiny.from_pretrained("someone/tiny-model")
    assert calls == ["someone/tiny-model"]
    for local in (str(tmp_path / "missing"), "./missing", "~/missing", "a/b/c"):
        with pytest.raises(ValueError, match="model folder"):
            Tiny.from_pretrained(local)
    assert calls == ["someone/tiny-model"]
