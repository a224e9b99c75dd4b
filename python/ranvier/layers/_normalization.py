"""BatchNormalization and LayerNormalization."""
from __future__ import annotations

import numbers

from .. import _core
from .. import constraints as _constraints
from .. import initializers as _initializers
from .. import regularizers as _regularizers
from ._base import Layer, check_bool, check_float, get_initializer
from ._core_layers import _get_constraint, _get_regularizer


def _last_axis(axis, input_shape, who: str) -> None:
    ax = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
    if isinstance(ax, bool) or not isinstance(ax, numbers.Integral) or ax not in (-1, len(input_shape) - 1):
        raise ValueError(f"{who}: ranvier normalizes over the last axis only (axis=-1), got axis={axis!r} "
                         f"for input_shape={tuple(input_shape)}")


def _check_axis(axis, who: str) -> None:
    """An int or a list/tuple of one int (the value itself is checked at build)."""
    ax = axis[0] if isinstance(axis, (list, tuple)) and len(axis) == 1 else axis
    if isinstance(ax, bool) or not isinstance(ax, numbers.Integral):
        raise TypeError(f"{who}: axis must be an int, got axis={axis!r}")


def _per_feature(input_shape) -> int:
    """The number of features normalized (0 when unknown)."""
    shape = tuple(input_shape)
    d = shape[-1] if len(shape) >= 2 else None
    return int(d) if d is not None and d > 0 else 0


class BatchNormalization(Layer):
    """``keras.layers.BatchNormalization``: batch statistics in training (when the layer is
    trainable), moving statistics otherwise. Weights: gamma, beta (trainable),
    moving_mean, moving_variance (non-trainable). Only axis=-1."""

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, synchronized=False, renorm=False,
                 renorm_clipping=None, renorm_momentum=0.99, **kwargs):
        if check_bool(renorm, "renorm"):
            raise ValueError("BatchNormalization: renorm=True is not supported by ranvier")
        _check_axis(axis, "BatchNormalization")
        super().__init__(**kwargs)
        self.axis = axis
        self.momentum = check_float(momentum, "momentum")
        _core.layer_check_config("BatchNormalization", {"momentum": self.momentum})  # the core's check
        self.epsilon = check_float(epsilon, "epsilon", positive=True)
        self.center = check_bool(center, "center")
        self.scale = check_bool(scale, "scale")
        self.synchronized = check_bool(synchronized, "synchronized")
        self.renorm = False
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.beta_initializer = get_initializer(beta_initializer, "beta_initializer")
        self.gamma_initializer = get_initializer(gamma_initializer, "gamma_initializer")
        self.moving_mean_initializer = get_initializer(moving_mean_initializer, "moving_mean_initializer")
        self.moving_variance_initializer = get_initializer(moving_variance_initializer,
                                                           "moving_variance_initializer")
        self.beta_regularizer, self._breg = _get_regularizer(beta_regularizer, "beta_regularizer")
        self.gamma_regularizer, self._greg = _get_regularizer(gamma_regularizer, "gamma_regularizer")
        self.beta_constraint, self._bcon = _get_constraint(beta_constraint, 1, "beta_constraint")
        self.gamma_constraint, self._gcon = _get_constraint(gamma_constraint, 1, "gamma_constraint")

    def build(self, input_shape):
        _last_axis(self.axis, tuple(input_shape), "BatchNormalization")
        super().build(input_shape)

    def _weight_count(self, input_shape):
        # gamma, beta, moving_mean, moving_variance per feature
        return _per_feature(input_shape) * (2 + int(self.center) + int(self.scale))

    def _make_core(self):
        return _core.BatchNormalization(
            momentum=self.momentum, epsilon=self.epsilon, center=self.center, scale=self.scale,
            gamma_regularizer=self._greg, beta_regularizer=self._breg, gamma_constraint=self._gcon,
            beta_constraint=self._bcon)

    def _initializer_for(self, name):
        return {"gamma": self.gamma_initializer, "beta": self.beta_initializer,
                "moving_mean": self.moving_mean_initializer,
                "moving_variance": self.moving_variance_initializer}[name]

    gamma = property(lambda self: self._weight("gamma"),
                       doc="The scale ``Variable`` (None when ``scale=False``).")
    beta = property(lambda self: self._weight("beta"),
                      doc="The offset ``Variable`` (None when ``center=False``).")
    moving_mean = property(lambda self: self._weight("moving_mean"),
                             doc="The moving mean ``Variable`` (non-trainable; used at inference).")
    moving_variance = property(lambda self: self._weight("moving_variance"),
                                 doc="The moving variance ``Variable`` (non-trainable; used at inference).")

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": _initializers.serialize(self.beta_initializer),
            "gamma_initializer": _initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": _initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": _initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": _regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": _regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": _constraints.serialize(self.beta_constraint),
            "gamma_constraint": _constraints.serialize(self.gamma_constraint),
            "synchronized": self.synchronized,
            "renorm": self.renorm,
            "renorm_clipping": self.renorm_clipping,
            "renorm_momentum": self.renorm_momentum,
        })
        return config


class LayerNormalization(Layer):
    """``keras.layers.LayerNormalization(axis=-1, epsilon=1e-3, center=True, scale=True)``:
    each sample normalized over its features (biased variance), then gamma/beta.
    Weights: gamma, beta. Only axis=-1; rms_scaling is not supported."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        if check_bool(rms_scaling, "rms_scaling"):
            raise ValueError("LayerNormalization: rms_scaling=True is not supported by ranvier")
        _check_axis(axis, "LayerNormalization")
        super().__init__(**kwargs)
        self.axis = axis
        self.epsilon = check_float(epsilon, "epsilon", positive=True)
        self.center = check_bool(center, "center")
        self.scale = check_bool(scale, "scale")
        self.rms_scaling = False
        self.beta_initializer = get_initializer(beta_initializer, "beta_initializer")
        self.gamma_initializer = get_initializer(gamma_initializer, "gamma_initializer")
        self.beta_regularizer, self._breg = _get_regularizer(beta_regularizer, "beta_regularizer")
        self.gamma_regularizer, self._greg = _get_regularizer(gamma_regularizer, "gamma_regularizer")
        self.beta_constraint, self._bcon = _get_constraint(beta_constraint, 1, "beta_constraint")
        self.gamma_constraint, self._gcon = _get_constraint(gamma_constraint, 1, "gamma_constraint")

    def build(self, input_shape):
        _last_axis(self.axis, tuple(input_shape), "LayerNormalization")
        super().build(input_shape)

    def _weight_count(self, input_shape):
        return _per_feature(input_shape) * (int(self.center) + int(self.scale))

    def _make_core(self):
        return _core.LayerNormalization(
            epsilon=self.epsilon, center=self.center, scale=self.scale, gamma_regularizer=self._greg,
            beta_regularizer=self._breg, gamma_constraint=self._gcon, beta_constraint=self._bcon)

    def _initializer_for(self, name):
        return {"gamma": self.gamma_initializer, "beta": self.beta_initializer}[name]

    gamma = property(lambda self: self._weight("gamma"),
                       doc="The scale ``Variable`` (None when ``scale=False``).")
    beta = property(lambda self: self._weight("beta"),
                      doc="The offset ``Variable`` (None when ``center=False``).")

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "rms_scaling": self.rms_scaling,
            "beta_initializer": _initializers.serialize(self.beta_initializer),
            "gamma_initializer": _initializers.serialize(self.gamma_initializer),
            "beta_regularizer": _regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": _regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": _constraints.serialize(self.beta_constraint),
            "gamma_constraint": _constraints.serialize(self.gamma_constraint),
        })
        return config
