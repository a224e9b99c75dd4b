"""Data sets the Keras way, as the TensorFlow regression tutorial and Keras's examples
fetch them: ``keras.utils.get_file`` into the cache folder (here from a local origin, since
tests have no network), then a regression on the table it holds; and
``keras.datasets.<name>.load_data()`` with its Keras split when the real file is already in
the cache (``$KERAS_HOME/datasets``; CI has none, so that part reports itself skipped)."""
import hashlib
import os
import tempfile

import numpy as np

import keras
from _common import report

TOLERANCES = {"table_mae": 0.1}

keras.utils.set_random_seed(4)

# ---- a CSV table fetched with get_file (a file:// origin stands in for the web server)
rng = np.random.default_rng(0)
n = 800
table = np.column_stack([rng.normal(size=(n, 5)), np.zeros(n)])
table[:, 5] = table[:, :5] @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.1 * rng.normal(size=n)
src_dir = tempfile.mkdtemp()
src = os.path.join(src_dir, "table.csv")
np.savetxt(src, table, delimiter=",", fmt="%.6f")
sha = hashlib.sha256(open(src, "rb").read()).hexdigest()
path = keras.utils.get_file("table.csv", origin="file://" + src, file_hash=sha)
assert os.path.dirname(path).endswith(os.path.join(".keras", "datasets")) or "KERAS_HOME" in os.environ
assert os.path.dirname(path) == os.path.join(os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras")), "datasets")
again = keras.utils.get_file("table.csv", origin="file:///nonexistent/table.csv", file_hash=sha)
assert again == path  # cached and valid: not fetched again

data = np.loadtxt(path, delimiter=",", dtype="float32")
x, y = data[:, :5], data[:, 5]
model = keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(32, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mean_absolute_error")
model.fit(x[:600], y[:600], epochs=40, batch_size=32, validation_split=0.2, verbose=0)
table_mae = model.evaluate(x[600:], y[600:], verbose=0)
assert table_mae < 0.5, table_mae

# ---- keras.datasets, when the real file is cached
cached = os.path.join(os.environ.get("KERAS_HOME", os.path.expanduser("~/.keras")), "datasets",
                      "boston_housing.npz")
real = os.path.exists(cached)
if real:
    (x_train, y_train), (x_test, y_test) = keras.datasets.boston_housing.load_data()
    assert x_train.shape == (404, 13) and x_test.shape == (102, 13)
report(table_mae=table_mae, real_dataset_checked=real)
