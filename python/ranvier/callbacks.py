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
"""
from __future__ import annotations

import collections.abc
import csv
import os
import time
import warnings
from typing import Any, Callable, Dict, List, Optional

import numpy as np

from . import _checks
from ._progbar import Progbar
from .plotting import plot_history as _plot_history  # History.plot (matplotlib imported lazily)

__all__ = [
    "Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping", "ModelCheckpoint",
    "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger", "TerminateOnNaN", "LambdaCallback",
    "TensorBoard",
]


def _default(fn):
    """Marks a base-class hook as "does nothing" so overrides can be detected."""
    fn._is_default = True
    return fn


def _print(msg: str) -> None:
    print(msg, flush=True)


_BATCH_HOOKS = {
    "train": ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"),
    "test": ("on_test_batch_begin", "on_test_batch_end"),
    "predict": ("on_predict_batch_begin", "on_predict_batch_end"),
}


class Callback:
    """Base class of callbacks: override any ``on_*`` hook.

    Attributes: ``params`` (dict: verbose, epochs, steps), ``model``.
    """

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        """Stores the run's parameters (``verbose``, ``epochs``, ``steps``) as ``self.params``."""
        self.params = params

    def set_model(self, model):
        """Stores the model being trained as ``self.model``."""
        self._model = model

    @property
    def model(self):
        """The model this callback is attached to (None before ``fit`` sets it)."""
        return self._model

    @model.setter
    def model(self, value):
        self._model = value

    def _requires_batch_hooks(self, kind: str) -> bool:
        """True when this callback must see every ``kind`` batch (a batch hook is overridden)."""
        for name in _BATCH_HOOKS[kind]:
            if not getattr(getattr(self, name, None), "_is_default", False):
                return True
        return False

    def _wants_batch_progress(self, kind: str) -> bool:
        """True when periodic (rate-limited) batch-end calls are useful to this callback."""
        return False

    @_default
    def on_batch_begin(self, batch, logs=None):
        """Alias of on_train_batch_begin (called from it)."""

    @_default
    def on_batch_end(self, batch, logs=None):
        """Alias of on_train_batch_end (called from it)."""

    @_default
    def on_epoch_begin(self, epoch, logs=None):
        """Start of an epoch (training only)."""

    @_default
    def on_epoch_end(self, epoch, logs=None):
        """End of an epoch: logs hold the epoch's results and ``val_`` results."""

    @_default
    def on_train_batch_begin(self, batch, logs=None):
        """Start of a training batch (calls ``on_batch_begin``). ``fit`` runs batches in C++
        and calls batch hooks for every batch only when a callback overrides one."""
        self.on_batch_begin(batch, logs=logs)

    @_default
    def on_train_batch_end(self, batch, logs=None):
        """End of a training batch (calls ``on_batch_end``); ``logs`` hold the running
        loss and metrics of the epoch so far."""
        self.on_batch_end(batch, logs=logs)

    @_default
    def on_test_batch_begin(self, batch, logs=None):
        """Start of a batch in evaluate (and fit's validation)."""

    @_default
    def on_test_batch_end(self, batch, logs=None):
        """End of a batch in evaluate (and fit's validation)."""

    @_default
    def on_predict_batch_begin(self, batch, logs=None):
        """Start of a batch in predict."""

    @_default
    def on_predict_batch_end(self, batch, logs=None):
        """End of a batch in predict."""

    @_default
    def on_train_begin(self, logs=None):
        """Start of fit."""

    @_default
    def on_train_end(self, logs=None):
        """End of fit."""

    @_default
    def on_test_begin(self, logs=None):
        """Start of evaluate or of fit's validation."""

    @_default
    def on_test_end(self, logs=None):
        """End of evaluate or of fit's validation."""

    @_default
    def on_predict_begin(self, logs=None):
        """Start of predict."""

    @_default
    def on_predict_end(self, logs=None):
        """End of predict."""


_HOOKS = ("on_batch_begin", "on_batch_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
          "on_train_batch_end", "on_test_batch_begin", "on_test_batch_end", "on_predict_batch_begin",
          "on_predict_batch_end", "on_train_begin", "on_train_end", "on_test_begin", "on_test_end",
          "on_predict_begin", "on_predict_end")


def _is_duck_callback(obj) -> bool:
    """An object from another library that can act as a callback: it has Keras's
    ``set_model`` or at least one ``on_*`` hook."""
    return callable(getattr(obj, "set_model", None)) or any(callable(getattr(obj, h, None)) for h in _HOOKS)


def _overrides(obj, name: str) -> bool:
    """Whether ``obj`` really implements hook ``name``: not absent and not the no-op of a
    Keras / tf.keras base ``Callback`` class."""
    if name in vars(obj) if hasattr(obj, "__dict__") else False:
        return callable(vars(obj)[name])
    for klass in type(obj).__mro__:
        if name in vars(klass):
            mod = getattr(klass, "__module__", "") or ""
            return not (klass.__name__ == "Callback" and mod.startswith(("keras", "tf_keras", "tensorflow")))
    return False


class _DuckCallback(Callback):
    """Wraps a callback that is not a ranvier ``Callback``: a subclass of Keras's
    ``keras.callbacks.Callback`` from another library, or any object implementing some of
    its hooks. Each hook it implements is called with Keras's arguments; ``set_model`` /
    ``set_params`` are called when it has them (else ``model`` / ``params`` are set)."""

    def __init__(self, target):
        super().__init__()
        self.target = target

    @classmethod
    def wrap(cls, target) -> "_DuckCallback":
        if not _is_duck_callback(target):
            raise TypeError(
                f"callbacks must be callback objects (ranvier.callbacks.Callback, keras.callbacks.Callback, or "
                f"any object with Keras's hooks such as on_epoch_end(epoch, logs)), got {type(target).__name__}")
        return cls(target)

    def set_params(self, params):
        super().set_params(params)
        fn = getattr(self.target, "set_params", None)
        if callable(fn):
            fn(params)
        else:
            try:
                self.target.params = params
            except AttributeError:
                pass

    def set_model(self, model):
        super().set_model(model)
        fn = getattr(self.target, "set_model", None)
        if callable(fn):
            fn(model)
        else:
            try:
                self.target.model = model
            except AttributeError:
                pass

    def _requires_batch_hooks(self, kind: str) -> bool:
        return any(_overrides(self.target, name) for name in _BATCH_HOOKS[kind])

    def _call(self, name: str, *args, **kwargs) -> None:
        if _overrides(self.target, name) or name in ("on_train_batch_begin", "on_train_batch_end"):
            fn = getattr(self.target, name, None)
            if callable(fn):
                fn(*args, **kwargs)
                return
        if name in ("on_train_batch_begin", "on_train_batch_end"):  # Keras's aliases
            alias = getattr(self.target, name.replace("train_", ""), None)
            if callable(alias):
                alias(*args, **kwargs)

    def on_batch_begin(self, batch, logs=None):
        pass  # reached through on_train_batch_begin (Keras calls the alias from there)

    def on_batch_end(self, batch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self._call("on_train_batch_begin", batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call("on_train_batch_end", batch, logs=logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call("on_epoch_end", epoch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call("on_test_batch_begin", batch, logs=logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call("on_test_batch_end", batch, logs=logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call("on_predict_batch_begin", batch, logs=logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call("on_predict_batch_end", batch, logs=logs)

    def on_train_begin(self, logs=None):
        self._call("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._call("on_train_end", logs=logs)

    def on_test_begin(self, logs=None):
        self._call("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        self._call("on_test_end", logs=logs)

    def on_predict_begin(self, logs=None):
        self._call("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        self._call("on_predict_end", logs=logs)


def _pythonify_logs(logs) -> Dict[str, Any]:
    """Keys sorted, values converted to Python floats where possible (Keras's batch logs)."""
    out: Dict[str, Any] = {}
    for key, value in sorted((logs or {}).items()):
        if isinstance(value, dict):
            out.update(_pythonify_logs(value))
            continue
        try:
            value = float(value)
        except (TypeError, ValueError):
            pass
        out[key] = value
    return out


class CallbackList(Callback):
    """Calls each hook on every callback, in order.

    ``add_history`` appends a History unless one is given; ``add_progbar`` then appends a
    ProgbarLogger unless one is given (so History sees learning_rate etc. added by user
    callbacks, and the bar comes last). ``params`` are passed to every callback.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        if callbacks is None:
            callbacks = []
        elif isinstance(callbacks, Callback) and not isinstance(callbacks, CallbackList):
            callbacks = [callbacks]
        elif not isinstance(callbacks, (list, tuple)) and _is_duck_callback(callbacks):
            callbacks = [callbacks]
        self.callbacks: List[Callback] = [cb if isinstance(cb, Callback) else _DuckCallback.wrap(cb)
                                          for cb in callbacks]
        self._history: Optional[History] = None
        self._progbar: Optional[ProgbarLogger] = None
        for cb in self.callbacks:
            if isinstance(cb, ProgbarLogger):
                self._progbar = cb
            elif isinstance(cb, History):
                self._history = cb
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        self.set_model(model)
        self.set_params(params)

    @property
    def history(self) -> Optional["History"]:
        """The ``History`` callback in the list (added with ``add_history=True``), else None."""
        return self._history

    @property
    def progbar(self) -> Optional["ProgbarLogger"]:
        """The ``ProgbarLogger`` in the list (added with ``add_progbar=True``), else None."""
        return self._progbar

    def append(self, callback: Callback) -> None:
        """Adds ``callback`` at the end of the list."""
        self.callbacks.append(callback)

    def set_params(self, params):
        """Stores ``params`` and passes them on to every callback (when not empty)."""
        self.params = params
        if params:
            for cb in self.callbacks:
                cb.set_params(params)

    def set_model(self, model):
        """Passes ``model`` on to every callback and sets ``model.history`` to the list's
        ``History`` (no-op for None)."""
        if model is None:
            return
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for cb in self.callbacks:
            cb.set_model(model)

    def needs_batch_hooks(self, kind: str = "train") -> bool:
        """True when some callback must see every ``kind`` ("train"/"test"/"predict") batch."""
        if kind not in _BATCH_HOOKS:
            raise ValueError(f"needs_batch_hooks: kind must be 'train', 'test' or 'predict', got {kind!r}")
        return any(cb._requires_batch_hooks(kind) for cb in self.callbacks)

    def wants_batch_progress(self, kind: str = "train") -> bool:
        """True when rate-limited ``on_<kind>_batch_end`` calls are useful (a live bar)."""
        if kind not in _BATCH_HOOKS:
            raise ValueError(f"wants_batch_progress: kind must be 'train', 'test' or 'predict', got {kind!r}")
        return any(cb._wants_batch_progress(kind) for cb in self.callbacks)

    def _requires_batch_hooks(self, kind: str) -> bool:
        return self.needs_batch_hooks(kind)

    def _wants_batch_progress(self, kind: str) -> bool:
        return self.wants_batch_progress(kind)

    # --- batch hooks: logs are sorted and converted to floats (a new dict)
    def on_batch_begin(self, batch, logs=None):
        logs = logs or {}
        for cb in self.callbacks:
            cb.on_batch_begin(batch, logs=logs)

    def on_batch_end(self, batch, logs=None):
        logs = _pythonify_logs(logs)
        for cb in self.callbacks:
            cb.on_batch_end(batch, logs=logs)

    def on_train_batch_begin(self, batch, logs=None):
        logs = logs or {}
        for cb in self.callbacks:
            cb.on_train_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        logs = _pythonify_logs(logs)
        for cb in self.callbacks:
            cb.on_train_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        logs = logs or {}
        for cb in self.callbacks:
            cb.on_test_batch_begin(batch, logs=logs)

    def on_test_batch_end(self, batch, logs=None):
        logs = _pythonify_logs(logs)
        for cb in self.callbacks:
            cb.on_test_batch_end(batch, logs=logs)

    def on_predict_batch_begin(self, batch, logs=None):
        logs = logs or {}
        for cb in self.callbacks:
            cb.on_predict_batch_begin(batch, logs=logs)

    def on_predict_batch_end(self, batch, logs=None):
        logs = logs or {}
        for cb in self.callbacks:
            cb.on_predict_batch_end(batch, logs=logs)

    # --- epoch / phase hooks: the SAME logs dict goes to every callback in turn, so keys a
    # callback adds (e.g. learning_rate) reach those after it (History, the bar).
    def on_epoch_begin(self, epoch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_train_begin(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_test_begin(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_test_begin(logs)

    def on_test_end(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_test_end(logs)

    def on_predict_begin(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_predict_begin(logs)

    def on_predict_end(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_predict_end(logs)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)


class History(Callback):
    """Records the logs of every epoch: ``history`` (name -> list), ``epoch`` (indices)."""

    def __init__(self):
        super().__init__()
        self.history: Dict[str, list] = {}
        self.epoch: List[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.epoch.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self

    def plot(self, metrics=None, path=None, **kwargs):  # ---- History.plot (eco): ranvier/plotting.py ----
        """Loss and metrics per epoch, ``val_`` in the same axes; see ranvier.plotting.plot_history."""
        return _plot_history(self, metrics, path, **kwargs)


class ProgbarLogger(Callback):
    """Prints the progress bar (verbose 1) or one line per epoch (verbose 2); see spec 7.6."""

    def __init__(self):
        super().__init__()
        self.seen = 0
        self.progbar: Optional[Progbar] = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        """Reads ``verbose`` ("auto" means 1), ``epochs`` and ``steps`` for the bar."""
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _requires_batch_hooks(self, kind: str) -> bool:
        if type(self)._update_progbar is not ProgbarLogger._update_progbar:
            return True
        # Its own batch hooks tolerate skipped batches; a subclass overriding them does not.
        for name in _BATCH_HOOKS[kind]:
            method = getattr(type(self), name)
            if method is not getattr(ProgbarLogger, name):
                return True
        return False

    def _wants_batch_progress(self, kind: str) -> bool:
        if self.verbose != 1:
            return False
        if kind == "test" and self._called_in_fit:
            return False
        return True

    def on_train_begin(self, logs=None):
        self._called_in_fit = True  # validation inside fit is silent

    def on_train_end(self, logs=None):
        self._called_in_fit = False

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset_progbar()
            self._maybe_init_progbar()

    def on_predict_begin(self, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()

    def on_epoch_begin(self, epoch, logs=None):
        self._reset_progbar()
        self._maybe_init_progbar()
        if self.verbose and self.epochs > 1:
            _print(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._update_progbar(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._update_progbar(batch, None)  # predictions are not shown

    def on_epoch_end(self, epoch, logs=None):
        self._finalize_progbar(logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_end(self, logs=None):
        self._finalize_progbar(logs)

    def _reset_progbar(self):
        self.seen = 0
        self.progbar = None

    def _make_progbar(self) -> Progbar:
        return Progbar(target=self.target, verbose=self.verbose, unit_name="step")

    def _maybe_init_progbar(self):
        if self.progbar is None:
            self.progbar = self._make_progbar()

    def _update_progbar(self, batch, logs=None):
        logs = logs or {}
        self._maybe_init_progbar()
        self.seen = batch + 1  # one-based
        if self.verbose == 1:
            self.progbar.update(self.seen, list(logs.items()), finalize=False)

    def _finalize_progbar(self, logs):
        logs = logs or {}
        self._maybe_init_progbar()
        if self.target is None:
            self.target = self.seen
            self.progbar.target = self.target
        self.progbar.update(self.target, list(logs.items()), finalize=True)


# ----------------------------------------------------------------------------- monitored

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


class ModelCheckpoint(_MonitorMixin, Callback):
    """Saves the model (``model.save``) or its weights (``model.save_weights``) every epoch
    or every ``save_freq`` batches, optionally only when ``monitor`` improves.

    ``filepath`` is formatted with ``epoch`` (1-based), ``batch`` (1-based, for an int
    save_freq) and the log keys, e.g. ``"ckpt-{epoch:02d}-{val_loss:.2f}.keras"``. Keras
    requires ``.keras``/``.h5`` (``.weights.h5`` for weights); ranvier writes its own
    format whatever the suffix, so any suffix is accepted. Parent folders are created.

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


# ----------------------------------------------------------------------------- others

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


class CSVLogger(Callback):
    """Streams epoch results to a CSV file: header ``epoch,<sorted keys>`` (plus ``val_<key>``
    columns, written ``NA``, when the first epoch has no ``val_`` keys); 0-based epochs."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        if not isinstance(separator, str) or len(separator) != 1:
            raise TypeError(f"CSVLogger: separator must be a one-character string, got separator={separator!r}")
        self.sep = separator
        self.filename = os.fspath(filename)
        if not isinstance(self.filename, str):
            raise TypeError(f"CSVLogger: filename must be a str or os.PathLike, got {filename!r}")
        self.append = _checks.check_bool(append, "append", "CSVLogger")
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, "r") as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.csv_file = open(self.filename, mode, newline="")
        self.writer = None
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}

        def handle_value(k):
            is_zero_dim = isinstance(k, np.ndarray) and k.ndim == 0
            if isinstance(k, str):
                return k
            if isinstance(k, collections.abc.Iterable) and not is_zero_dim:
                return f'"[{", ".join(map(str, k))}]"'
            return k

        if self.keys is None:
            self.keys = sorted(logs.keys())
            if not any(key.startswith("val_") for key in self.keys):
                self.keys.extend(["val_" + k for k in self.keys])

        if not self.writer:
            class _Dialect(csv.excel):
                delimiter = self.sep

            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys,
                                         dialect=_Dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((key, handle_value(logs.get(key, "NA"))) for key in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()
        self.writer = None


class TerminateOnNaN(Callback):
    """Stops training (or raises RuntimeError) when the running loss is NaN or infinite."""

    def __init__(self, raise_error: bool = False):
        super().__init__()
        self.raise_error = _checks.check_bool(raise_error, "raise_error", "TerminateOnNaN")

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        loss = logs.get("loss")
        if loss is not None and (np.isnan(loss) or np.isinf(loss)):
            if self.raise_error:
                raise RuntimeError(
                    f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                    "Terminating training immediately.")
            _print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback built from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``;
    any other hook may be given as a keyword (``on_test_end=fn``)."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None,
                 on_train_end=None, on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_train_begin=on_train_begin,
                     on_train_end=on_train_end, on_train_batch_begin=on_train_batch_begin,
                     on_train_batch_end=on_train_batch_end, **kwargs)
        for name, fn in hooks.items():
            if name.startswith("on_"):
                _checks.check_callable(fn, name, "LambdaCallback", none_ok=True)
        self.__dict__.update({k: v for k, v in kwargs.items() if v is not None})
        if on_epoch_begin is not None:
            self.on_epoch_begin = on_epoch_begin
        if on_epoch_end is not None:
            self.on_epoch_end = on_epoch_end
        if on_train_begin is not None:
            self.on_train_begin = on_train_begin
        if on_train_end is not None:
            self.on_train_end = on_train_end
        if on_train_batch_begin is not None:
            self.on_train_batch_begin = on_train_batch_begin
        if on_train_batch_end is not None:
            self.on_train_batch_end = on_train_batch_end


# ----------------------------------------------------------------------------- TensorBoard
class TensorBoard(Callback):
    """Writes TensorBoard logs (Keras 3's names and steps; needs the ``tensorboard``
    package: ``pip install tensorboard``, or ``pip install ".[tensorboard]"`` in a checkout).

    ``TensorBoard(log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
    write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
    embeddings_metadata=None)``. Event files go to ``<log_dir>/train`` and
    ``<log_dir>/validation``:

    - every epoch end (step = epoch index): ``epoch_<key>`` for the training logs and
      ``epoch_learning_rate`` (plus ``epoch_steps_per_second`` with
      ``write_steps_per_second``) in train; the ``val_`` logs, without the prefix, in
      validation;
    - every ``on_test_end`` (fit's validation, or evaluate with this callback):
      ``evaluation_<key>_vs_iterations`` at step = the optimizer's iterations;
    - ``update_freq="batch"`` (every batch) or an int N: ``batch_<key>`` in train at the
      global 1-based batch count, every N batches;
    - ``histogram_freq=N``: a histogram of every weight, ``<model>/<layer>/<weight>/histogram``,
      every N epochs (from epoch 0).

    ``write_graph``, ``write_images``, ``profile_batch``, ``embeddings_freq`` and
    ``embeddings_metadata`` are accepted; ranvier has no graph, images, profiler or
    embedding projector to write (a non-zero profile_batch or embeddings_freq warns).
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0, embeddings_freq=0,
                 embeddings_metadata=None):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = _checks.check_int(histogram_freq, "histogram_freq", "TensorBoard", 0)
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = bool(write_steps_per_second)
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch":
            update_freq = _checks.check_int(update_freq, "update_freq", "TensorBoard", 1)
        self.update_freq = update_freq
        self.profile_batch = profile_batch
        self.embeddings_freq = embeddings_freq
        self.embeddings_metadata = embeddings_metadata
        if profile_batch not in (0, None, "0", (0, 0)) or embeddings_freq:
            warnings.warn("TensorBoard: ranvier writes scalars and histograms; profile_batch and "
                          "embeddings_freq are ignored", stacklevel=2)
        _tb_modules()  # ImportError now, not at the first epoch, when tensorboard is missing
        self._writers: Dict[str, Any] = {}
        self._global_batch = 0
        self._epoch_start = 0.0
        self._epoch_batches = 0

    def _requires_batch_hooks(self, kind: str) -> bool:
        return kind == "train" and (self.update_freq != "epoch" or self.write_steps_per_second)

    # ---- writing
    def _writer(self, which: str):
        w = self._writers.get(which)
        if w is None:
            writer_cls = _tb_modules()[0]
            w = writer_cls(os.path.join(self.log_dir, which))
            self._writers[which] = w
        return w

    def _scalar(self, which: str, tag: str, value, step: int) -> None:
        try:
            v = float(value)
        except (TypeError, ValueError):
            return  # not a scalar (a vector metric): TensorBoard scalars need one number
        _, event_pb2, summary_pb2 = _tb_modules()
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=v)])
        self._writer(which).add_event(event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary))

    def _histogram(self, tag: str, values: np.ndarray, step: int) -> None:
        _, event_pb2, summary_pb2 = _tb_modules()
        v = np.asarray(values, dtype=np.float64).ravel()
        if v.size == 0:
            return
        counts, edges = np.histogram(v, bins=30 if v.min() < v.max() else 1)
        hist = summary_pb2.HistogramProto(min=float(v.min()), max=float(v.max()), num=float(v.size),
                                          sum=float(v.sum()), sum_squares=float(np.dot(v, v)),
                                          bucket_limit=[float(e) for e in edges[1:]],
                                          bucket=[float(c) for c in counts])
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, histo=hist)])
        self._writer("train").add_event(event_pb2.Event(wall_time=time.time(), step=int(step), summary=summary))

    def _flush(self) -> None:
        for w in self._writers.values():
            w.flush()

    def _close(self) -> None:
        for w in self._writers.values():
            w.close()
        self._writers = {}

    # ---- hooks
    def on_train_begin(self, logs=None):
        self._global_batch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()
        self._epoch_batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self._global_batch += 1
        self._epoch_batches += 1
        if self.update_freq == "epoch" or self._global_batch % int(self.update_freq):
            return
        for key, value in (logs or {}).items():
            self._scalar("train", f"batch_{key}", value, self._global_batch)
        if self.write_steps_per_second:
            dt = time.time() - self._epoch_start
            if dt > 0:
                self._scalar("train", "batch_steps_per_second", self._epoch_batches / dt, self._global_batch)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        for key, value in logs.items():
            if key.startswith("val_"):
                self._scalar("validation", f"epoch_{key[4:]}", value, epoch)
            else:
                self._scalar("train", f"epoch_{key}", value, epoch)
        opt = getattr(self.model, "optimizer", None)
        if opt is not None and "learning_rate" not in logs:
            try:
                self._scalar("train", "epoch_learning_rate", float(opt.learning_rate), epoch)
            except (TypeError, ValueError, AttributeError):
                pass
        if self.write_steps_per_second:
            dt = time.time() - self._epoch_start
            steps = self._epoch_batches or (self.params or {}).get("steps") or 0
            if dt > 0 and steps:
                self._scalar("train", "epoch_steps_per_second", steps / dt, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0 and self.model is not None:
            prefix = getattr(self.model, "name", "")
            for v in getattr(self.model, "weights", []):
                path = v.path.replace(":", "_")
                tag = f"{prefix}/{path}/histogram" if prefix else f"{path}/histogram"
                self._histogram(tag, np.asarray(v), epoch)
        self._flush()

    def on_test_end(self, logs=None):
        opt = getattr(self.model, "optimizer", None)
        step = int(getattr(opt, "iterations", 0) or 0) if opt is not None else 0
        for key, value in (logs or {}).items():
            self._scalar("validation", f"evaluation_{key}_vs_iterations", value, step)
        self._flush()

    def on_train_end(self, logs=None):
        self._close()


def _tb_modules():
    """(EventFileWriter, event_pb2, summary_pb2) from the ``tensorboard`` package; an
    ImportError naming the extra when it is missing."""
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError as e:
        raise ImportError(
            "callbacks.TensorBoard needs the `tensorboard` package, an optional extra: pip install "
            f"ranvier[tensorboard] (or pip install tensorboard); the import failed with: {e}") from e
    return EventFileWriter, event_pb2, summary_pb2
