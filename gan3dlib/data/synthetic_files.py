"""A synthetic dataset on disk: ``images/``, ``ground_truth/`` and ``dataset.json``.

[`write_dataset`][gan3dlib.data.synthetic_files.write_dataset] renders the scenes of a
[`SyntheticScenes`][gan3dlib.data.synthetic.SyntheticScenes] into an ordinary image folder plus the
ground truth of every scene, resumably; [`read_config`][gan3dlib.data.synthetic_files.read_config]
reads the config back, from which every object can be regenerated.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gan3dlib.config import from_dict, to_dict
from gan3dlib.data.synthetic import SyntheticConfig, SyntheticRender, SyntheticScenes
from gan3dlib.utils.atomic import atomic_write

__all__ = ["FORMAT", "WriteResult", "write_dataset", "read_config"]

FORMAT = "gan3dlib.synthetic/1"


@dataclass
class WriteResult:
    """What [`write_dataset`][gan3dlib.data.synthetic_files.write_dataset] did: files of ``written`` scenes made, ``skipped`` already there."""

    folder: Path
    written: int
    skipped: int


def _paths(num_images: int, folder: Path, index: int) -> tuple[Path, Path]:
    width = max(6, len(str(num_images - 1)))
    name = f"{index:0{width}d}"
    return folder / "images" / f"{name}.png", folder / "ground_truth" / f"{name}.npz"


def write_dataset(scenes: SyntheticScenes, folder: str | os.PathLike[str],
                  progress: Callable[[int, int], None] | None = None, ground_truth: bool = True) -> WriteResult:
    """Writes the dataset: ``images/000000.png ...``, ``ground_truth/000000.npz ...``, ``dataset.json``.

    ``images/`` is an ordinary image folder. Each npz holds ``vertices`` (V, 3) float32, ``faces``
    (F, 3) int32, ``uvs`` (V, 2), ``texture`` (3, T, T) uint8, ``yaw``, ``pitch`` (radians) and
    ``depth`` (R, R) float32. Every file is written to a temporary name and renamed, so a file
    that exists is complete; a rerun skips scenes whose files exist. ``dataset.json`` (the
    config) is written last. A folder holding a dataset with another config (other than a smaller
    ``num_images``, which this run extends, or another ``batch_size``) is refused.

    Args:
        scenes: the scenes to write.
        folder: output folder (created if needed).
        progress: optional ``progress(done, total)`` called after each rendered batch (counts of
            scenes still to write in this run).
        ground_truth: also write ``ground_truth/`` (False: the images and ``dataset.json`` only,
            e.g. to carry a dataset to a machine without PyTorch3D; the objects can be
            regenerated from the config anywhere).

    Returns:
        [`WriteResult`][gan3dlib.data.synthetic_files.WriteResult].
    """
    config, folder = scenes.config, Path(folder)
    meta = folder / "dataset.json"
    if meta.exists():
        old = read_config(folder)
        mine = dataclasses.replace(config, num_images=old.num_images, batch_size=old.batch_size)
        if old != mine or old.num_images > config.num_images:
            raise ValueError(f"folder: {str(folder)!r} already holds a synthetic dataset with another config "
                             f"({old}); write to an empty folder")
    subs = ("images", "ground_truth") if ground_truth else ("images",)
    for sub in subs:
        (folder / sub).mkdir(parents=True, exist_ok=True)
    todo = [i for i in range(len(scenes))
            if not all(p.exists() for p in _paths(config.num_images, folder, i)[:len(subs)])]
    for k in range(0, len(todo), config.batch_size):
        chunk = todo[k:k + config.batch_size]
        batch = scenes.render(chunk)
        for b, index in enumerate(chunk):
            _write_scene(scenes, folder, index, batch, b, ground_truth)
        if progress is not None:
            progress(k + len(chunk), len(todo))
    text = json.dumps({"format": FORMAT, "config": to_dict(config)}, indent=2) + "\n"
    atomic_write(meta, lambda handle: handle.write(text.encode()))
    return WriteResult(folder, len(todo), len(scenes) - len(todo))


def _write_scene(scenes: SyntheticScenes, folder: Path, index: int, batch: SyntheticRender, b: int,
                 ground_truth: bool) -> None:
    png, npz = _paths(scenes.config.num_images, folder, index)
    pixels = (batch.images[b] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    if not png.exists():
        atomic_write(png, lambda handle: Image.fromarray(pixels).save(handle, format="PNG"))
    if ground_truth and not npz.exists():
        obj = scenes.object(index)
        arrays = {"vertices": obj.vertices.numpy(), "faces": obj.faces.to(torch.int32).numpy(),
                  "uvs": obj.uvs.numpy(), "texture": (obj.texture * 255).round().to(torch.uint8).numpy(),
                  "yaw": np.float32(obj.yaw), "pitch": np.float32(obj.pitch),
                  "depth": batch.depth[b, 0].numpy()}
        atomic_write(npz, lambda handle: np.savez_compressed(handle, **arrays))


def read_config(folder: str | os.PathLike[str]) -> SyntheticConfig:
    """The [`SyntheticConfig`][gan3dlib.data.synthetic.SyntheticConfig] stored in ``folder/dataset.json`` by [`write_dataset`][gan3dlib.data.synthetic_files.write_dataset].

    Raises:
        ValueError: naming ``folder`` if the file is missing or is not a synthetic dataset description.
    """
    path = Path(folder) / "dataset.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r} is not {FORMAT!r}")
        return from_dict(SyntheticConfig, data["config"])
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as err:
        raise ValueError(f"folder: expected a synthetic dataset written by write_dataset in "
                         f"{str(folder)!r}, cannot read {path.name}: {err}") from err
