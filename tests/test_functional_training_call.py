"""``model(x, training=True)`` on a graph functional model (several inputs/outputs, merge
layers, shared layers, nested models), as Keras runs it: Dropout draws a fresh mask per
call (per call of a shared layer too), BatchNormalization normalizes with the batch's
statistics and updates its moving statistics (``m = m * momentum + batch * (1 - momentum)``,
the biased batch variance), a BatchNormalization frozen with ``trainable = False`` runs in
inference mode; ``training=False`` / None is ``predict``. References are NumPy, written from
the layers' weights; float32 tolerances rtol 1e-5 / atol 1e-5 (reductions of at most 16 terms).
"""
import threading

import numpy as np
import pytest

import ranvier
from ranvier import layers as L

RTOL, ATOL = 1e-5, 1e-5


def _dense(x, w, b, act=None):
    y = x.astype(np.float64) @ w.astype(np.float64) + b
    if act == "tanh":
        y = np.tanh(y)
    elif act == "relu":
        y = np.maximum(y, 0.0)
    return y


def _bn_train(x, gamma, beta, eps):
    x = x.astype(np.float64)
    mean, var = x.mean(axis=0), x.var(axis=0)  # the biased variance, as Keras
    return (x - mean) / np.sqrt(var + eps) * gamma + beta, mean, var


def _rng(seed=0):
    return np.random.default_rng(seed)


# ----------------------------------------------------------------------------- no noise: == predict
def _merge_graph():
    a = ranvier.Input((4,), name="a")
    b = ranvier.Input((4,), name="b")
    shared = L.Dense(6, activation="tanh", name="shared")
    ha, hb = shared(a), shared(b)
    cat = L.Concatenate(name="cat")([ha, hb])
    o1 = L.Dense(3, name="o1")(cat)
    o2 = L.Dense(2, name="o2")(L.Multiply(name="mul")([ha, hb]))
    return ranvier.Model({"a": a, "b": b}, {"o1": o1, "o2": o2})


def test_shared_layer_and_merges_match_numpy_and_predict():
    m = _merge_graph()
    xa = _rng(1).normal(size=(9, 4)).astype(np.float32)
    xb = _rng(2).normal(size=(9, 4)).astype(np.float32)
    x = {"a": xa, "b": xb}
    ws, bs = m.get_layer("shared").get_weights()
    w1, b1 = m.get_layer("o1").get_weights()
    w2, b2 = m.get_layer("o2").get_weights()
    ha, hb = _dense(xa, ws, bs, "tanh"), _dense(xb, ws, bs, "tanh")
    ref1 = _dense(np.concatenate([ha, hb], axis=1), w1, b1)
    ref2 = _dense(ha * hb, w2, b2)
    pred = m.predict(x, verbose=0)
    for training in (True, False, None):
        out = m(x, training=training) if training is not None else m(x)
        assert isinstance(out, dict) and sorted(out) == ["o1", "o2"]
        assert out["o1"].shape == (9, 3) and out["o2"].shape == (9, 2)
        assert out["o1"].dtype == np.float32 and out["o2"].dtype == np.float32
        np.testing.assert_allclose(out["o1"], ref1, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(out["o2"], ref2, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(out["o1"], pred["o1"], rtol=RTOL, atol=ATOL)
    # inputs as a list (in the order of model.inputs) give the same
    out = m([xa, xb], training=True)
    np.testing.assert_allclose(out["o1"], ref1, rtol=RTOL, atol=ATOL)


def test_training_false_is_predict_bit_for_bit():
    m = _merge_graph()
    x = {"a": _rng(3).normal(size=(5, 4)).astype(np.float32), "b": _rng(4).normal(size=(5, 4)).astype(np.float32)}
    pred = m.predict(x, verbose=0)
    for out in (m(x, training=False), m(x)):
        for k in pred:
            np.testing.assert_array_equal(out[k], pred[k])


def test_nested_sequential_reshape_repeatvector_shapes():
    inner = ranvier.Sequential([L.Dense(6, activation="relu", name="i1"), L.Dense(6, name="i2")], name="inner")
    a = ranvier.Input((3,))
    r = L.Reshape((2, 3))(inner(a))
    rep = L.RepeatVector(2)(L.Dense(4, name="d4")(a))
    m = ranvier.Model(a, [r, rep])
    x = _rng(5).normal(size=(7, 3)).astype(np.float32)
    out = m(x, training=True)
    assert isinstance(out, list) and out[0].shape == (7, 2, 3) and out[1].shape == (7, 2, 4)
    w1, b1 = m.get_layer("inner").get_layer("i1").get_weights()
    w2, b2 = m.get_layer("inner").get_layer("i2").get_weights()
    ref0 = _dense(_dense(x, w1, b1, "relu"), w2, b2).reshape(7, 2, 3)
    w4, b4 = m.get_layer("d4").get_weights()
    ref1 = np.repeat(_dense(x, w4, b4)[:, None, :], 2, axis=1)
    np.testing.assert_allclose(out[0], ref0, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(out[1], ref1, rtol=RTOL, atol=ATOL)
    pred = m.predict(x, verbose=0)
    np.testing.assert_allclose(out[0], pred[0], rtol=RTOL, atol=ATOL)


def test_raw_string_and_int_inputs_lookup_and_embedding():
    s = ranvier.Input((1,), dtype="string", name="s")
    i = ranvier.Input((2,), dtype="int32", name="i")
    look = L.StringLookup(vocabulary=["a", "b", "c"], output_mode="one_hot", name="look")
    emb = L.Embedding(10, 3, name="emb")
    o = L.Dense(2, name="o")(L.Concatenate()([look(s), L.Flatten()(emb(i))]))
    m = ranvier.Model([s, i], o)
    xs = np.array([["a"], ["c"], ["zz"], ["b"]])
    xi = np.array([[1, 2], [3, 9], [0, 0], [5, 5]], dtype=np.int32)
    onehot = np.zeros((4, 4))
    onehot[np.arange(4), [1, 3, 0, 2]] = 1.0  # index 0 is the OOV token
    (table,) = m.get_layer("emb").get_weights()
    w, b = m.get_layer("o").get_weights()
    ref = _dense(np.concatenate([onehot, table[xi].reshape(4, 6)], axis=1), w, b)
    out = m([xs, xi], training=True)
    np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(m.predict([xs, xi], verbose=0), ref, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("mode", ["multi_hot", "count"])
def test_chain_model_raw_int_lookup_training_call(mode):
    # a chain (lowered to Sequential): the lookup layer gets its indices once, not re-encoded
    q = ranvier.Input((3,), dtype="int64")
    look = L.IntegerLookup(vocabulary=[10, 20, 30], output_mode=mode)
    m = ranvier.Model(q, L.Dense(2, name="o")(look(q)))
    x = np.array([[10, 30, 99], [20, 20, 20]], dtype=np.int64)
    idx = np.array([[1, 3, 0], [2, 2, 2]])
    enc = np.zeros((2, 4))
    for r in range(2):
        for k in idx[r]:
            enc[r, k] += 1.0
    if mode == "multi_hot":
        enc = (enc > 0).astype(np.float64)
    w, b = m.get_layer("o").get_weights()
    np.testing.assert_allclose(m(x, training=True), _dense(enc, w, b), rtol=RTOL, atol=ATOL)


def test_sequential_string_lookup_first_training_call():
    look = L.StringLookup(vocabulary=["a", "b", "c"], output_mode="one_hot")
    m = ranvier.Sequential([ranvier.Input((1,), dtype="string"), look, L.Dense(2, name="o")])
    x = np.array([["b"], ["zz"], ["c"]])
    onehot = np.zeros((3, 4))
    onehot[np.arange(3), [2, 0, 3]] = 1.0
    w, b = m.get_layer("o").get_weights()
    np.testing.assert_allclose(m(x, training=True), _dense(onehot, w, b), rtol=RTOL, atol=ATOL)


# ----------------------------------------------------------------------------- BatchNormalization
def test_batchnorm_batch_statistics_and_moving_update():
    a = ranvier.Input((4,), name="a")
    b = ranvier.Input((3,), name="b")
    bn = L.BatchNormalization(momentum=0.9, epsilon=1e-3, name="bn")
    h = L.Concatenate()([a, L.Dense(3, name="d")(b)])
    o = L.Dense(2, name="o")(bn(h))
    m = ranvier.Model([a, b], [o, h])
    gamma = _rng(7).uniform(0.5, 2.0, size=7).astype(np.float32)
    beta = _rng(8).normal(size=7).astype(np.float32)
    mm0 = _rng(9).normal(size=7).astype(np.float32)
    mv0 = _rng(10).uniform(0.5, 2.0, size=7).astype(np.float32)
    bn.set_weights([gamma, beta, mm0, mv0])
    xa = (_rng(11).normal(size=(16, 4)) * 3 + 1).astype(np.float32)
    xb = _rng(12).normal(size=(16, 3)).astype(np.float32)
    out, h_val = m([xa, xb], training=True)
    normed, mean, var = _bn_train(h_val, gamma, beta, 1e-3)
    w, bias = m.get_layer("o").get_weights()
    np.testing.assert_allclose(out, _dense(normed, w, bias), rtol=1e-4, atol=1e-4)
    g = bn.get_weights()
    np.testing.assert_allclose(g[2], mm0 * 0.9 + mean * 0.1, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(g[3], mv0 * 0.9 + var * 0.1, rtol=RTOL, atol=ATOL)
    # a second call updates them again; predict reads them and leaves them
    m([xa, xb], training=True)
    g2 = bn.get_weights()
    np.testing.assert_allclose(g2[2], g[2] * 0.9 + mean * 0.1, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(g2[3], g[3] * 0.9 + var * 0.1, rtol=RTOL, atol=ATOL)
    pred, _ = m.predict([xa, xb], verbose=0)
    inf = (h_val - g2[2]) / np.sqrt(g2[3].astype(np.float64) + 1e-3) * gamma + beta
    np.testing.assert_allclose(pred, _dense(inf, w, bias), rtol=1e-4, atol=1e-4)
    for k in range(4):
        np.testing.assert_array_equal(bn.get_weights()[k], g2[k])


def test_shared_batchnorm_updates_once_per_call_in_call_order():
    a = ranvier.Input((5,))
    b = ranvier.Input((5,))
    bn = L.BatchNormalization(momentum=0.8)
    m = ranvier.Model([a, b], L.Add()([bn(a), bn(b)]))
    xa = (_rng(13).normal(size=(10, 5)) * 2).astype(np.float32)
    xb = (_rng(14).normal(size=(10, 5)) + 4).astype(np.float32)
    out = m([xa, xb], training=True)
    gamma, beta, mm, mv = bn.get_weights()
    na, mean_a, var_a = _bn_train(xa, gamma, beta, 1e-3)
    nb, mean_b, var_b = _bn_train(xb, gamma, beta, 1e-3)
    np.testing.assert_allclose(out, na + nb, rtol=1e-4, atol=1e-4)
    exp_m = (np.zeros(5) * 0.8 + mean_a * 0.2) * 0.8 + mean_b * 0.2
    exp_v = (np.ones(5) * 0.8 + var_a * 0.2) * 0.8 + var_b * 0.2
    np.testing.assert_allclose(mm, exp_m, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(mv, exp_v, rtol=RTOL, atol=ATOL)


def test_batchnorm_in_nested_functional_model():
    i = ranvier.Input((3,))
    bn = L.BatchNormalization(momentum=0.5)
    inner = ranvier.Model(i, [bn(i), L.Dense(2)(i)], name="inner")
    a = ranvier.Input((3,))
    b = ranvier.Input((3,))
    p, q = inner(a)
    m = ranvier.Model([a, b], L.Concatenate()([p, q, b]))
    x = (_rng(15).normal(size=(6, 3)) * 2 + 1).astype(np.float32)
    out = m([x, x], training=True)
    normed, mean, var = _bn_train(x, np.ones(3), np.zeros(3), 1e-3)
    np.testing.assert_allclose(out[:, :3], normed, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out[:, 5:], x, rtol=0, atol=0)
    np.testing.assert_allclose(bn.get_weights()[2], mean * 0.5, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(bn.get_weights()[3], 0.5 + var * 0.5, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("graph", [True, False])
def test_frozen_batchnorm_runs_in_inference_mode(graph):
    bn = L.BatchNormalization()
    if graph:
        a = ranvier.Input((4,))
        m = ranvier.Model(a, [L.Dense(2)(bn(a)), bn(a)])
    else:
        m = ranvier.Sequential([ranvier.Input((4,)), bn, L.Dense(2)])
    x = (_rng(16).normal(size=(8, 4)) * 3 + 2).astype(np.float32)
    bn.trainable = False  # after the model was built: Keras's call reads the flag at once
    before = bn.get_weights()
    out = m(x, training=True)
    pred = m.predict(x, verbose=0)
    for o, p in zip(out if graph else [out], pred if graph else [pred]):
        np.testing.assert_allclose(o, p, rtol=RTOL, atol=ATOL)
    for w0, w1 in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(w0, w1)
    bn.trainable = True
    m(x, training=True)
    mean = x.astype(np.float64).mean(axis=0)
    expected = np.zeros(4)
    for _ in range(2 if graph else 1):  # the graph calls bn twice
        expected = expected * 0.99 + mean * 0.01
    np.testing.assert_allclose(bn.get_weights()[2], expected, rtol=RTOL, atol=1e-6)


# ----------------------------------------------------------------------------- Dropout
def test_dropout_masks_fresh_per_call_and_per_shared_call():
    rate = 0.3
    a = ranvier.Input((1000,))
    dr = L.Dropout(rate)
    m = ranvier.Model(a, [dr(a), dr(a)])
    x = np.ones((50, 1000), np.float32)
    o1, o2 = m(x, training=True)
    n = x.size
    for o in (o1, o2):
        dropped = (o == 0).mean()
        # binomial(n, rate): 6 standard deviations
        assert abs(dropped - rate) < 6 * np.sqrt(rate * (1 - rate) / n)
        np.testing.assert_allclose(o[o != 0], 1.0 / (1.0 - rate), rtol=1e-6)
    # the two calls of the shared layer draw independent masks: agreement rate^2 + (1-rate)^2
    agree = ((o1 == 0) == (o2 == 0)).mean()
    expected = rate ** 2 + (1 - rate) ** 2
    assert abs(agree - expected) < 6 * np.sqrt(expected * (1 - expected) / n)
    o3, _ = m(x, training=True)
    agree = ((o1 == 0) == (o3 == 0)).mean()
    assert abs(agree - expected) < 6 * np.sqrt(expected * (1 - expected) / n)
    for o in m(x, training=False):
        np.testing.assert_array_equal(o, x)


def test_monte_carlo_dropout_mean_approaches_predict():
    a = ranvier.Input((8,))
    b = ranvier.Input((8,))
    h = L.Dropout(0.5)(L.Concatenate()([a, b]))
    m = ranvier.Model([a, b], L.Dense(1, name="o")(h))
    xa = _rng(17).normal(size=(4, 8)).astype(np.float32)
    xb = _rng(18).normal(size=(4, 8)).astype(np.float32)
    draws = np.stack([m([xa, xb], training=True) for _ in range(400)])
    pred = m.predict([xa, xb], verbose=0)
    w, _ = m.get_layer("o").get_weights()
    # each draw: sum_j w_j x_j m_j / 0.5 with m_j ~ Bernoulli(0.5): variance sum_j (w_j x_j)^2
    x = np.concatenate([xa, xb], axis=1).astype(np.float64)
    sd = np.sqrt(((w[:, 0] * x) ** 2).sum(axis=1)) / np.sqrt(400)
    assert np.all(np.abs(draws.mean(axis=0)[:, 0] - pred[:, 0]) < 6 * sd)
    assert draws.std(axis=0).min() > 0  # the draws differ


# ----------------------------------------------------------------------------- the rest
def test_forward_training_gives_flat_outputs():
    m = _merge_graph()
    x = [np.ones((3, 4), np.float32), np.zeros((3, 4), np.float32)]
    outs = m._forward_training(x)
    assert isinstance(outs, list) and [o.shape for o in outs] == [(3, 3), (3, 2)]
    ref = m.predict(x, verbose=0)
    np.testing.assert_allclose(outs[0], ref["o1"], rtol=RTOL, atol=ATOL)


def test_input_given_back_as_output_is_a_copy():
    a = ranvier.Input((3,))
    b = ranvier.Input((2,))
    m = ranvier.Model([a, b], [a, L.Dense(2)(b)])
    xa = np.arange(6, dtype=np.float32).reshape(2, 3)
    out = m([xa, np.ones((2, 2), np.float32)], training=True)
    np.testing.assert_array_equal(out[0], xa)
    out[0][...] = -1
    np.testing.assert_array_equal(xa, np.arange(6, dtype=np.float32).reshape(2, 3))


def test_activity_regularization_losses_after_training_call():
    a = ranvier.Input((3,))
    b = ranvier.Input((2,))
    m = ranvier.Model([a, b], L.Concatenate()([L.ActivityRegularization(l1=0.5)(a), L.Dense(2)(b)]))
    xa = _rng(19).normal(size=(4, 3)).astype(np.float32)
    m([xa, np.ones((4, 2), np.float32)], training=True)
    # Keras: l1 * sum|x| / batch size
    np.testing.assert_allclose(sum(m.losses), 0.5 * np.abs(xa).sum() / 4, rtol=RTOL)


def test_errors_are_clear():
    m = _merge_graph()
    with pytest.raises(ValueError, match="2 inputs"):
        m([np.ones((2, 4), np.float32)], training=True)
    with pytest.raises(ValueError, match="shape"):
        m([np.ones((2, 5), np.float32), np.ones((2, 4), np.float32)], training=True)
    with pytest.raises(TypeError, match="unexpected"):
        m([np.ones((2, 4), np.float32)] * 2, training=True, foo=1)
    with pytest.raises(ValueError, match="not finite|NaN|finite"):
        m([np.full((2, 4), np.nan, np.float32), np.ones((2, 4), np.float32)], training=True)


def test_training_call_from_fit_callback_and_refused_while_other_thread_trains():
    m = _merge_graph()
    m.compile("sgd", "mse")
    x = {"a": np.ones((8, 4), np.float32), "b": np.ones((8, 4), np.float32)}
    y = {"o1": np.zeros((8, 3), np.float32), "o2": np.zeros((8, 2), np.float32)}
    seen = []

    class CB(ranvier.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model(x, training=True)["o1"].shape)

    m.fit(x, y, epochs=2, verbose=0, callbacks=[CB()])
    assert seen == [(8, 3), (8, 3)]

    started, release, errors = threading.Event(), threading.Event(), []

    class Hold(ranvier.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            started.set()
            release.wait(10)

    t = threading.Thread(target=lambda: m.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[Hold()]))
    t.start()
    try:
        assert started.wait(10)
        try:
            m(x, training=True)
        except RuntimeError as e:
            errors.append(str(e))
    finally:
        release.set()
        t.join(20)
    assert len(errors) == 1 and "another thread" in errors[0], errors
