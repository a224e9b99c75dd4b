"""The functional model's config, JSON and file helpers (``ranvier._functional``'s
``Model``): Keras's functional config read back into a chain (``model_from_config``),
``to_json`` / ``model_from_json``, and the ``Model`` of a ranvier model file
(``model_from_sequential``)."""
from __future__ import annotations

import json
from typing import Any, Dict

from . import _saving_common
from . import layers as layers_module
from .layers import _base as layers_base
from . import models as models_module
from ._functional import SUPPORTED, Model
from .layers._input import InputLayer, KerasTensor

__all__ = ["model_from_config", "to_json", "model_from_json", "model_from_sequential"]


def model_from_config(cls, config: Dict[str, Any], custom_objects=None) -> Model:
    """``cls.from_config(config)`` for Keras's functional config (``Model.from_config``)."""
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list) \
            or "input_layers" not in config or "output_layers" not in config:
        raise ValueError("Model.from_config: expected Keras's functional config (a dict with 'layers', "
                         "'input_layers' and 'output_layers'); for a Sequential config use "
                         "Sequential.from_config")
    tensors: Dict[str, KerasTensor] = {}
    for entry in config["layers"]:
        if not isinstance(entry, dict):
            raise ValueError(f"Model.from_config: a layer entry must be a dict, got {entry!r}")
        name = entry.get("name") or (entry.get("config") or {}).get("name")
        if entry.get("class_name") == "InputLayer":
            layer = InputLayer.from_config(dict(entry.get("config") or {}))
            tensors[layer.name] = layer.output
            continue
        nodes = entry.get("inbound_nodes") or []
        if len(nodes) != 1:
            raise ValueError(f"{SUPPORTED}: layer '{name}' has {len(nodes)} inbound nodes in the config")
        node = nodes[0]
        if isinstance(node, list) and len(node) == 1 and isinstance(node[0], list) and len(node[0]) >= 3:
            legacy = node[0]  # the legacy form [[name, node_index, tensor_index, kwargs]]
            node = {"args": [{"config": {"keras_history": legacy[:3]}}],
                    "kwargs": legacy[3] if len(legacy) > 3 and isinstance(legacy[3], dict) else {}}
        args = node.get("args") if isinstance(node, dict) else None
        if not isinstance(args, list) or len(args) != 1:
            n = len(args) if isinstance(args, list) else "?"
            raise ValueError(f"{SUPPORTED}: layer '{name}' takes {n} inputs in the config")
        arg = args[0]
        if isinstance(arg, list) and len(arg) == 1:
            arg = arg[0]
        hist = (arg.get("config") or {}).get("keras_history") if isinstance(arg, dict) else None
        if not isinstance(hist, (list, tuple)) or not hist or hist[0] not in tensors:
            raise ValueError(f"Model.from_config: layer '{name}' is called on an unknown tensor {hist!r}")
        layer = layers_module.deserialize(entry, custom_objects=custom_objects)
        kwargs = node.get("kwargs") or {}
        training = kwargs.get("training") if isinstance(kwargs, dict) else None
        tensors[layer.name] = layer(tensors[hist[0]], training=training)

    def resolve(spec):
        if isinstance(spec, dict):
            return {k: resolve(v) for k, v in spec.items()}
        if isinstance(spec, (list, tuple)) and spec and isinstance(spec[0], str):
            if spec[0] not in tensors:
                raise ValueError(f"Model.from_config: no layer named '{spec[0]}'")
            return tensors[spec[0]]
        if isinstance(spec, (list, tuple)):
            return [resolve(s) for s in spec]
        raise ValueError(f"Model.from_config: cannot read {spec!r} as a layer reference")

    return cls(resolve(config["input_layers"]), resolve(config["output_layers"]),
               name=config.get("name"), trainable=config.get("trainable", True))


def to_json(model, **kwargs) -> str:
    """``model.to_json()``: Keras's ``{"module", "class_name", "config", ...}`` as JSON."""
    if isinstance(model, Model):
        out: Dict[str, Any] = {"module": "keras.src.models.functional", "class_name": "Functional",
                               "config": model.get_config(), "registered_name": "Functional"}
    else:
        out = {"module": "keras", "class_name": "Sequential", "config": model.get_config(),
               "registered_name": None}
    if model.built:
        out["build_config"] = {"input_shape": list(model.input_shape)}
    return json.dumps(json.loads(_saving_common.to_json(out, "the model's config")), **kwargs)


def model_from_json(json_string, custom_objects=None):
    """``keras.models.model_from_json``: the (uncompiled, newly initialized) model of
    ``model.to_json()``'s string; a ``Functional`` config gives a ``Model``, a
    ``Sequential`` one a ``Sequential``."""
    try:
        data = json.loads(json_string)
    except (TypeError, ValueError) as e:
        raise ValueError(f"model_from_json: not a JSON model description: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise ValueError("model_from_json: expected {'class_name': ..., 'config': {...}}")
    cls = data.get("class_name")
    try:
        if cls in ("Functional", "Model"):
            return Model.from_config(data["config"], custom_objects=custom_objects)
        if cls == "Sequential":
            model = models_module.Sequential.from_config(data["config"], custom_objects=custom_objects)
            build = data.get("build_config") or {}
            if not model.built and build.get("input_shape") and model._layers:
                model.build(tuple(build["input_shape"]))
            return model
    except (TypeError, KeyError, AttributeError, IndexError) as e:  # a malformed description
        raise ValueError(f"model_from_json: the model cannot be built: {type(e).__name__}: {e}") from None
    raise ValueError(f"model_from_json: cannot build a {cls!r} model; ranvier builds Sequential and "
                     f"functional (chain) models")


def model_from_sequential(seq, config: Dict[str, Any]) -> Model:
    """The functional ``Model`` of ``config`` (its ``get_config()``) over the layers of
    ``seq`` (a Sequential rebuilt from a model file): the same layer objects and weights."""
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list) or not config["layers"]:
        raise ValueError("the functional config must be an object with a non-empty 'layers' list")
    first = config["layers"][0]
    if not isinstance(first, dict) or first.get("class_name") != "InputLayer":
        raise ValueError("the functional config must start with its InputLayer")
    names = [e.get("name") for e in config["layers"][1:] if isinstance(e, dict)]
    if names != [l.name for l in seq._layers]:
        raise ValueError(f"the functional config lists layers {names}, the architecture {[l.name for l in seq._layers]}")
    in_cfg = dict(first.get("config") or {})
    x = InputLayer.from_config(in_cfg).output
    inp = x
    for layer in seq._layers:
        x = layer(x)
    spec = config.get("input_layers")
    ins = {k: inp for k in spec} if isinstance(spec, dict) else [inp] if isinstance(spec, list) and \
        spec and isinstance(spec[0], list) else inp
    spec = config.get("output_layers")
    outs = {k: x for k in spec} if isinstance(spec, dict) else [x] if isinstance(spec, list) and \
        spec and isinstance(spec[0], list) else x
    for layer in seq._layers:
        layer._owner_ref = layer._bound_to = None  # `seq` is dropped: the Model takes the layers
    return Model(ins, outs, name=config.get("name"), trainable=config.get("trainable", True))


layers_base.SYMBOLIC_HOOKS["to_json"] = to_json
