"""Deprecated alias of ``gan3dlib.compat.kaolin.camera``, kept for one release; import from there.

Re-exports the public names of ``gan3dlib.compat.kaolin.camera`` and emits a ``DeprecationWarning`` on import.
"""

from __future__ import annotations

import warnings

from gan3dlib.compat.kaolin.camera import *  # noqa: F403
from gan3dlib.compat.kaolin.camera import __all__  # noqa: F401

warnings.warn(
    "gan3dlib.render.kaolin_camera is deprecated and will be removed in the next release; "
    "import gan3dlib.compat.kaolin.camera instead",
    DeprecationWarning,
    stacklevel=2,
)
