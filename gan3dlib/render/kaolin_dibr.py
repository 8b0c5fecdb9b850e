"""Deprecated alias of ``gan3dlib.compat.kaolin.dibr``, kept for one release; import from there.

Re-exports the public names of ``gan3dlib.compat.kaolin.dibr`` and emits a ``DeprecationWarning`` on import.
"""

from __future__ import annotations

import warnings

from gan3dlib.compat.kaolin.dibr import *  # noqa: F403
from gan3dlib.compat.kaolin.dibr import __all__  # noqa: F401

warnings.warn(
    "gan3dlib.render.kaolin_dibr is deprecated and will be removed in the next release; "
    "import gan3dlib.compat.kaolin.dibr instead",
    DeprecationWarning,
    stacklevel=2,
)
