"""Lists of metrics by string and by object, for regression and multi-class problems, as
Keras's guides and the TensorFlow regression/classification tutorials write them; the
History keys and evaluate's dict are named as Keras names them."""
import numpy as np
from sklearn.datasets import load_digits, make_regression

import keras
from _common import report

TOLERANCES = {"reg_r2": 0.05, "cls_accuracy": 0.05, "cls_f1_macro": 0.06}

keras.utils.set_random_seed(11)
rng = np.random.default_rng(0)

# ---- regression: strings and objects mixed
x, y = make_regression(n_samples=2000, n_features=8, noise=5.0, random_state=2)
x = x.astype("float32")
y = ((y - y.mean()) / y.std()).astype("float32")
reg = keras.Sequential([keras.Input(shape=(8,)), keras.layers.Dense(32, activation="relu"),
                        keras.layers.Dense(1)])
reg.compile(optimizer="adam", loss="mse",
            metrics=["mae", "mse", keras.metrics.RootMeanSquaredError(name="rmse"),
                     keras.metrics.R2Score(name="r2"), keras.metrics.LogCoshError(),
                     keras.metrics.CosineSimilarity(name="cos")])
h = reg.fit(x[:1600], y[:1600], epochs=20, batch_size=32, validation_split=0.1, verbose=0)
for key in ("loss", "mae", "mse", "rmse", "r2", "logcosh", "cos", "val_loss", "val_mae", "val_r2"):
    assert key in h.history, (key, sorted(h.history))
res = reg.evaluate(x[1600:], y[1600:], verbose=0, return_dict=True)
pred = reg.predict(x[1600:], verbose=0).reshape(-1)
truth = y[1600:]
r2_ref = 1 - np.sum((truth - pred) ** 2) / np.sum((truth - truth.mean()) ** 2)
assert abs(res["r2"] - r2_ref) < 1e-4, (res["r2"], r2_ref)
assert abs(res["rmse"] - np.sqrt(np.mean((truth - pred) ** 2))) < 1e-4
assert abs(res["mae"] - np.mean(np.abs(truth - pred))) < 1e-4
assert res["r2"] > 0.9

# ---- multi-class: accuracy, top-k, cross-entropy metric, F1 on one-hot labels
digits = load_digits()
xd = (digits.data / 16.0).astype("float32")
yd = keras.utils.to_categorical(digits.target, 10)
cls = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(64, activation="relu"),
                        keras.layers.Dense(10, activation="softmax")])
cls.compile(optimizer="adam", loss="categorical_crossentropy",
            metrics=["accuracy", keras.metrics.TopKCategoricalAccuracy(k=3, name="top3"),
                     keras.metrics.CategoricalCrossentropy(name="ce"),
                     keras.metrics.F1Score(average="macro", name="f1")])
cls.fit(xd[:1400], yd[:1400], epochs=25, batch_size=32, verbose=0)
res_c = cls.evaluate(xd[1400:], yd[1400:], verbose=0, return_dict=True)
assert abs(res_c["ce"] - res_c["loss"]) < 1e-4 * max(1.0, res_c["loss"])   # same quantity
assert res_c["top3"] >= res_c["accuracy"]
assert res_c["accuracy"] > 0.85 and res_c["f1"] > 0.8, res_c

report(reg_r2=res["r2"], reg_rmse=res["rmse"], cls_accuracy=res_c["accuracy"], cls_top3=res_c["top3"],
       cls_f1_macro=res_c["f1"])
