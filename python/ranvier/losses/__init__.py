"""Losses (Keras 3 names, defaults, reductions and numbers).

Function forms (``mean_squared_error(y_true, y_pred)``, ...) return the per-sample
losses: float32, shape ``y_pred.shape[:-1]`` (a 0-d array for rank-1 input). Class forms
(``MeanSquaredError(reduction="sum_over_batch_size", name=...)``) add the reduction and
``sample_weight``. The values are computed by the C++ loss kernels; the reduction
(a float64 sum returned as float32) is done here.

Inputs: anything ``np.asarray`` turns into a real numeric array. y_true may be integer
or bool (labels); both are converted to float32 (float64 -> float32 is one copy).
Complex, object and string arrays raise ``TypeError``. Rank alignment follows Keras's
``squeeze_or_expand_to_same_rank``: y_true (N,) against y_pred (N, 1) is (N, 1), never
an (N, N) broadcast. After alignment y_true must have y_pred's shape, or a last axis
of 1 (broadcast along it); otherwise ``ValueError`` names both shapes.

For the C++ training loop: ``core_spec(loss) -> (kind_name, params)`` with kind_name one
of ``KIND_NAMES`` (ranvier::LossKind) and params holding exactly ``from_logits``,
``label_smoothing``, ``delta``, ``alpha``, ``gamma``, ``apply_class_balancing``;
``core_kind(kind_name)`` is the LossKind integer, ``core_reduction(loss)`` the reduction.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, Optional, Tuple

from .. import _registry
from . import _classes, _functions
from ._classes import *  # noqa: F401,F403 - the public classes
from ._classes import Loss, LossFunctionWrapper
from ._functions import *  # noqa: F401,F403 - the public functions
from ._functions import KIND_NAMES, PARAM_DEFAULTS, REDUCTIONS, _KIND_INDEX, _TABLE, _core_params

__all__ = [*_classes.__all__, *_functions.__all__,
           "get", "serialize", "deserialize", "core_spec", "core_kind", "core_reduction"]
for _name in (*_classes.__all__, *_functions.__all__, "Loss", "LossFunctionWrapper"):
    globals()[_name].__module__ = __name__  # public as ranvier.losses.<name>

# Everything below derives from the table's rows: the functions, their classes, Keras's
# aliases (also upper-cased: "MSE"), and each function's parameters (its signature).
_FUNCTIONS = _functions._FUNCTIONS
_CLASSES: Dict[str, Any] = {row["class_name"]: getattr(_classes, row["class_name"]) for row in _TABLE}
_CLASSES.update(Loss=Loss, LossFunctionWrapper=LossFunctionWrapper)
_ALIASES: Dict[str, Callable] = {
    a: _FUNCTIONS[row["name"]] for row in _TABLE for alias in row["aliases"] for a in (alias, alias.upper())}
# Parameters of each function beyond (y_true, y_pred): the C++ kernel's, axis, ignore_class.
_FN_PARAMS: Dict[str, Tuple[str, ...]] = {
    name: tuple(inspect.signature(fn).parameters)[2:] for name, fn in _FUNCTIONS.items()}
_LOOKUP: Dict[str, Any] = {**{k: v for k, v in _CLASSES.items() if k not in ("Loss", "LossFunctionWrapper")},
                           **_FUNCTIONS, **_ALIASES}


def _valid_names() -> str:
    return ", ".join(sorted(_LOOKUP))


# ----------------------------------------------------------------------------- registry
def serialize(loss) -> Any:
    """Keras's serialized form: a function -> {"module": "keras.losses", "class_name":
    "function", "config": name, ...}; a Loss -> {"module", "class_name", "config", ...}."""
    if loss is None:
        return None
    if isinstance(loss, str):
        return loss
    if isinstance(loss, Loss):  # a class of the user's own: its module and registered_name
        return _registry.serialize(loss, kind="loss", base=Loss, builtin=tuple(_CLASSES.values()),
                                   module="keras.losses")
    name = getattr(loss, "__name__", None)
    if name in _FUNCTIONS and _FUNCTIONS[name] is loss:
        return {"module": "keras.losses", "class_name": "function", "config": name, "registered_name": name}
    if callable(loss) and name:
        return {"module": getattr(loss, "__module__", None), "class_name": "function", "config": name,
                "registered_name": name}
    raise ValueError(f"Cannot serialize loss {loss!r}: use a built-in loss ({_valid_names()})")


def deserialize(config, custom_objects: Optional[Dict[str, Any]] = None):
    """Inverse of ``serialize`` (names, function configs and class configs)."""
    custom_objects = custom_objects or {}
    if config is None:
        return None
    if isinstance(config, str):
        obj = _registry.resolve_name(config, _LOOKUP, kind="loss", custom_objects=custom_objects)
        return obj() if inspect.isclass(obj) else obj
    if isinstance(config, dict):
        cname = config.get("class_name")
        inner = config.get("config")
        if cname == "function" or (cname is None and isinstance(inner, str)):
            return deserialize(inner, custom_objects)
        return _registry.deserialize(
            {**config, "class_name": cname}, custom_objects, kind="loss", registry=_CLASSES,
            valid_names=lambda: ", ".join(sorted(_CLASSES)), get=None,
            unknown="Could not interpret {kind} config: unknown class_name {name!r}; known: {valid}")
    raise ValueError(f"Could not interpret loss identifier: {config!r}")


_classes._codec.update(serialize=serialize, deserialize=deserialize)


def get(identifier):
    """Keras's ``losses.get``: None -> None; class names -> a new instance with defaults;
    function names and the aliases (bce/BCE, mse/MSE, mae/MAE, mape/MAPE, msle/MSLE, kld/KLD)
    -> the function; callables as is (a class is instantiated); dicts through ``deserialize``.
    Unknown names raise ValueError listing the valid ones ("logcosh", "huber_loss",
    "kullback_leibler_divergence" and "crossentropy" are not resolvable here)."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = _registry.resolve_name(identifier, _LOOKUP, kind="loss")
    else:
        obj = identifier
    if callable(obj):
        return obj() if inspect.isclass(obj) else obj
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")


def core_spec(loss) -> Tuple[str, Dict[str, Any]]:
    """``(kind_name, params)`` of the C++ kernel computing ``loss`` (anything ``get``
    resolves). ``params`` has exactly the keys from_logits (bool), label_smoothing,
    delta, alpha, gamma (floats) and apply_class_balancing (bool); Keras defaults fill the
    keys a loss does not use. Raises ValueError for a Python loss without a C++ kernel,
    and for options the kernels do not take (axis other than -1, ignore_class)."""
    obj = get(loss)
    if obj is None:
        raise ValueError("core_spec: loss is None")
    kwargs: Dict[str, Any] = {}
    fn = obj
    if isinstance(obj, LossFunctionWrapper):
        fn = obj.fn
        kwargs = dict(obj._fn_kwargs)
    name = getattr(fn, "__name__", None)
    if name not in _FUNCTIONS or _FUNCTIONS[name] is not fn:
        what = type(obj).__name__ if isinstance(obj, Loss) else (name or repr(obj))
        raise ValueError(
            f"loss {what!r} is a Python loss with no C++ kernel; ranvier's training loop computes the loss "
            f"in C++ and supports: {', '.join(sorted(_FUNCTIONS))} (and their classes and aliases)")
    allowed = _FN_PARAMS.get(name, ())
    params = dict(PARAM_DEFAULTS)
    for key, value in kwargs.items():
        if key not in allowed:
            raise ValueError(f"core_spec: {name} has no parameter {key!r}")
        if key == "axis":
            if value != -1:
                raise ValueError(f"core_spec: {name} with axis={value!r}: the C++ loss works on the last "
                                 f"axis only (axis=-1)")
        elif key == "ignore_class":
            if value is not None:
                raise ValueError(f"the built-in loss {name} with ignore_class={value!r} has no C++ kernel: ranvier's "
                                 f"training loop cannot skip a class's rows; drop ignore_class and give those "
                                 f"rows sample_weight 0 instead (the mean then counts them in its denominator, as sample weights do)")
        else:
            params[key] = value
    return name, _core_params(params)


def core_kind(kind_name: str) -> int:
    """The C++ LossKind integer of a ``core_spec`` kind name."""
    try:
        return _KIND_INDEX[kind_name]
    except KeyError:
        raise ValueError(f"unknown loss kind {kind_name!r}; kinds: {', '.join(KIND_NAMES)}") from None


def core_reduction(loss) -> Optional[str]:
    """The reduction a loss object asks for ("sum_over_batch_size" for functions and names,
    as ``compile`` wraps them)."""
    obj = get(loss)
    return obj.reduction if isinstance(obj, Loss) else "sum_over_batch_size"
