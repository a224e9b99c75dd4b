"""The base class of ranvier's optimizers (``ranvier.optimizers.Optimizer``): Keras 3's
``BaseOptimizer`` arguments and checks, the C++ object it drives, standalone
``apply_gradients``, state and config. The optimizers themselves are in
``ranvier.optimizers``; the one list of them is the C++ table (``optimizer_kinds``).
"""
from __future__ import annotations

import math
import numbers
import re
import warnings
import weakref
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .. import _checks
from .. import _core as _C
from . import _variables, schedules
from .schedules import LearningRateSchedule

# The C++ table of optimizers: kind name -> (Keras class name, [(hyperparameter, is_bool,
# default), ...], [(slot, Keras variable group), ...]).
_TABLE = {kind: (cls, hypers, slots) for kind, cls, hypers, slots in _C.optimizer_kinds()}


from .._naming import auto_name as _auto_name  # noqa: E402


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


_COMMON_ARGS = ("learning_rate", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema",
                "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps",
                "name")


class LearningRateValue(float):
    """What ``optimizer.learning_rate`` reads for a float learning rate: the value, with the
    methods of the Keras variable it is there, so that ``optimizer.learning_rate.assign(v)``
    (a common warm-up callback idiom) sets the optimizer's learning rate, and ``numpy()``
    reads it. Pickles and copies as a plain float."""

    shape = ()
    dtype = "float32"
    _optimizer: "weakref.ReferenceType[Optimizer]"

    def __new__(cls, value: float, optimizer: "Optimizer"):
        obj = super().__new__(cls, value)
        obj._optimizer = weakref.ref(optimizer)
        return obj

    def assign(self, value) -> "LearningRateValue":
        """Sets the optimizer's learning rate (``optimizer.learning_rate = value``, with its
        checks) and returns the new value."""
        opt = self._optimizer()
        if opt is None:
            raise RuntimeError("learning_rate.assign: the optimizer this value was read from no longer exists")
        opt.learning_rate = float(value) if isinstance(value, np.ndarray) and value.ndim == 0 else value
        return opt.learning_rate

    def numpy(self):
        """The value as a NumPy float32 scalar."""
        return np.float32(self)

    def __reduce__(self):
        return (float, (float(self),))

    def __copy__(self):
        return float(self)

    def __deepcopy__(self, memo):
        return float(self)


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
        self._layout: List[tuple] = []  # (Keras order, offset, size, name, shape) per trainable tensor

        self._rebuild_core()

    def _rebuild_core(self) -> None:
        """(Re)creates the C++ optimizer from the Python arguments (before it is built)."""
        cfg = _C.OptimizerConfig()
        cfg.kind = getattr(_C.OptimizerKind, str(self._kind))
        self._fill_common(cfg)
        self._fill(cfg)
        self._core = _C.Optimizer(cfg)  # validates once more in C++

    def _loss_scaler(self) -> Any:
        """The C++ loss scaler the model's trainer applies (a LossScaleOptimizer's), or None."""
        return None

    # ---- copy.copy / copy.deepcopy / pickle (Keras's optimizers are picklable) ----
    def __getstate__(self) -> Dict[str, Any]:
        # the C++ optimizer is not picklable: its config is rebuilt from the Python
        # arguments, its state (slots, scalars, iterations) travels as get_state()'s dict;
        # the copy is bound to no model's network (a model that compiles it builds it anew)
        state = {k: v for k, v in self.__dict__.items() if k not in ("_core", "_scaler", "_ranvier_net")}
        if self._core.built:
            state["_built_core_state"] = (int(self._core.size), list(self._segments), Optimizer.get_state(self))
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        state = dict(state)
        built = state.pop("_built_core_state", None)
        self.__dict__.update(state)
        self._rebuild_core()
        if built is not None:
            n_params, segments, core_state = built
            self._core.build(int(n_params), list(segments))
            Optimizer.set_state(self, core_state)
        if self.__dict__.get("_vars") is not None:  # a copy steps the copied variables
            self._var_ids = [id(v) for v in self._vars]

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

    def _unit(self, arg, value, lo_open=False, bias_corrected=False):
        """``value`` in [0, 1] ((0, 1] with ``lo_open``); ``bias_corrected``: in [0, 1), for a
        decay rate whose bias correction divides by 1 - value**t (1 silently made every weight
        NaN at the first step, or froze them)."""
        cls = type(self).__name__
        ok = _is_real(value) and ((0 < value <= 1) if lo_open else (0 <= value <= 1))
        if ok and bias_corrected and value >= 1:
            raise ValueError(f"{cls}: `{arg}` must be a number in [0, 1): {cls} divides by 1 - {arg}**t to correct "
                             f"its moving average's bias, so {arg}=1 divides by zero (the weights become NaN, or "
                             f"never change). Received: {arg}={value!r}")
        if not ok:
            rng = "(0, 1]" if lo_open else ("[0, 1)" if bias_corrected else "[0, 1]")
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

    def _fill(self, cfg):
        """Copies the hyperparameters into the C++ config: the ones the C++ table
        (``optimizers.def``) lists for this kind, by name."""
        for name, is_bool, _default in _TABLE[self._kind][1]:
            value = self._hyper[name]
            setattr(cfg, name, bool(value) if is_bool else float(value))

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
        return LearningRateValue(float(self._core.current_learning_rate()), self)

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
        segs, layout = [], []
        for i, s in enumerate(segments):
            var, shape, order, path = None, None, i, None
            if isinstance(s, dict):
                off, size, name, var = s.get("offset"), s.get("size"), s.get("name"), s.get("variable")
                shape, order = s.get("shape", getattr(var, "shape", None)), s.get("order", i)
                path = s.get("path", name)
            elif isinstance(s, (tuple, list)) and len(s) in (2, 3):
                off, size = s[0], s[1]
                name = path = s[2] if len(s) == 3 else None
            else:
                raise ValueError(f"build: segments[{i}] must be (offset, size[, name]) or a dict, got {s!r}")
            if not isinstance(off, (numbers.Integral, np.integer)) or not isinstance(size, (numbers.Integral,
                                                                                            np.integer)):
                raise ValueError(f"build: segments[{i}] needs integer offset and size, got {s!r}")
            segs.append((int(off), int(size), bool(self._use_weight_decay(name, var))))
            if shape is None or int(np.prod(shape, dtype=np.int64)) != int(size):
                shape = (int(size),)
            if path is None and var is not None:
                path = getattr(var, "path", None) or getattr(var, "name", None)
            layout.append((int(order), int(off), int(size), path if isinstance(path, str) else None,
                           tuple(int(d) for d in shape)))
        self._core.build(int(n_params), segs)
        self._segments = segs
        self._layout = layout

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
        variables = self._variables_for(grads, trainable_variables)
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

    def _variables_for(self, grads: List[Any], trainable_variables) -> List[Any]:
        """The variables an apply() call updates (the built ones when None), as many as
        the gradients."""
        if trainable_variables is None:
            if self._var_ids is None:
                raise ValueError("When passing `grads` without `variables`, the optimizer must already be built "
                                 "on a list of variables (call apply(grads, variables) once first).")
            variables = self._vars
        else:
            variables = list(trainable_variables)
        if len(grads) != len(variables):
            raise ValueError(f"apply: got {len(grads)} gradients for {len(variables)} variables")
        return variables

    def _check_apply(self, grads: List[Any], trainable_variables) -> None:
        """apply()'s argument checks alone, with nothing changed (a LossScaleOptimizer makes
        them before its scale state moves)."""
        variables = self._variables_for(grads, trainable_variables)
        if self._var_ids is not None and [id(v) for v in variables] != self._var_ids:
            raise ValueError("Unknown variable: this optimizer can only be called for the variables it was "
                             "originally built with (same objects, same order).")
        if all(g is None for g in grads):
            raise ValueError("No gradients provided for any variable.")
        for i, (g, v) in enumerate(zip(grads, variables)):
            if g is None:
                continue
            a, g = self._as_array(v, i), np.asarray(g)
            if g.shape != a.shape:
                raise ValueError(f"apply: gradient {i} has shape {g.shape} but its variable has shape {a.shape}")
            if g.dtype.kind != "f":
                raise TypeError(f"apply: gradient {i} must be a floating-point array, got dtype={g.dtype}")

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
            segs.append({"offset": off, "size": int(a.size), "name": getattr(v, "name", None), "variable": v,
                         "shape": tuple(a.shape)})
            off += int(a.size)
        same_layout = (self._core.built and self._core.size == off
                       and [(o, n) for o, n, _ in self._segments] == [(d["offset"], d["size"]) for d in segs])
        if not same_layout:  # already built for this layout (e.g. build + set_state): keep the state
            self.build(off, segs)
        else:
            paths = [getattr(v, "path", None) or getattr(v, "name", None) for v in variables]
            self._layout = [(i, d["offset"], d["size"], p if isinstance(p, str) else None, d["shape"])
                            for i, (d, p) in enumerate(zip(segs, paths))]
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
            if k.startswith("loss_scale/"):  # a LossScaleOptimizer's state, restored into its inner optimizer
                warnings.warn(f"{type(self).__name__}.set_state: the saved loss scale ({k}) is dropped: this "
                              "optimizer is not a LossScaleOptimizer (the model was made under another policy "
                              "than mixed_float16?)", stacklevel=2)
                continue
            self._core.set_scalar(k, float(v))
        if "iterations" in state:
            self._core.raw_iterations = int(state["iterations"])
        if "learning_rate" in state and isinstance(self._learning_rate, float):
            self.learning_rate = float(state["learning_rate"])

    @property
    def variables(self) -> List[np.ndarray]:
        """Keras's list: ``iteration``, ``learning_rate`` (a constant one only), then the
        slots in Keras's order, each shaped as its variable and named
        ``<variable>_<slot>`` (``kernel_momentum``, ...; live views of the state), then
        scalar state (Nadam's ``u_product``). NumPy arrays with ``name``, ``path`` and
        ``numpy()``; only the first two before the optimizer is built."""
        lr = float(self._core.current_learning_rate()) if isinstance(self._learning_rate, float) else None
        if not self._core.built:
            return _variables.keras_variables(self.name, self.iterations, lr, {}, (), (), {})
        scalars = {k: float(self._core.scalar(k)) for k in self._core.scalar_names()}
        return _variables.keras_variables(self.name, self.iterations, lr, self._core.slots(),
                                          _TABLE[self._kind][2] if self._kind in _TABLE else (),
                                          getattr(self, "_layout", ()), scalars)

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


