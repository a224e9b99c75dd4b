"""The multi-layer perceptron: one to three hidden layers on two interleaved spirals.

    python docs/guide/mlp.py [OUTDIR]         # writes mlp_regions.png, mlp_history.png,
                                              # mlp_summary.txt and mlp.txt
    python docs/guide/mlp.py --export DIR     # saves the 3-layer model for the C example:
                                              # DIR/spiral.safetensors, DIR/x.f32, DIR/python.txt
"""
from __future__ import annotations

import os
import sys

import numpy as np

import ranvier as keras

SEED = 0
EPOCHS = 2000
LEARNING_RATE = 0.005
# (hidden layers, units per layer): one to three layers of 16, and one wide layer of 64
CONFIGS = ((1, 16), (2, 16), (3, 16), (1, 64))
SOLVED = 0.95  # test accuracy above which the page calls the spirals solved
FAILED = 0.90  # ... and below which it says the network did not solve them


def spirals(n=200, turns=2.5, noise=0.05, seed=SEED):
    """Two spirals of n points each, wound ``turns`` times around each other: x (2n, 2), y (2n,)."""
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0.0, 1.0, n)) * turns * 2 * np.pi  # angle, uniform over the area
    r = 3.0 * t / (turns * 2 * np.pi)                             # radius from 0 to 3
    xs = [np.stack([r * np.cos(t + k * np.pi), r * np.sin(t + k * np.pi)], axis=1) for k in (0, 1)]
    x = np.concatenate(xs) + rng.normal(0.0, noise, (2 * n, 2))
    y = np.repeat([0.0, 1.0], n)
    return x.astype(np.float32), y.astype(np.float32)


def build(depth, units=16):
    """``depth`` hidden Dense layers of ``units`` tanh units, then one sigmoid unit."""
    keras.utils.set_random_seed(SEED)
    model = keras.Sequential(
        [keras.Input(shape=(2,))]
        + [keras.layers.Dense(units, activation="tanh", name=f"hidden_{i + 1}") for i in range(depth)]
        + [keras.layers.Dense(1, activation="sigmoid", name="output")],
        name=f"mlp_{depth}x{units}")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
                  loss="binary_crossentropy", metrics=["accuracy"])
    return model


def train(depth, units=16, epochs=EPOCHS):
    """Trains one network on the spirals; returns it, its History and its test accuracy."""
    x, y = spirals()
    x_test, y_test = spirals(seed=SEED + 1)  # fresh points from the same spirals
    model = build(depth, units)
    history = model.fit(x, y, epochs=epochs, batch_size=32, validation_data=(x_test, y_test), verbose=0)
    accuracy = model.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]
    return model, history, accuracy


def train_all():
    """``{(depth, units): (model, history, test accuracy)}`` for every configuration."""
    return {config: train(*config) for config in CONFIGS}


def export(model, outdir):
    """Saves the model and test inputs for the C example, and Python's predictions printed
    as the C app prints them (%.9g: exact for float32), so ``diff`` can compare the two."""
    os.makedirs(outdir, exist_ok=True)
    x_test, _ = spirals(seed=SEED + 1)
    model.save(os.path.join(outdir, "spiral.safetensors"))
    x_test.astype("<f4").tofile(os.path.join(outdir, "x.f32"))
    p = model.predict(x_test, verbose=0)
    with open(os.path.join(outdir, "python.txt"), "w", encoding="ascii", newline="\n") as f:
        f.writelines(" ".join("%.9g" % v for v in row) + "\n" for row in p.astype(np.float64))
    return p


def report(results):
    """Test accuracy per configuration."""
    lines = [f"test accuracy after {EPOCHS} epochs (solved: >= {SOLVED}):"]
    for (depth, units), (model, _, accuracy) in results.items():
        verdict = "solved" if accuracy >= SOLVED else "not solved" if accuracy < FAILED else "unclear"
        lines.append(f"  {depth} hidden x {units:2d} units  {model.count_params():4d} weights  "
                     f"{accuracy:.3f}  {verdict}")
    return "\n".join(lines)


def plot_regions(results, outdir):
    """The class each network predicts over the plane, with the training points."""
    import _plot

    x, y = spirals()
    g = np.linspace(-3.5, 3.5, 141, dtype=np.float32)
    grid = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    with _plot.style():
        fig = _plot.figure(6.4, 6.6)
        axes = fig.subplots(2, 2, sharex=True, sharey=True).ravel()
        for ax, ((depth, units), (model, _, accuracy)) in zip(axes, results.items()):
            p = model.predict(grid, verbose=0).reshape(len(g), len(g))
            ax.contourf(g, g, p > 0.5, levels=[-0.5, 0.5, 1.5], colors=["#9ecae1", "#fcbba1"])
            ax.scatter(x[:, 0], x[:, 1], c=y, cmap="RdBu_r", s=4, linewidths=0)
            ax.set_title(f"{depth} hidden layer{'s' if depth > 1 else ''} of {units}: "
                         f"test accuracy {accuracy:.2f}")
            ax.set_aspect("equal")
        return _plot.save(fig, outdir, "mlp_regions.png")


def main(outdir="."):
    """Trains the four networks; writes the figures, the summary and the accuracies."""
    import _plot

    results = train_all()
    text = report(results)
    print(text)
    _plot.write_text(outdir, "mlp.txt", text)
    model, history, _ = results[(3, 16)]
    lines = []
    model.summary(line_length=72, print_fn=lambda s: lines.extend(s.splitlines()))
    _plot.write_text(outdir, "mlp_summary.txt", "\n".join(lines))
    plot_regions(results, outdir)
    with _plot.style():
        fig = history.plot(title="mlp_3x16 on the spirals", figsize=(7.2, 2.8))
        _plot.save(fig, outdir, "mlp_history.png")
        import matplotlib.pyplot as plt
        plt.close(fig)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--export":
        export(train(3)[0], sys.argv[2])
    else:
        main(*sys.argv[1:])
