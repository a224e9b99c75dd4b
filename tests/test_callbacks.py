"""ranvier.callbacks with a small fake model (Keras 3)."""
import math
import os
import warnings

import numpy as np
import pytest

from ranvier import callbacks as C
from ranvier import utils
from reference import metrics as R


class FakeOptimizer:
    def __init__(self, lr=0.1, schedule=False):
        self._lr = lr
        self._schedule = schedule

    @property
    def learning_rate(self):
        return self._lr

    @learning_rate.setter
    def learning_rate(self, value):
        if self._schedule:
            raise TypeError("This optimizer was created with a `LearningRateSchedule`; "
                            "its learning rate cannot be set")
        self._lr = float(value)


class FakeModel:
    """What callbacks may use of a model (see ranvier.callbacks' docstring)."""

    def __init__(self, directions=None, lr=0.1, schedule=False):
        self.stop_training = False
        self.optimizer = FakeOptimizer(lr, schedule)
        self.weights = [np.zeros((2, 2), np.float32), np.zeros(2, np.float32)]
        self.saved = []
        self._directions = directions or {}

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]

    def save(self, path):
        self.saved.append(("model", path))
        with open(path, "w") as f:
            f.write("model")

    def save_weights(self, path):
        self.saved.append(("weights", path))
        with open(path, "w") as f:
            f.write("weights")

    def _metric_direction(self, name):
        return self._directions.get(name)


def fit(model, callbacks, epoch_logs, epochs=None, steps=3, batch_logs=None, verbose=0):
    """Drives callbacks as ranvier's fit does: weights change every epoch (epoch e leaves
    every weight equal to e + 1); epoch_logs[e] is epoch e's logs."""
    epochs = len(epoch_logs) if epochs is None else epochs
    cbl = C.CallbackList(callbacks, add_history=True, add_progbar=verbose != 0, model=model,
                         verbose=verbose, epochs=epochs, steps=steps)
    model.stop_training = False
    cbl.on_train_begin()
    logs = None
    for epoch in range(epochs):
        cbl.on_epoch_begin(epoch)
        for batch in range(steps):
            if cbl.needs_batch_hooks("train"):
                cbl.on_train_batch_begin(batch)
                blogs = batch_logs(epoch, batch) if batch_logs else {"loss": 1.0}
                cbl.on_train_batch_end(batch, blogs)
            if model.stop_training:
                break
        model.weights = [np.full_like(w, epoch + 1) for w in model.weights]
        logs = dict(sorted(epoch_logs[epoch].items()))
        cbl.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbl.on_train_end(logs)
    return cbl.history


LOSSES = [10, 9, 8, 9, 8.9, 8.8, 8.7, 8.6, 8.5, 8.4]


def _loss_logs(values, key="loss"):
    return [{key: float(v)} for v in values]


# ----------------------------------------------------------------------------- History / list

def test_history_params_epochs_and_model_attribute():
    model = FakeModel()
    hist = fit(model, [], [{"loss": 1.0, "mae": 2.0}, {"loss": 0.5, "mae": 1.5}], steps=7)
    assert isinstance(hist, C.History) and model.history is hist
    assert hist.history == {"loss": [1.0, 0.5], "mae": [2.0, 1.5]}
    assert hist.epoch == [0, 1]
    assert hist.params == {"verbose": 0, "epochs": 2, "steps": 7}


def test_callback_order_user_then_history_then_progbar():
    user = C.Callback()
    cbl = C.CallbackList([user], add_history=True, add_progbar=True, verbose=1, epochs=1, steps=1)
    assert cbl.callbacks[0] is user
    assert isinstance(cbl.callbacks[1], C.History) and isinstance(cbl.callbacks[2], C.ProgbarLogger)
    own = C.History()
    cbl = C.CallbackList([own], add_history=True)
    assert cbl.history is own and len(cbl) == 1
    with pytest.raises(TypeError):
        C.CallbackList([object()])


def test_every_hook_is_called_in_order_and_aliases_forward():
    calls = []

    class Recorder(C.Callback):
        def __getattribute__(self, name):
            attr = object.__getattribute__(self, name)
            if name.startswith("on_") and callable(attr):
                def wrapped(*args, **kwargs):
                    calls.append(name)
                    return attr(*args, **kwargs)
                return wrapped
            return attr

    cbl = C.CallbackList([Recorder()])
    cbl.on_train_begin()
    cbl.on_epoch_begin(0)
    cbl.on_train_batch_begin(0)
    cbl.on_train_batch_end(0, {"loss": 1})
    cbl.on_test_begin()
    cbl.on_test_batch_begin(0)
    cbl.on_test_batch_end(0)
    cbl.on_test_end()
    cbl.on_epoch_end(0, {})
    cbl.on_train_end()
    cbl.on_predict_begin()
    cbl.on_predict_batch_begin(0)
    cbl.on_predict_batch_end(0)
    cbl.on_predict_end()
    # the default train-batch hooks forward to the on_batch_* aliases
    assert calls == ["on_train_begin", "on_epoch_begin", "on_train_batch_begin", "on_batch_begin",
                     "on_train_batch_end", "on_batch_end",
                     "on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_end",
                     "on_epoch_end", "on_train_end", "on_predict_begin", "on_predict_batch_begin",
                     "on_predict_batch_end", "on_predict_end"]

    seen = []

    class Legacy(C.Callback):  # overrides only the old aliases
        def on_batch_begin(self, batch, logs=None):
            seen.append(("begin", batch))

        def on_batch_end(self, batch, logs=None):
            seen.append(("end", batch, logs))

    cbl = C.CallbackList([Legacy()])
    cbl.on_train_batch_begin(3)
    cbl.on_train_batch_end(3, {"loss": np.float32(0.5), "acc": 1})
    assert seen == [("begin", 3), ("end", 3, {"acc": 1.0, "loss": 0.5})]  # sorted, floats


def test_needs_batch_hooks_per_kind():
    class TrainBatch(C.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    class Alias(C.Callback):
        def on_batch_begin(self, batch, logs=None):
            pass

    class TestBatch(C.Callback):
        def on_test_batch_begin(self, batch, logs=None):
            pass

    class EpochOnly(C.Callback):
        def on_epoch_end(self, epoch, logs=None):
            pass

    def needs(cbs, verbose=0):
        cbl = C.CallbackList(cbs, add_history=True, add_progbar=verbose != 0, verbose=verbose,
                             epochs=2, steps=5)
        return tuple(cbl.needs_batch_hooks(k) for k in ("train", "test", "predict"))

    assert needs([]) == (False, False, False)
    assert needs([], verbose=1) == (False, False, False)  # the bar tolerates skipped batches
    assert needs([EpochOnly(), C.EarlyStopping(), C.CSVLogger("x.csv"), C.ReduceLROnPlateau(),
                  C.LearningRateScheduler(lambda e: 0.1), C.ModelCheckpoint("m.keras")]) == (False,) * 3
    assert needs([TrainBatch()]) == (True, False, False)
    assert needs([Alias()]) == (True, False, False)
    assert needs([TestBatch()]) == (False, True, False)
    assert needs([C.TerminateOnNaN()]) == (True, False, False)
    assert needs([C.ModelCheckpoint("m-{batch}.keras", save_freq=10)]) == (True, False, False)
    assert needs([C.LambdaCallback(on_epoch_end=lambda e, l: None)]) == (False, False, False)
    assert needs([C.LambdaCallback(on_train_batch_end=lambda b, l: None)]) == (True, False, False)
    assert needs([C.LambdaCallback(on_predict_batch_end=lambda b, l: None)]) == (False, False, True)

    class MyBar(C.ProgbarLogger):
        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)

    assert needs([MyBar()], verbose=1) == (True, False, False)
    with pytest.raises(ValueError):
        C.CallbackList([]).needs_batch_hooks("validate")


def test_wants_batch_progress():
    cbl = C.CallbackList([], add_progbar=True, verbose=1, epochs=1, steps=3)
    assert cbl.wants_batch_progress("train") and cbl.wants_batch_progress("predict")
    assert cbl.wants_batch_progress("test")      # evaluate shows a bar
    cbl.on_train_begin()
    assert not cbl.wants_batch_progress("test")  # fit's validation is silent
    assert not C.CallbackList([], add_progbar=True, verbose=2, epochs=1).wants_batch_progress("train")
    assert not C.CallbackList([], add_history=True).wants_batch_progress("train")


# ----------------------------------------------------------------------------- EarlyStopping

@pytest.mark.parametrize("patience", [0, 1, 2, 3, 4])
def test_early_stopping_stop_epoch(patience):
    model = FakeModel()
    es = C.EarlyStopping(monitor="loss", patience=patience)
    hist = fit(model, [es], _loss_logs(LOSSES))
    stop = max(patience, 1) + 2  # spec: with [10, 9, 8, 9, 8.9, 8.8, ...]
    assert es.stopped_epoch == stop
    assert len(hist.history["loss"]) == stop + 1 and hist.epoch[-1] == stop
    assert model.stop_training


def test_early_stopping_restore_best_weights_even_without_stopping():
    model = FakeModel()
    es = C.EarlyStopping(monitor="loss", patience=10, restore_best_weights=True)
    fit(model, [es], _loss_logs(LOSSES[:6]))  # runs to the end: no stop
    assert es.stopped_epoch == 0
    assert es.best_epoch == 2
    assert all(np.all(w == 3) for w in model.weights)  # weights at the end of epoch index 2

    model = FakeModel()
    es = C.EarlyStopping(monitor="loss", patience=1, restore_best_weights=True)
    fit(model, [es], _loss_logs(LOSSES))
    assert es.stopped_epoch == 3 and all(np.all(w == 3) for w in model.weights)


def test_early_stopping_min_delta_baseline_start_from_epoch_and_verbose(capsys):
    es = C.EarlyStopping(monitor="loss", min_delta=-1.5)  # sign ignored
    fit(FakeModel(), [es], _loss_logs([10, 9, 8]))
    assert es.stopped_epoch == 1  # 9 + 1.5 is not < 10

    # baseline 5 is never beaten: wait keeps growing; improvements still return early
    es = C.EarlyStopping(monitor="loss", patience=2, baseline=5)
    fit(FakeModel(), [es], _loss_logs(LOSSES))
    assert es.stopped_epoch == 3

    # warm-up: epochs before start_from_epoch are not monitored (epoch 3's 9 > 8 is ignored)
    warm = [10, 9, 8, 9, 8.9, 9.5, 8.0]
    es = C.EarlyStopping(monitor="loss", start_from_epoch=4)
    fit(FakeModel(), [es], _loss_logs(warm))
    assert es.stopped_epoch == 5 and es.best == 8.9 and es.best_epoch == 4
    es = C.EarlyStopping(monitor="loss")
    fit(FakeModel(), [es], _loss_logs(warm))
    assert es.stopped_epoch == 3

    es = C.EarlyStopping(monitor="loss", verbose=1, restore_best_weights=True)
    fit(FakeModel(), [es], _loss_logs(LOSSES))
    out = capsys.readouterr().out
    assert "Epoch 4: early stopping" in out
    assert "Restoring model weights from the end of the best epoch: 3." in out


def test_early_stopping_auto_mode_uses_metric_direction():
    accs = [{"val_accuracy": v} for v in [0.5, 0.6, 0.55, 0.7]]
    es = C.EarlyStopping(monitor="val_accuracy")
    fit(FakeModel({"accuracy": "max"}), [es], accs)
    assert es.stopped_epoch == 2
    es = C.EarlyStopping(monitor="val_accuracy", mode="min")
    fit(FakeModel(), [es], accs)
    assert es.stopped_epoch == 1
    with pytest.raises(ValueError, match="monitor=val_auc"):
        fit(FakeModel({"accuracy": "max"}), [C.EarlyStopping(monitor="val_auc")], accs)
    with pytest.warns(UserWarning, match="unknown"):
        es = C.EarlyStopping(mode="sideways")
    assert es.mode == "auto"


def test_early_stopping_missing_monitor_warns_and_continues():
    es = C.EarlyStopping()  # val_loss, absent
    with pytest.warns(UserWarning, match="val_loss.*not available"):
        hist = fit(FakeModel(), [es], _loss_logs(LOSSES[:4]))
    assert len(hist.epoch) == 4 and es.stopped_epoch == 0


# ----------------------------------------------------------------------------- ReduceLROnPlateau

def test_reduce_lr_examples_from_the_spec():
    model = FakeModel(lr=0.1)
    cb = C.ReduceLROnPlateau(monitor="loss", patience=1, min_delta=100)
    hist = fit(model, [cb], _loss_logs([1.0, 0.5]))
    assert model.optimizer.learning_rate == pytest.approx(0.01)
    assert hist.history["learning_rate"] == [0.1, 0.1]  # the value before this epoch's change

    model = FakeModel(lr=0.1)
    cb = C.ReduceLROnPlateau(monitor="loss", patience=1, min_delta=100, cooldown=2)
    hist = fit(model, [cb], _loss_logs([1.0, 0.9, 0.8, 0.7]))
    assert model.optimizer.learning_rate == pytest.approx(0.001)  # reduced twice
    assert hist.history["learning_rate"] == pytest.approx([0.1, 0.1, 0.01, 0.01])


def test_reduce_lr_min_lr_factor_and_schedule_errors(capsys):
    model = FakeModel(lr=0.1)
    cb = C.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_lr=0.04, verbose=1)
    fit(model, [cb], _loss_logs([1.0, 1.0, 1.0, 1.0, 1.0]))
    assert model.optimizer.learning_rate == pytest.approx(0.04)  # 0.1 -> 0.05 -> 0.04, then stays
    assert "ReduceLROnPlateau reducing learning rate to 0.05." in capsys.readouterr().out
    with pytest.raises(ValueError, match="factor"):
        C.ReduceLROnPlateau(factor=1.0)
    with pytest.raises(TypeError):
        fit(FakeModel(schedule=True), [C.ReduceLROnPlateau(monitor="loss", patience=0, min_delta=1)],
            _loss_logs([1.0, 1.0]))
    model = FakeModel(lr=0.1)
    with pytest.warns(UserWarning, match="val_loss"):
        hist = fit(model, [C.ReduceLROnPlateau(patience=0)], _loss_logs([1.0, 1.0]))
    assert hist.history["learning_rate"] == [0.1, 0.1]


def test_reduce_lr_max_mode_by_direction():
    model = FakeModel({"auc": "max"}, lr=1.0)
    cb = C.ReduceLROnPlateau(monitor="val_auc", patience=1, min_delta=0.0)
    fit(model, [cb], [{"val_auc": v} for v in [0.5, 0.6, 0.7, 0.65]])
    assert model.optimizer.learning_rate == pytest.approx(0.1)


# ----------------------------------------------------------------------------- LearningRateScheduler

def test_learning_rate_scheduler():
    model = FakeModel(lr=0.1)
    seen = []

    def schedule(epoch, lr):
        seen.append((epoch, lr))
        return lr * 0.5 if epoch >= 1 else lr

    hist = fit(model, [C.LearningRateScheduler(schedule)], _loss_logs([1, 1, 1]))
    assert seen == [(0, 0.1), (1, 0.1), (2, 0.05)]
    assert hist.history["learning_rate"] == pytest.approx([0.1, 0.05, 0.025])

    model = FakeModel(lr=0.1)
    fit(model, [C.LearningRateScheduler(lambda epoch: 0.01 * (epoch + 1))], _loss_logs([1, 1]))
    assert model.optimizer.learning_rate == pytest.approx(0.02)  # one-argument schedule

    model = FakeModel(lr=0.1)
    fit(model, [C.LearningRateScheduler(lambda e, lr: np.float32(0.25))], _loss_logs([1]))
    assert model.optimizer.learning_rate == 0.25


def test_learning_rate_scheduler_errors():
    with pytest.raises(ValueError, match="should be a float"):
        fit(FakeModel(), [C.LearningRateScheduler(lambda e, lr: 1)], _loss_logs([1]))
    with pytest.raises(ValueError, match="should be a float"):
        fit(FakeModel(), [C.LearningRateScheduler(lambda e, lr: "0.1")], _loss_logs([1]))
    with pytest.raises(TypeError):
        fit(FakeModel(schedule=True), [C.LearningRateScheduler(lambda e, lr: 0.1)], _loss_logs([1]))


# ----------------------------------------------------------------------------- CSVLogger

def _read_rows(path):
    with open(path, newline="") as f:
        text = f.read()
    assert text.endswith("\r\n")  # csv.excel line endings, as Keras writes
    return text.splitlines()


def test_csv_logger_header_na_and_values(tmp_path):
    path = tmp_path / "log.csv"
    fit(FakeModel(), [C.CSVLogger(path)], [{"loss": 0.5, "mae": 0.1}, {"loss": 0.25, "mae": 1 / 3}])
    assert _read_rows(path) == [
        "epoch,loss,mae,val_loss,val_mae",
        "0,0.5,0.1,NA,NA",
        f"1,0.25,{1 / 3!r},NA,NA",
    ]

    path2 = tmp_path / "val.csv"
    fit(FakeModel(), [C.CSVLogger(path2, separator=";")],
        [{"val_loss": 0.75, "loss": 0.5}, {"loss": 0.4, "val_loss": 0.7, "extra": 1.0}])
    assert _read_rows(path2) == ["epoch;loss;val_loss", "0;0.5;0.75", "1;0.4;0.7"]


def test_csv_logger_append(tmp_path):
    path = tmp_path / "log.csv"
    fit(FakeModel(), [C.CSVLogger(path, append=True)], [{"loss": 1.0, "val_loss": 2.0}])
    fit(FakeModel(), [C.CSVLogger(path, append=True)], [{"loss": 0.5, "val_loss": 1.5}])
    assert _read_rows(path) == ["epoch,loss,val_loss", "0,1.0,2.0", "0,0.5,1.5"]
    fit(FakeModel(), [C.CSVLogger(path)], [{"loss": 0.25, "val_loss": 1.0}])  # overwrite
    assert _read_rows(path) == ["epoch,loss,val_loss", "0,0.25,1.0"]


# ----------------------------------------------------------------------------- ModelCheckpoint

def test_model_checkpoint_formats_paths_and_creates_dirs(tmp_path):
    model = FakeModel()
    pattern = str(tmp_path / "sub" / "dir" / "ckpt-{epoch:02d}-{val_loss:.2f}.keras")
    fit(model, [C.ModelCheckpoint(pattern)], [{"loss": 1.0, "val_loss": 0.5}, {"loss": 0.9, "val_loss": 0.25}])
    assert [p for _, p in model.saved] == [str(tmp_path / "sub" / "dir" / "ckpt-01-0.50.keras"),
                                           str(tmp_path / "sub" / "dir" / "ckpt-02-0.25.keras")]
    assert all(kind == "model" for kind, _ in model.saved)
    assert os.path.exists(model.saved[-1][1])


def test_model_checkpoint_save_best_only_and_weights_only(tmp_path, capsys):
    model = FakeModel()
    path = str(tmp_path / "best.safetensors")  # any suffix is accepted
    cb = C.ModelCheckpoint(path, monitor="val_loss", save_best_only=True, save_weights_only=True,
                           verbose=1)
    fit(model, [cb], [{"val_loss": v} for v in [3.0, 2.0, 2.5, 2.0, 1.0]])
    assert len(model.saved) == 3 and all(kind == "weights" for kind, _ in model.saved)  # epochs 1, 2, 5
    out = capsys.readouterr().out
    assert "Epoch 1: val_loss improved from None to 3.00000, saving model to" in out
    assert "Epoch 3: val_loss did not improve from 2.00000" in out
    assert cb.best == 1.0
    # best survives into the next fit (not reset)
    fit(model, [cb], [{"val_loss": 1.5}])
    assert len(model.saved) == 3

    model = FakeModel({"accuracy": "max"})
    cb = C.ModelCheckpoint(str(tmp_path / "a.keras"), monitor="val_accuracy", save_best_only=True,
                           initial_value_threshold=0.6)
    fit(model, [cb], [{"val_accuracy": v} for v in [0.5, 0.7, 0.65]])
    assert len(model.saved) == 1

    model = FakeModel()
    with pytest.warns(UserWarning, match="val_loss available"):
        fit(model, [C.ModelCheckpoint(str(tmp_path / "m.keras"), save_best_only=True)], [{"loss": 1.0}])
    assert len(model.saved) == 1


def test_model_checkpoint_save_freq_batches(tmp_path):
    model = FakeModel()
    cb = C.ModelCheckpoint(str(tmp_path / "m-{epoch}-{batch}.keras"), save_freq=2)
    fit(model, [cb], [{"loss": 1.0}, {"loss": 0.5}], steps=3)
    names = [os.path.basename(p) for _, p in model.saved]
    assert names == ["m-1-2.keras", "m-2-1.keras", "m-2-3.keras"]  # every 2 batches across epochs
    with pytest.raises(ValueError, match="save_freq"):
        C.ModelCheckpoint("x.keras", save_freq="batch")
    with pytest.raises(KeyError, match="Failed to format"):
        fit(FakeModel(), [C.ModelCheckpoint(str(tmp_path / "{nope}.keras"))], [{"loss": 1.0}])


# ----------------------------------------------------------------------------- TerminateOnNaN / Lambda

def test_terminate_on_nan(capsys):
    model = FakeModel()
    losses = {(0, 0): 1.0, (0, 1): float("nan")}
    hist = fit(model, [C.TerminateOnNaN()], [{"loss": 1.0}, {"loss": 2.0}], steps=3,
               batch_logs=lambda e, b: {"loss": losses.get((e, b), 1.0)})
    assert model.stop_training and hist.epoch == [0]
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="NaN or Inf loss"):
        fit(FakeModel(), [C.TerminateOnNaN(raise_error=True)], [{"loss": 1.0}], steps=2,
            batch_logs=lambda e, b: {"loss": math.inf})


def test_lambda_callback():
    events = []
    cb = C.LambdaCallback(
        on_epoch_begin=lambda epoch, logs: events.append(("eb", epoch)),
        on_epoch_end=lambda epoch, logs: events.append(("ee", epoch, logs["loss"])),
        on_train_begin=lambda logs: events.append("tb"),
        on_train_end=lambda logs: events.append("te"),
        on_train_batch_end=lambda batch, logs: events.append(("b", batch)),
        on_test_end=lambda logs: events.append("test_end"))
    fit(FakeModel(), [cb], [{"loss": 0.5}], steps=2)
    assert events == ["tb", ("eb", 0), ("b", 0), ("b", 1), ("ee", 0, 0.5), "te"]
    cb.on_test_end({})
    assert events[-1] == "test_end"


def test_model_attribute_and_params():
    cb = C.Callback()
    model = FakeModel()
    C.CallbackList([cb], model=model, verbose=1, epochs=3, steps=2)
    assert cb.model is model and cb.params == {"verbose": 1, "epochs": 3, "steps": 2}


# ----------------------------------------------------------------------------- utils

def test_to_categorical_matches_reference():
    for y, n in [([0, 2, 1, 2], None), ([[1], [0], [3]], None), ([0, 1], 5),
                 (np.array([[0, 1], [2, 0]]), 3), ([1.7, 0.2], None)]:
        got = utils.to_categorical(y, n)
        want = R.to_categorical(y, n)
        assert got.dtype == np.float64 and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    assert utils.to_categorical([[1], [0], [3]]).shape == (3, 4)
    with pytest.raises(IndexError, match="label 3.*num_classes=3"):
        utils.to_categorical([0, 3], num_classes=3)
    np.testing.assert_array_equal(utils.to_categorical([-1], 3), [[0, 0, 1]])  # NumPy indexing


def test_set_random_seed_reproducible():
    import random

    import ranvier
    from ranvier import _random
    ranvier.utils.set_random_seed(123)
    a = (_random.next_seed(), random.random(), np.random.rand())
    ranvier.utils.set_random_seed(123)
    b = (_random.next_seed(), random.random(), np.random.rand())
    assert a == b
    with pytest.raises(ValueError, match="integer"):
        ranvier.utils.set_random_seed(1.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ranvier.utils.set_random_seed(np.int64(7))
