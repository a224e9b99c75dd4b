"""Optimizers (``ranvier.optimizers``): Keras 3's update rules, defaults and order of
operations, run as one fused SIMD pass over the model's flat parameter buffer.

Every optimizer takes its own hyperparameters plus the common arguments
``learning_rate`` (a float, a :class:`~ranvier.optimizers.schedules.LearningRateSchedule`
or a zero-argument callable), ``weight_decay``, ``clipnorm``, ``clipvalue``,
``global_clipnorm`` (at most one of the three), ``use_ema``, ``ema_momentum``,
``ema_overwrite_frequency``, ``loss_scale_factor``, ``gradient_accumulation_steps`` and
``name``.

Two ways to drive one:

- the model's training loop (C++): ``opt.build(n_params, segments)`` once, then the C++
  object ``opt._core`` steps over the flat buffers;
- standalone, like Keras: ``opt.apply_gradients(zip(grads, variables))`` with float32
  NumPy arrays, updated in place.
"""
from __future__ import annotations

import math
import numbers
import re
import warnings
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .. import _checks
from .. import _core as _C
from . import schedules
from .schedules import LearningRateSchedule

__all__ = [
    "Optimizer",
    "SGD",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adam",
    "AdamW",
    "Adamax",
    "Nadam",
    "Lion",
    "Ftrl",
    "get",
    "serialize",
    "deserialize",
    "schedules",
]

from .._naming import auto_name as _auto_name  # noqa: E402


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


_COMMON_ARGS = ("learning_rate", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema",
                "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps",
                "name")


class Optimizer:
    """Base class of ranvier's optimizers (Keras 3's ``BaseOptimizer`` semantics).

    The arguments every optimizer takes, with Keras's defaults: ``learning_rate`` (each
    optimizer's own default; a float, a ``LearningRateSchedule`` or a zero-argument
    callable), ``weight_decay=None``, ``clipnorm=None``, ``clipvalue=None``,
    ``global_clipnorm=None`` (at most one of the three clips), ``use_ema=False``,
    ``ema_momentum=0.99``, ``ema_overwrite_frequency=None``, ``loss_scale_factor=None``,
    ``gradient_accumulation_steps=None``, ``name=None``. ``lr=`` is rejected, as in Keras 3.

    Subclasses set ``_kind`` (the C++ rule) and describe their hyperparameters in
    ``_hyper`` (name -> value, in Keras's get_config order).
    """

    _kind: Optional[str] = None

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        cls = type(self).__name__
        self._hyper: Dict[str, Any] = getattr(self, "_hyper", {})
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.", stacklevel=3)
        if kwargs:
            hint = " (Keras 3 removed `lr`; use `learning_rate`)" if "lr" in kwargs else ""
            valid = list(_COMMON_ARGS) + list(self._hyper)
            raise ValueError(f"{cls}: Argument(s) not recognized: {kwargs}{hint}. Valid arguments: "
                             f"{', '.join(sorted(set(valid)))}")
        if name is not None and not isinstance(name, str):
            raise ValueError(f"{cls}: `name` must be a string or None. Received: name={name!r}")
        self.name = name if name is not None else _auto_name(cls)

        def opt_nonneg(arg, value):
            if value is None:
                return None
            if not _is_real(value) or not math.isfinite(float(value)) or float(value) < 0:
                raise ValueError(f"{cls}: `{arg}` must be a number >= 0 or None. Received: {arg}={value!r}")
            _checks.check_float32(value, f"`{arg}`", cls)  # the C++ value is a float
            return value

        self.weight_decay = opt_nonneg("weight_decay", weight_decay)
        self.clipnorm = opt_nonneg("clipnorm", clipnorm)
        self.clipvalue = opt_nonneg("clipvalue", clipvalue)
        self.global_clipnorm = opt_nonneg("global_clipnorm", global_clipnorm)
        if sum(a is not None for a in (clipnorm, clipvalue, global_clipnorm)) > 1:
            raise ValueError(f"{cls}: Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                             f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                             f"global_clipnorm={global_clipnorm}")
        if loss_scale_factor is not None and (not _is_real(loss_scale_factor) or not loss_scale_factor > 0
                                              or not math.isfinite(float(loss_scale_factor))):
            raise ValueError(f"{cls}: `loss_scale_factor` must be a number > 0 or None. "
                             f"Received: loss_scale_factor={loss_scale_factor!r}")
        if loss_scale_factor is not None:
            _checks.check_float32(loss_scale_factor, "`loss_scale_factor`", cls)
        self.loss_scale_factor = loss_scale_factor
        if gradient_accumulation_steps:
            if (isinstance(gradient_accumulation_steps, bool)
                    or not isinstance(gradient_accumulation_steps, (numbers.Integral, np.integer))
                    or not gradient_accumulation_steps >= 2):
                raise ValueError(f"{cls}: `gradient_accumulation_steps` must be an integer >= 2. "
                                 f"Received: gradient_accumulation_steps={gradient_accumulation_steps!r}")
        elif gradient_accumulation_steps is not None and not isinstance(gradient_accumulation_steps,
                                                                        (numbers.Integral, np.integer)):
            raise ValueError(f"{cls}: `gradient_accumulation_steps` must be an integer >= 2 or None. "
                             f"Received: gradient_accumulation_steps={gradient_accumulation_steps!r}")
        if gradient_accumulation_steps:  # a C++ int64
            _checks.check_int(gradient_accumulation_steps, "gradient_accumulation_steps", cls, 2)
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.use_ema = self._bool("use_ema", use_ema)
        if use_ema:
            if not _is_real(ema_momentum) or not 0 <= ema_momentum <= 1:
                raise ValueError(f"{cls}: `ema_momentum` must be in the range [0, 1]. "
                                 f"Received: ema_momentum={ema_momentum!r}")
            if ema_overwrite_frequency and (not isinstance(ema_overwrite_frequency, (int, np.integer))
                                            or isinstance(ema_overwrite_frequency, bool)
                                            or ema_overwrite_frequency < 1):
                raise ValueError(f"{cls}: `ema_overwrite_frequency` must be an integer >= 1 or None. "
                                 f"Received: ema_overwrite_frequency={ema_overwrite_frequency!r}")
        if use_ema and ema_overwrite_frequency:  # a C++ int64
            _checks.check_int(ema_overwrite_frequency, "ema_overwrite_frequency", cls, 1)
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency

        self._learning_rate = self._check_learning_rate(learning_rate)
        self._exclude_ids: set = set()
        self._exclude_pattern = None
        # standalone (apply_gradients) bookkeeping
        self._var_ids: Optional[List[int]] = None
        self._var_shapes: Optional[List[tuple]] = None
        self._w_flat = self._g_flat = None
        self._segments: List[tuple] = []

        cfg = _C.OptimizerConfig()
        cfg.kind = getattr(_C.OptimizerKind, self._kind)
        self._fill_common(cfg)
        self._fill(cfg)
        self._core = _C.Optimizer(cfg)  # validates once more in C++

    def __getattr__(self, name):
        # hyperparameters read like Keras attributes: opt.beta_1, opt.momentum, ...
        hyper = self.__dict__.get("_hyper", {})
        if name in hyper:
            return hyper[name]
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

    # ---- argument checks shared by subclasses ----
    def _check_learning_rate(self, lr):
        cls = type(self).__name__
        if isinstance(lr, LearningRateSchedule):
            return lr
        if callable(lr):
            return lr
        if isinstance(lr, (bool, np.bool_)) or not isinstance(lr, (float, np.floating)):
            raise ValueError(
                f"{cls}: Argument `learning_rate` should be float, or an instance of LearningRateSchedule, or a "
                f"callable (that takes in the current iteration value and returns the corresponding learning "
                f"rate value). Received instead: learning_rate={lr!r}"
                + (" (an int is rejected as in Keras: write it as a float, e.g. 1.0)"
                   if isinstance(lr, (int, np.integer)) and not isinstance(lr, bool) else ""))
        if not math.isfinite(float(lr)) or float(lr) < 0:
            raise ValueError(f"{cls}: `learning_rate` must be a finite number >= 0. Received: learning_rate={lr!r}")
        return _checks.check_float32(lr, "`learning_rate`", cls)  # the C++ learning rate is a float

    def _unit(self, arg, value, lo_open=False):
        cls = type(self).__name__
        ok = _is_real(value) and ((0 < value <= 1) if lo_open else (0 <= value <= 1))
        if not ok:
            rng = "(0, 1]" if lo_open else "[0, 1]"
            raise ValueError(f"{cls}: `{arg}` must be a number in {rng}. Received: {arg}={value!r}")
        return value

    def _nonneg(self, arg, value):
        cls = type(self).__name__
        if not _is_real(value) or not math.isfinite(float(value)) or value < 0:
            raise ValueError(f"{cls}: `{arg}` must be a number >= 0. Received: {arg}={value!r}")
        _checks.check_float32(value, f"`{arg}`", cls)  # the C++ value is a float
        return value

    def _bool(self, arg, value):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{type(self).__name__}: `{arg}` must be a bool. Received: {arg}={value!r}")
        return bool(value)

    # ---- the C++ config ----
    def _fill_common(self, cfg):
        lr = self._learning_rate
        if isinstance(lr, float):
            cfg.learning_rate = lr
            cfg.schedule = _C.ScheduleConfig()
        else:
            sc = lr._cpp_config() if (isinstance(lr, LearningRateSchedule) and schedules._is_builtin(lr)) else None
            if sc is None:
                sc = _C.ScheduleConfig()
                sc.kind = _C.ScheduleKind.external
            cfg.schedule = sc
            cfg.learning_rate = 0.0
        cfg.weight_decay = float(self.weight_decay or 0.0)
        cfg.clipnorm = float(self.clipnorm or 0.0)
        cfg.clipvalue = float(self.clipvalue or 0.0)
        cfg.global_clipnorm = float(self.global_clipnorm or 0.0)
        cfg.loss_scale_factor = float(self.loss_scale_factor or 0.0)
        cfg.use_ema = self.use_ema
        cfg.ema_momentum = float(self.ema_momentum) if _is_real(self.ema_momentum) else 0.99
        cfg.ema_overwrite_frequency = int(self.ema_overwrite_frequency or 0)
        cfg.gradient_accumulation_steps = int(self.gradient_accumulation_steps or 0)

    def _fill(self, cfg):  # subclasses copy their hyperparameters into the C++ config
        raise NotImplementedError

    # ---- learning rate and iterations ----
    def _needs_python_lr(self) -> bool:
        """True when the learning rate is computed in Python (a zero-argument callable or
        a user LearningRateSchedule): call :meth:`_prepare_step` before each C++ step."""
        return bool(self._core.uses_external_lr)

    def _python_lr(self, step: Optional[int] = None) -> float:
        """The learning rate for raw step `step` (default: the next step) from the Python
        callable/schedule, as a float32 value."""
        lr = self._learning_rate
        if step is None:
            step = self._core.raw_iterations
        value = lr(step) if isinstance(lr, LearningRateSchedule) else lr()
        return float(np.float32(np.asarray(value, dtype=np.float64)))

    def _prepare_step(self) -> None:
        """Before each C++ `apply` when :meth:`_needs_python_lr`: hands the Python learning
        rate for the coming step to C++."""
        if self._core.uses_external_lr:
            value = self._python_lr()
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{type(self).__name__}: the learning rate callable returned {value!r} at step "
                                 f"{self._core.raw_iterations}; it must be a finite number >= 0")
            self._core.set_learning_rate(value)

    @property
    def learning_rate(self) -> float:
        """The learning rate of the next step: the float32 value (0.001 reads back as
        0.0010000000474974513, like Keras's variable), or the schedule/callable's value."""
        if self._core.uses_external_lr:
            return self._python_lr()
        return float(self._core.current_learning_rate())

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, LearningRateSchedule) or (callable(value) and not _is_real(value)):
            self._learning_rate = self._check_learning_rate(value)
            cfg = _C.OptimizerConfig()
            self._fill_common(cfg)
            self._core.set_schedule(cfg.schedule, cfg.learning_rate)
            return
        if isinstance(self._learning_rate, LearningRateSchedule):
            raise TypeError(
                "This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` "
                "constructor argument, hence its learning rate is not settable. If you need the learning rate "
                "to be settable, you should instantiate the optimizer with a float `learning_rate` argument.")
        if callable(self._learning_rate):
            raise TypeError("This optimizer's `learning_rate` is a callable, so it cannot be set to a value. "
                            "If you need the learning rate to be settable, create the optimizer with a float "
                            "`learning_rate` (or assign another callable or schedule).")
        if isinstance(value, (bool, np.bool_)) or not _is_real(value):
            raise ValueError(f"{type(self).__name__}: learning_rate must be a float. Received: {value!r}")
        value = float(value)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{type(self).__name__}: learning_rate must be a finite number >= 0. "
                             f"Received: {value!r}")
        _checks.check_float32(value, "learning_rate", type(self).__name__)
        self._learning_rate = value
        self._core.set_learning_rate(value)

    @property
    def iterations(self) -> int:
        """Number of updates applied (Keras's ``iterations``; with gradient accumulation,
        the raw step count // gradient_accumulation_steps)."""
        return int(self._core.iterations)

    @iterations.setter
    def iterations(self, value):
        if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or value < 0:
            raise ValueError(f"iterations must be an integer >= 0. Received: {value!r}")
        self._core.iterations = _checks.check_int(value, "iterations", type(self).__name__)  # a C++ int64

    # ---- weight decay exclusion ----
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exclude variables from weight decay: those in `var_list` (by identity) and those
        whose name contains a match of any regex in `var_names` (e.g. ``["bias"]``).
        Must be called before the optimizer is built."""
        if self._core.built:
            raise ValueError("`exclude_from_weight_decay()` can only be configured before the optimizer is built.")
        self._exclude_ids = set(id(v) for v in var_list) if var_list else set()
        if var_names is not None and isinstance(var_names, str):
            raise ValueError("exclude_from_weight_decay: `var_names` must be a list of strings, "
                             f"got the string {var_names!r} (write [{var_names!r}])")
        self._exclude_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def _use_weight_decay(self, name: Optional[str], variable=None) -> bool:
        if variable is not None and id(variable) in self._exclude_ids:
            return False
        if self._exclude_pattern is not None and name is not None and self._exclude_pattern.search(name):
            return False
        return True

    # ---- building ----
    @property
    def built(self) -> bool:
        """Whether the optimizer's state (slots) has been allocated by ``build``."""
        return bool(self._core.built)

    def build(self, n_params, segments: Sequence = ()) -> None:
        """Allocates the optimizer's state for a flat buffer of `n_params` float32 values.

        `segments` lists each trainable tensor as ``(offset, size)``, ``(offset, size, name)``
        or a dict with keys ``offset``, ``size`` and optionally ``name`` and ``variable``
        (names and variables decide weight-decay exclusion). Empty: one tensor.

        Keras style, ``build(variables)`` with a list of float32 arrays (or Keras-like
        variables) prepares standalone use: later ``apply(grads, variables)`` calls
        keep the state (so ``build(vars); set_state(s); apply(...)`` resumes).
        """
        if isinstance(n_params, (list, tuple)):
            variables = list(n_params)
            self._build_for(variables, [self._as_array(v, i) for i, v in enumerate(variables)])
            return
        if isinstance(n_params, bool) or not isinstance(n_params, (numbers.Integral, np.integer)) or n_params < 0:
            raise ValueError(f"build: n_params must be an integer >= 0 (or a list of variables), got {n_params!r}")
        segs = []
        for i, s in enumerate(segments):
            var = None
            if isinstance(s, dict):
                off, size, name, var = s.get("offset"), s.get("size"), s.get("name"), s.get("variable")
            elif isinstance(s, (tuple, list)) and len(s) in (2, 3):
                off, size = s[0], s[1]
                name = s[2] if len(s) == 3 else None
            else:
                raise ValueError(f"build: segments[{i}] must be (offset, size[, name]) or a dict, got {s!r}")
            if not isinstance(off, (numbers.Integral, np.integer)) or not isinstance(size, (numbers.Integral,
                                                                                            np.integer)):
                raise ValueError(f"build: segments[{i}] needs integer offset and size, got {s!r}")
            segs.append((int(off), int(size), bool(self._use_weight_decay(name, var))))
        self._core.build(int(n_params), segs)
        self._segments = segs

    # ---- standalone use ----
    def apply_gradients(self, grads_and_vars):
        """Keras's ``apply_gradients(zip(grads, vars))``: returns ``iterations``."""
        pairs = list(grads_and_vars)
        if not pairs:
            return self.iterations
        grads, variables = zip(*pairs)
        self.apply(list(grads), list(variables))
        return self.iterations

    def apply(self, grads, trainable_variables=None):
        """One optimizer step on float32 NumPy arrays (updated in place).

        The first call builds the optimizer for these variables; later calls must pass the
        same arrays. A ``None`` gradient leaves its variable alone (with a warning); all
        ``None`` raises ValueError. Variables may also be objects with ``numpy()``,
        ``assign(value)`` and ``name`` (Keras-like variables).
        """
        grads = list(grads)
        if len(grads) == 0:
            return
        if trainable_variables is None:
            if self._var_ids is None:
                raise ValueError("When passing `grads` without `variables`, the optimizer must already be built "
                                 "on a list of variables (call apply(grads, variables) once first).")
            variables = self._vars
        else:
            variables = list(trainable_variables)
        if len(grads) != len(variables):
            raise ValueError(f"apply: got {len(grads)} gradients for {len(variables)} variables")
        arrays = [self._as_array(v, i) for i, v in enumerate(variables)]
        if self._var_ids is None:
            self._build_for(variables, arrays)
        elif [id(v) for v in variables] != self._var_ids:
            raise ValueError("Unknown variable: this optimizer can only be called for the variables it was "
                             "originally built with (same objects, same order). When working with a new set of "
                             "variables, you should recreate a new optimizer instance.")
        active = np.ones(len(variables), dtype=np.uint8)
        missing = []
        for i, (g, a, (off, size, _)) in enumerate(zip(grads, arrays, self._segments)):
            if g is None:
                active[i] = 0
                missing.append(getattr(variables[i], "name", f"variables[{i}]"))
                self._g_flat[off:off + size] = 0.0
                continue
            g = np.asarray(g)
            if g.shape != a.shape:
                raise ValueError(f"apply: gradient {i} has shape {g.shape} but its variable has shape {a.shape}")
            if g.dtype.kind != "f":
                raise TypeError(f"apply: gradient {i} must be a floating-point array, got dtype={g.dtype}")
            self._g_flat[off:off + size] = g.reshape(-1)
        if not active.any():
            raise ValueError("No gradients provided for any variable.")
        if missing:
            warnings.warn(f"Gradients do not exist for variables {missing} when minimizing the loss.",
                          stacklevel=2)
        for a, (off, size, _) in zip(arrays, self._segments):
            self._w_flat[off:off + size] = a.reshape(-1)
        self._prepare_step()
        if missing:
            self._core.apply_masked(self._w_flat, self._g_flat, active)
        else:
            self._core.apply(self._w_flat, self._g_flat)
        self._write_back(variables, arrays)

    def _as_array(self, v, i):
        if isinstance(v, np.ndarray):
            if v.dtype != np.float32:
                raise TypeError(f"apply: variable {i} must be a float32 array, got dtype={v.dtype}")
            if not v.flags.writeable:
                raise ValueError(f"apply: variable {i} is read-only; the optimizer updates variables in place")
            return v
        if hasattr(v, "numpy") and hasattr(v, "assign"):
            return np.asarray(v.numpy(), dtype=np.float32)
        raise TypeError(f"apply: variable {i} must be a float32 NumPy array (or have numpy() and assign()), "
                        f"got {type(v).__name__}")

    def _build_for(self, variables, arrays):
        segs, off = [], 0
        for v, a in zip(variables, arrays):
            segs.append({"offset": off, "size": int(a.size), "name": getattr(v, "name", None), "variable": v})
            off += int(a.size)
        same_layout = (self._core.built and self._core.size == off
                       and [(o, n) for o, n, _ in self._segments] == [(d["offset"], d["size"]) for d in segs])
        if not same_layout:  # already built for this layout (e.g. build + set_state): keep the state
            self.build(off, segs)
        self._vars = list(variables)
        self._var_ids = [id(v) for v in variables]
        self._var_shapes = [a.shape for a in arrays]
        self._w_flat = np.zeros(off, dtype=np.float32)
        self._g_flat = np.zeros(off, dtype=np.float32)

    def _write_back(self, variables, arrays):
        for v, a, (off, size, _) in zip(variables, arrays, self._segments):
            new = self._w_flat[off:off + size].reshape(a.shape)
            if isinstance(v, np.ndarray):
                v[...] = new
            else:
                v.assign(new.copy())

    def finalize_variable_values(self, var_list=None):
        """With ``use_ema``: overwrite the variables with their moving averages (Keras does
        this after the last epoch of fit)."""
        if not self.use_ema or not self._core.built:
            return
        if var_list is None:
            if self._var_ids is None:
                raise ValueError("finalize_variable_values: pass the variables (the optimizer was built by a model; "
                                 "use opt._core.finalize_ema(flat_weights) there)")
            var_list = self._vars
        variables = list(var_list)
        arrays = [self._as_array(v, i) for i, v in enumerate(variables)]
        for a, (off, size, _) in zip(arrays, self._segments):
            self._w_flat[off:off + size] = a.reshape(-1)
        self._core.finalize_ema(self._w_flat)
        self._write_back(variables, arrays)

    def scale_loss(self, loss):
        """``loss * loss_scale_factor`` when set (the gradients are divided back in apply)."""
        return loss * self.loss_scale_factor if self.loss_scale_factor is not None else loss

    # ---- state ----
    def get_state(self) -> Dict[str, Any]:
        """Everything needed to resume exactly: ``{"iterations": raw step count,
        "learning_rate": float (constant learning rates only), "slots": {name: float32
        copy of the flat slot buffer}, "scalars": {name: float}}``."""
        state: Dict[str, Any] = {"iterations": int(self._core.raw_iterations)}
        if isinstance(self._learning_rate, float):
            state["learning_rate"] = float(self._core.current_learning_rate())
        state["slots"] = {k: np.array(v, copy=True) for k, v in self._core.slots().items()}
        state["scalars"] = {k: float(self._core.scalar(k)) for k in self._core.scalar_names()}
        return state

    def set_state(self, state: Dict[str, Any]) -> None:
        """Restores :meth:`get_state`'s dict (the optimizer must be built for the same layout)."""
        if not self._core.built:
            raise ValueError("set_state: build the optimizer first (build(n_params, segments) or one apply)")
        slots = self._core.slots()
        given = dict(state.get("slots", {}))
        if set(given) != set(slots):
            raise ValueError(f"set_state: slot names differ: the optimizer has {sorted(slots)}, "
                             f"the state has {sorted(given)}")
        for k, arr in given.items():
            a = np.asarray(arr)
            if a.size != slots[k].size:
                raise ValueError(f"set_state: slot '{k}' has {a.size} values, expected {slots[k].size}")
        for k, arr in given.items():
            slots[k][...] = np.asarray(arr, dtype=np.float32).reshape(-1)
        for k, v in dict(state.get("scalars", {})).items():
            self._core.set_scalar(k, float(v))
        if "iterations" in state:
            self._core.raw_iterations = int(state["iterations"])
        if "learning_rate" in state and isinstance(self._learning_rate, float):
            self.learning_rate = float(state["learning_rate"])

    @property
    def variables(self) -> List[np.ndarray]:
        """Keras-like list: [iterations, learning_rate (constant only), slot buffers...]
        (slots are live flat views; empty slots list until built)."""
        out = [np.array(self.iterations, dtype=np.int64)]
        if isinstance(self._learning_rate, float):
            out.append(np.array(self._core.current_learning_rate(), dtype=np.float32))
        if self._core.built:
            out.extend(self._core.slots().values())
        return out

    # ---- config ----
    def get_config(self) -> Dict[str, Any]:
        """Keras's optimizer config: name, learning_rate (the current value, or the
        serialized schedule), the common arguments and the optimizer's own."""
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            lr_cfg: Any = schedules.serialize(lr)
        elif isinstance(lr, float):
            lr_cfg = float(self._core.current_learning_rate())
        else:
            lr_cfg = lr  # a callable: kept as the object itself (not JSON-serializable)
        config = {
            "name": self.name,
            "learning_rate": lr_cfg,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }
        config.update(self._hyper)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Creates the optimizer from ``get_config()``'s dict (a serialized schedule is rebuilt)."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = schedules.deserialize(config["learning_rate"], custom_objects=custom_objects)
        return cls(**config)

    def __repr__(self):
        return f"<ranvier.optimizers.{type(self).__name__} name={self.name!r} learning_rate={self.learning_rate!r}>"


# ---------------------------------------------------------------------------------------
class SGD(Optimizer):
    """``SGD(learning_rate=0.01, momentum=0.0, nesterov=False, ...)``
    (Keras's defaults; ``...`` = the common arguments of ``Optimizer``).

    ``w -= lr*g``; with momentum μ: ``m = μ*m - lr*g``, then ``w += m`` or (nesterov)
    ``w += μ*m - lr*g``."""

    _kind = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name=None, **kwargs):
        if isinstance(momentum, bool) or not isinstance(momentum, (float, np.floating)) or not 0 <= momentum <= 1:
            raise ValueError("SGD: `momentum` must be a float between [0, 1]. Received: "
                             f"momentum={momentum!r}" + (" (an int is rejected as in Keras: write 0.0)"
                                                         if isinstance(momentum, int) else ""))
        self._hyper = {"momentum": float(momentum), "nesterov": self._bool("nesterov", nesterov)}
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)

    def _fill(self, cfg):
        cfg.momentum = self._hyper["momentum"]
        cfg.nesterov = self._hyper["nesterov"]


class RMSprop(Optimizer):
    """``RMSprop(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
    ...)``
    (Keras's defaults; ``...`` = the common arguments of ``Optimizer``).

    ``v = ρv + (1-ρ)g²``; centered: ``a = ρa + (1-ρ)g``, ``denom = v - a² + ε`` else
    ``v + ε``; ``inc = lr*g/sqrt(denom)``; with momentum ``mom = μ*mom + inc``."""

    _kind = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        self._hyper = {"rho": self._unit("rho", rho), "momentum": self._unit("momentum", momentum),
                       "epsilon": self._nonneg("epsilon", epsilon), "centered": self._bool("centered", centered)}
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)

    def _fill(self, cfg):
        h = self._hyper
        cfg.rho, cfg.momentum, cfg.epsilon, cfg.centered = float(h["rho"]), float(h["momentum"]), \
            float(h["epsilon"]), h["centered"]


class Adagrad(Optimizer):
    """``Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, ...)``
    (Keras's defaults; ``...`` = the common arguments of ``Optimizer``).

    ``acc += g²`` (acc starts at initial_accumulator_value); ``w -= lr*g/sqrt(acc + ε)``."""

    _kind = "adagrad"

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name=None, **kwargs):
        self._hyper = {"initial_accumulator_value": self._nonneg("initial_accumulator_value",
                                                                 initial_accumulator_value),
                       "epsilon": self._nonneg("epsilon", epsilon)}
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)

    def _fill(self, cfg):
        cfg.initial_accumulator_value = float(self._hyper["initial_accumulator_value"])
        cfg.epsilon = float(self._hyper["epsilon"])


class Adadelta(Optimizer):
    """``Adadelta(learning_rate=0.001, rho=0.95, epsilon=1e-7, ...)``
    (Keras's defaults; ``...`` = the common arguments of ``Optimizer``).

    ``Eg = ρEg + (1-ρ)g²``; ``Δ = -sqrt(Ex+ε)·g/sqrt(Eg+ε)``; ``Ex = ρEx + (1-ρ)Δ²``;
    ``w += lr·Δ``."""

    _kind = "adadelta"

    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name=None, **kwargs):
        self._hyper = {"rho": self._unit("rho", rho), "epsilon": self._nonneg("epsilon", epsilon)}
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)

    def _fill(self, cfg):
        cfg.rho, cfg.epsilon = float(self._hyper["rho"]), float(self._hyper["epsilon"])


class Adam(Optimizer):
    """``Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
    ...)``
    (Keras's defaults; ``...`` = the common arguments of ``Optimizer``).

    Adam with Keras's "epsilon hat": ``w -= α·m/(sqrt(v)+ε)``,
    ``α = lr·sqrt(1-β₂ᵗ)/(1-β₁ᵗ)``; amsgrad uses ``max`` of the velocities."""

    _kind = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        self._hyper = {"beta_1": self._unit("beta_1", beta_1), "beta_2": self._unit("beta_2", beta_2),
                       "epsilon": self._nonneg("epsilon", epsilon), "amsgrad": self._bool("amsgrad", amsgrad)}
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)

    def _fill(self, cfg):
        h = self._hyper
        cfg.beta_1, cfg.beta_2, cfg.epsilon, cfg.amsgrad = float(h["beta_1"]), float(h["beta_2"]), \
            float(h["epsilon"]), h["amsgrad"]


class AdamW(Adam):
    """``AdamW(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
    amsgrad=False, ...)``
    (Keras's defaults; ``...`` = the common arguments of ``Optimizer``).

    Adam plus decoupled weight decay ``w -= w·wd·lr`` before each step (default 0.004)."""

    _kind = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
                 ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
                 gradient_accumulation_steps=None, name=None, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW: Argument `weight_decay` must be a float. Received: weight_decay=None")
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
                         amsgrad=amsgrad, weight_decay=weight_decay, clipnorm=clipnorm, clipvalue=clipvalue,
                         global_clipnorm=global_clipnorm, use_ema=use_ema, ema_momentum=ema_momentum,
                         ema_overwrite_frequency=ema_overwrite_frequency, loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)


class Adamax(Optimizer):
    """``Adamax(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, ...)``
    (Keras's defaults; ``...`` = the common arguments of ``Optimizer``).

    ``m += (g-m)(1-β₁)``; ``u = max(β₂u, |g|)``; ``w -= lr·m/((1-β₁ᵗ)(u+ε))``."""

    _kind = "adamax"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name=None, **kwargs):
        self._hyper = {"beta_1": self._unit("beta_1", beta_1), "beta_2": self._unit("beta_2", beta_2),
                       "epsilon": self._nonneg("epsilon", epsilon)}
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)

    def _fill(self, cfg):
        h = self._hyper
        cfg.beta_1, cfg.beta_2, cfg.epsilon = float(h["beta_1"]), float(h["beta_2"]), float(h["epsilon"])


class Nadam(Optimizer):
    """``Nadam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, ...)``
    (Keras's defaults; ``...`` = the common arguments of ``Optimizer``).

    Adam with Nesterov momentum and the 0.96 momentum-decay schedule (state scalar
    ``u_product``)."""

    _kind = "nadam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name=None, **kwargs):
        self._hyper = {"beta_1": self._unit("beta_1", beta_1), "beta_2": self._unit("beta_2", beta_2),
                       "epsilon": self._nonneg("epsilon", epsilon)}
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)

    def _fill(self, cfg):
        h = self._hyper
        cfg.beta_1, cfg.beta_2, cfg.epsilon = float(h["beta_1"]), float(h["beta_2"]), float(h["epsilon"])


class Lion(Optimizer):
    """``Lion(learning_rate=0.001, beta_1=0.9, beta_2=0.99, ...)``
    (Keras's defaults; ``...`` = the common arguments of ``Optimizer``).

    ``w -= lr·sign(β₁m + (1-β₁)g)``; then ``m = β₂m + (1-β₂)g``."""

    _kind = "lion"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name=None, **kwargs):
        if not _is_real(beta_1) or not 0 < beta_1 <= 1:
            raise ValueError("Lion: Argument `beta_1` must be in the (0, 1] range. Otherwise, the optimizer "
                             f"degenerates to SignSGD. Received: beta_1={beta_1!r}.")
        self._hyper = {"beta_1": beta_1, "beta_2": self._unit("beta_2", beta_2)}
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)

    def _fill(self, cfg):
        cfg.beta_1, cfg.beta_2 = float(self._hyper["beta_1"]), float(self._hyper["beta_2"])


class Ftrl(Optimizer):
    """``Ftrl(learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
    l1_regularization_strength=0.0, l2_regularization_strength=0.0,
    l2_shrinkage_regularization_strength=0.0, beta=0.0, ...)``
    (Keras's defaults; ``...`` = the common arguments of ``Optimizer``).

    Follow-the-regularized-leader (Keras 3 form, with l1/l2/l2-shrinkage and beta)."""

    _kind = "ftrl"

    def __init__(self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
                 l1_regularization_strength=0.0, l2_regularization_strength=0.0,
                 l2_shrinkage_regularization_strength=0.0, beta=0.0, weight_decay=None, clipnorm=None,
                 clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name=None, **kwargs):
        if not _is_real(learning_rate_power) or not -math.inf < learning_rate_power <= 0.0:
            raise ValueError("Ftrl: `learning_rate_power` needs to be negative or zero. Received: "
                             f"learning_rate_power={learning_rate_power!r}.")
        self._hyper = {
            "learning_rate_power": learning_rate_power,
            "initial_accumulator_value": self._nonneg("initial_accumulator_value", initial_accumulator_value),
            "l1_regularization_strength": self._nonneg("l1_regularization_strength", l1_regularization_strength),
            "l2_regularization_strength": self._nonneg("l2_regularization_strength", l2_regularization_strength),
            "l2_shrinkage_regularization_strength": self._nonneg("l2_shrinkage_regularization_strength",
                                                                 l2_shrinkage_regularization_strength),
            "beta": self._nonneg("beta", beta),
        }
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)

    def _fill(self, cfg):
        h = self._hyper
        cfg.learning_rate_power = float(h["learning_rate_power"])
        cfg.initial_accumulator_value = float(h["initial_accumulator_value"])
        cfg.l1_regularization_strength = float(h["l1_regularization_strength"])
        cfg.l2_regularization_strength = float(h["l2_regularization_strength"])
        cfg.l2_shrinkage_regularization_strength = float(h["l2_shrinkage_regularization_strength"])
        cfg.beta = float(h["beta"])


# ---------------------------------------------------------------------------------------
_CLASSES = [SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Adamax, Nadam, Lion, Ftrl]
ALL_OBJECTS_DICT = {cls.__name__.lower(): cls for cls in _CLASSES}


def serialize(optimizer) -> Dict[str, Any]:
    """``{"module", "class_name", "config", "registered_name"}`` (Keras's layout)."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"serialize: expected a ranvier optimizer, got {type(optimizer).__name__}")
    return {"module": "ranvier.optimizers", "class_name": type(optimizer).__name__,
            "config": optimizer.get_config(), "registered_name": None}


def deserialize(config, custom_objects=None) -> Optimizer:
    """Rebuilds an optimizer from :func:`serialize`'s dict; class names are
    case-insensitive for the built-in optimizers."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"deserialize: expected a dict with 'class_name' and 'config', got {config!r}")
    name = config["class_name"]
    if custom_objects and name in custom_objects:
        cls = custom_objects[name]
    elif isinstance(name, str) and name.lower() in ALL_OBJECTS_DICT:
        cls = ALL_OBJECTS_DICT[name.lower()]
    else:
        raise ValueError(f"Could not interpret optimizer identifier: {name!r}. Valid names: "
                         f"{', '.join(sorted(ALL_OBJECTS_DICT))} (case-insensitive)")
    return cls.from_config(dict(config.get("config") or {}), custom_objects=custom_objects) \
        if issubclass(cls, Optimizer) else cls.from_config(dict(config.get("config") or {}))


def get(identifier) -> Optional[Optimizer]:
    """An optimizer from a name (``"adam"``: all defaults), a config dict, or an instance
    (returned unchanged). ``None`` gives ``None``."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = deserialize({"class_name": identifier, "config": {}})
    else:
        obj = identifier
    if isinstance(obj, Optimizer):
        return obj
    raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}")
