"""Deprecated alias of ``gan3dlib.compat.kaolin.utils``, kept for one release; import from there.

Re-exports the public names of ``gan3dlib.compat.kaolin.utils`` and emits a ``DeprecationWarning`` on import.
"""

from __future__ import annotations

import warnings

from gan3dlib.compat.kaolin.utils import *  # noqa: F403
from gan3dlib.compat.kaolin.utils import __all__  # noqa: F401

warnings.warn(
    "gan3dlib.render.kaolin_utils is deprecated and will be removed in the next release; "
    "import gan3dlib.compat.kaolin.utils instead",
    DeprecationWarning,
    stacklevel=2,
)
