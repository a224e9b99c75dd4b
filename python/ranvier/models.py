"""The Keras-shaped model: ``Sequential`` with compile / fit / evaluate / predict.

The training loop runs in C++: ``fit`` hands the whole data set (NumPy arrays,
never copied when they are already C-contiguous float32) to a ``_core.Trainer``
that shuffles, gathers batches, runs forward, loss, backward, the optimizer step
and the metrics for many batches per call with the GIL released. Python gets
control back at a bounded rate (at most every ``_TIME_SLICE`` seconds, at least
one batch) for the progress bar, batch-level callbacks and Ctrl-C, and at every
epoch end.

Input conversions (the only copies ``fit``/``predict`` may make, once per call,
never per epoch): ``x`` that is not C-contiguous float32 (float64, ints, lists,
DataFrames, anything with ``__array__``) is converted with
``np.ascontiguousarray(x, dtype=np.float32)``; targets ``y`` are converted to a
float32 (n, k) array (labels for sparse losses as (n, 1)); sample weights to
float32 (n,).
"""
from __future__ import annotations

import contextlib
import copy
import functools
import math
import numbers
import re
import threading
import warnings
import weakref
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _checks, _core, _data, _profile, _random, _surface
from . import callbacks as callbacks_module
from . import layers as layers_module
from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from .layers import _base as layers_base

__all__ = ["Sequential", "load_model"]

_TIME_SLICE = 0.05  # seconds of C++ work between returns to Python during fit

_SPARSE_LOSSES = {"sparse_categorical_crossentropy"}

_name_counts: Dict[str, int] = {}


def _unique_model_name(base: str) -> str:
    n = _name_counts.get(base, 0)
    _name_counts[base] = n + 1
    return base if n == 0 else f"{base}_{n}"


def _is_input(obj) -> bool:
    return isinstance(obj, layers_module.InputLayer) or getattr(obj, "_is_keras_input", False)


def _as_float_rows(x, name: str, what: str) -> np.ndarray:
    """Converts ``x`` to a C-contiguous float32 array with rows as samples (see module doc)."""
    if x is None:
        raise ValueError(f"{what}: {name} is required, got None")
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{what}: {name} must be an array of numbers, got {type(x).__name__}")
    try:
        # pandas: non-numeric columns refused by name; nullable ones NA -> NaN (refused below)
        arr = _checks.as_numeric_array(x, name, what)
    except ValueError as e:  # ragged nested lists
        raise ValueError(f"{what}: {name} could not be converted to an array of numbers: {e}") from None
    if arr.dtype == object or arr.dtype.kind not in "fiub":
        raise TypeError(
            f"{what}: {name} must hold real numbers (float or int), got dtype={arr.dtype}")
    if arr.ndim == 0:
        raise ValueError(f"{what}: {name} must have a batch dimension, got a scalar")
    if arr.shape[0] == 0 or arr.size == 0:
        raise ValueError(f"{what}: {name} is empty ({name}.shape={arr.shape})")
    if not (arr.dtype == np.float32 and arr.flags.c_contiguous and arr.flags.aligned):
        arr = _checks.to_float32(arr, name, what)  # finite values beyond float32: a clear error
    return arr


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _check_finite(arr: np.ndarray, name: str, what: str) -> None:
    if not _core.all_finite(arr if arr.ndim == 1 or arr.flags.c_contiguous else arr.reshape(-1)):
        raise ValueError(f"{what}: {name} contains NaN or inf (shape {arr.shape}); "
                         f"clean the data first, e.g. with np.nan_to_num")


def _registers(what: str):
    """Runs the method as a registered call of the model (see ``Sequential._check_mutable``):
    while it runs, structural changes of the model are refused with RuntimeError.

    The common path takes no lock (predict is latency-sensitive): each thread only touches
    its own entry of ``_active`` (single dict operations, atomic under the GIL). A structural
    change sets ``_changing`` before it reads ``_active``, and a call reads ``_changing``
    after registering: either the change sees the call (and is refused) or the call sees the
    change and waits for it on ``_state_lock`` before going on."""
    def deco(fn):
        @functools.wraps(fn)
        def wrapper(self, *args, **kwargs):
            me = threading.get_ident()
            active = self._active
            entry = active.get(me)
            if entry is None:
                active[me] = entry = [what, 1]
            else:
                entry[1] += 1
            if self._changing:  # a structural change is under way: let it finish first
                with self._state_lock:
                    pass
            try:
                return fn(self, *args, **kwargs)
            finally:
                entry[1] -= 1
                if not entry[1]:
                    del active[me]
        return wrapper
    return deco


class Sequential:
    """A linear stack of layers (``keras.Sequential``).

    ``Sequential(layers=None, trainable=True, name=None)``; a first element that is
    ``ranvier.Input(shape=...)`` builds the model at once, otherwise it builds on
    the first ``fit``/``predict``/``build``.
    """

    def __init__(self, layers: Optional[Sequence[Any]] = None, trainable: bool = True,
                 name: Optional[str] = None):
        self.name = name or _unique_model_name("sequential")
        self.trainable = trainable
        self._layers: List[Any] = []
        self._input_shape: Optional[tuple] = None
        self._net: Optional[_core.Network] = None
        self._trainer: Optional[_core.Trainer] = None
        self._trainer_key: Optional[tuple] = None
        self._trainer_owner: Optional[int] = None  # the thread inside _using_trainer
        self.optimizer: Optional[optimizers_module.Optimizer] = None
        self.loss: Any = None
        self.compiled = False
        self._compile_config: Optional[dict] = None
        self._metric_objects: List[Any] = []
        self._weighted_metric_objects: List[Any] = []
        self._metrics_resolved = False
        self._resolved_metrics: List[metrics_module.ResolvedMetric] = []
        self.stop_training = False
        self.history = None
        # Calls in flight (fit/evaluate/predict/...): {thread id: [what, depth]}; structural
        # changes (add, pop, build, compile, layer.trainable, set_weights with other shapes)
        # are refused while any runs. Both guarded by _state_lock.
        self._active: Dict[int, list] = {}
        self._state_lock = threading.RLock()
        self._changing = 0  # structural changes under way (they hold _state_lock; see _registers)
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ layers
    def add(self, layer) -> None:
        """Appends a layer (or an ``Input``, only as the first element).

        A layer belongs to one model at a time: adding a layer that is in another model
        raises ValueError (see ``_check_not_shared``). A layer already built for N input
        features that would receive M != N features here raises ValueError naming both;
        the model is then left as it was."""
        with self._structural("Sequential.add"):
            if _is_input(layer):
                if self._layers or self._input_shape is not None:
                    raise ValueError("Sequential.add: an Input can only be the first element")
                self._input_shape = tuple(layer.shape)
                try:
                    self._build_layers()
                except BaseException:
                    self._input_shape = None
                    raise
                return
            if not isinstance(layer, layers_module.Layer):
                raise TypeError(f"Sequential.add: expected a ranvier layer, got {type(layer).__name__}")
            layers_base.check_runnable_layer(layer)  # a user's Layer subclass: what is supported
            if any(l.name == layer.name for l in self._layers):
                raise ValueError(f"Sequential.add: all layers must have unique names; "
                                 f"'{layer.name}' is already in the model")
            self._check_not_shared(layer)
            saved = (self._input_shape, self._net, self._trainer, self._trainer_key,
                     getattr(self, "_trainable_signature", None))
            self._layers.append(layer)
            self._invalidate()
            try:
                hint = getattr(layer, "_input_shape_hint", None)
                if len(self._layers) == 1 and self._input_shape is None and hint is not None:
                    self._input_shape = (None,) + tuple(hint)[1:]  # Dense(..., input_shape=...) as Keras
                if self._input_shape is not None:
                    self._build_layers()
            except BaseException:  # refused: the model stays as it was (the other layers are
                self._layers.pop()  # still bound to the saved network: _build_layers binds last)
                (self._input_shape, self._net, self._trainer, self._trainer_key,
                 self._trainable_signature) = saved
                raise
            layer._owner_ref = weakref.ref(self)

    def _check_not_shared(self, layer) -> None:
        """A layer object lives in one model at a time. Its weights are views into that
        model's flat buffers, which its optimizer updates and its C++ network reads; a
        second model would re-bind the layer to its own buffers, so the first model would
        silently stop training it and a fit of one model during a predict of the other would
        race on the layer's workspaces. Keras shares the weights instead; ranvier refuses,
        saying how to get what sharing is usually for."""
        ref = getattr(layer, "_owner_ref", None)
        owner = ref() if ref is not None else None
        if owner is None or owner is self or not any(l is layer for l in owner._layers):
            return
        raise ValueError(
            f"Sequential.add: layer '{layer.name}' already belongs to model '{owner.name}'; a ranvier layer "
            f"can be in one model at a time (its weights live in that model's buffers). To reuse it: "
            f"remove it from '{owner.name}' first (pop), or add a copy with the same weights, e.g. "
            f"new = type(layer).from_config(layer.get_config()); new.build(layer.input_shape); "
            f"new.set_weights(layer.get_weights()) (a copy is not tied to the original: train one "
            f"model, then copy the weights over with set_weights to keep them equal)")

    def _check_new_layer(layer, names) -> None:
        """What ``add`` checks of a layer; ``names``: the names already in the model."""
        if not isinstance(layer, layers_module.Layer):
            raise TypeError(f"Sequential.add: expected a ranvier layer, got {type(layer).__name__}")
        layers_base.check_runnable_layer(layer)  # a user's Layer subclass: what is supported
        if layer.name in names:
            raise ValueError(f"Sequential.add: all layers must have unique names; "
                             f"'{layer.name}' is already in the model")

    def pop(self):
        """Removes and returns the last layer."""
        with self._structural("Sequential.pop"):
            if not self._layers:
                raise ValueError("Sequential.pop: there are no layers to remove")
            layer = self._layers.pop()
            self._invalidate()
            if self._input_shape is not None and self._layers:
                self._build_layers()
            if getattr(layer, "_owner_ref", None) is not None and layer._owner_ref() is self:
                layer._owner_ref = None
            return layer

    # ------------------------------------------------------- structure guards
    def _check_mutable(self, what: str) -> None:
        """RuntimeError when a fit/evaluate/predict/... of this model is running (in another
        thread, or in this one with the change coming from one of its callbacks): the
        running call uses the network, its buffers and the layers' workspaces. Call with
        _state_lock held (calls register under it), so no call can start meanwhile."""
        active = list(getattr(self, "_active", {}).items())  # one atomic snapshot
        if not active:
            return
        me = threading.get_ident()
        for tid, (running, _) in active:
            if tid != me:
                raise RuntimeError(
                    f"{what}: model '{self.name}' is running {running} in another thread; its structure "
                    f"cannot change until that call returns")
        running = dict(active)[me][0]
        raise RuntimeError(
            f"{what}: model '{self.name}' is running {running} (this is a nested call, e.g. from one "
            f"of its callbacks); change the model's structure after {running} returns")

    @contextlib.contextmanager
    def _structural(self, what: str):
        """Holds ``_state_lock`` for a structural change, refusing it (``_check_mutable``)
        while a call of the model runs."""
        with self._state_lock:
            self._changing += 1
            try:
                self._check_mutable(what)
                yield
            finally:
                self._changing -= 1

    def _busy_in_other_thread(self) -> Optional[str]:
        """What another thread is running on this model (None when nothing)."""
        me = threading.get_ident()
        for tid, (running, _) in list(getattr(self, "_active", {}).items()):
            if tid != me:
                return running
        return None

    def _claim_layers(self) -> None:
        """Marks every layer as belonging to this model (after a rebuild from a file)."""
        for l in self._layers:
            l._owner_ref = weakref.ref(self)

    @property
    def layers(self) -> List[Any]:
        """The layers, in order (a new list; the ``Input`` is not a layer here)."""
        return list(self._layers)

    def get_layer(self, name: Optional[str] = None, index: Optional[int] = None):
        """The layer at ``index`` (when given) or the one named ``name``; ValueError when no
        layer has that name."""
        if index is not None:
            return self._layers[index]
        for l in self._layers:
            if l.name == name:
                return l
        raise ValueError(f"get_layer: no layer named '{name}'; layers: {[l.name for l in self._layers]}")

    def _invalidate(self) -> None:
        self._net = None
        self._trainer = None
        self._trainer_key = None

    @property
    def built(self) -> bool:
        """Whether the model has been built (its weights exist)."""
        return self._net is not None

    @property
    def input_shape(self):
        """``(None, *features)`` once known (from ``Input``, a first layer's ``input_shape=``,
        ``build`` or the first data), else None."""
        return self._input_shape

    @property
    def output_shape(self):
        """The output shape (batch first) for ``input_shape``; AttributeError before the
        input shape is known."""
        if not self._layers or self._input_shape is None:
            raise AttributeError("The model is not built yet")
        shape = self._input_shape
        for l in self._layers:
            shape = l.compute_output_shape(shape)
        return shape

    def build(self, input_shape=None) -> None:
        """Builds every layer for inputs of ``input_shape`` (batch dimension first, may be None)."""
        with self._structural("Sequential.build"):
            saved = self._input_shape
            if input_shape is not None:
                self._input_shape = (None,) + tuple(input_shape)[1:]
            if self._input_shape is None:
                raise ValueError("Sequential.build: give input_shape, or start the model with ranvier.Input")
            try:
                self._build_layers()
            except BaseException:
                self._input_shape = saved
                raise

    def _build_layers(self) -> None:
        if not self._layers:
            return
        if self._input_shape is None:
            raise ValueError("Sequential: the input shape is not known yet (give an Input, build() or data)")
        self._check_size()
        shape = self._input_shape
        for i, layer in enumerate(self._layers):
            if layer.built:
                self._check_built_width(i, layer, shape)
            else:
                layer.build(shape)
            shape = layer.compute_output_shape(shape)
        if len(self._input_shape) != 2 and not isinstance(self._layers[0], layers_module.Flatten):
            raise ValueError(
                f"Sequential: inputs of shape {self._input_shape} need a Flatten first layer; "
                "ranvier's Dense layers take 2-D (batch, features) input")
        net = _core.Network()
        flags = [bool(layer._core_layer.trainable) for layer in self._layers]
        try:
            for layer in self._layers:
                # `layer.trainable` takes effect here (at compile, or any rebuild), as in Keras
                layer._core_layer.trainable = bool(layer.trainable)
                net.add(layer._core_layer)
            # The C++ check every builder shares (Python, the C++ API, both file loaders): the
            # first layer's input width against the model's input, then the whole chain.
            net.finalize(self._features_in(self._layers[0], self._input_shape))
        except BaseException:  # the current network (if any) keeps running with the old flags
            for layer, flag in zip(self._layers, flags):
                layer._core_layer.trainable = flag
            raise
        self._trainable_signature = self._trainable_state()
        params, grads, state = net.params(), net.grads(), net.state()
        per_layer: List[List] = [[[], []] for _ in self._layers]
        for t in net.tensors():
            off, size, shape_t = t["offset"], t["size"], tuple(t["shape"])
            if t["trainable"]:
                p = params[off:off + size].reshape(shape_t)
                g = grads[off:off + size].reshape(shape_t)
            else:
                p = state[off:off + size].reshape(shape_t)
                g = None
            per_layer[t["layer"]][0].append(p)
            per_layer[t["layer"]][1].append(g)
        for layer, (p, g) in zip(self._layers, per_layer):
            layer._adopt_storage(p, g)
        self._net = net
        self._trainer = None
        self._trainer_key = None

    @staticmethod
    def _features_in(layer, shape) -> int:
        """The row width ``layer`` receives for inputs of ``shape`` (Flatten: the product of
        the non-batch dimensions; every other layer: the last one)."""
        dims = tuple(shape)[1:]
        if isinstance(layer, layers_module.Flatten):
            return int(np.prod([int(d) for d in dims], dtype=np.int64)) if dims else 0
        return int(dims[-1]) if dims and dims[-1] is not None else 0

    def _check_built_width(self, i: int, layer, shape) -> None:
        """ValueError naming both widths when a layer built for N input features would get
        M != N here (placed by the user, or described that way in a model file)."""
        core = getattr(layer, "_core_layer", None)
        if core is None:
            return
        have, want = int(core.in_features), self._features_in(layer, shape)
        if have != want:
            where = "the first layer" if i == 0 else f"layer {i}"
            raise ValueError(
                f"Sequential '{self.name}': {type(layer).__name__} '{layer.name}' ({where}) was built for "
                f"{have} input features, but the model gives it {want} (input shape {tuple(shape)}); "
                f"use a new (unbuilt) layer, or feed it inputs with {have} features")

    def _trainable_state(self):
        return tuple(bool(getattr(l, "trainable", True)) for l in self._layers)

    def _check_size(self) -> None:
        """MemoryError, before anything is allocated, for layers whose float32 weights and
        gradients alone exceed this machine's physical memory (the check standalone layers
        run in ``Layer.build``, here over every layer about to be built)."""
        shape = self._input_shape
        if shape is None:
            return
        parts: List[Tuple[Any, tuple, int]] = []
        for layer in self._layers:
            if not layer.built:
                n = layer._weight_count(shape)
                if n:
                    parts.append((layer, shape, n))
            shape = layer.compute_output_shape(shape)
        layers_base.check_weights_fit("Sequential", parts)

    def _ensure_built(self, x: np.ndarray) -> None:
        if self._net is not None:
            return
        with self._state_lock:
            if self._net is not None:
                return
            inferred = self._input_shape is None
            if inferred:
                self._input_shape = (None,) + tuple(x.shape[1:])
            try:
                self._build_layers()
            except BaseException:
                if inferred:  # the data's shape was refused: do not keep it
                    self._input_shape = None
                raise
            if self._net is None:
                raise ValueError("The model has no layers; add some with Sequential.add")

    def _built_net(self) -> _core.Network:
        """The C++ network; RuntimeError when the model has not been built yet."""
        if self._net is None:
            raise RuntimeError(f"Sequential '{self.name}' is not built yet")
        return self._net

    def _check_input(self, x: np.ndarray, name: str, what: str) -> np.ndarray:
        assert self._input_shape is not None, "_ensure_built() runs first"
        expected = self._input_shape[1:]
        if tuple(x.shape[1:]) != tuple(expected):
            first = self._layers[0]
            raise ValueError(
                f"{what}: {first.__class__.__name__} '{first.name}' (the first layer) expected input "
                f"with shape (batch, {', '.join(str(d) for d in expected)}), got {name}.shape={x.shape}")
        if x.ndim != 2:
            x = x.reshape(x.shape[0], -1)
        return x

    def _input_rows(self, x, name: str, what: str) -> np.ndarray:
        """``x`` as float32 rows (``_as_float_rows``); a 1-D ``x`` is one feature per sample
        (``(n,)`` becomes ``(n, 1)``, as Keras takes it). A dict or an object array says
        which inputs are supported."""
        if isinstance(x, dict):
            raise TypeError(f"{what}: {name} is a dict; a Sequential model takes one input array. "
                            f"Supported inputs: {_data.SUPPORTED}")
        try:
            arr = _as_float_rows(x, name, what)
        except TypeError as e:
            if "dtype=object" in str(e) or "must be an array" in str(e):
                raise TypeError(f"{str(e).rstrip('.')}. Supported inputs: {_data.SUPPORTED}"
                                f"{self._batches_hint(x)}") from None
            raise
        except ValueError as e:
            if "could not be converted" in str(e):  # ragged lists, e.g. a list of (x, y) batches
                raise ValueError(f"{str(e).rstrip('.')}. Supported inputs: {_data.SUPPORTED}"
                                 f"{self._batches_hint(x)}") from None
            raise
        if arr.ndim == 1 and (self._input_shape is None or tuple(self._input_shape[1:]) == (1,)):
            arr = arr.reshape(arr.shape[0], 1)  # (a model expecting more features reports (n,))
        return arr

    @staticmethod
    def _batches_hint(x) -> str:
        if isinstance(x, (list, tuple)) and x and isinstance(x[0], (tuple, list)):
            return ("; a list is taken as array data (as in Keras): to train on a list of (x, y) batches, "
                    "pass iter(batches) or a generator")
        return ""

    # ---------------------------------------------------------------- weights
    @property
    def weights(self) -> List[layers_module.Variable]:
        """Every layer's ``weights`` (``Variable`` views), layer by layer in Keras order."""
        out = []
        for l in self._layers:
            out.extend(l.weights)
        return out

    @property
    def trainable_weights(self) -> List[layers_module.Variable]:
        """The weights the optimizer updates, layer by layer."""
        out = []
        for l in self._layers:
            out.extend(l.trainable_weights)
        return out

    @property
    def non_trainable_weights(self) -> List[layers_module.Variable]:
        """The weights the optimizer leaves alone (moving statistics, frozen layers)."""
        out = []
        for l in self._layers:
            out.extend(l.non_trainable_weights)
        return out

    def get_weights(self) -> List[np.ndarray]:
        """Copies of every weight, layer by layer in Keras order."""
        out = []
        for l in self._layers:
            out.extend(l.get_weights())
        return out

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Sets every weight from a list in ``get_weights()`` order (count and shapes checked)."""
        weights = list(weights)
        want = [tuple(p.shape) for l in self._layers for p in l._params]
        got = [tuple(np.shape(w)) for w in weights]
        if got != want:
            running = self._busy_in_other_thread()
            if running is not None:
                raise RuntimeError(f"set_weights: model '{self.name}' is running {running} in another thread; "
                                   f"weights of other shapes ({got} for {want}) would change its structure")
        if len(weights) != len(want):
            raise ValueError(f"set_weights: the model has {len(want)} weights, got a list of {len(weights)}")
        i = 0  # every layer's shapes are checked before anything is written
        per_layer = []
        for l in self._layers:
            k = len(l._params)
            per_layer.append((l, weights[i:i + k]))
            l._check_weights(weights[i:i + k])
            i += k
        for l, ws in per_layer:
            l.set_weights(ws)

    def count_params(self) -> int:
        """The number of scalars in all weights; ValueError before the model is built."""
        if not self.built:
            raise ValueError("count_params: the model is not built yet; call build() or fit() first")
        return int(sum(l.count_params() for l in self._layers))

    # ---------------------------------------------------------------- compile
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True) -> None:
        """Configures training (Keras defaults: RMSprop, no metrics). ``layer.trainable``
        changes take effect here (Keras captures the trainable state at compile time).
        RuntimeError while a fit/evaluate/predict of this model runs (see ``add``)."""
        with self._structural("compile"):
            self._compile(optimizer, loss, loss_weights, metrics, weighted_metrics)

    def _compile(self, optimizer, loss, loss_weights, metrics, weighted_metrics) -> None:
        self.optimizer = optimizers_module.get(optimizer)
        if self.built and getattr(self, "_trainable_signature", None) != self._trainable_state():
            self._build_layers()  # `layer.trainable` changed: Keras captures it at compile time
        if loss is None:
            raise ValueError("compile: loss is required (ranvier has no add_loss)")
        if isinstance(loss, str) and loss.lower() not in ("crossentropy", "ce"):
            losses_module.get(loss)  # an unknown name fails here, listing the valid ones
        _surface.check_core_loss(loss)  # a Python loss function: say so now, with what is supported
        self.loss = loss
        self._has_compile_metrics = metrics is not None or weighted_metrics is not None
        if loss_weights is None:
            self._loss_weight = 1.0
        elif (isinstance(loss_weights, numbers.Real) and not isinstance(loss_weights, bool)
              and math.isfinite(loss_weights)):
            self._loss_weight = float(loss_weights)
        elif (isinstance(loss_weights, (list, tuple)) and len(loss_weights) == 1
              and isinstance(loss_weights[0], numbers.Real) and math.isfinite(loss_weights[0])):
            self._loss_weight = float(loss_weights[0])
        else:
            raise ValueError(f"compile: loss_weights must be a finite float for a single-output model, "
                             f"got {loss_weights!r}")
        for arg, val in (("metrics", metrics), ("weighted_metrics", weighted_metrics)):
            if val is not None and not isinstance(val, (list, tuple)):
                raise TypeError(f"compile: {arg} must be a list, got {type(val).__name__}")
        self._metrics_arg = list(metrics or [])
        self._weighted_metrics_arg = list(weighted_metrics or [])
        self._metrics_resolved = False
        self._resolved_metrics = []
        self._metric_objects = []
        self._weighted_metric_objects = []
        self._loss_obj = None
        self._compile_config = {
            "optimizer": optimizers_module.serialize(self.optimizer),
            "loss": losses_module.serialize(loss) if not isinstance(loss, str) else loss,
            "loss_weights": loss_weights,
            "metrics": [m if isinstance(m, str) else metrics_module.serialize(m) for m in self._metrics_arg],
            "weighted_metrics": [m if isinstance(m, str) else metrics_module.serialize(m)
                                 for m in self._weighted_metrics_arg],
        }
        self.compiled = True
        self._trainer = None
        self._trainer_key = None

    def _require_compiled(self, what: str) -> None:
        if not self.compiled:
            raise RuntimeError(f"{what}: you must call `compile()` before using the model for "
                               f"training or evaluation")

    def _resolve_loss(self, y_shape) -> None:
        """Resolves the loss (and "crossentropy"/"ce") once the output shape is known."""
        if self._loss_obj is not None:
            return
        loss = self.loss
        out_dim = self.output_shape[-1]
        if isinstance(loss, str) and loss.lower() in ("crossentropy", "ce"):
            if out_dim == 1:
                loss = "binary_crossentropy"
            elif len(y_shape) == 1 or (len(y_shape) == 2 and y_shape[-1] == 1):
                loss = "sparse_categorical_crossentropy"
            else:
                loss = "categorical_crossentropy"
        obj = losses_module.get(loss)
        kind, params = losses_module.core_spec(obj)
        self._loss_obj = obj
        self._loss_kind = kind
        self._loss_params = params

    def _resolve_metrics(self, y_shape) -> None:
        if self._metrics_resolved:
            return
        y_pred_shape = (int(y_shape[0]), int(self.output_shape[-1]))
        resolved = metrics_module.resolve_all(self._metrics_arg, self._weighted_metrics_arg,
                                              y_shape, y_pred_shape)
        # Built-in metrics run in C++ inside the epoch; Python ones (a user's function or
        # Metric subclass) are called back per batch by it (metrics_module.trainer_metric).
        self._resolved_metrics = resolved
        self._metric_objects = [r.metric for r in resolved if not r.weighted]
        self._weighted_metric_objects = [r.metric for r in resolved if r.weighted]
        self._metrics_resolved = True

    def _metric_direction(self, name: str) -> Optional[str]:
        """"max"/"min" for a compiled metric's name (with or without ``val_``), else None."""
        return metrics_module.metric_direction(getattr(self, "_resolved_metrics", []), name)

    @property
    def metrics_names(self) -> List[str]:
        """Keras 3's ``[m.name for m in model.metrics]``: ``[]`` before compile, ``["loss"]``,
        or ``["loss", "compile_metrics"]`` when compile got metrics. (The log keys, e.g.
        ``"mae"``, are those of ``evaluate(..., return_dict=True)`` and History.)"""
        return [m.name for m in self.metrics]

    @property
    def metrics(self) -> List[Any]:
        """Keras 3's ``model.metrics``: the loss tracker (``name="loss"``) and, when compile
        got metrics, the ``compile_metrics`` container (its ``.metrics`` are the compiled
        metric objects once fit/evaluate resolved them); [] before compile."""
        return _surface.model_metrics(self)

    @property
    def losses(self) -> List[float]:
        """Keras's ``model.losses``: the regularization penalties of every layer (weight
        penalties of the current weights, then each layer's last activity penalty)."""
        return _surface.model_losses(self)

    # ------------------------------------------------------------ data prep
    def _prepare_y(self, y, n: int, what: str, name: str = "y") -> np.ndarray:
        y = _as_float_rows(y, name, what)
        if y.shape[0] != n:
            raise ValueError(f"{what}: x and {name} have different lengths: x has {n} samples, "
                             f"{name}.shape={y.shape}")
        out_dim = self.output_shape[-1]
        if self._loss_kind in _SPARSE_LOSSES:
            if not (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
                raise ValueError(
                    f"{what}: {self._loss_kind} expects integer labels of shape (n,) or (n, 1), got "
                    f"{name}.shape={y.shape}; for one-hot targets use categorical_crossentropy")
            y = y.reshape(n, 1)
            _check_finite(y, name, what)
            if np.any(y != np.floor(y)) or y.min() < 0 or y.max() >= out_dim:
                bad = y[(y != np.floor(y)) | (y < 0) | (y >= out_dim)][0]
                raise ValueError(
                    f"{what}: {name} holds label {bad:g}, but {self._loss_kind} needs integer labels in "
                    f"[0, {out_dim}) for a model with {out_dim} outputs")
            return y
        if y.ndim == 1:
            y = y.reshape(n, 1)
        elif y.ndim > 2:
            y = y.reshape(n, -1)
        if y.shape[1] != out_dim:
            raise ValueError(
                f"{what}: {name}.shape={y.shape} does not match the model's output shape (None, {out_dim}) "
                f"for loss {self._loss_kind}")
        _check_finite(y, name, what)
        return y

    def _prepare_sample_weight(self, sw, n: int, what: str) -> Optional[np.ndarray]:
        if sw is None:
            return None
        sw = _checks.as_numeric_array(sw, "sample_weight", what)
        if sw.dtype.kind not in "fiub":
            raise TypeError(f"{what}: sample_weight must be numeric, got dtype={sw.dtype}")
        if sw.ndim == 2 and sw.shape[1] == 1:
            sw = sw.reshape(-1)
        if sw.ndim != 1 or sw.shape[0] != n:
            raise ValueError(f"{what}: sample_weight must have shape ({n},), got {sw.shape}")
        sw = _checks.to_float32(sw, "sample_weight", what)
        _check_finite(sw, "sample_weight", what)
        return sw

    def _class_weight_to_sample_weight(self, class_weight, y: np.ndarray) -> np.ndarray:
        if not isinstance(class_weight, dict):
            raise TypeError(f"fit: class_weight must be a dict {{class index: weight}}, "
                            f"got {type(class_weight).__name__}")
        if y.shape[1] > 1:
            labels = np.argmax(y, axis=1)
        else:
            labels = np.round(y[:, 0]).astype(np.int64)
        sw = np.ones(y.shape[0], dtype=np.float32)
        for k, w in class_weight.items():
            try:
                ki = int(k)
            except (TypeError, ValueError):
                raise ValueError(f"fit: class_weight keys must be class indices (ints), got {k!r}")
            if isinstance(w, bool) or not isinstance(w, numbers.Real) or not math.isfinite(w):
                raise ValueError(f"fit: class_weight values must be finite numbers, got {w!r} for class {k!r}")
            _checks.check_float32(w, f"class_weight[{k!r}]", "fit")
            sw[labels == ki] = float(w)
        return sw

    def _prepare_xy(self, x, y, sample_weight, what: str):
        x = self._input_rows(x, "x", what)
        self._ensure_built(x)
        x = self._check_input(x, "x", what)
        _check_finite(x, "x", what)
        self._resolve_loss(np.shape(y) if y is not None else (x.shape[0],))
        if y is None:
            raise ValueError(f"{what}: y is required for training and evaluation")
        y = self._prepare_y(y, x.shape[0], what)
        sw = self._prepare_sample_weight(sample_weight, x.shape[0], what)
        self._resolve_metrics(y.shape if self._loss_kind not in _SPARSE_LOSSES else (y.shape[0],))
        return x, y, sw

    # ----------------------------------------------------------- the trainer
    def _get_trainer(self):
        key = (id(self._net), id(self.optimizer), id(self._loss_obj),
               tuple(id(m) for m in self._metric_objects + self._weighted_metric_objects))
        if self._trainer is not None and self._trainer_key == key:
            return self._trainer
        opt = self.optimizer
        if getattr(opt, "_ranvier_net", None) is not self._net or not opt.built:
            segments = [(t["offset"], t["size"], f"{self._layers[t['layer']].name}/{t['name']}")
                        for t in self._net.tensors() if t["trainable"]]
            opt.build(int(self._net.params().size), segments)
            opt._ranvier_net = self._net
        self._trainer = _core.Trainer(
            self._net, opt._core, _core.loss_kind_names().index(self._loss_kind), self._loss_params,
            self._loss_weight,
            [metrics_module.trainer_metric(m) for m in self._metric_objects],
            [metrics_module.trainer_metric(m) for m in self._weighted_metric_objects])
        self._trainer_key = key
        return self._trainer

    def _logs(self, trainer, prefix: str = "") -> Dict[str, Any]:
        logs = {prefix + "loss": float(trainer.mean_loss())}
        for r in self._resolved_metrics:
            logs[prefix + r.key] = metrics_module.log_value(r.metric.result())
        return dict(sorted(logs.items()))

    # ------------------------------------------------------------------- fit
    @_registers("fit")
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Trains the model (Keras semantics; whole epochs run in C++)."""
        self._require_compiled("fit")
        batch_size = self._check_batch_size(batch_size, "fit")
        if not isinstance(epochs, numbers.Integral) or isinstance(epochs, bool) or epochs < 0:
            raise ValueError(f"fit: epochs must be a non-negative int, got {epochs!r}")
        if not isinstance(validation_split, numbers.Real) or not (0.0 <= validation_split < 1.0):
            raise ValueError(f"fit: validation_split must be a float in [0, 1), got {validation_split!r}")
        if class_weight is not None and sample_weight is not None:
            raise ValueError("fit: class_weight and sample_weight cannot be used together")
        if shuffle not in (True, False, "batch"):
            raise ValueError(f"fit: shuffle must be True, False or 'batch', got {shuffle!r}")
        if not _is_int(initial_epoch) or initial_epoch < 0:
            raise ValueError(f"fit: initial_epoch must be a non-negative int, got {initial_epoch!r}")
        if steps_per_epoch is not None and (not _is_int(steps_per_epoch) or steps_per_epoch < 1):
            raise ValueError(f"fit: steps_per_epoch must be a positive int or None, got {steps_per_epoch!r}")
        if _is_int(validation_freq):
            if validation_freq < 1:
                raise ValueError(f"fit: validation_freq must be a positive int or a list of epochs, "
                                 f"got {validation_freq!r}")
        elif isinstance(validation_freq, (str, bytes)) or not hasattr(validation_freq, "__contains__"):
            raise ValueError(f"fit: validation_freq must be a positive int or a list of epochs, "
                             f"got {validation_freq!r}")
        verbose = self._check_verbose(verbose, "fit")
        if _data.is_data_source(x):  # a generator, PyDataset or dataset: batch by batch (_data.py)
            return _data.fit(self, x, y, sample_weight, batch_size, epochs, verbose, callbacks,
                             validation_split, validation_data, shuffle, class_weight, initial_epoch,
                             steps_per_epoch, validation_steps, validation_batch_size, validation_freq)

        x, y, sw = self._prepare_xy(x, y, sample_weight, "fit")
        if class_weight is not None:
            sw = self._class_weight_to_sample_weight(class_weight, y)
        n = x.shape[0]
        val: Any = None
        val_split = None
        if validation_data is None and validation_split:
            split_at = int(math.floor(n * (1.0 - validation_split)))
            if split_at == 0 or split_at == n:
                raise ValueError(f"fit: validation_split={validation_split} leaves no "
                                 f"{'training' if split_at == 0 else 'validation'} samples out of {n}")
            val_split = (x[split_at:], y[split_at:], None if sw is None else sw[split_at:])
            x, y = x[:split_at], y[:split_at]
            sw = None if sw is None else sw[:split_at]
            n = split_at
        if steps_per_epoch is not None:
            if batch_size is None:
                batch_size = int(math.ceil(n / steps_per_epoch))
        if batch_size is None:
            batch_size = 32
        val_batch = self._check_batch_size(validation_batch_size, "fit", "validation_batch_size") or batch_size
        # validation_data (arrays, or a generator / dataset) or the validation_split rows
        val = _data.prepare_validation(self, validation_data if val_split is None else val_split,
                                       val_batch, validation_steps)

        trainer = self._get_trainer()
        with self._using_trainer("fit", nested_ok=False):
            try:
                return self._fit_loop(trainer, x, y, sw, n, batch_size, epochs, verbose, callbacks,
                                      val, shuffle, initial_epoch, steps_per_epoch, validation_freq)
            finally:
                trainer.clear_train_data()
                if isinstance(val, _data.EpochIterator):
                    val.close()

    @contextlib.contextmanager
    def _using_trainer(self, what: str, nested_ok: bool):
        """One fit / evaluate / train_on_batch / test_on_batch at a time per model: they share
        the trainer's workspaces and its loss and metric accumulators, so a second thread's
        call would corrupt both results. It is refused with a RuntimeError; the thread that
        runs fit may still evaluate (``nested_ok``) from its callbacks, as in Keras."""
        me = threading.get_ident()
        net = self._built_net()
        if net.try_acquire_training():
            self._trainer_owner = me
            self._trainer_what = what
            trainer = self._trainer if _profile.active() else None  # ranvier.utils.profile()
            try:
                if trainer is not None:
                    trainer.reset_profile()
                    trainer.set_profiling(True)
                yield
            finally:
                if trainer is not None:
                    trainer.set_profiling(False)
                    _profile.record(self, trainer.profile())
                self._trainer_owner = None
                net.release_training()
        elif getattr(self, "_trainer_owner", None) == me:
            if nested_ok:
                yield
                return
            running = getattr(self, "_trainer_what", "fit")
            raise RuntimeError(f"{what}: called from inside this model's own {running} in the same thread "
                               f"(a nested call, e.g. from one of its callbacks); {what} cannot run while "
                               f"{running} is running: call it after {running} returns")
        else:
            raise RuntimeError(f"{what}: this model is already being trained or evaluated in another "
                               f"thread; wait for that call to finish (predict may run concurrently)")

    def _fit_loop(self, trainer, x, y, sw, n, batch_size, epochs, verbose, callbacks, val,
                  shuffle, initial_epoch, steps_per_epoch, validation_freq):
        trainer.set_train_data(x, y, sw, batch_size)
        steps_total = steps = trainer.steps_per_epoch()
        if steps_per_epoch is not None:
            steps = min(steps, int(steps_per_epoch))
        # Keras's steps_per_epoch on arrays: the pass over the data continues across epochs
        # and a new (reshuffled) pass starts only once every batch was seen; an epoch that
        # reaches the end of a pass before steps_per_epoch batches ends early, with Keras's
        # "ran out of data" warning. (DataParallel's trainer keeps one pass per epoch.)
        continue_passes = steps_per_epoch is not None and isinstance(trainer, _core.Trainer)
        new_pass = True
        cbs = callbacks_module.CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=self,
            verbose=verbose, epochs=epochs, steps=steps)
        history = cbs.history
        self.history = history
        batch_hooks = cbs.needs_batch_hooks("train")
        python_lr = self.optimizer._needs_python_lr()
        progress = cbs.wants_batch_progress("train")
        self.stop_training = False
        cbs.on_train_begin()
        logs: Dict[str, Any] = {}
        training_logs: Optional[Dict[str, Any]] = None
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch)
            if new_pass or not continue_passes:
                trainer.begin_epoch(bool(shuffle), _random.next_seed())
            else:
                trainer.reset_metrics()
            target = steps
            if continue_passes:
                target = min(int(steps_per_epoch), steps_total - int(trainer.step_in_epoch()))
                if target < steps_per_epoch:
                    warnings.warn(_data.RAN_OUT, stacklevel=3)
            done = 0
            while done < target:
                if batch_hooks or python_lr:
                    if batch_hooks:
                        cbs.on_train_batch_begin(done)
                    if python_lr:
                        self.optimizer._prepare_step()
                    ran = trainer.run(1, 0.0)
                else:
                    ran = trainer.run(target - done, _TIME_SLICE)
                done += ran
                if ran and (batch_hooks or progress or done == target):
                    logs = self._logs(trainer)
                    cbs.on_train_batch_end(done - 1, logs)
                if self.stop_training or not ran:
                    break
            new_pass = int(trainer.step_in_epoch()) >= steps_total
            logs = self._logs(trainer)
            epoch_logs = dict(logs)
            if val is not None and self._should_validate(epoch, validation_freq):
                # on_test_begin / test batch hooks / on_test_end, as Keras's evaluate in fit
                epoch_logs.update(_data.run_validation(self, trainer, val, cbs))
            cbs.on_epoch_end(epoch, epoch_logs)
            training_logs = epoch_logs
            if self.stop_training:
                break
        if getattr(self.optimizer, "use_ema", False):
            self.optimizer._core.finalize_ema(self._net.params())
        cbs.on_train_end(training_logs)  # the last epoch's logs, val_* included (Keras)
        return history

    @staticmethod
    def _should_validate(epoch: int, freq) -> bool:
        if isinstance(freq, numbers.Integral):
            return (epoch + 1) % int(freq) == 0
        return (epoch + 1) in freq

    @staticmethod
    def _check_batch_size(batch_size, what: str, argument: str = "batch_size"):
        if batch_size is None:
            return None
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size <= 0:
            raise ValueError(f"{what}: {argument} must be a positive int, got {batch_size!r}")
        # a batch larger than the data is the whole data; clamp so it stays a C++ int64
        return min(int(batch_size), 2**62)

    @staticmethod
    def _check_steps(steps, what: str) -> Optional[int]:
        if steps is None:
            return None
        if not _is_int(steps) or steps < 1:
            raise ValueError(f"{what}: steps must be a positive int or None, got {steps!r}")
        return int(steps)

    @staticmethod
    def _check_verbose(verbose, what: str) -> int:
        if isinstance(verbose, str) and verbose == "auto":
            return 1
        if not isinstance(verbose, numbers.Real) or verbose not in (0, 1, 2):  # 0j, arrays: named
            raise ValueError(f"{what}: verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
        return (0, 1, 2).index(verbose)

    # --------------------------------------------------------------- evaluate
    @_registers("evaluate")
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """Loss and metrics in inference mode (Keras return conventions)."""
        self._require_compiled("evaluate")
        batch_size = self._check_batch_size(batch_size, "evaluate") or 32
        verbose = self._check_verbose(verbose, "evaluate")
        steps = self._check_steps(steps, "evaluate")
        if _data.is_data_source(x):  # a generator, PyDataset or dataset: batch by batch (_data.py)
            if y is not None or sample_weight is not None:
                _data.make_adapter(x, y, sample_weight, what="evaluate")  # raises Keras's error
            return _data.evaluate(self, x, batch_size, verbose, steps, callbacks, return_dict)
        x, y, sw = self._prepare_xy(x, y, sample_weight, "evaluate")
        rows = _data.cap_rows(x.shape[0], batch_size, steps)  # steps: at most that many batches
        if rows < x.shape[0]:
            x, y, sw = x[:rows], y[:rows], None if sw is None else sw[:rows]
        trainer = self._get_trainer()
        with self._using_trainer("evaluate", nested_ok=True):
            return self._evaluate(trainer, x, y, sw, batch_size, verbose, callbacks, return_dict)

    def _evaluate(self, trainer, x, y, sw, batch_size, verbose, callbacks, return_dict):
        steps_n = int(math.ceil(x.shape[0] / batch_size))
        cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                            verbose=verbose, epochs=1, steps=steps_n)
        cbs.on_test_begin()
        if cbs.needs_batch_hooks("test"):
            trainer.reset_metrics()
            for i, s in enumerate(range(0, x.shape[0], batch_size)):
                cbs.on_test_batch_begin(i)
                trainer.evaluate(x[s:s + batch_size], y[s:s + batch_size],
                                 None if sw is None else sw[s:s + batch_size], batch_size, reset=False)
                cbs.on_test_batch_end(i, self._logs(trainer))
        else:
            trainer.evaluate(x, y, sw, batch_size)
            cbs.on_test_batch_end(steps_n - 1, self._logs(trainer))
        logs = self._logs(trainer)
        cbs.on_test_end(logs)
        return self._format_results(logs, return_dict)

    def _format_results(self, logs: Dict[str, float], return_dict: bool):
        if return_dict:
            return dict(sorted(logs.items()))
        names = [r.key for r in self._resolved_metrics]
        if not names:
            return logs["loss"]
        return [logs["loss"]] + [logs[n] for n in names]

    # ---------------------------------------------------------------- predict
    @_registers("predict")
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None) -> np.ndarray:
        """Outputs for ``x`` in inference mode, as a float32 NumPy array."""
        if batch_size is None and steps is None and not callbacks and self._check_verbose(verbose, "predict") == 0:
            out = self._predict_fast(x, 32)
            if out is not None:
                return out
        batch_size = self._check_batch_size(batch_size, "predict") or 32
        verbose = self._check_verbose(verbose, "predict")
        steps = self._check_steps(steps, "predict")
        if _data.is_data_source(x):  # a generator, PyDataset or dataset: batch by batch (_data.py)
            return _data.predict(self, x, batch_size, verbose, steps, callbacks)
        x = self._input_rows(x, "x", "predict")
        rows = _data.cap_rows(x.shape[0], batch_size, steps)
        if rows < x.shape[0]:
            x = x[:rows]
        self._ensure_built(x)
        x = self._check_input(x, "x", "predict")
        _check_finite(x, "x", "predict")
        if not verbose and not callbacks:  # the fast path: one C++ call
            return self._built_net().predict(x, batch_size)
        steps_n = int(math.ceil(x.shape[0] / batch_size))
        cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                            verbose=verbose, epochs=1, steps=steps_n)
        cbs.on_predict_begin()
        if cbs.needs_batch_hooks("predict"):
            parts = []
            for i, s in enumerate(range(0, x.shape[0], batch_size)):
                cbs.on_predict_batch_begin(i)
                parts.append(self._built_net().predict(x[s:s + batch_size], batch_size))
                cbs.on_predict_batch_end(i, {"outputs": parts[-1]})
            out = np.concatenate(parts, axis=0)
        else:
            out = self._built_net().predict(x, batch_size)
            cbs.on_predict_batch_end(steps_n - 1, {"outputs": out})
        cbs.on_predict_end()
        return out

    def _predict_fast(self, x, batch_size: int) -> Optional[np.ndarray]:
        """The common case in one C++ call, with only the checks it needs: a built model
        and a finite, C-contiguous float32 ndarray of its input width (what the general path
        would convert ``x`` to anyway), in batches of ``batch_size``. ``None`` when the
        general path must run (it converts, checks and raises)."""
        net = self._net
        if net is None or self._input_shape is None or len(self._input_shape) != 2:
            return None
        return net.predict_fast(x, batch_size)  # None unless all of the above holds (C++)

    @_registers("call")
    def __call__(self, x, training=None):
        """The model on ``x``; ``training=True`` runs the layers in training mode (dropout on,
        BatchNormalization on batch statistics, updating its moving statistics)."""
        if not training:
            out = self._predict_fast(x, 1 << 30)  # one batch, as below
            if out is not None:
                return out
        x = self._input_rows(x, "x", "call")
        self._ensure_built(x)
        x = self._check_input(x, "x", "call")
        if training:
            # It changes the model's state (moving statistics, dropout steps) and uses the
            # layers' workspaces: one at a time with fit/train_on_batch (refused while another
            # thread trains, allowed from fit's own callbacks), and never during a predict.
            with self._using_trainer("call(training=True)", nested_ok=True), self._inference_lock():
                out = x
                for l in self._layers:
                    out = l(out, training=True)
                return out
        return self._built_net().predict(x, max(1, x.shape[0]))

    @contextlib.contextmanager
    def _inference_lock(self):
        """Holds the network's inference mutex (the one predict and the C++ trainer take
        while they run the layers)."""
        net = self._net
        net.lock_inference()
        self._inference_holder = threading.get_ident()  # the layers' own calls skip the lock
        try:
            yield
        finally:
            self._inference_holder = None
            net.unlock_inference()

    @_registers("predict_on_batch")
    def predict_on_batch(self, x) -> np.ndarray:
        """The model's output for ``x`` as one batch (inference mode), a float32 array."""
        out = self._predict_fast(x, 1 << 30)
        if out is not None:
            return out
        x = self._input_rows(x, "x", "predict_on_batch")
        self._ensure_built(x)
        x = self._check_input(x, "x", "predict_on_batch")
        return self._built_net().predict(x, max(1, x.shape[0]))

    @_registers("train_on_batch")
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One optimizer step on one batch; returns the batch's loss/metrics before the update."""
        self._require_compiled("train_on_batch")
        if class_weight is not None and sample_weight is not None:
            raise ValueError("train_on_batch: class_weight and sample_weight cannot be used together")
        x, y, sw = self._prepare_xy(x, y, sample_weight, "train_on_batch")
        if class_weight is not None:
            sw = self._class_weight_to_sample_weight(class_weight, y)
        trainer = self._get_trainer()
        with self._using_trainer("train_on_batch", nested_ok=False):
            if self.optimizer._needs_python_lr():
                self.optimizer._prepare_step()
            trainer.train_batch(x, y, sw)
            return self._format_results(self._logs(trainer), return_dict)

    @_registers("test_on_batch")
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss and metrics of one batch in inference mode, without updating anything: a
        scalar (loss only), a list ``[loss, <compiled metrics in compile order>]``, or a dict with
        ``return_dict=True``."""
        self._require_compiled("test_on_batch")
        x, y, sw = self._prepare_xy(x, y, sample_weight, "test_on_batch")
        trainer = self._get_trainer()
        with self._using_trainer("test_on_batch", nested_ok=True):
            trainer.evaluate(x, y, sw, x.shape[0])
            return self._format_results(self._logs(trainer), return_dict)

    # ---------------------------------------------------------------- summary
    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None) -> None:
        """Prints Keras's box table of layers, output shapes and parameter counts."""
        print_fn = print_fn or print
        # a line of more than 2**16 characters would only end in a MemoryError without a message
        width = line_length and _checks.check_int(line_length, "line_length", "summary", -(2**16), 2**16) or 88
        positions = positions or [0.45, 0.80, 1.0]
        cols = [int(width * p) for p in positions]
        widths = [cols[0] - 1, cols[1] - cols[0] - 1, cols[2] - cols[1] - 1]
        widths = [w - 2 for w in widths]

        def row(cells, aligns, left, sep, right):
            lines_per_cell = [self._wrap(c, w) for c, w in zip(cells, widths)]
            h = max(len(l) for l in lines_per_cell)
            out = []
            for i in range(h):
                parts = []
                for lines, w, a in zip(lines_per_cell, widths, aligns):
                    text = lines[i] if i < len(lines) else ""
                    parts.append(" " + (text.rjust(w) if a == "r" else text.ljust(w)) + " ")
                out.append(left + sep.join(parts) + right)
            return out

        def rule(l, m, r, ch):
            return l + m.join(ch * (w + 2) for w in widths) + r

        lines = [f'Model: "{self.name}"',
                 rule("┏", "┳", "┓", "━")]
        lines += row(["Layer (type)", "Output Shape", "Param #"], "llr", "┃", "┃", "┃")
        lines.append(rule("┡", "╇", "┩", "━"))
        shape = self._input_shape
        for i, l in enumerate(self._layers):
            if shape is not None and self.built:
                shape = l.compute_output_shape(shape)
                shape_s = "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
                params = f"{l.count_params():,}"
            else:
                shape_s, params = "?", "0 (unbuilt)"
            lines += row([f"{l.name} ({l.__class__.__name__})", shape_s, params], "llr", "│", "│", "│")
            if i != len(self._layers) - 1:
                lines.append(rule("├", "┼", "┤", "─"))
        lines.append(rule("└", "┴", "┘", "─"))
        if self.built:
            trainable = sum(int(np.prod(w.shape)) for w in self.trainable_weights)
            non_trainable = sum(int(np.prod(w.shape)) for w in self.non_trainable_weights)
        else:
            trainable = non_trainable = 0
        opt_params = 0
        if self.optimizer is not None and self.optimizer.built:
            opt_params = int(sum(np.size(v) for v in self.optimizer.variables))
        total = trainable + non_trainable + opt_params
        lines.append(f" Total params: {total:,} ({self._fmt_bytes(4 * total)})")
        lines.append(f" Trainable params: {trainable:,} ({self._fmt_bytes(4 * trainable)})")
        lines.append(f" Non-trainable params: {non_trainable:,} ({self._fmt_bytes(4 * non_trainable)})")
        if opt_params:
            lines.append(f" Optimizer params: {opt_params:,} ({self._fmt_bytes(4 * opt_params)})")
        for line in lines:
            print_fn(line)

    @staticmethod
    def _wrap(text: str, width: int) -> List[str]:
        if len(text) <= width:
            return [text]
        out, cur = [], ""
        for word in re.split(r"(?<= )|(?=\()", text):
            if len(cur) + len(word) > width and cur:
                out.append(cur.rstrip())
                cur = ""
            cur += word
        if cur:
            out.append(cur.rstrip())
        return out

    @staticmethod
    def _fmt_bytes(n: float) -> str:
        for unit in ("B", "KB", "MB", "GB"):
            if n < 1024 or unit == "GB":
                return f"{n:.2f} {unit}"
            n /= 1024.0
        return f"{n:.2f} GB"

    # ----------------------------------------------------------------- config
    def get_config(self) -> Dict[str, Any]:
        """Keras's Sequential config: name, trainable, dtype, the layers (an InputLayer
        entry first when the input shape is known) and ``build_input_shape``."""
        layers = []
        if self._input_shape is not None:
            layers.append({"class_name": "InputLayer",
                           "config": {"batch_shape": list(self._input_shape), "dtype": "float32",
                                      "name": "input_layer"}})
        for l in self._layers:
            layers.append(layers_module.serialize(l))
        return {"name": self.name, "trainable": self.trainable, "dtype": "float32", "layers": layers,
                "build_input_shape": None if self._input_shape is None else list(self._input_shape)}

    @classmethod
    def from_config(cls, config: Dict[str, Any], custom_objects=None) -> "Sequential":
        """Rebuilds an (uncompiled) model from ``get_config()``'s dict; custom layer classes
        come from ``custom_objects``."""
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        entries = list(config.get("layers", []))
        first_input = bool(entries) and entries[0].get("class_name") == "InputLayer"
        if first_input:
            entries = entries[1:]
        for lc in entries:
            if lc.get("class_name") == "InputLayer":
                raise ValueError("Sequential.add: an Input can only be the first element")
            # no input shape yet: add() checks and appends without building the network
            model.add(layers_module.deserialize(lc, custom_objects=custom_objects))
        if first_input:  # then one build (once per layer would be quadratic in the layer count)
            shape = tuple(config["layers"][0]["config"].get("batch_shape"))[1:]
            if not model._layers:
                model.add(layers_module.Input(shape=shape))
            elif model._input_shape is None or tuple(model._input_shape[1:]) != shape:
                model.build((None,) + shape)  # the InputLayer's shape wins, as when it was added first
        return model

    def __deepcopy__(self, memo):
        clone = Sequential.from_config(self.get_config())
        if self.built:
            clone.build(self._input_shape)
            clone.set_weights(self.get_weights())
        if self._compile_config is not None:
            clone.compile(optimizer=optimizers_module.get(self._compile_config["optimizer"]),
                          loss=copy.deepcopy(self.loss), loss_weights=self._compile_config["loss_weights"],
                          metrics=list(self._metrics_arg), weighted_metrics=list(self._weighted_metrics_arg))
        return clone

    # ---- saving, loading, pickling, export: delegations to ranvier.saving (io helper) ----
    def save(self, filepath, overwrite=True, include_optimizer=True, **kwargs):
        """Writes the whole model to one safetensors file, atomically (see ranvier.saving)."""
        from . import saving
        saving.save_model(self, filepath, overwrite=overwrite, include_optimizer=include_optimizer, **kwargs)

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """Writes the weights only (ranvier's safetensors format, atomically); see
        ``ranvier.saving.save_weights``."""
        from . import saving
        saving.save_weights(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Loads weights from a ranvier file or a Keras ``.weights.h5`` file (needs h5py),
        matching layers by position; see ``ranvier.saving.load_weights``."""
        from . import saving
        saving.load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    def export(self, filepath, format="onnx", verbose=True, **kwargs):
        """Writes an ONNX graph of the model in inference mode (``format="onnx"`` only; needs
        the ``onnx`` package); see ``ranvier.saving.export``."""
        from . import saving
        saving.export(self, filepath, format=format, verbose=verbose, **kwargs)

    def __getstate__(self):
        from . import saving
        return saving.getstate(self)

    def __setstate__(self, state):
        from . import saving
        saving.setstate(self, state)
    # ---- end of the saving delegations ----


def load_model(path, custom_objects=None, compile=True):
    """Loads a model saved with ``model.save(path)``."""
    from . import saving  # lazily: the file format lives there
    return saving.load_model(path, custom_objects=custom_objects, compile=compile)
