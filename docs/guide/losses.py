"""Losses as functions of the error (regression) and of the predicted probability
(classification), every value computed by ranvier's loss objects.

    python docs/guide/losses.py [OUTDIR]   # writes losses.png
"""
from __future__ import annotations

import sys

import numpy as np

import ranvier as keras

L = keras.losses

# reduction=None: one loss value per sample, so a whole curve is one call.
REGRESSION = {
    "mean_squared_error": L.MeanSquaredError(reduction=None),
    "mean_absolute_error": L.MeanAbsoluteError(reduction=None),
    "huber (delta=1)": L.Huber(delta=1.0, reduction=None),
    "log_cosh": L.LogCosh(reduction=None),
}
CLASSIFICATION = {
    "binary_crossentropy": L.BinaryCrossentropy(reduction=None),
    "binary_focal_crossentropy (gamma=2)": L.BinaryFocalCrossentropy(gamma=2.0, reduction=None),
    "hinge (on the score 2p - 1)": L.Hinge(reduction=None),
}


def regression_curves(errors=None):
    """``{name: (error, loss)}``: the target is 0, the prediction is the error."""
    e = np.linspace(-3.0, 3.0, 241, dtype=np.float32) if errors is None else np.asarray(errors, np.float32)
    y_true, y_pred = np.zeros((e.size, 1), np.float32), e.reshape(-1, 1)
    return {name: (e, loss(y_true, y_pred)) for name, loss in REGRESSION.items()}


def classification_curves(probabilities=None):
    """``{name: (p, loss)}`` for a sample of class 1 predicted with probability p.

    Hinge takes a score (labels 0/1 become -1/+1), such as a tanh unit's output: the score
    2p - 1 equals tanh(z / 2) for the logit z whose sigmoid is p."""
    p = (np.linspace(0.01, 0.99, 197, dtype=np.float32) if probabilities is None
         else np.asarray(probabilities, np.float32))
    y_true, y_pred = np.ones((p.size, 1), np.float32), p.reshape(-1, 1)
    out = {}
    for name, loss in CLASSIFICATION.items():
        out[name] = (p, loss(y_true, 2.0 * y_pred - 1.0 if name.startswith("hinge") else y_pred))
    return out


def plot(outdir):
    """Two panels: regression losses against the error, classification losses against p."""
    import _plot

    with _plot.style():
        fig = _plot.figure(7.6, 3.2)
        left, right = fig.subplots(1, 2)
        for name, (e, loss) in regression_curves().items():
            left.plot(e, loss, label=name)
        left.set_ylim(0, 4.5)
        left.set(title="regression: loss against the error", xlabel="y_pred - y_true", ylabel="loss")
        left.legend(loc="upper center")
        for name, (p, loss) in classification_curves().items():
            right.plot(p, loss, label=name)
        right.set(title="classification: true class 1", xlabel="predicted probability of class 1 (p)",
                  ylim=(0, 4.5))
        right.legend(loc="upper right")
        return _plot.save(fig, outdir, "losses.png")


def main(outdir="."):
    """Writes losses.png into outdir."""
    plot(outdir)


if __name__ == "__main__":
    main(*sys.argv[1:])
