"""Merge layers: Concatenate, Add, Subtract, Multiply, Average, Maximum, Minimum and Dot
(Keras 3's ``keras.layers.merging``), plus the lower-case functional forms ``add``,
``concatenate``, ... Each computes in its C++ layer (cpp/src/layers/merge.cpp, on the
f32-vmerge kernels).

A merge layer takes a list of inputs. Called on NumPy arrays it returns the merged array
(``Add()([a, b])`` is ``a + b``); called on symbolic tensors (``ranvier.Input``) it goes to
the functional API like any layer.

What the functional API (``ranvier._functional``) uses
-------------------------------------------------------
- ``layer.compute_output_shape([shape, ...])``: the output shape (batch first) for the
  input shapes (batch first, ``None`` for unknown sizes); ValueError naming the shapes
  when they cannot be merged. ``layer._num_inputs_ok(k)`` says whether ``k`` inputs fit.
- ``layer.build([shape, ...])``: validates the shapes and creates ``layer._core_layer``
  (``_core.Layer``) built with ``build_inputs`` for the inputs' widths (product of the
  non-batch dims); no weights. ``layer._input_sample_shapes`` keeps the per-sample shapes.
- ``layer._make_core(sample_shapes)``: a new C++ layer for inputs of these per-sample
  shapes (no batch axis), unbuilt: call ``core.build_inputs(widths)`` on it (a second node
  of a layer called twice gets its own core this way; there are no weights to share);
  ``layer._make_core_for([shape, ...])`` the same for shapes given batch first.
- The C++ layer runs ``forward_inputs`` / ``backward_inputs`` on rows (the flattened
  per-sample shapes); ``_core.layer_from_config(name, config, input_shapes=...)`` builds the
  same layer from the config, and ``_core.layer_merge_shape`` gives its output shape.
"""
from __future__ import annotations

import numbers
import threading
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import _checks, _core, mixed_precision
from ._base import Layer, _is_symbolic, _shown, check_runnable_layer, normalize_shape, symbolic_hook

_Shape = Tuple[Optional[int], ...]


def _merge_shapes_arg(input_shape, who: str) -> List[_Shape]:
    """A list of input shapes (each batch first) from ``input_shape``; ValueError when it is
    not a list of shapes."""
    if (not isinstance(input_shape, (list, tuple)) or not input_shape
            or not all(isinstance(s, (list, tuple)) for s in input_shape)):
        raise ValueError(f"A merge layer should be called on a list of inputs. {who} received: "
                         f"input_shape={_shown(input_shape)} (not a list of shapes)")
    shapes = [normalize_shape(s, "input_shape") for s in input_shape]
    for s in shapes:
        if len(s) < 1:
            raise ValueError(f"{who}: every input needs a batch axis, got input_shape={shapes}")
    batches = {s[0] for s in shapes} - {None}
    if len(batches) > 1:
        raise ValueError(f"Cannot merge tensors with different batch sizes. Received tensors with shapes {shapes}")
    return shapes


class _Merge(Layer):
    """Base of the merge layers (several inputs, one output, no weights)."""

    _min_inputs = 1
    _is_multi_input = True
    _max_inputs: Optional[int] = None

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._input_sample_shapes: Optional[List[Tuple[int, ...]]] = None
        _core.layer_check_config(type(self).__name__, self._core_config())

    # ---- the C++ layer
    def _core_config(self) -> Dict[str, Any]:
        return {}

    def _make_core(self, sample_shapes: Optional[Sequence[Sequence[int]]] = None) -> _core.Layer:
        """A new C++ layer for inputs of the per-sample shapes ``sample_shapes`` (no batch
        axis; None: vectors of the widths given to ``build_inputs``), not yet built."""
        shapes = [[int(d) for d in s] for s in (sample_shapes or [])]
        return _core.layer_from_config(type(self).__name__, self._core_config(), input_shapes=shapes)

    def _make_core_for(self, input_shapes) -> _core.Layer:
        """``_make_core`` for input shapes given batch first (as the functional graph holds
        them), checked; not yet built (``core.build_inputs(widths)`` next)."""
        shapes = _merge_shapes_arg(input_shapes, self._describe())
        self.compute_output_shape(shapes)
        samples = [[d for d in s[1:] if d is not None] for s in shapes]
        if any(len(p) != len(s) - 1 for p, s in zip(samples, shapes)):
            raise ValueError(f"{self._describe()} needs inputs of known sizes (other than the batch), "
                             f"got input_shape={shapes}")
        return self._make_core(samples)

    def _num_inputs_ok(self, k: int) -> bool:
        """Whether the layer takes ``k`` inputs."""
        return k >= self._min_inputs and (self._max_inputs is None or k <= self._max_inputs)

    # ---- shapes
    def compute_output_shape(self, input_shape):
        """The output shape (batch first) for a list of input shapes (batch first, None for
        unknown sizes); ValueError naming the shapes when they cannot be merged."""
        shapes = _merge_shapes_arg(input_shape, self._describe())
        for s in shapes:
            if any(d is not None and d < 1 for d in s[1:]):
                raise ValueError(f"{self._describe()}: input shapes must have positive dimensions (or None), "
                                 f"got {shapes}")
            if any(d is not None and d > _checks.MAX_FEATURES for d in s[1:]):
                raise ValueError(f"{self._describe()}: an input of shape {s} has more than the "
                                 f"{_checks.MAX_FEATURES} (2**40) features per sample a model file can hold")
        samples = [[-1 if d is None else d for d in s[1:]] for s in shapes]
        try:
            out = _core.layer_merge_shape(type(self).__name__, self._core_config(), samples)
        except ValueError as e:
            msg, prefix = str(e), f"{type(self).__name__}: "
            raise ValueError(f"{self._describe()}: {msg[len(prefix):] if msg.startswith(prefix) else msg}") from None
        batches = {s[0] for s in shapes} - {None}
        batch = batches.pop() if batches else None
        if isinstance(self, Concatenate):  # Keras's Concatenate keeps the first input's dims
            batch = shapes[0][0]
        return (batch,) + tuple(None if d < 0 else int(d) for d in out)

    def _in_features(self, input_shape):  # a list of shapes: see build
        raise ValueError(f"{self._describe()} takes a list of inputs")

    # ---- building
    def build(self, input_shape) -> None:
        """Checks a list of input shapes (batch first) and creates the C++ layer for them
        (a merge layer has no weights)."""
        check_runnable_layer(self)
        shapes = _merge_shapes_arg(input_shape, self._describe())
        self.compute_output_shape(shapes)  # the shape checks, with their messages
        core, samples = self._build_core(shapes)
        self._core_layer = core
        self._params, self._grads, self._names, self._intrinsic = [], [], [], []
        self._capacity = 0
        self._input_sample_shapes = [tuple(s) for s in samples]
        self._build_input_shape = tuple(tuple(s) for s in shapes)
        self.built = True

    def _build_core(self, shapes: Sequence[_Shape]) -> Tuple[_core.Layer, List[List[int]]]:
        """(the C++ layer built for inputs of ``shapes`` (batch first), their per-sample shapes)."""
        samples: List[List[int]] = []
        for shape in shapes:
            dims = [d for d in shape[1:] if d is not None]
            if len(dims) != len(shape) - 1:
                raise ValueError(f"{self._describe()} needs inputs of known sizes (other than the batch), "
                                 f"got input_shape={list(shapes)}")
            if float(np.prod(dims, dtype=np.float64)) > _checks.MAX_FEATURES:
                raise ValueError(f"{self._describe()}: an input of shape {tuple(shape)} has more than the "
                                 f"{_checks.MAX_FEATURES} (2**40) features a model file can hold")
            samples.append([int(d) for d in dims])
        core = self._make_core(samples)
        core.build_inputs([int(np.prod(s, dtype=np.int64)) for s in samples])
        return core, samples

    def get_build_config(self) -> Optional[Dict[str, Any]]:
        """``{"input_shape": [(...), (...)]}`` once built (Keras's layout for merge layers)."""
        if self._build_input_shape is None:
            return None
        return {"input_shape": [tuple(s) for s in self._build_input_shape]}

    def build_from_config(self, config: Dict[str, Any]) -> None:
        """Builds the layer from ``get_build_config()``'s dict (no-op when already built)."""
        shape = (config or {}).get("input_shape")
        if shape is not None and not self.built:
            self.build([tuple(s) for s in shape])

    # ---- calling on NumPy data
    def __call__(self, inputs, training=None, **kwargs):
        """The merged array for a list of arrays (batch first; Keras's semantics)."""
        check_runnable_layer(self)
        if _is_symbolic(inputs):
            return symbolic_hook("call_symbolic")(self, inputs, training, kwargs)
        kwargs.pop("mask", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}.__call__ got unexpected arguments {sorted(kwargs)}")
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"A merge layer should be called on a list of inputs. {self._describe()} received: "
                             f"inputs of type {type(inputs).__name__} (not a list of tensors)")
        arrays = []
        for i, x in enumerate(inputs):
            arr = _checks.as_numeric_array(x, f"inputs[{i}]", self._describe())
            if arr.dtype == object or arr.dtype.kind not in "fiub":
                raise TypeError(f"{self._describe()}: inputs[{i}] must be an array of real numbers, got dtype={arr.dtype}")
            if arr.ndim < 1:
                raise ValueError(f"{self._describe()}: inputs[{i}] needs a batch axis, got a scalar")
            arrays.append(arr)
        shapes = [(a.shape[0],) + tuple(a.shape[1:]) for a in arrays]
        out_shape = self.compute_output_shape([((None,) + s[1:]) for s in shapes] if arrays else [])
        if len({s[0] for s in shapes}) > 1:
            raise ValueError(f"Cannot merge tensors with different batch sizes. Received tensors with shapes {shapes}")
        sym = [(None,) + s[1:] for s in shapes]
        if not self.built:
            self.build(sym)
        # no weights: a call on other shapes than the built ones runs a core made for them
        core = self._core_layer if list(self._build_input_shape or ()) == sym else self._build_core(sym)[0]
        assert core is not None
        n = shapes[0][0]
        rows = [_checks.to_float32(a.reshape(n, core.input_features(i)), f"inputs[{i}]", self._describe())
                for i, a in enumerate(arrays)]
        out = np.empty((n, core.out_features), dtype=np.float32)
        owner = self._owner()
        net = getattr(owner, "_net_obj", None) if owner is not None else None
        locked = net is not None and getattr(owner, "_inference_holder", None) != threading.get_ident()
        if locked:
            net.lock_inference()
        try:
            if core is not self._core_layer or n > self._capacity:
                core.reserve(n)
                if core is self._core_layer:
                    self._capacity = n
            core.forward_inputs(rows, out, bool(training), 0)
        finally:
            if locked:
                net.unlock_inference()
        if self._dtype_policy.compute_dtype == "float16":  # mixed_float16: Keras's float16 output
            out = mixed_precision.to_float16(out)
        return out.reshape((n,) + out_shape[1:])


# ----------------------------------------------------------------------------- elementwise
class Add(_Merge):
    """``keras.layers.Add()``: the elementwise sum of its inputs (1 or more). Shapes
    broadcast as Keras's do, aligned on the last axis: a dim of 1 (or a missing leading dim)
    stretches, so (None, 4) with (None, 1) gives (None, 4), as do the other elementwise
    merge layers. Evaluated left to right. Gradient: dy to every input (summed over the
    stretched positions). No weights."""


class Subtract(_Merge):
    """``keras.layers.Subtract()``: ``inputs[0] - inputs[1]`` (exactly 2 inputs, broadcast
    as in ``Add``). Gradients: dy and -dy. No weights."""

    _min_inputs = 2
    _max_inputs = 2


class Multiply(_Merge):
    """``keras.layers.Multiply()``: the elementwise product of its inputs (1 or more,
    broadcast as in ``Add``), left to right. Gradient of input i: dy times the product of the other inputs.
    No weights."""


class Average(_Merge):
    """``keras.layers.Average()``: the elementwise mean of its inputs (1 or more, broadcast
    shapes): their sum (left to right) divided by their count, as Keras computes it.
    Gradient: dy / count to every input. No weights."""


class Maximum(_Merge):
    """``keras.layers.Maximum()``: the elementwise maximum of its inputs (1 or more, broadcast
    shapes); NaN propagates. Gradient: dy goes, per element, to the first input (in input
    order) that holds the maximum, 0 to the others (TF's gradient of ``maximum(x, y)`` gives
    ties to ``x``; chained over the inputs, the earliest equal input wins; where the output
    is NaN, the last input takes dy, as in TF). No weights."""


class Minimum(_Merge):
    """``keras.layers.Minimum()``: the elementwise minimum of its inputs (1 or more, broadcast
    shapes); NaN propagates. Gradient: dy to the first input holding the minimum (ties: the
    earliest; a NaN output: the last input, as ``Maximum``). No weights."""


# ----------------------------------------------------------------------------- Concatenate
class Concatenate(_Merge):
    """``keras.layers.Concatenate(axis=-1)``: joins its inputs (1 or more) along ``axis``;
    every other dimension must match (ValueError naming the shapes otherwise). Any non-batch
    axis of the samples works (``axis=1`` joins (None, 2, 5) and (None, 1, 5) into
    (None, 3, 5)). Gradient: each input's slice of dy. No weights."""

    def __init__(self, axis=-1, **kwargs):
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"Concatenate: axis must be an int, got axis={_shown(axis)}")
        self.axis = int(axis)
        super().__init__(**kwargs)

    def _core_config(self):
        return {"axis": self.axis}

    def get_config(self):
        """Keras's config: the base keys and ``axis``."""
        config = super().get_config()
        config["axis"] = self.axis
        return config


# ----------------------------------------------------------------------------- Dot
class Dot(_Merge):
    """``keras.layers.Dot(axes, normalize=False)``: the dot product of 2 inputs along
    ``axes`` (an int for both, or a list of 2 ints; the batch axis 0 cannot be one), as
    Keras's ``batch_dot``: inputs of rank 2 or 3 (batch included). (None, 4) with (None, 4)
    and ``axes=1`` gives (None, 1); (None, 3, 4) twice gives (None, 3, 3) with ``axes=2``
    and (None, 4, 4) with ``axes=1``. ``normalize=True`` first L2-normalizes each input
    along its axis (``x * min(rsqrt(sum x^2), 1e7)``, so the output is the cosine
    similarity and a zero vector gives 0). No weights."""

    _min_inputs = 2
    _max_inputs = 2

    def __init__(self, axes, normalize=False, **kwargs):
        if isinstance(axes, bool) or not isinstance(axes, (numbers.Integral, list, tuple)):
            raise TypeError(f"Invalid type for argument `axes`: it should be a list or an int. Received: axes={axes!r}")
        if isinstance(axes, (list, tuple)):
            if len(axes) != 2:
                raise ValueError(f"Invalid format for argument `axes`: it should contain two elements. "
                                 f"Received: axes={axes!r}")
            if any(isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in axes):
                raise ValueError(f"Invalid format for argument `axes`: list elements should be integers. "
                                 f"Received: axes={axes!r}")
            axes = type(axes)(int(a) for a in axes)
        else:
            axes = int(axes)
        self.axes = axes
        self.normalize = _checks.check_bool(normalize, "normalize")
        super().__init__(**kwargs)

    def _core_config(self):
        return {"axes": list(self.axes) if isinstance(self.axes, (list, tuple)) else self.axes,
                "normalize": self.normalize}

    def get_config(self):
        """Keras's config: the base keys, ``axes`` and ``normalize``."""
        config = super().get_config()
        config.update({"axes": self.axes, "normalize": self.normalize})
        return config


# ----------------------------------------------------------------------------- functional forms
def add(inputs, **kwargs):
    """Functional interface to ``Add``: ``Add(**kwargs)(inputs)``."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """Functional interface to ``Subtract``: ``Subtract(**kwargs)(inputs)``."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """Functional interface to ``Multiply``: ``Multiply(**kwargs)(inputs)``."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """Functional interface to ``Average``: ``Average(**kwargs)(inputs)``."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """Functional interface to ``Maximum``: ``Maximum(**kwargs)(inputs)``."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """Functional interface to ``Minimum``: ``Minimum(**kwargs)(inputs)``."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """Functional interface to ``Concatenate``: ``Concatenate(axis=axis, **kwargs)(inputs)``."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """Functional interface to ``Dot``: ``Dot(axes=axes, **kwargs)(inputs)`` (Keras's
    default here is ``axes=-1``; ``normalize=`` goes through ``kwargs``)."""
    return Dot(axes=axes, **kwargs)(inputs)
