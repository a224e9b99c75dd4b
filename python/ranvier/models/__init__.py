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

__all__ = ["Sequential", "Model", "clone_model", "load_model", "save_model", "model_from_json"]

def __getattr__(name: str) -> Any:
    """``Model`` and ``model_from_json`` live in ``ranvier._functional`` (``Model``
    subclasses ``Sequential``, so that module imports this package, which loads it by name
    on first use: the import graph stays acyclic)."""
    if name == "Model":
        return importlib.import_module("ranvier._functional").Model
    if name == "model_from_json":
        return importlib.import_module("ranvier._functional_config").model_from_json
    raise AttributeError(f"module 'ranvier.models' has no attribute '{name}'")


def load_model(path, custom_objects=None, compile=True, safe_mode=True):
    """Loads a model saved with ``model.save(path)`` (see ``ranvier.saving.load_model``)."""
    return _model_io.load_model(path, model_classes(), custom_objects=custom_objects, compile=compile,
                                safe_mode=safe_mode)


def save_model(model, filepath, overwrite=True, **kwargs):
    """Keras's ``keras.models.save_model(model, filepath)``: ``model.save(filepath)`` (see
    ``ranvier.saving.save_model``)."""
    model.save(filepath, overwrite=overwrite, **kwargs)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None, recursive=False, **kwargs):
    """Keras's ``keras.models.clone_model``: a new model of the same architecture (the same
    layer names and configs) with new, freshly initialized weights; nothing is shared with
    ``model``. ``clone_function(layer)`` makes each new layer of a ``Sequential`` (default:
    ``layer.__class__.from_config(layer.get_config())``; with ``recursive=True`` a nested
    model is cloned with it too, else it is passed to it). ``input_tensors``: new
    ``ranvier.Input`` tensor(s) to build the clone on. ``call_function`` is not supported
    (ranvier's layers run in C++), nor ``clone_function`` for a functional model."""
    if kwargs:
        raise TypeError(f"clone_model got unexpected arguments: {', '.join(sorted(kwargs))}")
    if not isinstance(model, Sequential):
        raise TypeError(f"clone_model: expected a ranvier model (Sequential or Model), got {type(model).__name__}")
    if call_function is not None:
        raise NotImplementedError("clone_model: call_function is not supported (ranvier runs the layers' calls in "
                                  "C++); clone the model, then rewire it with the functional API")
    functional = importlib.import_module("ranvier._functional")
    if isinstance(model, functional.Model):
        if clone_function is not None:
            raise NotImplementedError("clone_model: clone_function is supported for Sequential models only; for a "
                                      "functional model, clone it without one (the same configs, new weights)")
        clone = functional.Model.from_config(model.get_config())
        if input_tensors is None:
            return clone
        outputs = clone(input_tensors)
        return functional.Model(input_tensors, outputs, name=model.name)
    if clone_function is None:
        def clone_function(layer):
            if isinstance(layer, Sequential):
                return clone_model(layer)
            return layer.__class__.from_config(layer.get_config())
    elif not callable(clone_function):
        raise TypeError(f"clone_model: clone_function must be callable, got {type(clone_function).__name__}")
    new_layers = []
    for layer in model.layers:
        if isinstance(layer, Sequential) and recursive:
            new_layers.append(clone_model(layer, clone_function=clone_function, recursive=True))
        else:
            new_layers.append(clone_function(layer))
    if input_tensors is not None:
        tensors = input_tensors if isinstance(input_tensors, (list, tuple)) else [input_tensors]
        if len(tensors) != 1:
            raise ValueError(f"clone_model: a Sequential takes one input tensor, got {len(tensors)}")
        first = [tensors[0]]
    elif model._input_shape is not None:
        from .. import layers as layers_module
        first = [layers_module.Input(shape=tuple(model._input_shape[1:]))]
    else:
        first = []
    return Sequential(first + new_layers, name=model.name, trainable=model.trainable)
