"""W5 investigation, run-to-run spread: held-out accuracy of the W5-shaped model (16384 rows, 4
epochs, batch 128, AdamW) over seeds. With SHUFFLE=1 each epoch's permutation comes from NumPy
(seed 1000 + seed), the same for every framework, so runs of the same seed see the same batches
and differ only by dropout masks and rounding (pair them). Run with the peers' Python:
    python bench/w5_check_spread.py keras|ranvier DROPOUT_RATE SHUFFLE(0|1) SEED...
"""
import sys, os, numpy as np
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "python")); sys.path.insert(0, HERE)
os.environ["KERAS_BACKEND"] = "tensorflow"
import train_workloads as TW
fw, drop, shuf = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "1"
seeds = [int(s) for s in sys.argv[4:]]
lib = __import__("keras") if fw == "keras" else __import__("ranvier")
x, y = TW.make_data("W5", 16384); xt, yt = TW.make_data("W5", 10000, which="test")
init = TW.initial_weights("W5")
accs = []
for sd in seeds:
    lib.utils.set_random_seed(sd)
    L = [lib.Input(shape=(784,))]; dense = []
    for h in (256, 128):
        dense.append(lib.layers.Dense(h, activation="relu")); L.append(dense[-1])
        L.append(lib.layers.BatchNormalization(momentum=0.99, epsilon=1e-3))
        if drop: L.append(lib.layers.Dropout(drop))
    dense.append(lib.layers.Dense(10, activation="softmax")); L.append(dense[-1])
    m = lib.Sequential(L)
    m.compile(optimizer=lib.optimizers.AdamW(learning_rate=1e-3, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                                             epsilon=1e-8), loss="sparse_categorical_crossentropy")
    for i, l in enumerate(dense): l.set_weights(init[2*i:2*i+2])
    r = np.random.default_rng(1000 + sd)
    for ep in range(4):
        p = r.permutation(len(x)) if shuf else np.arange(len(x))
        m.fit(x[p], y[p], batch_size=128, epochs=1, verbose=0, shuffle=False)
    acc = TW.score("W5", m.predict(xt, verbose=0, batch_size=1024), yt)["accuracy"]
    accs.append(acc); print(fw, "drop", drop, "shuffle", shuf, "seed", sd, "acc", round(acc, 4), flush=True)
print(f"SUMMARY {fw} drop={drop} shuffle={shuf}: mean {np.mean(accs):.4f} sd {np.std(accs, ddof=1) if len(accs)>1 else 0:.4f} min {min(accs):.4f} max {max(accs):.4f} n={len(accs)}")
