"""Sharing models: ``save_pretrained`` / ``from_pretrained`` / ``push_to_hub`` with safetensors.

A model folder holds

- ``config.json``: ``{"format": ..., "class": "<module>.<Model>", "config": {...}}``, the model's
  config dataclass encoded by [`gan3dlib.config`][gan3dlib.config] (decoded strictly on load);
- ``model.safetensors``: every parameter and persistent buffer (e.g. StyleGAN's ``w_avg``);
- ``README.md``: a model card with the config and the facts the caller passes (training data,
  k-images, metrics).

Weights never travel as pickles: loading reads safetensors only, and is strict (missing, extra,
mis-shaped or mis-typed tensors are errors). Saving is atomic: the folder is written under a
temporary name and swapped in, so a crash leaves the previous complete folder (if the crash falls
between the two renames of the swap, it is at ``<folder>.previous``, which [`from_pretrained`][gan3dlib.hub.from_pretrained]
then reads).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, TypeVar

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_model
from torch import nn

from gan3dlib.config import from_dict, to_dict
from gan3dlib.utils.atomic import atomic_folder

__all__ = ["PretrainedMixin", "save_pretrained", "from_pretrained", "model_card"]

FORMAT = "gan3dlib.pretrained.v1"
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"

M = TypeVar("M", bound=nn.Module)
# A hub repo id: "name" or "owner/name" (no leading dot, slash or tilde, so local paths never match).
_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")


def model_card(model: nn.Module, facts: dict[str, Any] | None = None) -> str:
    """A Markdown model card (hub front matter, what the model is, its config and facts)."""
    cls = type(model)
    facts = facts or {}
    lines = [
        "---",
        "library_name: gan3dlib",
        "tags:",
        "- gan3dlib",
        "- 3d",
        "- mesh",
        "- generative",
        "---",
        "",
        f"# {facts.get('name', cls.__name__)}",
        "",
        f"A `{cls.__module__}.{cls.__name__}` saved by gan3dlib. Load it with",
        "",
        "```python",
        f"from {cls.__module__} import {cls.__name__}",
        f"model = {cls.__name__}.from_pretrained(\"<this folder or repo id>\")",
        "```",
        "",
    ]
    if facts:
        lines += ["## Facts", "", "| key | value |", "|---|---|"]
        lines += [f"| {key} | {value} |" for key, value in facts.items() if key != "name"]
        lines.append("")
    lines += ["## Config", "", "```json", json.dumps(to_dict(model.config), indent=2), "```", ""]
    return "\n".join(lines)


def save_pretrained(model: nn.Module, directory: str | os.PathLike[str], facts: dict[str, Any] | None = None) -> Path:
    """Writes ``config.json``, ``model.safetensors`` and ``README.md`` atomically.

    Args:
        model: a module with a ``config`` dataclass that rebuilds it (``config.build()``).
        directory: the model folder (created or replaced).
        facts: key/value facts for the model card (training data, k-images, metrics...).

    Returns:
        The folder written.
    """
    config = getattr(model, "config", None)
    if config is None:
        raise ValueError(f"model: expected a module with a `config` dataclass, got {type(model).__name__}")
    header = {"format": FORMAT, "class": f"{type(model).__module__}.{type(model).__qualname__}", "config": to_dict(config)}
    with atomic_folder(directory) as staging:
        (staging / CONFIG_NAME).write_text(json.dumps(header, indent=2) + "\n", encoding="utf-8")
        save_model(model, str(staging / WEIGHTS_NAME), metadata={"format": FORMAT})
        (staging / CARD_NAME).write_text(model_card(model, facts), encoding="utf-8")
    return Path(directory)


def _resolve(source: str | os.PathLike[str], revision: str | None, local_files_only: bool) -> Path:
    path = Path(source)
    if path.is_dir():
        return path
    previous = path.with_name(path.name + ".previous")
    if previous.is_dir():  # a save was interrupted between its two renames
        return previous
    if path.exists() or not _REPO_ID.match(str(source)):
        raise ValueError(
            f"source: expected a model folder with {CONFIG_NAME} and {WEIGHTS_NAME} or a hub repo id "
            f"('owner/name'), got {str(source)!r}"
        )
    try:
        from huggingface_hub import snapshot_download
    except ImportError as err:  # pragma: no cover - huggingface_hub comes with accelerate
        raise ValueError(f"source: {str(source)!r} is not a folder and huggingface_hub is not installed") from err
    try:
        folder = snapshot_download(
            repo_id=str(source), revision=revision, allow_patterns=[CONFIG_NAME, WEIGHTS_NAME, CARD_NAME],
            local_files_only=local_files_only,
        )
    except Exception as err:
        raise ValueError(
            f"source: {str(source)!r} is neither a local model folder nor a reachable hub repository ({err})"
        ) from err
    return Path(folder)


def from_pretrained(
    cls: type[M],
    source: str | os.PathLike[str],
    *,
    map_location: str | torch.device = "cpu",
    revision: str | None = None,
    local_files_only: bool = False,
) -> M:
    """Rebuilds a model from a folder (or hub repo id) written by [`save_pretrained`][gan3dlib.hub.save_pretrained].

    Args:
        cls: the model class; must match the saved ``class`` and have a ``config_class``.
        source: a local folder, or a hub repo id (downloaded with ``huggingface_hub``; honours
            ``HF_HUB_OFFLINE``).
        map_location: device of the loaded tensors.
        revision: hub revision.
        local_files_only: never touch the network for a repo id.

    Returns:
        The model in eval mode.

    Raises:
        ValueError: for a missing or incompatible folder, a config that does not decode, a
            corrupted or truncated weights file, or missing, extra, mis-shaped or mis-typed tensors.
    """
    folder = _resolve(source, revision, local_files_only)
    config_path, weights_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    for path in (config_path, weights_path):
        if not path.is_file():
            raise ValueError(f"source: {str(folder)!r} has no {path.name}; expected a folder written by save_pretrained")
    try:
        header = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"source: {config_path} is not valid JSON ({err})") from err
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        found = header.get("format") if isinstance(header, dict) else type(header).__name__
        raise ValueError(f"source: {config_path} is not a {FORMAT} config (format={found!r})")
    unknown = sorted(set(header) - {"format", "class", "config"})
    if unknown:
        raise ValueError(f"source: {config_path} has unknown top-level keys {unknown}; expected only "
                         "'format', 'class' and 'config'")
    expected = f"{cls.__module__}.{cls.__qualname__}"
    if header.get("class") != expected:
        raise ValueError(f"cls: the folder holds a {header.get('class')!r}, not a {expected!r}")
    try:
        config = from_dict(cls.config_class, header.get("config"))
    except ValueError as err:
        raise ValueError(f"source: {config_path} 'config': {err}") from None
    model = cls(config)
    try:
        tensors = load_file(str(weights_path), device=str(map_location))
    except (SafetensorError, OSError, RuntimeError) as err:
        raise ValueError(f"source: {weights_path} is not a readable safetensors file (corrupted or truncated?): {err}") from err
    load_state_strict(model, tensors)
    return model.to(map_location).eval()


def load_state_strict(model: nn.Module, tensors: dict[str, torch.Tensor]) -> None:
    """Loads ``tensors`` into ``model``: same names, shapes and dtypes, all finite, or a ValueError listing them."""
    state = model.state_dict()
    missing = sorted(set(state) - set(tensors))
    extra = sorted(set(tensors) - set(state))
    if missing or extra:
        raise ValueError(f"weights: tensors do not match the config's model: missing {missing[:8]}, extra {extra[:8]}")
    wrong = [
        f"{name}: {tuple(tensors[name].shape)} {tensors[name].dtype} vs {tuple(ref.shape)} {ref.dtype}"
        for name, ref in state.items()
        if tensors[name].shape != ref.shape or tensors[name].dtype != ref.dtype
    ]
    if wrong:
        raise ValueError(f"weights: tensors differ from the config's model (saved vs expected): {wrong[:8]}")
    broken = sorted(name for name, t in tensors.items() if t.is_floating_point() and not bool(torch.isfinite(t).all()))
    if broken:
        raise ValueError(f"weights: {len(broken)} tensors hold NaN or inf values ({broken[:8]}); the weights are "
                         "damaged or come from a diverged run")
    model.load_state_dict(tensors, strict=True)


class PretrainedMixin:
    """``save_pretrained`` / ``from_pretrained`` / ``push_to_hub`` for a module with a config.

    The class sets ``config_class`` (its config dataclass) and is constructible as
    ``cls(config)``; the instance keeps it as ``self.config``.
    """

    config_class: type = object

    def save_pretrained(self, directory: str | os.PathLike[str], facts: dict[str, Any] | None = None) -> Path:
        """See [`save_pretrained`][gan3dlib.hub.save_pretrained]."""
        return save_pretrained(self, directory, facts)  # type: ignore[arg-type]

    @classmethod
    def from_pretrained(cls, source: str | os.PathLike[str], **kwargs: Any):
        """See [`from_pretrained`][gan3dlib.hub.from_pretrained]."""
        return from_pretrained(cls, source, **kwargs)  # type: ignore[arg-type]

    def push_to_hub(self, repo_id: str, facts: dict[str, Any] | None = None, private: bool = False, token: str | None = None) -> str:
        """Uploads the model folder to the Hugging Face hub (needs network and a token).

        Returns:
            The URL of the commit.
        """
        from huggingface_hub import HfApi

        with tempfile.TemporaryDirectory() as folder:
            self.save_pretrained(Path(folder) / "model", facts)
            api = HfApi(token=token)
            api.create_repo(repo_id, private=private, exist_ok=True)
            info = api.upload_folder(repo_id=repo_id, folder_path=str(Path(folder) / "model"))
        return str(getattr(info, "commit_url", info))

