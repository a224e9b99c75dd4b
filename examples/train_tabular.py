"""Wide-and-deep classifier on a mixed numeric + categorical table, with the functional API.

    python examples/train_tabular.py                     # 100k rows, 5 epochs
    python examples/train_tabular.py --rows 5000 --epochs 2 --out /tmp/tabular

The table (examples/tabular_data.py) has 8 numeric columns on very different scales and
three id columns (store: 1000 levels, product: 100, region: 20); the label is drawn from
a known function of them, so the best possible held-out AUC is known and printed. The
model normalizes the numeric columns (Normalization.adapt on the training rows), embeds
each id column (Embedding + Flatten), concatenates everything and ends in an MLP with a
sigmoid output. Swap `import ranvier as keras` for `import keras` and the model, fit and
evaluate run unchanged (the .safetensors model file is ranvier's).

It saves the model to OUT/tabular.safetensors, reloads it and checks the reloaded model
predicts the held-out rows exactly as the trained one, and writes the first held-out rows
for the C example (examples/c/tabular.c): one raw float32 file per input,
OUT/rows/<input>.f32 (ids as exact float32 integers, as the C API takes them), and
Python's predictions, OUT/rows/python.txt (%.9g, exact for float32). Then

    predict_tabular_c OUT/tabular.safetensors OUT/rows > OUT/rows/c.txt
    diff OUT/rows/python.txt OUT/rows/c.txt               # no output: the same numbers
"""
import argparse
import os
import time

import numpy as np

import ranvier as keras
from tabular_data import CATEGORICAL_LEVELS, EMBEDDING_DIMS, NUMERIC_FEATURES, load_data, roc_auc, true_probability


def build_model(x_train):
    num = keras.Input(shape=(NUMERIC_FEATURES,), name="num")
    norm = keras.layers.Normalization(name="norm")
    norm.adapt(x_train["num"])                      # mean and variance of each numeric column
    inputs = {"num": num}
    features = [norm(num)]
    for name, levels in CATEGORICAL_LEVELS.items():
        ids = keras.Input(shape=(1,), name=name, dtype="int64")
        inputs[name] = ids
        vectors = keras.layers.Embedding(levels, EMBEDDING_DIMS[name], name=f"{name}_embedding")(ids)
        features.append(keras.layers.Flatten(name=f"{name}_flat")(vectors))
    x = keras.layers.Concatenate(name="features")(features)
    x = keras.layers.Dense(64, activation="relu")(x)
    x = keras.layers.Dense(32, activation="relu")(x)
    out = keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
    return keras.Model(inputs, out, name="wide_and_deep")


def write_rows(rows_dir, x, p):
    """The rows for the C app: one float32 file per input, and Python's predictions."""
    os.makedirs(rows_dir, exist_ok=True)
    for name, col in x.items():
        col.astype("<f4").tofile(os.path.join(rows_dir, f"{name}.f32"))
    with open(os.path.join(rows_dir, "python.txt"), "w") as f:
        for row in p:
            f.write(" ".join(f"{float(v):.9g}" for v in row) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000, help="training rows (default 100000)")
    ap.add_argument("--test-rows", type=int, default=20_000, help="held-out rows (default 20000)")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--out", default="tabular_out", help="folder for the model file and the C app's rows")
    ap.add_argument("--c-rows", type=int, default=64, help="held-out rows written for the C app")
    args = ap.parse_args()

    keras.utils.set_random_seed(42)
    (x_train, y_train), (x_test, y_test) = load_data(args.rows, args.test_rows, seed=0)

    model = build_model(x_train)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="binary_crossentropy",
                  metrics=["accuracy", keras.metrics.AUC(name="auc")])
    model.summary()

    t0 = time.perf_counter()
    history = model.fit(x_train, y_train, batch_size=256, epochs=args.epochs, validation_split=0.1, verbose=2)
    elapsed = time.perf_counter() - t0
    loss, acc, auc = model.evaluate(x_test, y_test, batch_size=1024, verbose=0)
    p_test = model.predict(x_test, batch_size=1024, verbose=0)
    best = true_probability(x_test, seed=0)
    n_val = int(0.1 * args.rows)
    print(f"trained {len(history.epoch)} epochs of {args.rows - n_val} rows (+ {n_val} validation rows) "
          f"in {elapsed:.2f} s")
    print(f"held-out: loss {loss:.4f}, accuracy {acc:.4f}, AUC {auc:.4f} (exact: {roc_auc(y_test, p_test):.4f}); "
          f"the generating probability reaches AUC {roc_auc(y_test, best):.4f}, "
          f"accuracy {np.mean((best > 0.5) == (y_test[:, 0] > 0.5)):.4f}")

    os.makedirs(args.out, exist_ok=True)
    # ranvier's model file (C and C++ apps load it); Keras itself writes .keras archives
    path = os.path.join(args.out, "tabular.safetensors" if keras.__name__ == "ranvier" else "tabular.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    same = np.array_equal(reloaded.predict(x_test, batch_size=1024, verbose=0), p_test)
    print(f"saved {path}; the reloaded model predicts the {len(y_test)} held-out rows "
          f"{'identically' if same else 'DIFFERENTLY'}")
    if not same:
        raise SystemExit("the reloaded model's predictions differ from the trained model's")

    n = min(args.c_rows, len(y_test))
    rows = {name: col[:n] for name, col in x_test.items()}
    rows_dir = os.path.join(args.out, "rows")
    write_rows(rows_dir, rows, p_test[:n])
    print(f"wrote {n} held-out rows for the C app to {rows_dir}/ (one .f32 file per input) and Python's "
          f"predictions to {rows_dir}/python.txt")


if __name__ == "__main__":
    main()
