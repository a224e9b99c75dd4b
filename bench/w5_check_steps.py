"""W5 investigation, step by step: ranvier and Keras 3 build the W5-shaped model (784-256-128-10,
Dense(relu) [-> BatchNormalization(0.99, 1e-3)] [-> Dropout] per hidden layer) from the shared
initial weights and train on the same batches (train_on_batch, no shuffling); per step it prints
both losses and each variable's max |difference| / max |value|, then predict/evaluate.
Run with the peers' Python (keras + tensorflow), from the repository root, after building:
    python bench/w5_check_steps.py BN(0|1) DROPOUT_RATE OPT(adam|adamw|sgd) STEPS
Environment: EPS (Adam epsilon, default 1e-8), WD (AdamW weight_decay, default 0.004).
E.g. `1 0 sgd 30` (BN alone), `EPS=1e-2 WD=0.5 ... 1 0 adamw 30` (BN + AdamW, with Adam's
amplification of rounding-level gradients damped)."""
import sys, os, numpy as np
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python")); sys.path.insert(0, HERE)
os.environ["KERAS_BACKEND"] = "tensorflow"
import keras, ranvier as rv
import train_workloads as TW
bn, drop, optn, steps = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
x, y = TW.make_data("W5", 128 * steps)
init = TW.initial_weights("W5")

def build(lib):
    L = [lib.Input(shape=(784,))]; dense = []
    for h in (256, 128):
        dense.append(lib.layers.Dense(h, activation="relu")); L.append(dense[-1])
        if bn: L.append(lib.layers.BatchNormalization(momentum=0.99, epsilon=1e-3))
        if drop: L.append(lib.layers.Dropout(drop))
    dense.append(lib.layers.Dense(10, activation="softmax")); L.append(dense[-1])
    m = lib.Sequential(L)
    if optn == "adamw":
        opt = lib.optimizers.AdamW(learning_rate=1e-3, weight_decay=float(os.environ.get("WD", "0.004")), beta_1=0.9, beta_2=0.999, epsilon=float(os.environ.get("EPS", "1e-8")))
    elif optn == "adam":
        opt = lib.optimizers.Adam(learning_rate=1e-3, beta_1=0.9, beta_2=0.999, epsilon=float(os.environ.get("EPS", "1e-8")))
    else:
        opt = lib.optimizers.SGD(learning_rate=0.01)
    m.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    for i, l in enumerate(dense): l.set_weights(init[2*i:2*i+2])
    return m

km, rm = build(keras), build(rv)
def names(m):
    return [w.path if hasattr(w, "path") else w.name for w in m.weights]
print("keras weights:", [(w.path, tuple(w.shape)) for w in km.weights])
print("ranvier weights:", [(getattr(w, "name", "?"), tuple(w.shape)) for w in rm.weights] if hasattr(rm, "weights") else None)
for s in range(steps):
    xb, yb = x[128*s:128*(s+1)], y[128*s:128*(s+1)]
    lk = float(km.train_on_batch(xb, yb)); lr_ = float(np.asarray(rm.train_on_batch(xb, yb)))
    kw, rw = km.get_weights(), rm.get_weights()
    d = [float(np.max(np.abs(a - b)) / (np.max(np.abs(a)) + 1e-12)) for a, b in zip(kw, rw)]
    if s < 3 or s % max(1, steps // 8) == 0 or s == steps - 1:
        print(f"step {s}: loss keras {lk:.6f} ranvier {lr_:.6f}  max rel weight diff per var:", " ".join(f"{v:.1e}" for v in d))
xt, yt = TW.make_data("W5", 1024, which="test") if "which" in TW.make_data.__code__.co_varnames else (None, None)
pk, pr = km.predict(xt, verbose=0), rm.predict(xt, verbose=0)
print("predict max abs diff", float(np.max(np.abs(pk - pr))), "acc keras", TW.score("W5", pk, yt), "ranvier", TW.score("W5", pr, yt))
print("evaluate keras", km.evaluate(xt, yt, verbose=0), "ranvier", rm.evaluate(xt, yt, verbose=0))
