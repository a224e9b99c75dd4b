"""The perceptron: one ``Dense(1, activation="sigmoid")`` on a two-feature problem.

    python docs/guide/perceptron.py [OUTDIR]   # writes perceptron.png and perceptron.txt

Draws the decision boundary before and after training and prints the weights, with the
neuron's output computed again by hand with NumPy.
"""
from __future__ import annotations

import sys

import numpy as np

import ranvier as keras

SEED = 0
EPOCHS = 40


def make_data(n=200, seed=SEED):
    """Two overlapping clouds of points in the plane: features x (n, 2), labels y (0 or 1)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    centers = np.array([[-1.0, -0.5], [1.0, 1.0]])
    x = centers[y] + rng.normal(0.0, 0.7, (n, 2))
    return x.astype(np.float32), y.astype(np.float32)


def build():
    """One neuron: a weighted sum of the two features plus a bias, through a sigmoid."""
    keras.utils.set_random_seed(SEED)  # the same initial weights on every run
    model = keras.Sequential([
        keras.Input(shape=(2,)),
        keras.layers.Dense(1, activation="sigmoid", name="neuron"),
    ], name="perceptron")
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model


def train(epochs=EPOCHS):
    """Trains the perceptron; returns it with its weights before training and the data."""
    x, y = make_data()
    model = build()
    before = [w.copy() for w in model.get_weights()]
    accuracy_before = model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"]
    model.fit(x, y, epochs=epochs, batch_size=16, verbose=0)
    accuracy = model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"]
    return model, before, x, y, accuracy_before, accuracy


def by_hand(weights, x):
    """The neuron's output in NumPy (float64): sigmoid(x . w + b)."""
    w, b = (np.asarray(a, dtype=np.float64) for a in weights)
    z = np.asarray(x, dtype=np.float64) @ w + b  # the weighted sum, shape (n, 1)
    return 1.0 / (1.0 + np.exp(-z))             # through the activation


def report(model, before, x, accuracy_before, accuracy):
    """The numbers the page prints beside the figure."""
    (w, b), (w0, b0) = model.get_weights(), before
    p_model = model.predict(x[:3], verbose=0)
    p_hand = by_hand(model.get_weights(), x[:3])
    lines = [f"before training: w = {np.round(w0.ravel(), 4)}, b = {b0[0]:.4f}, accuracy {accuracy_before:.3f}",
             f"after {EPOCHS} epochs:  w = {np.round(w.ravel(), 4)}, b = {b[0]:.4f}, accuracy {accuracy:.3f}",
             "",
             "x                     model.predict(x)   sigmoid(x @ w + b) in NumPy"]
    for xi, pm, ph in zip(x[:3], p_model[:, 0], p_hand[:, 0]):
        lines.append(f"[{xi[0]:7.4f} {xi[1]:7.4f}]     {pm:.7f}          {ph:.7f}")
    return "\n".join(lines)


def plot(model, before, x, y, accuracy_before, accuracy, outdir):
    """Probability shading (from model.predict) and the line where it is 0.5, before and after."""
    import _plot

    g = np.linspace(-3.5, 3.5, 141, dtype=np.float32)
    grid = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    after = model.get_weights()
    with _plot.style():
        fig = _plot.figure(7.2, 3.3)
        axes = fig.subplots(1, 2, sharey=True)
        for ax, weights, title in ((axes[0], before, f"before training: accuracy {accuracy_before:.2f}"),
                                   (axes[1], after, f"after {EPOCHS} epochs: accuracy {accuracy:.2f}")):
            model.set_weights(weights)
            p = model.predict(grid, verbose=0).reshape(len(g), len(g))
            ax.contourf(g, g, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.45)
            ax.contour(g, g, p, levels=[0.5], colors="k", linewidths=1.5)
            ax.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu_r", s=9, edgecolors="k", linewidths=0.3)
            (w1, w2), b = weights[0][:, 0], weights[1][0]
            ax.set_title(f"{title}\nboundary: {w1:.2f}·x1 {w2:+.2f}·x2 {b:+.2f} = 0")
            ax.set_xlabel("x1")
            ax.set_xlim(g[0], g[-1])
            ax.set_ylim(g[0], g[-1])
        axes[0].set_ylabel("x2")
        model.set_weights(after)
        return _plot.save(fig, outdir, "perceptron.png")


def main(outdir="."):
    """Trains, writes perceptron.png and perceptron.txt into outdir."""
    import _plot

    model, before, x, y, accuracy_before, accuracy = train()
    text = report(model, before, x, accuracy_before, accuracy)
    print(text)
    _plot.write_text(outdir, "perceptron.txt", text)
    plot(model, before, x, y, accuracy_before, accuracy, outdir)


if __name__ == "__main__":
    main(*sys.argv[1:])
