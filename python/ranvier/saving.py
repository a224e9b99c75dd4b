"""Saving and loading models: one safetensors file per model.

File layout (``format_version`` 1)::

    [8 bytes: N, little-endian u64][N bytes: JSON header, space-padded to 8][tensor data]

The header maps each tensor name to ``{"dtype": "F32", "shape": [...], "data_offsets":
[begin, end]}`` and ``"__metadata__"`` to a string -> string map:

- ``format`` = ``"ranvier"``, ``format_version`` = ``"1"``, ``ranvier_version``,
  ``contents`` = ``"model"`` (``model.save``) or ``"weights"`` (``save_weights``);
- ``architecture``: JSON ``{"module": "keras", "class_name": "Sequential", "config":
  model.get_config()}`` (model files only);
- ``weights``: JSON list, one entry per layer in model order, ``{"name", "class_name",
  "weights": [weight names]}`` (``load_weights`` matches layers by this topology);
- ``compile_config`` (JSON, when compiled), ``optimizer`` (JSON of the optimizer's
  current serialized config), ``optimizer_state`` (JSON: raw ``iterations``,
  ``learning_rate``, extra ``scalars``, the list of ``slots``), ``train_steps`` (the
  training step counter that keys Dropout masks) and ``layer_seeds`` (JSON: the seeds of
  Dropout layers created without one), so that training resumes exactly.

Tensors: ``layers/<layer name>/<weight name>`` (e.g. ``layers/dense/kernel``) in Keras
weight order, then ``optimizer/<slot>`` (e.g. ``optimizer/momentum``,
``optimizer/velocity``: flat float32 buffers over the model's trainable parameters).

The ``safetensors`` package reads these files (``safetensors.numpy.load_file``); ranvier
itself needs only NumPy. Every file that is read goes through the C++ validator
(``ranvier._core.io_parse_header``), the same one the C++ API uses: a truncated,
corrupted or hostile file raises ValueError naming the file and the problem. Before
anything is built, every size in the metadata (each layer's weights, for the model's
input width and for the layer's own ``build_config``; metric sizes such as AUC's
``num_thresholds``; at most 2048 layers) is checked against the file and a load budget
of 64 MiB beyond the file's weights (``_core.io_check_model_metadata``); parsing is
linear in the file's size.

Files are written by the C++ writer (``ranvier::io::write_file``, bound as
``_core.io_write_safetensors``; other formats' bytes through ``ranvier::io::atomic_write``,
bound as ``_core.io_atomic_write``), the one the C++ API uses, from the arrays' own memory
with the GIL released.
Saving is atomic: the bytes go to a temporary file ``.<name>.ranvier-<pid>-<random>.tmp``
in the target's folder, which is locked while written, flushed, fsync'ed and renamed over
the target (then the folder is fsync'ed). Saving through a symbolic link writes the link's
target and keeps the link. On failure (full disk, unwritable folder) an OSError is raised,
the previous file is intact and the temporary file is removed; temporary files left by a
save that was killed (SIGKILL, SIGTERM) are removed by the next save to that folder (only
files of that name pattern that no live process holds locked). Paths may be str, bytes or
os.PathLike; an empty path is refused with ValueError.

The implementation lives in ``ranvier._model_io`` (this format and the dispatch by file
name), ``ranvier._keras_format`` / ``ranvier._keras_h5`` (Keras's formats) and
``ranvier._saving_common``; none of them imports the models, which they reach through
their public methods and ``_save_state()`` / ``_restore_state()``.
"""
from __future__ import annotations

from typing import Any, Dict

from . import _model_io
from . import models as models_module
from ._model_io import FORMAT, FORMAT_VERSION, export, model_to_bytes, save_model, save_weights
from ._model_io import load_weights
from ._serialization import deserialize_keras_object, serialize_keras_object
from ._custom_objects import (CustomObjectScope, custom_object_scope, get_custom_objects, get_registered_name,
                              get_registered_object, register_keras_serializable)

__all__ = ["save_model", "load_model", "save_weights", "load_weights", "model_to_bytes",
           "model_from_bytes", "export", "FORMAT", "FORMAT_VERSION", "register_keras_serializable",
           "get_custom_objects", "custom_object_scope", "CustomObjectScope", "get_registered_name",
           "get_registered_object", "serialize_keras_object", "deserialize_keras_object"]


def load_model(filepath, custom_objects=None, compile: bool = True, safe_mode: bool = True):
    """Loads a model written by ``model.save`` (or by the C++ API): it predicts bit for bit
    as the saved one and, with ``compile=True``, resumes training exactly where it stopped
    (optimizer slots, iterations and learning rate restored). A ``.keras`` archive (Keras 3's
    format) loads too. Raises ValueError for a file that is not a valid model (naming what
    is wrong), OSError if it cannot be read."""
    return _model_io.load_model(filepath, models_module.model_classes(), custom_objects=custom_objects,
                                compile=compile, safe_mode=safe_mode)


def model_from_bytes(blob: bytes, custom_objects=None, compile: bool = True):
    """Inverse of :func:`model_to_bytes` (validated like a file)."""
    return _model_io.model_from_bytes(blob, models_module.model_classes(), custom_objects=custom_objects,
                                      compile=compile)


def getstate(model) -> Dict[str, Any]:
    """``model.__getstate__()``: the model as the bytes of its file."""
    return model.__getstate__()


def setstate(model, state: Dict[str, Any]) -> None:
    """``model.__setstate__(state)``: rebuilds the model from :func:`getstate`'s bytes."""
    model.__setstate__(state)


def deepcopy(model, memo=None):
    """A deep copy through the file format: weights, compile config and optimizer state."""
    return model_from_bytes(model_to_bytes(model))


for _fn in (save_model, save_weights, load_weights, model_to_bytes, export):  # documented here (Sphinx)
    _fn.__module__ = __name__
del _fn
