"""Regress a smooth nonlinear function of 8 features with an MLP (Keras style).

    python examples/train_regressor.py
"""
import numpy as np

import ranvier as keras


def make_data(n, rng):
    x = rng.uniform(-1.0, 1.0, size=(n, 8)).astype(np.float32)
    y = (np.sin(2 * x[:, 0]) + x[:, 1] * x[:, 2] + 0.5 * x[:, 3] ** 2 - x[:, 4]
         + 0.05 * rng.standard_normal(n)).astype(np.float32)
    return x, y.reshape(-1, 1)


def main():
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(7)
    x_train, y_train = make_data(8000, rng)
    x_test, y_test = make_data(2000, rng)

    model = keras.Sequential([
        keras.Input(shape=(8,)),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(1),
    ])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(x_train, y_train, batch_size=64, epochs=40, validation_split=0.1, verbose=2,
              callbacks=[keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=3)])
    mse, mae = model.evaluate(x_test, y_test, verbose=0)
    pred = model.predict(x_test, verbose=0)
    r2 = 1.0 - np.sum((pred - y_test) ** 2) / np.sum((y_test - y_test.mean()) ** 2)
    print(f"test mse {mse:.4f}, mae {mae:.4f}, R^2 {r2:.4f}")


if __name__ == "__main__":
    main()
