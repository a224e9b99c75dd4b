"""Callbacks that watch a metric or drive training: ``EarlyStopping``, ``ReduceLROnPlateau``,
``ModelCheckpoint``, ``LearningRateScheduler``."""
from __future__ import annotations

import os
import warnings
from typing import Any, Callable, Optional

import numpy as np

from .. import _checks
from ._base import Callback, _print


class _MonitorMixin:
    """Keras's MonitorCallback: direction of the monitored quantity and improvement test."""

    monitor: str
    mode: str
    min_delta: float
    monitor_op: Optional[Callable[[Any, Any], bool]]

    def _init_monitor(self, monitor, mode, min_delta):
        owner = type(self).__name__
        _checks.check_str(monitor, "monitor", owner)
        _checks.check_str(mode, "mode", owner)
        min_delta = _checks.check_real(min_delta, "min_delta", owner)
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.",
                          stacklevel=3)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        if self.mode == "min":
            op = "min"
        elif self.mode == "max":
            op = "max"
        else:
            name = self.monitor[len("val_"):] if self.monitor.startswith("val_") else self.monitor
            op = "min" if name == "loss" else None
            lookup = getattr(self.model, "_metric_direction", None)
            if op is None and lookup is not None:
                found = lookup(name)
                if found in ("min", "max"):
                    op = found
            if op is None:
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but ranvier "
                    "isn't able to automatically determine whether that metric should be "
                    "maximized or minimized. Pass `mode='max'` in order to monitor based on the "
                    "highest metric value, or pass `mode='min'` in order to use the lowest value.")
        if op == "min":
            self.monitor_op = lambda a, b: bool(np.less(a, b))
            self._signed_delta = -self.min_delta
        else:
            self.monitor_op = lambda a, b: bool(np.greater(a, b))
            self._signed_delta = self.min_delta

    def _is_improvement(self, current, reference) -> bool:
        if reference is None:
            return True
        assert self.monitor_op is not None, "_set_monitor_op() runs before the first comparison"
        return self.monitor_op(current - self._signed_delta, reference)


class EarlyStopping(_MonitorMixin, Callback):
    """Stops training when ``monitor`` stops improving (spec 7.7).

    ``EarlyStopping(monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
    baseline=None, restore_best_weights=False, start_from_epoch=0)`` (Keras's defaults).
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self._init_monitor(monitor, mode, min_delta)
        self.patience = _checks.check_int(patience, "patience", "EarlyStopping")
        self.verbose = _checks.check_verbose(verbose, "EarlyStopping")
        if baseline is not None:
            _checks.check_real(baseline, "baseline", "EarlyStopping")
        self.baseline = baseline
        self.restore_best_weights = _checks.check_bool(restore_best_weights, "restore_best_weights", "EarlyStopping")
        self.start_from_epoch = _checks.check_int(start_from_epoch, "start_from_epoch", "EarlyStopping")
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            _print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                _print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        """``logs[monitor]``, or None with a warning listing the available keys."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(list(logs.keys()))}", stacklevel=2)
        return value


class ReduceLROnPlateau(_MonitorMixin, Callback):
    """Multiplies the learning rate by ``factor`` after ``patience`` epochs without
    improvement of ``monitor`` (spec 7.7); logs ``learning_rate`` each epoch.

    ``ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=10, verbose=0,
    mode="auto", min_delta=1e-4, cooldown=0, min_lr=0.0)`` (Keras's defaults).
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0, **kwargs):
        super().__init__()
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unexpected arguments {sorted(kwargs)}")
        _checks.check_real(factor, "factor", "ReduceLROnPlateau", minimum=0.0)
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        self._init_monitor(monitor, mode, min_delta)
        self.factor = factor
        self.min_lr = _checks.check_real(min_lr, "min_lr", "ReduceLROnPlateau", minimum=0.0)
        self.patience = _checks.check_int(patience, "patience", "ReduceLROnPlateau")
        self.verbose = _checks.check_verbose(verbose, "ReduceLROnPlateau")
        self.cooldown = _checks.check_int(cooldown, "cooldown", "ReduceLROnPlateau")
        self.cooldown_counter = 0
        self.wait = 0
        self.best = None

    def on_train_begin(self, logs=None):
        self.best = None
        self.wait = 0
        self.cooldown_counter = 0

    def in_cooldown(self) -> bool:
        """Whether the callback is within ``cooldown`` epochs of its last reduction."""
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = {} if logs is None else logs
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(list(logs.keys()))}.", stacklevel=2)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = float(self.model.optimizer.learning_rate)
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    self.model.optimizer.learning_rate = new_lr
                    if self.verbose > 0:
                        _print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


def _check_checkpoint_name(filepath: str, weights_only: bool) -> None:
    """Refuses, when the callback is made (as Keras does), a name whose save would be refused
    at the end of the first epoch: Keras's file names must match what is saved."""
    name = filepath.lower()
    h5 = name.endswith(".h5") or name.endswith(".hdf5")
    if weights_only and (name.endswith(".keras") or h5) and not name.endswith(".weights.h5"):
        raise ValueError("When using `save_weights_only=True` in `ModelCheckpoint`, the filepath provided must end "
                         "in `.weights.h5` (Keras weights format), or '.safetensors' for ranvier's own. "
                         f"Received: filepath={filepath}")
    if not weights_only and h5:
        raise ValueError("ModelCheckpoint: the filepath provided must end in `.keras` (Keras model format), or "
                         "'.safetensors' for ranvier's own (with save_weights_only=False; Keras's legacy .h5 "
                         f"model format is not written). Received: filepath={filepath}")


class ModelCheckpoint(_MonitorMixin, Callback):
    """Saves the model (``model.save``) or its weights (``model.save_weights``) every epoch
    or every ``save_freq`` batches, optionally only when ``monitor`` improves.

    ``filepath`` is formatted with ``epoch`` (1-based), ``batch`` (1-based, for an int
    save_freq) and the log keys, e.g. ``"ckpt-{epoch:02d}-{val_loss:.2f}.keras"``. Keras
    requires ``.keras`` (``.weights.h5`` for weights); ranvier writes its own format under
    any other suffix (documented: ``.safetensors``). A Keras name that does not match what
    is saved (``.keras`` or ``.h5`` with ``save_weights_only=True``, ``.h5`` or
    ``.weights.h5`` without) raises ValueError here, as in Keras, rather than at the first
    save. Parent folders are created.

    ``ModelCheckpoint(filepath, monitor="val_loss", verbose=0, save_best_only=False,
    save_weights_only=False, mode="auto", save_freq="epoch", initial_value_threshold=None)``
    (Keras's defaults).
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        self._init_monitor(monitor, mode, 0)
        if initial_value_threshold is not None:
            _checks.check_real(initial_value_threshold, "initial_value_threshold", "ModelCheckpoint")
        self.best = initial_value_threshold
        self.verbose = _checks.check_verbose(verbose, "ModelCheckpoint")
        self.filepath = os.fspath(filepath)
        if not isinstance(self.filepath, str):
            raise TypeError(f"ModelCheckpoint: filepath must be a str or os.PathLike, got {filepath!r}")
        self.save_best_only = _checks.check_bool(save_best_only, "save_best_only", "ModelCheckpoint")
        self.save_weights_only = _checks.check_bool(save_weights_only, "save_weights_only", "ModelCheckpoint")
        _check_checkpoint_name(self.filepath, self.save_weights_only)
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)
                                     or save_freq < 1):
            raise ValueError(
                f"Unrecognized save_freq: {save_freq!r}. Expected save_freq are 'epoch' or integer values "
                "(a number of batches >= 1)")
        self.save_freq = save_freq
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0

    def _requires_batch_hooks(self, kind: str) -> bool:
        return kind == "train" and self.save_freq != "epoch"

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model(epoch=self._current_epoch, batch=batch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        if self.save_freq == "epoch":
            self._save_model(epoch=epoch, batch=None, logs=logs)

    def _should_save_on_batch(self, batch) -> bool:
        if self.save_freq == "epoch":
            return False
        if batch <= self._last_batch_seen:  # a new epoch
            add = batch + 1
        else:
            add = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def _should_save_model(self, epoch, logs, filepath) -> bool:
        logs = logs or {}
        if not self.save_best_only:
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=2)
            return True
        if isinstance(current, np.ndarray) and current.ndim > 0:
            warnings.warn("Can save best model only when `monitor` is a scalar value. "
                          f"Received: {current}. Falling back to `save_best_only=False`.")
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        best_str = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best_str} to "
                       f"{current:.5f}, saving model to {filepath}")
            self.best = current
            return True
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best_str}")
        return False

    def _get_file_path(self, epoch, batch, logs) -> str:
        logs = logs or {}
        try:
            if batch is None or "batch" in logs:
                return self.filepath.format(epoch=epoch + 1, **logs)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **logs)
        except KeyError as e:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {e}')

    def _save_model(self, epoch, batch, logs):
        filepath = self._get_file_path(epoch, batch, logs)
        if os.path.isdir(filepath):
            raise IOError("Please specify a non-directory filepath for ModelCheckpoint. "
                          f"Filepath used is an existing directory: {filepath}")
        if self._should_save_model(epoch, logs, filepath):
            dirname = os.path.dirname(filepath)
            if dirname and not os.path.exists(dirname):
                os.makedirs(dirname, exist_ok=True)
            if self.save_weights_only:
                self.model.save_weights(filepath)
            else:
                self.model.save(filepath)
            if self.verbose > 0:
                _print(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")


class LearningRateScheduler(Callback):
    """Sets ``optimizer.learning_rate = schedule(epoch, lr)`` at each epoch start (0-based
    epoch; ``schedule(epoch)`` if the two-argument call raises TypeError)."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule = _checks.check_callable(schedule, "schedule", "LearningRateScheduler")
        self.verbose = _checks.check_verbose(verbose, "LearningRateScheduler")

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        if not hasattr(optimizer, "learning_rate"):
            raise ValueError('Optimizer must have a "learning_rate" attribute.')
        try:
            lr = float(optimizer.learning_rate)
            lr = self.schedule(epoch, lr)
        except TypeError:  # the old one-argument API
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr}")
        optimizer.learning_rate = lr
        if self.verbose > 0:
            _print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)
