"""``fit`` / ``evaluate`` / ``predict`` over a data source, one batch at a time, with the
same callbacks, History, progress bar, ``class_weight`` and validation as the array path."""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from .. import _checks, _core
from .. import callbacks as callbacks_module
from ._adapters import _Adapter, _PyDatasetAdapter, is_data_source, make_adapter, to_numpy, unpack_batch
from ._epochs import EpochIterator


# ----------------------------------------------------------------------------- the loops
def _structured(model, x, y, sw, what: str) -> Tuple[Any, Any, Any]:
    """A functional model's batches may hold x and y in the structure of its inputs and
    outputs (a dict keyed by name, a list of one): the arrays themselves."""
    unwrap = getattr(model, "_unwrap_xy", None)
    if unwrap is not None:
        x, y = unwrap(x, y, what)
    return x, y, sw


def _batch_converter(model, what: str, need_y: bool, class_weight) -> Callable[[Any], Tuple]:
    def convert(batch):
        x, y, sw = _structured(model, *unpack_batch(batch, what), what)
        x = model._input_rows(to_numpy(x, "x", what), "x", what)
        x = model._check_input(x, "x", what)
        _checks.check_finite(x, "x", what)
        if not need_y:
            return x, None, None
        if y is None:
            raise ValueError(f"{what}: the batches have no targets; each batch must be a tuple (x, y) or "
                             f"(x, y, sample_weight)")
        y = model._prepare_y(to_numpy(y, "y", what), x.shape[0], what)
        sw = model._prepare_sample_weight(to_numpy(sw, "sample_weight", what), x.shape[0], what)
        if class_weight is not None:
            if sw is not None:
                raise ValueError(f"{what}: you cannot specify `class_weight` and `sample_weight` at the same "
                                 f"time (the batches carry sample weights)")
            sw = model._class_weight_to_sample_weight(class_weight, y)
        return x, y, sw

    return convert


def _first_batch_setup(model, adapter: _Adapter, what: str, need_y: bool) -> None:
    """Builds the model and resolves the loss and metrics from the first batch."""
    x, y, _ = _structured(model, *unpack_batch(adapter.peek(what), what), what)
    x = model._input_rows(to_numpy(x, "x", what), "x", what)
    model._ensure_built(x)
    model._check_input(x, "x", what)
    if need_y:
        if y is None:
            raise ValueError(f"{what}: the batches have no targets; each batch must be a tuple (x, y) or "
                             f"(x, y, sample_weight)")
        y = to_numpy(y, "y", what)
        model._resolve_loss(np.shape(y))
        yy = model._prepare_y(y, x.shape[0], what)
        model._resolve_metrics(yy.shape if model._loss_kind not in ("sparse_categorical_crossentropy",)
                               else (yy.shape[0],))


def _depth(adapter: _Adapter) -> int:
    if isinstance(adapter, _PyDatasetAdapter):
        return max(2, min(adapter.max_queue_size, 16))
    return 4


class _Reporter:
    """Calls ``on_<kind>_batch_end`` for every batch (batch hooks) or at most every 0.05 s
    (a live progress bar), and for the last batch of the epoch in any case, so the bar's
    count is right even when its target was unknown."""

    def __init__(self, cbs, kind: str, enabled: bool = True):
        self.cbs = cbs
        self.kind = kind
        self.hooks = enabled and cbs.needs_batch_hooks(kind)
        self.progress = enabled and cbs.wants_batch_progress(kind)
        self._last_t = 0.0
        self._reported = -1
        self._pending: Optional[Tuple[int, Callable[[], Dict[str, Any]]]] = None

    def begin(self, step: int) -> None:
        if self.hooks:
            getattr(self.cbs, f"on_{self.kind}_batch_begin")(step)

    def end(self, step: int, logs: Callable[[], Dict[str, Any]]) -> None:
        now = time.monotonic()
        if self.hooks or (self.progress and now - self._last_t >= 0.05):
            self._last_t = now
            self._reported = step
            self._pending = None
            getattr(self.cbs, f"on_{self.kind}_batch_end")(step, logs())
        elif self.progress:
            self._pending = (step, logs)

    def finish(self) -> None:
        if self._pending is not None:
            step, logs = self._pending
            self._pending = None
            getattr(self.cbs, f"on_{self.kind}_batch_end")(step, logs())
        self._reported = -1


def _run_test(model, trainer, it: "EpochIterator", cbs, progress_ok: bool = True) -> Dict[str, float]:
    """One pass of evaluation over ``it`` with the test batch hooks; returns the logs."""
    rep = _Reporter(cbs, "test")
    if not progress_ok:
        rep.progress = False
    trainer.reset_metrics()
    for step, (x, y, sw) in it.epoch():
        rep.begin(step)
        trainer.evaluate(x, y, sw, x.shape[0], reset=False)
        rep.end(step, lambda: model._logs(trainer))
    rep.finish()
    return model._logs(trainer)


def prepare_validation(model, validation_data, batch_size: int, validation_steps: Optional[int]):
    """fit's ``validation_data``, ready to run once per validating epoch: None, a tuple
    ``(x, y, sample_weight, batch_size)`` of checked arrays (capped to
    ``validation_steps`` batches), or an ``EpochIterator`` over a generator / dataset
    (built once per fit and reset before each validation, as Keras caches it)."""
    what = "fit"
    if validation_data is None:
        return None
    if validation_steps is not None and (not _checks.is_int(validation_steps) or validation_steps < 1):
        raise ValueError(f"fit: validation_steps must be a positive int or None, got {validation_steps!r}")
    if is_data_source(validation_data):
        adapter = make_adapter(validation_data, None, None, what=what)
        return EpochIterator(adapter, validation_steps, _batch_converter(model, what, True, None),
                             _depth(adapter))
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise ValueError("fit: validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
                         f"sample_weight_val), or a generator / dataset of such batches; got "
                         f"{type(validation_data).__name__}"
                         + (f" of length {len(validation_data)}" if isinstance(validation_data, (tuple, list))
                            else ""))
    vx, vy = validation_data[0], validation_data[1]
    vsw = validation_data[2] if len(validation_data) == 3 else None
    vx = model._check_input(model._input_rows(vx, "x_val", what), "x_val", what)
    _checks.check_finite(vx, "x_val", what)
    vy = model._prepare_y(vy, vx.shape[0], what, "y_val")
    vsw = model._prepare_sample_weight(vsw, vx.shape[0], what)
    n = cap_rows(vx.shape[0], batch_size, validation_steps)
    if n < vx.shape[0]:
        vx, vy = vx[:n], vy[:n]
        vsw = None if vsw is None else vsw[:n]
    return (vx, vy, vsw, int(batch_size))


def run_validation(model, trainer, val, cbs) -> Dict[str, float]:
    """One validation inside fit, as Keras's ``evaluate(..., callbacks=<fit's list>)``:
    ``on_test_begin``, the test batch hooks, ``on_test_end(logs)`` with unprefixed keys;
    returns the ``val_`` logs."""
    cbs.on_test_begin()
    if isinstance(val, EpochIterator):
        val.reset()
        logs = _run_test(model, trainer, val, cbs, progress_ok=False)
    else:
        vx, vy, vsw, bs = val
        # batch by batch when a callback hooks test batches (not for DataParallel's trainer,
        # which shards one whole-set evaluate over the ranks)
        if cbs.needs_batch_hooks("test") and isinstance(trainer, _core.Trainer):
            trainer.reset_metrics()
            for i, s in enumerate(range(0, vx.shape[0], bs)):
                cbs.on_test_batch_begin(i)
                trainer.evaluate(vx[s:s + bs], vy[s:s + bs], None if vsw is None else vsw[s:s + bs], bs,
                                 reset=False)
                cbs.on_test_batch_end(i, model._logs(trainer))
        else:
            trainer.evaluate(vx, vy, vsw, bs)
        logs = model._logs(trainer)
    cbs.on_test_end(dict(logs))
    return {"val_" + k: v for k, v in logs.items()}


def fit(model, x, y, sample_weight, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
        class_weight, initial_epoch, steps_per_epoch, validation_steps, validation_batch_size,
        validation_freq):
    """``Sequential.fit`` for a non-array ``x`` (arguments already checked by the model)."""

    what = "fit"
    if validation_split:
        raise ValueError("fit: validation_split is only supported for NumPy arrays (or array-likes); "
                         f"with a {type(x).__name__} pass validation_data instead")
    adapter = make_adapter(x, y, sample_weight, what=what, shuffle=shuffle, class_weight=class_weight,
                           for_fit=True)
    _first_batch_setup(model, adapter, what, need_y=True)
    convert = _batch_converter(model, what, True, class_weight)
    train_it = EpochIterator(adapter, steps_per_epoch, convert, _depth(adapter))
    val = prepare_validation(model, validation_data, validation_batch_size or batch_size or 32, validation_steps)
    trainer = model._get_trainer()
    ok = False
    try:
        with model._using_trainer("fit", nested_ok=False):
            train_it.reset()
            cbs = callbacks_module.CallbackList(
                callbacks, add_history=True, add_progbar=verbose != 0, model=model,
                verbose=verbose, epochs=epochs, steps=train_it.steps_for_progress)
            history = cbs.history
            model.history = history
            python_lr = model.optimizer._needs_python_lr()
            model.stop_training = False
            initial_epoch = cbs.begin_training(initial_epoch)  # on_train_begin; BackupAndRestore may resume
            training_logs: Optional[Dict[str, float]] = None
            for epoch in range(initial_epoch, epochs):
                trainer.reset_metrics()
                cbs.on_epoch_begin(epoch)
                rep = _Reporter(cbs, "train")
                for step, (bx, by, bsw) in train_it.epoch():
                    rep.begin(step)
                    if python_lr:
                        model.optimizer._prepare_step()
                    trainer.train_batch(bx, by, bsw, reset=False)
                    rep.end(step, lambda: model._logs(trainer))
                    if model.stop_training:
                        break
                rep.finish()
                epoch_logs = dict(model._logs(trainer))
                if val is not None and model._should_validate(epoch, validation_freq):
                    epoch_logs.update(run_validation(model, trainer, val, cbs))
                cbs.on_epoch_end(epoch, epoch_logs)
                training_logs = epoch_logs
                if model.stop_training:
                    break
            if getattr(model.optimizer, "use_ema", False):
                model.optimizer._core.finalize_ema(model._net.params())
            cbs.on_train_end(training_logs)
            ok = True
            return history
    finally:
        train_it.close(wait=ok)
        if isinstance(val, EpochIterator):
            val.close(wait=ok)


def evaluate(model, x, batch_size, verbose, steps, callbacks, return_dict):
    """``Sequential.evaluate`` for a non-array ``x``."""

    what = "evaluate"
    adapter = make_adapter(x, None, None, what=what)
    _first_batch_setup(model, adapter, what, need_y=True)
    it = EpochIterator(adapter, steps, _batch_converter(model, what, True, None), _depth(adapter))
    trainer = model._get_trainer()
    ok = False
    try:
        with model._using_trainer("evaluate", nested_ok=True):
            it.reset()
            cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=model,
                                                verbose=verbose, epochs=1, steps=it.steps_for_progress)
            cbs.on_test_begin()
            logs = _run_test(model, trainer, it, cbs)
            cbs.on_test_end(logs)
            ok = True
            return model._format_results(logs, return_dict)
    finally:
        it.close(wait=ok)


def predict(model, x, batch_size, verbose, steps, callbacks):
    """``Sequential.predict`` for a non-array ``x``: the outputs of every batch, concatenated."""

    what = "predict"
    adapter = make_adapter(x, None, None, what=what)
    _first_batch_setup(model, adapter, what, need_y=False)
    it = EpochIterator(adapter, steps, _batch_converter(model, what, False, None), _depth(adapter))
    net = model._built_net()
    # a graph model (several inputs / outputs) predicts a batch of its own (_predict_rows) and
    # joins the batches' outputs in its outputs' structure (_join_outputs)
    run = getattr(model, "_predict_rows", None)
    cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=model,
                                        verbose=verbose, epochs=1, steps=it.steps_for_progress)
    rep = _Reporter(cbs, "predict")
    parts: List[Any] = []
    model.stop_predicting = False
    ok = False
    try:
        cbs.on_predict_begin()
        for step, (bx, _, _) in it.epoch():
            rep.begin(step)
            out = run(bx) if run is not None else net.predict(bx, max(1, bx.shape[0]))
            parts.append(out)
            rep.end(step, lambda out=out: {"outputs": out})
            if getattr(model, "stop_predicting", False):
                break
        rep.finish()
        cbs.on_predict_end()
        ok = True
    finally:
        it.close(wait=ok)
    if not parts:
        raise ValueError("predict: the input yielded no batch (an exhausted generator?)")
    if run is not None:
        return model._join_outputs(parts)
    out = np.concatenate(parts, axis=0)
    shaped = getattr(model, "_shaped_output", None)
    return shaped(out) if shaped is not None else out


def cap_rows(n: int, batch_size: int, steps: Optional[int]) -> int:
    """How many rows ``steps`` batches of ``batch_size`` cover (arrays with ``steps``)."""
    if steps is None:
        return n
    return min(n, int(steps) * int(batch_size))
