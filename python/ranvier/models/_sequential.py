"""``Sequential``: a linear stack of layers, its structure (add, pop, build, weights,
config) over one C++ network with flat parameter buffers. Training and inference come
from ``TrainingMixin`` (``_trainer.py``), the table of ``summary`` from ``SummaryMixin``, the
trainable flags from ``TrainableMixin``."""
from __future__ import annotations

import copy
import threading
import weakref
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import _checks, _core, _data, _naming, _surface, mixed_precision
from .. import _saving_common
from .. import layers as layers_module
from .. import optimizers as optimizers_module
from ..layers import _base as layers_base
from ..layers import _input as layers_input
from ._guards import StructureGuard
from ._nesting import NestingMixin
from ._saving import MODEL_CLASSES, SavingMixin
from ._summary import SummaryMixin
from ._trainable import TrainableMixin, live_trainable
from ._trainer import TrainingMixin

__all__ = ["Sequential"]

# Rebinding layers to a model's buffers (a build, or taking shared layers back: see
# `Sequential._net`) is one at a time across models, so two models sharing layers never
# interleave their rebinding.
_SHARED_BINDING_LOCK = threading.RLock()


def _hook(name: str):
    """The functional API's hook ``name`` (``ranvier._functional`` registers them: it imports
    this module, so this module does not import it)."""
    return layers_base.symbolic_hook(name)


def _is_input(obj) -> bool:
    return isinstance(obj, layers_module.InputLayer) or getattr(obj, "_is_keras_input", False)


class Sequential(NestingMixin, TrainableMixin, TrainingMixin, SavingMixin, SummaryMixin, StructureGuard):
    """A linear stack of layers (``keras.Sequential``).

    ``Sequential(layers=None, trainable=True, name=None)``; a first element that is
    ``ranvier.Input(shape=...)`` builds the model at once, otherwise it builds on
    the first ``fit``/``predict``/``build``.
    """

    __module__ = "ranvier.models"  # its public home (pickles and reprs name it there)
    _config_class_name = "Sequential"

    def __init__(self, layers: Optional[Sequence[Any]] = None, trainable: bool = True,
                 name: Optional[str] = None):
        self.name = name or _naming.auto_name("Sequential")
        self._model_dtype_policy = mixed_precision.global_policy()  # captured now, as in Keras
        self._layers: List[Any] = []
        self.trainable = trainable
        self._input_shape: Optional[tuple] = None
        self._net = None
        self._init_training()
        self._init_guard()
        # The layers are appended without a network build each, then built once (as from_config
        # does): one build per add made Sequential([...]) quadratic (1024 layers took 11 s).
        self._defer_build = True
        try:
            for layer in layers or []:
                self.add(layer)
        finally:
            self._defer_build = False
        if self._layers and self._input_shape is not None:
            self._keras_build()
            for layer in self._layers:
                if getattr(layer, "_graph_shared", False):
                    layer._owner_ref = weakref.ref(self)

    def add(self, layer) -> None:
        """Appends a layer (or an ``Input``, only as the first element).

        A layer that is in another model is shared with it, as in Keras (see
        ``_check_not_shared``); a model added as a layer is one entry of ``layers``. A layer already built for N input
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
                self._input_origin = layer  # the symbolic graph's input (see `inputs`)
                return
            if isinstance(layer, Sequential):  # a model used as a layer: its layers are inlined
                _hook("add_nested")(self, layer)
                return
            if layers_base._is_symbolic(layer):
                raise TypeError(f"Sequential.add: {layer!r} is the output of a layer, not an Input; build a "
                                f"model from symbolic tensors with ranvier.Model(inputs, outputs)")
            if not isinstance(layer, layers_module.Layer):
                raise _checks.ArgumentTypeError(f"Sequential.add: expected a ranvier layer, got {type(layer).__name__}")
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
                if self._input_shape is not None and not self._defer_build:
                    self._keras_build()
            except BaseException:  # refused: the model stays as it was (the other layers are
                self._layers.pop()  # still bound to the saved network: _build_layers binds last)
                (self._input_shape, self._net, self._trainer, self._trainer_key,
                 self._trainable_signature) = saved
                raise
            if self._net_obj is None and getattr(layer, "_graph_shared", False):
                return  # not bound here yet: it stays with the model whose buffers hold it
            layer._owner_ref = weakref.ref(self)

    def _check_not_shared(self, layer) -> None:
        """A layer already in another model is shared with it, as in Keras (the TensorFlow
        regression tutorial puts one adapted ``Normalization`` in two models): its weights
        are views into one model's flat buffers at a time, and a model whose layers another
        one took takes them back, with their current weights, on its next use
        (``_functional.take_back``), as for nested models and models of one graph. Using
        one model while the other runs a call is refused (RuntimeError), never raced."""
        ref = getattr(layer, "_owner_ref", None)
        owner = ref() if ref is not None else None
        if owner is None or owner is self or not any(l is layer for l in owner._layers):
            return
        layer._graph_shared = True

    def pop(self):
        """Removes and returns the last entry of ``layers``: a layer, or a model added as a
        layer (all of its layers go, as in Keras)."""
        with self._structural("Sequential.pop"):
            if not self._layers:
                raise _checks.NoLayerError("Sequential.pop: there are no layers to remove")
            last = self._entries()[-1]
            removed = list(last._layers) if isinstance(last, Sequential) else [last]
            del self._layers[len(self._layers) - len(removed):]
            if isinstance(last, Sequential):
                self._nested_groups = [g for g in self._nested_groups if g[0] is not last]
            self._invalidate()
            if self._input_shape is not None and self._layers:
                self._keras_build()
            for layer in removed:
                if getattr(layer, "_owner_ref", None) is not None and layer._owner_ref() is self:
                    layer._owner_ref = None
                if getattr(layer, "_bound_to", None) is not None and layer._bound_to() is self:
                    layer._bound_to = None
            return last

    def get_metrics_result(self) -> Dict[str, Any]:
        """Keras's ``get_metrics_result()``: {name: value} of ``model.metrics`` now (the loss
        and the compiled metrics of the last fit epoch or evaluate; floats, or arrays for
        array-valued metrics)."""
        return _surface.metrics_result(self)

    def reset_metrics(self) -> None:
        """Keras's ``reset_metrics()``: resets the loss tracker and every compiled metric."""
        for m in self.metrics:
            m.reset_state()

    def _claim_layers(self) -> None:
        """Marks every layer as belonging to this model (after a rebuild from a file)."""
        for l in self._layers:
            l._owner_ref = l._bound_to = weakref.ref(self)

    @property
    def layers(self) -> List[Any]:
        """The layers, in order (a new list; the ``Input`` is not a layer here). A model
        added as a layer (``Sequential([base, Softmax()])``) is one entry, as in Keras."""
        return self._entries()

    @property
    def inputs(self) -> List[Any]:
        """Keras's ``model.inputs`` once the input shape is known: ``[symbolic input]`` of
        the model's graph (each layer's ``.output`` is then defined, for
        ``ranvier.Model(model.inputs, model.get_layer(name).output)``)."""
        return [_hook("sequential_graph")(self)[0]]

    @property
    def outputs(self) -> List[Any]:
        """Keras's ``model.outputs``: ``[symbolic output]`` of the model's graph."""
        return [_hook("sequential_graph")(self)[1]]

    @property
    def input(self) -> Any:
        """The symbolic input of the model's graph (``inputs[0]``)."""
        return self.inputs[0]

    @property
    def output(self) -> Any:
        """The symbolic output of the model's graph (``outputs[0]``)."""
        return self.outputs[0]

    def _invalidate(self) -> None:
        self._net = None
        self._trainer = None
        self._trainer_key = None

    # The C++ network. Layers shared by nesting (``Sequential([model, ...])``) or by two
    # functional models of one graph are bound to one model's buffers at a time: when
    # another model took them (``_lent``), reading ``_net`` takes them back first (their
    # current weights are copied in; ``_functional.take_back``).
    _net_obj: Optional[_core.Network] = None
    _inference_holder: Optional[int] = None  # the thread holding the network's inference lock
    _defer_build = False  # Sequential([...]): the layers are built once, after the last add
    _lent = False

    @property
    def _net(self) -> Optional[_core.Network]:
        if self._lent:
            _hook("take_back")(self)
        return self._net_obj

    @_net.setter
    def _net(self, net: Optional[_core.Network]) -> None:
        self._net_obj = net

    @property
    def built(self) -> bool:
        """Whether the model has been built (its weights exist)."""
        return self._net_obj is not None

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
            if input_shape is not None:  # a tuple of ints (None allowed): ValueError naming it otherwise
                shape = layers_base.normalize_shape(input_shape, "Sequential.build: input_shape")
                if len(shape) < 2:
                    raise ValueError(f"Sequential.build: input_shape must include the batch dimension "
                                     f"(e.g. (None, features)), got {input_shape!r}")
                self._input_shape = (None,) + shape[1:]
            if self._input_shape is None:
                raise ValueError("Sequential.build: give input_shape, or start the model with ranvier.Input")
            try:
                self._keras_build()
            except BaseException:
                self._input_shape = saved
                raise

    def _build_layers(self) -> None:
        with _SHARED_BINDING_LOCK:
            self._build_layers_locked()

    def _build_layers_locked(self) -> None:
        if not self._layers:
            return
        if self._input_shape is None:
            raise ValueError("Sequential: the input shape is not known yet (give an Input, build() or data)")
        self._check_shared_idle()
        self._check_size()
        shape = self._input_shape
        first = self._layers[0]
        if len(shape) != 2 and not (isinstance(first, layers_module.Flatten) or getattr(first, "_flat_input", False)
                                    or (len(shape) > 2 and self._elementwise(first))):
            raise ValueError(
                f"Sequential: inputs of shape {self._input_shape} need a Flatten first layer; "
                "ranvier's Dense layers take 2-D (batch, features) input")
        for i, layer in enumerate(self._layers):
            if i > 0 and callable(getattr(layer, "_encode_raw_input", None)):
                raise ValueError(
                    f"Sequential '{self.name}': {type(layer).__name__} '{layer.name}' is layer {i}; a lookup layer "
                    f"takes the model's raw input (strings or integer keys, encoded before the network), so it must "
                    f"be the first layer")
            if layer.built:
                self._check_built_width(i, layer, shape)
            else:
                layer.build(self._build_shape(layer, shape))
                layer.__dict__.setdefault("_path_scope", self.name)  # Keras: "<model>/<layer>/<weight>"
            shape = layer.compute_output_shape(shape)
        net = _core.Network()
        flags = [bool(layer._core_layer.trainable) for layer in self._layers]
        try:
            for layer in self._layers:
                # `layer.trainable` takes effect here (at compile, or any rebuild), as in Keras
                layer._core_layer.trainable = self._trains(layer)
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
        self._layer_storage = per_layer
        self._net = net
        self._lent = False  # the layers are bound to this network's buffers now
        self._mark_layers_taken()
        self._trainer = None
        self._trainer_key = None

    def _check_shared_idle(self) -> None:
        """RuntimeError when a layer about to be bound to this model's buffers is bound to
        another model (shared by nesting or by one graph) that is running a call."""
        for layer in self._layers:
            ref = getattr(layer, "_bound_to", None)
            other = ref() if ref is not None else None
            if other is None or other is self or not any(l is layer for l in other._layers):
                continue
            running = next(iter(list(other._active.values())), None)
            if running is not None:
                raise RuntimeError(
                    f"model '{self.name}': layer '{layer.name}' is shared with model '{other.name}', which is "
                    f"running {running[0]}; shared layers run in one model at a time: build or use "
                    f"'{self.name}' after that call returns")

    def _mark_layers_taken(self) -> None:
        """After binding the layers to this model's buffers: a model that shares them (and
        had them bound to its own) takes them back on its next use."""
        me = weakref.ref(self)
        for layer in self._layers:
            ref = getattr(layer, "_bound_to", None)  # the model whose buffers it was bound to
            other = ref() if ref is not None else None
            if other is not None and other is not self and other._net_obj is not None \
                    and any(l is layer for l in other._layers):
                other._lent = True
            layer._bound_to = layer._owner_ref = me

    @staticmethod
    def _elementwise(layer) -> bool:
        """Whether ``layer`` computes each value on its own (so a row of any shape is fine)."""
        if isinstance(layer, (layers_module.Dropout, layers_module.GaussianNoise, layers_module.GaussianDropout,
                              layers_module.Identity, layers_module.ActivityRegularization)):
            return True
        return (isinstance(layer, (layers_module.Activation, layers_module.ReLU, layers_module.LeakyReLU,
                                   layers_module.ELU))
                and getattr(layer, "_act_name", "") not in ("softmax", "log_softmax"))

    @classmethod
    def _build_shape(cls, layer, shape) -> tuple:
        """The shape ``layer`` is built for when it receives ``shape``: itself, except that an
        elementwise layer on samples of rank >= 2 is built for their flattened rows. A layer
        that works on the last axis (Dense, the normalizations, Softmax, ...) cannot take
        such samples here: ValueError saying to add a Flatten."""
        shape = tuple(shape)
        if len(shape) <= 2 or isinstance(layer, layers_module.Flatten) or getattr(layer, "_flat_input", False):
            return shape
        if cls._elementwise(layer):
            return (shape[0], cls._features_in(layer, shape))
        raise ValueError(
            f"{type(layer).__name__} '{layer.name}' gets inputs of shape {shape}: ranvier's "
            f"{type(layer).__name__} takes 2-D (batch, features) inputs in a model (Keras would apply it along the "
            f"last axis); add a Flatten() before it")

    @classmethod
    def _features_in(cls, layer, shape) -> int:
        """The row width ``layer`` receives for inputs of ``shape`` (Flatten, the layers that
        take the whole sample (``_flat_input``) and elementwise layers on N-D samples: the
        product of the non-batch dimensions; every other layer: the last one)."""
        dims = tuple(shape)[1:]
        if (isinstance(layer, layers_module.Flatten) or getattr(layer, "_flat_input", False)
                or (len(dims) > 1 and cls._elementwise(layer))):
            return int(np.prod([int(d) for d in dims], dtype=np.int64)) if dims else 0
        return int(dims[-1]) if dims and dims[-1] is not None else 0

    def _check_built_width(self, i: int, layer, shape) -> None:
        """ValueError naming both widths when a layer built for N input features would get
        M != N here (placed by the user, or described that way in a model file)."""
        core = getattr(layer, "_core_layer", None)
        if core is None:
            return
        self._build_shape(layer, shape)  # a last-axis layer on N-D samples: the Flatten message
        have, want = int(core.in_features), self._features_in(layer, shape)
        rebuild = getattr(layer, "_rebuild_for_shape", None)
        if rebuild is not None and have == want and rebuild(shape):  # no weights: its core for this shape
            return
        if have != want and isinstance(layer, layers_module.Embedding) and want > 0:
            # the table does not depend on how many ids a sample holds: rebuild for this width
            core.build(want)
            layer._build_input_shape = (None,) + tuple(shape)[1:]
            return
        if have != want:
            where = "the first layer" if i == 0 else f"layer {i}"
            raise ValueError(
                f"Sequential '{self.name}': {type(layer).__name__} '{layer.name}' ({where}) was built for "
                f"{have} input features, but the model gives it {want} (input shape {tuple(shape)}); "
                f"use a new (unbuilt) layer, or feed it inputs with {have} features")

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
                self._keras_build() if inferred else self._build_layers()
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

    def _declared_input(self) -> Tuple[str, str]:
        """``(dtype, name)`` of the ``Input`` the model was started with (its symbolic tensor
        or its ``InputLayer``); ``("float32", "input_layer")`` without one."""
        origin = self.__dict__.get("_input_origin")
        dtype = getattr(origin, "input_dtype", None) or getattr(origin, "dtype", None)
        history = getattr(origin, "_keras_history", None)  # a symbolic Input: its InputLayer's name
        layer = history[0] if isinstance(history, tuple) and history else origin
        return (str(dtype) if isinstance(dtype, str) else "float32"), str(getattr(layer, "name", "input_layer"))

    @property
    def _input_values_checked(self) -> bool:
        """Whether ``_input_rows`` holds x's values to the Input's integer or bool dtype (the
        predict fast path then leaves x to it)."""
        return self._declared_input()[0] in _checks.INT_INPUT_DTYPES and self._raw_input_encoder() is None

    def _input_rows(self, x, name: str, what: str) -> np.ndarray:
        """``x`` as float32 rows (``_checks.as_float_rows``); a 1-D ``x`` is one feature per sample
        (``(n,)`` becomes ``(n, 1)``, as Keras takes it). A dict or an object array says
        which inputs are supported. The values of an Input declared with an integer or bool
        dtype are held to it: integers in the dtype's range (Keras casts them)."""
        if isinstance(x, dict):
            raise _checks.NotNumericDataError(f"{what}: {name} is a dict; a Sequential model takes one input array. "
                            f"Supported inputs: {_data.SUPPORTED}")
        if self._input_values_checked:
            try:
                raw = _checks.as_numeric_array(x, name, what)
            except (TypeError, ValueError):
                raw = None  # the conversion below reports it
            if raw is not None and raw.dtype != object and raw.dtype.kind in "fiu":
                dtype, input_name = self._declared_input()
                _checks.check_int_input_values(raw, dtype, input_name, name, what)
        encoder = self._raw_input_encoder()
        if encoder is not None:  # raw keys (strings, int64): the lookup layer encodes them first (once)
            x = encoder._encode_raw_input(x, name, what)
        try:
            # the id layers (Embedding, CategoryEncoding) check integer ids before float32
            first = self._layers[0] if self._layers else None
            arr = _checks.as_float_rows(x, name, what, getattr(first, "_check_input_values", None))
        except TypeError as e:
            if "dtype=object" in str(e) or "must be an array" in str(e):
                raise _checks.NotNumericDataError(f"{str(e).rstrip('.')}. Supported inputs: {_data.SUPPORTED}"
                                f"{self._batches_hint(x)}") from None
            raise
        except ValueError as e:
            if "could not be converted" in str(e):  # ragged lists, e.g. a list of (x, y) batches
                raise ValueError(f"{str(e).rstrip('.')}. Supported inputs: {_data.SUPPORTED}"
                                 f"{self._batches_hint(x)}") from None
            raise
        if arr.ndim == 1 and (self._input_shape is None or tuple(self._input_shape[1:]) == (1,)):
            arr = arr.reshape(arr.shape[0], 1)  # (a model expecting more features reports (n,))
        if encoder is not None and isinstance(x, np.ndarray) and type(arr) is not type(x):
            arr = arr.view(type(x))  # still marked as encoded (a validation_split slice is not encoded again)
        return arr

    def _raw_input_encoder(self):
        """The first layer when it takes raw keys (a lookup layer: ``_encode_raw_input`` maps
        strings / int64 keys to the indices the network takes), else None."""
        first = self._layers[0] if self._layers else None
        return first if callable(getattr(first, "_encode_raw_input", None)) else None

    @staticmethod
    def _batches_hint(x) -> str:
        if isinstance(x, (list, tuple)) and x and isinstance(x[0], (tuple, list)):
            return ("; a list is taken as array data (as in Keras): to train on a list of (x, y) batches, "
                    "pass iter(batches) or a generator")
        return ""

    @property
    def weights(self) -> List[layers_module.Variable]:
        """Every layer's ``weights`` (``Variable`` views), layer by layer in Keras order."""
        out = []
        for l in self._layers:
            out.extend(l.weights)
        return out

    variables = property(lambda self: self.weights, doc="The same list as ``weights``.")
    trainable_variables = property(lambda self: self.trainable_weights,
                                   doc="Keras 3's name for ``trainable_weights`` (the same list).")
    non_trainable_variables = property(lambda self: self.non_trainable_weights,
                                       doc="Keras 3's name for ``non_trainable_weights`` (the same list).")

    def get_weights(self) -> List[np.ndarray]:
        """Copies of every weight, layer by layer in Keras order (from another thread while
        the model trains: the weights between two optimizer steps)."""
        out = []
        with _saving_common.between_steps(self):
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

    def _param_segments(self) -> List[Tuple[int, int, str]]:
        """What the optimizer updates: ``(offset, size, "<layer>/<weight>")`` of every
        trainable weight in the flat parameter buffer, in network order."""
        net = self._built_net()
        return [(t["offset"], t["size"], f"{self._layers[t['layer']].name}/{t['name']}")
                for t in net.tensors() if t["trainable"]]

    def _forward_training(self, x: np.ndarray) -> np.ndarray:
        """The layers on ``x`` in training mode (``model(x, training=True)``; the caller
        holds the trainer and the inference lock)."""
        out = x
        encoder = self._raw_input_encoder()
        with live_trainable([(l, l._core_layer) for l in self._layers], self.trainable):
            for l in self._layers:
                if l is encoder:  # x holds its indices already (_input_rows): its C++ core, as predict runs it
                    out = layers_module.Layer.__call__(l, out, training=True)
                else:
                    out = l(out, training=True)
        return out

    def _summary_columns(self) -> Tuple[List[str], str]:
        return ["Layer (type)", "Output Shape", "Param #"], "llr"

    def get_config(self) -> Dict[str, Any]:
        """Keras's Sequential config: name, trainable, dtype, the layers (an InputLayer
        entry first when the input shape is known; a model added as a layer as one entry
        holding its own config, as Keras) and ``build_input_shape``."""
        return self._sequential_config(nested=True)

    def _save_state(self, include_optimizer: bool = True) -> Dict[str, Any]:
        state = super()._save_state(include_optimizer)
        if self.__dict__.get("_nested_groups") and type(self).get_config is Sequential.get_config:
            # the model file's architecture: the flat chain the C and C++ loaders run; Keras's
            # weight keys: a nested model's layers under "<its key>/layers/"
            state["config"] = self._sequential_config(nested=False)
            state["layer_keys"] = self._nested_layer_keys()
            state["sequential_config"] = self.get_config()  # the models added as layers (Python's loader)
        return state

    def _sequential_config(self, nested: bool) -> Dict[str, Any]:
        layers = []
        if self._input_shape is not None:
            # the Input's declared dtype; raw keys (a lookup layer first): "string" / "int64"
            dtype = self._declared_input()[0] if self.__dict__.get("_input_origin") is not None else (
                getattr(self._layers[0], "_raw_input_dtype", "float32") if self._layers else "float32")
            name = self._declared_input()[1] if self.__dict__.get("_input_origin") is not None else (
                self.__dict__.get("_implicit_input_name") or "input_layer")
            layers.append(layers_input.input_layer_entry(list(self._input_shape), dtype, name))
        for l in (self._entries() if nested else self._layers):
            layers.append(_hook("model_entry")(l) if isinstance(l, Sequential) else layers_module.serialize(l))
        return {"name": self.name, "trainable": self.trainable, "dtype": dict(layers_base.DTYPE_POLICY),
                "layers": layers, "build_input_shape": None if self._input_shape is None else tuple(self._input_shape)}

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
            if lc.get("class_name") in ("Sequential", "Functional", "Model"):  # a model added as a layer
                model.add(_hook("model_from_entry")(lc, custom_objects))
                continue
            model.add(layers_module.deserialize(lc, custom_objects=custom_objects))
        if first_input:  # then one build (once per layer would be quadratic in the layer count)
            shape = tuple(config["layers"][0]["config"].get("batch_shape"))[1:]
            dtype = config["layers"][0]["config"].get("dtype") or "float32"
            given = config["layers"][0]["config"].get("name")  # kept, as Keras's InputLayer.from_config
            in_name = given if isinstance(given, str) and given else None
            if not model._layers:
                model.add(layers_module.Input(shape=shape, dtype=dtype, name=in_name))
            else:
                model._implicit_input_name = in_name
                if model._input_shape is None or tuple(model._input_shape[1:]) != shape:
                    model.build((None,) + shape)  # the InputLayer's shape wins, as when it was added first
                if dtype != "float32":  # the declared dtype (get_config, the input checks)
                    model._input_origin = layers_module.Input(shape=shape, dtype=dtype, name=in_name)
                model._keras_rebuilt(len(model._entries()) - 1)  # Keras rebuilds at each add
        return model

    def to_json(self, **kwargs) -> str:
        """Keras's ``model.to_json()``: the architecture as a JSON string
        (``ranvier.models.model_from_json`` reads it back)."""
        return _hook("to_json")(self, **kwargs)

    def __deepcopy__(self, memo):
        clone = type(self).from_config(self.get_config())
        if self.built:
            clone.build(self._input_shape)
            clone.set_weights(self.get_weights())
        clone.__dict__["_model_policy"] = self.dtype_policy  # compile's loss-scale rule reads it
        if self._compile_config is not None:
            clone.compile(optimizer=optimizers_module.get(self._compile_config["optimizer"]),
                          loss=copy.deepcopy(self.loss), loss_weights=self._compile_config["loss_weights"],
                          metrics=list(self._metrics_arg), weighted_metrics=list(self._weighted_metrics_arg))
        return clone


MODEL_CLASSES["Sequential"] = Sequential
