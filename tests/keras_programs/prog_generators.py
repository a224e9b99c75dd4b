"""Data from Python generators and from a PyDataset, as Keras's "Training & evaluation"
guide feeds them: an infinite generator with steps_per_epoch, a PyDataset with
on_epoch_end, validation from a generator with validation_steps, predict on a generator."""
import math

import numpy as np
from sklearn.datasets import load_digits

import keras
from _common import report

TOLERANCES = {"gen_accuracy": 0.05, "pyds_accuracy": 0.05}

keras.utils.set_random_seed(2)
digits = load_digits()
x = (digits.data / 16.0).astype("float32")
y = digits.target.astype("int64")
x_train, y_train, x_val, y_val = x[:1400], y[:1400], x[1400:], y[1400:]


def batches(xs, ys, batch_size=32, forever=True):
    rng = np.random.default_rng(0)
    while True:
        order = rng.permutation(len(xs))
        for i in range(0, len(xs), batch_size):
            idx = order[i:i + batch_size]
            yield xs[idx], ys[idx]
        if not forever:
            return


class DigitsDataset(keras.utils.PyDataset):
    def __init__(self, xs, ys, batch_size=32, **kwargs):
        super().__init__(**kwargs)
        self.xs, self.ys, self.batch_size = xs, ys, batch_size
        self.epochs_seen = 0
        self.order = np.arange(len(xs))

    def __len__(self):
        return math.ceil(len(self.xs) / self.batch_size)

    def __getitem__(self, idx):
        sel = self.order[idx * self.batch_size:(idx + 1) * self.batch_size]
        return self.xs[sel], self.ys[sel]

    def on_epoch_end(self):
        self.epochs_seen += 1
        self.order = np.random.default_rng(self.epochs_seen).permutation(len(self.xs))


def make_model():
    model = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


steps = math.ceil(len(x_train) / 32)
gen_model = make_model()
h = gen_model.fit(batches(x_train, y_train), steps_per_epoch=steps, epochs=8,
                  validation_data=batches(x_val, y_val), validation_steps=4, verbose=0)
assert len(h.history["loss"]) == 8 and len(h.history["val_loss"]) == 8
_, gen_acc = gen_model.evaluate(batches(x_val, y_val, forever=False), verbose=0)
preds = gen_model.predict(((xb,) for xb, _ in batches(x_val, y_val, forever=False)), verbose=0)
assert preds.shape == (len(x_val), 10)

ds = DigitsDataset(x_train, y_train)
pyds_model = make_model()
pyds_model.fit(ds, epochs=8, validation_data=DigitsDataset(x_val, y_val), verbose=0)
assert ds.epochs_seen >= 8, ds.epochs_seen  # once per epoch (Keras may call it once more)
_, pyds_acc = pyds_model.evaluate(DigitsDataset(x_val, y_val), verbose=0)
assert gen_acc > 0.85 and pyds_acc > 0.85
report(gen_accuracy=gen_acc, pyds_accuracy=pyds_acc, epochs_seen=ds.epochs_seen)
