"""ONNX export of a Sequential model in inference mode.

Mapping (opset 17, IR version 8, float32, input "input" of shape (batch, *input_shape),
output "output" of shape (batch, units)):

- Dense: ``Gemm(x, kernel, bias)`` (``MatMul`` without bias), then its activation; under
  the mixed_bfloat16 policy the kernel is stored rounded to bfloat16 (as float32 values)
  and x goes through ``Cast`` to bfloat16 and back first, so the graph computes what
  ranvier computes (bfloat16 inputs, float32 sums); under mixed_float16 the same with
  IEEE half (``Cast`` to float16 and back), also around the pre-activation and the output;
- activations: Relu, LeakyRelu, Elu, Selu, Celu, Sigmoid, HardSigmoid (Keras 3's
  ``x/6 + 0.5``), Tanh, Softplus, Softsign, Exp, Softmax / LogSoftmax (last axis), Clip
  (relu6, hard_tanh), Shrink (soft_shrink), and compositions for silu (x*Sigmoid),
  hard_silu, mish, gelu (Erf or the tanh form), log_sigmoid, and the general
  relu(negative_slope, max_value, threshold);
- BatchNormalization: ``BatchNormalization`` with the moving statistics (inference);
- LayerNormalization: ``LayerNormalization`` (axis -1);
- Flatten: ``Flatten(axis=1)``; Dropout, GaussianNoise, GaussianDropout, AlphaDropout, Identity and
  ActivityRegularization: omitted (identity at inference);
- Normalization: ``Sub``/``Div`` (``Mul``/``Add`` with invert) by its statistics; Rescaling: ``Mul``/``Add``;
  UnitNormalization: ``ReduceSumSquare``, ``Max``, ``Sqrt``, ``Div``; Discretization: ``GreaterOrEqual``
  against the boundaries, summed (``ReduceSum``; a NaN input gives bucket 0 there, the last bucket in ranvier);
- Embedding: ``Cast`` of the (float) ids to int64, ``Gather`` of the table; CategoryEncoding: ``OneHot``
  (``ReduceMax`` for multi_hot, ``ReduceSum`` for count); Reshape: ``Reshape``; RepeatVector:
  ``Unsqueeze`` and ``Expand``. Out-of-range ids are the runtime's error there (ranvier checks them).
- GlobalAveragePooling1D / GlobalMaxPooling1D: ``ReduceMean`` / ``ReduceMax`` over the steps axis.
- the merge layers (for graphs): ``merge_node`` (Concat, chained Add/Sub/Mul/Max/Min, Div, Einsum).

Any other layer raises ValueError naming it. The ``onnx`` package is imported only here.
"""
from __future__ import annotations

import math
from typing import List

import numpy as np

from .. import _saving_common as common

OPSET = 17
IR_VERSION = 8

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _require_onnx():
    try:
        import onnx  # noqa: F401
        from onnx import helper, numpy_helper  # noqa: F401
    except ImportError:
        raise ImportError("model.export(format='onnx') needs the optional 'onnx' package: "
                          "pip install onnx (or ranvier[onnx])") from None
    import onnx
    return onnx


class _Graph:
    def __init__(self, onnx):
        self.onnx = onnx
        self.helper = onnx.helper
        self.nodes: List = []
        self.inits: List = []
        self.n = 0
        self.reserved: set = set()  # the graph's input and output names
        self.params: dict = {}  # (id(layer), what) -> initializer name: shared layers' weights once

    def name(self, base: str) -> str:
        while True:
            self.n += 1
            nm = f"{base}_{self.n}"
            if nm not in self.reserved:
                return nm

    def param(self, layer, value, what: str) -> str:
        """The initializer of the weight ``what`` of ``layer``, made on its first use."""
        key = (id(layer), what)
        if key not in self.params:
            self.params[key] = self.const(value, f"{layer.name}_{what}")
        return self.params[key]

    def const(self, value, base: str) -> str:
        arr = np.asarray(value, dtype=np.float32)
        nm = self.name(base)
        self.inits.append(self.onnx.numpy_helper.from_array(arr, nm))
        return nm

    def op(self, op_type: str, inputs, base: str, **attrs) -> str:
        out = self.name(base)
        self.nodes.append(self.helper.make_node(op_type, list(inputs), [out], name=out, **attrs))
        return out


def _activation(g: _Graph, x: str, kind: str, params: dict, where: str) -> str:
    p = {"negative_slope": 0.0, "max_value": math.inf, "threshold": 0.0, "alpha": 1.0}
    p.update({k: v for k, v in (params or {}).items() if v is not None})
    if kind == "linear":
        return x
    if kind == "relu":
        slope, maxv, thr = float(p["negative_slope"]), float(p["max_value"]), float(p["threshold"])
        if slope == 0 and thr == 0 and math.isinf(maxv):
            return g.op("Relu", [x], "relu")
        if slope != 0 and thr == 0 and math.isinf(maxv):
            return g.op("LeakyRelu", [x], "leaky_relu", alpha=slope)
        # Keras's general relu: x * (x > t) clipped to [0, max], minus slope * relu(t - x).
        if thr != 0:
            mask = g.op("Cast", [g.op("Greater", [x, g.const(thr, "threshold")], "gt")], "mask", to=1)
            pos = g.op("Mul", [x, mask], "pos")
        else:
            pos = g.op("Relu", [x], "pos")
        if not math.isinf(maxv):
            pos = g.op("Clip", [pos, g.const(0.0, "zero"), g.const(maxv, "max_value")], "clip")
        if slope != 0:
            neg = g.op("Relu", [g.op("Sub", [g.const(thr, "threshold"), x], "shift")], "neg")
            pos = g.op("Sub", [pos, g.op("Mul", [neg, g.const(slope, "slope")], "negs")], "relu")
        return pos
    if kind == "leaky_relu":
        return g.op("LeakyRelu", [x], "leaky_relu", alpha=float(p["negative_slope"]))
    if kind == "relu6":
        return g.op("Clip", [x, g.const(0.0, "zero"), g.const(6.0, "six")], "relu6")
    if kind == "elu":
        return g.op("Elu", [x], "elu", alpha=float(p["alpha"]))
    if kind == "selu":
        return g.op("Selu", [x], "selu", alpha=_SELU_ALPHA, gamma=_SELU_SCALE)
    if kind == "celu":
        return g.op("Celu", [x], "celu", alpha=float(p["alpha"]))
    if kind == "sigmoid":
        return g.op("Sigmoid", [x], "sigmoid")
    if kind == "hard_sigmoid":
        return g.op("HardSigmoid", [x], "hard_sigmoid", alpha=1.0 / 6.0, beta=0.5)
    if kind == "hard_silu":
        return g.op("Mul", [x, g.op("HardSigmoid", [x], "hs", alpha=1.0 / 6.0, beta=0.5)], "hard_silu")
    if kind == "tanh":
        return g.op("Tanh", [x], "tanh")
    if kind == "softplus":
        return g.op("Softplus", [x], "softplus")
    if kind == "softsign":
        return g.op("Softsign", [x], "softsign")
    if kind == "silu":
        return g.op("Mul", [x, g.op("Sigmoid", [x], "sig")], "silu")
    if kind == "mish":
        return g.op("Mul", [x, g.op("Tanh", [g.op("Softplus", [x], "sp")], "t")], "mish")
    if kind == "exponential":
        return g.op("Exp", [x], "exp")
    if kind == "log_sigmoid":
        return g.op("Neg", [g.op("Softplus", [g.op("Neg", [x], "negx")], "sp")], "log_sigmoid")
    if kind == "gelu":  # 0.5 x (1 + erf(x / sqrt 2))
        erf = g.op("Erf", [g.op("Mul", [x, g.const(1.0 / math.sqrt(2.0), "inv_sqrt2")], "xs")], "erf")
        return g.op("Mul", [g.op("Mul", [x, g.const(0.5, "half")], "hx"),
                            g.op("Add", [erf, g.const(1.0, "one")], "e1")], "gelu")
    if kind == "gelu_approx":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        x3 = g.op("Mul", [g.op("Mul", [x, x], "x2"), x], "x3")
        inner = g.op("Add", [x, g.op("Mul", [x3, g.const(0.044715, "c")], "cx3")], "inner")
        t = g.op("Tanh", [g.op("Mul", [inner, g.const(math.sqrt(2.0 / math.pi), "k")], "ki")], "t")
        return g.op("Mul", [g.op("Mul", [x, g.const(0.5, "half")], "hx"),
                            g.op("Add", [t, g.const(1.0, "one")], "t1")], "gelu")
    if kind == "hard_tanh":
        return g.op("Clip", [x, g.const(-1.0, "minus_one"), g.const(1.0, "one")], "hard_tanh")
    if kind == "soft_shrink":
        lambd = float(p["threshold"])
        return g.op("Shrink", [x], "soft_shrink", bias=lambd, lambd=lambd)
    if kind == "softmax":
        return g.op("Softmax", [x], "softmax", axis=-1)
    if kind == "log_softmax":
        return g.op("LogSoftmax", [x], "log_softmax", axis=-1)
    raise ValueError(f"export: {where} uses activation '{kind}', which has no ONNX form yet")


def _reshape(g: _Graph, onnx, x: str, shape, base: str) -> str:
    """``Reshape`` of x to ``shape`` (batch first: the batch dimension is copied)."""
    target = g.name(f"{base}_target")
    g.inits.append(onnx.numpy_helper.from_array(np.array([0] + [int(d) for d in shape[1:]], np.int64), target))
    return g.op("Reshape", [x, target], base)


def merge_node(g: _Graph, layer, xs: List[str], input_shapes) -> str:
    """The ONNX nodes of a merge layer (``ranvier.layers.Concatenate``, ``Add``, ...) on the
    tensors named ``xs``, of the Keras shapes ``input_shapes`` (batch first; the tensors carry
    these full shapes, not rows); returns the output tensor's name. Elementwise merges chain
    ``Add``/``Sub``/``Mul``/``Max``/``Min`` in input order, as ranvier computes them (Average:
    the sum, then ``Div`` by the count); Concatenate is ``Concat``; Dot is ``Einsum`` (after
    ``x * Min(1/Sqrt(ReduceSumSquare(x)), 1e7)`` with normalize=True), ``Unsqueeze``d to
    (batch, 1) when both inputs are vectors."""
    from .. import layers as L
    cls = type(layer)
    shapes = [tuple(s) for s in input_shapes]
    layer.compute_output_shape(shapes)  # the layer's shape checks, with their messages
    if len(xs) != len(shapes):
        raise ValueError(f"export: {layer.name} has {len(shapes)} input shapes for {len(xs)} tensors")
    name = layer.name
    if isinstance(layer, L.Concatenate):
        return g.op("Concat", xs, name, axis=int(layer.axis) % len(shapes[0]))
    if isinstance(layer, L.Dot):
        axes = layer.axes if isinstance(layer.axes, (list, tuple)) else (layer.axes, layer.axes)
        axes = [int(a) % len(s) for a, s in zip(axes, shapes)]
        ins, terms, kept = [], [], ""
        letters = iter("abcdefghij")
        for x, s, a in zip(xs, shapes, axes):
            if layer.normalize:
                ss = g.op("ReduceSumSquare", [x], f"{name}_ss", axes=[a], keepdims=1)
                inv = g.op("Min", [g.op("Reciprocal", [g.op("Sqrt", [ss], f"{name}_norm")], f"{name}_inv"),
                                   g.const(np.float32(1e7), f"{name}_max")], f"{name}_clamp")
                x = g.op("Mul", [x, inv], f"{name}_normalized")
            term = "z"
            for d in range(1, len(s)):
                if d == a:
                    term += "k"
                else:
                    c = next(letters)
                    term += c
                    kept += c
            ins.append(x)
            terms.append(term)
        out = g.op("Einsum", ins, name if kept else f"{name}_dot", equation=f"{terms[0]},{terms[1]}->z{kept}")
        if not kept:
            axis = g.name(f"{name}_axis")
            g.inits.append(g.onnx.numpy_helper.from_array(np.array([1], np.int64), axis))
            out = g.op("Unsqueeze", [out, axis], name)
        return out
    ops = ((L.Add, "Add"), (L.Average, "Add"), (L.Subtract, "Sub"), (L.Multiply, "Mul"), (L.Maximum, "Max"),
           (L.Minimum, "Min"))
    op = next((o for c, o in ops if isinstance(layer, c)), None)
    if op is None:
        raise ValueError(f"export: layer '{name}' ({cls.__name__}) is not a merge layer")
    # Keras broadcasts per-sample shapes aligned on their last axis; ONNX aligns the whole
    # shapes (batch included), so a lower-rank input gets unit axes after its batch axis.
    rank = max(len(s) for s in shapes)
    xs = list(xs)
    for i, s in enumerate(shapes):
        if len(s) < rank:
            unit_axes = g.name(f"{name}_axes{i}")
            g.inits.append(g.onnx.numpy_helper.from_array(np.arange(1, 1 + rank - len(s), dtype=np.int64), unit_axes))
            xs[i] = g.op("Unsqueeze", [xs[i], unit_axes], f"{name}_expand{i}")
    out = xs[0]
    for i, x in enumerate(xs[1:]):
        out = g.op(op, [out, x], f"{name}_{i}")
    if isinstance(layer, L.Average):
        out = g.op("Div", [out, g.const(np.float32(len(xs)), f"{name}_count")], name)
    elif len(xs) == 1:
        out = g.op("Identity", [out], name)
    return out


def _f16(g: _Graph, x: str, name: str) -> str:
    """x rounded to IEEE half and back to float32 (two Casts): mixed_float16's rounding."""
    return g.op("Cast", [g.op("Cast", [x], f"{name}_to_f16", to=10)], f"{name}_from_f16", to=1)


def layer_node(g: _Graph, layer, x: str, layer_in: tuple, shape: tuple) -> str:
    """The ONNX nodes of one single-input layer on the tensor named ``x`` of the Keras shape
    ``layer_in`` (its output shape ``shape``); returns the output tensor's name (``x`` itself
    for a layer that is the identity at inference). A layer's weights become initializers once
    (``_Graph.param``), however often the layer is called."""
    from .. import layers as L
    from ..layers._base import BUILTIN_LAYER_NAMES
    onnx = g.onnx
    where = f"layer '{layer.name}' ({type(layer).__name__})"
    cls = type(layer)
    w = layer.get_weights()
    if cls is L.Dense:
        if layer.dtype_policy.name == "mixed_bfloat16":
            from .. import _core
            w[0] = _core._round_bf16(np.ascontiguousarray(w[0], dtype=np.float32))
            x = g.op("Cast", [g.op("Cast", [x], f"{layer.name}_to_bf16", to=16)], f"{layer.name}_from_bf16", to=1)
        f16 = layer.dtype_policy.name == "mixed_float16"
        if f16:  # half inputs, float32 sums, half pre-activation and output (as ranvier's Dense)
            from .. import _core
            w[0] = _core._round_f16(np.ascontiguousarray(w[0], dtype=np.float32))
            x = _f16(g, x, f"{layer.name}_in")
        kernel = g.param(layer, w[0], "kernel")
        if layer.use_bias:
            x = g.op("Gemm", [x, kernel, g.param(layer, w[1], "bias")], layer.name)
        else:
            x = g.op("MatMul", [x, kernel], layer.name)
        if f16:
            x = _f16(g, x, f"{layer.name}_z")
        x = _activation(g, x, layer._act_name, layer._act_params, where)
        if f16:
            x = _f16(g, x, f"{layer.name}_out")
    elif getattr(cls, "_identity_at_inference", False):  # Dropout, GaussianNoise
        return x
    elif cls is L.Flatten:
        if len(layer_in) > 2:
            if getattr(layer, "data_format", None) == "channels_first":
                perm = [0] + list(range(2, len(layer_in))) + [1]
                x = g.op("Transpose", [x], "to_channels_last", perm=perm)
            x = g.op("Flatten", [x], layer.name, axis=1)
    elif cls is L.BatchNormalization:
        n = layer.get_weights()[-1].shape[0]
        names = [v.name for v in layer.weights]
        vals = dict(zip(names, w))
        gamma = vals.get("gamma", np.ones(n, np.float32))
        beta = vals.get("beta", np.zeros(n, np.float32))
        x = g.op("BatchNormalization",
                 [x, g.param(layer, gamma, "gamma"), g.param(layer, beta, "beta"),
                  g.param(layer, vals["moving_mean"], "mean"),
                  g.param(layer, vals["moving_variance"], "var")],
                 layer.name, epsilon=float(layer.epsilon))
    elif cls is L.LayerNormalization:
        vals = dict(zip([v.name for v in layer.weights], w))
        feat = int(layer_in[-1])
        gamma = vals.get("gamma", np.ones(feat, np.float32))
        beta = vals.get("beta", np.zeros(feat, np.float32))
        x = g.op("LayerNormalization", [x, g.param(layer, gamma, "gamma"),
                                        g.param(layer, beta, "beta")],
                 layer.name, axis=-1, epsilon=float(layer.epsilon))
    elif cls is L.Normalization:  # (x - mean) / scale, or mean + x * scale (invert)
        mean, var = layer._stats()
        scale = np.maximum(np.sqrt(var), np.float32(1e-7)).astype(np.float32)
        m, s = g.const(mean, f"{layer.name}_mean"), g.const(scale, f"{layer.name}_scale")
        if layer.invert:
            x = g.op("Add", [g.op("Mul", [x, s], f"{layer.name}_mul"), m], layer.name)
        else:
            x = g.op("Div", [g.op("Sub", [x, m], f"{layer.name}_sub"), s], layer.name)
    elif cls is L.Rescaling:
        sc = np.asarray(layer.scale, np.float32).reshape(-1)
        off = np.asarray(layer.offset, np.float32).reshape(-1)
        x = g.op("Add", [g.op("Mul", [x, g.const(sc, f"{layer.name}_scale")], f"{layer.name}_mul"),
                         g.const(off, f"{layer.name}_offset")], layer.name)
    elif cls is L.UnitNormalization:  # x * 1/sqrt(max(sum x^2, 1e-24))
        ss = g.op("ReduceSumSquare", [x], f"{layer.name}_ss", axes=[-1], keepdims=1)
        ss = g.op("Max", [ss, g.const(np.float32(1e-24), f"{layer.name}_eps2")], f"{layer.name}_clamp")
        x = g.op("Div", [x, g.op("Sqrt", [ss], f"{layer.name}_norm")], layer.name)
    elif cls is L.Discretization:  # index = sum over boundaries of (x >= b)
        b = np.asarray(layer.bin_boundaries, np.float32)
        if b.size == 0 or layer.output_mode != "int":
            raise ValueError(f"export: {where} has no ONNX form yet with output_mode="
                             f"{layer.output_mode!r} and {b.size} boundaries (exportable: 'int', >= 1 boundary)")
        axis = g.name(f"{layer.name}_axis")
        g.inits.append(onnx.numpy_helper.from_array(np.array([-1], np.int64), axis))
        xe = g.op("Unsqueeze", [x, axis], f"{layer.name}_x")
        ge = g.op("GreaterOrEqual", [xe, g.const(b, f"{layer.name}_bins")], f"{layer.name}_ge")
        x = g.op("ReduceSum", [g.op("Cast", [ge], f"{layer.name}_f", to=1), axis], layer.name, keepdims=0)
    elif cls is L.Embedding:  # Gather of the table's rows at the ids (float ids cast to int64)
        ids = g.op("Cast", [x], f"{layer.name}_ids", to=7)
        x = g.op("Gather", [g.param(layer, w[0], "embeddings"), ids], layer.name, axis=0)
    elif cls is L.CategoryEncoding:  # OneHot of the ids; multi_hot / count reduce the last input axis
        ids = g.op("Cast", [x], f"{layer.name}_ids", to=7)
        depth = g.name(f"{layer.name}_depth")
        g.inits.append(onnx.numpy_helper.from_array(np.array([layer.num_tokens], np.int64), depth))
        hot = g.op("OneHot", [ids, depth, g.const(np.array([0, 1], np.float32), f"{layer.name}_values")],
                   f"{layer.name}_onehot", axis=-1)
        if layer.output_mode == "one_hot":
            x = _reshape(g, onnx, hot, shape, layer.name)
        elif layer.output_mode == "multi_hot":
            x = g.op("ReduceMax", [hot], layer.name, axes=[-2], keepdims=0)
        else:
            axes = g.name(f"{layer.name}_axes")
            g.inits.append(onnx.numpy_helper.from_array(np.array([-2], np.int64), axes))
            x = g.op("ReduceSum", [hot, axes], layer.name, keepdims=0)
    elif cls is L.Reshape:
        x = _reshape(g, onnx, x, shape, layer.name)
    elif cls is L.RepeatVector:  # (b, d) -> (b, 1, d), broadcast to (b, n, d)
        axes = g.name(f"{layer.name}_axes")
        g.inits.append(onnx.numpy_helper.from_array(np.array([1], np.int64), axes))
        x1 = g.op("Unsqueeze", [x, axes], f"{layer.name}_unsqueeze")
        reps = g.name(f"{layer.name}_shape")
        g.inits.append(onnx.numpy_helper.from_array(np.array([1, layer.n, 1], np.int64), reps))
        x = g.op("Expand", [x1, reps], layer.name)
    elif cls in (L.GlobalAveragePooling1D, L.GlobalMaxPooling1D):  # the steps axis reduced (opset 17: axes attribute)
        op = "ReduceMax" if cls is L.GlobalMaxPooling1D else "ReduceMean"
        x = g.op(op, [x], layer.name, axes=[2 if layer.data_format == "channels_first" else 1],
                 keepdims=int(layer.keepdims))
    elif cls is L.ActivityRegularization:  # the identity outside training
        return x
    elif cls in (L.Activation, L.ReLU, L.LeakyReLU, L.ELU, L.Softmax):
        x = _activation(g, x, layer._act_name, layer._act_params, where)
    else:
        raise ValueError(f"export: {where} has no ONNX form yet (exportable: "
                         f"{', '.join(BUILTIN_LAYER_NAMES)})")
    return x


_INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")


def _graph_to_onnx(model, onnx):
    """A graph model (``ranvier._functional_graph.Functional``): one ONNX input per model
    input (its InputLayer's name; float32, or int64 for an integer ``Input(dtype=...)``, cast
    to float32 as ranvier feeds it to the network), one output per model output (named as
    ``model.output_names``), the leaf nodes in the network's topological order."""
    from .. import layers as L
    from ..layers._merge import _Merge
    h = onnx.helper
    g = _Graph(onnx)
    in_names = list(model.input_names)
    out_names: List[str] = []
    for nm in model.output_names:  # an output listed twice gets a suffix (ONNX names are unique)
        base, i = nm, 1
        while nm in out_names or nm in in_names:
            i += 1
            nm = f"{base}_{i}"
        out_names.append(nm)
    g.reserved.update(in_names + out_names)
    for gn in model._gnodes:
        if isinstance(gn.layer, (L.StringLookup, L.IntegerLookup)):
            raise ValueError(
                f"export: layer '{gn.layer.name}' ({type(gn.layer).__name__}) maps raw string/integer keys, which "
                f"ranvier encodes in Python before the network; it has no ONNX form. Export a model that takes "
                f"the encoded indices as its input (the lookup applied outside it), or save it with model.save()")
    tensors = {}
    value_inputs = []
    for k, il in enumerate(model._input_layers):
        dims = ["batch"] + [int(d) for d in tuple(il.batch_shape)[1:]]
        dt = str(il.dtype)
        if dt in _INT_DTYPES:
            value_inputs.append(h.make_tensor_value_info(in_names[k], onnx.TensorProto.INT64, dims))
            tensors[k] = g.op("Cast", [in_names[k]], f"{in_names[k]}_float", to=1)
        elif dt in ("float32", "float64", "float16", "bfloat16"):
            value_inputs.append(h.make_tensor_value_info(in_names[k], onnx.TensorProto.FLOAT, dims))
            tensors[k] = in_names[k]
        else:
            raise ValueError(f"export: input '{in_names[k]}' has dtype {dt!r}; the ONNX export takes float and "
                             f"integer inputs only (string keys are encoded outside the network)")
    shapes = model._key_shapes
    for gn in model._gnodes:
        xs = [tensors[k] for k in gn.inputs]
        if isinstance(gn.layer, _Merge):
            x = merge_node(g, gn.layer, xs, [shapes[k] for k in gn.inputs])
        elif len(xs) != 1:
            raise ValueError(f"export: layer '{gn.layer.name}' ({type(gn.layer).__name__}) takes "
                             f"{len(xs)} inputs and is not a merge layer")
        else:
            x = layer_node(g, gn.layer, xs[0], tuple(shapes[gn.inputs[0]]), tuple(shapes[gn.output]))
        tensors[gn.output] = x
    value_outputs = []
    for k, nm in zip(model._out_keys, out_names):
        g.nodes.append(h.make_node("Identity", [tensors[k]], [nm], name=nm))
        dims = ["batch"] + [int(d) for d in tuple(shapes[k])[1:]]
        value_outputs.append(h.make_tensor_value_info(nm, onnx.TensorProto.FLOAT, dims))
    graph = h.make_graph(g.nodes, model.name, value_inputs, value_outputs, initializer=g.inits)
    proto = h.make_model(graph, producer_name="ranvier", opset_imports=[h.make_opsetid("", OPSET)])
    proto.ir_version = IR_VERSION
    onnx.checker.check_model(proto)
    return proto


def to_onnx(model):
    """The ONNX ModelProto of a built model: a Sequential (or chain-shaped) model has the
    input "input" and the output "output"; a graph model one input per model input and one
    output per model output, by their names (see ``_graph_to_onnx``)."""
    onnx = _require_onnx()
    if not model.built:
        raise ValueError("export: the model is not built yet; build it (fit, predict, build() or an Input "
                         "first) so its shapes and weights exist")
    if callable(getattr(model, "_predict_rows", None)):  # a graph model (ranvier._functional_graph)
        return _graph_to_onnx(model, onnx)
    g = _Graph(onnx)
    in_shape = list(model.input_shape)[1:]
    x = "input"
    shape = tuple(model.input_shape)  # the current layer's input shape
    for layer in common.file_layers(model):
        layer_in, shape = shape, tuple(layer.compute_output_shape(shape))
        x = layer_node(g, layer, x, layer_in, shape)
    if x == "input":
        x = g.op("Identity", [x], "identity")
    g.nodes[-1].output[0] = "output"
    out_dim = int(model.output_shape[-1])
    h = onnx.helper
    graph = h.make_graph(
        g.nodes, model.name,
        [h.make_tensor_value_info("input", onnx.TensorProto.FLOAT, ["batch"] + [int(d) for d in in_shape])],
        [h.make_tensor_value_info("output", onnx.TensorProto.FLOAT, ["batch", out_dim])],
        initializer=g.inits)
    proto = h.make_model(graph, producer_name="ranvier", opset_imports=[h.make_opsetid("", OPSET)])
    proto.ir_version = IR_VERSION
    onnx.checker.check_model(proto)
    return proto


def export_onnx(model, filepath, verbose: bool = True, **kwargs) -> None:
    """Writes ``to_onnx(model)`` to filepath (atomically, as model files)."""
    if kwargs:
        raise ValueError(f"export: unexpected arguments {sorted(kwargs)}")
    proto = to_onnx(model)
    common.write_atomic(filepath, [proto.SerializeToString()], "export")
    if verbose:
        ins = ", ".join(f"'{i.name}' (batch, {', '.join(str(d.dim_value) for d in i.type.tensor_type.shape.dim[1:])})"
                        for i in proto.graph.input)
        outs = ", ".join(f"'{o.name}'" for o in proto.graph.output)
        print(f"Saved an ONNX model (opset {OPSET}) to '{filepath}': input {ins}, output {outs}.")
