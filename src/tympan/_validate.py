"""Shared argument checks with one message format: ``<name> must be <rule>, got <value!r>``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np

from tympan.errors import ParameterError


def _fail(name: str, rule: str, value: Any) -> ParameterError:
    return ParameterError(f"{name} must be {rule}, got {value!r}")


def positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is a positive integer, else raise ParameterError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise _fail(name, "a positive integer", value)
    return int(value)


def non_negative_int(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is an integer >= 0, else raise ParameterError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise _fail(name, "a non-negative integer", value)
    return int(value)


def optional_positive_int(name: str, value: Any) -> int | None:
    return None if value is None else positive_int(name, value)


def positive_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise _fail(name, "a positive number", value)
    if not np.isfinite(value) or value <= 0:
        raise _fail(name, "a positive number", value)
    return float(value)


def non_negative_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise _fail(name, "a non-negative number", value)
    if not np.isfinite(value) or value < 0:
        raise _fail(name, "a non-negative number", value)
    return float(value)


def finite_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not np.isfinite(value):
        raise _fail(name, "a finite number", value)
    return float(value)


def choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    options = tuple(choices)
    if value not in options:
        raise _fail(name, f"one of {', '.join(map(repr, options))}", value)
    return value


def regex(name: str, value: Any) -> re.Pattern:
    """``value`` compiled (a compiled pattern is returned as is); ParameterError naming ``name``
    for an empty or invalid regular expression."""
    if isinstance(value, re.Pattern):
        return value
    if not isinstance(value, str) or not value:
        raise _fail(name, "a non-empty regular expression", value)
    try:
        return re.compile(value)
    except re.error as exc:
        raise ParameterError(f"{name} is not a valid regular expression ({exc}), got {value!r}") from None


def valid_audio(y: Any, *, name: str = "y", min_ndim: int = 1) -> np.ndarray:
    """Check that ``y`` is a real floating-point array of finite samples and return it.

    Integer arrays are refused (convert PCM to float first) so that a silent 32768x gain
    never creeps into features.
    """
    if not isinstance(y, np.ndarray):
        raise ParameterError(f"{name} must be a numpy array, got {type(y).__name__}")
    if not np.issubdtype(y.dtype, np.floating):
        raise ParameterError(
            f"{name} must be a floating-point array (convert PCM with y / 32768), got dtype {y.dtype}"
        )
    if y.ndim < min_ndim:
        raise ParameterError(f"{name} must have at least {min_ndim} dimension(s), got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        bad = int(np.size(y) - np.count_nonzero(np.isfinite(y)))
        raise ParameterError(f"{name} must contain only finite values, found {bad} NaN/inf sample(s)")
    return y
