"""Run folders: the same command starts a run or continues it, and never destroys one.

``TrainConfig.resume`` says what to do with the run folder ``out``:

- ``'auto'`` (default): continue from the newest complete checkpoint when there is one, otherwise
  start a new run. A run that already reached its ``kimg`` is *finished*: nothing is trained and
  nothing is overwritten (only end-of-run artifacts that are missing are written again). So an
  interrupted job, or a cluster job submitted twice, is re-run with the very same command.
- ``'latest'``: continue, and refuse when there is no checkpoint.
- ``'never'``: start a new run, and refuse a folder that holds checkpoints (choose a new ``--out``,
  or move the old folder aside yourself); a run is never overwritten silently.
- a checkpoint folder: continue from that checkpoint (e.g. of another run) into ``out``.

The folder records the config it was started with (``train_config.json``). Continuing with
settings that change the model, the data or the optimisation is refused with the differing fields
named; only the fields in ``SAFE_TO_CHANGE`` (the budget, the reporting intervals, workers,
precision...) may change between invocations. Leftovers of a killed process (hidden ``.*.tmp``
staging files and folders of atomic writes) are removed when a run starts, and a lock file keeps a
second process from training in the same folder at the same time.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch

from gan3dlib.config import to_dict
from gan3dlib.train.checkpoint import latest_checkpoint, load_checkpoint
from gan3dlib.train.config import TrainConfig, train_config_from_dict

__all__ = ["SAFE_TO_CHANGE", "RunStart", "plan_run", "config_differences", "read_run_config", "load_run_networks",
           "remove_staging", "RunLock"]

# Fields that may differ when a run continues: what and how often it reports, how long it trains,
# how it is executed. Everything else is part of what the run *is*.
SAFE_TO_CHANGE = ("out", "kimg", "checkpoint_kimg", "keep_checkpoints", "sample_kimg", "log_kimg", "eval_kimg",
                  "tensorboard", "resume", "num_workers", "cpu", "mixed_precision")
CONFIG_FILE = "train_config.json"


@dataclass
class RunStart:
    """What [`plan_run`][gan3dlib.train.run_folder.plan_run] decided.

    Attributes:
        checkpoint: the checkpoint to continue from, or None for a new run.
        kimg: k-images already trained (0 for a new run).
        finished: the run already reached ``config.kimg``: nothing to train.
    """

    checkpoint: Path | None
    kimg: float
    finished: bool


def _flatten(value, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        flat: dict[str, object] = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix[:-1]: value}


def config_differences(saved: TrainConfig, wanted: TrainConfig) -> list[str]:
    """``"path: old -> new"`` for every field outside ``SAFE_TO_CHANGE`` that differs (dotted paths)."""
    old, new = _flatten(to_dict(saved)), _flatten(to_dict(wanted))
    return [f"{key}: {old.get(key)!r} -> {new.get(key)!r}" for key in sorted(set(old) | set(new))
            if key.split(".")[0] not in SAFE_TO_CHANGE and old.get(key) != new.get(key)]


def _checkpoint_kimg(checkpoint: Path) -> float:
    try:
        return float(json.loads((checkpoint / "state.json").read_text(encoding="utf-8"))["kimg"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"resume: {str(checkpoint)!r} is not a complete checkpoint ({err})") from None


def plan_run(config: TrainConfig) -> RunStart:
    """Decides how ``config`` starts in its run folder (see the module docstring). Reads only.

    Raises:
        ValueError: ``--resume never`` on a folder with checkpoints; ``--resume latest`` without one;
            a checkpoint path that is not one; continuing with settings that change the run.
    """
    run = Path(config.out)
    newest = latest_checkpoint(run)
    if config.resume == "never":
        if newest is not None:
            raise ValueError(
                f"--resume never: {str(run)!r} holds the checkpoints of a run (newest {newest.name}) and would be "
                "overwritten; pass a new --out to start another run, or move that folder aside yourself")
        return RunStart(None, 0.0, False)
    if config.resume in ("auto", None):
        if newest is None:
            return RunStart(None, 0.0, False)
        checkpoint = newest
    elif config.resume == "latest":
        if newest is None:
            raise ValueError(f"--resume latest: no checkpoint in {str(run / 'checkpoints')!r}; "
                             "use --resume auto to start a new run when there is none")
        checkpoint = newest
    else:
        checkpoint = Path(config.resume)
        if not (checkpoint / "state.json").is_file():
            raise ValueError(f"--resume: expected 'auto', 'latest', 'never' or a checkpoint folder, got {config.resume!r}")
    saved_path = run / CONFIG_FILE
    if saved_path.is_file():
        differences = config_differences(read_run_config(run), config)
        if differences:
            raise ValueError(
                f"--out: {str(run)!r} is a run with other settings ({'; '.join(differences)}); continuing it may "
                f"only change {', '.join(SAFE_TO_CHANGE)}; pass a new --out to start a different run")
    kimg = _checkpoint_kimg(checkpoint)
    return RunStart(checkpoint, kimg, kimg >= config.kimg - 1e-9)


def read_run_config(run_folder: str | os.PathLike[str], argument: str = "--out") -> TrainConfig:
    """The config a run folder records (also in the format before ``model`` was a full SceneConfig).

    Raises:
        ValueError: naming ``argument`` when ``<run_folder>/train_config.json`` is missing or unreadable.
    """
    path = Path(run_folder) / CONFIG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{argument}: cannot read the run's recorded settings {str(path)!r}: {err}") from None
    return train_config_from_dict(data)


def load_run_networks(run_folder: str | os.PathLike[str], argument: str = "--out", synthetic_for: str | None = None):
    """The recorded config, G and D of a run's newest checkpoint (the trained weights, not the EMA), in eval mode.

    ``synthetic_for`` (what the caller needs the ground-truth data for) refuses runs that did not
    train on the synthetic dataset.

    Returns:
        ``(config, G, D, kimg)``: a [`TrainConfig`][gan3dlib.train.config.TrainConfig], the
        [`SceneGenerator`][gan3dlib.scene.SceneGenerator], the discriminator and the k-images trained.

    Raises:
        ValueError: naming ``argument`` when the folder holds no checkpoint or no readable config, or
            is not a synthetic run where one is needed.
    """
    checkpoint = latest_checkpoint(run_folder)
    if checkpoint is None:
        raise ValueError(f"{argument}: {str(run_folder)!r} is not a run folder with a checkpoint")
    config = read_run_config(run_folder, argument=argument)
    if synthetic_for is not None and config.data != "synthetic":
        raise ValueError(f"{argument}: {str(run_folder)!r} trained on {config.data!r}; a synthetic run is needed "
                         f"({synthetic_for})")
    torch.manual_seed(config.seed)  # the weights are overwritten; this keeps the global RNG's use repeatable
    G, D = config.model.build(), config.discriminator_config(config.batch_size).build()
    _, _, kimg = load_checkpoint(checkpoint, {"G": G, "D": D}, {})
    return config, G.eval(), D.eval(), kimg


def remove_staging(run_folder: str | os.PathLike[str]) -> list[Path]:
    """Removes the hidden ``.*.tmp`` staging files and folders that killed writes left behind.

    Looks in the run folder, ``checkpoints/`` and ``samples/`` (atomic files, checkpoint folders,
    the exported model's staging folder), and a ``model.previous`` folder when ``model`` is complete.

    Returns:
        The removed paths.
    """
    run = Path(run_folder)
    removed = []
    for folder in (run, run / "checkpoints", run / "samples"):
        if folder.is_dir():
            for path in folder.iterdir():
                if path.name.startswith(".") and path.name.endswith(".tmp"):
                    shutil.rmtree(path) if path.is_dir() else path.unlink()
                    removed.append(path)
    previous = run / "model.previous"
    if previous.is_dir() and (run / "model" / "model.safetensors").is_file():
        shutil.rmtree(previous)
        removed.append(previous)
    return removed


class RunLock:
    """An exclusive lock on ``<run>/.lock`` for the lifetime of a training process (POSIX ``flock``).

    Raises:
        ValueError: when another process holds the lock (is training in the same folder).
    """

    def __init__(self, run_folder: str | os.PathLike[str]) -> None:
        self.path = Path(run_folder) / ".lock"
        self.handle = None

    def __enter__(self) -> RunLock:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.path, "a+")
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.handle.close()
            self.handle = None
            raise ValueError(f"--out: another process is training in {str(self.path.parent)!r}; wait for it to "
                             "finish or stop it first") from None
        return self

    def __exit__(self, *exc) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
