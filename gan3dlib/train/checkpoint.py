"""Training checkpoints without pickles: safetensors for tensors, JSON for the rest, atomic folders.

A checkpoint is a folder ``<run>/checkpoints/ckpt-<kimg>`` holding

- ``models.safetensors``: every model's state dict, keys prefixed ``<name>/``;
- ``optimizers.safetensors``: every optimizer's per-parameter state (``<name>/<index>/<key>``);
- ``rng.safetensors``: random states (torch CPU, CUDA, data loader generators), one per process;
- ``state.json``: counters (k-images, step), optimizer hyperparameters, anything JSON-able.

It is written under a temporary name and renamed into place, so every ``ckpt-*`` folder is
complete: killing the process at any moment, also during a write, leaves the previous checkpoint
loadable. Older checkpoints beyond ``keep`` are deleted after the new one is in place, each renamed
out of the listing before its files go.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from gan3dlib.hub import load_state_strict
from gan3dlib.utils.atomic import atomic_folder, staging_path

__all__ = ["save_checkpoint", "load_checkpoint", "latest_checkpoint", "list_checkpoints"]

_NAME = re.compile(r"^ckpt-(\d{9})$")


def _optimizer_tensors(name: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    state = optimizer.state_dict()
    tensors = {}
    for index, values in state["state"].items():
        for key, value in values.items():
            tensor = value if isinstance(value, torch.Tensor) else torch.tensor(value)
            tensors[f"{name}/{index}/{key}"] = tensor.detach().cpu().contiguous()
    return tensors, {"param_groups": state["param_groups"]}


def save_checkpoint(
    run_folder: str | os.PathLike[str],
    kimg: float,
    models: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    rng: dict[str, torch.Tensor],
    state: dict[str, Any],
    keep: int = 3,
) -> Path:
    """Writes one checkpoint atomically and keeps the newest ``keep``.

    Args:
        run_folder: the run folder; checkpoints go to ``<run_folder>/checkpoints``.
        kimg: training progress in thousands of images (names the checkpoint).
        models: name -> module (unwrapped; state dicts are saved).
        optimizers: name -> optimizer.
        rng: name -> random-state tensor (uint8), e.g. ``torch.get_rng_state()`` per process.
        state: JSON-able counters and settings.
        keep: number of checkpoints to keep (>= 1).

    Returns:
        The checkpoint folder.
    """
    if keep < 1:
        raise ValueError(f"keep: expected an integer >= 1, got {keep!r}")
    target = Path(run_folder) / "checkpoints" / f"ckpt-{round(kimg * 1000):09d}"
    with atomic_folder(target) as staging:
        model_tensors = {
            f"{name}/{key}": value.detach().cpu().contiguous()
            for name, module in models.items()
            for key, value in module.state_dict().items()
        }
        save_file(model_tensors, str(staging / "models.safetensors"))
        optimizer_tensors: dict[str, torch.Tensor] = {}
        groups = {}
        for name, optimizer in optimizers.items():
            tensors, meta = _optimizer_tensors(name, optimizer)
            optimizer_tensors.update(tensors)
            groups[name] = meta
        save_file(optimizer_tensors, str(staging / "optimizers.safetensors"))
        save_file({k: v.detach().cpu().contiguous() for k, v in rng.items()}, str(staging / "rng.safetensors"))
        payload = {"kimg": kimg, "state": state, "optimizers": groups}
        (staging / "state.json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    for old in list_checkpoints(run_folder)[:-keep]:
        # Renamed out of the listing first, so a kill during the deletion never leaves a partial
        # "complete" checkpoint behind (the staging name is cleaned up when a run starts).
        doomed = staging_path(old)
        os.replace(old, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
    return target


def list_checkpoints(run_folder: str | os.PathLike[str]) -> list[Path]:
    """Complete checkpoints of a run, oldest first (temporary folders are ignored)."""
    folder = Path(run_folder) / "checkpoints"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and _NAME.match(p.name))


def latest_checkpoint(run_folder: str | os.PathLike[str]) -> Path | None:
    """The newest complete checkpoint of a run, or None."""
    found = list_checkpoints(run_folder)
    return found[-1] if found else None


def load_checkpoint(
    checkpoint: str | os.PathLike[str],
    models: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
) -> tuple[dict[str, Any], dict[str, torch.Tensor], float]:
    """Restores models and optimizers in place.

    Args:
        checkpoint: a checkpoint folder written by [`save_checkpoint`][gan3dlib.train.checkpoint.save_checkpoint].
        models: name -> module to load into (strict: names, shapes and dtypes must match).
        optimizers: name -> optimizer (built over the same parameters, in the same order).

    Returns:
        (state, rng tensors, kimg).

    Raises:
        ValueError: for a missing, incomplete or incompatible checkpoint.
    """
    folder = Path(checkpoint)
    names = ("models.safetensors", "optimizers.safetensors", "rng.safetensors", "state.json")
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise ValueError(f"checkpoint: {str(folder)!r} is not a complete checkpoint (missing {missing})")
    try:
        model_tensors = load_file(str(folder / "models.safetensors"))
        optimizer_tensors = load_file(str(folder / "optimizers.safetensors"))
        rng = load_file(str(folder / "rng.safetensors"))
    except (SafetensorError, OSError) as err:
        raise ValueError(f"checkpoint: {str(folder)!r} holds an unreadable safetensors file: {err}") from err
    payload = json.loads((folder / "state.json").read_text(encoding="utf-8"))
    for name, module in models.items():
        prefix = f"{name}/"
        load_state_strict(module, {k[len(prefix):]: v for k, v in model_tensors.items() if k.startswith(prefix)})
    for name, optimizer in optimizers.items():
        per_param: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in optimizer_tensors.items():
            owner, index, field = key.split("/", 2)
            if owner == name:
                per_param.setdefault(int(index), {})[field] = value
        groups = payload["optimizers"].get(name)
        if groups is None:
            raise ValueError(f"checkpoint: no optimizer {name!r} in {str(folder)!r}")
        optimizer.load_state_dict({"state": per_param, "param_groups": groups["param_groups"]})
    return payload["state"], rng, float(payload["kimg"])
