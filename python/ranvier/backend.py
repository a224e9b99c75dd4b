"""Keras's ``keras.backend`` functions that backend-neutral scripts call: ``backend()``,
``clear_session()``, ``floatx()``, ``epsilon()``, ``image_data_format()`` and their setters
(the same functions as ``ranvier.config``), and ``is_keras_tensor``."""
from __future__ import annotations

from .config import (backend, epsilon, floatx, image_data_format, set_epsilon, set_floatx,
                     set_image_data_format)
from .utils import clear_session

__all__ = ["backend", "clear_session", "epsilon", "floatx", "image_data_format", "set_epsilon",
           "set_floatx", "set_image_data_format", "is_keras_tensor"]


def is_keras_tensor(x) -> bool:
    """Whether ``x`` is a symbolic tensor of the functional API (``keras.Input`` and what
    layers called on it return)."""
    from .layers import KerasTensor
    return isinstance(x, KerasTensor)
