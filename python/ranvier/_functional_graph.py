"""Functional models that are not chains: several inputs or outputs, merge layers, a layer
called twice, models used as layers inside a graph. ``ranvier.Model(inputs, outputs)``
returns a ``Functional`` (a subclass of ``Model``) for such a graph; chains keep the
lowered path of ``ranvier._functional``.

Building: the symbolic history of the outputs is walked back to the inputs
(``collect``), giving the calls (``Node``) in topological order; each call is then
*expanded* into leaf nodes (``GNode``: one C++ layer on tensor keys). A ``Sequential`` or
chain ``Model`` used as a layer expands to its layers in order, a nested ``Functional`` to
its own leaf nodes (so nesting costs nothing at run time). The leaf nodes go to the C++
DAG network (``Network.add_input`` / ``add_node`` / ``set_outputs``): a layer object that
appears in several leaf nodes (called twice, or through a model called twice) gets a
second C++ core bound to the first node's weights (``shares_with``), as Keras shares the
weights of a layer called twice.

The weights: ``_layers`` lists each leaf layer once, in the order of its first node;
their storage is the network's flat buffers, as for ``Sequential`` (layers shared with
another model are taken back in turn, see ``ranvier._functional.take_back``).

Running (matching x/y to the inputs/outputs, per-output losses and metrics, the log keys)
is in ``ranvier._functional_run``; the config in ``ranvier._functional_config``.
"""
from __future__ import annotations

import weakref
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from . import _core, _naming
from . import models as models_module
from .layers import _base as layers_base
from .layers._input import InputLayer, KerasTensor
from ._functional import Model, _describe, _tensor_name, check_model_arguments
from ._functional_cores import second_core
from ._functional_run import FunctionalRunMixin
from .models._summary import shape_text

__all__ = ["Functional", "GNode", "collect", "is_chain"]


class GNode:
    """One leaf node: ``layer`` (a ranvier layer) on the tensors ``inputs`` (keys), making
    ``output`` (a key); ``top`` is the index of the top-level call it comes from."""

    __slots__ = ("layer", "inputs", "output", "top")

    def __init__(self, layer, inputs: List[int], output: int, top: int):
        self.layer, self.inputs, self.output, self.top = layer, list(inputs), output, top


def _is_model(obj) -> bool:
    return isinstance(obj, models_module.Sequential)


def flatten_struct(value, what: str) -> Tuple[List[Any], Tuple[Any, ...]]:
    """(tensors, structure) of Keras's ``inputs``/``outputs`` argument: a tensor, a list or
    tuple, or a dict (flattened in sorted-key order, as Keras's ``tree.flatten``)."""
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                raise ValueError(f"ranvier.Model: the keys of a dict of {what} must be strings (the names of the "
                                 f"{what}), got {k!r}")
        keys = sorted(value)
        items = [value[k] for k in keys]
        # the flat order is the sorted keys; the dict's own order is kept for what is built
        # back in its structure (predict's dict, the config's input_layers), as Keras does
        kind: Tuple[Any, ...] = ("dict", keys, list(value))
    elif isinstance(value, (list, tuple)):
        items, kind = list(value), ("list", None)
    else:
        items, kind = [value], ("single", None)
    if not items:
        raise ValueError(f"ranvier.Model: {what} is empty")
    for i, t in enumerate(items):
        if not isinstance(t, KerasTensor):
            where = f" ({'key ' + repr(kind[1][i]) if kind[1] else 'position ' + str(i)})" if len(items) > 1 else ""
            raise ValueError(f"ranvier.Model: all `{what}` values must be KerasTensors (from ranvier.Input, or a "
                             f"layer called on one), got {type(t).__name__}{where}")
    seen: Dict[int, int] = {}
    for i, t in enumerate(items):
        if what == "inputs" and id(t) in seen:
            raise ValueError(f"ranvier.Model: the input '{_tensor_name(t)}' is given twice in inputs")
        seen[id(t)] = i
    return items, kind


def restructure(items: Sequence[Any], kind) -> Any:
    """``items`` (one per flat input/output) in the structure ``kind`` of ``flatten_struct``."""
    if kind[0] == "dict":
        flat = dict(zip(kind[1], items))
        return {k: flat[k] for k in kind[2]} if len(kind) > 2 else flat
    if kind[0] == "list":
        return list(items)
    return items[0]


def collect(ins: List[KerasTensor], outs: List[KerasTensor]) -> List[Tuple[Any, int, Any]]:
    """The calls ``(obj, node_index, node)`` between ``ins`` and ``outs`` in topological
    order (each once). ValueError naming the tensor, layer or input when an output depends
    on an Input that is not among ``ins`` (a disconnected input, or a tensor of another
    model's graph), when a tensor was not made by a layer call, or when an input is not used
    by any output."""
    input_ids = {id(t) for t in ins}
    done: Dict[int, bool] = {}
    order: List[Tuple[Any, int, Any]] = []
    used = set()
    for out in outs:
        stack: List[Tuple[KerasTensor, bool, Optional[KerasTensor]]] = [(out, False, None)]
        while stack:
            t, expanded, consumer = stack.pop()
            if id(t) in input_ids:
                used.add(id(t))
                continue
            h = t._keras_history
            if h is None:
                raise ValueError(f"ranvier.Model: tensor '{_tensor_name(t)}' was not made by ranvier.Input or by a "
                                 f"layer called on one")
            obj, ni, _ = h
            if isinstance(obj, InputLayer):
                by = f" (used by {_describe(consumer)})" if consumer is not None else ""
                given = ", ".join(f"'{_tensor_name(x)}'" for x in ins)
                raise ValueError(
                    f"ranvier.Model: the output '{_tensor_name(out)}' depends on the input '{obj.name}'{by}, "
                    f"which is not among the model's inputs ({given}): a disconnected input, or a tensor of "
                    f"another model's graph. Pass every Input the outputs were computed from")
            nodes = getattr(obj, "_inbound_nodes", None) or []
            if ni >= len(nodes):
                raise ValueError(f"ranvier.Model: tensor '{_tensor_name(t)}' refers to a call of {_describe(obj)} "
                                 f"that no longer exists")
            node = nodes[ni]
            if id(node) in done:
                continue
            if expanded:
                done[id(node)] = True
                order.append((obj, ni, node))
                continue
            stack.append((t, True, consumer))
            for x in reversed(node.input_tensors):
                stack.append((x, False, obj))
    for t in ins:
        if id(t) not in used:
            raise ValueError(f"ranvier.Model: no output depends on the input '{_input_name(t)}': every input "
                             f"must be used by some output (remove it from inputs, or connect it)")
    return order


def keras_order(ins: List[KerasTensor], outs: List[KerasTensor], input_layers: List[Any]) -> List[Any]:
    """Keras's order of a functional model's layers (``keras/src/ops/function.py``
    ``map_graph``): by depth (distance to the outputs) decreasing, ties by the order in which a
    depth-first walk from the outputs first reached each layer; InputLayers included."""
    input_ids = {id(t): il for t, il in zip(ins, input_layers)}
    op_index: Dict[int, int] = {}
    ops: Dict[int, Any] = {}
    entered = set()
    post: List[Tuple[Any, Any, List[Any]]] = []  # (op, node key, parent node keys), finish order
    for out in outs:
        stack: List[Tuple[KerasTensor, bool]] = [(out, False)]
        while stack:
            t, done = stack.pop()
            key: Any
            if id(t) in input_ids:
                op, key, parents = input_ids[id(t)], ("in", id(t)), []
            else:
                h: Any = t._keras_history
                op, ni, _ = h
                node = op._inbound_nodes[ni]
                key, parents = id(node), node.input_tensors
            if done:
                post.append((op, key, [("in", id(x)) if id(x) in input_ids else id(x._keras_history[0]._inbound_nodes[
                    x._keras_history[1]]) for x in parents]))
                continue
            if key in entered:
                continue
            entered.add(key)
            if id(op) not in op_index:
                op_index[id(op)] = len(op_index)
                ops[id(op)] = op
            stack.append((t, True))
            for x in reversed(parents):
                stack.append((x, False))
    node_depth: Dict[Any, int] = {}
    op_depth: Dict[int, int] = {}
    for op, key, parents in reversed(post):
        depth = max(node_depth.setdefault(key, 0), op_depth.get(id(op), 0))
        op_depth[id(op)] = depth
        node_depth[key] = depth
        for p in parents:
            node_depth[p] = max(depth + 1, node_depth.get(p, 0))
    for il in input_layers:
        if id(il) not in op_depth:
            op_depth[id(il)], op_index[id(il)], ops[id(il)] = 0, -1, il
    return sorted(ops.values(), key=lambda o: (-op_depth[id(o)], op_index[id(o)]))


def _input_name(t: KerasTensor) -> str:
    layer = t.input_layer
    return layer.name if layer is not None else _tensor_name(t)


def check_raw_input_dtype(input_layer, layer) -> None:
    """An Input declared as strings feeds a StringLookup, and a StringLookup takes an Input
    declared as strings (Keras cannot run either mismatch: it casts the data to the Input's
    dtype first). ValueError naming the input, its dtype and the layer."""
    dtype = str(getattr(input_layer, "dtype", "float32") or "float32")
    takes = getattr(layer, "_raw_input_dtype", None) if callable(getattr(layer, "_encode_raw_input", None)) else None
    what = f"{type(layer).__name__} '{layer.name}'"
    if takes == "string" and dtype != "string":
        raise ValueError(f"ranvier.Model: input '{input_layer.name}' (dtype {dtype}) feeds {what}, which takes "
                         f"strings: declare the input with dtype='string' (ranvier.Input(shape, dtype='string'))")
    if dtype == "string" and takes != "string":
        kind = "integer keys" if takes else "numbers"
        raise ValueError(f"ranvier.Model: input '{input_layer.name}' has dtype string, but it feeds {what}, which "
                         f"takes {kind}: raw strings can only feed a StringLookup")


def is_chain(ins: List[KerasTensor], outs: List[KerasTensor], order, models: bool = False) -> bool:
    """Whether the graph is what the lowered (Sequential) path runs: one input, one output,
    each call on one tensor, a layer used once, the calls in a line. A model used as a
    layer is not lowered (the graph keeps it as one entry of ``layers``, its config and
    its summary row, as Keras); ``models=True`` accepts chain models used once (Keras's
    "sequential-like" test of the summary)."""
    if len(ins) != 1 or len(outs) != 1:
        return False
    seen = set()
    prev = ins[0]
    for obj, _, node in order:
        if (_is_model(obj) and not models) or isinstance(obj, Functional) or len(node.input_tensors) != 1 \
                or len(node.output_tensors) != 1:
            return False
        if getattr(obj, "_is_multi_input", False):
            return False
        inner = obj._layers if _is_model(obj) else [obj]
        for layer in inner:
            if id(layer) in seen:
                return False
            seen.add(id(layer))
        if node.input_tensors[0] is not prev:
            return False
        prev = node.output_tensors[0]
    return prev is outs[0]


def _width(shape) -> int:
    dims = tuple(shape)[1:]
    if any(d is None for d in dims):
        raise ValueError(f"ranvier.Model: tensors need known dimensions besides the batch, got shape {tuple(shape)}")
    return int(np.prod([int(d) for d in dims], dtype=np.int64)) if dims else 1


def _in_shapes_of(node) -> List[tuple]:
    return [tuple(t.shape) for t in node.input_tensors]


class Functional(FunctionalRunMixin, Model):
    """A functional model whose graph is not a chain (what ``ranvier.Model(inputs,
    outputs)`` returns for one; see the module doc). Everything of ``Model`` applies, with
    several inputs and outputs: ``fit``/``evaluate``/``predict`` take ``x``/``y`` in the
    structure of the inputs/outputs or as dicts keyed by name; ``compile`` takes a loss,
    metrics and loss weights per output (a list or a dict)."""

    __module__ = "ranvier._functional_graph"  # where pickle finds it
    _gnodes: List[GNode]
    _key_shapes: Dict[int, tuple]
    _out_keys: List[int]

    def __init__(self, inputs=None, outputs=None, name: Optional[str] = None, trainable: bool = True,
                 **kwargs):
        trainable = check_model_arguments(inputs, outputs, name, trainable, kwargs)
        ins, in_kind = flatten_struct(inputs, "inputs")
        outs, out_kind = flatten_struct(outputs, "outputs")
        order = collect(ins, outs)
        models_module.Sequential.__init__(self, name=name or _naming.uniquify("functional"), trainable=trainable)
        self._inputs_struct = (ins, in_kind)
        self._outputs_struct = (outs, out_kind)
        input_layers = []
        for t in ins:
            il = t.input_layer
            if il is None:  # an intermediate tensor as an input (Keras clones the graph from it)
                il = InputLayer(batch_shape=tuple(t.shape))
            input_layers.append(il)
        self._input_layers = input_layers
        self._input_layer = input_layers[0]
        self._top_calls = order
        self._keras_layers = keras_order(ins, outs, input_layers)
        self._expand(ins, outs, order)
        self._check_names()
        for i, il in enumerate(input_layers):
            for layer in {id(g.layer): g.layer for g in self._gnodes if i in g.inputs}.values():
                check_raw_input_dtype(il, layer)
        for layer in self._layers:
            layers_base.check_runnable_layer(layer)
            layer._graph_shared = True
        self._input_shape = tuple(input_layers[0].batch_shape)
        self._build_layers()

    # ---- the leaf graph
    def _expand(self, ins, outs, order) -> None:
        keys: Dict[int, int] = {id(t): i for i, t in enumerate(ins)}
        shapes: Dict[int, tuple] = {i: tuple(t.shape) for i, t in enumerate(ins)}
        gnodes: List[GNode] = []
        counter = [len(ins)]

        def new_key(shape) -> int:
            k = counter[0]
            counter[0] += 1
            shapes[k] = tuple(shape)
            return k

        for top, (obj, _, node) in enumerate(order):
            in_keys = [keys[id(t)] for t in node.input_tensors]
            if isinstance(obj, Functional):
                remap = {i: k for i, k in enumerate(in_keys)}
                for g in obj._gnodes:
                    out = new_key(obj._key_shapes[g.output])
                    remap[g.output] = out
                    gnodes.append(GNode(g.layer, [remap[k] for k in g.inputs], out, top))
                out_keys = [remap[k] for k in obj._out_keys]
            elif _is_model(obj):
                k = in_keys[0]
                shape = shapes[k]
                for layer in obj._layers:
                    shape = tuple(layer.compute_output_shape(shape))
                    out = new_key(shape)
                    gnodes.append(GNode(layer, [k], out, top))
                    k = out
                out_keys = [k]
            else:
                out = new_key(node.output_tensors[0].shape)
                gnodes.append(GNode(obj, in_keys, out, top))
                out_keys = [out]
            for t, k in zip(node.output_tensors, out_keys):
                keys[id(t)] = k
        self._gnodes = gnodes
        self._key_shapes = shapes
        self._n_inputs = len(ins)
        self._out_keys = [keys[id(t)] for t in outs]
        # the weight-holding layers once each, in Keras's order of model.layers (a nested model's
        # own layers in its place): get_weights / set_weights and the model file follow it
        leaves: List[Any] = []
        seen = set()
        for obj in self._keras_layers:
            if isinstance(obj, InputLayer):
                continue
            for layer in (obj._layers if _is_model(obj) else [obj]):
                if id(layer) not in seen:
                    seen.add(id(layer))
                    leaves.append(layer)
        assert len(leaves) == len({id(g.layer) for g in gnodes})
        self._layers = leaves

    def _check_names(self) -> None:
        names: Dict[str, int] = {}
        for obj in self._input_layers + self._layers:
            names[obj.name] = names.get(obj.name, 0) + 1
        dup = [n for n, c in names.items() if c > 1]
        if dup:
            raise ValueError(f"ranvier.Model: the name '{dup[0]}' is used {names[dup[0]]} times in the model; all "
                             f"layer names must be unique")

    # ---- the C++ network
    def _build_layers_locked(self) -> None:
        self._check_shared_idle()
        net = _core.Network()
        flags = [bool(layer._core_layer.trainable) for layer in self._layers]
        ids: Dict[int, int] = {}
        first: Dict[int, int] = {}
        calls: Dict[int, int] = {}  # a layer's later calls (1, 2, ...): a random layer draws anew per call
        self._seconds = []  # the second cores (a layer called again): alive as long as the network
        try:
            for i, il in enumerate(self._input_layers):
                ids[i] = net.add_input(_width(self._key_shapes[i]), il.name)
            for index, g in enumerate(self._gnodes):
                layer = g.layer
                in_shapes = [self._key_shapes[k] for k in g.inputs]
                merge = hasattr(layer, "_build_core")  # a merge layer: no weights, a core per call
                if merge and (id(layer) in first or tuple(tuple(s) for s in in_shapes) !=
                              tuple(tuple(s) for s in (layer._build_input_shape or ()))):
                    core = layer._build_core(in_shapes)[0]
                    self._seconds.append(core)
                    ids[g.output] = net.add_node(core, [ids[k] for k in g.inputs], -1)
                    first.setdefault(id(layer), index)
                    continue
                self._check_node_widths(layer, in_shapes)
                if id(layer) in first:
                    calls[id(layer)] = calls.get(id(layer), 0) + 1
                    core = second_core(layer, in_shapes, self._trains(layer), calls[id(layer)])
                    self._seconds.append(core)
                    shares = first[id(layer)]
                else:
                    core = layer._core_layer
                    core.trainable = self._trains(layer)
                    shares = -1
                    first[id(layer)] = index
                ids[g.output] = net.add_node(core, [ids[k] for k in g.inputs], shares)
            net.set_outputs([ids[k] for k in self._out_keys])
            net.finalize()
        except BaseException:
            for layer, flag in zip(self._layers, flags):
                layer._core_layer.trainable = flag
            raise
        self._trainable_signature = self._trainable_state()
        params, grads, state = net.params(), net.grads(), net.state()
        node_to_layer = {first[id(l)]: j for j, l in enumerate(self._layers)}
        per_layer: List[List] = [[[], []] for _ in self._layers]
        for t in net.tensors():
            off, size, shape_t = t["offset"], t["size"], tuple(t["shape"])
            if t["trainable"]:
                p, gr = params[off:off + size].reshape(shape_t), grads[off:off + size].reshape(shape_t)
            else:
                p, gr = state[off:off + size].reshape(shape_t), None
            j = node_to_layer[t["layer"]]
            per_layer[j][0].append(p)
            per_layer[j][1].append(gr)
        for layer, (ps, gs) in zip(self._layers, per_layer):
            layer._adopt_storage(ps, gs)
        if self._seconds:  # second cores: bound by the network to their owner's weights (and
            net.bind_all()  # their own gradient region); the other layers to what they hold now
        self._layer_storage = per_layer
        self._node_of_layer = [first[id(l)] for l in self._layers]
        self._net = net
        self._lent = False
        self._mark_layers_taken()
        self._trainer = None
        self._trainer_key = None

    @staticmethod
    def _check_node_widths(layer, in_shapes: List[tuple]) -> None:
        """ValueError naming the layer when its C++ core was built for inputs of other widths
        than the flattened tensors it gets (e.g. Dense on a rank-3 tensor: Flatten first)."""
        core = layer._core_layer
        if core is None:
            raise ValueError(f"ranvier.Model: {_describe(layer)} is not built")
        n = int(core.num_inputs) if hasattr(core, "num_inputs") else 1
        widths = [_width(s) for s in in_shapes]
        have = [int(core.input_features(i)) for i in range(n)] if hasattr(core, "input_features") \
            else [int(core.in_features)]
        if have != widths:
            shapes = ", ".join(str(s) for s in in_shapes)
            raise ValueError(
                f"ranvier.Model: {_describe(layer)} takes rows of {have} features but is called on tensors of "
                f"shape {shapes} ({widths} features per sample); ranvier's layers work on flattened samples: "
                f"put a Flatten (or Reshape) before it, or use a new layer for these inputs")

    def _check_size(self) -> None:
        return None  # the layers were built (and size-checked) when they were called

    # ---- Keras's functional surface
    @property
    def layers(self) -> List[Any]:
        """Keras's ``model.layers``: the InputLayers and each layer (or model used as a layer,
        as one entry) in Keras's order (by depth from the outputs, see ``keras_order``)."""
        return list(self._keras_layers)

    def get_layer(self, name: Optional[str] = None, index: Optional[int] = None):
        """The entry of ``layers`` at ``index`` or named ``name`` (a leaf layer inside a nested
        model is found by name too)."""
        try:
            return super().get_layer(name=name, index=index)
        except ValueError:
            if name is not None and index is None:
                for layer in self._layers:
                    if layer.name == name:
                        return layer
            raise

    # inputs / outputs / input / output: Model's (the same _inputs_struct / _outputs_struct)

    @property
    def input_names(self) -> List[str]:
        """The names of the inputs (their InputLayers), in flat order."""
        return [il.name for il in self._input_layers]

    @property
    def output_names(self) -> List[str]:
        """Keras's ``output_names``: for each output, the name of the layer (or model used as
        a layer) whose call made it."""
        out = []
        for t in self._outputs_struct[0]:
            h = t._keras_history
            out.append(h[0].name if h is not None else _tensor_name(t))
        return out

    @property
    def _out_names(self) -> List[str]:
        """The names in log keys and y dicts: the dict keys of dict outputs, else
        ``output_names``."""
        kind = self._outputs_struct[1]
        return list(kind[1]) if kind[0] == "dict" else self.output_names

    @property
    def input_shape(self):
        """The input shape (one input), or a list of them."""
        shapes = [tuple(il.batch_shape) for il in self._input_layers]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        """The output shape (one output), or a list of them."""
        shapes = [tuple(self._key_shapes[k]) for k in self._out_keys]
        return shapes[0] if len(shapes) == 1 else shapes

    def _output_shapes(self) -> List[tuple]:
        return [tuple(self._key_shapes[k]) for k in self._out_keys]

    def _summary_columns(self):
        if self._sequential_like():
            return ["Layer (type)", "Output Shape", "Param #"], "llr"
        return ["Layer (type)", "Output Shape", "Param #", "Connected to"], "llrl"

    def _sequential_like(self) -> bool:
        """Keras: no depth with two nodes, no node with two inputs, no layer called twice."""
        if len(self._input_layers) > 1 or len(self._outputs_struct[0]) > 1:
            return False
        calls: Dict[int, int] = {}
        for obj, _, node in self._top_calls:
            if len(node.input_tensors) > 1:
                return False
            calls[id(obj)] = calls.get(id(obj), 0) + 1
        return all(c == 1 for c in calls.values()) and is_chain(self.inputs, self.outputs, self._top_calls,
                                                                 models=True)

    def _call_index(self) -> Dict[int, int]:
        """id(Node) -> its index among the calls of its layer inside this model, in the order
        the calls were made (Keras's node index in the config and the summary)."""
        mine = {id(node) for _, _, node in self._top_calls}
        out: Dict[int, int] = {}
        for obj in {id(o): o for o, _, _ in self._top_calls}.values():
            k = 0
            for node in getattr(obj, "_inbound_nodes", None) or []:
                if id(node) in mine:
                    out[id(node)] = k
                    k += 1
        return out

    def _nodes_of(self, obj) -> List[Any]:
        """``obj``'s calls inside this model, in the order they were made."""
        mine = {id(node) for _, _, node in self._top_calls}
        return [n for n in getattr(obj, "_inbound_nodes", None) or [] if id(n) in mine]

    def _history_triple(self, t: KerasTensor, index: Dict[int, int]) -> List[Any]:
        """``[layer name, node index, tensor index]`` of ``t`` inside this model."""
        for i, x in enumerate(self._inputs_struct[0]):
            if x is t:
                return [self._input_layers[i].name, 0, 0]
        h: Any = t._keras_history
        obj, ni, ti = h
        node = obj._inbound_nodes[ni]
        return [obj.name, index.get(id(node), 0), ti]

    def _summary_rows(self) -> List[List[str]]:
        index = self._call_index()
        sequential = self._sequential_like()
        rows = []
        inputs = {id(il) for il in self._input_layers}
        for obj in self._keras_layers:
            if id(obj) in inputs:
                row = [f"{obj.name} (InputLayer)", shape_text(obj.batch_shape), "0"]
                rows.append(row if sequential else row + ["-"])
                continue
            nodes = self._nodes_of(obj)
            shapes = [tuple(t.shape) for t in nodes[0].output_tensors]
            shape = shape_text(shapes[0]) if len(shapes) == 1 else ", ".join(shape_text(s) for s in shapes)
            params = obj.count_params() if (not _is_model(obj) or obj.built) else 0
            row = [f"{obj.name} ({'Functional' if isinstance(obj, Model) else type(obj).__name__})",
                   shape, f"{params:,}"]
            if not sequential:
                links = []
                for n in nodes:
                    for t in n.input_tensors:
                        name, ni, ti = self._history_triple(t, index)
                        links.append(f"{name}[{ni}][{ti}]")
                row.append(", ".join(links) or "-")
            rows.append(row)
            if _is_model(obj) and getattr(self, "_expand_nested", False):  # Keras's expand_nested rows
                for child in obj._summary_rows():
                    if child[0].endswith("(InputLayer)"):
                        continue
                    rows.append(["   └ " + child[0]] + child[1:3] + ([] if sequential else [""]))
        return rows

    def _summary_default_length(self) -> int:
        """108 with the "Connected to" column (a graph that is not sequential-like), else 88."""
        return 88 if self._sequential_like() else 108

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None) -> None:
        """Keras's table; with a "Connected to" column unless the graph is sequential-like
        (line length 108 then, as Keras)."""
        if positions is None and not self._sequential_like():
            positions = [0.3, 0.56, 0.74, 1.0]
        self._expand_nested = bool(expand_nested)
        try:
            super().summary(line_length=line_length, positions=positions, print_fn=print_fn,
                            expand_nested=expand_nested, show_trainable=show_trainable, layer_range=layer_range)
        finally:
            self._expand_nested = False

    # ---- config and saving
    def get_config(self) -> Dict[str, Any]:
        """Keras's functional config (``name``, ``trainable``, ``layers`` with their
        ``inbound_nodes``, ``input_layers``, ``output_layers``)."""
        from ._functional_config import graph_config
        return graph_config(self)

    def _save_state(self, include_optimizer: bool = True) -> Dict[str, Any]:
        state = models_module.Sequential._save_state(self, include_optimizer)
        state["class_name"] = "Functional"
        state["config"] = self.get_config()
        state["input_shape"] = tuple(self._input_layers[0].batch_shape)
        state["functional_config"] = None
        state["layer_keys"] = self._h5_keys()  # Keras's weight-file keys of state["layers"]
        net = self._net
        if net is not None:  # Keras's trainable_variables order: by layer in the order of model.layers
            rank = {node: j for j, node in enumerate(self._node_of_layer)}
            tensors = [t for t in net.tensors() if t["trainable"]]
            tensors.sort(key=lambda t: (rank[t["layer"]], t["index"]))
            state["trainable_segments"] = [(int(t["offset"]), int(t["size"]), tuple(t["shape"])) for t in tensors]
        return state

    def _keras_trainable_offsets(self):
        """Offsets of the trainable weights in Keras's order: by layer, in ``model.layers`` order."""
        rank = {node: j for j, node in enumerate(self._node_of_layer)}
        tensors = [t for t in self._built_net().tensors() if t["trainable"]]
        tensors.sort(key=lambda t: (rank[t["layer"]], t["index"]))
        return [int(t["offset"]) for t in tensors]

    def _weight_path(self, name):
        """Keras's variable path: the layers of a functional model are built outside it."""
        return name

    def _param_segments(self):
        net = self._built_net()
        names = {node: layer.name for node, layer in zip(self._node_of_layer, self._layers)}
        return [(t["offset"], t["size"], f"{names[t['layer']]}/{t['name']}")
                for t in net.tensors() if t["trainable"]]

    def __deepcopy__(self, memo):
        from ._functional_config import model_from_config
        clone = model_from_config(Model, self.get_config())
        clone.set_weights(self.get_weights())
        clone.__dict__["_model_policy"] = self.dtype_policy  # compile's loss-scale rule reads it
        if self._compile_config is not None:
            from . import optimizers as optimizers_module
            clone.compile(optimizer=optimizers_module.get(self._compile_config["optimizer"]), loss=self.loss,
                          loss_weights=self._compile_config["loss_weights"], metrics=self._metrics_arg,
                          weighted_metrics=self._weighted_metrics_arg)
        return clone

    def _h5_keys(self) -> List[str]:
        """Keras's weight-file keys of ``_layers``: each entry of ``layers`` gets
        ``snake_case(class)`` made unique in this model (``dense``, ``dense_1``; InputLayers and
        merge layers count too); a nested model's layers sit under ``<its key>/layers/``."""
        from .layers._base import to_snake_case
        from ._saving_common import layer_keys
        used: Dict[str, int] = {}
        paths: Dict[int, str] = {}
        for obj in self._keras_layers:
            cname = "Functional" if isinstance(obj, Model) else type(obj).__name__
            key = to_snake_case(cname)
            if key in used:
                used[key] += 1
                key = f"{key}_{used[key]}"
            else:
                used[key] = 0
            if _is_model(obj):
                for layer, inner in zip(obj._layers, layer_keys(obj)):
                    paths.setdefault(id(layer), f"{key}/layers/{inner}")
            elif not isinstance(obj, InputLayer):
                paths.setdefault(id(obj), key)
        return [paths[id(layer)] for layer in self._layers]

    def _profile_layers(self) -> List[Any]:
        """The layer of each network node, in node order (``ranvier.utils.profile``)."""
        return [g.layer for g in self._gnodes]

    def _claim_layers(self) -> None:
        me = weakref.ref(self)
        for layer in self._layers:
            layer._owner_ref = layer._bound_to = me
