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
from typing import Any, Dict, Optional

import numpy as np

from .. import _registry
from . import schedules
from .base import _TABLE, Optimizer, _is_real
from . import loss_scale
from .loss_scale import LossScaleOptimizer

LossScaleOptimizer.__module__ = __name__  # public as ranvier.optimizers.LossScaleOptimizer

Optimizer.__module__ = __name__  # public as ranvier.optimizers.Optimizer

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
    "Lamb",
    "LossScaleOptimizer",
    "get",
    "serialize",
    "deserialize",
    "schedules",
]


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
        self._hyper = {"beta_1": self._unit("beta_1", beta_1, bias_corrected=True),
                       "beta_2": self._unit("beta_2", beta_2, bias_corrected=True),
                       "epsilon": self._nonneg("epsilon", epsilon), "amsgrad": self._bool("amsgrad", amsgrad)}
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)



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
        self._hyper = {"beta_1": self._unit("beta_1", beta_1, bias_corrected=True),
                       "beta_2": self._unit("beta_2", beta_2),
                       "epsilon": self._nonneg("epsilon", epsilon)}
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)



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
        self._hyper = {"beta_1": self._unit("beta_1", beta_1, bias_corrected=True),
                       "beta_2": self._unit("beta_2", beta_2, bias_corrected=True),
                       "epsilon": self._nonneg("epsilon", epsilon)}
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)



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



class Lamb(Optimizer):
    """``Lamb(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, ...)``
    (Keras's defaults; ``...`` = the common arguments of ``Optimizer``).

    Layer-wise adaptive moments: per tensor, ``m`` and ``v`` as Adam's,
    ``u = (m/(1-β₁ᵗ)) / (sqrt(v/(1-β₂ᵗ)) + ε)``, then ``w -= r·lr·u`` with the trust ratio
    ``r = ‖w‖/‖u‖`` (1 when either norm is 0)."""

    _kind = "lamb"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99,
                 ema_overwrite_frequency=None, loss_scale_factor=None, gradient_accumulation_steps=None,
                 name=None, **kwargs):
        self._hyper = {"beta_1": self._unit("beta_1", beta_1, bias_corrected=True),
                       "beta_2": self._unit("beta_2", beta_2, bias_corrected=True),
                       "epsilon": self._nonneg("epsilon", epsilon)}
        super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, clipnorm=clipnorm,
                         clipvalue=clipvalue, global_clipnorm=global_clipnorm, use_ema=use_ema,
                         ema_momentum=ema_momentum, ema_overwrite_frequency=ema_overwrite_frequency,
                         loss_scale_factor=loss_scale_factor,
                         gradient_accumulation_steps=gradient_accumulation_steps, name=name, **kwargs)


# ---------------------------------------------------------------------------------------
# The lookups derive from the C++ table: each row's Keras class name is a class here.
_CLASSES = [globals()[row[0]] for row in _TABLE.values()]
assert all(c._kind in _TABLE for c in _CLASSES)
_CLASSES.append(LossScaleOptimizer)  # a wrapper (loss_scale.py), not a rule of the table
ALL_OBJECTS_DICT = {cls.__name__.lower(): cls for cls in _CLASSES}


def _valid_names() -> str:
    return f"{', '.join(sorted(ALL_OBJECTS_DICT))} (case-insensitive)"


def serialize(optimizer) -> Dict[str, Any]:
    """``{"module", "class_name", "config", "registered_name"}`` (Keras's layout)."""
    out: Any = _registry.serialize(optimizer, kind="optimizer", base=Optimizer, builtin=tuple(_CLASSES),
                                   module="keras.optimizers", functions=False,
                                   expected="a ranvier optimizer")
    return out


def deserialize(config, custom_objects=None) -> Optimizer:
    """Rebuilds an optimizer from :func:`serialize`'s dict; class names are
    case-insensitive for the built-in optimizers. ``custom_objects`` (class names to
    classes) also rebuilds a learning-rate schedule of your own."""
    return _registry.deserialize(
        config, custom_objects, kind="optimizer", registry=ALL_OBJECTS_DICT, valid_names=_valid_names,
        get=None, fold_case=True, custom_objects_to=Optimizer,
        unknown="Could not interpret {kind} identifier: {name!r}. Valid names: {valid}",
        not_a_config="deserialize: expected a dict with 'class_name' and 'config', got {config!r}")


def get(identifier) -> Optional[Optimizer]:
    """An optimizer from a name (``"adam"``, case-insensitive: all defaults), a config dict,
    or an instance (returned unchanged). ``None`` gives ``None``; a class, as in Keras, is
    refused (write ``Adam()``)."""
    return _registry.get(identifier, kind="optimizer", base=Optimizer, registry=ALL_OBJECTS_DICT,
                         valid_names=_valid_names, deserialize=deserialize, fold_case=True,
                         classes="none", functions=False)


loss_scale.codec.update(serialize=serialize, deserialize=deserialize)
