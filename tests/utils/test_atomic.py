"""The one I/O layer: files and folders appear complete or not at all; permissions follow the umask."""

from __future__ import annotations

import os
import stat

import pytest

from gan3dlib.utils.atomic import atomic_folder, atomic_write, atomic_write_bytes, atomic_write_many


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = atomic_write_bytes(tmp_path / "a" / "file.txt", b"old")
    assert target.read_bytes() == b"old"

    def broken(handle):
        handle.write(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old" and listing(target.parent) == ["file.txt"]


def test_new_files_get_the_umask_permissions_and_the_umask_is_kept(tmp_path):
    old = os.umask(0o027)
    try:
        path = atomic_write_bytes(tmp_path / "f", b"x")
        assert os.umask(0o027) == 0o027  # unchanged by the write
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_many_files_are_staged_before_any_is_replaced(tmp_path):
    a, b = tmp_path / "a.obj", tmp_path / "b.mtl"
    atomic_write_many([(a, b"A1"), (b, lambda h: h.write(b"B1"))])
    assert (a.read_bytes(), b.read_bytes()) == (b"A1", b"B1")

    def broken(handle):
        raise OSError("no space left")

    with pytest.raises(OSError):
        atomic_write_many([(a, b"A2"), (b, broken)])
    assert (a.read_bytes(), b.read_bytes()) == (b"A1", b"B1") and listing(tmp_path) == ["a.obj", "b.mtl"]


def test_a_folder_is_swapped_in_whole(tmp_path):
    target = tmp_path / "model"
    with atomic_folder(target) as staging:
        (staging / "w").write_text("1")
        assert not target.exists() and staging.name.startswith(".model.") and staging.name.endswith(".tmp")
    assert (target / "w").read_text() == "1"
    with pytest.raises(ValueError):
        with atomic_folder(target) as staging:
            (staging / "w").write_text("2")
            raise ValueError("interrupted")
    assert (target / "w").read_text() == "1" and listing(tmp_path) == ["model"]
    with atomic_folder(target) as staging:
        (staging / "w").write_text("3")
    assert (target / "w").read_text() == "3" and listing(tmp_path) == ["model"]
