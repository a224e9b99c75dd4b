"""Argument checks and resolvers shared by the layer classes: dtype, activation and
initializer identifiers, numbers and seeds (with Keras's exception types), shapes, and the
memory check of a layer's weights."""
from __future__ import annotations

import math
import numbers
import os
import reprlib
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from .. import _checks, _core
from .. import initializers as _initializers

ACT_KINDS = tuple(_core.activation_kind_names())  # ActKind enumerators in order: kinds cross as ints

def check_dtype(dtype) -> None:
    if dtype is None:
        return
    name = dtype
    if isinstance(dtype, dict):
        name = (dtype.get("config") or {}).get("name", dtype.get("name"))
    try:
        ok = np.dtype(name) == np.float32
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"ranvier layers compute in float32; got dtype={dtype!r}")


def resolve_activation(identifier, argument: str = "activation") -> Tuple[int, Dict[str, float], str]:
    """(kind as int, core params, kind name) of an activation identifier, through
    ranvier.activations.core_spec. ValueError names ``argument``."""
    if identifier is None:
        return 0, {}, "linear"
    from .. import activations
    try:
        kind_name, params = activations.core_spec(identifier)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{argument}: {e}") from None
    if kind_name not in ACT_KINDS:
        raise ValueError(f"{argument}: activation kind {kind_name!r} is not one the core knows")
    return ACT_KINDS.index(kind_name), dict(params or {}), kind_name


def core_act_args(kind_name: str, params: Dict[str, float]) -> Dict[str, float]:
    """Keyword arguments for the core's activation parameters (ActParams defaults filled in)."""
    max_value = params.get("max_value")
    return {
        "negative_slope": float(params.get("negative_slope", 0.2 if kind_name == "leaky_relu" else 0.0)),
        "max_value": math.inf if max_value is None else float(max_value),
        "threshold": float(params.get("threshold", 0.0)),
        "alpha": float(params.get("alpha", 1.0)),
    }


def serialize_activation(identifier) -> Any:
    """What Dense/Activation put under "activation" in their config (Keras: the name,
    e.g. "silu" for "swish")."""
    from .. import activations
    return activations.serialize(activations.get(identifier))


def get_initializer(identifier, argument: str):
    """The initializer for a layer argument. None means what Keras's ``add_weight`` uses
    for an initializer of None on a float weight: ``glorot_uniform`` (so
    ``Dense(bias_initializer=None)`` draws the bias from GlorotUniform, as in Keras 3)."""
    if identifier is None:
        init = _initializers.GlorotUniform()
        init._from_none = True  # type: ignore[attr-defined]  # serializes back to None, as in Keras
        return init
    try:
        init = _initializers.get(identifier)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{argument}: {e}") from None
    return init


check_bool = _checks.check_bool  # the layers' flags (use_bias, center, ...)


class NotANumberError(TypeError, ValueError):
    """A layer argument that must be a number got something else (None, a string, a list):
    Keras's own check fails there with TypeError (``0 <= None``, ``float(None)``), ranvier's
    names the argument; both ``except TypeError`` and ``except ValueError`` catch it."""


def _not_a_number(value) -> bool:
    return not isinstance(value, (numbers.Real, np.ndarray))  # complex too: Keras's float(0.5j) fails


def check_layer_argument(class_name: str, argument: str, value) -> None:
    """The core constructor's check of one argument (``_core.layer_check_config``, Keras's
    message); a value that is not a number at all raises NotANumberError."""
    try:
        _core.layer_check_config(class_name, {argument: value})
    except ValueError as e:
        if _not_a_number(value):
            raise NotANumberError(str(e)) from None
        raise


def _shown(value) -> str:
    """repr for a message: bounded (a self-containing or huge list) and never raising (an
    int past Python's 4300-digit repr limit)."""
    try:
        return reprlib.repr(value)
    except ValueError:
        return f"<int of {value.bit_length()} bits>" if isinstance(value, int) else f"<{type(value).__name__}>"


def check_seed(seed, owner: str) -> None:
    """A seeded layer's ``seed``: None or an int in [0, 2**64) (the C++ seed is a uint64).
    Anything else is a ValueError, as Keras's SeedGenerator raises for a non-int."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise ValueError(f"{owner}: seed must be a non-negative int or None, got seed={seed!r}")
    _checks.check_optional_int(seed, "seed", owner, 0, _checks.UINT64_MAX)


def check_float(value, argument: str, *, positive: bool = False) -> float:
    if _not_a_number(value):
        raise NotANumberError(f"{argument} must be a finite number, got {argument}={_shown(value)}")
    try:
        finite = math.isfinite(value)
    except (OverflowError, TypeError):  # an int past float's range; a 1-element array
        finite = False
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not finite:
        raise ValueError(f"{argument} must be a finite number, got {argument}={_shown(value)}")
    if positive and not float(value) > 0:
        raise ValueError(f"{argument} must be > 0, got {argument}={value!r}")
    return _checks.check_float32(value, argument)  # the C++ layers take float32


def physical_memory() -> Optional[int]:
    """Bytes of physical memory on this machine (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def check_weights_fit(owner: str, parts: Sequence[Tuple[Any, tuple, int]]) -> None:
    """MemoryError, before anything is allocated, when the float32 weights and gradients of
    ``parts`` ((layer, input shape, number of weights) for each layer about to be built)
    alone exceed this machine's physical memory: building them would only end in the OOM
    killer, after filling the memory. ``owner`` starts the message ("Sequential",
    "Dense.build"). Used by ``Layer.build`` and by ``Sequential`` before it builds."""
    phys = physical_memory()
    total = sum(n for _, _, n in parts)
    if phys is None or 2 * 4 * total <= phys:
        return
    where = []
    for layer, shape, n in parts:
        units = getattr(layer, "units", None)
        label = type(layer).__name__ + (f"({units})" if units is not None else "")
        where.append(f"{label} '{layer.name}' on {tuple(shape[1:])} inputs: {n:,} weights")
    raise MemoryError(
        f"{owner}: the weights and gradients need {2 * 4 * total / 2**30:,.1f} GiB but this machine "
        f"has {phys / 2**30:,.1f} GiB of memory; " + "; ".join(where))


def normalize_shape(shape, argument: str = "input_shape") -> Tuple[Optional[int], ...]:
    if isinstance(shape, numbers.Integral):
        shape = (shape,)
    try:
        # int(2.5) would be 2: only integers (as Keras's standardize_shape, which refuses
        # floats and strings; bools too, as Input does)
        if any(d is not None and (isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral))
               for d in shape):
            raise TypeError
        dims = tuple(None if d is None else int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(f"{argument} must be a tuple of ints (None for the batch), got {_shown(shape)}") from None
    return dims
