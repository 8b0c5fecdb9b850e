"""Atomic file writes: a temporary file in the target's folder, synced, then ``os.replace``.

A crash at any moment leaves either the previous complete file or the new complete file at the
target path, never a partial one, and no temporary file behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_write", "atomic_write_bytes"]


def _file_mode() -> int:
    """Permissions of a newly created file under the process umask (``mkstemp`` makes 0600 files)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


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
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return target


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Writes ``data`` to ``path`` atomically (see [`atomic_write`][gan3dlib.utils.atomic.atomic_write])."""
    return atomic_write(path, lambda handle: handle.write(data))
