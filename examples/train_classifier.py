"""Classify 8x8 handwritten digits with an MLP, written as a Keras user would.

    python examples/train_classifier.py

Swap `import ranvier as keras` for `import keras` and the script runs unchanged.
Uses scikit-learn's bundled digits data (no download); falls back to synthetic
data when scikit-learn is not installed.
"""
import time

import numpy as np

import ranvier as keras


def load_data():
    try:
        from sklearn.datasets import load_digits
    except ImportError:  # synthetic 10-class problem from a random linear teacher
        rng = np.random.default_rng(0)
        x = rng.random((1797, 64), dtype=np.float32)
        y = np.argmax(x @ rng.standard_normal((64, 10)).astype(np.float32), axis=1)
        return x, y
    digits = load_digits()
    return (digits.data / 16.0).astype(np.float32), digits.target


def main():
    keras.utils.set_random_seed(42)
    x, y = load_data()
    idx = np.random.default_rng(0).permutation(len(x))
    x, y = x[idx], y[idx]
    split = int(0.8 * len(x))
    x_train, y_train, x_test, y_test = x[:split], y[:split], x[split:], y[split:]

    model = keras.Sequential([
        keras.Input(shape=(64,)),
        keras.layers.Dense(128, activation="relu"),
        keras.layers.Dropout(0.1),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.summary()

    t0 = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=32, epochs=30, validation_split=0.1,
                        callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=5,
                                                                 restore_best_weights=True)],
                        verbose=2)
    elapsed = time.perf_counter() - t0
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"trained {len(history.epoch)} epochs in {elapsed:.2f} s; "
          f"test loss {loss:.4f}, test accuracy {acc:.4f}")
    probs = model.predict(x_test[:5], verbose=0)
    print("predicted:", probs.argmax(axis=1), "true:", y_test[:5])


if __name__ == "__main__":
    main()
