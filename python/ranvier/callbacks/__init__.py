"""Callbacks with Keras 3's names, defaults and semantics.

What a callback may use of the model: ``model.stop_training``, ``model.optimizer.
learning_rate`` (a settable float; TypeError when a schedule drives it),
``model.get_weights()/set_weights()``, ``model.save(path)``, ``model.save_weights(path)``,
and ``model._metric_direction(name)`` ("max", "min" or None) for ``mode="auto"``.

How the model drives a CallbackList (the training loop runs whole epochs in C++):

- ``needs_batch_hooks(kind)`` (kind "train", "test" or "predict") is True when some
  callback overrides a batch-level hook and must see EVERY batch: the model then calls
  ``on_<kind>_batch_begin`` / ``on_<kind>_batch_end`` for each batch.
- otherwise, when ``wants_batch_progress(kind)`` is True (a live verbose=1 progress bar),
  the model calls ``on_<kind>_batch_end(batch, logs)`` at a bounded rate with the index of
  the latest finished batch and the running averages so far (batches may be skipped);
  when both are False it need not return to Python inside an epoch at all.
- epoch and train/test/predict begin/end hooks are always called.

The package: ``_base.py`` (the protocol, ``CallbackList``, ``History``, ``ProgbarLogger``),
``_monitors.py`` (``EarlyStopping``, ``ReduceLROnPlateau``, ``ModelCheckpoint``,
``LearningRateScheduler``), ``_loggers.py`` (``CSVLogger``, ``TerminateOnNaN``,
``LambdaCallback``, ``TensorBoard``), ``_backup.py`` (``BackupAndRestore``).
"""
from __future__ import annotations

from ._backup import BackupAndRestore
from ._base import Callback, CallbackList, History, ProgbarLogger
from ._loggers import CSVLogger, LambdaCallback, TensorBoard, TerminateOnNaN
from ._monitors import EarlyStopping, LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau

__all__ = [
    "Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping", "ModelCheckpoint",
    "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger", "TerminateOnNaN", "LambdaCallback",
    "TensorBoard", "BackupAndRestore",
]

for _name in __all__:  # their public home, as before the split (reprs, pickles)
    globals()[_name].__module__ = __name__
del _name
