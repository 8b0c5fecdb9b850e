"""Atomic writes, the one I/O layer of gan3dlib: files and folders appear complete or not at all.

- [`atomic_write`][gan3dlib.utils.atomic.atomic_write] / [`atomic_write_bytes`][gan3dlib.utils.atomic.atomic_write_bytes]: one
  file, filled under a hidden temporary name in the target's folder, synced, then ``os.replace``-d;
- [`atomic_write_many`][gan3dlib.utils.atomic.atomic_write_many]: several files (e.g. an OBJ with its
  MTL and texture), all staged and synced before the first rename;
- [`atomic_folder`][gan3dlib.utils.atomic.atomic_folder]: a folder (a checkpoint, a model), filled as a
  hidden staging folder, synced, then swapped in; an existing folder is moved aside to
  ``<name>.previous`` for the instant of the swap, so a complete folder exists at every moment.

A crash at any moment leaves either the previous complete target or the new complete target, and
at most hidden ``.*.tmp`` leftovers (a run removes them when it starts again,
[`remove_staging`][gan3dlib.train.run_folder.remove_staging]). New files get the permissions the
process umask gives (``0666 & ~umask``, applied by the kernel at creation; the umask is never changed).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_many", "atomic_folder", "staging_path"]


def staging_path(target: str | os.PathLike[str]) -> Path:
    """A unique hidden sibling of ``target`` for staging: ``.<name>.<random>.tmp``."""
    target = Path(target)
    return target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")


def _write_synced(tmp: Path, write: Callable[[BinaryIO], None]) -> None:
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    with os.fdopen(fd, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], None]) -> Path:
    """Writes a file atomically: ``write`` fills a temporary file in the same folder, then ``os.replace``.

    Parent folders are created. On any failure the temporary file is removed and an existing file
    at ``path`` is left untouched.

    Args:
        path: target file.
        write: called with the open binary temporary file.

    Returns:
        The target path.
    """
    return atomic_write_many([(Path(path), write)])[0]


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Writes ``data`` to ``path`` atomically (see [`atomic_write`][gan3dlib.utils.atomic.atomic_write])."""
    return atomic_write(path, lambda handle: handle.write(data))


def atomic_write_many(files: list[tuple[Path, Callable[[BinaryIO], None] | bytes]]) -> list[Path]:
    """Writes several files: every one is staged and synced before the first is renamed into place.

    Args:
        files: ``(path, data)`` pairs, ``data`` being bytes or a ``write(handle)`` callable. Parent
            folders are created.

    Returns:
        The target paths, in order. On any failure the staged files are removed; targets renamed
        before the failure keep their new content, the others their old one.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in files:
            target = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = staging_path(target)
            staged.append((tmp, target))
            _write_synced(tmp, data if callable(data) else (lambda handle, data=data: handle.write(data)))
        while staged:
            os.replace(*staged[0])
            staged.pop(0)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
    return [Path(path) for path, _ in files]


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


@contextlib.contextmanager
def atomic_folder(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Fills a folder atomically: yields an empty staging folder, swaps it in at the end of the block.

    On an exception the staging folder is removed and ``target`` is left as it was. At the swap an
    existing ``target`` is renamed to ``<target>.previous``, the staging folder to ``target``, and
    the previous folder removed: a process killed between the two renames leaves the complete old
    folder at ``<target>.previous`` (readers such as ``from_pretrained`` look there).

    Args:
        target: the folder to create or replace; its parent is created.

    Yields:
        The staging folder (a hidden sibling of ``target``).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_path(target)
    staging.mkdir()
    try:
        yield staging
        _fsync_tree(staging)
        previous = target.with_name(target.name + ".previous")
        if previous.exists():
            shutil.rmtree(previous)
        if target.exists():
            os.replace(target, previous)
        os.replace(staging, target)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
