"""The one lookup behind ``get`` / ``serialize`` / ``deserialize`` of each family
(initializers, regularizers, constraints, layers, learning-rate schedules; activations and
losses, whose names resolve to functions as well as classes, through ``resolve_name``):
names, config dicts, classes, callables."""
from __future__ import annotations

from typing import Any, Callable, Dict, Mapping, Optional, Union


def serialize(obj, *, kind: str, base: type, builtin: tuple,
              class_names: Optional[Mapping[type, str]] = None, module: Optional[str] = None,
              functions: bool = True) -> Union[Dict[str, Any], str, None]:
    """Keras-style config dict ``{"module", "class_name", "config", "registered_name"}`` of an
    instance of ``base``; None for None and the function's name for a plain function
    (``functions=False``: a TypeError for anything that is not a ``base``). ``builtin``
    classes serialize under ``module`` (default ``keras.<kind>s``) with Keras's class name
    (``class_names`` where it differs from ours)."""
    if obj is None:
        return None
    if not functions and not isinstance(obj, base):
        raise TypeError(f"serialize: expected a {base.__name__}, got {type(obj).__name__}")
    if not isinstance(obj, base):
        name = getattr(obj, "__name__", None)
        if name is None:
            raise ValueError(f"Cannot serialize {kind} {obj!r}")
        return name
    obj_: Any = obj  # an instance of `base`: every family's base class has get_config()
    cls = type(obj_)
    is_builtin = cls in builtin
    return {
        "module": (module or f"keras.{kind}s") if is_builtin else cls.__module__,
        "class_name": (class_names or {}).get(cls, cls.__name__),
        "config": obj_.get_config(),
        "registered_name": None if is_builtin else cls.__name__,
    }


def deserialize(config, custom_objects: Optional[Dict[str, Any]], *, kind: str,
                registry: Mapping[str, type], valid_names: Callable[[], str],
                get: Optional[Callable[[Any], Any]]):
    """Builds an object from a ``{"class_name", "config"}`` dict (or a bare name via ``get``;
    ``get=None``: names are refused). The class comes from ``custom_objects`` (by class name,
    then by registered name) before the built-in ``registry``."""
    if isinstance(config, str) and get is not None:
        return get(config)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret {kind} config: {config!r}")
    name = config["class_name"]
    custom = custom_objects or {}
    cls: Any = custom.get(name)
    if cls is None and config.get("registered_name"):
        cls = custom.get(config["registered_name"])
    if cls is None:
        cls = registry.get(name)
    if cls is None:
        raise ValueError(f"Unknown {kind}: '{name}'. Valid names: {valid_names()}")
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier, *, kind: str, base: type, registry: Mapping[str, type],
        valid_names: Callable[[], str], deserialize: Callable[[Any], Any],
        names_on_failure: bool = False):
    """Resolves None (-> None), a name, a config dict, a class or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        cls = registry.get(identifier)
        if cls is None:
            raise ValueError(
                f"Could not interpret {kind} identifier: '{identifier}'. Valid names: {valid_names()}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, type):
        if issubclass(identifier, base):
            return identifier()
        raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}")
    if callable(identifier):
        return identifier
    suffix = f". Valid names: {valid_names()}" if names_on_failure else ""
    raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}{suffix}")


def resolve_name(name: str, lookup: Mapping[str, Any], *, kind: str,
                 custom_objects: Optional[Mapping[str, Any]] = None):
    """The object a name stands for in a family whose names give functions or classes
    (activations, losses): ``custom_objects`` first, then ``lookup``; ValueError listing
    the valid names otherwise."""
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    obj = lookup.get(name)
    if obj is None:
        raise ValueError(f"Could not interpret {kind} identifier: {name!r}; valid names are: "
                         f"{', '.join(sorted(lookup))}")
    return obj
