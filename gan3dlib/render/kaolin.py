"""Deprecated alias of ``gan3dlib.compat.kaolin.rasterization``, kept for one release; import from there.

Re-exports the public names of ``gan3dlib.compat.kaolin.rasterization`` and emits a ``DeprecationWarning`` on import.
"""

from __future__ import annotations

import warnings

from gan3dlib.compat.kaolin.rasterization import *  # noqa: F403
from gan3dlib.compat.kaolin.rasterization import __all__  # noqa: F401

warnings.warn(
    "gan3dlib.render.kaolin is deprecated and will be removed in the next release; "
    "import gan3dlib.compat.kaolin.rasterization (or gan3dlib.compat.kaolin) instead",
    DeprecationWarning,
    stacklevel=2,
)
