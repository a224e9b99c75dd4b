"""Callbacks and early stopping, as in Keras's "Writing your own callbacks" and
"Training & evaluation with the built-in methods" guides: EarlyStopping with
restore_best_weights, ModelCheckpoint keeping the best model, ReduceLROnPlateau, CSVLogger
and a custom Callback that records what Keras hands its hooks."""
import csv
import os
import sys
import tempfile

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import keras
from _common import report

TOLERANCES = {"test_accuracy": 0.05, "best_val_loss_rel": 0.5}

keras.utils.set_random_seed(7)
digits = load_digits()
x = (digits.data / 16.0).astype("float32")
y = digits.target
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.events = []
        self.epoch_logs = []
        self.test_hooks = 0
        self.train_end_logs = None

    def on_train_begin(self, logs=None):
        self.events.append("train_begin")

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_logs.append(dict(logs))

    def on_test_begin(self, logs=None):
        self.test_hooks += 1

    def on_train_end(self, logs=None):
        self.events.append("train_end")
        self.train_end_logs = dict(logs or {})


model = keras.Sequential([
    keras.Input(shape=(64,)),
    keras.layers.Dense(64, activation="relu"),
    keras.layers.Dropout(0.2),
    keras.layers.Dense(10, activation="softmax"),
])
model.compile(optimizer=keras.optimizers.Adam(learning_rate=3e-3),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])

workdir = tempfile.mkdtemp()
best_path = os.path.join(workdir, "best.keras")
log_path = os.path.join(workdir, "log.csv")
recorder = Recorder()
callbacks = [
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
    keras.callbacks.ModelCheckpoint(best_path, monitor="val_loss", save_best_only=True),
    keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=1e-5),
    keras.callbacks.CSVLogger(log_path),
    recorder,
]
history = model.fit(x_train, y_train, batch_size=32, epochs=60, validation_split=0.2,
                    callbacks=callbacks, verbose=0)

epochs_run = len(history.history["loss"])
val_losses = history.history["val_loss"]
best_epoch = int(np.argmin(val_losses))
test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
best = keras.models.load_model(best_path)
best_loss, best_acc = best.evaluate(x_test, y_test, verbose=0)
with open(log_path) as f:
    rows = list(csv.DictReader(f))

assert epochs_run < 60, "early stopping never triggered"
assert epochs_run == best_epoch + 1 + 3, (epochs_run, best_epoch)   # patience 3 after the best epoch
assert abs(best_loss - test_loss) < 1e-5 * max(1.0, test_loss)      # restored weights == best checkpoint
assert len(rows) == epochs_run and {"epoch", "loss", "val_loss", "accuracy", "val_accuracy"} <= set(rows[0])
assert recorder.events == ["train_begin", "train_end"]
assert len(recorder.epoch_logs) == epochs_run and "val_accuracy" in recorder.epoch_logs[-1]
assert recorder.test_hooks == epochs_run, recorder.test_hooks   # validation fires on_test_begin
assert "val_loss" in recorder.train_end_logs                     # on_train_end sees the val_* logs
lrs = [float(r["learning_rate"]) for r in rows] if "learning_rate" in rows[0] else []
assert not lrs or lrs[-1] <= lrs[0]
assert test_acc > 0.9, test_acc

report(test_accuracy=test_acc, epochs_run=epochs_run, best_val_loss=min(val_losses),
       best_val_loss_rel=min(val_losses), lr_reduced=bool(lrs and lrs[-1] < lrs[0]))
