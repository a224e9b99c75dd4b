"""The one lookup behind ``get`` / ``serialize`` / ``deserialize`` of each family
(initializers, regularizers, constraints, layers, learning-rate schedules, optimizers,
metrics; activations and losses, whose names resolve to functions as well as classes,
through ``resolve_name``): names, config dicts, classes, callables.

Where families differ (as Keras's own modules do), an explicit option says how:
``fold_case`` (optimizer names are case-insensitive), ``classes`` (what a class given as
an identifier becomes), ``functions`` (whether plain callables are accepted),
``custom_objects_to`` (the classes whose ``from_config`` takes ``custom_objects``), and the
message templates ``unknown`` / ``not_a_config``."""
from __future__ import annotations

from typing import Any, Callable, Dict, Literal, Mapping, Optional, Union

from . import _custom_objects

#: ``deserialize``'s message for a class name found nowhere (fields: kind, name, valid).
UNKNOWN = "Unknown {kind}: '{name}'. Valid names: {valid}"
#: ``deserialize``'s message for something that is not a ``{"class_name": ...}`` dict.
NOT_A_CONFIG = "Could not interpret {kind} config: {config!r}"


def serialize(obj, *, kind: str, base: type, builtin: tuple,
              class_names: Optional[Mapping[type, str]] = None, module: Optional[str] = None,
              functions: bool = True, expected: Optional[str] = None,
              other: Optional[Callable[[Any], Any]] = None) -> Union[Dict[str, Any], str, None]:
    """Keras-style config dict ``{"module", "class_name", "config", "registered_name"}`` of an
    instance of ``base``; None for None and the function's name for a plain function
    (``functions=False``: a TypeError "serialize: expected <expected>, got <type>" for anything
    that is not a ``base``; ``expected`` defaults to "a <base name>"). ``builtin`` classes
    serialize under ``module`` (default ``keras.<kind>s``) with Keras's class name
    (``class_names`` where it differs from ours); other classes under their own module, with
    their class name as ``registered_name``. ``other(obj)`` serializes an object that is
    neither (another library's metric, say); when it gives None, or without it, ValueError."""
    if obj is None:
        return None
    if isinstance(obj, base):
        obj_: Any = obj  # an instance of `base`: every family's base class has get_config()
        cls = type(obj_)
        is_builtin = cls in builtin
        return {
            "module": (module or f"keras.{kind}s") if is_builtin else cls.__module__,
            "class_name": (class_names or {}).get(cls, cls.__name__),
            "config": obj_.get_config(),
            "registered_name": None if is_builtin else cls.__name__,
        }
    if not functions:
        raise TypeError(f"serialize: expected {expected or 'a ' + base.__name__}, "
                        f"got {type(obj).__name__}")
    name = getattr(obj, "__name__", None)
    if name is not None:
        return name
    out = other(obj) if other is not None else None
    if out is None:
        raise ValueError(f"Cannot serialize {kind} {obj!r}")
    return out


def deserialize(config, custom_objects: Optional[Mapping[str, Any]], *, kind: str,
                registry: Mapping[str, Any], valid_names: Callable[[], str],
                get: Optional[Callable[[Any], Any]], fold_case: bool = False,
                custom_objects_to: Optional[type] = None, unknown: str = UNKNOWN,
                not_a_config: str = NOT_A_CONFIG):
    """Builds an object from a ``{"class_name", "config"}`` dict, or from a bare name through
    ``get`` (after ``custom_objects``, as Keras; ``get=None``: names are refused with
    ``not_a_config``). The class comes from ``custom_objects`` (by class name, then by
    registered name) before the built-in ``registry`` (looked up lower-cased with
    ``fold_case``); none: ValueError ``unknown``. Classes derived from ``custom_objects_to``
    get ``custom_objects`` in ``from_config`` (an optimizer's schedule needs them)."""
    custom = _custom_objects.merged(custom_objects)  # + registered objects and custom_object_scope
    if isinstance(config, str) and get is not None:
        return get(custom.get(config, config))
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(not_a_config.format(kind=kind, config=config))
    name = config["class_name"]
    cls: Any = None
    if isinstance(name, str):  # anything else names no class (and may not be hashable)
        cls = custom.get(name)
        registered = config.get("registered_name")
        if cls is None and isinstance(registered, str) and registered:
            cls = custom.get(registered)
        if cls is None:
            cls = registry.get(name.lower() if fold_case else name)
    if cls is None:
        raise ValueError(unknown.format(kind=kind, name=name, valid=valid_names()))
    inner = dict(config.get("config") or {})
    if custom_objects_to is not None and isinstance(cls, type) and issubclass(cls, custom_objects_to):
        built: Any = cls  # a subclass of custom_objects_to: its from_config takes custom_objects
        return built.from_config(inner, custom_objects=custom_objects)
    return cls.from_config(inner)


def get(identifier, *, kind: str, base: type, registry: Mapping[str, Any],
        valid_names: Callable[[], str], deserialize: Callable[[Any], Any],
        names_on_failure: bool = False, fold_case: bool = False,
        classes: Literal["base", "any", "none"] = "base", functions: bool = True):
    """Resolves None (-> None), a name (its class, built with no argument; looked up
    lower-cased with ``fold_case``), a config dict (``deserialize``), an instance of ``base``
    (itself), a class and a callable. ``classes``: "base" builds subclasses of ``base`` and
    refuses other classes, "any" builds any class (Keras's metrics), "none" refuses classes
    (Keras's optimizers). ``functions=False`` refuses other callables. The ValueError of a
    refused identifier lists the valid names with ``names_on_failure``."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        cls = registry.get(identifier.lower() if fold_case else identifier)
        if cls is None:  # a registered custom object (register_keras_serializable, a scope)
            custom = _custom_objects.merged(None).get(identifier)
            if custom is not None:
                return custom() if isinstance(custom, type) else custom
        if cls is None:
            raise ValueError(
                f"Could not interpret {kind} identifier: {identifier!r}. Valid names: {valid_names()}")
        return cls()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, base):
        return identifier
    if isinstance(identifier, type):
        if classes == "any" or (classes == "base" and issubclass(identifier, base)):
            return identifier()
        raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}")
    if functions and callable(identifier):
        return identifier
    suffix = f". Valid names: {valid_names()}" if names_on_failure else ""
    raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}{suffix}")


def resolve_name(name: str, lookup: Mapping[str, Any], *, kind: str,
                 custom_objects: Optional[Mapping[str, Any]] = None):
    """The object a name stands for in a family whose names give functions or classes
    (activations, losses): ``custom_objects`` first, then ``lookup``; ValueError listing
    the valid names otherwise."""
    custom = _custom_objects.merged(custom_objects)  # + registered objects and custom_object_scope
    if name in custom and name not in (custom_objects or {}) and name in lookup:
        return lookup[name]  # a built-in name is not shadowed by a registered bare name
    if name in custom:
        return custom[name]
    obj = lookup.get(name)
    if obj is None:
        raise ValueError(f"Could not interpret {kind} identifier: {name!r}; valid names are: "
                         f"{', '.join(sorted(lookup))}")
    return obj
