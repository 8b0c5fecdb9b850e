"""A user's mistake ends in one clear message and an exit status, never a traceback.

Every entry point (the recipes through [`run_recipe`][gan3dlib.train.recipe.run_recipe], the ``gan3d``
command) runs its body through [`report_errors`][gan3dlib.errors.report_errors]: a ``ValueError`` (every
config and input check of gan3dlib raises one, naming the argument, the expected form and what was
given) or a file-system error (a folder that cannot be written, a path that is a file) is printed as
``<prog>: error: <message>`` on standard error, once per run (by the main process only under
``accelerate launch``), and the process exits with status 2. ``Ctrl-C`` says how to continue and
exits with 130. Set ``GAN3D_DEBUG=1`` to get the full traceback instead.

Under ``accelerate launch``, accelerate then reports the failed child process itself; ``accelerate
launch -q`` (quiet) leaves only gan3dlib's message.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TypeVar

__all__ = ["DEBUG_ENV", "USER_ERRORS", "is_main_process", "user_message", "report_errors"]

DEBUG_ENV = "GAN3D_DEBUG"
USER_ERRORS = (ValueError, OSError)
T = TypeVar("T")


def is_main_process() -> bool:
    """True unless this is a non-zero rank of a multi-process launch (``RANK`` / ``LOCAL_RANK``)."""
    return os.environ.get("RANK", "0") == "0" and os.environ.get("LOCAL_RANK", "0") == "0"


def user_message(error: BaseException) -> str:
    """The one-line explanation of a user error (file-system errors name the path and the reason)."""
    if isinstance(error, OSError) and not isinstance(error, ValueError) and error.strerror:
        target = error.filename if error.filename is not None else "a file"
        if isinstance(error, FileExistsError) and os.path.exists(target) and not os.path.isdir(target):
            return f"cannot create a folder at {str(target)!r}: a file is in the way"
        return f"cannot use {str(target)!r}: {error.strerror}"
    return str(error)


def report_errors(main: Callable[[], T], prog: str) -> T:
    """Runs ``main()``; a user error becomes ``prog: error: message`` and ``SystemExit(2)``.

    Args:
        main: the entry point's body.
        prog: the program name printed before the message (e.g. ``'ffhq.py'`` or ``'gan3d export'``).

    Returns:
        What ``main`` returns.

    Raises:
        SystemExit: 2 after a user error, 130 after ``Ctrl-C`` (unless ``GAN3D_DEBUG`` is set).
    """
    try:
        return main()
    except USER_ERRORS as error:
        if os.environ.get(DEBUG_ENV):
            raise
        if is_main_process():
            print(f"{prog}: error: {user_message(error)}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        if os.environ.get(DEBUG_ENV):
            raise
        if is_main_process():
            print(f"{prog}: interrupted; run the same command again to continue from the last checkpoint",
                  file=sys.stderr)
        raise SystemExit(130) from None
