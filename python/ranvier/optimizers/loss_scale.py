"""``LossScaleOptimizer`` (Keras 3's ``keras.optimizers.LossScaleOptimizer``, also
``keras.mixed_precision.LossScaleOptimizer``): dynamic loss scaling around another
optimizer, for the ``mixed_float16`` policy.

The loss is multiplied by ``dynamic_scale`` (ranvier's C++ training step multiplies the
loss gradient), so the gradients that would underflow in half precision survive the
backward pass; before the inner optimizer's step the gradients are divided by the
scale. A step with any non-finite gradient is skipped (the weights, the inner optimizer's
slots and ``iterations`` stay as they were), the scale halves and the counter resets;
after ``dynamic_growth_steps`` finite steps in a row the scale doubles. The state machine
runs in C++ (``cpp/src/optimizers/loss_scale.h``), inside the training step, with no
allocation and the same bits at every thread count.

``compile`` wraps the optimizer in one (named ``"loss_scale_optimizer"``) when the model
was made under the ``mixed_float16`` global policy and ``auto_scale_loss=True`` (the
default), as Keras does; never for other policies.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Dict, List, Optional

import numpy as np

from .. import _checks
from .. import _core as _C
from .._naming import auto_name as _auto_name
from .base import Optimizer, _is_real

# The base optimizer arguments Keras's LossScaleOptimizer accepts only at their defaults
# (older configs wrote them).
_BASE_DEFAULTS = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
                  "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
                  "loss_scale_factor": None, "gradient_accumulation_steps": None}
# The loss scale's two variables, carried in the optimizer state's "scalars" (so the model
# file, the .keras writer and the data-parallel broadcast move them with the rest).
SCALE_KEY, COUNTER_KEY = "loss_scale/dynamic_scale", "loss_scale/step_counter"
# ranvier.optimizers' serialize and deserialize (set by the package, which imports this
# module: importing them here would make a cycle).
codec: Dict[str, Any] = {}


class ScalarVariable(float):
    """What ``dynamic_scale`` reads: the value (a float), with the
    ``numpy()``, ``dtype``, ``shape`` and ``assign`` of the Keras variable it is there."""

    shape = ()
    dtype = "float32"
    _setter: Any = None

    def __new__(cls, value: float, dtype: str = "float32", setter: Any = None):
        obj = super().__new__(cls, value)
        obj.dtype = dtype
        obj._setter = setter
        return obj

    def numpy(self):
        """The value as a NumPy scalar of the variable's dtype."""
        return np.asarray(float(self)).astype(self.dtype)[()]

    def assign(self, value) -> None:
        """Sets the optimizer's value (as Keras's ``variable.assign``)."""
        if self._setter is None:
            raise ValueError("this value is read-only")
        self._setter(value)

    def __reduce__(self):
        return (float, (float(self),))


class IntVariable(int):
    """What ``step_counter`` reads: the count (an int), with the ``numpy()`` (int64),
    ``dtype``, ``shape`` and ``assign`` of the Keras variable it is there."""

    shape = ()
    dtype = "int64"
    _setter: Any = None

    def __new__(cls, value: int, setter: Any = None):
        obj = super().__new__(cls, value)
        obj._setter = setter
        return obj

    def numpy(self):
        """The value as a NumPy int64 scalar."""
        return np.int64(int(self))

    def assign(self, value) -> None:
        """Sets the optimizer's counter (as Keras's ``variable.assign``)."""
        self._setter(value)

    def __reduce__(self):
        return (int, (int(self),))


class LossScaleOptimizer(Optimizer):
    """``LossScaleOptimizer(inner_optimizer, initial_scale=2.0**15,
    dynamic_growth_steps=2000, name=None)``: Keras 3's dynamic loss scaling.

    Loss x ``dynamic_scale``; gradients / ``dynamic_scale`` before ``inner_optimizer``
    steps; a step with a non-finite gradient is skipped and halves the scale; after
    ``dynamic_growth_steps`` finite steps in a row the scale doubles. ``learning_rate`` and
    ``iterations`` are the inner optimizer's. Variables (Keras's order): this optimizer's
    ``iteration`` and ``learning_rate`` (always 0), ``step_counter``, ``dynamic_scale``,
    then the inner optimizer's. The base optimizer arguments (``clipnorm``, ...) belong
    on the inner optimizer (ValueError here, as in Keras)."""

    def __init__(self, inner_optimizer, initial_scale=2.0 ** 15, dynamic_growth_steps=2000, name=None, **kwargs):
        if not kwargs.pop("dynamic", True):
            raise ValueError("LossScaleOptimizer no longer supports `dynamic=False`. Instead, simply set "
                             "`loss_scale_factor` directly on the `inner_optimizer`.")
        for arg, default in _BASE_DEFAULTS.items():
            if arg in kwargs:
                value = kwargs.pop(arg)
                if (default is None and value is not None) or value != default:
                    raise ValueError(f"LossScaleOptimizer does not support `{arg}`. Instead, set `{arg}` on the "
                                     "`inner_optimizer`.")
        if kwargs:
            raise ValueError(f"LossScaleOptimizer does not support arguments: `{'`, `'.join(kwargs)}`.")
        if not isinstance(inner_optimizer, Optimizer):
            raise TypeError("LossScaleOptimizer: `inner_optimizer` must be a ranvier optimizer instance (such as "
                            f"ranvier.optimizers.SGD()). Received: inner_optimizer={inner_optimizer!r}")
        if isinstance(inner_optimizer, LossScaleOptimizer):
            raise ValueError("LossScaleOptimizer: `inner_optimizer` is already a LossScaleOptimizer; wrap the "
                             "optimizer it wraps instead")
        with np.errstate(over="ignore"):
            as_f32 = float(np.float32(initial_scale)) if _is_real(initial_scale) else math.nan
        if (not _is_real(initial_scale) or not math.isfinite(float(initial_scale)) or not initial_scale > 0
                or not math.isfinite(as_f32) or as_f32 == 0.0):
            raise ValueError("LossScaleOptimizer: `initial_scale` must be a finite number > 0 (a float32). "
                             f"Received: initial_scale={initial_scale!r}")
        if (isinstance(dynamic_growth_steps, bool) or not isinstance(dynamic_growth_steps, numbers.Integral)
                or dynamic_growth_steps < 1):
            raise ValueError("LossScaleOptimizer: `dynamic_growth_steps` must be an integer >= 1. "
                             f"Received: dynamic_growth_steps={dynamic_growth_steps!r}")
        _checks.check_int(dynamic_growth_steps, "dynamic_growth_steps", "LossScaleOptimizer", 1)
        if name is not None and not isinstance(name, str):
            raise ValueError(f"LossScaleOptimizer: `name` must be a string or None. Received: name={name!r}")
        self.name = name if name is not None else _auto_name("LossScaleOptimizer")
        self.inner_optimizer = inner_optimizer
        self.initial_scale = initial_scale
        self.dynamic_growth_steps = dynamic_growth_steps
        # Keras disables the inner optimizer's own loss scaling (gradients scaled twice otherwise)
        if inner_optimizer.loss_scale_factor is not None:
            if inner_optimizer.built:
                raise ValueError("LossScaleOptimizer: the inner optimizer has a `loss_scale_factor` and is already "
                                 "built; create it without `loss_scale_factor` (the loss scale replaces it)")
            inner_optimizer.loss_scale_factor = None
            inner_optimizer._rebuild_core()
        self._hyper = {}
        for arg, default in _BASE_DEFAULTS.items():  # Keras's values for this optimizer's own
            if arg != "use_ema":
                self.__dict__[arg] = default
        self._core = inner_optimizer._core  # the C++ optimizer the trainer steps is the inner one
        self._scaler = _C.LossScaler(float(initial_scale), int(dynamic_growth_steps))

    def __getstate__(self) -> Dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("_core", "_scaler", "_ranvier_net")}
        state["_scaler_state"] = (float(self._scaler.scale), int(self._scaler.step_counter))
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        state = dict(state)
        scale, counter = state.pop("_scaler_state")
        self.__dict__.update(state)
        self._core = self.inner_optimizer._core  # the inner optimizer's (rebuilt by its own __setstate__)
        self._scaler = _C.LossScaler(float(self.initial_scale), int(self.dynamic_growth_steps))
        self._scaler.scale = scale
        self._scaler.step_counter = counter

    # ---- what the model's C++ trainer uses ----
    def _loss_scaler(self) -> Any:
        return self._scaler

    def _needs_python_lr(self) -> bool:
        return self.inner_optimizer._needs_python_lr()

    def _python_lr(self, step: Optional[int] = None) -> float:
        return self.inner_optimizer._python_lr(step)

    def _prepare_step(self) -> None:
        self.inner_optimizer._prepare_step()

    def _use_weight_decay(self, name: Optional[str], variable=None) -> bool:
        return self.inner_optimizer._use_weight_decay(name, variable)

    # ---- Keras's attributes ----
    @property
    def dynamic_scale(self) -> ScalarVariable:
        """The current loss scale (Keras's ``dynamic_scale`` variable; ``.numpy()`` and
        ``.assign(v)`` work on it)."""
        return ScalarVariable(self._scaler.scale, "float32", self._set_scale)

    @property
    def step_counter(self) -> IntVariable:
        """Finite steps since the scale last changed (Keras's ``step_counter``)."""
        return IntVariable(self._scaler.step_counter, self._set_counter)

    def _set_scale(self, value) -> None:
        # assign(), set_state() and the loaders come here: a clear error for what is no scale
        v = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
        if v.shape != () or v.dtype.kind not in "iuf":
            raise ValueError(f"LossScaleOptimizer: dynamic_scale must be a real number (a scalar), got {value!r}")
        f = float(v)
        if not (math.isfinite(f) and f >= 0.0 and f <= float(np.finfo(np.float32).max)):
            raise ValueError(f"LossScaleOptimizer: dynamic_scale must be a finite float32 >= 0, got {value!r}")
        self._scaler.scale = float(np.float32(f))

    def _set_counter(self, value) -> None:
        v = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
        if v.shape != () or v.dtype.kind not in "iuf":
            raise ValueError(f"LossScaleOptimizer: step_counter must be an integer >= 0, got {value!r}")
        f = float(v)
        if not (math.isfinite(f) and f == math.floor(f) and 0 <= f < 2.0 ** 63):
            raise ValueError(f"LossScaleOptimizer: step_counter must be an integer >= 0 (below 2**63), got {value!r}")
        self._scaler.step_counter = int(v)

    @property
    def learning_rate(self):
        """The inner optimizer's learning rate (settable, as in Keras)."""
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.inner_optimizer.learning_rate = value

    @property
    def iterations(self) -> int:
        """The inner optimizer's ``iterations`` (skipped steps do not count)."""
        return self.inner_optimizer.iterations

    @iterations.setter
    def iterations(self, value):
        self.inner_optimizer.iterations = value

    @property
    def use_ema(self) -> bool:
        """The inner optimizer's ``use_ema`` (its moving averages are finalized after fit)."""
        return bool(self.inner_optimizer.use_ema)

    @use_ema.setter
    def use_ema(self, value) -> None:
        if value:
            raise ValueError("LossScaleOptimizer does not support `use_ema`. Instead, set `use_ema` on the "
                             "`inner_optimizer`.")

    @property
    def built(self) -> bool:
        """Whether the inner optimizer's state exists."""
        return self.inner_optimizer.built

    def build(self, n_params, segments=()) -> None:
        """Builds the inner optimizer (see ``Optimizer.build``)."""
        self.inner_optimizer.build(n_params, segments)

    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """The inner optimizer's ``exclude_from_weight_decay``."""
        self.inner_optimizer.exclude_from_weight_decay(var_list, var_names)

    def finalize_variable_values(self, var_list=None):
        """The inner optimizer's ``finalize_variable_values``."""
        self.inner_optimizer.finalize_variable_values(var_list)

    def scale_loss(self, loss):
        """``loss * dynamic_scale``."""
        return loss * self._scaler.scale

    # ---- standalone use ----
    def apply(self, grads, trainable_variables=None):
        """One step on float32 NumPy arrays: ``grads`` are the gradients of the scaled loss.
        Any non-finite gradient: the step is skipped and the scale halves; else they are
        divided by the scale and the inner optimizer steps."""
        grads = list(grads)
        if not grads:
            return
        self.inner_optimizer._check_apply(grads, trainable_variables)  # a refused call moves no scale state
        present = [np.asarray(g, dtype=np.float32) for g in grads if g is not None]
        flat = np.concatenate([g.reshape(-1) for g in present]) if present else np.zeros(0, np.float32)
        if not self._scaler.pre_step(flat):
            return
        out: List[Any] = []
        at = 0
        for g in grads:
            if g is None:
                out.append(None)
                continue
            a = np.asarray(g)
            out.append(flat[at:at + a.size].reshape(a.shape))
            at += a.size
        self.inner_optimizer.apply(out, trainable_variables)

    # ---- state ----
    def get_state(self) -> Dict[str, Any]:
        """The inner optimizer's state, with the loss scale and counter among its scalars."""
        state = self.inner_optimizer.get_state()
        state["scalars"] = dict(state.get("scalars") or {})
        state["scalars"][SCALE_KEY] = float(self._scaler.scale)
        state["scalars"][COUNTER_KEY] = float(self._scaler.step_counter)
        return state

    def set_state(self, state: Dict[str, Any]) -> None:
        """Restores :meth:`get_state`'s dict (a state without the loss scale keeps it)."""
        state = dict(state)
        scalars = dict(state.get("scalars") or {})
        scale, counter = scalars.pop(SCALE_KEY, None), scalars.pop(COUNTER_KEY, None)
        state["scalars"] = scalars
        self.inner_optimizer.set_state(state)
        if scale is not None:
            self._set_scale(scale)
        if counter is not None:
            self._set_counter(counter)

    @property
    def variables(self) -> List[np.ndarray]:
        """Keras's order: ``iteration`` and ``learning_rate`` of this optimizer (0), and once
        built ``step_counter`` and ``dynamic_scale``; then the inner optimizer's."""
        out: List[np.ndarray] = [np.array(0, dtype=np.int64), np.array(0.0, dtype=np.float32)]
        if self.built:
            out += [np.array(self._scaler.step_counter, dtype=np.int64), np.array(self._scaler.scale, dtype=np.float32)]
        return out + list(self.inner_optimizer.variables)

    # ---- config ----
    def get_config(self) -> Dict[str, Any]:
        """``{"name", "inner_optimizer" (serialized), "initial_scale", "dynamic_growth_steps"}``,
        Keras's layout."""
        return {"name": self.name, "inner_optimizer": codec["serialize"](self.inner_optimizer),
                "initial_scale": float(self.initial_scale), "dynamic_growth_steps": int(self.dynamic_growth_steps)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The optimizer of ``get_config()``'s dict (the inner optimizer deserialized)."""
        config = dict(config)
        inner = config.pop("inner_optimizer", None)
        if isinstance(inner, dict):
            inner = codec["deserialize"](inner, custom_objects=custom_objects)
        return cls(inner, **config)

    def __repr__(self):
        return (f"<ranvier.optimizers.LossScaleOptimizer name={self.name!r} "
                f"inner_optimizer={self.inner_optimizer!r} dynamic_scale={float(self._scaler.scale)!r}>")


def wrap_for_policy(optimizer: Optional[Optimizer], policy_name: str, auto_scale_loss: bool) -> Optional[Optimizer]:
    """What ``compile`` keeps as ``model.optimizer``: a ``LossScaleOptimizer`` named
    ``"loss_scale_optimizer"`` around ``optimizer`` when the model's policy is
    ``mixed_float16`` and ``auto_scale_loss`` (Keras's rule), else ``optimizer``."""
    if (auto_scale_loss and policy_name == "mixed_float16" and optimizer is not None
            and not isinstance(optimizer, LossScaleOptimizer)):
        return LossScaleOptimizer(optimizer, name="loss_scale_optimizer")
    return optimizer
