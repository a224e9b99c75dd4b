"""Models: ``Sequential`` and ``load_model``.

- ``_sequential.py``: the structure of a ``Sequential`` (add, pop, build, weights, config);
- ``_trainer.py``: training and inference (compile, fit, evaluate, predict, the data
  preparation, the C++ trainer handle), a mixin any model class can use;
- ``_summary.py``: ``summary()``'s table;
- ``_guards.py``: structural changes refused while the model runs.
"""
from __future__ import annotations

from ._sequential import Sequential

__all__ = ["Sequential", "load_model"]


def load_model(path, custom_objects=None, compile=True):
    """Loads a model saved with ``model.save(path)``."""
    from .. import saving  # lazily: the file format lives there
    return saving.load_model(path, custom_objects=custom_objects, compile=compile)
