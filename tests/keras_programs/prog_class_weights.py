"""Imbalanced classification with class weights and an initial output bias, as in
TensorFlow's "Classification on imbalanced data" tutorial: confusion-count metrics,
precision/recall, ROC and PR AUC, class_weight in fit."""
import numpy as np
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

import keras
from _common import report

TOLERANCES = {"weighted_recall": 0.15, "plain_recall": 0.2, "weighted_auc": 0.05}

keras.utils.set_random_seed(3)
x, y = make_classification(n_samples=6000, n_features=20, n_informative=6, weights=[0.95, 0.05],
                           flip_y=0.01, class_sep=0.8, random_state=1)
x = x.astype("float32")
y = y.astype("float32").reshape(-1, 1)  # labels shaped like the sigmoid output, as Keras 3's metrics want
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.3, stratify=y.reshape(-1), random_state=0)
neg, pos = np.bincount(y_train.reshape(-1).astype(int))
total = neg + pos

METRICS = [
    keras.metrics.BinaryCrossentropy(name="cross_entropy"),
    keras.metrics.TruePositives(name="tp"),
    keras.metrics.FalsePositives(name="fp"),
    keras.metrics.TrueNegatives(name="tn"),
    keras.metrics.FalseNegatives(name="fn"),
    keras.metrics.BinaryAccuracy(name="accuracy"),
    keras.metrics.Precision(name="precision"),
    keras.metrics.Recall(name="recall"),
    keras.metrics.AUC(name="auc"),
    keras.metrics.AUC(name="prc", curve="PR"),
]


def make_model(output_bias=None):
    if output_bias is not None:
        output_bias = keras.initializers.Constant(output_bias)
    model = keras.Sequential([
        keras.Input(shape=(x_train.shape[-1],)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(1, activation="sigmoid", bias_initializer=output_bias),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss=keras.losses.BinaryCrossentropy(), metrics=METRICS)
    return model


initial_bias = np.log([pos / neg])
plain = make_model(output_bias=initial_bias)
initial_loss = plain.evaluate(x_train, y_train, batch_size=2048, verbose=0)[0]
p0 = pos / total
expected_initial = -p0 * np.log(p0) - (1 - p0) * np.log(1 - p0)
# The bias makes the first predictions about p0: the loss starts near the labels' entropy
# (plus what the random hidden layer adds), far below the ~0.7 of a zero bias.
no_bias_loss = make_model().evaluate(x_train, y_train, batch_size=2048, verbose=0)[0]
assert expected_initial <= initial_loss + 0.02 and initial_loss < 0.5 * no_bias_loss, \
    (initial_loss, expected_initial, no_bias_loss)

plain.fit(x_train, y_train, batch_size=256, epochs=25, validation_data=(x_test, y_test), verbose=0)
class_weight = {0: (1 / neg) * (total / 2.0), 1: (1 / pos) * (total / 2.0)}
weighted = make_model(output_bias=initial_bias)
history = weighted.fit(x_train, y_train, batch_size=256, epochs=25, validation_data=(x_test, y_test),
                       class_weight=class_weight, verbose=0)

res_plain = plain.evaluate(x_test, y_test, batch_size=2048, verbose=0, return_dict=True)
res_w = weighted.evaluate(x_test, y_test, batch_size=2048, verbose=0, return_dict=True)
for res in (res_plain, res_w):
    assert res["tp"] + res["fp"] + res["tn"] + res["fn"] == len(y_test)
    assert abs(res["precision"] - res["tp"] / max(res["tp"] + res["fp"], 1)) < 1e-6
    assert abs(res["recall"] - res["tp"] / max(res["tp"] + res["fn"], 1)) < 1e-6
assert "val_prc" in history.history and "val_tp" in history.history
assert res_w["recall"] > res_plain["recall"], (res_w["recall"], res_plain["recall"])
assert res_w["auc"] > 0.8

report(weighted_recall=res_w["recall"], plain_recall=res_plain["recall"], weighted_auc=res_w["auc"],
       weighted_prc=res_w["prc"], initial_loss=initial_loss)
