"""The Layer base class, the Variable view of a weight, and shared helpers."""
from __future__ import annotations

import contextlib

import functools
import threading
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .. import _checks, _core, _tensor
from .. import mixed_precision as _mixed_precision
from .._variable import Variable as _KerasVariable

# Keras 3 serializes a layer's dtype as its DTypePolicy.
DTYPE_POLICY = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
                "registered_name": None}

# ----------------------------------------------------------------------------- names
from .._naming import reset as reset_uids, to_snake_case, uniquify as unique_name  # noqa: E402,F401


from ._arguments import (  # noqa: E402,F401 - re-exported: the layer modules import them from here
    ACT_KINDS, check_bool, check_dtype, resolve_activation, core_act_args, serialize_activation, get_initializer, NotANumberError, _not_a_number, check_layer_argument, _shown, check_seed, check_float, physical_memory, check_weights_fit, normalize_shape)


# ----------------------------------------------------------------------------- Variable
class Variable(_KerasVariable):
    """A view of one layer weight (``layer.weights[i]``), reading the layer's live storage
    (a ``ranvier.Variable``, as Keras's weights are ``keras.Variable`` objects).

    ``numpy()`` returns a copy; ``assign(value)`` writes in place (shape-checked);
    NumPy functions accept it directly (``np.asarray(v)``).
    """

    __slots__ = ("_layer", "_index", "name", "_intrinsic_trainable")

    def __init__(self, layer: "Layer", index: int, name: str, intrinsic_trainable: bool):
        self._layer = layer
        self._index = index
        self.name = name
        self._intrinsic_trainable = intrinsic_trainable

    @property
    def value(self) -> np.ndarray:
        """The live float32 array (not a copy): writing to it changes the layer."""
        return self._layer._params[self._index]

    @property
    def path(self) -> str:
        """``"<layer name>/<weight name>"``, e.g. ``"dense/kernel"``; as in Keras, a layer a
        Sequential built has the model's name first (``"sequential/dense/kernel"``)."""
        scope = self._layer.__dict__.get("_path_scope")
        return f"{scope}/{self._layer.name}/{self.name}" if scope else f"{self._layer.name}/{self.name}"

    @property
    def shape(self) -> tuple:
        """The weight's shape (Keras layout: a Dense kernel is (input_dim, units))."""
        return tuple(self.value.shape)

    @property
    def dtype(self) -> str:
        """Always ``"float32"``."""
        return "float32"

    @property
    def trainable(self) -> bool:
        """Whether the optimizer updates this weight: False for BatchNormalization's moving
        statistics and for every weight of a layer whose ``trainable`` is False."""
        return self._intrinsic_trainable and self._layer.trainable

    def numpy(self) -> np.ndarray:
        """A copy of the current value."""
        return self.value.copy()

    def assign(self, value) -> "Variable":
        """Writes ``value`` (converted to float32, same shape required) into the weight in place."""
        arr = _checks.to_float32(np.asarray(value), self.path, "Variable.assign")
        if arr.shape != self.value.shape:
            raise ValueError(f"Variable {self.path}: cannot assign a value of shape {arr.shape} "
                             f"to a variable of shape {self.value.shape}")
        np.copyto(self.value, arr)
        return self

    def __array__(self, dtype=None, copy=None):
        v = self.value
        if dtype is not None:
            return v.astype(dtype)
        return v.copy() if copy else v

    def __len__(self) -> int:
        return len(self.value)

    def __repr__(self) -> str:
        return f"<Variable path={self.path}, shape={self.shape}, dtype=float32, value={self.value!r}>"


class BroadcastVariable(Variable):
    """A Normalization statistic as Keras's ``layer.mean`` / ``layer.variance`` show it: the
    weight's live storage viewed in the broadcast shape of the built input (``(1, d)`` for
    rows of d features with axis=-1, ``(1, 1)`` with axis=None)."""

    __slots__ = ("_broadcast_shape",)

    def __init__(self, weight: Variable, broadcast_shape: tuple):
        super().__init__(weight._layer, weight._index, weight.name, weight._intrinsic_trainable)
        self._broadcast_shape = tuple(broadcast_shape)

    @property
    def value(self) -> np.ndarray:
        """The live float32 storage in the broadcast shape (a view: writing changes the layer)."""
        return self._layer._params[self._index].reshape(self._broadcast_shape)


# ----------------------------------------------------------------------------- custom layers
# The layer classes the C++ core builds (its layer table, cpp/src/layers/layers.def).
BUILTIN_LAYER_NAMES = tuple(_core.layer_class_names())


def custom_layer_message(cls: type, why: str) -> str:
    """What is and is not supported, for a user's ``Layer`` subclass ranvier cannot run."""
    return (
        f"ranvier cannot run the custom layer {cls.__name__} ({why}). ranvier's layers run in C++ "
        f"(forward, backward and the weights), so a Layer subclass with its own Python call(), build() or "
        f"add_weight() is not supported. Supported: the built-in layers ({', '.join(BUILTIN_LAYER_NAMES)}), "
        f"and subclasses of them that keep their computation (to change defaults, names or config; load "
        f"them with custom_objects). Nearest alternatives: an Activation layer with a built-in activation, "
        f"a stack of built-in layers, or the custom step in NumPy before/after model.predict; for layers "
        f"ranvier does not have, use Keras itself.")


def check_runnable_layer(layer) -> None:
    """NotImplementedError (with ``custom_layer_message``) for a layer ranvier cannot run:
    a subclass that defines Keras's ``call`` or has no C++ layer of its own."""
    cls = type(layer)
    if getattr(cls, "_make_core", None) is Layer._make_core:
        raise NotImplementedError(custom_layer_message(cls, "it has no C++ layer"))
    for klass in cls.__mro__:
        if klass is Layer:
            break
        if "call" in vars(klass):
            raise NotImplementedError(custom_layer_message(cls, "it defines call()"))


# ----------------------------------------------------------------------------- Layer
# The functional API's hooks (``ranvier._functional`` fills them when it loads; it imports
# this module, so this module cannot import it): "call_symbolic" and "sequential_graph".
SYMBOLIC_HOOKS: Dict[str, Any] = {}


def symbolic_hook(name: str):
    """The functional API's hook ``name``, loading ``ranvier._functional`` (which registers
    it) on first use."""
    if name not in SYMBOLIC_HOOKS:
        import importlib
        importlib.import_module("ranvier._functional")
    return SYMBOLIC_HOOKS[name]


def _is_symbolic(x) -> bool:
    """Whether ``x`` is a symbolic tensor (``ranvier.Input``'s, or a layer's output on one),
    or a list/tuple holding one."""
    if isinstance(x, (list, tuple)):
        return any(getattr(t, "_ranvier_symbolic", False) is True for t in x)
    return getattr(x, "_ranvier_symbolic", False) is True


class Layer:
    """Base class of ranvier's layers (see the ``ranvier.layers`` docstring for the
    protocol the model uses). Subclasses implement ``_make_core()``,
    ``_initializer_for(name)`` and, where it differs from identity,
    ``compute_output_shape``."""

    _core_layer: Optional[_core.Layer] = None  # set by build()
    # weakref to the Sequential holding the layer (one at a time; see Sequential.add)
    _owner_ref: Optional[Any] = None
    _bound_to: Optional[Any] = None  # weakref to the model whose buffers hold the weights now

    def __init_subclass__(cls, **kwargs):
        """A subclass's own ``__call__`` (one that converts its input first, say) is wrapped
        so that a symbolic tensor goes to the functional path of ``Layer.__call__``."""
        super().__init_subclass__(**kwargs)
        call = cls.__dict__.get("__call__")
        if call is None or getattr(call, "_symbolic_aware", False):
            return

        @functools.wraps(call)
        def __call__(self, *args, **kw):
            if args and _is_symbolic(args[0]):
                return Layer.__call__(self, *args, **kw)
            return _tensor.eager_structure(call(self, *args, **kw))

        __call__._symbolic_aware = True
        cls.__call__ = __call__

    def __init__(self, *, trainable: bool = True, name: Optional[str] = None, dtype=None,
                 input_shape=None, input_dim=None, batch_size=None, batch_input_shape=None,
                 weights=None, **kwargs):
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments passed to {type(self).__name__}: {kwargs}")
        # Keras: the policy is captured at construction (None: the global policy).
        self._dtype_policy = _mixed_precision.resolve(dtype)
        if name is None:
            name = unique_name(to_snake_case(type(self).__name__))
        elif not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        self.name = name
        self._trainable = check_bool(trainable, "trainable")
        self.built = False
        self._build_input_shape: Optional[tuple] = None
        self._params: List[np.ndarray] = []
        self._grads: List[Optional[np.ndarray]] = []
        self._names: List[str] = []
        self._intrinsic: List[bool] = []
        self._capacity = 0
        self._step = 0
        self._last_activity_loss = 0.0
        self._initial_weights = weights
        # Keras's input_shape= / input_dim= on the first layer: the model reads this hint.
        self._input_shape_hint: Optional[tuple] = None
        if batch_input_shape is not None:
            self._input_shape_hint = normalize_shape(batch_input_shape, "batch_input_shape")
        elif input_shape is not None:
            self._input_shape_hint = (batch_size,) + normalize_shape(input_shape, "input_shape")
        elif input_dim is not None:
            self._input_shape_hint = (batch_size, _checks.check_int(input_dim, "input_dim", type(self).__name__, 1))
        if batch_size is not None:
            _checks.check_int(batch_size, "batch_size", type(self).__name__, 1)
        if input_shape is not None or input_dim is not None:  # Keras 3 warns the same
            warnings.warn("Do not pass an `input_shape`/`input_dim` argument to a layer. When using Sequential "
                          "models, prefer using an `Input(shape)` object as the first layer in the model instead.",
                          UserWarning, stacklevel=3)

    # ---- subclass hooks
    def _make_core(self) -> _core.Layer:
        raise NotImplementedError(custom_layer_message(type(self), "it has no C++ layer (no _make_core)"))

    def add_weight(self, *args, **kwargs):
        """Not supported: ranvier's layers keep their weights in C++; a custom layer that
        creates weights in Python (Keras's ``add_weight``) cannot be trained here.
        Raises NotImplementedError explaining what is supported."""
        raise NotImplementedError(custom_layer_message(type(self), "it calls add_weight()"))

    def _initializer_for(self, weight_name: str):
        raise NotImplementedError(f"{type(self).__name__} has no weight {weight_name!r}")

    def _describe(self) -> str:
        return f"{type(self).__name__} '{self.name}'"

    def _in_features(self, input_shape: tuple) -> int:
        if len(input_shape) < 2:
            raise ValueError(f"{self._describe()} expects inputs of rank >= 2 (batch, features), "
                             f"got input_shape={input_shape}")
        d = input_shape[-1]
        if d is None or d <= 0:
            raise ValueError(f"{self._describe()} needs a known, positive number of features, "
                             f"got input_shape={input_shape}")
        if d > _checks.MAX_FEATURES:  # what the C++ layers and a model file take
            raise ValueError(f"{self._describe()}: input_shape={input_shape} has {d} features, more than the "
                             f"{_checks.MAX_FEATURES} (2**40) a model file can hold")
        return int(d)

    def compute_output_shape(self, input_shape):
        """The output shape for ``input_shape`` (batch first); the identity here."""
        return tuple(input_shape)

    def _weight_count(self, input_shape: tuple) -> int:
        """How many weights ``build(input_shape)`` would create (0 when none or when the
        shape does not say), computed without building: the size check before building."""
        return 0

    # ---- properties
    @property
    def trainable(self) -> bool:
        """Whether the layer's weights are trained (default True). Setting it changes the
        weight lists; a compiled model picks the change up on its next fit (as in Keras,
        recompile after changing it)."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        value = check_bool(value, "trainable")
        owner = self._owner()
        if owner is not None:
            # In a model: the change takes effect when the model is next compiled (or
            # rebuilt), as in Keras, never under a running fit. From another thread while
            # the model runs a call, it is refused.
            with owner._state_lock:
                running = owner._busy_in_other_thread()
                if running is not None:
                    raise RuntimeError(
                        f"{self._describe()}: trainable cannot change while model '{owner.name}' is running "
                        f"{running} in another thread; set it after that call returns, then recompile")
                self._trainable = value
                if owner._net_obj is None and self._core_layer is not None:
                    self._core_layer.trainable = value  # not in a built network: nothing to defer
            return
        self._trainable = value
        if self._core_layer is not None:
            self._core_layer.trainable = self._trainable

    def _owner(self):
        """The Sequential holding this layer, or None."""
        ref = self._owner_ref
        owner = ref() if ref is not None else None
        if owner is None or not any(l is self for l in owner._layers):
            return None
        return owner

    @property
    def dtype(self) -> str:
        """The variable dtype (Keras's ``layer.dtype``): always ``"float32"``."""
        return self._dtype_policy.variable_dtype

    @property
    def dtype_policy(self):
        """The layer's ``DTypePolicy`` (``"float32"`` or ``"mixed_bfloat16"``), captured
        from the global policy at construction unless ``dtype=`` named one."""
        return self._dtype_policy

    @property
    def compute_dtype(self) -> str:
        """The policy's compute dtype: ``"bfloat16"`` under mixed_bfloat16 (the inputs of
        Dense's matrix multiplies are rounded to bfloat16; other arithmetic, and the
        outputs, stay float32), else ``"float32"``."""
        return self._dtype_policy.compute_dtype

    @property
    def variable_dtype(self) -> str:
        """The dtype of the layer's weights: always ``"float32"``."""
        return self._dtype_policy.variable_dtype

    @property
    def input_shape(self):
        """The input shape the layer was built with (batch first); AttributeError before build."""
        if self._build_input_shape is None:
            raise AttributeError(f"Layer {self.name} is not built yet")
        return self._build_input_shape

    def _only_node(self, what: str):
        nodes = self.__dict__.get("_inbound_nodes") or []
        owner = self._owner() if not nodes else None
        if owner is not None and owner._input_shape is not None and not hasattr(owner, "_input_layer"):
            symbolic_hook("sequential_graph")(owner)  # a layer of a Sequential: its graph defines it
            nodes = self.__dict__.get("_inbound_nodes") or []
        if not nodes:
            raise AttributeError(f"Layer {self.name} has never been called on a symbolic tensor and thus has no "
                                 f"defined {what}.")
        if len(nodes) > 1:
            raise AttributeError(f"Layer {self.name} has been called {len(nodes)} times: its {what} is ambiguous")
        return nodes[0]

    @property
    def input(self):
        """The symbolic tensor the layer was called on (functional API; AttributeError when
        it was never called on one, or several times)."""
        node = self._only_node("input")
        if not node.input_tensors:  # an InputLayer: its own tensor
            return node.output_tensors[0]
        return node.input_tensors[0]

    @property
    def output(self):
        """The symbolic tensor the layer's call returned (functional API; AttributeError
        when it was never called on a symbolic tensor, or several times)."""
        return self._only_node("output").output_tensors[0]

    @property
    def output_activation_kind(self) -> str:
        """Name of the activation the layer applies last (ActKind, lower case), for loss fusion."""
        if self._core_layer is None:
            return "linear"
        return ACT_KINDS[self._core_layer.output_activation]

    # ---- building
    def build(self, input_shape) -> None:
        """Creates the weights for inputs of ``input_shape`` (batch dimension first, may be
        None) with the layer's initializers, then applies ``weights=`` if given."""
        check_runnable_layer(self)
        owner = self._owner() if self.built else None
        if owner is not None:  # rebuilding a layer of a model: a structural change of the model
            with owner._structural(f"{self._describe()}.build"):
                self._build_unchecked(input_shape)
                owner._invalidate()  # the model rebuilds its network (and checks the new width)
            return
        self._build_unchecked(input_shape)

    def _build_unchecked(self, input_shape) -> None:
        shape = normalize_shape(input_shape)
        in_features = self._in_features(shape)
        n_weights = self._weight_count(shape)
        if n_weights:
            check_weights_fit(f"{type(self).__name__}.build", [(self, shape, n_weights)])
        core = self._make_core()
        core.trainable = True
        core.build(in_features)
        specs = core.param_specs()
        params, grads = [], []
        for name, wshape, trainable in specs:
            init = self._initializer_for(name)
            value = np.array(init(tuple(wshape), dtype="float32"), dtype=np.float32, order="C")  # keeps rank 0
            if value.shape != tuple(wshape):
                raise ValueError(f"{self._describe()}: the initializer of {name} returned shape "
                                 f"{value.shape}, expected {tuple(wshape)}")
            params.append(value)
            grads.append(np.zeros(tuple(wshape), np.float32) if trainable else None)
        self._names = [s[0] for s in specs]
        self._intrinsic = [bool(s[2]) for s in specs]
        core.trainable = self._trainable
        core.bind(params, grads)
        self._core_layer = core
        self._params, self._grads = params, grads
        self._capacity = 0
        self._build_input_shape = tuple(shape)
        self.built = True
        if self._initial_weights is not None:
            w, self._initial_weights = self._initial_weights, None
            self.set_weights(w)

    def get_build_config(self) -> Optional[Dict[str, Any]]:
        """``{"input_shape": (None, ...)}`` once built (what saving stores; a tuple, as
        Keras's), else None."""
        if self._build_input_shape is None:
            return None
        return {"input_shape": tuple(self._build_input_shape)}

    def build_from_config(self, config: Dict[str, Any]) -> None:
        """Builds the layer from ``get_build_config()``'s dict (no-op when already built)."""
        shape = (config or {}).get("input_shape")
        if shape is not None and not self.built:
            self.build(tuple(shape))

    # ---- the model's protocol
    def _weight_specs(self) -> List[Tuple[str, tuple, bool]]:
        """[(name, shape, trainable)] in Keras weight order (trainable False when frozen)."""
        core = self._built_core("_weight_specs")
        return [(n, tuple(s), bool(t)) for n, s, t in core.param_specs()]

    def _adopt_storage(self, params: Sequence[np.ndarray], grads: Sequence[Optional[np.ndarray]]) -> None:
        """Copies the current weights into ``params`` and makes them (and ``grads``) the
        layer's storage from now on; re-binds the C++ layer to them."""
        core = self._built_core("_adopt_storage")
        n = len(self._params)
        if len(params) != n or len(grads) != n:
            raise ValueError(f"{self._describe()}: _adopt_storage needs {n} params and {n} grads, "
                             f"got {len(params)} and {len(grads)}")
        params, grads = list(params), list(grads)
        for i, (p, g) in enumerate(zip(params, grads)):
            for what, a in (("param", p), ("grad", g)):
                if a is None and what == "grad":
                    continue
                if (not isinstance(a, np.ndarray) or a.dtype != np.float32 or not a.flags.c_contiguous
                        or not a.flags.writeable or a.shape != self._params[i].shape):
                    raise ValueError(
                        f"{self._describe()}: _adopt_storage {what} {self._names[i]} must be a writeable "
                        f"C-contiguous float32 array of shape {self._params[i].shape}")
        for new, old in zip(params, self._params):
            if new is not old:
                np.copyto(new, old)
        core.bind(params, grads)
        self._params, self._grads = params, grads

    # ---- weights
    def _require_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(f"You tried to call `{what}` on layer '{self.name}', but the layer isn't built. "
                             f"Build it first (call it on data, or layer.build(input_shape)).")

    def _weight(self, name: str):
        """The weight ``Variable`` called ``name``, or None when the layer has none by that
        name (e.g. ``gamma`` with ``scale=False``); ValueError before the layer is built."""
        self._require_built(name)
        for v in self.weights:
            if v.name == name:
                return v
        return None

    def _built_core(self, what: str) -> _core.Layer:
        """The C++ layer; ValueError (as ``_require_built``) before the layer is built."""
        self._require_built(what)
        core = self._core_layer
        if core is None:  # built without a core: a subclass broke the build protocol
            raise RuntimeError(f"{self._describe()} is marked built but has no C++ layer")
        return core

    @property
    def weights(self) -> List[Variable]:
        """All weights as ``Variable`` views, in Keras order."""
        return [Variable(self, i, n, t) for i, (n, t) in enumerate(zip(self._names, self._intrinsic))]

    @property
    def trainable_weights(self) -> List[Variable]:
        """The weights the optimizer updates (none when ``trainable`` is False)."""
        if not self._trainable:
            return []
        return [v for v in self.weights if v._intrinsic_trainable]

    @property
    def non_trainable_weights(self) -> List[Variable]:
        """The weights the optimizer leaves alone (BatchNormalization's moving statistics;
        all of them when ``trainable`` is False)."""
        if not self._trainable:
            return self.weights
        return [v for v in self.weights if not v._intrinsic_trainable]

    @property
    def variables(self) -> List[Variable]:
        """The same list as ``weights``."""
        return self.weights

    @property
    def trainable_variables(self) -> List[Variable]:
        """Keras 3's name for ``trainable_weights`` (the same list)."""
        return self.trainable_weights

    @property
    def non_trainable_variables(self) -> List[Variable]:
        """Keras 3's name for ``non_trainable_weights`` (the same list)."""
        return self.non_trainable_weights

    def get_weights(self) -> List[np.ndarray]:
        """Copies of the weights, in Keras order (from another thread while the model holding
        the layer trains: the weights between two optimizer steps)."""
        with self._between_steps():
            return [p.copy() for p in self._params]

    def _between_steps(self):
        """The model holding this layer's ``between_steps`` (its inference lock while another
        thread trains it), or a no-op for a layer outside a model."""
        owner = self._owner()
        if owner is None:
            return contextlib.nullcontext()
        from .._saving_common import between_steps  # (lazily: _saving_common imports the layers' users)
        return between_steps(owner)

    def set_weights(self, weights) -> None:
        """Sets every weight from a list of arrays in Keras order and Keras shapes (ValueError
        naming the weight otherwise; RuntimeError when the shapes differ while the model
        holding the layer runs a call in another thread)."""
        weights = list(weights)
        arrays = self._check_weights(weights)
        with self._between_steps():  # between two optimizer steps of a model training in another thread
            for p, a in zip(self._params, arrays):
                np.copyto(p, a)

    def _check_weights(self, weights) -> List[np.ndarray]:
        """The arrays of ``weights`` once their count, dtypes and shapes fit this layer."""
        owner = self._owner()
        if owner is not None:
            running = owner._busy_in_other_thread()
            if running is not None and [tuple(np.shape(w)) for w in weights] != [p.shape for p in self._params]:
                raise RuntimeError(
                    f"Layer {self.name}: set_weights with other shapes while model '{owner.name}' is running "
                    f"{running} in another thread would change its structure; wait for that call to return")
        if len(weights) != len(self._params):
            raise ValueError(
                f"You called `set_weights(weights)` on layer '{self.name}' with a weight list of length "
                f"{len(weights)}, but the layer was expecting {len(self._params)} weights.")
        arrays = []
        for name, p, w in zip(self._names, self._params, weights):
            a = np.asarray(w)
            if a.dtype.kind not in "fiub":
                raise ValueError(f"Layer {self.name}: weight {name} must be numeric, got dtype={a.dtype}")
            if a.shape != p.shape:
                raise ValueError(f"Layer {self.name} weight shape {p.shape} is not compatible with provided "
                                 f"weight shape {a.shape} (weight {name}).")
            # finite values beyond float32 are refused before any weight changes
            arrays.append(_checks.to_float32(a, f"weight {name}", f"Layer {self.name}: set_weights"))
        return arrays

    def count_params(self) -> int:
        """The number of scalars in all weights; ValueError before the layer is built."""
        if not self.built:
            raise ValueError(f"You tried to call `count_params` on layer '{self.name}', but the layer isn't "
                             f"built. You can build it manually via: `layer.build(input_shape)`.")
        return int(sum(p.size for p in self._params))

    @property
    def losses(self) -> List[float]:
        """Regularization penalties: the weight penalties of the current weights, then the
        activity penalty of the last call (Keras's ``layer.losses``)."""
        out = []
        if self.built and self._trainable and self._core_layer is not None:
            w = self._core_layer.regularization(False)
            if w:
                out.append(float(w))
        if self._last_activity_loss:
            out.append(float(self._last_activity_loss))
        return out

    # ---- calling on NumPy data
    def _adapt_rank(self, arr: np.ndarray) -> np.ndarray:
        """The input as the layer computes on it; rank < 2 is refused here (elementwise
        layers override this to accept rank 1 and 0, as Keras's do)."""
        if arr.ndim < 2:
            raise ValueError(f"{self._describe()} expects input of rank >= 2 (batch, features), "
                             f"got x.shape={arr.shape}")
        return arr

    def _width_twin(self, x: np.ndarray) -> Optional[_core.Layer]:
        """For a layer whose weights do not depend on the input width (activations, Dropout,
        Rescaling, Discretization, Normalization(axis=None), ...), called on data of another
        width than the one it was built for: a C++ layer built for this width and bound to
        the same weights (Keras's layers without an input spec take any width). None when
        the width is the built one, or when the weights depend on it (the usual error)."""
        core = self._built_core("__call__")
        if (x.ndim < 2 or x.shape[-1] == core.in_features or x.shape[-1] <= 0
                or type(self)._to_rows is not Layer._to_rows):
            return None
        saved = dict(self.__dict__)  # _in_features / _make_core may record the width
        try:
            twin = self._make_core()
            twin.trainable = False
            twin.build(self._in_features((None,) + tuple(x.shape[1:])))
        except (ValueError, TypeError):
            return None
        finally:
            self.__dict__.clear()
            self.__dict__.update(saved)
        if [tuple(s) for _, s, _ in twin.param_specs()] != [p.shape for p in self._params]:
            return None
        twin.bind(self._params, [None] * len(self._params))
        return twin

    def _to_rows(self, x: np.ndarray) -> Tuple[np.ndarray, tuple]:
        """(rows, output shape) for an input array; checks the feature count."""
        core = self._built_core("__call__")
        nf = core.in_features
        if x.ndim < 2 or x.shape[-1] != nf:
            raise ValueError(f"{self._describe()} expected input with {nf} features, got x.shape={x.shape}")
        rows = x.reshape(-1, nf)
        out_shape = x.shape[:-1] + (core.out_features,)
        return rows, out_shape

    def __call__(self, x, training=None, **kwargs):
        check_runnable_layer(self)
        if _is_symbolic(x):  # the functional API: a symbolic tensor in, one out (ranvier._functional)
            return symbolic_hook("call_symbolic")(self, x, training, kwargs)
        kwargs.pop("mask", None)
        if kwargs:
            raise TypeError(f"{type(self).__name__}.__call__ got unexpected arguments {sorted(kwargs)}")
        arr = _checks.as_numeric_array(x, "x", self._describe())  # pandas: columns checked by name
        if arr.dtype == object or arr.dtype.kind not in "fiub":
            raise TypeError(f"{self._describe()}: x must be an array of real numbers, got dtype={arr.dtype}")
        arr = self._adapt_rank(arr)
        if not self.built:
            self.build((None,) + tuple(arr.shape[1:]))
        core = self._width_twin(arr)
        if core is None:
            rows, out_shape = self._to_rows(arr)  # may rebuild the C++ layer (pooling: another shape)
            core = self._core_layer
        else:
            rows, out_shape = arr.reshape(-1, arr.shape[-1]), arr.shape[:-1] + (core.out_features,)
        rows = _checks.to_float32(rows, "x", self._describe())
        n = rows.shape[0]
        out = np.empty((n, core.out_features), dtype=np.float32)
        training = bool(training) if training is not None else False
        # In a built model, the C++ layer's workspaces are the ones the model's fit / predict
        # use (from any thread): hold the model's inference lock, as they do, unless this
        # thread already holds it (Sequential.__call__ in training mode).
        owner = self._owner()
        net = getattr(owner, "_net_obj", None) if owner is not None else None
        locked = net is not None and getattr(owner, "_inference_holder", None) != threading.get_ident()
        if locked:
            net.lock_inference()
        try:
            if core is not self._core_layer:
                core.reserve(n)
            elif n > self._capacity:
                core.reserve(n)
                self._capacity = n
            step = 0
            if training:
                self._step += 1
                step = self._step
            self._last_activity_loss = float(core.forward(rows, out, training, step))
        finally:
            if locked:
                net.unlock_inference()
        out = _mixed_precision.to_float16(out) if self._dtype_policy.compute_dtype == "float16" else out
        return _tensor.eager(out.reshape(out_shape))

    # ---- config
    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments as a dict (Keras layout), for ``from_config`` and saving."""
        return {"name": self.name, "trainable": self.trainable,
                "dtype": dict(DTYPE_POLICY, config={"name": self._dtype_policy.name})}

    @classmethod
    def from_config(cls, config: Dict[str, Any]) -> "Layer":
        """Creates a layer from ``get_config()``'s dict (unbuilt)."""
        return cls(**config)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"
