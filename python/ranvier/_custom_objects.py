"""Keras's custom-object registry: ``register_keras_serializable``, ``get_custom_objects``,
``custom_object_scope`` / ``CustomObjectScope``, ``get_registered_name`` and
``get_registered_object`` (exported by ``ranvier.saving`` and ``ranvier.utils``).

Every ``deserialize`` / ``get`` of ranvier (and so ``load_model``, ``from_config``,
``model_from_json``) looks names up in the ``custom_objects`` it is given, then in the
active ``custom_object_scope`` blocks, then in this registry (by ``"package>name"``, as Keras
stores it in ``registered_name``, and by the bare name), then among the built-ins."""
from __future__ import annotations

import threading
from typing import Any, Dict, List, Mapping, Optional, Tuple

__all__ = ["register_keras_serializable", "get_custom_objects", "custom_object_scope", "CustomObjectScope",
           "get_registered_name", "get_registered_object"]

_GLOBAL: Dict[str, Any] = {}          # "package>name" -> object (what Keras's registry holds)
# id(object) -> (object, "package>name"); the object is held (as Keras's registry holds it)
# and compared, so the id of a collected object reused by a new one does not name it
_NAMES: Dict[int, Tuple[Any, str]] = {}
_scopes = threading.local()


def _scope_stack() -> List[Dict[str, Any]]:
    stack = getattr(_scopes, "stack", None)
    if stack is None:
        stack = _scopes.stack = []
    return stack


def register_keras_serializable(package: str = "Custom", name: Optional[str] = None):
    """Decorator registering a class or function under ``"package>name"`` (``name`` defaults
    to its ``__name__``), so that saved configs naming it load without ``custom_objects``.
    Registering a name again replaces the object. ValueError when ``package``/``name``
    contain '>'; a class must have ``get_config`` (ValueError otherwise), as in Keras."""
    if not isinstance(package, str) or ">" in package:
        raise ValueError(f"register_keras_serializable: package must be a string without '>', got {package!r}")

    def decorator(arg):
        class_name = name if name is not None else getattr(arg, "__name__", None)
        if not isinstance(class_name, str) or not class_name or ">" in class_name:
            raise ValueError(f"register_keras_serializable: name must be a non-empty string without '>', "
                             f"got {class_name!r}")
        if isinstance(arg, type) and not hasattr(arg, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        registered = f"{package}>{class_name}"
        _GLOBAL[registered] = arg  # registering the name again replaces the object, as in Keras
        _NAMES[id(arg)] = (arg, registered)
        return arg

    return decorator


def get_custom_objects() -> Dict[str, Any]:
    """The global registry (a mutable dict: ``get_custom_objects()["name"] = obj`` registers
    ``obj`` under ``name``)."""
    return _GLOBAL


class CustomObjectScope:
    """``with CustomObjectScope({"name": obj, ...}):`` makes the objects resolvable by name
    for every ``deserialize`` / ``load_model`` inside the block (this thread)."""

    def __init__(self, custom_objects: Optional[Mapping[str, Any]] = None):
        if custom_objects is not None and not isinstance(custom_objects, Mapping):
            raise TypeError(f"CustomObjectScope: custom_objects must be a dict, got {type(custom_objects).__name__}")
        self.custom_objects = dict(custom_objects or {})

    def __enter__(self) -> "CustomObjectScope":
        _scope_stack().append(self.custom_objects)
        return self

    def __exit__(self, *exc) -> None:
        _scope_stack().pop()


custom_object_scope = CustomObjectScope


def get_registered_name(obj) -> str:
    """``"package>name"`` for a registered object, else its ``__name__``."""
    entry = _NAMES.get(id(obj))
    if entry is not None and entry[0] is obj:
        return entry[1]
    return getattr(obj, "__name__", type(obj).__name__)


def get_registered_object(name: str, custom_objects: Optional[Mapping[str, Any]] = None,
                          module_objects: Optional[Mapping[str, Any]] = None):
    """The object registered (or given in a scope, ``custom_objects`` or ``module_objects``)
    under ``name``; None when there is none."""
    for source in (custom_objects or {}, *reversed(_scope_stack()), _GLOBAL, module_objects or {}):
        if name in source:
            return source[name]
    return _by_bare_name(name)


def _by_bare_name(name: str):
    for key, obj in _GLOBAL.items():
        if key.split(">", 1)[1] == name:
            return obj
    return None


def merged(custom_objects: Optional[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The custom objects a lookup sees: the registry (by "package>name" and bare name),
    then the active scopes, then ``custom_objects`` (later sources win)."""
    stack = _scope_stack()
    if not _GLOBAL and not stack:
        return custom_objects or {}
    out: Dict[str, Any] = {}
    for key, obj in _GLOBAL.items():
        out.setdefault(key.split(">", 1)[1], obj)
        out[key] = obj
    for scope in stack:
        out.update(scope)
    out.update(custom_objects or {})
    return out
