"""Loss classes: ``Loss`` (reductions, sample weights, config), ``LossFunctionWrapper``
and the built-in classes, each a wrapper of its function."""
from __future__ import annotations

import numbers
from typing import Any, Callable, Dict, Optional, Tuple

import numpy as np

from .. import _tensor
from .._naming import to_snake_case as _snake
from ._functions import (
    REDUCTIONS, _FUNCTIONS, _as_f32, _check_bool, _check_num, _per_sample, _squeeze_or_expand, binary_crossentropy,
    binary_focal_crossentropy, categorical_crossentropy, categorical_focal_crossentropy, categorical_hinge,
    cosine_similarity, hinge, huber, kl_divergence, log_cosh, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_error, mean_squared_logarithmic_error, poisson, sparse_categorical_crossentropy, squared_hinge)


def _standardize_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(
            "Invalid value for argument `reduction`. Expected one of "
            f"{{'sum_over_batch_size', 'sum', None, 'none', 'mean', 'mean_with_sample_weight'}}. "
            f"Received: reduction={reduction!r}")
    return reduction


def _reduce(values: np.ndarray, sample_weight, reduction, fn: str, mask=None) -> Any:
    """Keras reduce_weighted_values: v_i = w_i l_i, then the reduction (float64 sums)."""
    v = values.astype(np.float64)
    sw = None
    if mask is not None:
        m = mask.astype(np.float64)
        if reduction in ("mean", "sum_over_batch_size") and m.size:
            valid = m.sum()
            m = m * (m.size / valid if valid else 0.0)
        sw = m
    if sample_weight is not None:
        w = _as_f32(sample_weight, fn, "sample_weight").astype(np.float64)
        if sw is not None:
            a, b = _squeeze_or_expand(sw, w)
            w = a * b
        sw = w
    weights_for_divisor = sw
    if sw is not None:
        vv, ww = _squeeze_or_expand(v, sw)
        try:
            v = vv * ww
        except ValueError:
            raise ValueError(
                f"{fn}: sample_weight.shape={np.shape(sample_weight)} does not match the per-sample "
                f"losses of shape {values.shape} (use a scalar, shape {values.shape} or "
                f"{values.shape + (1,)})") from None
    if reduction in (None, "none") or v.shape in ((), (0,)):
        return v.astype(np.float32)
    total = v.sum()
    if reduction == "sum":
        return np.float32(total)
    if reduction == "mean_with_sample_weight" and weights_for_divisor is not None:
        d = float(np.sum(weights_for_divisor))
        return np.float32(total / d if d else 0.0)
    return np.float32(total / v.size if v.size else 0.0)


class Loss:
    """Base class: ``Loss(name=None, reduction="sum_over_batch_size", dtype=None)``.

    Subclasses implement ``call(y_true, y_pred)`` returning per-sample losses; calling the
    object applies ``sample_weight`` and the reduction (Keras 3). Only float32 is
    supported as dtype.
    """

    def __init__(self, name=None, reduction="sum_over_batch_size", dtype=None):
        if name is not None and not isinstance(name, str):
            raise TypeError(f"{type(self).__name__}: name must be a string, got {name!r}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = _standardize_reduction(reduction)
        if dtype is not None:
            name_ = dtype.get("config", {}).get("name") if isinstance(dtype, dict) else dtype
            try:
                ok = np.dtype(name_) == np.float32
            except TypeError:
                ok = False
            if not ok:
                raise ValueError(f"{type(self).__name__}: ranvier computes losses in float32; got dtype={dtype!r}")
        self._dtype = "float32"

    @property
    def dtype(self) -> str:
        """The compute dtype: always ``"float32"``."""
        return self._dtype

    def call(self, y_true, y_pred):
        """Per-sample losses of ``(y_true, y_pred)``, before ``sample_weight`` and the
        reduction; subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} must implement call(y_true, y_pred)")

    def _call_with_mask(self, y_true, y_pred):
        return np.asarray(self.call(y_true, y_pred), dtype=np.float32), None

    def __call__(self, y_true, y_pred, sample_weight=None):
        values, mask = self._call_with_mask(y_true, y_pred)
        return _tensor.eager(_reduce(values, sample_weight, self.reduction, self.name, mask=mask))

    def get_config(self) -> Dict[str, Any]:
        """The constructor arguments as a dict (``name``, ``reduction`` and the loss's own)."""
        return {"name": self.name, "reduction": self.reduction}

    @classmethod
    def from_config(cls, config: Dict[str, Any]):
        """Rebuilds the loss from ``get_config()``'s dict."""
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


# The package's serialize / deserialize (ranvier.losses builds them over these classes and
# puts them here when it is imported: importing the package from here would be a cycle).
_codec: Dict[str, Callable[..., Any]] = {}


class LossFunctionWrapper(Loss):
    """``LossFunctionWrapper(fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs)``.

    Wraps a loss function (plus keyword arguments passed to it) as a Loss: what
    ``compile`` does with a function or string loss. ``fn`` may also be a loss name or a
    serialized function; ``name`` defaults to ``fn.__name__``.
    """

    def __init__(self, fn, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        if isinstance(fn, (str, dict)):
            fn = _codec["deserialize"](fn)
        if not callable(fn):
            raise TypeError(f"LossFunctionWrapper: fn must be callable, got {fn!r}")
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = dict(kwargs)

    def call(self, y_true, y_pred):
        """``fn(y_true, y_pred, **kwargs)``: the per-sample losses."""
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def _call_with_mask(self, y_true, y_pred):
        if self.fn is sparse_categorical_crossentropy and self._fn_kwargs.get("ignore_class") is not None:
            kw = dict(self._fn_kwargs)
            fl = _check_bool(kw.get("from_logits", False), self.name, "from_logits")
            ps, mask, _ = _per_sample("sparse_categorical_crossentropy", y_true, y_pred, self.name,
                                      {"from_logits": fl}, axis=kw.get("axis", -1),
                                      ignore_class=kw["ignore_class"])
            return ps, mask
        if self.fn in _FUNCTIONS.values():
            return self.fn(y_true, y_pred, **self._fn_kwargs), None
        yt = np.asarray(y_true)
        yp = np.asarray(y_pred)
        yt, yp = _squeeze_or_expand(yt, yp)
        return np.asarray(self.fn(yt, yp, **self._fn_kwargs), dtype=np.float32), None

    def get_config(self):
        config = super().get_config()
        config["fn"] = _codec["serialize"](self.fn)
        config.update(self._fn_kwargs)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            config["fn"] = _codec["deserialize"](config["fn"])
        return cls(**config)

    def __repr__(self):
        return f"<LossFunctionWrapper({getattr(self.fn, '__name__', self.fn)}, kwargs={self._fn_kwargs})>"


class _Builtin(LossFunctionWrapper):
    """A built-in loss class: its config is Loss's plus its own arguments."""

    _fn: Optional[Callable] = None  # each built-in class sets its loss function
    _args: Tuple[str, ...] = ()

    def __init__(self, reduction="sum_over_batch_size", name=None, dtype=None, **kwargs):
        super().__init__(type(self)._fn, reduction=reduction, name=name, dtype=dtype, **kwargs)
        for k, v in kwargs.items():
            setattr(self, k, v)

    def get_config(self):
        config = Loss.get_config(self)
        config.update({k: self._fn_kwargs[k] for k in self._args})
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MeanSquaredError(_Builtin):
    """``MeanSquaredError(reduction="sum_over_batch_size", name="mean_squared_error", dtype=None)``.

    Per sample: ``mean((y_true - y_pred)^2, axis=-1)`` (see ``mean_squared_error``), then
    ``sample_weight`` and the reduction.
    """

    _fn = staticmethod(mean_squared_error)

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class MeanAbsoluteError(_Builtin):
    """``MeanAbsoluteError(reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None)``.

    Per sample: ``mean(|y_true - y_pred|, axis=-1)`` (see ``mean_absolute_error``).
    """

    _fn = staticmethod(mean_absolute_error)

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class MeanAbsolutePercentageError(_Builtin):
    """``MeanAbsolutePercentageError(reduction="sum_over_batch_size", name="mean_absolute_percentage_error", dtype=None)``.

    Per sample: ``100 * mean(|y_true - y_pred| / max(|y_true|, 1e-7), axis=-1)``.
    """

    _fn = staticmethod(mean_absolute_percentage_error)

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class MeanSquaredLogarithmicError(_Builtin):
    """``MeanSquaredLogarithmicError(reduction="sum_over_batch_size", name="mean_squared_logarithmic_error", dtype=None)``.

    Per sample: ``mean((log(y_pred + 1) - log(y_true + 1))^2, axis=-1)`` (both clipped
    below at epsilon; see ``mean_squared_logarithmic_error``).
    """

    _fn = staticmethod(mean_squared_logarithmic_error)

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class CosineSimilarity(_Builtin):
    """``CosineSimilarity(axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None)``.

    Per sample: ``-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis)``, so -1 means
    the same direction (see ``cosine_similarity``).
    """

    _fn = staticmethod(cosine_similarity)
    _args = ("axis",)

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype, axis=axis)


class Huber(_Builtin):
    """``Huber(delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None)``.

    Per sample: ``mean(0.5 e^2 if |e| <= delta else delta |e| - 0.5 delta^2)`` with
    ``e = y_pred - y_true``; ``delta`` must be >= 0 (see ``huber``).
    """

    _fn = staticmethod(huber)
    _args = ("delta",)

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None):
        _check_num(delta, "Huber", "delta", 0.0)
        super().__init__(reduction=reduction, name=name, dtype=dtype, delta=delta)


class LogCosh(_Builtin):
    """``LogCosh(reduction="sum_over_batch_size", name="log_cosh", dtype=None)``.

    Per sample: ``mean(log(cosh(y_pred - y_true)), axis=-1)`` (see ``log_cosh``).
    """

    _fn = staticmethod(log_cosh)

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class Hinge(_Builtin):
    """``Hinge(reduction="sum_over_batch_size", name="hinge", dtype=None)``.

    Per sample: ``mean(max(1 - y_true * y_pred, 0), axis=-1)``; labels that are all 0 or 1
    are mapped to -1/+1 first (see ``hinge``).
    """

    _fn = staticmethod(hinge)

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class SquaredHinge(_Builtin):
    """``SquaredHinge(reduction="sum_over_batch_size", name="squared_hinge", dtype=None)``.

    Per sample: ``mean(max(1 - y_true * y_pred, 0)^2, axis=-1)``, with ``Hinge``'s label
    conversion (see ``squared_hinge``).
    """

    _fn = staticmethod(squared_hinge)

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class CategoricalHinge(_Builtin):
    """``CategoricalHinge(reduction="sum_over_batch_size", name="categorical_hinge", dtype=None)``.

    Per sample: ``max(max((1 - y_true) * y_pred) - sum(y_true * y_pred) + 1, 0)`` (see
    ``categorical_hinge``).
    """

    _fn = staticmethod(categorical_hinge)

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class KLDivergence(_Builtin):
    """``KLDivergence(reduction="sum_over_batch_size", name="kl_divergence", dtype=None)``.

    Per sample: ``sum(y_true * log(y_true / y_pred), axis=-1)`` with both clipped to
    [1e-7, 1] (see ``kl_divergence``).
    """

    _fn = staticmethod(kl_divergence)

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class Poisson(_Builtin):
    """``Poisson(reduction="sum_over_batch_size", name="poisson", dtype=None)``.

    Per sample: ``mean(y_pred - y_true * log(y_pred + 1e-7), axis=-1)`` (see ``poisson``).
    """

    _fn = staticmethod(poisson)

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(reduction=reduction, name=name, dtype=dtype)


class BinaryCrossentropy(_Builtin):
    """``BinaryCrossentropy(from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None)``.

    Per sample: the mean over ``axis`` of the elementwise binary cross-entropy. With
    ``from_logits=False`` (the Keras default) ``y_pred`` holds probabilities, clipped to
    [1e-7, 1 - 1e-7]; with ``from_logits=True`` it holds logits. ``label_smoothing`` in
    [0, 1] moves the labels towards 0.5 (see ``binary_crossentropy``).
    """

    _fn = staticmethod(binary_crossentropy)
    _args = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_crossentropy", dtype=None):
        _check_bool(from_logits, "BinaryCrossentropy", "from_logits")
        _check_num(label_smoothing, "BinaryCrossentropy", "label_smoothing", 0.0, 1.0)
        super().__init__(reduction=reduction, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class BinaryFocalCrossentropy(_Builtin):
    """``BinaryFocalCrossentropy(apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size", name="binary_focal_crossentropy", dtype=None)``.

    Per sample: ``mean(w * (1 - p_t)^gamma * bce)`` with ``p_t = y p + (1 - y)(1 - p)``;
    ``w = alpha y + (1 - alpha)(1 - y)`` when ``apply_class_balancing``, else 1 (see
    ``binary_focal_crossentropy``).
    """

    _fn = staticmethod(binary_focal_crossentropy)
    _args = ("from_logits", "label_smoothing", "axis", "apply_class_balancing", "alpha", "gamma")

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size", name="binary_focal_crossentropy",
                 dtype=None):
        fn = "BinaryFocalCrossentropy"
        _check_bool(apply_class_balancing, fn, "apply_class_balancing")
        _check_num(alpha, fn, "alpha")
        _check_num(gamma, fn, "gamma", 0.0)
        _check_bool(from_logits, fn, "from_logits")
        _check_num(label_smoothing, fn, "label_smoothing", 0.0, 1.0)
        super().__init__(reduction=reduction, name=name, dtype=dtype, apply_class_balancing=apply_class_balancing,
                         alpha=alpha, gamma=gamma, from_logits=from_logits, label_smoothing=label_smoothing,
                         axis=axis)


class CategoricalCrossentropy(_Builtin):
    """``CategoricalCrossentropy(from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None)``.

    Per sample: ``-sum(y_true * log(q), axis)`` for one-hot (or soft) labels, where ``q``
    is ``y_pred`` renormalized to sum 1 and clipped (``from_logits=False``, the Keras
    default) or ``softmax(y_pred)`` (``from_logits=True``). ``label_smoothing`` replaces
    ``y`` with ``y (1 - ls) + ls / num_classes`` (see ``categorical_crossentropy``).
    """

    _fn = staticmethod(categorical_crossentropy)
    _args = ("from_logits", "label_smoothing", "axis")

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="categorical_crossentropy", dtype=None):
        _check_bool(from_logits, "CategoricalCrossentropy", "from_logits")
        _check_num(label_smoothing, "CategoricalCrossentropy", "label_smoothing", 0.0, 1.0)
        super().__init__(reduction=reduction, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class CategoricalFocalCrossentropy(_Builtin):
    """``CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size", name="categorical_focal_crossentropy", dtype=None)``.

    Per sample: ``sum(alpha (1 - q)^gamma (-y_true log q), axis)``, ``q`` as in
    ``CategoricalCrossentropy`` (renormalized and clipped, or the softmax of logits); ``gamma``
    >= 0 down-weights the well-classified samples (0 gives alpha times the categorical
    cross-entropy). ``alpha`` is one number (see ``categorical_focal_crossentropy``).
    """

    _fn = staticmethod(categorical_focal_crossentropy)
    _args = ("from_logits", "label_smoothing", "axis", "alpha", "gamma")

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_focal_crossentropy", dtype=None):
        fn = "CategoricalFocalCrossentropy"
        _check_num(alpha, fn, "alpha")
        _check_num(gamma, fn, "gamma", 0.0)
        _check_bool(from_logits, fn, "from_logits")
        _check_num(label_smoothing, fn, "label_smoothing", 0.0, 1.0)
        super().__init__(reduction=reduction, name=name, dtype=dtype, alpha=alpha, gamma=gamma,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_Builtin):
    """``SparseCategoricalCrossentropy(from_logits=False, ignore_class=None, reduction="sum_over_batch_size", name="sparse_categorical_crossentropy", dtype=None)``.

    Per sample: ``-log(q[label])`` with integer labels of shape (N,) or (N, 1), ``q`` as in
    ``CategoricalCrossentropy``. Samples whose label equals ``ignore_class`` get loss 0
    and are left out of the ``"sum_over_batch_size"`` divisor; labels out of range raise
    ValueError (see ``sparse_categorical_crossentropy``).
    """

    _fn = staticmethod(sparse_categorical_crossentropy)
    _args = ("from_logits", "ignore_class")

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 name="sparse_categorical_crossentropy", dtype=None, axis=-1):
        _check_bool(from_logits, "SparseCategoricalCrossentropy", "from_logits")
        if ignore_class is not None and (isinstance(ignore_class, bool) or not isinstance(ignore_class, numbers.Integral)):
            raise TypeError(f"SparseCategoricalCrossentropy: ignore_class must be an int or None, got {ignore_class!r}")
        kwargs = {"from_logits": from_logits, "ignore_class": ignore_class}
        if axis != -1:
            kwargs["axis"] = axis
        super().__init__(reduction=reduction, name=name, dtype=dtype, **kwargs)


# Written out for static analysis (mypy); test_losses checks it lists the table's classes.
__all__ = [
    "Loss", "LossFunctionWrapper", "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "CosineSimilarity", "Huber", "LogCosh", "Hinge", "SquaredHinge",
    "CategoricalHinge", "KLDivergence", "Poisson", "BinaryCrossentropy", "BinaryFocalCrossentropy",
    "CategoricalCrossentropy", "CategoricalFocalCrossentropy", "SparseCategoricalCrossentropy",
]
