"""Argument checks shared by the Python facade (callbacks, saving, layers).

Each raises with a message that names the argument and what was expected, prefixed by
the owner (``"EarlyStopping: patience must be an int >= 0, got patience=-1"``): a value
of the wrong type raises TypeError, a value of the right type out of range ValueError.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Optional

import numpy as np


def _prefix(owner: Optional[str]) -> str:
    return f"{owner}: " if owner else ""


def check_bool(value: Any, argument: str, owner: Optional[str] = None) -> bool:
    """True or False (NumPy bools too); a string, number or None is a TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{_prefix(owner)}{argument} must be True or False, got {value!r}")
    return bool(value)


def check_int(value: Any, argument: str, owner: Optional[str] = None, minimum: int = 0) -> int:
    """An int >= ``minimum`` (bools are not ints here)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{_prefix(owner)}{argument} must be an int >= {minimum}, got {argument}={value!r}")
    if value < minimum:
        raise ValueError(f"{_prefix(owner)}{argument} must be an int >= {minimum}, got {argument}={value!r}")
    return int(value)


def check_real(value: Any, argument: str, owner: Optional[str] = None, minimum: Optional[float] = None) -> float:
    """A finite real number (>= ``minimum`` when given)."""
    what = "a finite number" + (f" >= {minimum:g}" if minimum is not None else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{_prefix(owner)}{argument} must be {what}, got {argument}={value!r}")
    if not math.isfinite(value) or (minimum is not None and value < minimum):
        raise ValueError(f"{_prefix(owner)}{argument} must be {what}, got {argument}={value!r}")
    return float(value)


def check_str(value: Any, argument: str, owner: Optional[str] = None) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{_prefix(owner)}{argument} must be a string, got {argument}={value!r}")
    return value


def check_callable(value: Any, argument: str, owner: Optional[str] = None, none_ok: bool = False):
    if value is None and none_ok:
        return None
    if not callable(value):
        raise TypeError(f"{_prefix(owner)}{argument} must be callable{' or None' if none_ok else ''}, "
                        f"got {type(value).__name__} {value!r}")
    return value


def check_verbose(value: Any, owner: Optional[str] = None) -> int:
    """A callback's verbose: an int (or bool) >= 0."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    return check_int(value, "verbose", owner, 0)
