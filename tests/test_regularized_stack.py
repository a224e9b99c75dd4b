"""The benchmark's regularized network (bench/train_workloads.py W5, scaled down):
Dense(relu) -> BatchNormalization -> Dropout after each hidden layer, softmax output,
sparse categorical cross-entropy, AdamW. Trained by ``fit`` and checked step by step against
a float64 NumPy reference written here, so that the composed training step (BN batch
statistics and their backward pass, the moving-statistics update, AdamW's decoupled decay on
every trainable variable - kernels, biases, gamma and beta - but never on the moving
statistics) is what Keras 3 computes, and inference (predict/evaluate) uses the moving
statistics with dropout off.

Keras 3 facts used by the reference: BatchNormalization normalizes with the biased batch
variance and updates ``moving = m * moving + (1 - m) * batch_stat``; AdamW first applies
``w -= lr * wd * w`` to every trainable variable, then the Adam step
``w -= lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)``.

Tolerance: 5 steps of a 12-8-6-3 network in float32 against float64. Adam divides by
sqrt(v), so a gradient that is zero up to rounding would turn into a full-size random step;
epsilon=1e-3 (large next to rounding-level gradients, small next to the real ones) keeps the
comparison well conditioned. Per step each float32 value carries a few ulps of relative
error times the short reduction lengths here (<= 16), amplified by at most 1/(1 - b1) in
Adam's moment ratio; 2e-5 of each variable's magnitude (plus 1e-6 absolute for values that
start at zero) bounds that with room to spare (measured: <= 6e-7) and is far below the
decay's own effect, about 4e-3 here (checked: the reference without decay is out of
tolerance).
"""
from __future__ import annotations

import numpy as np
import pytest

import ranvier as rv

D, H1, H2, K = 12, 8, 6, 3
BATCH, STEPS = 16, 5
LR, WD, B1, B2, ADAM_EPS = 0.01, 0.1, 0.9, 0.999, 1e-3
MOM, BN_EPS = 0.9, 1e-3


def _data(seed):
    r = np.random.default_rng(seed)
    x = r.normal(size=(BATCH * STEPS, D)).astype(np.float32)
    y = r.integers(0, K, size=BATCH * STEPS)
    w = [r.normal(scale=0.5, size=(D, H1)), r.normal(scale=0.1, size=H1),
         r.normal(scale=0.5, size=(H1, H2)), r.normal(scale=0.1, size=H2),
         r.normal(scale=0.5, size=(H2, K)), r.normal(scale=0.1, size=K)]
    return x, y, [a.astype(np.float32) for a in w]


def _model(init, dropout):
    layers = [rv.Input(shape=(D,))]
    dense = []
    for h in (H1, H2):
        dense.append(rv.layers.Dense(h, activation="relu"))
        layers += [dense[-1], rv.layers.BatchNormalization(momentum=MOM, epsilon=BN_EPS)]
        if dropout:
            layers.append(rv.layers.Dropout(dropout, seed=7))
    dense.append(rv.layers.Dense(K, activation="softmax"))
    layers.append(dense[-1])
    m = rv.Sequential(layers)
    m.compile(optimizer=rv.optimizers.AdamW(learning_rate=LR, weight_decay=WD, beta_1=B1, beta_2=B2,
                                            epsilon=ADAM_EPS),
              loss="sparse_categorical_crossentropy")
    for i, layer in enumerate(dense):
        layer.set_weights(init[2 * i:2 * i + 2])
    return m


# ----------------------------------------------------------------------------- float64 reference
def _state0(init):
    """[W1, b1, g1, be1, mm1, mv1, W2, b2, g2, be2, mm2, mv2, W3, b3] (Keras's weight order)."""
    f = [np.asarray(a, np.float64) for a in init]
    return [f[0], f[1], np.ones(H1), np.zeros(H1), np.zeros(H1), np.ones(H1),
            f[2], f[3], np.ones(H2), np.zeros(H2), np.zeros(H2), np.ones(H2), f[4], f[5]]


TRAINABLE = [0, 1, 2, 3, 6, 7, 8, 9, 12, 13]


def _forward_backward(s, x, y):
    """Loss, gradients of the trainable variables (in TRAINABLE order), batch statistics."""
    cache, h, stats = [], x.astype(np.float64), []
    for i in (0, 6):
        W, b, g, be = s[i], s[i + 1], s[i + 2], s[i + 3]
        z = h @ W + b
        a = np.maximum(z, 0.0)
        mu, var = a.mean(0), a.var(0)
        xh = (a - mu) / np.sqrt(var + BN_EPS)
        cache.append((h, z, xh, var, g))
        stats.append((mu, var))
        h = g * xh + be
    logits = h @ s[12] + s[13]
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    n = x.shape[0]
    loss = float(-np.mean(np.log(p[np.arange(n), y])))
    dl = p.copy()
    dl[np.arange(n), y] -= 1.0
    dl /= n
    grads = {12: h.T @ dl, 13: dl.sum(0)}
    dh = dl @ s[12].T
    for i, (hin, z, xh, var, g) in zip((6, 0), reversed(cache)):
        grads[i + 2] = (dh * xh).sum(0)
        grads[i + 3] = dh.sum(0)
        dxh = dh * g
        da = (dxh - dxh.mean(0) - xh * (dxh * xh).mean(0)) / np.sqrt(var + BN_EPS)
        dz = da * (z > 0)
        grads[i] = hin.T @ dz
        grads[i + 1] = dz.sum(0)
        dh = dz @ s[i].T
    return loss, [grads[i] for i in TRAINABLE], stats


def _reference_fit(init, x, y, wd):
    s = _state0(init)
    m = [np.zeros_like(s[i]) for i in TRAINABLE]
    v = [np.zeros_like(s[i]) for i in TRAINABLE]
    history = []
    for t in range(1, STEPS + 1):
        xb, yb = x[(t - 1) * BATCH:t * BATCH], y[(t - 1) * BATCH:t * BATCH]
        loss, grads, stats = _forward_backward(s, xb, yb)
        history.append([a.copy() for a in s])
        for (mu, var), i in zip(stats, (0, 6)):
            s[i + 4] = MOM * s[i + 4] + (1 - MOM) * mu
            s[i + 5] = MOM * s[i + 5] + (1 - MOM) * var
        alpha = LR * np.sqrt(1 - B2 ** t) / (1 - B1 ** t)
        for j, (i, gr) in enumerate(zip(TRAINABLE, grads)):
            s[i] = s[i] - LR * wd * s[i]  # decoupled decay first, on every trainable variable
            m[j] = B1 * m[j] + (1 - B1) * gr
            v[j] = B2 * v[j] + (1 - B2) * gr * gr
            s[i] = s[i] - alpha * m[j] / (np.sqrt(v[j]) + ADAM_EPS)
    return s


def _inference(s, x):
    h = x.astype(np.float64)
    for i in (0, 6):
        a = np.maximum(h @ s[i] + s[i + 1], 0.0)
        h = s[i + 2] * (a - s[i + 4]) / np.sqrt(s[i + 5] + BN_EPS) + s[i + 3]
    logits = h @ s[12] + s[13]
    p = np.exp(logits - logits.max(1, keepdims=True))
    return p / p.sum(1, keepdims=True)


def _close(got, want, start):
    return np.abs(got - want) <= 2e-5 * np.max(np.abs(start) + np.abs(want)) + 1e-6


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bn_adamw_training_matches_float64_reference(isa, seed):
    x, y, init = _data(seed)
    model = _model(init, dropout=None)
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    got = model.get_weights()
    want = _reference_fit(init, x, y, WD)
    start = _state0(init)
    assert len(got) == len(want)
    for k, (g, w, s0) in enumerate(zip(got, want, start)):
        ok = _close(g, w, s0)
        assert ok.all(), (f"variable {k}: max |diff| {np.max(np.abs(g - w)):.3g} "
                          f"(scale {np.max(np.abs(w)):.3g})")
    # the check can see the decay: without it the reference is out of tolerance
    nodecay = _reference_fit(init, x, y, 0.0)
    assert not all(_close(g, w, s0).all() for g, w, s0 in zip(got, nodecay, start))


def test_moving_statistics_are_not_decayed():
    """AdamW's decay touches trainable variables only: with lr*wd large, decayed moving
    statistics would be visibly shrunk (moving_variance starts at 1)."""
    x, y, init = _data(3)
    model = _model(init, dropout=None)
    model.fit(x, y, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    want = _reference_fit(init, x, y, WD)
    got = model.get_weights()
    for k in (4, 5, 10, 11):
        np.testing.assert_allclose(got[k], want[k], rtol=2e-5, atol=1e-6, err_msg=f"moving statistic {k}")


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_inference_uses_moving_statistics_and_no_dropout(rate):
    """With Dropout in the stack, predict/evaluate after training are the deterministic
    inference function of the trained weights (moving statistics, dropout off)."""
    x, y, init = _data(4)
    model = _model(init, dropout=rate)
    model.fit(x, y, batch_size=BATCH, epochs=2, shuffle=True, verbose=0)
    w = [np.asarray(a, np.float64) for a in model.get_weights()]
    assert not np.allclose(w[4], 0.0) and not np.allclose(w[5], 1.0)  # moving stats did move
    want = _inference(w, x)
    p1 = model.predict(x, verbose=0, batch_size=7)
    p2 = model.predict(x, verbose=0, batch_size=BATCH * STEPS)
    np.testing.assert_allclose(p1, want, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(p1, p2, rtol=1e-5, atol=1e-7)  # batch size does not change inference
    ce = float(-np.mean(np.log(want[np.arange(len(y)), y])))
    got = model.evaluate(x, y, verbose=0)
    got = got[0] if isinstance(got, (list, tuple)) else got
    assert abs(float(got) - ce) <= 1e-4 * max(1.0, ce)
