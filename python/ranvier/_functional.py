"""The functional API (``ranvier.Model(inputs, outputs)``) for chain-shaped graphs.

A layer called on a symbolic tensor (``ranvier.Input(shape)``, or another layer's output
on one) builds itself for that shape and returns a symbolic tensor of its output shape;
the call is recorded as a ``Node`` in the layer's ``_inbound_nodes`` and the output's
``_keras_history`` points at it, as in Keras. ``Model(inputs, outputs)`` walks these
histories from the output back to the input. When the graph is a chain (one input, one
output, each layer used once) the model is lowered onto the same C++ network as
``Sequential``: ``Model`` is a ``Sequential`` underneath (fit, evaluate, predict, the model
file, C/C++ apps, ONNX, sklearn and profile work unchanged) with Keras's functional
surface on top (``inputs``/``outputs``, ``layers`` with the ``InputLayer`` first, the
functional config layout, the summary row of the input).

A ``Sequential`` or chain ``Model`` added to a ``Sequential`` (``Sequential([model,
Softmax()])``) is inlined: the outer model's network holds the inner one's layer objects,
while ``layers``, ``get_layer``, ``pop``, the config and the summary show the model as one
entry, as Keras does (``Sequential._entries``). A model called on a symbolic tensor
(``model(x)``) makes the functional model a graph (``ranvier._functional_graph``), which
keeps it as one entry too. Such layers (and those of two models built from one graph) are bound to one
model's buffers at a time; a model whose layers another one took takes them back, with
their current weights, on its next use (``take_back``), so the weights are shared as in
Keras. Taking them back while the other model runs a call is refused.

What is not a chain (several inputs or outputs, merge layers, a layer used twice, a tensor
of another graph, subclassed models with a Python ``call``) is refused with an error that
names the input or layer. Reading configs and JSON back is in ``ranvier._functional_config``.
"""
from __future__ import annotations

import importlib
import weakref
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from . import _checks, _naming
from . import layers as layers_module
from . import models as models_module
from .models import MODEL_CLASSES, _SHARED_BINDING_LOCK
from .layers import _base as layers_base
from .layers._input import InputLayer, KerasTensor, Node

__all__ = ["Model"]

SUPPORTED = ("ranvier.Model (a chain of layers: one input, one output, each layer used once, what Sequential "
             "can hold; other graphs run as ranvier._functional_graph.Functional)")

SUBCLASS_MESSAGE = (
    "subclassed Models with a Python call() are not supported: ranvier runs the whole model in C++. Build "
    "the model with the functional API (ranvier.Model(inputs, outputs)) or Sequential")


def _describe(obj) -> str:
    return f"{type(obj).__name__} '{getattr(obj, 'name', '?')}'"


def _tensor_name(t) -> str:
    return getattr(t, "name", None) or repr(t)


# ----------------------------------------------------------------------------- calls
def _takes_list(obj) -> bool:
    """Whether ``obj`` is a layer called on a list of tensors (a merge layer)."""
    return hasattr(obj, "_num_inputs_ok") and not isinstance(obj, models_module.Sequential)


def _symbolic_dtype(obj) -> str:
    """The dtype of ``obj``'s symbolic output, as Keras 3 gives it: ``int64`` for the
    indices of a StringLookup / IntegerLookup (output_mode="int"), ``int32`` for those of a
    Discretization; ``float16`` for a layer computing under mixed_float16 (its outputs are
    half values, and predict returns them as float16); ``float32`` otherwise."""
    if getattr(obj, "output_mode", None) != "int":
        return "float16" if getattr(obj, "compute_dtype", None) == "float16" else "float32"
    names = {k.__name__ for k in type(obj).__mro__}
    if names & {"StringLookup", "IntegerLookup"}:
        return "int64"
    return "int32" if "Discretization" in names else "float32"


def call_symbolic(obj, x, training, kwargs: Dict[str, Any]):
    """``obj(x)`` for a symbolic ``x``: ``obj`` (a layer, or a model used as a layer) is
    built for ``x``'s shape(s) if needed, the call is recorded as a node, and the output is
    a symbolic tensor of ``obj``'s output shape (a model with several outputs returns them
    in its outputs' structure)."""
    kwargs = dict(kwargs)
    kwargs.pop("mask", None)
    if kwargs:
        raise TypeError(f"{type(obj).__name__}.__call__ got unexpected arguments {sorted(kwargs)}")
    graph = importlib.import_module("ranvier._functional_graph")
    if isinstance(obj, graph.Functional):
        return _call_graph_model(obj, x, training)
    if isinstance(x, dict):
        raise TypeError(f"{_describe(obj)} was called on a dict of tensors; only models take a dict of inputs")
    tensors = list(x) if isinstance(x, (list, tuple)) else [x]
    if not tensors or not all(layers_base._is_symbolic(t) for t in tensors):
        raise TypeError(f"{_describe(obj)} was called on a list that mixes symbolic tensors and data")
    multi = _takes_list(obj)
    if not multi and len(tensors) != 1:
        raise ValueError(
            f"{_describe(obj)} takes one input tensor, but it was called on {len(tensors)} tensors "
            f"({', '.join(_tensor_name(t) for t in tensors)}); to combine tensors use a merge layer "
            f"(Concatenate, Add, ...) first")
    if training is not None:
        training = layers_base.check_bool(training, "training")
        # Keras 3: a training= given when the graph is built is recorded in the node (and the
        # config) but fit / evaluate / predict pass their own mode, which wins: every layer
        # runs in the model's mode (training in fit, inference in evaluate/predict), as here
    if multi:
        if not isinstance(x, (list, tuple)):
            raise ValueError(f"A merge layer should be called on a list of inputs. {_describe(obj)} received: "
                             f"{_tensor_name(x)} (not a list of tensors)")
        if not obj._num_inputs_ok(len(tensors)):
            raise ValueError(f"{_describe(obj)} cannot be called on {len(tensors)} input(s) "
                             f"({', '.join(_tensor_name(t) for t in tensors)})")
        shapes = [tuple(t.shape) for t in tensors]
        if not obj.built:
            obj.build(shapes)
        out_shape = tuple(obj.compute_output_shape(shapes))
        inputs = tensors
    else:
        t = tensors[0]
        shape = tuple(t.shape)
        if isinstance(obj, models_module.Sequential):
            out_shape = _model_output_shape(obj, shape)
        else:
            out_shape = _layer_output_shape(obj, shape)
        inputs = [t]
    out = KerasTensor(out_shape, _symbolic_dtype(obj))
    nodes = obj.__dict__.setdefault("_inbound_nodes", [])
    node = Node(obj, inputs, [out], {} if training is None else {"training": bool(training)})
    node.list_call = isinstance(x, (list, tuple))
    nodes.append(node)
    out._keras_history = (obj, len(nodes) - 1, 0)
    return out


def _call_graph_model(model, x, training):
    """A graph functional model called on symbolic tensors (as a layer of another model):
    ``x`` matched to its inputs as data would be (one tensor, a list by position, a dict
    by name); the outputs come back in its outputs' structure."""
    if training is not None:  # recorded; the outer model's mode wins in fit/evaluate/predict (Keras 3)
        training = layers_base.check_bool(training, "training")
    parts = model._match(x, "input", "inputs", f"{_describe(model)}", strict_keys=True)
    for il, t in zip(model._input_layers, parts):
        if not layers_base._is_symbolic(t):
            raise TypeError(f"{_describe(model)} was called on a mix of symbolic tensors and data (input "
                            f"'{il.name}')")
        want = tuple(il.batch_shape[1:])
        if tuple(t.shape[1:]) != want:
            raise ValueError(f"{_describe(model)}: input '{il.name}' expects tensors of shape "
                             f"{(None,) + want}, but it was called on '{_tensor_name(t)}' of shape {tuple(t.shape)}")
    outs = [KerasTensor(tuple(s), "float32") for s in model._output_shapes()]
    nodes = model.__dict__.setdefault("_inbound_nodes", [])
    nodes.append(Node(model, list(parts), outs, {} if training is None else {"training": training}))
    for k, t in enumerate(outs):
        t._keras_history = (model, len(nodes) - 1, k)
    graph = importlib.import_module("ranvier._functional_graph")
    return graph.restructure(outs, model._outputs_struct[1])


def _layer_output_shape(layer, shape: tuple) -> tuple:
    if not layer.built:
        seq = models_module.Sequential
        if len(shape) > 2 and seq._elementwise(layer):  # e.g. Dropout on an Embedding's (None, seq, dim)
            layer.build((shape[0], seq._features_in(layer, shape)))
        else:
            layer.build(shape)
    else:
        core = getattr(layer, "_core_layer", None)
        want = models_module.Sequential._features_in(layer, shape)
        if core is not None and int(core.in_features) != want:
            raise ValueError(
                f"{_describe(layer)} was built for {int(core.in_features)} input features, but it was called on "
                f"a tensor of shape {shape} ({want} features)")
    return tuple(layer.compute_output_shape(shape))


def _model_output_shape(model, shape: tuple) -> tuple:
    if not model._layers:
        raise ValueError(f"{_describe(model)} has no layers: it cannot be called")
    if model._input_shape is None:
        model.build((None,) + shape[1:])
    elif tuple(model._input_shape[1:]) != tuple(shape[1:]):
        raise ValueError(
            f"{_describe(model)} expects inputs of shape {tuple(model._input_shape)}, but it was called on a "
            f"tensor of shape {shape}")
    return tuple(model.output_shape)


def sequential_graph(seq) -> Tuple[KerasTensor, KerasTensor]:
    """(input, output) symbolic tensors of a Sequential's layers, made once per structure
    (the layers' nodes from an earlier structure are dropped): Keras's ``inputs``/``outputs``
    of a Sequential, and each layer's ``.output``. AttributeError before the input shape
    is known, as in Keras."""
    if seq._input_shape is None or not seq._layers:
        raise AttributeError(f"Sequential '{seq.name}' has no defined inputs yet: start it with ranvier.Input(shape) "
                             f"(or build it), and give it layers")
    key = (tuple(id(l) for l in seq._layers), tuple(seq._input_shape))
    graph = seq.__dict__.get("_graph")
    if graph is not None and graph[0] == key:
        return graph[1], graph[2]
    old_nodes = graph[3] if graph is not None else []
    for layer in seq._layers:
        nodes = layer.__dict__.get("_inbound_nodes")
        if nodes and old_nodes:
            nodes[:] = [n for n in nodes if not any(n is o for o in old_nodes)]
    origin = seq.__dict__.get("_input_origin")
    if isinstance(origin, KerasTensor) and tuple(origin.shape) == tuple(seq._input_shape):
        inp = origin
    elif isinstance(origin, InputLayer) and tuple(origin.batch_shape) == tuple(seq._input_shape):
        inp = origin.output
    else:  # the InputLayer Keras's Sequential made when it was built (its name), else a new one
        inp = InputLayer(batch_shape=tuple(seq._input_shape), name=seq.__dict__.get("_implicit_input_name")).output
    x = inp
    made = []
    for layer in seq._layers:
        x = layer(x)
        made.append(layer._inbound_nodes[-1])
    seq._graph = (key, inp, x, made)
    return inp, x


# ----------------------------------------------------------------------------- nesting
def add_nested(outer, inner) -> None:
    """``outer.add(inner)`` for a model ``inner``: its layers are appended to ``outer``
    (the same objects, so they share their weights); all or nothing."""
    if inner is outer:
        raise ValueError(f"Sequential.add: model '{outer.name}' cannot be added to itself")
    if not isinstance(inner, models_module.Sequential):
        raise TypeError(f"Sequential.add: expected a ranvier layer or model, got {type(inner).__name__}")
    if not inner._layers:
        raise ValueError(f"Sequential.add: model '{inner.name}' has no layers")
    if hasattr(inner, "_gnodes"):  # a graph (ranvier._functional_graph.Functional)
        raise ValueError(
            f"Sequential.add: model '{inner.name}' is a functional graph (several inputs or outputs, merge layers "
            f"or a layer called twice), which a Sequential's chain cannot hold; use it in a functional model "
            f"instead: x = ranvier.Input(shape); y = Dense(...)({inner.name}(x)); ranvier.Model(x, y)")
    running = next(iter(list(inner._active.values())), None)
    if running is not None:
        raise RuntimeError(f"Sequential.add: model '{inner.name}' is running {running[0]}; nest it after that "
                           f"call returns")
    saved = (len(outer._layers), outer._input_shape)
    layers = list(inner._layers)
    try:
        if not outer._layers and outer._input_shape is None and inner._input_shape is not None:
            outer._input_shape = tuple(inner._input_shape)
        for layer in layers:
            layer._graph_shared = True
        # appended without a build each, then built once (as from_config does)
        shape = outer._input_shape
        outer._input_shape = None
        try:
            for layer in layers:
                outer.add(layer)
        finally:
            outer._input_shape = shape
        if shape is not None:
            outer._invalidate()
            outer._build_layers()
        # Keras's `layers` lists the model as one entry (Sequential._entries)
        outer.__dict__.setdefault("_nested_groups", []).append((inner, tuple(layers)))
    except BaseException:
        del outer._layers[saved[0]:]
        outer._input_shape = saved[1]
        outer._invalidate()
        if outer._input_shape is not None and outer._layers:
            outer._build_layers()
        raise


def take_back(model) -> None:
    """Rebinds ``model``'s layers to its own buffers (copying their current weights in)
    after another model that shares them (see the module doc) used them."""
    with _SHARED_BINDING_LOCK:
        if not model._lent:
            return
        if model._net_obj is None:
            model._lent = False
            return
        others = []
        for layer in model._layers:
            ref = getattr(layer, "_bound_to", None)
            other = ref() if ref is not None else None
            if other is not None and other is not model and other not in others:
                others.append(other)
        for other in others:
            other._lent = True  # first: a call of `other` starting now takes them back in turn
        for other in others:
            running = next(iter(list(other._active.values())), None)
            if running is not None:
                raise RuntimeError(
                    f"model '{model.name}' shares layers with model '{other.name}' (nested in it, or built from "
                    f"the same graph), which is running {running[0]}; shared layers run in one model at a "
                    f"time: use '{model.name}' after that call returns")
        if getattr(model, "_trainable_signature", None) != model._trainable_state():
            model._build_layers()  # `trainable` changed meanwhile: a new network, as at compile
            return
        for layer, (params, grads) in zip(model._layers, model._layer_storage):
            if len(layer._params) != len(params) or any(a is not b for a, b in zip(layer._params, params)):
                layer._adopt_storage(params, grads)
            layer._bound_to = layer._owner_ref = weakref.ref(model)
        model._lent = False


# ----------------------------------------------------------------------------- Model
def check_model_arguments(inputs, outputs, name, trainable, kwargs: Dict[str, Any]) -> bool:
    """``ranvier.Model(inputs, outputs, name, trainable)``'s argument checks (the chain and the
    graph model alike); returns ``trainable`` as a bool."""
    if kwargs:
        raise TypeError(f"ranvier.Model got unexpected arguments: {', '.join(sorted(kwargs))}")
    if (inputs is None) != (outputs is None):  # Keras: a ValueError naming the missing one
        missing = "outputs" if outputs is None else "inputs"
        raise ValueError(f"ranvier.Model: All `{missing}` values must be KerasTensors. Received: {missing}=None")
    if inputs is None or outputs is None:
        raise TypeError(f"ranvier.Model needs inputs and outputs (ranvier.Model(inputs, outputs)); "
                        f"{SUBCLASS_MESSAGE}")
    if name is not None and (not isinstance(name, str) or not name):
        raise ValueError(f"ranvier.Model: name must be a non-empty string, got name={name!r}")
    return layers_base.check_bool(trainable, "trainable")


def _flatten_io(value, what: str) -> Tuple[List[Any], Any]:
    """(tensors, structure kind) of Keras's inputs/outputs argument: a tensor, a list/tuple
    or a dict."""
    if isinstance(value, dict):
        items = list(value.values())
        kind: Any = ("dict", list(value.keys()))
    elif isinstance(value, (list, tuple)):
        items = list(value)
        kind = ("list", None)
    else:
        items = [value]
        kind = ("single", None)
    for i, t in enumerate(items):
        if not isinstance(t, KerasTensor):
            raise ValueError(f"ranvier.Model: all `{what}` values must be KerasTensors (from ranvier.Input, or a layer "
                             f"called on one), got {type(t).__name__}" + (f" at position {i}" if len(items) > 1 else ""))
    if not items:
        raise ValueError(f"ranvier.Model: {what} is empty")
    if len(items) > 1:
        names = ", ".join(f"'{_tensor_name(t)}'" for t in items)
        raise ValueError(f"{SUPPORTED}: the model has {len(items)} {what} ({names})")
    return items, kind


def _walk(input_t: KerasTensor, output_t: KerasTensor) -> List[Any]:
    """The layers (and models used as layers) from ``input_t`` to ``output_t``, in order."""
    chain: List[Any] = []
    seen: Dict[int, Any] = {}
    t = output_t
    while True:
        h = t._keras_history
        if h is None:
            raise ValueError(f"ranvier.Model: tensor '{_tensor_name(t)}' was not made by ranvier.Input or by a "
                             f"layer called on one")
        obj, node_index, _ = h
        if isinstance(obj, InputLayer) or t is input_t:
            break
        node = obj._inbound_nodes[node_index]
        if id(obj) in seen:
            raise ValueError(f"{SUPPORTED}: {_describe(obj)} is used twice in the graph from "
                             f"'{_tensor_name(input_t)}' to '{_tensor_name(output_t)}'")
        seen[id(obj)] = obj
        chain.append(obj)
        if len(node.input_tensors) != 1:
            raise ValueError(f"{SUPPORTED}: {_describe(obj)} takes {len(node.input_tensors)} inputs")
        t = node.input_tensors[0]
    if t is not input_t:
        raise ValueError(
            f"ranvier.Model: the output '{_tensor_name(output_t)}' does not depend on the input "
            f"'{_tensor_name(input_t)}': it was computed from the input '{_tensor_name(t)}' (a disconnected input, "
            f"or a tensor of another model's graph). Pass the Input the outputs were computed from")
    chain.reverse()
    return chain


def _defines_call(cls) -> bool:
    for klass in cls.__mro__:
        if klass is Model:
            return False
        if "call" in vars(klass):
            return True
    return False


class Model(models_module.Sequential):
    """``keras.Model(inputs, outputs, name=None, trainable=True)``: a model of the layers
    between ``inputs`` (from ``ranvier.Input``) and ``outputs`` (a layer's output on them).

    ``inputs``/``outputs``: a tensor, a list of one or a dict of one (Keras's structures).
    The graph must be a chain (see ``ranvier._functional``); the model then runs on the
    same C++ network as the equivalent ``Sequential``, with everything it has. A
    subclassed Model with a Python ``call`` is refused (NotImplementedError)."""

    _keras_functional = True  # Keras's Functional: its inputs define its build (get_build_config)

    def __new__(cls, *args, **kwargs):
        if _defines_call(cls):
            raise NotImplementedError(f"{cls.__name__}: {SUBCLASS_MESSAGE}")
        if cls is Model:  # a graph that is not a chain: a Functional (ranvier._functional_graph)
            inputs = args[0] if args else kwargs.get("inputs")
            outputs = args[1] if len(args) > 1 else kwargs.get("outputs")
            if inputs is not None and outputs is not None:
                graph = importlib.import_module("ranvier._functional_graph")
                ins, _ = graph.flatten_struct(inputs, "inputs")
                outs, _ = graph.flatten_struct(outputs, "outputs")
                if not graph.is_chain(ins, outs, graph.collect(ins, outs)):
                    cls = graph.Functional
        return super().__new__(cls)

    def __init__(self, inputs=None, outputs=None, name: Optional[str] = None, trainable: bool = True,
                 **kwargs):
        trainable = check_model_arguments(inputs, outputs, name, trainable, kwargs)
        ins, in_kind = _flatten_io(inputs, "inputs")
        outs, out_kind = _flatten_io(outputs, "outputs")
        input_t, output_t = ins[0], outs[0]
        chain = _walk(input_t, output_t)
        input_layer = input_t.input_layer
        if input_layer is None:  # an intermediate tensor as the input (Keras clones the graph from it)
            input_layer = InputLayer(batch_shape=tuple(input_t.shape))
        layers: List[Any] = []
        for obj in chain:
            layers.extend(obj._layers if isinstance(obj, models_module.Sequential) else [obj])
        names: Dict[str, int] = {}
        for layer in [input_layer] + layers:
            names[layer.name] = names.get(layer.name, 0) + 1
        dup = [n for n, c in names.items() if c > 1]
        if dup:
            raise ValueError(f"ranvier.Model: the name '{dup[0]}' is used {names[dup[0]]} times in the model; all "
                             f"layer names must be unique")
        super().__init__(name=name or _naming.uniquify("functional"), trainable=trainable)
        self._input_layer = input_layer
        self._inputs_struct = (ins, in_kind)
        self._outputs_struct = (outs, out_kind)
        if not layers:
            raise ValueError(f"ranvier.Model: the output '{_tensor_name(output_t)}' is the input itself; a ranvier "
                             f"model needs at least one layer (Keras would return the input unchanged): for a model "
                             f"that returns its input, use layers.Identity()(input) as the output")
        for layer in layers:
            layers_base.check_runnable_layer(layer)
        importlib.import_module("ranvier._functional_graph").check_raw_input_dtype(input_layer, layers[0])
        for layer in layers:  # layers of a graph are shared, as in Keras (see the module doc)
            layer._graph_shared = True
        self._layers = layers
        self._input_shape = (None,) + tuple(input_layer.batch_shape[1:])
        self._build_layers()

    def _declared_input(self) -> Tuple[str, str]:
        """``(dtype, name)`` of the model's ``InputLayer`` (Sequential's ``_input_rows`` holds
        x's values to an integer or bool dtype)."""
        return self._input_layer.input_dtype, self._input_layer.name

    # ---- Keras's functional surface
    @property
    def layers(self) -> List[Any]:
        """The layers in order, the ``InputLayer`` first (as Keras lists a functional
        model's layers); models used as layers appear inlined."""
        return [self._input_layer] + list(self._layers)

    def get_layer(self, name: Optional[str] = None, index: Optional[int] = None):
        """The layer at ``index`` of ``layers`` (the InputLayer is index 0), or the one named
        ``name``; ValueError when neither or both are given, or nothing matches."""
        if name is not None and index is not None:
            raise ValueError(f"get_layer: provide only a layer name or a layer index, got name={name!r} and "
                             f"index={index!r}")
        layers = self.layers
        if index is not None:
            if not isinstance(index, int) or isinstance(index, bool):
                raise TypeError(f"get_layer: index must be an int, got {index!r}")
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"get_layer: was asked to retrieve layer at index {index} but model only has "
                                 f"{len(layers)} layers")
            return layers[index]
        if name is None:
            raise ValueError("get_layer: provide either a layer name or a layer index")
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"get_layer: no such layer: {name}. Existing layers are: {[l.name for l in layers]}")

    @staticmethod
    def _restructure(tensors: List[Any], kind) -> Any:
        if kind[0] == "dict":
            return dict(zip(kind[1], tensors))
        if kind[0] == "list":
            return list(tensors)
        return tensors[0]

    @property
    def inputs(self) -> List[KerasTensor]:
        """The input tensors, as a flat list (dict inputs in sorted-key order)."""
        return list(self._inputs_struct[0])

    @property
    def outputs(self) -> List[KerasTensor]:
        """The output tensors, as a flat list (dict outputs in sorted-key order)."""
        return list(self._outputs_struct[0])

    @property
    def input(self) -> Any:
        """The inputs in the structure they were given in (a tensor, list or dict)."""
        return self._restructure(*self._inputs_struct)

    @property
    def output(self) -> Any:
        """The outputs in the structure they were given in (a tensor, list or dict)."""
        return self._restructure(*self._outputs_struct)

    @property
    def output_names(self) -> List[str]:
        """Keras's ``output_names``: the name of the layer that makes each output."""
        return [self._layers[-1].name]

    @property
    def input_shape(self):
        """The input's shape, batch first (the ``Input``'s ``batch_shape``)."""
        return tuple(self._input_layer.batch_shape)

    @property
    def output_shape(self):
        """The output's shape, batch first."""
        shape = self._input_shape
        for layer in self._layers:
            shape = layer.compute_output_shape(shape)
        return tuple(shape)

    # ---- data in the structure of the inputs/outputs (a dict keyed by name, a list of one)
    def _unwrap(self, value, which: str, name: str, what: str):
        """``value`` for the model's single input (``which="input"``) or output: a dict
        keyed by the Input's (or output layer's) name or by the key the model was built
        with, or a list/tuple of one array, gives that array; anything else is returned as
        it is."""
        if isinstance(value, dict):
            if which == "input":
                own, kind = self._input_layer.name, self._inputs_struct[1]
            else:
                own, kind = self._layers[-1].name, self._outputs_struct[1]
            accepted = [own] + [k for k in (kind[1] or []) if k != own]
            keys = list(value)
            if which == "input":  # Keras: matched by the Input's name (or the model's key); others ignored
                for k in accepted:
                    if k in value:
                        return self._adjust_rank(value[k])
                raise ValueError(f'{what}: Missing data for input "{accepted[0]}" of model \'{self.name}\'. Expected '
                                 f"the following keys: {accepted}. Received: {name}.keys()={keys}")
            if len(keys) == 1 and keys[0] in accepted:
                return value[keys[0]]
            raise ValueError(
                f"{what}: {name} is a dict with keys {keys}, but model '{self.name}' has one {which}, named "
                f"{' or '.join(repr(k) for k in accepted)}")
        if isinstance(value, (list, tuple)) and len(value) == 1 and hasattr(value[0], "shape") \
                and hasattr(value[0], "dtype"):
            value = value[0]
        return self._adjust_rank(value) if which == "input" else value

    def _adjust_rank(self, value):
        """Keras's rank adaptation: data of the Input's rank + 1 whose last dimension is 1 is
        squeezed (rank - 1 with a last dimension of 1 is what Sequential already takes)."""
        shape = getattr(value, "shape", None)
        if isinstance(value, np.ndarray) and shape is not None and len(shape) == len(self._input_shape) + 1 \
                and shape[-1] == 1:
            return value.reshape(shape[:-1])
        return value

    def _unwrap_xy(self, x, y, what: str):
        return self._unwrap(x, "input", "x", what), self._unwrap(y, "output", "y", what)

    def _unwrap_sample_weight(self, kwargs: Dict[str, Any], what: str) -> None:
        sw = kwargs.get("sample_weight")
        if isinstance(sw, (dict, list, tuple)):  # per output, as Keras takes it
            kwargs["sample_weight"] = self._unwrap(sw, "output", "sample_weight", what)

    def fit(self, x=None, y=None, *args, **kwargs):
        """``Sequential.fit``; ``x``/``y`` (and ``validation_data``'s) may also be given in the
        structure of the model's inputs/outputs: a dict keyed by name, or a list of one."""
        x, y = self._unwrap_xy(x, y, "fit")
        self._unwrap_sample_weight(kwargs, "fit")
        val = kwargs.get("validation_data")
        if isinstance(val, (tuple, list)) and len(val) in (2, 3):
            vx, vy = self._unwrap_xy(val[0], val[1], "fit")
            kwargs["validation_data"] = (vx, vy) + tuple(val[2:])
        return super().fit(x, y, *args, **kwargs)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """``Sequential.evaluate``; ``x``/``y`` may be in the inputs'/outputs' structure."""
        x, y = self._unwrap_xy(x, y, "evaluate")
        self._unwrap_sample_weight(kwargs, "evaluate")
        return super().evaluate(x, y, *args, **kwargs)

    def predict(self, x, *args, **kwargs):
        """``Sequential.predict``; ``x`` may be in the inputs' structure."""
        return super().predict(self._unwrap(x, "input", "x", "predict"), *args, **kwargs)

    def predict_on_batch(self, x):
        """``Sequential.predict_on_batch``; ``x`` may be in the inputs' structure."""
        return super().predict_on_batch(self._unwrap(x, "input", "x", "predict_on_batch"))

    def train_on_batch(self, x, y=None, *args, **kwargs):
        """``Sequential.train_on_batch``; ``x``/``y`` may be in the inputs'/outputs' structure."""
        x, y = self._unwrap_xy(x, y, "train_on_batch")
        self._unwrap_sample_weight(kwargs, "train_on_batch")
        return super().train_on_batch(x, y, *args, **kwargs)

    def test_on_batch(self, x, y=None, *args, **kwargs):
        """``Sequential.test_on_batch``; ``x``/``y`` may be in the inputs'/outputs' structure."""
        x, y = self._unwrap_xy(x, y, "test_on_batch")
        self._unwrap_sample_weight(kwargs, "test_on_batch")
        return super().test_on_batch(x, y, *args, **kwargs)

    def __call__(self, x, training=None):
        """``Sequential.__call__``; ``x`` may be in the inputs' structure."""
        return super().__call__(self._unwrap(x, "input", "x", "call"), training=training)

    def add(self, layer) -> None:
        """Not available: a functional model's graph is fixed (Keras's ``Model`` has no ``add``)."""
        raise AttributeError("'Model' object has no attribute 'add': a functional model's layers come from its "
                             "graph; build a new ranvier.Model, or use Sequential")

    def pop(self):
        """Not available: a functional model's graph is fixed."""
        raise AttributeError("'Model' object has no attribute 'pop': a functional model's layers come from its "
                             "graph; build a new ranvier.Model(inputs, outputs) without the layer")

    # ---- summary
    def _summary_rows(self) -> List[List[str]]:
        """Keras's table for a chain-shaped functional model: the ``InputLayer`` row first,
        then each layer (a chain has no "Connected to" column in Keras, as Sequential)."""
        shape = "(" + ", ".join("None" if d is None else str(d) for d in self.input_shape) + ")"
        return [[f"{self._input_layer.name} (InputLayer)", shape, "0"]] + super()._summary_rows()

    # ---- config
    def _weight_path(self, name: str) -> str:  # layers built outside the model: no model scope
        return name

    def get_config(self) -> Dict[str, Any]:
        """Keras's functional config: ``name``, ``trainable``, ``layers`` (each a layer dict
        with its ``name`` and ``inbound_nodes``, the InputLayer first), ``input_layers`` and
        ``output_layers`` in the structure the model was given."""
        il = self._input_layer
        entries: List[Dict[str, Any]] = [{
            "module": "keras.layers", "class_name": "InputLayer", "config": il.get_config(),
            "registered_name": None, "name": il.name, "inbound_nodes": []}]
        prev, shape, dtype = il.name, tuple(il.batch_shape), "float32"
        for layer in self._layers:
            d = layers_module.serialize(layer)
            d["name"] = layer.name
            kwargs = {}
            for node in getattr(layer, "_inbound_nodes", None) or []:
                if node.arguments.get("training") is not None:
                    kwargs["training"] = node.arguments["training"]
            d["inbound_nodes"] = [{"args": [{"class_name": "__keras_tensor__", "config": {
                "shape": list(shape), "dtype": dtype, "keras_history": [prev, 0, 0]}}], "kwargs": kwargs}]
            entries.append(d)
            prev, shape = layer.name, tuple(layer.compute_output_shape(shape))
            dtype = "float16" if getattr(layer, "compute_dtype", None) == "float16" else "float32"  # mixed_float16
        ins = self._restructure([[il.name, 0, 0]], self._inputs_struct[1])
        outs = self._restructure([[self._layers[-1].name, 0, 0]], self._outputs_struct[1])
        return {"name": self.name, "trainable": self.trainable, "layers": entries,
                "input_layers": ins, "output_layers": outs}

    @classmethod
    def from_config(cls, config: Dict[str, Any], custom_objects=None) -> "Model":
        """Rebuilds a model from ``get_config()``'s functional dict (Keras's layout; a chain
        only). Layers are matched by the ``keras_history`` of their inbound nodes."""
        return _CONFIG["model_from_config"](cls, config, custom_objects)

    @classmethod
    def from_sequential(cls, seq, config: Dict[str, Any]) -> "Model":
        """The functional ``Model`` of ``config`` (a ``get_config()`` dict) over the layers
        of the Sequential ``seq`` (the same layer objects and weights; ``seq`` gives them up):
        how a model file's loader rebuilds a ``Model`` from the Sequential architecture the
        file holds beside the functional config. ValueError when they do not match."""
        return _CONFIG["model_from_sequential"](seq, config)

    def _save_state(self, include_optimizer: bool = True) -> Dict[str, Any]:
        """The saving protocol (see ``SavingMixin._save_state``): the architecture is the
        equivalent Sequential's (what the C and C++ loaders run), and ``functional_config``
        (this model's ``get_config()``, Keras's ``Functional`` layout) is beside it."""
        state = super()._save_state(include_optimizer)
        state["class_name"] = "Sequential"
        state["config"] = models_module.Sequential.get_config(self)
        state["functional_config"] = self.get_config()
        return state


MODEL_CLASSES["Functional"] = Model
MODEL_CLASSES["Model"] = Model
layers_base.SYMBOLIC_HOOKS.update(call_symbolic=call_symbolic, sequential_graph=sequential_graph,
                                  add_nested=add_nested, take_back=take_back,
                                  model_entry=lambda m: _config_fn("_model_entry")(m),
                                  model_from_entry=lambda e, c: _config_fn("model_from_entry")(e, c))
# The config readers live in ranvier._functional_config, which imports this module: loaded
# by name here (so the import graph stays acyclic), they are in _CONFIG from then on.
_CONFIG = importlib.import_module("ranvier._functional_config").__dict__


def _config_fn(name: str) -> Any:
    return _CONFIG[name]
