"""Learning-rate schedules (``ranvier.optimizers.schedules``), as in Keras 3.

A schedule maps the optimizer's step count (its ``iterations`` before the step, so the
first step sees ``schedule(0)``) to a learning rate. The built-in schedules are also
evaluated in C++ by the training loop, from the same formulas
(``cpp/src/optimizers/schedule.cpp``); ``__call__`` here computes them in float64 and
rounds once to float32, which is what the C++ side returns.

A subclass of :class:`LearningRateSchedule` that defines its own ``__call__`` works too:
the optimizer then asks Python for the learning rate before each step.
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Dict

import numpy as np

from .. import _checks, _registry
from .. import _core as _C

__all__ = [
    "LearningRateSchedule",
    "ExponentialDecay",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "InverseTimeDecay",
    "CosineDecay",
    "CosineDecayRestarts",
    "serialize",
    "deserialize",
]


def _real(value, cls: str, arg: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{cls}: `{arg}` must be a number. Received: {arg}={value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{cls}: `{arg}` must be finite. Received: {arg}={value!r}")
    return value


def _nonneg(value, cls: str, arg: str) -> float:
    """A learning rate, rate or exponent of a schedule: finite, >= 0 and within float32's
    range. Negative ones (a negative ``decay_rate`` or ``power``, a negative learning rate)
    would give NaN or negative learning rates, and so NaN weights; they are refused as the
    optimizers refuse a negative ``learning_rate``. The C++ schedule checks the same."""
    v = _real(value, cls, arg)
    if v < 0:
        raise ValueError(f"{cls}: `{arg}` must be >= 0. Received: {arg}={value!r}")
    _checks.check_float32(v, f"`{arg}`", cls)
    return v


def _positive_steps(value, cls: str, arg: str) -> None:
    v = _real(value, cls, arg)
    if v <= 0:
        raise ValueError(f"{cls}: Argument `{arg}` must be > 0. Received: {arg}={value!r}")


def _step_value(step):
    """The step as a float, and whether it is an integer (Keras compares piecewise
    boundaries in the step's dtype, so integer steps truncate float boundaries)."""
    if isinstance(step, (bool, np.bool_)):
        raise TypeError(f"step must be a number, got {step!r}")
    if isinstance(step, (numbers.Integral, np.integer)):
        return float(step), True
    if isinstance(step, np.ndarray) and step.ndim == 0:
        return _step_value(step[()])
    if isinstance(step, numbers.Real):
        return float(step), False
    raise TypeError(f"step must be a number (the optimizer's iteration count), got {type(step).__name__}")


class LearningRateSchedule:
    """Base class: subclasses implement ``__call__(step)`` and ``get_config()``.

    A user subclass runs in Python (the optimizer calls it before each step); the
    built-in subclasses below also run in C++.
    """

    def __call__(self, step):
        raise NotImplementedError(
            f"Learning rate schedule '{self.__class__.__name__}' must override `__call__(self, step)`.")

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments as a dict; custom schedules must override it to be
        serializable."""
        raise NotImplementedError(
            f"Learning rate schedule '{self.__class__.__name__}' must override `get_config()` in order to "
            "be serializable.")

    @classmethod
    def from_config(cls, config):
        """Creates the schedule from ``get_config()``'s dict."""
        return cls(**config)

    # ---- the bridge to C++ (built-in schedules only) ----
    def _cpp_config(self):
        """The C++ ScheduleConfig for this schedule, or None when it only runs in Python."""
        return None

    def _cpp_value(self, step: int) -> float:
        """The C++ evaluation at an integer step (what the training loop uses)."""
        return float(_C.schedule_value(self._cpp_config(), int(step)))

    def _call_builtin(self, step):
        if isinstance(step, np.ndarray) and step.ndim > 0:
            return np.array([self._call_builtin(s) for s in step.ravel()], dtype=np.float32).reshape(step.shape)
        s, integer = _step_value(step)
        if s < 0 or math.isnan(s):
            raise ValueError(f"{type(self).__name__}: step must be a number >= 0 (the optimizer's iteration "
                             f"count), got step={step!r}")
        try:
            value = self._py_value(s, integer)
        except OverflowError:  # e.g. decay_rate > 1 over very many steps: what C++ computes
            value = math.inf
        with np.errstate(over="ignore"):
            return np.float32(value)

    def _py_value(self, s: float, integer: bool) -> float:
        raise NotImplementedError


class ExponentialDecay(LearningRateSchedule):
    """``ExponentialDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False,
    name="ExponentialDecay")`` (Keras's defaults).

    ``initial_learning_rate * decay_rate ** (step / decay_steps)`` (floor of the
    exponent when ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="ExponentialDecay"):
        _nonneg(initial_learning_rate, "ExponentialDecay", "initial_learning_rate")
        _positive_steps(decay_steps, "ExponentialDecay", "decay_steps")
        _nonneg(decay_rate, "ExponentialDecay", "decay_rate")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def _py_value(self, s, integer):
        p = s / float(self.decay_steps)
        if self.staircase:
            p = math.floor(p)
        return float(self.initial_learning_rate) * math.pow(float(self.decay_rate), p)

    def __call__(self, step):
        return self._call_builtin(step)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}

    def _cpp_config(self):
        c = _C.ScheduleConfig()
        c.kind = _C.ScheduleKind.exponential_decay
        c.initial_learning_rate = float(self.initial_learning_rate)
        c.decay_steps = float(self.decay_steps)
        c.decay_rate = float(self.decay_rate)
        c.staircase = bool(self.staircase)
        return c


class PiecewiseConstantDecay(LearningRateSchedule):
    """``PiecewiseConstantDecay(boundaries, values, name="PiecewiseConstant")`` (Keras's defaults).

    ``values[0]`` while ``step <= boundaries[0]``, ``values[i]`` on
    ``(boundaries[i-1], boundaries[i]]``, ``values[-1]`` after the last boundary."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        boundaries = list(boundaries)
        values = list(values)
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "PiecewiseConstantDecay: The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and values={values} of length "
                f"{len(values)}.")
        if not boundaries:
            raise ValueError("PiecewiseConstantDecay: `boundaries` must have at least one entry. Received: "
                             f"boundaries={boundaries}")
        for i, b in enumerate(boundaries):
            _real(b, "PiecewiseConstantDecay", f"boundaries[{i}]")
        for i, v in enumerate(values):
            _nonneg(v, "PiecewiseConstantDecay", f"values[{i}]")
        self.boundaries = boundaries
        self.values = values
        self.name = name

    def _py_value(self, s, integer):
        b = [float(math.trunc(x)) if integer else float(x) for x in self.boundaries]
        v = [float(x) for x in self.values]
        if s <= b[0]:
            return v[0]
        if s > b[-1]:
            return v[-1]
        for i in range(len(b) - 1):
            if b[i] < s <= b[i + 1]:
                return v[i + 1]
        return 0.0

    def __call__(self, step):
        return self._call_builtin(step)

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}

    def _cpp_config(self):
        c = _C.ScheduleConfig()
        c.kind = _C.ScheduleKind.piecewise_constant_decay
        c.boundaries = [float(b) for b in self.boundaries]
        c.values = [float(v) for v in self.values]
        return c


class PolynomialDecay(LearningRateSchedule):
    """``PolynomialDecay(initial_learning_rate, decay_steps, end_learning_rate=0.0001,
    power=1.0, cycle=False, name="PolynomialDecay")`` (Keras's defaults).

    ``(initial - end) * (1 - min(step, decay_steps) / decay_steps) ** power + end``;
    with ``cycle`` the decay period grows to the first multiple of ``decay_steps`` above
    the step."""

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001, power=1.0, cycle=False,
                 name="PolynomialDecay"):
        _nonneg(initial_learning_rate, "PolynomialDecay", "initial_learning_rate")
        _positive_steps(decay_steps, "PolynomialDecay", "decay_steps")
        _nonneg(end_learning_rate, "PolynomialDecay", "end_learning_rate")
        _nonneg(power, "PolynomialDecay", "power")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def _py_value(self, s, integer):
        ds = float(self.decay_steps)
        if self.cycle:
            mult = 1.0 if s == 0 else math.ceil(s / float(self.decay_steps))
            ds = ds * mult
        else:
            s = min(s, ds)
        p = s / ds
        lr0, end = float(self.initial_learning_rate), float(self.end_learning_rate)
        return (lr0 - end) * math.pow(1.0 - p, float(self.power)) + end

    def __call__(self, step):
        return self._call_builtin(step)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle,
                "name": self.name}

    def _cpp_config(self):
        c = _C.ScheduleConfig()
        c.kind = _C.ScheduleKind.polynomial_decay
        c.initial_learning_rate = float(self.initial_learning_rate)
        c.decay_steps = float(self.decay_steps)
        c.end_learning_rate = float(self.end_learning_rate)
        c.power = float(self.power)
        c.cycle = bool(self.cycle)
        return c


class InverseTimeDecay(LearningRateSchedule):
    """``InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate, staircase=False,
    name="InverseTimeDecay")`` (Keras's defaults).

    ``initial_learning_rate / (1 + decay_rate * step / decay_steps)`` (floor of the
    ratio when ``staircase``)."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False, name="InverseTimeDecay"):
        _nonneg(initial_learning_rate, "InverseTimeDecay", "initial_learning_rate")
        _positive_steps(decay_steps, "InverseTimeDecay", "decay_steps")
        _nonneg(decay_rate, "InverseTimeDecay", "decay_rate")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def _py_value(self, s, integer):
        p = s / float(self.decay_steps)
        if self.staircase:
            p = math.floor(p)
        return float(self.initial_learning_rate) / (1.0 + float(self.decay_rate) * p)

    def __call__(self, step):
        return self._call_builtin(step)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase, "name": self.name}

    def _cpp_config(self):
        c = _C.ScheduleConfig()
        c.kind = _C.ScheduleKind.inverse_time_decay
        c.initial_learning_rate = float(self.initial_learning_rate)
        c.decay_steps = float(self.decay_steps)
        c.decay_rate = float(self.decay_rate)
        c.staircase = bool(self.staircase)
        return c


class CosineDecay(LearningRateSchedule):
    """``CosineDecay(initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
    warmup_target=None, warmup_steps=0)`` (Keras's defaults).

    Cosine decay from ``initial_learning_rate`` (or, after a linear warmup over
    ``warmup_steps`` to ``warmup_target``, from ``warmup_target``) down to
    ``alpha`` times it over ``decay_steps``."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay", warmup_target=None,
                 warmup_steps=0):
        _nonneg(initial_learning_rate, "CosineDecay", "initial_learning_rate")
        _positive_steps(decay_steps, "CosineDecay", "decay_steps")
        _nonneg(alpha, "CosineDecay", "alpha")
        if warmup_target is not None:
            _nonneg(warmup_target, "CosineDecay", "warmup_target")
        if _real(warmup_steps, "CosineDecay", "warmup_steps") < 0:
            raise ValueError(f"CosineDecay: `warmup_steps` must be >= 0. Received: warmup_steps={warmup_steps!r}")
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_steps = warmup_steps
        self.warmup_target = warmup_target

    def _py_value(self, s, integer):
        ds, alpha, lr0 = float(self.decay_steps), float(self.alpha), float(self.initial_learning_rate)

        def decay(st, frm):
            cosine = 0.5 * (1.0 + math.cos(math.pi * (st / ds)))
            return frm * ((1.0 - alpha) * cosine + alpha)

        if self.warmup_target is None:
            return decay(min(s, ds), lr0)
        ws, target = float(self.warmup_steps), float(self.warmup_target)
        s = min(s, ds + ws)
        if s < ws:
            return (target - lr0) * (s / ws) + lr0
        return decay(s - ws, target)

    def __call__(self, step):
        return self._call_builtin(step)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "name": self.name, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}

    def _cpp_config(self):
        c = _C.ScheduleConfig()
        c.kind = _C.ScheduleKind.cosine_decay
        c.initial_learning_rate = float(self.initial_learning_rate)
        c.decay_steps = float(self.decay_steps)
        c.alpha = float(self.alpha)
        c.has_warmup = self.warmup_target is not None
        c.warmup_target = float(self.warmup_target) if self.warmup_target is not None else 0.0
        c.warmup_steps = float(self.warmup_steps)
        return c


class CosineDecayRestarts(LearningRateSchedule):
    """``CosineDecayRestarts(initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
    alpha=0.0, name="SGDRDecay")`` (Keras's defaults).

    SGDR: cosine decay over ``first_decay_steps``, then warm restarts whose length
    grows by ``t_mul`` and whose height shrinks by ``m_mul`` each time."""

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0, alpha=0.0,
                 name="SGDRDecay"):
        _nonneg(initial_learning_rate, "CosineDecayRestarts", "initial_learning_rate")
        _positive_steps(first_decay_steps, "CosineDecayRestarts", "first_decay_steps")
        if _real(t_mul, "CosineDecayRestarts", "t_mul") <= 0:
            raise ValueError(f"CosineDecayRestarts: `t_mul` must be > 0. Received: t_mul={t_mul!r}")
        _nonneg(m_mul, "CosineDecayRestarts", "m_mul")
        _nonneg(alpha, "CosineDecayRestarts", "alpha")
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def _py_value(self, s, integer):
        t_mul, m_mul, alpha = float(self._t_mul), float(self._m_mul), float(self.alpha)
        frac = s / float(self.first_decay_steps)
        if t_mul == 1.0:
            i_restart = math.floor(frac)
            frac -= i_restart
        else:
            i_restart = math.floor(math.log(1.0 - frac * (1.0 - t_mul)) / math.log(t_mul))
            sum_r = (1.0 - math.pow(t_mul, i_restart)) / (1.0 - t_mul)
            frac = (frac - sum_r) / math.pow(t_mul, i_restart)
        m_fac = math.pow(m_mul, i_restart)
        cosine = 0.5 * m_fac * (1.0 + math.cos(math.pi * frac))
        return float(self.initial_learning_rate) * ((1.0 - alpha) * cosine + alpha)

    def __call__(self, step):
        return self._call_builtin(step)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "first_decay_steps": self.first_decay_steps,
                "t_mul": self._t_mul, "m_mul": self._m_mul, "alpha": self.alpha, "name": self.name}

    def _cpp_config(self):
        c = _C.ScheduleConfig()
        c.kind = _C.ScheduleKind.cosine_decay_restarts
        c.initial_learning_rate = float(self.initial_learning_rate)
        c.decay_steps = float(self.first_decay_steps)
        c.t_mul = float(self._t_mul)
        c.m_mul = float(self._m_mul)
        c.alpha = float(self.alpha)
        return c


_BUILTIN = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
                                           InverseTimeDecay, CosineDecay, CosineDecayRestarts)}


def _is_builtin(schedule) -> bool:
    """True when `schedule` is evaluated in C++ (a built-in class whose __call__ was not overridden)."""
    cls = type(schedule)
    return any(issubclass(cls, b) and cls.__call__ is b.__call__ for b in _BUILTIN.values())


def serialize(learning_rate_schedule) -> Dict[str, Any]:
    """``{"module", "class_name", "config", "registered_name"}`` as Keras writes it."""
    out: Any = _registry.serialize(learning_rate_schedule, kind="learning rate schedule",
                                   base=LearningRateSchedule, builtin=tuple(_BUILTIN.values()),
                                   module="keras.optimizers.schedules", functions=False)
    return out


def deserialize(config, custom_objects=None) -> LearningRateSchedule:
    """Rebuilds a schedule from :func:`serialize`'s dict (``custom_objects`` maps class
    names to user classes)."""
    return _registry.deserialize(
        config, custom_objects, kind="learning rate schedule", registry=_BUILTIN,
        valid_names=lambda: f"{sorted(_BUILTIN)} (pass custom_objects={{name: cls}} for your own)", get=None)
