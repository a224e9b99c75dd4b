"""Saving and reloading in Keras's formats, as Keras's "Save, serialize, and export
models" guide does: the whole model in a .keras archive, the weights in .weights.h5,
reloading, predicting the same numbers and training on."""
import os
import tempfile
import zipfile

import numpy as np
from sklearn.datasets import load_digits

import keras
from _common import report

TOLERANCES = {"accuracy_after_reload": 0.05}

keras.utils.set_random_seed(5)
digits = load_digits()
x = (digits.data / 16.0).astype("float32")
y = digits.target


def get_model():
    model = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.BatchNormalization(), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


model = get_model()
model.fit(x[:1200], y[:1200], epochs=10, batch_size=32, verbose=0)
workdir = tempfile.mkdtemp()
path = os.path.join(workdir, "my_model.keras")
model.save(path)
assert zipfile.is_zipfile(path)
with zipfile.ZipFile(path) as zf:
    assert {"config.json", "metadata.json", "model.weights.h5"} <= set(zf.namelist())

reconstructed = keras.models.load_model(path)
np.testing.assert_allclose(reconstructed.predict(x[1200:], verbose=0), model.predict(x[1200:], verbose=0),
                           rtol=1e-6, atol=1e-7)
# the optimizer state came along: training continues where it stopped
reconstructed.fit(x[:1200], y[:1200], epochs=1, batch_size=32, verbose=0)

weights_path = os.path.join(workdir, "my.weights.h5")
model.save_weights(weights_path)
fresh = get_model()
fresh.load_weights(weights_path)
np.testing.assert_allclose(fresh.predict(x[1200:], verbose=0), model.predict(x[1200:], verbose=0),
                           rtol=1e-6, atol=1e-7)

config = model.get_config()
clone = keras.Sequential.from_config(config)
clone.set_weights(model.get_weights())
np.testing.assert_allclose(clone.predict(x[1200:], verbose=0), model.predict(x[1200:], verbose=0),
                           rtol=1e-6, atol=1e-7)
_, acc = reconstructed.evaluate(x[1200:], y[1200:], verbose=0)
assert acc > 0.85
report(accuracy_after_reload=acc)
