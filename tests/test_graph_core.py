"""The C++ graph network through the binding alone (``_core.Network.add_input`` /
``add_node`` / ``set_outputs``, ``_core.Trainer`` with lists), against NumPy float64
forward and backward passes written here: two inputs and two outputs with a shared Dense,
fan-out, loss weights, sample weights per output, per-output losses and metrics.

Tolerances: float32 forward/backward over reductions of at most 8 terms, compared with
float64: rtol 1e-5, atol 1e-6 (the weights after one SGD step differ by the float32
rounding of the gradients times the learning rate)."""
import numpy as np
import pytest

from ranvier import _core

RTOL, ATOL = 1e-5, 1e-6
MSE = _core.loss_kind_names().index("mean_squared_error")
SCCE = _core.loss_kind_names().index("sparse_categorical_crossentropy")


def dense(units, width, activation="linear"):
    layer = _core.layer_from_config("Dense", {"units": units, "activation": activation})
    layer.build(width)
    return layer


def sgd(net, lr):
    cfg = _core.optimizer_keras_defaults(_core.OptimizerKind.sgd)
    cfg.learning_rate = lr
    opt = _core.Optimizer(cfg)
    opt.build(int(net.params().size), [(t["offset"], t["size"], True) for t in net.tensors() if t["trainable"]])
    return opt


def weights(net):
    """{(node, name): float64 copy of the weight} from the flat buffer."""
    p = net.params()
    return {(t["layer"], t["name"]): p[t["offset"]:t["offset"] + t["size"]].reshape(t["shape"]).astype(np.float64)
            for t in net.tensors()}


def init(net, rng):
    p = net.params()
    p[:] = (rng.standard_normal(p.size) * 0.5).astype(np.float32)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def two_in_two_out(rng):
    """a, b (4 features) -> S = Dense(6, tanh) on both (shared) -> out1 = Dense(2)(S(a)),
    out2 = Dense(3, softmax)(S(b))."""
    net = _core.Network()
    a = net.add_input(4, "a")
    b = net.add_input(4, "b")
    ha = net.add_node(dense(6, 4, "tanh"), [a])
    hb = net.add_node(dense(6, 4, "tanh"), [b], shares_with=0)
    o1 = net.add_node(dense(2, 6), [ha])
    o2 = net.add_node(dense(3, 6, "softmax"), [hb])
    net.set_outputs([o1, o2])
    net.finalize()
    net.bind_all()
    init(net, rng)
    return net


def reference_two_in_two_out(w, xa, xb, y1, y2, sw2, lw):
    """Forward, losses and weight gradients in float64."""
    n = xa.shape[0]
    W, bS = w[(0, "kernel")], w[(0, "bias")]
    W1, b1 = w[(2, "kernel")], w[(2, "bias")]
    W2, b2 = w[(3, "kernel")], w[(3, "bias")]
    ha = np.tanh(xa @ W + bS)
    hb = np.tanh(xb @ W + bS)
    out1 = ha @ W1 + b1
    p2 = softmax(hb @ W2 + b2)
    l1 = np.mean((out1 - y1) ** 2, axis=1)           # per sample
    l2 = -np.log(p2[np.arange(n), y2.astype(int)])   # per sample
    loss1 = l1.sum() / n                              # Keras: sum over batch size
    loss2 = (sw2 * l2).sum() / n
    d1 = lw[0] * 2.0 * (out1 - y1) / (n * out1.shape[1])
    onehot = np.eye(3)[y2.astype(int)]
    d2 = lw[1] * sw2[:, None] * (p2 - onehot) / n
    g = {(2, "kernel"): ha.T @ d1, (2, "bias"): d1.sum(0),
         (3, "kernel"): hb.T @ d2, (3, "bias"): d2.sum(0)}
    dza = (d1 @ W1.T) * (1 - ha ** 2)
    dzb = (d2 @ W2.T) * (1 - hb ** 2)
    g[(0, "kernel")] = xa.T @ dza + xb.T @ dzb      # the shared layer: both calls summed
    g[(0, "bias")] = dza.sum(0) + dzb.sum(0)
    return (out1, p2), (loss1, loss2), g


def test_two_inputs_two_outputs_one_sgd_step_matches_numpy(isa, rng):
    net = two_in_two_out(rng)
    assert net.num_inputs() == 2 and net.num_outputs() == 2
    assert [net.input_features(i) for i in range(2)] == [4, 4]
    assert [net.output_features(j) for j in range(2)] == [2, 3]
    assert [net.input_name(i) for i in range(2)] == ["a", "b"]
    assert [n["shares_with"] for n in net.nodes()] == [-1, 0, -1, -1]
    assert {t["layer"] for t in net.tensors()} == {0, 2, 3}  # the sharing node owns no weights
    n = 8
    xa = rng.standard_normal((n, 4)).astype(np.float32)
    xb = rng.standard_normal((n, 4)).astype(np.float32)
    y1 = rng.standard_normal((n, 2)).astype(np.float32)
    y2 = rng.integers(0, 3, n).astype(np.float32)
    sw2 = rng.uniform(0.2, 2.0, n).astype(np.float32)
    lw, lr = (1.0, 0.5), 0.1
    w0 = weights(net)
    (r1, r2), (loss1, loss2), g = reference_two_in_two_out(w0, xa, xb, y1, y2, sw2, lw)

    p1, p2 = net.predict_multi([xa, xb], 3)
    np.testing.assert_allclose(p1, r1, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(p2, r2, rtol=RTOL, atol=ATOL)

    acc = _core.Metric("sparse_categorical_accuracy", _core.MetricParams())
    mae = _core.Metric("mean_absolute_error", _core.MetricParams())
    metrics = [[], [acc]]
    tr = _core.Trainer(net, sgd(net, lr), losses=[(MSE, {}, lw[0]), (SCCE, {}, lw[1])],
                       metrics=metrics, weighted=[[mae], []])
    got = tr.train_batch([xa, xb], [y1, y2], [None, sw2])
    np.testing.assert_allclose(got, lw[0] * loss1 + lw[1] * loss2, rtol=RTOL)
    np.testing.assert_allclose(tr.output_mean_losses(), [loss1, loss2], rtol=RTOL)
    assert acc.result() == pytest.approx(np.mean(np.argmax(r2, axis=1) == y2))  # output 2's metric
    np.testing.assert_allclose(mae.result(), np.mean(np.abs(r1 - y1)), rtol=RTOL)  # output 1's
    w1 = weights(net)
    for key, grad in g.items():
        np.testing.assert_allclose(w1[key], w0[key] - lr * grad, rtol=RTOL, atol=ATOL, err_msg=str(key))


def test_fan_out_of_one_tensor_to_two_outputs(isa, rng):
    """x -> h = Dense(5, relu) -> out1 = Dense(2)(h), out2 = Dense(1, sigmoid)(h): h's
    gradient is the sum of both heads'."""
    net = _core.Network()
    x = net.add_input(3, "x")
    h = net.add_node(dense(5, 3, "relu"), [x])
    o1 = net.add_node(dense(2, 5), [h])
    o2 = net.add_node(dense(1, 5, "sigmoid"), [h])
    net.set_outputs([o1, o2])
    net.finalize()
    net.bind_all()
    init(net, rng)
    plan = net.workspace_plan()
    # the later head (node 2, first in reverse order) writes h's gradient; the earlier one adds in
    assert plan["grad_scratch"][2] == [-1] and plan["grad_scratch"][1][0] >= 0
    n, lr = 6, 0.05
    xs = rng.standard_normal((n, 3)).astype(np.float32)
    y1 = rng.standard_normal((n, 2)).astype(np.float32)
    y2 = rng.standard_normal((n, 1)).astype(np.float32)
    w = weights(net)
    W, b = w[(0, "kernel")], w[(0, "bias")]
    W1, b1, W2, b2 = w[(1, "kernel")], w[(1, "bias")], w[(2, "kernel")], w[(2, "bias")]
    z = xs @ W + b
    hh = np.maximum(z, 0)
    out1 = hh @ W1 + b1
    out2 = 1 / (1 + np.exp(-(hh @ W2 + b2)))
    d1 = 2 * (out1 - y1) / (n * 2)
    d2 = 0.25 * 2 * (out2 - y2) / n * out2 * (1 - out2)
    dh = (d1 @ W1.T + d2 @ W2.T) * (z > 0)
    want = {(0, "kernel"): W - lr * xs.T @ dh, (0, "bias"): b - lr * dh.sum(0),
            (1, "kernel"): W1 - lr * hh.T @ d1, (1, "bias"): b1 - lr * d1.sum(0),
            (2, "kernel"): W2 - lr * hh.T @ d2, (2, "bias"): b2 - lr * d2.sum(0)}
    tr = _core.Trainer(net, sgd(net, lr), losses=[(MSE, {}, 1.0), (MSE, {}, 0.25)], metrics=[[], []],
                       weighted=[[], []])
    loss = tr.train_batch(xs, [y1, y2], None)  # one input: a plain array is accepted
    ref = np.mean((out1 - y1) ** 2) + 0.25 * np.mean((out2 - y2) ** 2)
    np.testing.assert_allclose(loss, ref, rtol=RTOL)
    after = weights(net)
    for key, value in want.items():
        np.testing.assert_allclose(after[key], value, rtol=RTOL, atol=ATOL, err_msg=str(key))


def test_epoch_in_order_equals_train_batch_steps_and_evaluate_takes_lists(rng):
    """run() over an unshuffled epoch reads the caller's arrays in place; it gives the same
    weights as the same batches through train_batch."""
    nets = [two_in_two_out(np.random.default_rng(5)) for _ in range(2)]
    n, bs = 10, 4
    xa = rng.standard_normal((n, 4)).astype(np.float32)
    xb = rng.standard_normal((n, 4)).astype(np.float32)
    y1 = rng.standard_normal((n, 2)).astype(np.float32)
    y2 = rng.integers(0, 3, n).astype(np.float32)
    sw1 = rng.uniform(0.5, 1.5, n).astype(np.float32)
    losses = [(MSE, {}, 1.0), (SCCE, {}, 2.0)]
    t_run = _core.Trainer(nets[0], sgd(nets[0], 0.05), losses=losses, metrics=[[], []], weighted=[[], []])
    t_bat = _core.Trainer(nets[1], sgd(nets[1], 0.05), losses=losses, metrics=[[], []], weighted=[[], []])
    t_run.set_train_data([xa, xb], [y1, y2], [sw1, None], bs)
    assert t_run.steps_per_epoch() == 3
    t_run.begin_epoch(False, 0)
    assert t_run.run(100, 0.0) == 3
    t_run.clear_train_data()
    for s in range(0, n, bs):
        sl = slice(s, s + bs)
        t_bat.train_batch([xa[sl], xb[sl]], [y1[sl], y2[sl]], [sw1[sl], None], reset=False)
    np.testing.assert_array_equal(nets[0].params(), nets[1].params())
    np.testing.assert_allclose(t_run.mean_loss(), t_bat.mean_loss(), rtol=1e-12)
    np.testing.assert_allclose(t_run.output_mean_losses(), t_bat.output_mean_losses(), rtol=1e-12)
    # evaluate: the per-output losses against predict_multi's outputs
    t_run.evaluate([xa, xb], [y1, y2], None, 3)
    p1, p2 = nets[0].predict_multi([xa, xb], 16)
    l1 = np.mean((p1.astype(np.float64) - y1) ** 2)
    l2 = np.mean(-np.log(p2[np.arange(n), y2.astype(int)].astype(np.float64)))
    np.testing.assert_allclose(t_run.output_mean_losses(), [l1, l2], rtol=1e-5)
    np.testing.assert_allclose(t_run.mean_loss(), l1 + 2.0 * l2, rtol=1e-5)


def test_output_without_a_loss_gets_no_gradient(rng):
    """A None loss entry (Keras's loss list with None): that head's weights do not move."""
    net = two_in_two_out(rng)
    before = weights(net)
    n = 5
    xa, xb = (rng.standard_normal((n, 4)).astype(np.float32) for _ in range(2))
    y2 = rng.integers(0, 3, n).astype(np.float32)
    tr = _core.Trainer(net, sgd(net, 0.1), losses=[None, (SCCE, {}, 1.0)], metrics=[[], []], weighted=[[], []])
    tr.train_batch([xa, xb], [None, y2], None)
    after = weights(net)
    np.testing.assert_array_equal(after[(2, "kernel")], before[(2, "kernel")])
    assert not np.array_equal(after[(3, "kernel")], before[(3, "kernel")])
    assert tr.output_mean_losses()[0] == 0.0


def test_graph_errors_through_the_binding(rng):
    net = two_in_two_out(rng)
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"2 input\(s\), got 1"):
        net.predict_multi([x], 8)
    with pytest.raises(ValueError, match=r"input 1 must have shape \(3, 4\)"):
        net.predict_multi([x, np.zeros((2, 4), np.float32)], 8)
    tr = _core.Trainer(net, sgd(net, 0.1), losses=[(MSE, {}, 1.0), (SCCE, {}, 1.0)], metrics=[[], []],
                       weighted=[[], []])
    with pytest.raises(ValueError, match=r"y: the model has 2 output\(s\), got 1"):
        tr.train_batch([x, x], np.zeros((3, 2), np.float32), None)
    with pytest.raises(ValueError, match=r"y\[1\] must have 3 rows"):
        tr.train_batch([x, x], [np.zeros((3, 2), np.float32), np.zeros(2, np.float32)], None)
    with pytest.raises(ValueError, match=r"Trainer: the loss list has 1 entries, but the model has 2 output"):
        _core.Trainer(net, sgd(net, 0.1), losses=[(MSE, {}, 1.0)], metrics=[[], []], weighted=[[], []])
    g = _core.Network()
    g.add_input(3, "num")
    g.add_input(2, "cat")
    g.add_node(dense(2, 3), [0])
    with pytest.raises(ValueError, match=r"graph input 1 \('cat'\) is not used"):
        g.finalize()
    g2 = _core.Network()
    i = g2.add_input(3, "num")
    g2.add_node(dense(2, 5), [i])
    with pytest.raises(ValueError, match=r"node 0 \(Dense\) was built for 5 features on input 0, but graph input 0 "
                                         r"\('num'\) has 3"):
        g2.finalize()
    with pytest.raises(ValueError, match="does not exist yet"):
        g2.add_node(dense(2, 2), [9])


def test_diamond_with_the_add_merge_layer(isa, rng):
    """x -> A = Dense(5, tanh); B = Dense(3)(A), C = Dense(3, sigmoid)(A); out = Add()([B, C]);
    MSE, one SGD step against NumPy (A's gradient is B's plus C's)."""
    net = _core.Network()
    x = net.add_input(4, "x")
    a = net.add_node(dense(5, 4, "tanh"), [x])
    b = net.add_node(dense(3, 5), [a])
    c = net.add_node(dense(3, 5, "sigmoid"), [a])
    add = _core.layer_from_config("Add", {}, input_shapes=[[3], [3]])
    add.build_inputs([3, 3])
    out = net.add_node(add, [b, c])
    net.set_outputs([out])
    net.finalize()
    net.bind_all()
    init(net, rng)
    n, lr = 7, 0.1
    xs = rng.standard_normal((n, 4)).astype(np.float32)
    ys = rng.standard_normal((n, 3)).astype(np.float32)
    w = weights(net)
    WA, bA, WB, bB, WC, bC = (w[(0, "kernel")], w[(0, "bias")], w[(1, "kernel")], w[(1, "bias")],
                              w[(2, "kernel")], w[(2, "bias")])
    tA = np.tanh(xs @ WA + bA)
    tC = 1 / (1 + np.exp(-(tA @ WC + bC)))
    o = tA @ WB + bB + tC
    np.testing.assert_allclose(net.predict_multi([xs], 3)[0], o, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(net.predict(xs, 2), o, rtol=RTOL, atol=ATOL)  # the one-array form
    dO = 2 * (o - ys) / (n * 3)
    dzC = dO * tC * (1 - tC)
    dzA = (dO @ WB.T + dzC @ WC.T) * (1 - tA ** 2)
    tr = _core.Trainer(net, sgd(net, lr), losses=[(MSE, {}, 1.0)], metrics=[[]], weighted=[[]])
    loss = tr.train_batch(xs, ys, None)
    np.testing.assert_allclose(loss, np.mean((o - ys) ** 2), rtol=RTOL)
    after = weights(net)
    want = {(0, "kernel"): WA - lr * xs.T @ dzA, (0, "bias"): bA - lr * dzA.sum(0),
            (1, "kernel"): WB - lr * tA.T @ dO, (1, "bias"): bB - lr * dO.sum(0),
            (2, "kernel"): WC - lr * tA.T @ dzC, (2, "bias"): bC - lr * dzC.sum(0)}
    for key, value in want.items():
        np.testing.assert_allclose(after[key], value, rtol=RTOL, atol=ATOL, err_msg=str(key))
