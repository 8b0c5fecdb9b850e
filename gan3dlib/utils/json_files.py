"""JSON result files: written atomically, with non-finite numbers as ``null`` (JSON has no NaN)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from gan3dlib.utils.atomic import atomic_write_bytes

__all__ = ["json_safe", "write_json"]


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (in nested dicts, lists and tuples) replaced by None."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return None if isinstance(value, float) and not math.isfinite(value) else value


def write_json(path: str | os.PathLike[str], document: Any) -> Path:
    """Writes ``json_safe(document)`` to ``path`` atomically (indented, UTF-8, trailing newline)."""
    text = json.dumps(json_safe(document), indent=1, ensure_ascii=False) + "\n"
    return atomic_write_bytes(path, text.encode())
