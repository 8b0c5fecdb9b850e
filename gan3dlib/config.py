"""Typed configs: exact JSON round trip, atomic files, and ``--a.b value`` command-line overrides.

Every component of gan3dlib has a frozen dataclass config that validates itself in
``__post_init__`` and builds its module with ``build()``; configs nest into bigger ones (a scene
holds its generators', shape's and renderer's configs). This module serialises any of them.

We use `draccus <https://github.com/dlwh/draccus>`_ (a maintained pyrallis fork, the config
library of LeRobot, which runs it under ``accelerate launch``) because it alone covers what we
need: decoding nested dataclasses back into dataclasses (not dicts), rejecting unknown keys,
``--model.resolution 128`` style overrides on top of a Python preset, and YAML/JSON config files.
tyro has nicer static typing but marks its serialisation deprecated; Hydra uses ``a.b=v``
overrides and per-process run directories that clash with DDP.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import draccus

from gan3dlib.utils.atomic import atomic_write_bytes

__all__ = ["to_dict", "from_dict", "to_json", "from_json", "save_config", "load_config", "parse_overrides",
           "replace_nested"]

T = TypeVar("T")


def _check_dataclass_type(cls: object, name: str) -> None:
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise ValueError(f"{name}: expected a dataclass type, got {cls!r}")


def to_dict(config: Any) -> dict[str, Any]:
    """Encodes a (nested) config dataclass as plain JSON types.

    Args:
        config: a dataclass instance.

    Returns:
        A dict of JSON-compatible values (tuples become lists).
    """
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise ValueError(f"config: expected a dataclass instance, got {type(config).__name__}")
    return draccus.encode(config)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Decodes [`to_dict`][gan3dlib.config.to_dict] output back into ``cls``, strictly.

    Nested dataclasses come back as dataclasses; unknown keys, missing required fields and values
    that fail a config's own validation raise ``ValueError``.

    Args:
        cls: the config dataclass type.
        data: the encoded dict.

    Returns:
        An instance of ``cls``.
    """
    _check_dataclass_type(cls, "cls")
    if not isinstance(data, dict):
        raise ValueError(f"data: expected a dict for {cls.__name__}, got {type(data).__name__}")
    try:
        return draccus.decode(cls, data)
    except Exception as err:  # draccus' DecodingError, type errors and the configs' own ValueErrors
        unknown = _unknown_keys(err)
        if unknown:
            raise ValueError(f"data: unknown keys {unknown} for {cls.__name__}") from err
        raise ValueError(f"data: cannot decode {cls.__name__}: {_root_message(err)}") from err


def _unknown_keys(err: BaseException) -> list[str]:
    """The dotted paths of the keys draccus refused as "not valid for" a config, if that is the error."""
    while err is not None:
        if isinstance(err, draccus.utils.DecodingError) and "are not valid for" in err.message:
            names = re.findall(r"`([^`]+)`", err.message.split("are not valid for")[0])
            return [".".join([*err.key_path, name]) for name in names]
        err = err.__cause__ or err.__context__
    return []


def to_json(config: Any) -> str:
    """The config as indented JSON (keys in field order)."""
    return json.dumps(to_dict(config), indent=2) + "\n"


def from_json(cls: type[T], text: str) -> T:
    """Inverse of [`to_json`][gan3dlib.config.to_json]."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"text: expected JSON for {getattr(cls, '__name__', cls)}, got invalid JSON ({err})") from err
    return from_dict(cls, data)


def save_config(config: Any, path: str | os.PathLike[str]) -> Path:
    """Writes the config as JSON atomically (temporary file in the same folder, then rename).

    Returns:
        The path written.
    """
    return atomic_write_bytes(path, to_json(config).encode("utf-8"))


def load_config(cls: type[T], path: str | os.PathLike[str]) -> T:
    """Reads a JSON config written by [`save_config`][gan3dlib.config.save_config].

    Raises:
        ValueError: if the file is missing, not JSON, or does not decode into ``cls``.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"path: expected an existing config file, got {str(path)!r}")
    return from_json(cls, path.read_text(encoding="utf-8"))


def parse_overrides(
    cls: type[T], args: Sequence[str] | None = None, default: T | None = None, exit_on_error: bool = False
) -> T:
    """Parses ``--a.b value`` overrides (and ``--config_path file``) on top of ``default``.

    Args:
        cls: the config dataclass type.
        args: command-line arguments (``sys.argv[1:]`` if None).
        default: preset to start from (``cls()`` if None).
        exit_on_error: let argparse print its usage and exit on a bad argument; False (default)
            raises a one-line ``ValueError`` naming the flag instead (entry points print it with
            [`report_errors`][gan3dlib.errors.report_errors]). ``--help`` prints the help and exits either way.

    Returns:
        The resulting config (validated by its ``__post_init__``).
    """
    _check_dataclass_type(cls, "cls")
    args = list(args) if args is not None else None
    # Always parse on top of an instance: draccus alone would rebuild nested fields from their
    # classes' defaults and ignore ``default_factory`` presets.
    default = cls() if default is None else default
    with tempfile.TemporaryDirectory() as folder:
        preset = save_config(default, Path(folder) / "preset.json")
        try:
            return draccus.parse(config_class=cls, config_path=preset, args=args, exit_on_error=exit_on_error)
        except Exception as err:
            raise ValueError(_parse_message(args if args is not None else sys.argv[1:], err)) from err


def _flag_values(args: Sequence[str]) -> dict[str, str]:
    """``{"model.resolution": "64", ...}`` from ``--model.resolution 64`` / ``--model.resolution=64``."""
    values: dict[str, str] = {}
    for i, arg in enumerate(args):
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            if eq:
                values[name] = value
            elif i + 1 < len(args):
                values[name] = args[i + 1]
    return values


def _parse_message(args: Sequence[str], err: BaseException) -> str:
    """One line naming the flag the user typed and what is wrong with its value.

    A value that does not decode (``--batch_size 2.5``) is named by draccus's key path; a value that
    a config's own check refuses (``batch_size: expected ...``) is matched to the typed flag that
    ends with that field's name.
    """
    chain = [err]
    while chain[-1].__cause__ is not None or chain[-1].__context__ is not None:
        chain.append(chain[-1].__cause__ or chain[-1].__context__)
    flags = _flag_values(args)
    for e in chain:  # argparse's own refusals: "argument --x: invalid choice ...", "unrecognized arguments ..."
        text = str(e)
        if text.startswith("argument --"):
            return text[len("argument "):]
        if text.startswith("unrecognized arguments"):
            return f"{text} (see --help for the settings)"
    decoding = [e for e in chain if isinstance(e, draccus.utils.DecodingError) and e.key_path]
    if decoding:
        path = ".".join(decoding[-1].key_path)
        message = decoding[-1].message.split("\n")[0]
        return f"--{path}: {message[:1].lower()}{message[1:]}"
    message = str(chain[-1])
    field, colon, rest = message.partition(":")
    matches = [flag for flag in flags if flag.split(".")[-1] == field.strip()] if colon else []
    if len(matches) == 1:
        return f"--{matches[0]}:{rest}"
    return message


def _root_message(err: BaseException) -> str:
    """The message of the innermost cause (a config's own ValueError, not the wrapper's)."""
    messages = [str(err)]
    while err.__cause__ is not None or err.__context__ is not None:
        err = err.__cause__ or err.__context__
        messages.append(str(err))
    return " <- ".join(reversed(messages))


def replace_nested(config: T, changes: dict[str, Any], _prefix: str = "") -> T:
    """``dataclasses.replace`` through nested configs: ``{"model.shading.mode": "lambertian", "kimg": 36}``.

    Every other field, at every level, is kept; each changed level is rebuilt, so its
    ``__post_init__`` validates the new value.

    Args:
        config: a (nested) config dataclass instance.
        changes: dotted field paths and their new values.

    Returns:
        The new config.

    Raises:
        ValueError: naming the path when a field does not exist (or its parent is not a config).
    """
    grouped: dict[str, dict[str, Any]] = {}
    direct: dict[str, Any] = {}
    names = {f.name for f in dataclasses.fields(config)} if dataclasses.is_dataclass(config) else set()
    for path, value in changes.items():
        head, _, rest = path.partition(".")
        if head not in names:
            raise ValueError(f"changes: {_prefix + path!r} names no field of {type(config).__name__} "
                             f"(fields: {', '.join(sorted(names))})")
        if rest:
            grouped.setdefault(head, {})[rest] = value
        else:
            direct[head] = value
    for head, inner in grouped.items():
        child = direct.get(head, getattr(config, head))
        if not dataclasses.is_dataclass(child):
            raise ValueError(f"changes: {_prefix + head!r} of {type(config).__name__} is not a config, cannot set "
                             f"{', '.join(f'{_prefix}{head}.{k}' for k in inner)}")
        direct[head] = replace_nested(child, inner, f"{_prefix}{head}.")
    return dataclasses.replace(config, **direct)

