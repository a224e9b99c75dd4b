"""The one lookup behind ``get`` / ``deserialize`` of each family
(initializers, regularizers, constraints): names, config dicts, classes, callables."""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional


def deserialize(config, custom_objects: Optional[Dict[str, Any]], *, kind: str,
                registry: Dict[str, type], valid_names: Callable[[], str],
                get: Callable[[Any], Any]):
    """Builds an object from a ``{"class_name", "config"}`` dict (or a bare name via ``get``)."""
    if isinstance(config, str):
        return get(config)
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret {kind} config: {config!r}")
    name = config["class_name"]
    custom = custom_objects or {}
    cls: Any = custom.get(name) or registry.get(name)
    if cls is None and config.get("registered_name"):
        cls = custom.get(config["registered_name"])
    if cls is None:
        raise ValueError(f"Unknown {kind}: '{name}'. Valid names: {valid_names()}")
    return cls.from_config(dict(config.get("config") or {}))


def get(identifier, *, kind: str, base: type, registry: Dict[str, type],
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
