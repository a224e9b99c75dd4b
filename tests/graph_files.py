"""Functional (graph) model files written by hand for the I/O tests: Keras's functional
config (layers with inbound_nodes whose tensors carry keras_history, input_layers,
output_layers), weights as ranvier stores them ("layers/<layer>/<weight>"), and a NumPy
float64 forward pass of the same graph to compare predictions with."""
from __future__ import annotations

import copy
import json
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ranvier import _core

Ref = Tuple[str, int, Tuple[int, ...]]  # (layer, node index, per-sample shape)

_ACT = {"linear": lambda z: z, "relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh,
        "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z))}


def keras_tensor(ref: Ref) -> Dict[str, Any]:
    name, node, shape = ref
    return {"class_name": "__keras_tensor__",
            "config": {"shape": [None, *shape], "dtype": "float32", "keras_history": [name, node, 0]}}


class Graph:
    """Builds a functional config and evaluates it in float64."""

    def __init__(self, name: str = "graph", seed: int = 0):
        self.name = name
        self.entries: List[Dict[str, Any]] = []
        self.by_name: Dict[str, Dict[str, Any]] = {}
        self.weights: Dict[str, np.ndarray] = {}
        self.rng = np.random.default_rng(seed)
        self.inputs: List[str] = []
        self.outputs: List[Ref] = []
        self.output_keys: Optional[List[str]] = None

    def input(self, name: str, shape: Sequence[int], dtype: str = "float32") -> Ref:
        e = {"module": "keras.layers", "class_name": "InputLayer", "name": name,
             "config": {"batch_shape": [None, *shape], "dtype": dtype, "sparse": False, "name": name},
             "registered_name": None, "inbound_nodes": []}
        self.entries.append(e)
        self.by_name[name] = e
        self.inputs.append(name)
        return (name, 0, tuple(shape))

    def layer(self, cls: str, name: str, **config) -> str:
        e = {"module": "keras.layers", "class_name": cls, "name": name, "config": {"name": name, **config},
             "registered_name": None, "inbound_nodes": []}
        self.entries.append(e)
        self.by_name[name] = e
        return name

    def dense(self, name: str, in_width: int, units: int, activation: str = "linear") -> str:
        self.weights[f"layers/{name}/kernel"] = self.rng.uniform(-0.6, 0.6, (in_width, units)).astype(np.float32)
        self.weights[f"layers/{name}/bias"] = self.rng.uniform(-0.3, 0.3, units).astype(np.float32)
        return self.layer("Dense", name, units=units, activation=activation)

    def call(self, name: str, *inputs: Ref, as_list: bool = False, out_shape=None) -> Ref:
        e = self.by_name[name]
        args = [[keras_tensor(r) for r in inputs]] if as_list else [keras_tensor(r) for r in inputs]
        e["inbound_nodes"].append({"args": args, "kwargs": {}})
        node = len(e["inbound_nodes"]) - 1
        return (name, node, tuple(out_shape) if out_shape else self._out_shape(e, inputs))

    def _out_shape(self, e, inputs) -> Tuple[int, ...]:
        cls, cfg = e["class_name"], e["config"]
        if cls == "Dense":
            return (cfg["units"],)
        if cls == "Concatenate":
            return (sum(r[2][-1] for r in inputs),)
        if cls == "Dot":
            return (1,)
        return inputs[0][2]

    def set_outputs(self, *refs: Ref, keys: Optional[List[str]] = None) -> None:
        self.outputs = list(refs)
        self.output_keys = keys

    def config(self) -> Dict[str, Any]:
        ins = [[n, 0, 0] for n in self.inputs]
        outs: Any = [[r[0], r[1], 0] for r in self.outputs]
        if self.output_keys is not None:
            outs = {k: o for k, o in zip(self.output_keys, outs)}
        return {"module": "keras.src.models.functional", "class_name": "Functional",
                "config": {"name": self.name, "trainable": True, "layers": copy.deepcopy(self.entries),
                           "input_layers": ins, "output_layers": outs},
                "registered_name": "Functional", "build_config": {"input_shape": None}}

    # ------------------------------------------------------------- float64 reference
    def forward(self, xs: Sequence[np.ndarray]) -> List[np.ndarray]:
        values: Dict[Tuple[str, int], np.ndarray] = {}
        for name, x in zip(self.inputs, xs):
            values[(name, 0)] = np.asarray(x, np.float64)
        pending = [(e, k) for e in self.entries for k in range(len(e["inbound_nodes"]))]
        while pending:
            rest = []
            for e, k in pending:
                refs = self._node_refs(e["inbound_nodes"][k])
                if all(r in values for r in refs):
                    values[(e["name"], k)] = self._apply(e, [values[r] for r in refs])
                else:
                    rest.append((e, k))
            assert len(rest) < len(pending), "the reference graph has a cycle"
            pending = rest
        outs = [values[(r[0], r[1])] for r in self.outputs]
        if self.output_keys is not None:  # a dict flattens in sorted-key order
            outs = [o for _, o in sorted(zip(self.output_keys, outs), key=lambda kv: kv[0])]
        return outs

    @staticmethod
    def _node_refs(node) -> List[Tuple[str, int]]:
        out = []
        for a in node["args"]:
            for t in (a if isinstance(a, list) else [a]):
                h = t["config"]["keras_history"]
                out.append((h[0], h[1]))
        return out

    def _apply(self, e, xs: List[np.ndarray]) -> np.ndarray:
        cls, cfg, name = e["class_name"], e["config"], e["name"]
        if cls == "Dense":
            k = self.weights[f"layers/{name}/kernel"].astype(np.float64)
            b = self.weights[f"layers/{name}/bias"].astype(np.float64)
            return _ACT[cfg.get("activation", "linear")](xs[0] @ k + b)
        if cls == "Concatenate":
            return np.concatenate(xs, axis=-1)
        if cls == "Add":
            return sum(xs[1:], xs[0])
        if cls == "Subtract":
            return xs[0] - xs[1]
        if cls == "Multiply":
            out = xs[0]
            for x in xs[1:]:
                out = out * x
            return out
        if cls == "Average":
            return sum(xs[1:], xs[0]) / len(xs)
        if cls == "Maximum":
            return np.maximum.reduce(xs)
        if cls == "Minimum":
            return np.minimum.reduce(xs)
        if cls == "Activation":
            return _ACT[cfg["activation"]](xs[0])
        raise AssertionError(f"no reference for {cls}")


def write(path, arch: Dict[str, Any], weights: Dict[str, np.ndarray], extra_meta: Optional[Dict[str, str]] = None):
    """A ranvier model file holding ``arch`` and ``weights``."""
    meta = {"format": "ranvier", "format_version": "1", "contents": "model", "architecture": json.dumps(arch)}
    meta.update(extra_meta or {})
    tensors = [(k, np.ascontiguousarray(v, np.float32)) for k, v in weights.items()]
    _core.io_write_safetensors(str(path), tensors, list(meta.items()))


def two_in_two_out(seed: int = 0) -> Graph:
    """a (3) and b (2): d1 = Dense(4, relu)(a), e = Dense(4, tanh)(b), the shared Dense(4)
    called on both, then out1 = Dense(2)(Concatenate), out2 = Dense(1, sigmoid)(Add)."""
    g = Graph("two_in_two_out", seed)
    a, b = g.input("a", (3,)), g.input("b", (2,))
    g.dense("d1", 3, 4, "relu")
    g.dense("e", 2, 4, "tanh")
    g.dense("shared", 4, 4)
    s1 = g.call("shared", g.call("d1", a))
    s2 = g.call("shared", g.call("e", b))
    g.layer("Concatenate", "cat", axis=-1)
    g.layer("Add", "add")
    g.dense("out1", 8, 2)
    g.dense("out2", 4, 1, "sigmoid")
    o1 = g.call("out1", g.call("cat", s1, s2, as_list=True))
    o2 = g.call("out2", g.call("add", s1, s2, as_list=True))
    g.set_outputs(o1, o2)
    return g
