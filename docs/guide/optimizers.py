"""Six optimizers train the same two-weight model from the same starting point.

    python docs/guide/optimizers.py [OUTDIR]   # writes optimizers_loss.png, optimizers_paths.png
                                               # and optimizers.txt

The model is ``Dense(1)`` on one feature: y = w * x + b, two weights, so the loss is a
surface over the (w, b) plane and each optimizer's steps draw a path on it.
"""
from __future__ import annotations

import sys

import numpy as np

import ranvier as keras

STEPS = 100
LEARNING_RATE = 0.1
START = (-1.0, -2.0)  # (w, b) before the first step, for every optimizer


def make_data(n=200, seed=0):
    """y = 1.5 x - 2 + noise, with x around 2 (not centred: w and b pull against each other)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 0.5, (n, 1))
    y = 1.5 * x - 2.0 + rng.normal(0.0, 0.3, (n, 1))
    return x.astype(np.float32), y.astype(np.float32)


def optimizers():
    """The six optimizers, all with the same learning rate (Keras's other defaults)."""
    O = keras.optimizers
    return {
        "SGD": O.SGD(learning_rate=LEARNING_RATE),
        "SGD momentum=0.9": O.SGD(learning_rate=LEARNING_RATE, momentum=0.9),
        "RMSprop": O.RMSprop(learning_rate=LEARNING_RATE),
        "Adagrad": O.Adagrad(learning_rate=LEARNING_RATE),
        "Adam": O.Adam(learning_rate=LEARNING_RATE),
        "AdamW": O.AdamW(learning_rate=LEARNING_RATE),  # weight_decay=0.004
    }


def train(optimizer, x, y, steps=STEPS):
    """Gradient descent on the whole data set (one batch: one step per epoch).

    Returns the loss before each step and the (w, b) path, START included."""
    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    model.set_weights([np.array([[START[0]]], np.float32), np.array([START[1]], np.float32)])
    model.compile(optimizer=optimizer, loss="mean_squared_error")
    path = [START]
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: path.append(
            tuple(float(v[0] if v.ndim == 1 else v[0, 0]) for v in model.get_weights())))
    history = model.fit(x, y, batch_size=len(x), epochs=steps, shuffle=False, verbose=0,
                        callbacks=[record])
    return np.array(history.history["loss"]), np.array(path)


def run_all():
    """``{name: (losses, path)}`` for every optimizer."""
    x, y = make_data()
    return {name: train(opt, x, y) for name, opt in optimizers().items()}


def ranking(results):
    """Optimizer names from the lowest loss after the last step to the highest."""
    return sorted(results, key=lambda name: results[name][0][-1])


def loss_surface(ws, bs):
    """The mean squared error at every (w, b) of a grid, computed by ranvier: one Dense
    layer with a unit per grid point predicts for all of them at once."""
    x, y = make_data()
    W, B = np.meshgrid(ws, bs)
    grid = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(W.size)])
    grid.set_weights([W.reshape(1, -1).astype(np.float32), B.reshape(-1).astype(np.float32)])
    y_pred = grid.predict(x, batch_size=len(x), verbose=0).T       # (grid points, samples)
    y_true = np.broadcast_to(y[:, 0], y_pred.shape)
    return keras.losses.mean_squared_error(y_true, y_pred).reshape(W.shape)


def report(results):
    """The final losses, best first."""
    lines = [f"loss after {STEPS} steps (learning rate {LEARNING_RATE}, start (w, b) = {START}):"]
    for name in ranking(results):
        losses, path = results[name]
        lines.append(f"  {name:18s} {losses[-1]:.4f}   (w, b) = ({path[-1][0]:.3f}, {path[-1][1]:.3f})")
    return "\n".join(lines)


def plot(results, outdir):
    """Loss curves in one figure, paths on the loss surface in another."""
    import _plot

    with _plot.style():
        fig = _plot.figure(6.0, 3.4)
        ax = fig.subplots()
        for name in results:
            ax.plot(np.arange(1, STEPS + 1), results[name][0], label=name)
        ax.set(yscale="log", xlabel="step", ylabel="mean squared error (log scale)",
               title=f"the same model from the same start, learning rate {LEARNING_RATE}")
        ax.legend(ncols=2)
        _plot.save(fig, outdir, "optimizers_loss.png")

        ws, bs = np.linspace(-1.5, 3.0, 91), np.linspace(-3.5, 3.0, 91)
        log_surface = np.log10(loss_surface(ws, bs))
        best = np.unravel_index(np.argmin(log_surface), log_surface.shape)
        fig = _plot.figure(7.2, 4.6)
        axes = fig.subplots(2, 3, sharex=True, sharey=True)
        for i, (ax, name) in enumerate(zip(axes.ravel(), results)):
            path = results[name][1]
            ax.contourf(ws, bs, log_surface, levels=10, cmap="Greys_r", alpha=0.6)
            ax.plot(path[:, 0], path[:, 1], "-", color=f"C{i}", linewidth=1.0)
            ax.plot(*START, "ko", markersize=4)
            ax.plot(ws[best[1]], bs[best[0]], "k*", markersize=8)
            ax.set(title=f"{name}: loss {results[name][0][-1]:.3f}", xlim=(ws[0], ws[-1]), ylim=(bs[0], bs[-1]))
        for ax in axes[1]:
            ax.set_xlabel("w (kernel)")
        for ax in axes[:, 0]:
            ax.set_ylabel("b (bias)")
        fig.suptitle(f"{STEPS} steps from the dot; the star is the lowest loss (darker: lower loss)")
        return _plot.save(fig, outdir, "optimizers_paths.png")


def main(outdir="."):
    """Writes optimizers_loss.png, optimizers_paths.png and optimizers.txt into outdir."""
    import _plot

    results = run_all()
    text = report(results)
    print(text)
    _plot.write_text(outdir, "optimizers.txt", text)
    plot(results, outdir)


if __name__ == "__main__":
    main(*sys.argv[1:])
