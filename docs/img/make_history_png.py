"""Regenerates docs/img/history.png from a real training run (the digits example's model).

    python docs/img/make_history_png.py
"""
import os

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

import ranvier as keras  # noqa: E402
from ranvier.plotting import plot_history  # noqa: E402  (the same as history.plot)


def main():
    keras.utils.set_random_seed(42)
    digits = load_digits()
    x, y = (digits.data / 16.0).astype(np.float32), digits.target
    idx = np.random.default_rng(0).permutation(len(x))
    x, y = x[idx], y[idx]
    model = keras.Sequential([
        keras.Input(shape=(64,)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.1),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=30, validation_split=0.2, verbose=0)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "history.png")
    plot_history(history, path=out, title="digits: Dense(128)-Dropout-Dense(64)-Dense(10), Adam", dpi=90)
    print(f"wrote {out} ({os.path.getsize(out) // 1024} KB)")


if __name__ == "__main__":
    main()
