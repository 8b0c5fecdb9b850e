"""Argument guards for public entry points.

Every public function of gan3dlib validates its tensors with [`check_tensor`][gan3dlib.utils.checks.check_tensor] so bad input
fails early with a ``ValueError`` that names the argument, the expected form and what was given.

Checks of *values* (NaN/inf entries, face indices out of range) read the data back to the host,
which stalls a GPU's queue. They run by default; a hot loop that has already checked its inputs
once (training checks its first step) turns them off with [`data_checks`][gan3dlib.utils.checks.data_checks]
``(False)``. Checks of shapes, dtypes and devices always run: they cost nothing.
"""

from __future__ import annotations

import contextlib
import math
import contextvars
from collections.abc import Iterable, Iterator, MutableMapping, Sequence

import torch

__all__ = ["check_tensor", "check_positive", "check_faces", "describe", "data_checks", "data_checks_enabled",
           "check_int_range", "check_number_range", "check_range_pair"]

_DATA_CHECKS = contextvars.ContextVar("gan3dlib_data_checks", default=True)


def data_checks_enabled() -> bool:
    """True when value checks (finite entries, index ranges) run; see the module docstring."""
    return _DATA_CHECKS.get()


@contextlib.contextmanager
def data_checks(enabled: bool) -> Iterator[None]:
    """Turns value checks on or off inside the ``with`` block (restored afterwards)."""
    token = _DATA_CHECKS.set(bool(enabled))
    try:
        yield
    finally:
        _DATA_CHECKS.reset(token)

DimSpec = int | str | None


def describe(x: object) -> str:
    """A short human description of ``x`` for error messages."""
    if isinstance(x, torch.Tensor):
        return f"tensor of shape {tuple(x.shape)}, dtype {x.dtype}, device {x.device}"
    return f"{type(x).__name__} {x!r}"[:200]


def _spec_str(shape: Sequence[DimSpec]) -> str:
    return "(" + ", ".join("*" if d is None else str(d) for d in shape) + ")"


def check_tensor(
    x: object,
    name: str,
    shape: Sequence[DimSpec] | None = None,
    *,
    dtypes: Iterable[torch.dtype] | None = None,
    floating: bool = False,
    device: torch.device | str | None = None,
    finite: bool = False,
    dims: MutableMapping[str, int] | None = None,
) -> torch.Tensor:
    """Checks that ``x`` is a tensor of the expected form and returns it.

    Args:
        x: the value to check.
        name: the argument name used in the error message.
        shape: expected shape; each entry is an int (exact size), ``None`` (any size) or a
            symbol such as ``"B"`` that must agree with other tensors checked with the same
            ``dims`` mapping.
        dtypes: allowed dtypes.
        floating: require a floating-point dtype.
        device: required device.
        finite: reject NaN and infinite values (when [`data_checks_enabled`][gan3dlib.utils.checks.data_checks_enabled]).
        dims: shared symbol table for symbolic sizes; filled in as symbols are bound.

    Returns:
        ``x`` unchanged.

    Raises:
        ValueError: if any requirement fails; the message names ``name``, the expected form and
            what was given.
    """
    if not isinstance(x, torch.Tensor):
        expected = f"a tensor of shape {_spec_str(shape)}" if shape is not None else "a tensor"
        raise ValueError(f"{name}: expected {expected}, got {describe(x)}")
    if shape is not None:
        if x.ndim != len(shape):
            raise ValueError(
                f"{name}: expected a {len(shape)}-d tensor of shape {_spec_str(shape)}, "
                f"got {describe(x)}"
            )
        local: dict[str, int] = {}
        table: MutableMapping[str, int] = dims if dims is not None else local
        for axis, (want, got) in enumerate(zip(shape, x.shape)):
            if want is None:
                continue
            if isinstance(want, int):
                if got != want:
                    raise ValueError(
                        f"{name}: expected shape {_spec_str(shape)} (size {want} at dim {axis}), "
                        f"got {describe(x)}"
                    )
            else:
                bound = table.get(want)
                if bound is None:
                    table[want] = int(got)
                elif bound != got:
                    raise ValueError(
                        f"{name}: expected shape {_spec_str(shape)} with {want}={bound} "
                        f"(set by another argument), got {describe(x)}"
                    )
    if floating and not x.is_floating_point():
        raise ValueError(f"{name}: expected a floating-point tensor, got {describe(x)}")
    if dtypes is not None:
        allowed = tuple(dtypes)
        if x.dtype not in allowed:
            names = ", ".join(str(d) for d in allowed)
            raise ValueError(f"{name}: expected dtype in ({names}), got {describe(x)}")
    if device is not None and x.device != torch.device(device):
        raise ValueError(f"{name}: expected a tensor on {torch.device(device)}, got {describe(x)}")
    if finite and x.is_floating_point() and _DATA_CHECKS.get() and not bool(torch.isfinite(x).all()):
        bad = int((~torch.isfinite(x)).sum())
        raise ValueError(f"{name}: expected finite values, got {bad} NaN/inf entries in {describe(x)}")
    return x


def check_positive(value: object, name: str, *, integer: bool = False, allow_zero: bool = False) -> None:
    """Checks that a scalar setting is a positive number (or integer).

    Raises:
        ValueError: naming ``name``, the expected form and the given value.
    """
    kind = "integer" if integer else "number"
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type:
        raise ValueError(f"{name}: expected a positive {kind}, got {describe(value)}")
    if value < 0 or (value == 0 and not allow_zero) or value != value:  # noqa: PLR0124 (NaN)
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name}: expected a {kind} {bound}, got {value!r}")


def check_derived_set(value: object, name: str) -> None:
    """Refuses a size left unset (None) for its enclosing config to derive, when a module is built alone.

    Sizes that follow from another setting (a scene's ``resolution`` sets its renderer's
    ``image_size``, its generators' ``resolution``...) are None in the configs a
    [`SceneConfig`][gan3dlib.scene.SceneConfig] holds; building such a component by itself needs them given.
    """
    if value is None:
        raise ValueError(f"{name}: not set (None is left for an enclosing SceneConfig or TrainConfig to derive "
                         f"from its resolution); give it to build this component alone")


def check_faces(faces: object, num_vertices: int, name: str = "faces") -> torch.Tensor:
    """Checks a shared-topology face tensor: (F, 3) integer, indices in ``[0, num_vertices)``.

    Raises:
        ValueError: if ``faces`` is not an (F, 3) integer tensor, is empty, or holds an index
            outside ``[0, num_vertices)`` (the range is a value check, see the module docstring).
    """
    check_tensor(faces, name, (None, 3), dtypes=(torch.int64, torch.int32))
    assert isinstance(faces, torch.Tensor)
    if faces.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one face, got an empty (0, 3) tensor")
    if not _DATA_CHECKS.get():
        return faces
    lo, hi = int(faces.min()), int(faces.max())
    if lo < 0 or hi >= num_vertices:
        raise ValueError(
            f"{name}: expected vertex indices in [0, {num_vertices}), got indices in [{lo}, {hi}]"
        )
    return faces


def check_int_range(value: object, name: str, low: int, high: int | None = None) -> None:
    """Checks an integer setting in ``[low, high]`` (``high`` None: no upper bound); bools are refused."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bound = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name}: expected an integer {bound}, got {describe(value)}")


def check_number_range(value: object, name: str, low: float, high: float) -> float:
    """Checks a finite number in ``[low, high]``; returns it as a float."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or not low <= value <= high:  # type: ignore[operator]
        raise ValueError(f"{name}: expected a finite number in [{low}, {high}], got {describe(value)}")
    return float(value)  # type: ignore[arg-type]


def check_range_pair(value: object, name: str, low: float, high: float, integer: bool = False) -> tuple:
    """Checks a ``(min, max)`` pair within ``[low, high]`` with ``min <= max``; returns it as a tuple."""
    if not (isinstance(value, Sequence) and len(value) == 2):
        raise ValueError(f"{name}: expected a (min, max) pair, got {describe(value)}")
    if integer:
        for v in value:
            check_int_range(v, name, int(low), int(high))
        pair: tuple = (int(value[0]), int(value[1]))
    else:
        pair = tuple(check_number_range(v, name, low, high) for v in value)
    if pair[0] > pair[1]:
        raise ValueError(f"{name}: expected min <= max, got {describe(value)}")
    return pair
