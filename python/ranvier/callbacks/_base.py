"""The callback protocol: ``Callback``, duck-typed callbacks, ``CallbackList`` (what the
model drives), ``History`` and ``ProgbarLogger``."""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from .._progbar import Progbar
from ..plotting import plot_history as _plot_history


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
        # as Keras: one new dict, keys sorted (training and val_ keys interleaved, so the
        # History's keys come in Keras's order), shared by the callbacks in turn
        logs = _pythonify_logs(logs)
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_train_begin(self, logs=None):
        logs = {} if logs is None else logs
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def begin_training(self, initial_epoch: int) -> int:
        """``on_train_begin``, then the epoch fit starts from: ``initial_epoch``, unless a
        callback set ``model._initial_epoch`` to resume from (Keras's protocol, which
        ``BackupAndRestore`` follows; reset at every fit)."""
        model = self.model
        if model is not None:
            model._initial_epoch = None
        self.on_train_begin()
        return getattr(model, "_initial_epoch", None) or initial_epoch

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
