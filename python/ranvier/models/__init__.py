"""Models: ``Sequential`` and ``load_model``.

- ``_sequential.py``: the structure of a ``Sequential`` (add, pop, build, weights, config);
- ``_trainer.py``: training and inference (compile, fit, evaluate, predict, the data
  preparation, the C++ trainer handle), a mixin any model class can use;
- ``_saving.py``: save / load_weights / pickling, ``_save_state`` / ``_restore_state``
  (what the file formats read and restore) and ``MODEL_CLASSES``;
- ``_summary.py``: ``summary()``'s table;
- ``_guards.py``: structural changes refused while the model runs.
"""
from __future__ import annotations

import importlib
from typing import Any

from .. import _model_io
from ._saving import MODEL_CLASSES, model_classes
from ._sequential import _SHARED_BINDING_LOCK, Sequential  # noqa: F401

__all__ = ["Sequential", "Model", "load_model", "model_from_json"]

def __getattr__(name: str) -> Any:
    """``Model`` and ``model_from_json`` live in ``ranvier._functional`` (``Model``
    subclasses ``Sequential``, so that module imports this package, which loads it by name
    on first use: the import graph stays acyclic)."""
    if name == "Model":
        return importlib.import_module("ranvier._functional").Model
    if name == "model_from_json":
        return importlib.import_module("ranvier._functional_config").model_from_json
    raise AttributeError(f"module 'ranvier.models' has no attribute '{name}'")


def load_model(path, custom_objects=None, compile=True):
    """Loads a model saved with ``model.save(path)`` (see ``ranvier.saving.load_model``)."""
    return _model_io.load_model(path, model_classes(), custom_objects=custom_objects, compile=compile)
