"""Keras's ``serialize_keras_object`` / ``deserialize_keras_object`` (``ranvier.saving`` and
``ranvier.utils``): the generic form behind every family's ``serialize`` / ``deserialize``,
which custom classes call in their ``get_config`` / ``from_config`` for nested objects.

Objects of a ranvier family (layers, metrics, losses, optimizers, learning-rate schedules,
initializers, regularizers, constraints) go through that family's own functions; other
objects with ``get_config`` become ``{"module", "class_name", "config", "registered_name"}``
and come back through ``from_config`` of the class found in ``custom_objects``, a
``custom_object_scope`` or the registry (``register_keras_serializable``)."""
from __future__ import annotations

import importlib
import json
from typing import Any, List, Mapping, Optional, Tuple

import numpy as np

from . import _custom_objects

__all__ = ["serialize_keras_object", "deserialize_keras_object"]

# (module of the family, base class attribute path, family word found in a config's "module")
_FAMILIES: List[Tuple[str, str, str]] = [
    ("layers", "Layer", "layers"), ("metrics", "Metric", "metrics"), ("losses", "Loss", "losses"),
    ("optimizers.schedules", "LearningRateSchedule", "schedules"), ("optimizers", "Optimizer", "optimizers"),
    ("initializers", "Initializer", "initializers"), ("regularizers", "Regularizer", "regularizers"),
    ("constraints", "Constraint", "constraints"),
]


def _family(name: str):
    return importlib.import_module(f"ranvier.{name}")


def serialize_keras_object(obj) -> Any:
    """A JSON-able description of ``obj``: None, numbers, strings and bools as they are;
    lists, tuples and dicts element-wise; a NumPy array as Keras's ``__numpy__`` dict; a
    ranvier family object through its family; a function as Keras's ``"function"`` dict
    (registered name when registered); another object with ``get_config`` as a class dict.
    TypeError for anything else."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return {"class_name": "__numpy__", "config": {"value": obj.tolist(), "dtype": str(obj.dtype)}}
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(x) for x in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    for module, base, _ in _FAMILIES:
        fam = _family(module)
        if isinstance(obj, getattr(fam, base)):
            return fam.serialize(obj)
    if callable(obj) and not isinstance(obj, type) and hasattr(obj, "__name__") and not hasattr(obj, "get_config"):
        name = _custom_objects.get_registered_name(obj)
        return {"module": getattr(obj, "__module__", None), "class_name": "function",
                "config": getattr(obj, "__name__", name), "registered_name": name}
    if callable(getattr(obj, "to_json", None)) and callable(getattr(obj, "get_compile_config", None)):
        return json.loads(obj.to_json())  # a model: Keras's dict (build and compile configs too)
    if hasattr(obj, "get_config"):
        cls = type(obj)
        return {"module": cls.__module__, "class_name": cls.__name__, "config": obj.get_config(),
                "registered_name": _custom_objects.get_registered_name(cls)}
    raise TypeError(f"serialize_keras_object: cannot serialize {obj!r} (of type {type(obj).__name__}): it is "
                    f"not a number, string, list, dict, array, function or object with get_config()")


def deserialize_keras_object(config, custom_objects: Optional[Mapping[str, Any]] = None, safe_mode: bool = True,
                             **kwargs) -> Any:
    """The object ``serialize_keras_object`` described. Names are looked up in
    ``custom_objects``, the active ``custom_object_scope`` blocks and the registry first.
    ValueError for a class or function found nowhere."""
    if config is None or isinstance(config, (bool, int, float)):
        return config
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(c, custom_objects) for c in config]
    custom = _custom_objects.merged(custom_objects)
    if isinstance(config, str):
        obj = custom.get(config)
        return config if obj is None else obj
    if not isinstance(config, dict):
        raise TypeError(f"deserialize_keras_object: expected a dict, list, string or number, got {type(config).__name__}")
    if "class_name" not in config:
        return {k: deserialize_keras_object(v, custom_objects) for k, v in config.items()}
    class_name, inner = config["class_name"], config.get("config")
    if class_name == "__numpy__" and isinstance(inner, dict):
        return np.array(inner["value"], dtype=inner.get("dtype"))
    registered = config.get("registered_name")
    if class_name == "function":
        for key in (registered, inner):
            if isinstance(key, str) and key in custom:
                return custom[key]
        module = str(config.get("module") or "")
        for fam in ("losses", "activations", "metrics"):
            if fam in module:
                return _family(fam).get(inner)
        raise ValueError(f"Could not locate function '{inner}'. Make sure custom functions are registered "
                         f"(register_keras_serializable) or passed in custom_objects")
    for key in (registered, class_name):
        if isinstance(key, str) and key in custom:
            cls = custom[key]
            return cls.from_config(inner or {}) if hasattr(cls, "from_config") else cls(**(inner or {}))
    if class_name in ("Sequential", "Functional", "Model") and isinstance(inner, dict):
        # a model (serialize_keras_object's / to_json's dict): built, and compiled when it was
        model = _family("models").model_from_json(json.dumps(config), custom_objects=custom_objects)
        if config.get("compile_config"):
            model.compile_from_config(config["compile_config"])
        return model
    module = str(config.get("module") or "")
    for fam_module, _, word in _FAMILIES:
        if word in module.split("."):
            return _family(fam_module).deserialize(config, custom_objects=custom_objects)
    raise ValueError(f"Could not locate class '{class_name}'. Make sure custom classes are registered "
                     f"(register_keras_serializable) or passed in custom_objects")
