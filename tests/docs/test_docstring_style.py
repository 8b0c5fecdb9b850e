"""Docstrings use mkdocstrings cross-references, not Sphinx roles (which the site shows as text)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SPHINX_ROLE = re.compile(r":(?:class|func|meth|mod|attr|obj|data|exc):`")


def test_no_sphinx_roles_in_the_package():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted((ROOT / "gan3dlib").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if SPHINX_ROLE.search(line)
    ]
    assert not found, (
        "Sphinx roles render literally on the API pages; write [`Name`][gan3dlib.module.Name] "
        "(an mkdocstrings cross-reference) or plain `code` instead:\n" + "\n".join(found)
    )


def test_the_check_finds_roles():
    assert SPHINX_ROLE.search("see :class:`~gan3dlib.scene.SceneGenerator`")
    assert not SPHINX_ROLE.search("see [`SceneGenerator`][gan3dlib.scene.SceneGenerator]")
