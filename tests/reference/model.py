"""Float64 reference of one full training step of an MLP (forward, loss, backward, update).

Written from Keras 3's formulas, independent of ranvier.
"""
import numpy as np


def relu(z):
    return np.maximum(z, 0.0)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def mlp_step(weights, x, y, loss, optimizer, state, lr):
    """One step for Dense(relu) x (L-1) then Dense(softmax for CE | linear for mse).

    weights: [W1, b1, W2, b2, ...] float64; y: int labels (sparse CE) or (n, k) targets (mse).
    optimizer: "sgd" (plain) or "adam" (Keras rule, eps 1e-7, t from state["t"]).
    Returns (loss_value, new_weights).
    """
    x = x.astype(np.float64)
    n = x.shape[0]
    L = len(weights) // 2
    acts = [x]
    zs = []
    for i in range(L):
        z = acts[-1] @ weights[2 * i] + weights[2 * i + 1]
        zs.append(z)
        if i < L - 1:
            acts.append(relu(z))
    z = zs[-1]
    if loss == "sparse_categorical_crossentropy":
        p = softmax(z)
        eps = 1e-7
        q = np.clip(p, eps, 1 - eps)
        value = -np.mean(np.log(q[np.arange(n), y]))
        onehot = np.zeros_like(p)
        onehot[np.arange(n), y] = 1.0
        dz = (p - onehot) / n  # fused softmax + CE gradient (unclipped)
    elif loss == "mse":
        value = np.mean(np.mean((z - y) ** 2, axis=1))
        dz = 2.0 * (z - y) / (n * z.shape[1])
    else:
        raise ValueError(loss)
    grads = [None] * len(weights)
    for i in reversed(range(L)):
        grads[2 * i] = acts[i].T @ dz
        grads[2 * i + 1] = dz.sum(axis=0)
        if i > 0:
            dz = (dz @ weights[2 * i].T) * (zs[i - 1] > 0)
    new = []
    if optimizer == "sgd":
        new = [w - lr * g for w, g in zip(weights, grads)]
    elif optimizer == "adam":
        b1, b2, eps = 0.9, 0.999, 1e-7
        state["t"] = state.get("t", 0) + 1
        t = state["t"]
        ms = state.setdefault("m", [np.zeros_like(w) for w in weights])
        vs = state.setdefault("v", [np.zeros_like(w) for w in weights])
        alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        for j, (w, g) in enumerate(zip(weights, grads)):
            ms[j] = ms[j] + (g - ms[j]) * (1 - b1)
            vs[j] = vs[j] + (g * g - vs[j]) * (1 - b2)
            new.append(w - alpha * ms[j] / (np.sqrt(vs[j]) + eps))
    else:
        raise ValueError(optimizer)
    return value, new
