"""Broadcasting in the elementwise merge layers (Add, Subtract, Multiply, Average, Maximum,
Minimum; cpp/src/layers/merge.cpp), as Keras 3's merge layers broadcast: per-sample shapes
aligned on the last axis, a dim of 1 or a missing leading dim stretched (Keras's
``_compute_elemwise_op_output_shape``; (None, 4) with (None, 1) gives (None, 4)). Forward
and backward against the NumPy float64 reference of test_merge_layers (NumPy broadcasts
the same way), the gradients by central differences in float64, on every ISA tier; the
same bits at every thread count; a gated model (x * sigmoid(Dense(1)(x))) trains."""
import numpy as np
import pytest

import ranvier
from ranvier import layers

from test_merge_layers import ELEMENTWISE, core_of, fd_grads, grads, inputs, ref_elementwise, run

# per-sample shapes: (a, b[, c]) -> the broadcast output shape (NumPy's rule, which is Keras's)
CASES = [
    [(4,), (1,)],
    [(1,), (5,)],
    [(3, 4), (4,)],
    [(3, 4), (3, 1)],
    [(3, 1), (1, 4)],
    [(2, 3, 4), (3, 1), (4,)],
    [(17,), (17,), (1,)],
]


def ref_broadcast(name, xs):
    """ref_elementwise with the per-sample shapes aligned on their last axis (Keras expands
    a lower-rank input's dims after the batch axis)."""
    rank = max(x.ndim for x in xs)
    return ref_elementwise(name, [x.reshape((x.shape[0],) + (1,) * (rank - x.ndim) + x.shape[1:]) for x in xs])


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("shapes", CASES, ids=lambda s: "x".join(map(str, s)))
def test_broadcast_forward_backward_against_reference(isa, name, shapes):
    if name == "Subtract" and len(shapes) != 2:
        pytest.skip("Subtract takes exactly 2 inputs")
    rng = np.random.default_rng(len(shapes) * 11 + sum(map(len, shapes)))
    batch = 5
    xs = inputs(rng, [(batch,) + s for s in shapes])
    core = core_of(name, {}, shapes)
    ref = ref_broadcast(name, xs)
    assert core.out_features == int(np.prod(ref.shape[1:]))
    rows, y = run(core, xs, batch)
    k = len(shapes)
    # one IEEE operation per step, in input order, as in test_merge_layers
    np.testing.assert_allclose(y.reshape(ref.shape), ref, rtol=2e-6 * k, atol=1e-6 * k)
    w = rng.standard_normal(ref.shape)
    dxs = grads(core, rows, y, w)
    fd = fd_grads(lambda v: ref_broadcast(name, v), xs, w)
    for dx, g, x in zip(dxs, fd, xs):
        # float32 dy times products of k-1 float32 inputs (as in test_merge_layers), summed
        # over the m output elements a stretched input feeds: float32 error grows with m
        m = int(np.prod(ref.shape[1:])) // int(np.prod(x.shape[1:]))
        np.testing.assert_allclose(dx.reshape(g.shape), g, rtol=1e-5 * k * m, atol=1e-5 * k * m)


@pytest.mark.parametrize("name", ["Add", "Multiply", "Maximum"])
def test_broadcast_bits_do_not_depend_on_threads(name):
    rng = np.random.default_rng(3)
    shapes = [(8, 64), (64,), (8, 1)]
    batch = 300
    xs = inputs(rng, [(batch,) + s for s in shapes])
    w = rng.standard_normal((batch, 8, 64))
    results = []
    old = ranvier.get_num_threads()
    try:
        for t in (1, 2, 3):
            ranvier.set_num_threads(t)
            core = core_of(name, {}, shapes)
            rows, y = run(core, xs, batch)
            results.append((y, grads(core, rows, y, w)))
    finally:
        ranvier.set_num_threads(old)
    for y, dxs in results[1:]:
        np.testing.assert_array_equal(y, results[0][0])
        for a, b in zip(dxs, results[0][1]):
            np.testing.assert_array_equal(a, b)


def test_keras_shapes_and_eager_calls():
    # Keras 3.15: Add()([(None, 4), (None, 1)]) -> (None, 4); (None, 3, 1) with (None, 4) ->
    # (None, 3, 4); None stays None; unequal sizes other than 1 are refused, naming both.
    add = layers.Add()
    assert add.compute_output_shape([(None, 4), (None, 1)]) == (None, 4)
    assert add.compute_output_shape([(None, 3, 1), (None, 4)]) == (None, 3, 4)
    assert add.compute_output_shape([(None, 1), (None, None)]) == (None, None)
    with pytest.raises(ValueError, match=r"incompatible shapes.*\(None, 4\) and \(None, 5\)"):
        add.compute_output_shape([(None, 4), (None, 5)])
    a = np.arange(8.0).reshape(2, 4)
    b = np.array([[10.0], [20.0]])
    np.testing.assert_array_equal(layers.Add()([a, b]), a + b)
    np.testing.assert_array_equal(layers.subtract([b, a]), b - a)
    np.testing.assert_array_equal(layers.multiply([a, b]), a * b)
    np.testing.assert_array_equal(layers.maximum([a, np.full((2, 1), 3.0)]), np.maximum(a, 3.0))
    x3 = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(layers.Add()([x3, a]), x3 + a[:, None, :])


def test_a_gated_model_trains_and_round_trips(tmp_path):
    # x * sigmoid(Dense(1)(x)): the gate (None, 1) stretched over x's 6 features.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 6)).astype(np.float32)
    y = (x[:, :1] * 2.0 - x[:, 1:2]).astype(np.float32)
    inp = ranvier.Input((6,))
    gate = layers.Dense(1, activation="sigmoid", name="gate")(inp)
    gated = layers.Multiply(name="gated")([inp, gate])
    out = layers.Dense(1, name="out")(layers.Add()([gated, gate]))
    m = ranvier.Model(inp, out)
    m.compile(optimizer=ranvier.optimizers.Adam(0.05), loss="mse")
    assert m.get_layer("gated").output.shape == (None, 6)
    first = m.evaluate(x, y, verbose=0)
    m.fit(x, y, epochs=20, batch_size=32, verbose=0)
    assert m.evaluate(x, y, verbose=0) < 0.5 * first
    # the gradient reaches the gate through the broadcast: its kernel moved
    assert not np.allclose(m.get_layer("gate").get_weights()[0], 0.0)
    g = m.get_layer("gate").get_weights()
    w_out = m.get_layer("out").get_weights()
    gate_ref = 1.0 / (1.0 + np.exp(-(x.astype(np.float64) @ g[0] + g[1])))
    ref = (x * gate_ref + gate_ref) @ w_out[0] + w_out[1]
    np.testing.assert_allclose(m.predict(x, verbose=0), ref, rtol=1e-4, atol=1e-5)
    m.save(tmp_path / "gated.safetensors")
    loaded = ranvier.saving.load_model(tmp_path / "gated.safetensors")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), m.predict(x, verbose=0))
