"""Regression on a numeric table as the TensorFlow "Basic regression" tutorial writes it: a
Normalization layer adapted to the training features, a linear model and a small MLP that
both start with it, trained with mean absolute error and validation_split, evaluated on a
held-out split, saved and reloaded."""
import os
import tempfile

import numpy as np
from sklearn.datasets import load_diabetes

import keras
from _common import report
from keras import layers

TOLERANCES = {"linear_test_mae": 0.6, "dnn_test_mae": 0.6}

keras.utils.set_random_seed(7)
data = load_diabetes()
x = data.data.astype("float64") * 10 + np.arange(10)  # columns on different scales and offsets
y = (data.target / 10).astype("float32")  # labels on the tutorial's scale (MPG: ~5-45)
order = np.random.default_rng(0).permutation(len(x))
train, test = order[:350], order[350:]
train_features, test_features = x[train], x[test]
train_labels, test_labels = y[train], y[test]

normalizer = layers.Normalization(axis=-1)
normalizer.adapt(np.array(train_features))
mean = np.asarray(normalizer.mean).reshape(-1)
np.testing.assert_allclose(mean, train_features.mean(axis=0), rtol=1e-5)
first = np.array(train_features[:1])
np.testing.assert_allclose(np.asarray(normalizer(first)).reshape(-1),
                           (first[0] - train_features.mean(0)) / train_features.std(0), rtol=1e-4, atol=1e-5)

linear_model = keras.Sequential([normalizer, layers.Dense(units=1)])
linear_model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1), loss="mean_absolute_error")
history = linear_model.fit(train_features, train_labels, epochs=100, verbose=0, validation_split=0.2)
assert history.history["loss"][-1] < history.history["loss"][0]
linear_test_mae = linear_model.evaluate(test_features, test_labels, verbose=0)


def build_and_compile_model(norm):
    model = keras.Sequential([norm, layers.Dense(64, activation="relu"), layers.Dense(64, activation="relu"),
                              layers.Dense(1)])
    model.compile(loss="mean_absolute_error", optimizer=keras.optimizers.Adam(0.001))
    return model


norm2 = layers.Normalization(axis=-1)
norm2.adapt(np.array(train_features))
dnn_model = build_and_compile_model(norm2)
dnn_model.fit(train_features, train_labels, validation_split=0.2, verbose=0, epochs=100)
dnn_test_mae = dnn_model.evaluate(test_features, test_labels, verbose=0)
# the statistics are weights of the model: non-trainable, unchanged by fit
np.testing.assert_allclose(np.asarray(norm2.mean).reshape(-1), mean, rtol=1e-6)

path = os.path.join(tempfile.mkdtemp(), "dnn_model.keras")
dnn_model.save(path)
reloaded = keras.models.load_model(path)
np.testing.assert_allclose(reloaded.predict(test_features, verbose=0), dnn_model.predict(test_features, verbose=0),
                           rtol=1e-5, atol=1e-4)
baseline = float(np.mean(np.abs(test_labels - train_labels.mean())))  # predicting the mean
assert linear_test_mae < baseline and dnn_test_mae < baseline, (linear_test_mae, dnn_test_mae, baseline)
report(linear_test_mae=linear_test_mae, dnn_test_mae=dnn_test_mae)
