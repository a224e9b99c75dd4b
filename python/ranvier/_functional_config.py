"""The functional model's config, JSON and file helpers (``ranvier._functional``'s
``Model``): Keras's functional config read back into a chain (``model_from_config``),
``to_json`` / ``model_from_json``, and the ``Model`` of a ranvier model file
(``model_from_sequential``)."""
from __future__ import annotations

import importlib
import json
from typing import Any, Dict, List, Tuple

from . import _saving_common
from . import layers as layers_module
from .layers import _base as layers_base
from . import models as models_module
from ._functional import SUPPORTED, Model
from .layers._input import InputLayer, KerasTensor

__all__ = ["model_from_config", "to_json", "model_from_json", "model_from_sequential", "graph_config",
           "is_graph_config"]

_INVALID = "Invalid Functional model configuration"


def _tensor_entry(t, history) -> Dict[str, Any]:
    return {"class_name": "__keras_tensor__", "config": {"shape": list(t.shape), "dtype": t.dtype,
                                                         "keras_history": history}}


def _model_entry(obj) -> Dict[str, Any]:
    graph = importlib.import_module("ranvier._functional_graph")
    if isinstance(obj, Model):
        d: Dict[str, Any] = {"module": "keras.src.models.functional", "class_name": "Functional",
                             "config": obj.get_config(), "registered_name": "Functional"}
        if isinstance(obj, graph.Functional):
            d["build_config"] = {"input_shape": None}
    else:
        d = {"module": "keras", "class_name": "Sequential", "config": obj.get_config(), "registered_name": None}
        if obj.built:
            d["build_config"] = {"input_shape": list(obj.input_shape)}
    return d


def model_from_entry(entry: Dict[str, Any], custom_objects=None):
    """The model of a config entry for a model used as a layer (``_model_entry``'s dict)."""
    if entry.get("class_name") in ("Functional", "Model"):
        return model_from_config(Model, entry.get("config") or {}, custom_objects)
    obj = models_module.Sequential.from_config(entry.get("config") or {}, custom_objects=custom_objects)
    shape = (entry.get("build_config") or {}).get("input_shape")
    if not obj.built and shape and obj._layers:
        obj.build(tuple(shape))
    return obj


def graph_config(model) -> Dict[str, Any]:
    """Keras's functional config of a graph ``Functional``: the InputLayers, then each layer
    (or model used as a layer: one entry holding its whole config) with one inbound node per
    call in this model; ``input_layers`` / ``output_layers`` in the model's structures."""
    graph = importlib.import_module("ranvier._functional_graph")
    index = model._call_index()
    entries: List[Dict[str, Any]] = []
    inputs = {id(il) for il in model._input_layers}
    for obj in model._keras_layers:  # Keras's order (model.layers)
        if id(obj) in inputs:
            entries.append({"module": "keras.layers", "class_name": "InputLayer", "config": obj.get_config(),
                            "registered_name": None, "name": obj.name, "inbound_nodes": []})
            continue
        is_model = isinstance(obj, models_module.Sequential)
        d = _model_entry(obj) if is_model else layers_module.serialize(obj)
        d["name"] = obj.name
        inbound = []
        for node in model._nodes_of(obj):
            tensors = [_tensor_entry(t, model._history_triple(t, index)) for t in node.input_tensors]
            listed = len(tensors) > 1 or getattr(node, "list_call", False)
            kwargs: Dict[str, Any] = {"mask": None} if is_model else {}
            if node.arguments.get("training") is not None:
                kwargs["training"] = node.arguments["training"]
            inbound.append({"args": [tensors] if listed else tensors, "kwargs": kwargs})
        d["inbound_nodes"] = inbound
        entries.append(d)
    ins = graph.restructure([[il.name, 0, 0] for il in model._input_layers], model._inputs_struct[1])
    outs = graph.restructure([model._history_triple(t, index) for t in model._outputs_struct[0]],
                             model._outputs_struct[1])
    return {"name": model.name, "trainable": model.trainable, "layers": entries,
            "input_layers": ins, "output_layers": outs}


def _checked_history(h, name: str) -> List[Any]:
    """``[layer, node, tensor]`` of a keras_history, its indices non-negative ints."""
    if not isinstance(h[0], str) or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in h[1:3]):
        raise ValueError(f"{_INVALID}: layer '{name}' is called on {list(h)!r}, which is not [layer name, node "
                         f"index, tensor index]")
    return list(h[:3])


def _node_args(node, name: str) -> Tuple[List[List[Any]], bool, Dict[str, Any]]:
    """(keras_history triples, called on a list, kwargs) of one inbound node entry (Keras 3's
    ``{"args", "kwargs"}`` or the legacy ``[[name, node, tensor, kwargs], ...]``)."""
    if isinstance(node, list):
        hist, kw = [], {}
        for item in node:
            if not isinstance(item, list) or len(item) < 3:
                raise ValueError(f"{_INVALID}: layer '{name}' has a malformed inbound node {node!r}")
            hist.append(_checked_history(item, name))
            if len(item) > 3 and isinstance(item[3], dict):
                kw = item[3]
        return hist, len(hist) > 1, kw
    if not isinstance(node, dict) or not isinstance(node.get("args"), list):
        raise ValueError(f"{_INVALID}: layer '{name}' has a malformed inbound node {node!r}")
    args = node["args"]
    listed = len(args) == 1 and isinstance(args[0], list)
    items = args[0] if listed else args
    hist = []
    for a in items:
        h = (a.get("config") or {}).get("keras_history") if isinstance(a, dict) else None
        if not isinstance(h, (list, tuple)) or len(h) < 3 or not isinstance(h[0], str):
            raise ValueError(f"{_INVALID}: layer '{name}' is called on {a!r}, which is not a tensor reference")
        hist.append(_checked_history(h, name))
    kw = node.get("kwargs") or {}
    return hist, listed, kw if isinstance(kw, dict) else {}


def is_graph_config(config: Dict[str, Any]) -> bool:
    """Whether a functional config needs the graph path (not a plain chain of one-input calls)."""
    layers = config.get("layers") or []
    inputs = [e for e in layers if isinstance(e, dict) and e.get("class_name") == "InputLayer"]
    if len(inputs) != 1:
        return True
    for e in layers:
        if not isinstance(e, dict) or e.get("class_name") == "InputLayer":
            continue
        nodes = e.get("inbound_nodes") or []
        if len(nodes) != 1 or e.get("class_name") in ("Functional", "Model", "Sequential"):
            return True
        hist, listed, _ = _node_args(nodes[0], str(e.get("name")))
        if listed or len(hist) != 1:
            return True
    for key in ("input_layers", "output_layers"):
        spec = config.get(key)
        if isinstance(spec, dict) and len(spec) != 1:
            return True
        if isinstance(spec, list) and spec and isinstance(spec[0], list) and len(spec) != 1:
            return True
    return False


def _graph_from_config(cls, config: Dict[str, Any], custom_objects=None):
    """Replays a functional config's calls (Keras's ``functional_from_config``): every layer
    is created, then each layer's next call runs once the tensors it reads exist, until all
    ran; a call that can never run (a cycle, a missing layer or node) is a ValueError."""
    made: Dict[Tuple[str, int, int], Any] = {}
    pending: List[Tuple[Any, str, List[Any]]] = []
    names = set()
    for entry in config["layers"]:
        if not isinstance(entry, dict):
            raise ValueError(f"{_INVALID}: a layer entry must be a dict, got {entry!r}")
        name = entry.get("name") or (entry.get("config") or {}).get("name")
        if not isinstance(name, str):
            raise ValueError(f"{_INVALID}: a layer entry has no name")
        if name in names:
            raise ValueError(f"{_INVALID}: the layer name '{name}' is used twice")
        names.add(name)
        cname = entry.get("class_name")
        if cname == "InputLayer":
            il = InputLayer.from_config(dict(entry.get("config") or {}))
            made[(name, 0, 0)] = il.output
            continue
        obj: Any
        if cname in ("Functional", "Model", "Sequential"):
            obj = model_from_entry(entry, custom_objects)
        else:
            obj = layers_module.deserialize(entry, custom_objects=custom_objects)
        nodes = entry.get("inbound_nodes") or []
        if not isinstance(nodes, list):
            raise ValueError(f"{_INVALID}: layer '{name}' has inbound_nodes that are not a list")
        pending.append((obj, name, list(nodes)))
    counts = {name: 0 for _, name, _ in pending}
    progress = True
    while progress and any(nodes for _, _, nodes in pending):
        progress = False
        for obj, name, nodes in pending:
            while nodes:
                hist, listed, kw = _node_args(nodes[0], name)
                keys = [(h[0], int(h[1]), int(h[2])) for h in hist]
                if any(k not in made for k in keys):
                    break
                args = [made[k] for k in keys]
                training = kw.get("training")
                x = args if (listed or len(args) > 1) else args[0]
                result = obj(x, training=training) if training is not None else obj(x)
                flat = list(result.values()) if isinstance(result, dict) else (
                    list(result) if isinstance(result, (list, tuple)) else [result])
                if isinstance(result, dict):
                    flat = [result[k] for k in sorted(result)]
                for ti, t in enumerate(flat):
                    made[(name, counts[name], ti)] = t
                counts[name] += 1
                nodes.pop(0)
                progress = True
    stuck = [(name, nodes[0]) for _, name, nodes in pending if nodes]
    if stuck:
        raise ValueError(f"{_INVALID}: the call of layer '{stuck[0][0]}' on {stuck[0][1]!r} reads a tensor that no "
                         f"layer makes (a missing layer or node, or a cycle)")

    def resolve(spec):
        if isinstance(spec, dict):
            return {k: resolve(v) for k, v in spec.items()}
        if isinstance(spec, (list, tuple)) and len(spec) >= 3 and isinstance(spec[0], str):
            key = (spec[0], int(spec[1]), int(spec[2]))
            if key not in made:
                raise ValueError(f"{_INVALID}: no tensor {list(spec)} (layer, node, tensor)")
            return made[key]
        if isinstance(spec, (list, tuple)):
            return [resolve(s) for s in spec]
        raise ValueError(f"{_INVALID}: cannot read {spec!r} as a layer reference")

    return cls(resolve(config["input_layers"]), resolve(config["output_layers"]),
               name=config.get("name"), trainable=config.get("trainable", True))


def model_from_config(cls, config: Dict[str, Any], custom_objects=None) -> Model:
    """``cls.from_config(config)`` for Keras's functional config (``Model.from_config``)."""
    if not isinstance(config, dict) or not isinstance(config.get("layers"), list) \
            or "input_layers" not in config or "output_layers" not in config:
        raise ValueError("Model.from_config: expected Keras's functional config (a dict with 'layers', "
                         "'input_layers' and 'output_layers'); for a Sequential config use "
                         "Sequential.from_config")
    if is_graph_config(config):
        return _graph_from_config(cls, config, custom_objects)
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
    out["compile_config"] = model.get_compile_config()  # Keras writes it, {} before compile
    return json.dumps(json.loads(_saving_common.to_json(out, "the model's config")), **kwargs)


def model_from_json(json_string, custom_objects=None):
    """``keras.models.model_from_json``: the (newly initialized) model of
    ``model.to_json()``'s string; a ``Functional`` config gives a ``Model``, a
    ``Sequential`` one a ``Sequential``."""
    try:
        data = json.loads(json_string)
    except (TypeError, ValueError) as e:
        raise ValueError(f"model_from_json: not a JSON model description: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise ValueError("model_from_json: expected {'class_name': ..., 'config': {...}}")
    cls = data.get("class_name")
    model: Any = None
    try:
        if cls in ("Functional", "Model"):
            model = Model.from_config(data["config"], custom_objects=custom_objects)
        elif cls == "Sequential":
            model = models_module.Sequential.from_config(data["config"], custom_objects=custom_objects)
            build = data.get("build_config") or {}
            if not model.built and build.get("input_shape") and model._layers:
                model.build(tuple(build["input_shape"]))
    except (TypeError, KeyError, AttributeError, IndexError) as e:  # a malformed description
        raise ValueError(f"model_from_json: the model cannot be built: {type(e).__name__}: {e}") from None
    if model is None:
        raise ValueError(f"model_from_json: cannot build a {cls!r} model; ranvier builds Sequential and "
                         f"functional (chain) models")
    cc = data.get("compile_config")
    if isinstance(cc, dict) and cc:  # as Keras: a compile_config compiles the new model
        from . import _keras_format
        _keras_format.compile_from_config(model, cc, custom_objects)
    return model


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
