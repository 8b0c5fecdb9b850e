"""The pre-``gan3dlib.compat`` module paths still import, as deprecated aliases of the new ones."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

ALIASES = {
    "gan3dlib.render.kaolin": "gan3dlib.compat.kaolin.rasterization",
    "gan3dlib.render.kaolin_camera": "gan3dlib.compat.kaolin.camera",
    "gan3dlib.render.kaolin_dibr": "gan3dlib.compat.kaolin.dibr",
    "gan3dlib.render.kaolin_utils": "gan3dlib.compat.kaolin.utils",
    "gan3dlib.render.pytorch3d_interop": "gan3dlib.compat.pytorch3d",
}


@pytest.mark.parametrize("old_path, new_path", ALIASES.items())
def test_old_path_is_a_deprecated_alias(old_path, new_path):
    new = importlib.import_module(new_path)
    # Modules are cached: re-run the alias's code so its import-time warning fires again.
    with pytest.warns(DeprecationWarning, match=re.escape(new_path)) as record:
        old = importlib.reload(sys.modules[old_path]) if old_path in sys.modules else importlib.import_module(old_path)
    assert any(old_path in str(w.message) for w in record)
    assert old.__all__ == new.__all__ and old.__all__
    for name in new.__all__:
        assert getattr(old, name) is getattr(new, name), name


def test_library_code_does_not_use_the_aliases():
    old = "|".join(re.escape(path.rsplit(".", 1)[1]) for path in ALIASES)
    pattern = re.compile(rf"gan3dlib\.render\.({old})\b|from gan3dlib\.render import .*\b({old})\b")
    alias_files = {ROOT / (path.replace(".", "/") + ".py") for path in ALIASES}
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "gan3dlib").rglob("*.py"))
        if path not in alias_files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert not found, "library code must import gan3dlib.compat, not the deprecated aliases:\n" + "\n".join(found)
