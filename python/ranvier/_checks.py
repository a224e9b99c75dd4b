"""Argument checks shared by the Python facade (models, callbacks, saving, layers, metrics,
optimizers, schedules, sklearn, the model's data preparation).

Each raises with a message that names the argument and what was expected, prefixed by
the owner (``"EarlyStopping: patience must be an int >= 0, got patience=-1"``): a value
of the wrong type raises TypeError, a value of the right type out of range ValueError.

The limits of the C++ side live here, once:

- ``check_int(..., maximum=...)``: every int that crosses the binding is checked against
  the C++ type that receives it (``INT32_MAX`` for ``int``, ``INT64_MAX`` for
  ``std::int64_t``, ``UINT64_MAX`` for seeds), so a too-large value is a ValueError
  naming the argument and its limit, never pybind11's "incompatible function arguments";
- ``MAX_FEATURES``: the largest feature count (product of a sample's dimensions) and the
  largest ``units`` the model-file loader accepts, so every model the library builds can
  be saved and loaded back; ``check_shape_product`` computes such products exactly;
- ``FLOAT32_MAX``: finite float64 values beyond float32's range are reported as
  overflowing float32 (``to_float32``, ``check_float32``), not as NaN or inf;
- ``as_numeric_array``: pandas columns that are not numbers (datetime, timedelta,
  string, object, categorical of strings, ...) are refused with a TypeError naming the
  columns, as their NumPy equivalents are; nullable columns become float with NaN for
  ``pd.NA``, so the NaN checks that follow see them.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Optional

import numpy as np

from . import _core


class NotCompiledError(RuntimeError, ValueError):
    """fit / evaluate / train_on_batch / test_on_batch before ``compile()``: Keras raises
    ValueError ("You must call `compile()` before using the model"); both ``except
    RuntimeError`` and ``except ValueError`` catch it."""


class NotNumericDataError(TypeError, ValueError):
    """Data that must hold real numbers holds something else (strings, objects): Keras
    refuses such data with a ValueError ("Invalid dtype"), ranvier names the input; both
    ``except TypeError`` and ``except ValueError`` catch it."""


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type where Keras raises ValueError (``compile(metrics="mae")``:
    "Expected `metrics` argument to be a list, tuple, or dict"); both ``except TypeError``
    and ``except ValueError`` catch it."""


class NoLayerError(IndexError, ValueError):
    """``Sequential.pop()`` on a model without layers (Keras: IndexError from list.pop)."""


class UnsupportedCompileError(ValueError):
    """A ``compile`` argument Keras accepts but ranvier cannot train with (a Python loss, an
    output with metrics and no loss): raised by ``compile`` itself, not deferred to fit."""


def _prefix(owner: Optional[str]) -> str:
    return f"{owner}: " if owner else ""


def check_bool(value: Any, argument: str, owner: Optional[str] = None) -> bool:
    """True or False (NumPy bools too); a string, number or None is a TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{_prefix(owner)}{argument} must be True or False, got {value!r}")
    return bool(value)


INT32_MAX = 2**31 - 1   # a C++ ``int``
INT64_MAX = 2**63 - 1   # a C++ ``std::int64_t`` (sizes, counts, steps)
UINT64_MAX = 2**64 - 1  # a C++ ``std::uint64_t`` (seeds)
MAX_FEATURES = 1 << 40  # features per sample and Dense units the model-file loader accepts
FLOAT32_MAX = float(np.finfo(np.float32).max)

_LIMIT_NAMES = {INT32_MAX: "2**31 - 1, the C++ int", INT64_MAX: "2**63 - 1, the C++ int64",
                UINT64_MAX: "2**64 - 1, the C++ uint64", MAX_FEATURES: "2**40, what a model file can hold"}


def _limit(maximum: int) -> str:
    name = _LIMIT_NAMES.get(maximum)
    return f"{maximum} ({name})" if name else str(maximum)


def check_int(value: Any, argument: str, owner: Optional[str] = None, minimum: int = 0,
              maximum: int = INT64_MAX) -> int:
    """An int in [``minimum``, ``maximum``] (bools are not ints here). ``maximum`` is the
    limit of the C++ type the value goes to (default: ``std::int64_t``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{_prefix(owner)}{argument} must be an int >= {minimum}, got {argument}={value!r}")
    v = int(value)
    if v < minimum:
        raise ValueError(f"{_prefix(owner)}{argument} must be an int >= {minimum}, got {argument}={value!r}")
    if v > maximum:
        raise ValueError(f"{_prefix(owner)}{argument} is too large: it must be at most {_limit(maximum)}, "
                         f"got {argument}={value!r}")
    return v


def check_optional_int(value: Any, argument: str, owner: Optional[str] = None, minimum: int = 0,
                       maximum: int = INT64_MAX) -> Optional[int]:
    """None, or ``check_int``."""
    return None if value is None else check_int(value, argument, owner, minimum, maximum)


def check_shape_product(dims, argument: str, owner: Optional[str] = None, limit: int = MAX_FEATURES) -> int:
    """The exact product of ``dims`` (Python ints: no int64 wrap-around, where
    ``np.prod`` would silently wrap to a small or zero count); ValueError when it
    exceeds ``limit`` (by default what a model file can hold)."""
    n = math.prod(int(d) for d in dims)
    if n > limit:
        raise ValueError(f"{_prefix(owner)}{argument}={tuple(dims)} has {n} values per sample, more than the "
                         f"{_limit(limit)} ranvier supports")
    return n


def check_float32(value: Any, argument: str, owner: Optional[str] = None, minimum: Optional[float] = None,
                  maximum: Optional[float] = None) -> float:
    """A finite real number that float32 can hold (the C++ side computes in float32),
    in [``minimum``, ``maximum``] when given. NaN/inf and values beyond float32's range
    get different messages."""
    rng = "" if minimum is None and maximum is None else (
        f" >= {minimum:g}" if maximum is None else f" <= {maximum:g}" if minimum is None
        else f" in [{minimum:g}, {maximum:g}]")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{_prefix(owner)}{argument} must be a finite number{rng}, got {argument}={value!r}")
    v = float(value)
    if math.isnan(v) or math.isinf(v):
        raise ValueError(f"{_prefix(owner)}{argument} must be a finite number{rng}, got {argument}={value!r}")
    if abs(v) > FLOAT32_MAX:
        raise ValueError(f"{_prefix(owner)}{argument}={value!r} overflows float32 (largest magnitude "
                         f"{FLOAT32_MAX:.8g}); ranvier computes in float32")
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        raise ValueError(f"{_prefix(owner)}{argument} must be a finite number{rng}, got {argument}={value!r}")
    return v


def to_float32(arr: np.ndarray, name: str, what: str) -> np.ndarray:
    """``arr`` as a C-contiguous, aligned float32 array; ValueError when finite values are
    beyond float32's range (they would become inf and be reported as such later)."""
    try:
        with np.errstate(over="raise"):
            out = np.ascontiguousarray(arr, dtype=np.float32)
    except FloatingPointError:
        big = np.asarray(arr)
        with np.errstate(invalid="ignore"):
            bad = np.isfinite(big) & (np.abs(big) > FLOAT32_MAX)
        i = np.unravel_index(int(np.flatnonzero(bad.reshape(-1))[0]), big.shape) if bad.any() else None
        at = f", e.g. {name}[{', '.join(map(str, i))}]={big[i]!r}" if i is not None else ""
        raise ValueError(f"{what}: {name} holds finite values that overflow float32 (largest magnitude "
                         f"{FLOAT32_MAX:.8g}){at}; ranvier computes in float32: rescale the data") from None
    if not out.flags.aligned:  # np.frombuffer at an odd offset: the C++ core loads aligned floats
        out = out.copy()
    return out


def _pandas_kind(dtype) -> str:
    """'ok' for a column dtype that holds real numbers, 'nullable' for pandas' extension
    numbers (NA -> NaN), else a short description of what it holds."""
    if isinstance(dtype, np.dtype):
        return "ok" if dtype.kind in "fiub" else str(dtype)
    if getattr(dtype, "name", None) == "category":
        inner = _pandas_kind(dtype.categories.dtype)
        return "nullable" if inner in ("ok", "nullable") else f"category of {inner}"
    kind = getattr(dtype, "kind", "O")
    return "nullable" if kind in "fiub" else str(dtype)


def _is_pandas(x: Any) -> bool:
    mod = type(x).__module__
    return (mod == "pandas" or mod.startswith("pandas.")) and hasattr(x, "to_numpy") and (
        hasattr(x, "dtypes") or hasattr(x, "dtype"))


def as_numeric_array(x: Any, name: str, what: str) -> np.ndarray:
    """``np.asarray(x)``, with pandas DataFrames and Series checked column by column:
    columns that do not hold real numbers raise a TypeError naming them (as a NumPy array
    of that dtype is refused); nullable numeric columns become float64 with NaN for
    ``pd.NA``. Other inputs are returned as ``np.asarray`` makes them."""
    if not _is_pandas(x):
        try:
            return np.asarray(x)
        except ValueError as e:  # ragged nested lists: name the argument and its row lengths
            raise ValueError(f"{what}: {name} could not be converted to an array of numbers: {e}") from None
    if hasattr(x, "dtypes") and not hasattr(x, "dtype"):  # DataFrame
        cols = list(x.dtypes.items())
    else:
        cols = [(getattr(x, "name", None), x.dtype)]
    kinds = [(c, _pandas_kind(d)) for c, d in cols]
    bad = [(c, k) for c, k in kinds if k not in ("ok", "nullable")]
    if bad:
        listed = ", ".join(f"{c!r} ({k})" for c, k in bad[:10]) + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise NotNumericDataError(f"{what}: {name} must hold real numbers (float or int), but these columns do "
                                  f"not: {listed}; convert them to numbers first (e.g. datetimes with "
                                  f".astype('int64'), categories with pd.get_dummies or .cat.codes)")
    if any(k == "nullable" for _, k in kinds):
        return np.asarray(x.to_numpy(dtype=np.float64, na_value=np.nan))
    arr = np.asarray(x.to_numpy())
    if arr.dtype == object:  # numeric NumPy columns of different kinds (int next to bool)
        arr = np.asarray(x.to_numpy(dtype=np.float64))
    return arr


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


def check_verbose(value: Any, owner: Optional[str] = None, auto: bool = False) -> int:
    """Keras's ``verbose``, as an int. ``auto=True`` (``fit``, ``evaluate``, ``predict``):
    ``"auto"`` (which is 1), 0, 1 or 2, anything else a ValueError. Otherwise (the
    callbacks, which Keras only tests with ``verbose > 0``): an int (or bool) >= 0."""
    if auto:
        if isinstance(value, str) and value == "auto":
            return 1
        if not isinstance(value, numbers.Real) or value not in (0, 1, 2):  # 0j, arrays: named
            raise ValueError(f"{_prefix(owner)}verbose must be 'auto', 0, 1 or 2, got {value!r}")
        return (0, 1, 2).index(value)
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    return check_int(value, "verbose", owner, 0)


def class_index(key: Any) -> int:
    """``key`` as a class index (an integral value >= 0, 3.0 included), else -1."""
    try:
        k = int(key)
        return k if k >= 0 and float(key) == k else -1
    except (TypeError, ValueError, OverflowError):
        return -1


def is_int(value: Any) -> bool:
    """An integer that is not a bool (Python or NumPy)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_real(value: Any) -> bool:
    """A real number that is not a bool (Python or NumPy)."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_batch_size(batch_size: Any, owner: str, argument: str = "batch_size") -> Optional[int]:
    """None, or a positive int (clamped to 2**62: a batch larger than the data is the whole
    data, and the C++ side takes an int64)."""
    if batch_size is None:
        return None
    if not is_int(batch_size) or batch_size <= 0:
        raise ValueError(f"{owner}: {argument} must be a positive int, got {batch_size!r}")
    return min(int(batch_size), 2**62)


def check_steps(steps: Any, owner: str, argument: str = "steps") -> Optional[int]:
    """None, or a positive int."""
    if steps is None:
        return None
    if not is_int(steps) or steps < 1:
        raise ValueError(f"{owner}: {argument} must be a positive int or None, got {steps!r}")
    return int(steps)


INT_INPUT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool")


def check_int_input_values(raw: np.ndarray, dtype: str, input_name: str, label: str, what: str) -> None:
    """The values given to an Input declared with an integer or bool ``dtype`` (Keras casts
    them to it): they must be integers (floats holding integers are fine) inside the dtype's
    range, {0, 1} for bool; a cast would truncate, wrap around or squash the others, so
    ranvier's float32 network would compute something else than Keras. ValueError naming
    the input, the first offending value and its position."""
    if dtype not in INT_INPUT_DTYPES or raw.size == 0 or raw.dtype.kind == "b":
        return
    if raw.dtype.kind == "f":
        bad = ~np.isfinite(raw) | (raw != np.floor(np.where(np.isfinite(raw), raw, 0)))
        if np.any(bad):
            pos = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{what}: input '{input_name}' has dtype {dtype}, but {label} holds values that are "
                             f"not integers, e.g. {label}[{', '.join(map(str, pos))}]={raw[pos].item()!r}")
    lo, hi = (0, 1) if dtype == "bool" else (int(np.iinfo(dtype).min), int(np.iinfo(dtype).max))
    vmin, vmax = raw.min(), raw.max()
    if vmin < lo or vmax > hi:
        out = (raw < lo) | (raw > hi)
        pos = tuple(int(i) for i in np.argwhere(out)[0])
        allowed = "0 or 1 (False or True)" if dtype == "bool" else f"integers in [{lo}, {hi}]"
        cast = "turn it into True" if dtype == "bool" else "wrap it around"
        raise ValueError(f"{what}: input '{input_name}' has dtype {dtype}, which holds {allowed}, but {label}"
                         f"[{', '.join(map(str, pos))}]={raw[pos].item()!r}; Keras's cast would {cast}: cast or "
                         f"clip the data first, or declare a wider dtype")


def check_finite(arr: np.ndarray, name: str, what: str) -> None:
    """ValueError when the float array holds NaN or inf (checked in C++, in one pass). A
    list of arrays (a graph model's inputs or targets, one per input/output; None entries
    skipped) is checked array by array."""
    if isinstance(arr, list):
        for a in arr:
            if a is not None:
                check_finite(a, name, what)
        return
    if not _core.all_finite(arr if arr.ndim == 1 or arr.flags.c_contiguous else arr.reshape(-1)):
        raise ValueError(f"{what}: {name} contains NaN or inf (shape {arr.shape}); "
                         f"clean the data first, e.g. with np.nan_to_num")


def as_float_rows(x: Any, name: str, what: str, check_values: Any = None) -> np.ndarray:
    """``x`` as a C-contiguous float32 array with rows as samples: a float32 C-contiguous
    array as it is, anything else (float64, ints, lists, DataFrames, objects with
    ``__array__``) converted once; strings, objects, scalars and empty arrays refused.
    ``check_values(arr, name, what)``, when given, sees the numeric array before the float32
    conversion (the id layers check integer ids there, before int64 ids lose exactness)."""
    if x is None:
        raise ValueError(f"{what}: {name} is required, got None")
    if isinstance(x, (str, bytes)):
        raise NotNumericDataError(f"{what}: {name} must be an array of numbers, got {type(x).__name__}")
    # pandas: non-numeric columns refused by name; nullable ones NA -> NaN (refused later);
    # ragged nested lists: a ValueError naming ``name``
    arr = as_numeric_array(x, name, what)
    if arr.dtype == object or arr.dtype.kind not in "fiub":
        raise NotNumericDataError(
            f"{what}: {name} must hold real numbers (float or int), got dtype={arr.dtype}")
    if arr.ndim == 0:
        raise ValueError(f"{what}: {name} must have a batch dimension, got a scalar")
    if arr.shape[0] == 0 or arr.size == 0:
        raise ValueError(f"{what}: {name} is empty ({name}.shape={arr.shape})")
    if check_values is not None:
        check_values(arr, name, what)
    if not (arr.dtype == np.float32 and arr.flags.c_contiguous and arr.flags.aligned):
        arr = to_float32(arr, name, what)  # finite values beyond float32: a clear error
    return arr


def class_weight_to_sample_weight(class_weight, y: np.ndarray) -> np.ndarray:
    """fit's ``class_weight`` as per-sample weights (Keras: argmax of one-hot rows, else the
    rounded label; classes missing from the dict weigh 1.0)."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"fit: class_weight must be a dict {{class index: weight}}, "
                        f"got {type(class_weight).__name__}")
    if y.shape[1] > 1:
        labels = np.argmax(y, axis=1)
    else:
        labels = np.round(y[:, 0]).astype(np.int64)
    sw = np.ones(y.shape[0], dtype=np.float32)
    for k, w in class_weight.items():
        ki = class_index(k)  # -1 for 0.5 (int() would make it class 0), "a", -2, ...
        if ki < 0:
            raise ValueError(f"fit: class_weight keys must be class indices (integers >= 0), got {k!r}")
        if not is_real(w) or not math.isfinite(w):
            raise ValueError(f"fit: class_weight values must be finite numbers, got {w!r} for class {k!r}")
        check_float32(w, f"class_weight[{k!r}]", "fit")
        sw[labels == ki] = float(w)
    return sw


def prepare_sample_weight(sw, n: int, what: str, name: str = "sample_weight") -> Optional[np.ndarray]:
    """``sample_weight`` as float32 of shape (n,) ((n, 1) is taken too), finite; None stays None."""
    if sw is None:
        return None
    sw = as_numeric_array(sw, name, what)
    if sw.dtype.kind not in "fiub":
        raise TypeError(f"{what}: {name} must be numeric, got dtype={sw.dtype}")
    if sw.ndim == 2 and sw.shape[1] == 1:
        sw = sw.reshape(-1)
    if sw.ndim != 1 or sw.shape[0] != n:
        raise ValueError(f"{what}: {name} must have shape ({n},), got {sw.shape}")
    sw = to_float32(sw, name, what)
    check_finite(sw, name, what)
    return sw
