"""Layers on integer ids and on shapes: Embedding, CategoryEncoding (cpp/src/layers/embedding.cpp),
Reshape and RepeatVector (cpp/src/layers/reshape.cpp).

Ids travel in the network's float32 rows as exact integers. Python checks them before they
reach C++ (``check_ids``: a ValueError naming the layer, the bad value, where it is and the
valid range) and the C++ layers check them again in forward (for the C/C++ apps).
Unlike Keras, which casts fractional ids to int (1.7 becomes 1) and wraps negative ones on
TensorFlow, ranvier refuses both: a fractional or negative id is almost always a data bug.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Dict, Optional, Tuple

import numpy as np

from .. import _checks, _core
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from ._base import Layer, _shown, get_initializer
from ._core_layers import _get_constraint, _get_regularizer

MAX_IDS = 1 << 24  # ids are exact in float32 below 2**24: the largest input_dim / num_tokens


class UnsupportedArgumentError(NotImplementedError, ValueError):
    """An argument value Keras accepts but ranvier does not implement (both a
    NotImplementedError and a ValueError)."""


def check_ids(arr: np.ndarray, limit: int, who: str, name: str = "x") -> None:
    """ValueError unless every value of the numeric array ``arr`` is an integer id in
    ``[0, limit)`` (bools count as 0 and 1). The message names ``who``, the first bad value
    and its index."""
    arr = np.asarray(arr)
    if arr.size == 0:
        return
    kind = arr.dtype.kind
    if arr.dtype == object or kind not in "fiub":
        raise TypeError(f"{who}: {name} must hold integer ids, got dtype={arr.dtype}")
    if kind == "f":
        with np.errstate(invalid="ignore"):
            frac = ~np.isfinite(arr) | (np.floor(arr) != arr)
        if frac.any():
            idx = tuple(int(i) for i in np.argwhere(frac)[0])
            v = arr[idx].item()
            raise ValueError(
                f"{who}: ids must be integers in [0, {limit}), got {name}[{', '.join(map(str, idx))}]={v!r}, which "
                f"is not an integer (Keras would truncate it; ranvier refuses fractional ids: round or cast the "
                f"data to int first if that is meant)")
    if kind == "b":
        if limit >= 2 or not arr.any():
            return
    with np.errstate(invalid="ignore"):
        bad = (arr < 0) | (arr >= limit)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        v = arr[idx].item()
        big = (f"; ids travel as float32 in ranvier, exact below 2**24 = {MAX_IDS}" if v >= MAX_IDS else "")
        raise ValueError(f"{who}: ids must be integers in [0, {limit}), got {name}[{', '.join(map(str, idx))}]="
                         f"{v!r}, which is out of range{big}")


def _numeric_input(layer: Layer, x) -> np.ndarray:
    arr = _checks.as_numeric_array(x, "x", layer._describe())
    if arr.dtype == object or arr.dtype.kind not in "fiub":
        raise TypeError(f"{layer._describe()}: x must be an array of real numbers, got dtype={arr.dtype}")
    return arr


def _eager_rows(layer: Layer, rows: np.ndarray, training) -> np.ndarray:
    """``rows`` (2-D) through the layer's C++ layer; when the layer was built for another
    row width, through a fresh C++ layer of that width bound to the same weights."""
    core = layer._core_layer
    if core is not None and int(core.in_features) == rows.shape[1]:
        return Layer.__call__(layer, rows, training=training)
    rows = _checks.to_float32(rows, "x", layer._describe())
    tmp = layer._make_core()
    tmp.build(rows.shape[1])
    tmp.bind(layer._params, layer._grads)
    tmp.reserve(max(rows.shape[0], 1))
    out = np.empty((rows.shape[0], int(tmp.out_features)), np.float32)
    layer._last_activity_loss = float(tmp.forward(rows, out, False, 0))
    return out


def _sample_width(shape, who: str) -> int:
    """The number of values per sample of ``shape`` (batch first): 1 for rank <= 1."""
    dims = tuple(shape)[1:]
    if any(d is None for d in dims):
        raise ValueError(f"{who} needs every non-batch dimension known, got input_shape={tuple(shape)}")
    n = _checks.check_shape_product(dims, "input_shape", who) if dims else 1
    if n <= 0:
        raise ValueError(f"{who} needs a non-empty sample, got input_shape={tuple(shape)}")
    return n


def _positive_dim(value, argument: str, who: str, maximum: Optional[int] = None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{who}: `{argument}` must be a positive integer, got {argument}={_shown(value)}")
    v = int(value)
    if maximum is not None and v > maximum:
        why = (" (2**24: ids travel as float32 in ranvier, exact below 2**24)" if maximum == MAX_IDS
               else " (2**40, what a model file can hold)")
        raise ValueError(f"{who}: `{argument}` is too large: at most {maximum}{why}, got {argument}={v}")
    return v


# ----------------------------------------------------------------------------- Embedding
class Embedding(Layer):
    """``keras.layers.Embedding(input_dim, output_dim, embeddings_initializer="uniform",
    embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False, weights=None)``:
    maps each integer id in ``[0, input_dim)`` to a row of the ``embeddings`` weight
    (input_dim, output_dim). Output shape = input shape + ``(output_dim,)``; input of any
    rank ((batch,) gives (batch, output_dim)).

    ``"uniform"`` is ``RandomUniform(-0.05, 0.05)``, as Keras. Regularizers (L1/L2/L1L2)
    and constraints (MaxNorm/NonNeg/UnitNorm/MinMaxNorm) act on the whole table, like a Dense
    kernel's; ``activity_regularizer`` on the output. Forward is a gather, backward a
    scatter-add (the same bits at any thread count); the optimizer step is dense over the
    table, as in Keras. Integer input (any int dtype) and float input holding integers are
    accepted; fractional, negative or out-of-range ids raise ValueError (Keras would truncate
    fractions and, on TensorFlow, wrap negative ids). ``input_dim`` is at most 2**24.
    ``mask_zero=True`` is refused (ranvier has no layer that consumes a mask);
    ``input_length`` is ignored with a warning, as Keras 3 does.
    """

    _flat_input = True  # takes the whole (flattened) sample: every id of it is embedded

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, activity_regularizer=None, **kwargs):
        if "input_length" in kwargs:
            kwargs.pop("input_length")
            warnings.warn("Argument `input_length` is deprecated. Just remove it.", stacklevel=2)
        input_dim = _positive_dim(input_dim, "input_dim", "Embedding", MAX_IDS)
        output_dim = _positive_dim(output_dim, "output_dim", "Embedding", _checks.MAX_FEATURES)
        mask_zero = _checks.check_bool(mask_zero, "mask_zero", "Embedding")
        if mask_zero:
            raise UnsupportedArgumentError(
                "Embedding: mask_zero=True is not supported by ranvier, which has no layer that consumes a mask "
                "(RNNs, attention, pooling); use mask_zero=False (Keras's Flatten drops the mask as well, so "
                "Embedding -> Flatten -> Dense computes the same)")
        if lora_rank is not None or quantization_config is not None:
            raise UnsupportedArgumentError("Embedding: lora_rank and quantization_config are not supported by ranvier")
        if weights is not None and not (isinstance(weights, list) and len(weights) == 1):
            weights = [weights]  # Keras: the initial table itself, or a one-element list
        super().__init__(weights=weights, **kwargs)
        self.input_dim = input_dim
        self.output_dim = output_dim
        self.mask_zero = False
        self.lora_rank = None
        self.lora_alpha = lora_alpha
        self.embeddings_initializer = get_initializer(embeddings_initializer, "embeddings_initializer")
        self.embeddings_regularizer, _ = _get_regularizer(embeddings_regularizer, "embeddings_regularizer")
        self.activity_regularizer, _ = _get_regularizer(activity_regularizer, "activity_regularizer")
        self.embeddings_constraint, _ = _get_constraint(embeddings_constraint, 2, "embeddings_constraint")
        if weights is not None:
            self.build()  # Keras builds at once to set them

    def _describe(self) -> str:
        return f"Embedding '{self.name}'"

    def _core_config(self) -> Dict[str, Any]:
        return {"name": self.name, "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_regularizer": _regularizers.serialize(self.embeddings_regularizer),
                "activity_regularizer": _regularizers.serialize(self.activity_regularizer),
                "embeddings_constraint": _constraints.serialize(self.embeddings_constraint)}

    def _make_core(self):
        return _core.layer_from_config("Embedding", self._core_config())

    def _initializer_for(self, name):
        return {"embeddings": self.embeddings_initializer}[name]

    def _in_features(self, input_shape: tuple) -> int:
        n = _sample_width(input_shape, self._describe())
        _checks.check_shape_product(tuple(input_shape)[1:] + (self.output_dim,), "output shape", self._describe())
        return n

    def build(self, input_shape=None) -> None:
        """Creates the ``embeddings`` table; ``input_shape`` (batch first) only sets how many
        ids a sample holds (None: one)."""
        super().build((None,) if input_shape is None else input_shape)

    def _check_input_values(self, arr: np.ndarray, name: str, what: str) -> None:
        check_ids(arr, self.input_dim, f"{what}: {self._describe()}" if what else self._describe(), name)

    @property
    def embeddings(self):
        """The (input_dim, output_dim) ``embeddings`` ``Variable``."""
        self._require_built("embeddings")
        return self.weights[0]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def compute_mask(self, inputs, mask=None):
        """None: ranvier's Embedding makes no mask (``mask_zero`` is False)."""
        return None

    def _weight_count(self, input_shape):
        return self.input_dim * self.output_dim

    def __call__(self, x, training=None, **kwargs):
        kwargs.pop("mask", None)
        if kwargs:
            raise TypeError(f"Embedding.__call__ got unexpected arguments {sorted(kwargs)}")
        arr = _numeric_input(self, x)
        self._check_input_values(arr, "x", "")
        if not self.built:
            self.build((None,) + tuple(arr.shape[1:]))
        n = arr.shape[0] if arr.ndim else 1
        rows = arr.reshape(n, -1) if n else arr.reshape(0, max(1, math.prod(arr.shape[1:])))
        if rows.shape[1] == 0:
            return np.zeros(arr.shape + (self.output_dim,), np.float32)
        out = _eager_rows(self, rows, training)
        return out.reshape(arr.shape + (self.output_dim,))

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": _initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": _regularizers.serialize(self.embeddings_regularizer),
            "activity_regularizer": _regularizers.serialize(self.activity_regularizer),
            "embeddings_constraint": _constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "quantization_config": None,
        })
        return config


# ----------------------------------------------------------------------------- CategoryEncoding
_MODES = ("one_hot", "multi_hot", "count")


class CategoryEncoding(Layer):
    """``keras.layers.CategoryEncoding(num_tokens, output_mode="multi_hot", sparse=False)``:
    integer ids in ``[0, num_tokens)`` as float32 vectors of depth ``num_tokens``.

    - ``"one_hot"``: each id encoded; a trailing axis of size 1 is replaced ((n, 1) and (n,)
      give (n, num_tokens)), otherwise one is added ((n, k) gives (n, k, num_tokens));
    - ``"multi_hot"`` (``"binary"``): 1 at every id of the last axis, which is one sample
      ((n, k) gives (n, num_tokens); (n,) is one sample and gives (num_tokens,));
    - ``"count"``: how often each id occurs along the last axis (same shapes);
      ``layer(x, count_weights=w)`` sums the weights ``w`` (shape of x) instead of ones.

    No weights; the gradient is zero. Unlike Keras, which drops ids >= num_tokens silently,
    out-of-range, negative and fractional ids raise ValueError. ``sparse=True`` is refused
    (dense outputs only). ``num_tokens`` is at most 2**24.
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        if num_tokens is None:
            raise ValueError("num_tokens must be set to use this layer. If the number of tokens is not known "
                             "beforehand, use the IntegerLookup layer instead.")
        if isinstance(num_tokens, (bool, np.bool_)) or not isinstance(num_tokens, numbers.Integral) or int(num_tokens) < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: num_tokens={_shown(num_tokens)}.")
        num_tokens = _positive_dim(num_tokens, "num_tokens", "CategoryEncoding", MAX_IDS)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if not isinstance(output_mode, str) or output_mode not in _MODES:
            raise ValueError(f"Unknown arg for output_mode: {output_mode!r} (CategoryEncoding takes 'one_hot', "
                             f"'multi_hot' or 'count')")
        sparse = _checks.check_bool(sparse, "sparse", "CategoryEncoding")
        if sparse:
            raise UnsupportedArgumentError("CategoryEncoding: sparse=True is not supported: ranvier's outputs are "
                                           "dense arrays")
        super().__init__(**kwargs)
        self.num_tokens = num_tokens
        self.output_mode = output_mode
        self.sparse = False

    def _describe(self) -> str:
        return f"CategoryEncoding '{self.name}'"

    @property
    def _flat_input(self) -> bool:
        # one_hot encodes every value of the sample; multi_hot/count reduce the last axis
        return self.output_mode == "one_hot"

    def _make_core(self):
        return _core.layer_from_config("CategoryEncoding", {"name": self.name, "num_tokens": self.num_tokens,
                                                            "output_mode": self.output_mode})

    def _in_features(self, input_shape: tuple) -> int:
        shape = tuple(input_shape)
        if self.output_mode == "one_hot" or len(shape) < 2:
            n = _sample_width(shape, self._describe())
            if self.output_mode == "one_hot":
                _checks.check_shape_product((n, self.num_tokens), "output shape", self._describe())
            return n
        return super()._in_features(shape)

    def _check_input_values(self, arr: np.ndarray, name: str, what: str) -> None:
        check_ids(arr, self.num_tokens, f"{what}: {self._describe()}" if what else self._describe(), name)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        if not shape:
            return (self.num_tokens,)
        if self.output_mode == "one_hot" and shape[-1] != 1:
            return shape + (self.num_tokens,)
        return shape[:-1] + (self.num_tokens,)

    def __call__(self, x, training=None, count_weights=None, **kwargs):
        kwargs.pop("mask", None)
        if kwargs:
            raise TypeError(f"CategoryEncoding.__call__ got unexpected arguments {sorted(kwargs)}")
        if count_weights is not None and self.output_mode != "count":
            raise ValueError("`count_weights` is not used when `output_mode` is not `'count'`. "
                             f"Received `count_weights={_shown(count_weights)}`.")
        arr = _numeric_input(self, x)
        self._check_input_values(arr, "x", "")
        out_shape = self.compute_output_shape(arr.shape)
        if arr.size == 0:
            return np.zeros(tuple(0 if d is None else d for d in out_shape), np.float32)
        if count_weights is not None:
            return self._weighted_counts(arr, count_weights, out_shape)
        if self.output_mode == "one_hot":
            n = arr.shape[0] if arr.ndim else 1
            rows = arr.reshape(n, -1)
        else:
            rows = arr.reshape(-1, arr.shape[-1] if arr.ndim else 1) if arr.ndim >= 2 else arr.reshape(1, -1)
        if not self.built:
            self.build((None, rows.shape[1]))
        return _eager_rows(self, rows, training).reshape(out_shape)

    def _weighted_counts(self, arr: np.ndarray, count_weights, out_shape) -> np.ndarray:
        """count mode with ``count_weights``: the weights of each id summed along the last axis
        (float64 sums in element order, then float32)."""
        w = _checks.as_numeric_array(count_weights, "count_weights", self._describe())
        if w.dtype == object or w.dtype.kind not in "fiub" or w.shape != arr.shape:
            raise ValueError(f"{self._describe()}: count_weights must be numbers of the input's shape {arr.shape}, "
                             f"got shape {np.shape(w)}")
        k = arr.shape[-1] if arr.ndim >= 1 else 1
        ids = arr.reshape(-1, k).astype(np.int64)
        ws = w.reshape(-1, k).astype(np.float64)
        out = np.zeros((ids.shape[0], self.num_tokens), np.float64)
        rows = np.repeat(np.arange(ids.shape[0]), k)
        np.add.at(out, (rows, ids.reshape(-1)), ws.reshape(-1))
        return out.astype(np.float32).reshape(out_shape)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"num_tokens": self.num_tokens, "output_mode": self.output_mode})  # Keras 3.15's keys
        return config


# ----------------------------------------------------------------------------- Reshape
def _target_shape(target_shape) -> Tuple[int, ...]:
    if isinstance(target_shape, (str, bytes)) or not isinstance(target_shape, (list, tuple)):
        if isinstance(target_shape, numbers.Integral) and not isinstance(target_shape, bool):
            target_shape = (target_shape,)
        else:
            raise TypeError(f"Reshape: target_shape must be a tuple of integers, got target_shape="
                            f"{_shown(target_shape)}")
    dims = []
    for d in target_shape:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral):
            raise TypeError(f"Reshape: target_shape must be a tuple of integers, got target_shape="
                            f"{_shown(target_shape)}")
        dims.append(int(d))
    if sum(1 for d in dims if d == -1) > 1:
        raise ValueError("There must be at most one unknown dimension (-1) in output_shape. Received: "
                         f"output_shape={tuple(dims)}")
    if any(d <= 0 and d != -1 for d in dims) or not dims:
        raise ValueError(f"Reshape: target_shape dimensions must be positive (or one -1 for an unknown dimension), "
                         f"got target_shape={tuple(dims)}")
    return tuple(dims)


class Reshape(Layer):
    """``keras.layers.Reshape(target_shape)``: each sample reshaped to ``target_shape`` (no
    batch axis; at most one -1, inferred from the sample's size), row-major as NumPy's
    ``reshape``. No weights; the gradient is reshaped back. A size mismatch raises
    ValueError."""

    _flat_input = True

    def __init__(self, target_shape, **kwargs):
        target = _target_shape(target_shape)
        super().__init__(**kwargs)
        self.target_shape = target

    def _make_core(self):
        return _core.layer_from_config("Reshape", {"target_shape": list(self.target_shape)})

    def _in_features(self, input_shape: tuple) -> int:
        n = _sample_width(input_shape, self._describe())
        self._resolve(n, input_shape)
        return n

    def _resolve(self, n: Optional[int], input_shape) -> Tuple[Optional[int], ...]:
        known = math.prod(d for d in self.target_shape if d != -1)
        if n is None:
            return tuple(None if d == -1 else d for d in self.target_shape)
        if (-1 in self.target_shape and n % known) or (-1 not in self.target_shape and n != known):
            raise ValueError(f"{self._describe()}: the input has {n} values per sample (input_shape="
                             f"{tuple(input_shape)}), which cannot be reshaped to target_shape={self.target_shape} "
                             f"(the total size must stay the same)")
        return tuple(n // known if d == -1 else d for d in self.target_shape)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        dims = shape[1:]
        n = None if any(d is None for d in dims) else math.prod(dims)
        return (shape[0] if shape else None,) + self._resolve(n, shape)

    def __call__(self, x, training=None, **kwargs):
        kwargs.pop("mask", None)
        if kwargs:
            raise TypeError(f"Reshape.__call__ got unexpected arguments {sorted(kwargs)}")
        arr = _numeric_input(self, x)
        if arr.ndim < 1:
            raise ValueError(f"{self._describe()} expects input with a batch axis, got a scalar")
        out_shape = (arr.shape[0],) + self._resolve(math.prod(arr.shape[1:]), arr.shape)
        if not self.built:
            self.build((None,) + tuple(arr.shape[1:]))
        if arr.shape[0] == 0:
            return np.zeros(out_shape, np.float32)
        return _eager_rows(self, arr.reshape(arr.shape[0], -1), training).reshape(out_shape)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config


# ----------------------------------------------------------------------------- RepeatVector
class RepeatVector(Layer):
    """``keras.layers.RepeatVector(n)``: a 2-D input (batch, features) becomes (batch, n,
    features), each sample repeated ``n`` times. The gradient sums the ``n`` copies. ``n``
    must be an int (TypeError) > 0 (ValueError)."""

    def __init__(self, n, **kwargs):
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
            raise TypeError(f"Expected an integer value for `n`. Received: n={_shown(n)}")
        if n <= 0:
            raise ValueError(f"RepeatVector: n must be a positive integer, got n={n}")
        super().__init__(**kwargs)
        self.n = int(n)

    def _make_core(self):
        return _core.layer_from_config("RepeatVector", {"n": self.n})

    def _in_features(self, input_shape: tuple) -> int:
        if len(tuple(input_shape)) != 2:
            raise ValueError(f"Input 0 of layer \"{self.name}\" is incompatible with the layer: expected ndim=2, "
                             f"found ndim={len(tuple(input_shape))}. Full shape received: {tuple(input_shape)}")
        d = super()._in_features(input_shape)
        _checks.check_shape_product((self.n, d), "output shape", self._describe())
        return d

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        return (shape[0], self.n) + shape[1:]

    def __call__(self, x, training=None, **kwargs):
        kwargs.pop("mask", None)
        if kwargs:
            raise TypeError(f"RepeatVector.__call__ got unexpected arguments {sorted(kwargs)}")
        arr = _numeric_input(self, x)
        self._in_features((None,) + tuple(arr.shape[1:]) if arr.ndim else ())
        if not self.built:
            self.build((None,) + tuple(arr.shape[1:]))
        if arr.shape[0] == 0:
            return np.zeros((0, self.n, arr.shape[1]), np.float32)
        return _eager_rows(self, arr, training).reshape(arr.shape[0], self.n, arr.shape[1])

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["n"] = self.n
        return config
