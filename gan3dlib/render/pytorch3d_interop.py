"""Deprecated alias of ``gan3dlib.compat.pytorch3d``, kept for one release; import from there.

Re-exports the public names of ``gan3dlib.compat.pytorch3d`` and emits a ``DeprecationWarning`` on import.
"""

from __future__ import annotations

import warnings

from gan3dlib.compat.pytorch3d import *  # noqa: F403
from gan3dlib.compat.pytorch3d import __all__  # noqa: F401

warnings.warn(
    "gan3dlib.render.pytorch3d_interop is deprecated and will be removed in the next release; "
    "import gan3dlib.compat.pytorch3d instead",
    DeprecationWarning,
    stacklevel=2,
)
