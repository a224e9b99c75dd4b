"""Tabular layers: Normalization and Discretization (with adapt), Rescaling, Identity, UnitNormalization,
ActivityRegularization, GaussianDropout and AlphaDropout. Each computes in its C++ layer
(cpp/src/layers/normalization.cpp, discretization.cpp, elementwise.cpp,
noise_dropout.cpp)."""
from __future__ import annotations

import math
import numbers
from typing import Any, Dict, Iterable, Optional, Tuple

import numpy as np

from .. import _checks, _core, _data, _random
from .. import initializers as _initializers
from ._base import BroadcastVariable, Layer, _shown, check_layer_argument, check_seed

_EPSILON = np.float32(1e-7)  # keras.backend.epsilon()


def _finite_numbers(value, argument: str, who: str) -> np.ndarray:
    """``value`` (a number or a nested list/array of numbers) as float64; ValueError otherwise."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{who}: `{argument}` must be a number or a list of numbers, got {argument}={value!r}") from None
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{who}: `{argument}` must hold finite numbers, got {argument}={value!r}")
    big = float(np.max(np.abs(arr)))
    if big > float(np.finfo(np.float32).max):  # the C++ layer holds it as float32: inf there
        raise ValueError(f"{who}: `{argument}` holds {big:g}, which overflows float32 (largest magnitude "
                         f"{float(np.finfo(np.float32).max):g}); ranvier computes in float32: rescale it")
    return arr


def _adapt_values(data, who: str) -> np.ndarray:
    """The numbers of one batch of ``adapt`` data (an array, a DataFrame, a nested list):
    strings and objects are a TypeError; ragged lists, NaN and inf a ValueError (they would
    turn the statistics into NaN, and every output after them)."""
    try:
        arr = np.asarray(data.to_numpy() if hasattr(data, "to_numpy") else data)
    except ValueError as e:  # ragged nested lists
        raise ValueError(f"{who}: data could not be converted to an array of numbers: {e}") from None
    if arr.dtype == object or arr.dtype.kind not in "fiub":
        raise TypeError(f"{who}: data must hold real numbers, got dtype={arr.dtype}")
    if arr.dtype.kind == "f" and arr.size and not np.all(np.isfinite(arr)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(f"{who}: data contains NaN or inf (data.shape={arr.shape}, e.g. data[{', '.join(map(str, bad))}]="
                         f"{arr[bad]}); clean the data first, e.g. with np.nan_to_num")
    return arr


def _tolist(value):
    """JSON-ready form of a scalar or array argument (Keras: np.array(value).tolist())."""
    return np.array(value).tolist()


def _rank_lt2_rows(layer: Layer, x) -> Optional[np.ndarray]:
    """Rank 0/1 numeric input as a float32 array (for the elementwise layers), else None."""
    arr = _checks.as_numeric_array(x, "x", layer._describe())
    if arr.ndim >= 2 or arr.dtype == object or arr.dtype.kind not in "fiub":
        return None
    return _checks.to_float32(arr.reshape(-1), "x", layer._describe()).reshape(arr.shape)


def _check_last_axis(axis, input_shape, who: str) -> None:
    ndim = len(input_shape)
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if any(a < -ndim or a >= ndim for a in axes):
        raise ValueError(f"All `axis` values must be in the range [-ndim, ndim). Received inputs with ndim={ndim}, "
                         f"while axis={axis}")
    if len(axes) != 1 or axes[0] % ndim != ndim - 1 or ndim < 2:
        raise ValueError(f"{who}: ranvier computes over the last axis only (axis=-1), got axis={axis!r} for "
                         f"input_shape={tuple(input_shape)}")


# ----------------------------------------------------------------------------- Normalization
class Normalization(Layer):
    """``keras.layers.Normalization(axis=-1, mean=None, variance=None, invert=False)``:
    ``(x - mean) / max(sqrt(variance), 1e-7)`` per feature (``axis=-1``) or with one scalar
    mean and variance (``axis=None``); ``invert=True`` maps back: ``mean + x * max(sqrt(variance), 1e-7)``.

    Either pass ``mean`` and ``variance`` (constants kept in the config, as Keras: the layer
    then has no weights), or call ``adapt(data)``, which computes the population mean and
    variance (``np.mean``/``np.var``, accumulated in float64) into the non-trainable weights
    ``mean``, ``variance`` and ``count`` (Keras's backward-compatibility scalar, left at 0).
    As in Keras, an un-adapted layer holds mean 0 and variance 1. The statistics are saved
    in the model file, so ``load_model``, the C/C++ apps and the ONNX export (Sub, Div) use
    them. The gradient passes through the scale. Only the last axis (or None) is supported.
    """

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        if axis is None:
            axis = ()
        elif isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
            axis = (int(axis),)
        elif isinstance(axis, (list, tuple)) and all(
                isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis):
            axis = tuple(int(a) for a in axis)
        else:
            raise TypeError(f"Normalization: axis must be an int, a tuple of ints or None, got axis={axis!r}")
        if len(axis) > 1:
            raise ValueError(f"Normalization: ranvier normalizes over the last axis (axis=-1) or over all values "
                             f"(axis=None), got axis={axis}")
        if (mean is not None) != (variance is not None):
            raise ValueError("When setting values directly, both `mean` and `variance` must be set. "
                             f"Received: mean={mean} and variance={variance}")
        if mean is not None:
            if np.shape(mean) != np.shape(variance):
                raise ValueError("When setting values directly, `mean` and `variance` must have the same shape. "
                                 f"Received: mean shape {np.shape(mean)} and variance shape {np.shape(variance)}")
            if len(np.shape(mean)) > len(axis):
                raise ValueError(f"The rank of `mean` must be less than or equal to the number of axes "
                                 f"({len(axis)}). Received: mean shape {np.shape(mean)} for axis {axis}")
            _finite_numbers(mean, "mean", "Normalization")
            var = _finite_numbers(variance, "variance", "Normalization")
            if np.any(var < 0):  # sqrt of a negative variance: NaN outputs (Keras computes them)
                raise ValueError(f"Normalization: `variance` must hold values >= 0, got variance={variance!r}")
        invert = _checks.check_bool(invert, "invert")
        super().__init__(**kwargs)
        self.axis = axis
        self.input_mean = mean
        self.input_variance = variance
        self.invert = invert
        self._pending: Optional[Tuple[np.ndarray, np.ndarray]] = None  # adapt() before build (axis=None)

    def _core_config(self):
        mean = None if self.input_mean is None else np.asarray(self.input_mean, np.float64).reshape(-1).tolist()
        var = None if self.input_variance is None else np.asarray(self.input_variance, np.float64).reshape(-1).tolist()
        return {"axis": [-1] if self.axis else [], "invert": self.invert, "mean": mean, "variance": var}

    def build(self, input_shape):
        shape = tuple(input_shape)
        if self.axis:
            _check_last_axis(self.axis, shape, "Normalization")
        super().build(input_shape)

    def _build_unchecked(self, input_shape) -> None:
        super()._build_unchecked(input_shape)
        if self._pending is not None and self._params:
            mean, var = self._pending
            self._pending = None
            np.copyto(self._params[0], mean.astype(np.float32))
            np.copyto(self._params[1], var.astype(np.float32))

    def _weight_count(self, input_shape):
        if self.input_mean is not None:
            return 0
        d = input_shape[-1] if len(input_shape) >= 2 else None
        k = (int(d) if d else 0) if self.axis else 1
        return 2 * k + 1

    def _make_core(self):
        return _core.layer_from_config("Normalization", self._core_config())

    def _initializer_for(self, name):
        return {"mean": _initializers.Zeros(), "variance": _initializers.Ones(),
                "count": _initializers.Zeros()}[name]

    # ---- adapt
    def adapt(self, data, batch_size=None, steps=None):
        """Sets ``mean`` and ``variance`` to the population statistics of ``data``: a NumPy
        array, a pandas DataFrame, a nested list of numbers, or an iterable of batches
        (arrays, or ``(x, y)`` tuples of which ``x`` is used; ``steps`` limits how many are
        read). Batches are merged by count, so the result equals the statistics of their
        union. Accumulated in float64. Each call replaces the previous statistics.
        ``batch_size`` is accepted for compatibility (it does not change the result)."""
        if self.input_mean is not None:
            raise ValueError("Normalization: adapt() cannot be used on a layer constructed with `mean` and "
                             "`variance`; construct it without them to adapt")
        if batch_size is not None:
            _checks.check_int(batch_size, "batch_size", "Normalization.adapt", 1)
        if steps is not None:
            steps = _checks.check_int(steps, "steps", "Normalization.adapt", 1)
        if self._is_array(data):
            arr = self._numeric(data)
            self._check_adapt_shape(arr.shape)
            red = self._reduce_axes(arr.ndim)
            if arr.size == 0:
                raise ValueError(f"Normalization.adapt: data is empty, data.shape={arr.shape}")
            mean, var = arr.mean(axis=red), arr.var(axis=red)
            self._adapt_ndim = arr.ndim
        else:
            mean, var = self._adapt_batches(data, steps)
            self._adapt_ndim = 1
        self._store(mean, var)

    @staticmethod
    def _is_array(data) -> bool:
        if isinstance(data, np.ndarray) or hasattr(data, "to_numpy") or hasattr(data, "__array__"):
            return True
        if isinstance(data, (list, tuple)):
            return not any(isinstance(b, (np.ndarray, tuple)) or hasattr(b, "to_numpy") for b in data)
        return False

    @staticmethod
    def _numeric(data) -> np.ndarray:
        return _adapt_values(data, "Normalization.adapt").astype(np.float64)

    def _reduce_axes(self, ndim: int) -> tuple:
        return tuple(range(ndim)) if not self.axis else tuple(range(ndim - 1))

    def _check_adapt_shape(self, shape) -> None:
        if self.axis:
            if len(shape) < 2:
                raise ValueError(f"Normalization.adapt: with axis=-1 the data must have rank >= 2 (samples, "
                                 f"features), got data.shape={tuple(shape)}; reshape it (x.reshape(-1, 1)) or use "
                                 f"axis=None for one mean and variance")
            built = self._build_input_shape
            if self.built and built is not None:
                if shape[-1] != built[-1]:
                    raise ValueError(f"The layer was built with input_shape={built}, but adapt() is being called "
                                     f"with data with an incompatible shape, data.shape={tuple(shape)}")
            else:
                self.build((None,) + tuple(shape[1:]))
        elif not self.built and len(shape) >= 2:
            self.build((None,) + tuple(shape[1:]))

    def _adapt_batches(self, data, steps):
        if not isinstance(data, Iterable) and not hasattr(data, "__iter__"):
            raise TypeError(f"Normalization.adapt: unsupported data type {type(data).__name__}; pass a NumPy "
                            f"array, a DataFrame or an iterable of batches")
        data = _data.batched_if_unbatched(data)
        total_mean = total_var = None
        count = 0
        for i, batch in enumerate(data):
            if steps is not None and i >= steps:
                break
            if isinstance(batch, tuple):
                batch = batch[0]
            arr = self._numeric(batch)
            self._check_adapt_shape(arr.shape)
            red = self._reduce_axes(arr.ndim)
            n = int(np.prod([arr.shape[d] for d in red])) if red else 1
            if n == 0:
                continue
            bm, bv = arr.mean(axis=red), arr.var(axis=red)
            if total_mean is None:
                total_mean, total_var, count = bm, bv, n
                continue
            count += n
            w = float(n) / count
            ew = 1.0 - w
            new_mean = total_mean * ew + bm * w
            total_var = (total_var + (total_mean - new_mean) ** 2) * ew + (bv + (bm - new_mean) ** 2) * w
            total_mean = new_mean
        if total_mean is None:
            raise ValueError("adapt() received an empty iterable (no batches). Expected at least one batch.")
        return total_mean, total_var

    def _store(self, mean, var) -> None:
        mean = np.asarray(mean, np.float64)
        var = np.asarray(var, np.float64)
        if not self.built:
            self._pending = (mean, var)
            return
        w = self.get_weights()
        self.set_weights([mean.reshape(w[0].shape), var.reshape(w[1].shape), w[2]])

    # ---- statistics, for the ONNX export and rank < 2 calls
    def _stats(self) -> Tuple[np.ndarray, np.ndarray]:
        """(mean, variance) as float32 (per feature, or scalars with axis=None)."""
        if self.input_mean is not None:
            return (np.asarray(self.input_mean, np.float32).reshape(-1),
                    np.asarray(self.input_variance, np.float32).reshape(-1))
        if self.built:
            return self._params[0].reshape(-1).copy(), self._params[1].reshape(-1).copy()
        if self._pending is not None:
            return self._pending[0].astype(np.float32).reshape(-1), self._pending[1].astype(np.float32).reshape(-1)
        return np.zeros(1, np.float32), np.ones(1, np.float32)

    def __call__(self, x, training=None, **kwargs):
        """The normalized input. With axis=None, inputs of rank 0 and 1 are normalized elementwise."""
        rows = _rank_lt2_rows(self, x) if not self.axis else None
        if rows is None:
            return super().__call__(x, training=training, **kwargs)
        mean, var = self._stats()
        scale = np.maximum(np.sqrt(var), _EPSILON)
        return (mean + rows * scale) if self.invert else (rows - mean) / scale

    def _broadcast_shape(self) -> tuple:
        """Keras's broadcast shape of the statistics: ones, with the feature axis kept."""
        shape = tuple(self._build_input_shape or (None, None))
        keep = bool(self.axis) and len(shape) >= 2 and shape[-1] is not None
        return (1,) * (max(len(shape), 1) - keep) + ((int(shape[-1]),) if keep else ())

    def _stat(self, name: str, given):
        if given is not None:  # the constructor's constants: as given until built
            return np.broadcast_to(np.asarray(given, np.float32).reshape(np.shape(given) if np.ndim(given) <= 1 else (
                -1,)), self._broadcast_shape()).copy() if self.built else given
        if not self.built and self._pending is not None:  # adapted (axis=None), not built: the data's rank
            value = self._pending[0 if name == "mean" else 1]
            return np.asarray(value, np.float32).reshape((1,) * max(int(self.__dict__.get("_adapt_ndim", 1)), 1))
        weight = self._weight(name)
        return BroadcastVariable(weight, self._broadcast_shape()) if weight is not None else None

    mean = property(lambda self: self._stat("mean", self.input_mean),
                    doc="The mean in Keras's broadcast shape (``(1, d)`` for d features; ``(1, 1)`` with "
                        "axis=None): a live view of the adapted weight, or the constructor's ``mean`` "
                        "(as given before the layer is built).")
    variance = property(lambda self: self._stat("variance", self.input_variance),
                        doc="The variance, in the same shape as ``mean``.")

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis, "invert": self.invert, "mean": _tolist(self.input_mean),
                       "variance": _tolist(self.input_variance)})
        return config

    @classmethod
    def from_config(cls, config):
        """Creates the layer from ``get_config()``'s dict (axis as a list is read as a tuple)."""
        config = dict(config)
        if isinstance(config.get("axis"), list):
            config["axis"] = tuple(config["axis"])
        return cls(**config)


# ----------------------------------------------------------------------------- Discretization
def _summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """Keras's quantile summary of one batch: every step-th sorted value, weight step."""
    values = np.sort(np.reshape(values, [-1]))
    num_buckets = 1.0 / epsilon
    step = max(np.size(values) / num_buckets, 1)
    start = step - 1
    boundaries = values[int(start)::int(step)]
    return np.stack([boundaries, np.ones_like(boundaries) * step])


def _compress_summary(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """Keras's compression: interpolated values at cumulative-weight fractions epsilon, 2 epsilon, ..."""
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cum_weights = summary[1].cumsum()
    cum_weight_percents = cum_weights / cum_weights[-1]
    new_bins = np.interp(percents, cum_weight_percents, summary[0])
    cum_weights = np.interp(percents, cum_weight_percents, cum_weights)
    new_weights = cum_weights - np.concatenate((np.array([0]), cum_weights[:-1]))
    return np.stack((new_bins, new_weights)).astype("float32")


def _merge_summaries(prev: np.ndarray, nxt: np.ndarray, epsilon: float) -> np.ndarray:
    merged = np.concatenate((prev, nxt), axis=1)
    merged = np.take(merged, np.argsort(merged[0]), axis=1)
    return _compress_summary(merged, epsilon)


_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


class Discretization(Layer):
    """``keras.layers.Discretization(bin_boundaries=None, num_bins=None, epsilon=0.01,
    output_mode="int")``: each value becomes the index of its bucket, the number of
    boundaries <= x (``np.digitize``: a value equal to a boundary goes up). One list of
    boundaries for all features, as Keras. ``adapt(data, steps=None)`` (with ``num_bins``)
    computes ``num_bins - 1`` boundaries with Keras's approximate quantiles (``epsilon``
    resolution). ``output_mode``: "int" (a direct call returns int32, as Keras; inside a
    model the indices flow on as float32), "one_hot" (one input feature: (batch, depth)),
    "multi_hot" and "count" ((batch, depth)), depth = boundaries + 1. No weights: the
    boundaries are in the config, so the model file holds them. The gradient is zero."""

    def __init__(self, bin_boundaries=None, num_bins=None, epsilon=0.01, output_mode="int", sparse=False,
                 **kwargs):
        if sparse:
            raise ValueError(f"`sparse=True` cannot be used with ranvier (dense outputs only). Received: "
                             f"sparse={sparse} and output_mode={output_mode}")
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(f"Unknown value for `output_mode` argument of layer Discretization. Allowed values "
                             f"are: {_OUTPUT_MODES}. Received: output_mode={output_mode}")
        if num_bins is not None:
            if isinstance(num_bins, bool) or not isinstance(num_bins, numbers.Integral):
                raise ValueError(f"`num_bins` must be an integer. Received: `num_bins={num_bins}`")
            if num_bins < 0:
                raise ValueError(f"`num_bins` must be greater than or equal to 0. Received: `num_bins={num_bins}`")
        if num_bins is not None and bin_boundaries is not None:
            raise ValueError("Both `num_bins` and `bin_boundaries` should not be set. Received: "
                             f"`num_bins={num_bins}` and `bin_boundaries={bin_boundaries}`")
        if num_bins is None and bin_boundaries is None:
            raise ValueError("You need to set either `num_bins` or `bin_boundaries`.")
        if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not 0 < epsilon <= 1:
            raise ValueError(f"Discretization: epsilon must be a number in (0, 1], got epsilon={epsilon!r}")
        super().__init__(**kwargs)
        self.bin_boundaries = None if bin_boundaries is None else self._check_boundaries(bin_boundaries)
        self.num_bins = None if num_bins is None else int(num_bins)
        self.epsilon = epsilon
        self.output_mode = output_mode
        self.sparse = False

    @staticmethod
    def _check_boundaries(b) -> list:
        try:
            arr = np.asarray(b, dtype=np.float64)
        except (TypeError, ValueError, OverflowError):  # strings, dicts, ragged or self-containing lists
            arr = np.zeros((0, 0))
        if arr.ndim != 1 or np.isnan(arr).any():
            raise ValueError(f"Discretization: `bin_boundaries` must be a flat list of numbers, got {_shown(b)}")
        if np.any(np.diff(arr) < 0):
            raise ValueError(f"Discretization: `bin_boundaries` must be sorted in increasing order, got {_shown(b)}")
        return [float(v) for v in arr]

    def _make_core(self):
        return _core.layer_from_config("Discretization", {"bin_boundaries": self.bin_boundaries,
                                                          "output_mode": self.output_mode})

    def build(self, input_shape):
        if self.bin_boundaries is None:
            raise ValueError("You need to either pass the `bin_boundaries` argument at construction time or call "
                             "`adapt(dataset)` before you can start using the `Discretization` layer.")
        super().build(input_shape)

    def adapt(self, data, steps=None):
        """Sets ``bin_boundaries`` to ``num_bins - 1`` approximate quantiles of all values of
        ``data`` (an array, a DataFrame, or an iterable of batches; ``steps`` limits the
        batches), with Keras's summaries (``epsilon`` resolution). A built layer is rebuilt
        with the new boundaries (its model rebuilds its network)."""
        if self.num_bins is None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized with `bin_boundaries`, "
                             "use `num_bins` instead.")
        if steps is not None:
            steps = _checks.check_int(steps, "steps", "Discretization.adapt", 1)
        summary = np.array([[], []], dtype="float32")
        if Normalization._is_array(data):
            batches: Iterable = [data]
        elif hasattr(data, "__iter__"):
            batches = data
        else:
            raise TypeError(f"Discretization.adapt: unsupported data type {type(data).__name__}")
        for i, batch in enumerate(batches):
            if steps is not None and i >= steps:
                break
            if isinstance(batch, tuple):
                batch = batch[0]
            arr = _adapt_values(batch, "Discretization.adapt").astype("float32")
            if arr.size == 0:
                continue
            summary = _merge_summaries(_summarize(arr, self.epsilon), summary, self.epsilon)
        if summary.shape[1] == 0:
            raise ValueError("Discretization.adapt: the data holds no values")
        self.bin_boundaries = [float(v) for v in _compress_summary(summary, 1.0 / self.num_bins)[0, :-1]]
        if self.built and self._build_input_shape is not None:
            self.build(self._build_input_shape)  # new constants: a new C++ layer

    def _depth(self) -> Optional[int]:
        if self.bin_boundaries is not None:
            return len(self.bin_boundaries) + 1
        return self.num_bins

    def compute_output_shape(self, input_shape):
        """The input shape ("int"); (..., depth) for "one_hot" of one feature; (batch, depth)
        for "multi_hot" and "count"."""
        shape = tuple(input_shape)
        if self.output_mode == "int":
            return shape
        if self.output_mode == "one_hot":
            return shape[:-1] + (self._depth(),) if len(shape) > 1 and shape[-1] == 1 else shape + (self._depth(),)
        return (shape[0], self._depth()) if len(shape) >= 2 else (self._depth(),)

    def __call__(self, x, training=None, **kwargs):
        """The bucket indices (int32) in "int" mode, else the float32 encoding (any rank in "int" mode)."""
        if self.bin_boundaries is None:
            self.build(None)  # raises Keras's message
        rows = _rank_lt2_rows(self, x)
        if rows is not None:
            idx = np.digitize(rows, np.asarray(self.bin_boundaries, np.float32))
            depth = len(self.bin_boundaries) + 1
            if self.output_mode == "int":
                return idx.astype(np.int32)
            if self.output_mode == "one_hot":
                return np.eye(depth, dtype=np.float32)[idx]
            counts = np.bincount(np.reshape(idx, -1), minlength=depth).astype(np.float32)
            return counts if self.output_mode == "count" else (counts > 0).astype(np.float32)
        out = super().__call__(x, training=training, **kwargs)
        return out.astype(np.int32) if self.output_mode == "int" and isinstance(out, np.ndarray) else out

    def get_config(self):
        config = super().get_config()
        config.update({"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins, "epsilon": self.epsilon,
                       "output_mode": self.output_mode, "sparse": self.sparse})
        # Keras's Discretization config: a plain dtype name and no "trainable" (a data layer)
        dtype = config.get("dtype")
        if isinstance(dtype, dict):
            config["dtype"] = (dtype.get("config") or {}).get("name", "float32")
        config.pop("trainable", None)
        return config

    @classmethod
    def from_config(cls, config):
        """Creates the layer from ``get_config()``'s dict (an adapted layer's config holds both
        ``num_bins`` and ``bin_boundaries``, as in Keras)."""
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            boundaries = config.pop("bin_boundaries")
            layer = cls(**config)
            layer.bin_boundaries = cls._check_boundaries(boundaries)
            return layer
        return cls(**config)


# ----------------------------------------------------------------------------- Rescaling
class Rescaling(Layer):
    """``keras.layers.Rescaling(scale, offset=0.0)``: ``x * scale + offset`` (float32, two
    roundings as Keras). ``scale`` and ``offset`` are numbers or one value per feature.
    No weights; the gradient is ``dy * scale``."""

    def __init__(self, scale, offset=0.0, **kwargs):
        _finite_numbers(scale, "scale", "Rescaling")
        _finite_numbers(offset, "offset", "Rescaling")
        super().__init__(**kwargs)
        self.scale = scale if np.ndim(scale) == 0 else _tolist(scale)
        self.offset = offset if np.ndim(offset) == 0 else _tolist(offset)

    def _make_core(self):
        return _core.layer_from_config("Rescaling", {
            "scale": np.asarray(self.scale, np.float64).reshape(-1).tolist(),
            "offset": np.asarray(self.offset, np.float64).reshape(-1).tolist()})

    def __call__(self, x, training=None, **kwargs):
        """``x * scale + offset``; inputs of rank 0 and 1 elementwise when scale and offset are scalars."""
        rows = _rank_lt2_rows(self, x) if np.ndim(self.scale) == 0 and np.ndim(self.offset) == 0 else None
        if rows is None:
            return super().__call__(x, training=training, **kwargs)
        return rows * np.float32(self.scale) + np.float32(self.offset)

    def get_config(self):
        config = super().get_config()
        config.update({"scale": self.scale, "offset": self.offset})
        return config


# ----------------------------------------------------------------------------- Identity
class Identity(Layer):
    """``keras.layers.Identity()``: returns its input (as float32). No weights."""

    _identity_at_inference = True  # the ONNX export leaves it out

    def _make_core(self):
        return _core.layer_from_config("Identity", {})

    def __call__(self, x, training=None, **kwargs):
        """The input, as float32 (any rank)."""
        rows = _rank_lt2_rows(self, x)
        return super().__call__(x, training=training, **kwargs) if rows is None else rows.copy()


# ----------------------------------------------------------------------------- UnitNormalization
class UnitNormalization(Layer):
    """``keras.layers.UnitNormalization(axis=-1)``: each sample divided by its L2 norm,
    ``x * rsqrt(max(sum(x**2), 1e-24))`` (Keras's ``ops.normalize``, epsilon 1e-12), so a
    zero row stays zero. Only the last axis. No weights."""

    def __init__(self, axis=-1, **kwargs):
        if isinstance(axis, (list, tuple)):
            axis = list(axis)
        elif not isinstance(axis, int) or isinstance(axis, bool):
            raise TypeError("Invalid value for `axis` argument: expected an int or a list/tuple of ints. "
                            f"Received: axis={axis}")
        super().__init__(**kwargs)
        self.axis = axis

    def build(self, input_shape):
        _check_last_axis(self.axis, tuple(input_shape), "UnitNormalization")
        super().build(input_shape)

    def _make_core(self):
        return _core.layer_from_config("UnitNormalization", {"axis": -1})

    def get_config(self):
        config = super().get_config()
        config.update({"axis": self.axis})
        return config


# ----------------------------------------------------------------------------- ActivityRegularization
def _check_penalty(value, argument: str) -> float:
    try:
        finite = math.isfinite(value)
    except (TypeError, OverflowError):  # not a number; an int past float's range
        finite = False
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not finite or value < 0:
        raise ValueError(f"Invalid value for argument {argument}: expected a non-negative float. "
                         f"Received: {argument}={_shown(value)}")
    return float(value)


class ActivityRegularization(Layer):
    """``keras.layers.ActivityRegularization(l1=0.0, l2=0.0)``: returns its input and adds
    ``(l1 * sum|x| + l2 * sum x**2) / batch_size`` to the loss in training (as a Dense
    layer's ``activity_regularizer``; Keras divides by the batch size); the gradient of that
    term flows back into the layers below. ``layer.losses`` holds the last call's penalty."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        l1 = _check_penalty(l1, "l1")
        l2 = _check_penalty(l2, "l2")
        super().__init__(**kwargs)
        self.l1, self.l2 = l1, l2

    def _make_core(self):
        return _core.layer_from_config("ActivityRegularization", {"l1": self.l1, "l2": self.l2})

    def get_config(self):
        config = super().get_config()
        config.update({"l1": self.l1, "l2": self.l2})
        return config


# ----------------------------------------------------------------------------- noise
class _SeededNoise(Layer):
    """GaussianDropout / AlphaDropout: training-only noise drawn from (seed, step, element)."""

    _identity_at_inference = True  # the ONNX export leaves it out

    def __init__(self, rate, seed=None, **kwargs):
        cls = type(self).__name__
        check_layer_argument(cls, "rate", rate)  # the core's check, Keras's message
        check_seed(seed, cls)
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.seed = None if seed is None else int(seed)
        self._core_seed = self.seed if self.seed is not None else _random.next_seed()

    def _core_config(self) -> dict:
        return {"rate": self.rate}

    def _make_core(self):
        return _core.layer_from_config(type(self).__name__, self._core_config(), seed=self._core_seed)

    def __call__(self, x, training=None, **kwargs):
        """The noisy input when ``training``, else the input. Any rank (rank 0 and 1 as one row)."""
        rows = _rank_lt2_rows(self, x)
        if rows is None:
            return super().__call__(x, training=training, **kwargs)
        flat = np.ascontiguousarray(rows.reshape(1, -1))
        if not training or flat.shape[1] == 0:
            return rows.copy()
        core = self._make_core()
        core.build(flat.shape[1])
        core.bind([], [])
        core.reserve(1)
        self._step += 1
        out = np.empty_like(flat)
        core.forward(flat, out, True, self._step)
        return out.reshape(rows.shape)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate, "seed": self.seed})
        return config


class GaussianDropout(_SeededNoise):
    """``keras.layers.GaussianDropout(rate, seed=None)``: multiplies by Gaussian noise of mean 1
    and standard deviation ``sqrt(rate / (1 - rate))`` in training; the identity in
    ``predict``/``evaluate``. ``rate`` in [0, 1]. The noise is the same at any thread count
    (counter-based, keyed by seed and training step)."""


class AlphaDropout(_SeededNoise):
    """``keras.layers.AlphaDropout(rate, noise_shape=None, seed=None)``: Keras 3's alpha
    dropout in training (dropped values set to ``-1.0507 * 1.6733``, then the affine map that
    keeps mean 0 and variance 1); the identity in ``predict``/``evaluate``. ``rate`` in [0, 1].
    ``noise_shape`` (batch, features): an entry of 1 shares one draw along that axis (as Dropout's)."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        if noise_shape is not None:
            if (isinstance(noise_shape, (str, bytes)) or not hasattr(noise_shape, "__len__")
                    or len(noise_shape) != 2 or any(
                        d is not None and (isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 1)
                        for d in noise_shape)):
                raise ValueError("AlphaDropout: noise_shape must have 2 entries (batch, features), each a positive "
                                 f"int or None, got noise_shape={noise_shape!r}")
            noise_shape = tuple(None if d is None else int(d) for d in noise_shape)
        super().__init__(rate, seed=seed, **kwargs)
        self.noise_shape = noise_shape
        self._features: Optional[int] = None

    def _in_features(self, input_shape):
        nf = super()._in_features(input_shape)
        self._features = nf
        return nf

    def _core_config(self) -> dict:
        config: Dict[str, Any] = {"rate": self.rate}
        if self.noise_shape is not None:
            nb, nfeat = self.noise_shape
            if nfeat is not None and self._features is not None and nfeat not in (1, self._features):
                raise ValueError(f"AlphaDropout: noise_shape={self.noise_shape} does not broadcast to inputs "
                                 f"with {self._features} features")
            rows = nb == 1
            cols = nfeat == 1 and self._features != 1
            config["noise_shape"] = [1 if rows else None, 1 if cols else None]
        return config

    def get_config(self):
        config = super().get_config()
        config["noise_shape"] = self.noise_shape
        return config


__all__: Any = ["Normalization", "Discretization", "Rescaling", "Identity", "UnitNormalization", "ActivityRegularization",
                "GaussianDropout", "AlphaDropout"]
