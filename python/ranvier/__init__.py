"""ranvier: train neural networks (MLPs) on the CPU, fast, with a Keras-shaped API.

A Keras user's MLP script runs after ``import ranvier as keras``::

    import ranvier as keras
    model = keras.Sequential([keras.Input(shape=(20,)),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, epochs=10)

The compute core is C++ (SIMD kernels chosen at run time, OpenMP threads); this
package is the thin Python face over it. Submodules load on first use.
"""
from __future__ import annotations

import importlib
from typing import Any

from . import _core
from ._runtime import (
    build_info,
    get_num_threads,
    isa,
    set_num_threads,
    supported_isas,
)

__version__ = "0.1.0"

_SUBMODULES = (
    "activations", "callbacks", "constraints", "initializers", "layers", "losses", "metrics",
    "models", "ops", "optimizers", "regularizers", "utils", "distributed", "sklearn", "datasets",
    "mixed_precision", "saving", "config", "backend",
)
_ATTRIBUTES = {
    "Sequential": ("models", "Sequential"),
    "Model": ("models", "Model"),
    "KerasTensor": ("layers", "KerasTensor"),
    "Input": ("layers", "Input"),
    "DTypePolicy": ("mixed_precision", "DTypePolicy"),
    "load_model": ("models", "load_model"),
    # Keras 3's top-level names for the base classes (isinstance checks, subclassing)
    "Layer": ("layers", "Layer"),
    "Loss": ("losses", "Loss"),
    "Metric": ("metrics", "Metric"),
    "Optimizer": ("optimizers", "Optimizer"),
    "Initializer": ("initializers", "Initializer"),
    "Regularizer": ("regularizers", "Regularizer"),
    "FloatDTypePolicy": ("mixed_precision", "DTypePolicy"),
    # keras.Variable: constructible (Variable([1., 2.]), for optimizers driven by hand); layer
    # weights (layers.Variable views) are instances of it
    "Variable": ("_variable", "Variable"),
}

__all__ = [
    "__version__", "version", "build_info", "get_num_threads", "isa", "set_num_threads", "supported_isas",
    *_SUBMODULES, *_ATTRIBUTES,
]


def version() -> str:
    """The package's version (Keras's ``keras.version()``)."""
    return __version__


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _ATTRIBUTES:
        mod, attr = _ATTRIBUTES[name]
        return getattr(importlib.import_module(f".{mod}", __name__), attr)
    raise AttributeError(f"module 'ranvier' has no attribute '{name}'")


def __dir__():
    return sorted(set(globals()) | set(__all__))
