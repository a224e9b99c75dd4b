"""Merge layers (cpp/src/layers/merge.cpp on the f32-vmerge kernels): Concatenate, Add,
Subtract, Multiply, Average, Maximum, Minimum, Dot. Each forward and backward (the C++
layer's forward_inputs / backward_inputs) against a NumPy float64 reference, with the
reference's gradients by central differences in float64, on every ISA tier; results
independent of the thread count; Keras's shapes, messages and configs."""
import numpy as np
import pytest

import ranvier
from ranvier import _core, layers

from conftest import F32_ISAS, forced_isa

ELEMENTWISE = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"]


# ---------------------------------------------------------------------------- references (float64)
def ref_elementwise(name, xs):
    out = xs[0].copy()
    for x in xs[1:]:
        out = {"Add": np.add, "Subtract": np.subtract, "Multiply": np.multiply, "Average": np.add,
               "Maximum": np.maximum, "Minimum": np.minimum}[name](out, x)
    return out / len(xs) if name == "Average" else out


def ref_concatenate(xs, axis):
    return np.concatenate(xs, axis=axis)


def ref_normalize(x, axis):
    s = np.sum(x * x, axis=axis, keepdims=True)
    with np.errstate(divide="ignore"):
        inv = np.minimum(1.0 / np.sqrt(s), 1e7)
    return x * inv


def ref_dot(xs, axes, normalize=False):
    """Keras's batch_dot for inputs of rank 2 or 3, axes per input (batch axis 0)."""
    a, b = xs
    a1, a2 = (axes, axes) if isinstance(axes, int) else axes
    a1, a2 = a1 % a.ndim, a2 % b.ndim
    if normalize:
        a, b = ref_normalize(a, a1), ref_normalize(b, a2)
    # move the reduced axis last
    a = np.moveaxis(a, a1, -1)
    b = np.moveaxis(b, a2, -1)
    if a.ndim == 2:
        a = a[:, None, :]
    if b.ndim == 2:
        b = b[:, None, :]
    out = np.einsum("bik,bjk->bij", a, b).reshape(a.shape[0], -1)
    return out


# ---------------------------------------------------------------------------- helpers
def core_of(name, config, sample_shapes):
    core = _core.layer_from_config(name, config, input_shapes=[list(s) for s in sample_shapes])
    core.build_inputs([int(np.prod(s)) for s in sample_shapes])
    return core


def run(core, xs, batch):
    rows = [np.ascontiguousarray(x.reshape(batch, -1), dtype=np.float32) for x in xs]
    core.reserve(batch)
    y = np.full((batch, core.out_features), np.nan, np.float32)
    core.forward_inputs(rows, y, True, 1)
    return rows, y


def grads(core, rows, y, w):
    dy = np.ascontiguousarray(w.reshape(y.shape), dtype=np.float32)
    dxs = [np.full_like(r, np.nan) for r in rows]
    core.backward_inputs(rows, y, dy.copy(), dxs)
    return dxs


def fd_grads(f, xs, w, h=1e-6):
    """Central differences in float64 of sum(w * f(xs)) with respect to each input."""
    out = []
    for i, x in enumerate(xs):
        g = np.zeros_like(x)
        flat = g.reshape(-1)
        for j in range(x.size):
            xp = [v.copy() for v in xs]
            xm = [v.copy() for v in xs]
            xp[i].reshape(-1)[j] += h
            xm[i].reshape(-1)[j] -= h
            flat[j] = (np.sum(w * f(xp)) - np.sum(w * f(xm))) / (2 * h)
        out.append(g)
    return out


def inputs(rng, shapes, spread=True):
    """float32-representable float64 inputs, well apart from each other (no near-ties for
    Maximum / Minimum), of the given full shapes."""
    xs = []
    for k, s in enumerate(shapes):
        v = rng.standard_normal(s)
        if spread:
            v = v + 0.37 * k
        xs.append(v.astype(np.float32).astype(np.float64))
    return xs


# ---------------------------------------------------------------------------- elementwise
@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_elementwise_forward_backward_against_reference(isa, name, k):
    if name == "Subtract" and k != 2:
        pytest.skip("Subtract takes exactly 2 inputs (refusal tested below)")
    rng = np.random.default_rng(7 + k)
    batch, shape = 6, (3, 4)
    xs = inputs(rng, [(batch,) + shape] * k)
    core = core_of(name, {}, [shape] * k)
    assert core.num_inputs == k and core.out_features == 12
    rows, y = run(core, xs, batch)
    ref = ref_elementwise(name, xs)
    # one IEEE operation per step, in input order: float32 rounding of each step only
    np.testing.assert_allclose(y.reshape(ref.shape), ref, rtol=2e-6 * k, atol=1e-6 * k)
    w = rng.standard_normal(ref.shape)
    dxs = grads(core, rows, y, w)
    fd = fd_grads(lambda v: ref_elementwise(name, v), xs, w)
    for dx, g in zip(dxs, fd):
        # float32 dy and products of k-1 float32 inputs; FD error ~1e-9
        np.testing.assert_allclose(dx.reshape(g.shape), g, rtol=1e-5 * k, atol=1e-5 * k)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_bits_equal_on_every_tier(name):
    """Each output element is one IEEE operation per input, in input order: the same bits on
    every ISA tier (forward and backward), tails included (n not a multiple of 16)."""
    rng = np.random.default_rng(3)
    k = 2 if name == "Subtract" else 3
    xs = inputs(rng, [(5, 37)] * k)
    w = rng.standard_normal((5, 37))
    results = []
    for tier in F32_ISAS:
        with forced_isa(tier):
            core = core_of(name, {}, [(37,)] * k)
            rows, y = run(core, xs, 5)
            results.append((y, grads(core, rows, y, w)))
    for y, dxs in results[1:]:
        np.testing.assert_array_equal(y, results[0][0])
        for a, b in zip(dxs, results[0][1]):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["Maximum", "Minimum"])
def test_max_min_ties_route_the_gradient_to_the_first_input(name, isa):
    a = np.array([[1.0, 2.0, 3.0, -1.0]], np.float32)
    b = np.array([[1.0, 5.0, 3.0, -1.0]], np.float32)
    c = np.array([[1.0, 0.0, 3.0, 7.0]], np.float32)
    core = core_of(name, {}, [(4,)] * 3)
    y = np.empty((1, 4), np.float32)
    core.forward_inputs([a, b, c], y)
    dy = np.array([[10.0, 20.0, 30.0, 40.0]], np.float32)
    dxs = [np.full((1, 4), np.nan, np.float32) for _ in range(3)]
    core.backward_inputs([a, b, c], y, dy.copy(), dxs)
    if name == "Maximum":
        np.testing.assert_array_equal(y, [[1, 5, 3, 7]])
        np.testing.assert_array_equal(dxs[0], [[10, 0, 30, 0]])  # ties (columns 0, 2): input 0
        np.testing.assert_array_equal(dxs[1], [[0, 20, 0, 0]])
        np.testing.assert_array_equal(dxs[2], [[0, 0, 0, 40]])
    else:
        np.testing.assert_array_equal(y, [[1, 0, 3, -1]])
        np.testing.assert_array_equal(dxs[0], [[10, 0, 30, 40]])  # ties with b at -1: input 0
        np.testing.assert_array_equal(dxs[1], [[0, 0, 0, 0]])
        np.testing.assert_array_equal(dxs[2], [[0, 20, 0, 0]])
    # the gradients of each element sum to dy (exactly one input takes it)
    np.testing.assert_array_equal(sum(dxs), dy)


@pytest.mark.parametrize("name", ["Maximum", "Minimum"])
def test_max_min_propagate_nan(name, isa):
    a = np.array([[np.nan, 1.0, 2.0]], np.float32)
    b = np.array([[0.0, np.nan, 1.0]], np.float32)
    out = getattr(layers, name)()([a, b])
    assert np.isnan(out[0, 0]) and np.isnan(out[0, 1])
    assert out[0, 2] == (2.0 if name == "Maximum" else 1.0)
    c = np.array([[5.0, -5.0, 2.0]], np.float32)
    core = core_of(name, {}, [(3,)] * 3)
    y = np.empty((1, 3), np.float32)
    core.forward_inputs([a, b, c], y)
    assert np.isnan(y[0, 0]) and np.isnan(y[0, 1])
    dxs = [np.full((1, 3), np.nan, np.float32) for _ in range(3)]
    core.backward_inputs([a, b, c], y, np.array([[1.0, 2.0, 3.0]], np.float32), dxs)
    # a NaN output sends dy to the last input, as TF's chained maximum(acc, x) gradients do
    # (acc >= x is false on NaN; measured with Keras 3 on TF 2.21)
    # column 2 (no NaN): max(2, 1, 2) goes to the first 2 (input 0), min to input 1
    np.testing.assert_array_equal(dxs[0], [[0, 0, 3 if name == "Maximum" else 0]])
    np.testing.assert_array_equal(dxs[1], [[0, 0, 0 if name == "Maximum" else 3]])
    np.testing.assert_array_equal(dxs[2], [[1, 2, 0]])


def test_multiply_gradient_exact_with_zero_inputs():
    a = np.array([[0.0, 2.0, 0.0]], np.float32)
    b = np.array([[3.0, 0.0, 0.0]], np.float32)
    c = np.array([[5.0, 7.0, 2.0]], np.float32)
    core = core_of("Multiply", {}, [(3,)] * 3)
    y = np.empty((1, 3), np.float32)
    core.forward_inputs([a, b, c], y)
    dxs = [np.empty((1, 3), np.float32) for _ in range(3)]
    core.backward_inputs([a, b, c], y, np.ones((1, 3), np.float32), dxs)
    np.testing.assert_array_equal(dxs[0], [[15, 0, 0]])
    np.testing.assert_array_equal(dxs[1], [[0, 14, 0]])
    np.testing.assert_array_equal(dxs[2], [[0, 0, 0]])


@pytest.mark.parametrize("name", ELEMENTWISE + ["Concatenate"])
def test_gradients_skip_none_and_may_alias_dy(name):
    """dxs[i] None: no gradient for input i (the others unchanged); a dx that is the dy
    buffer itself still gets the right values (it is written last)."""
    rng = np.random.default_rng(11)
    k = 2 if name == "Subtract" else 3
    xs = inputs(rng, [(4, 9)] * k)
    core = core_of(name, {}, [(9,)] * k)
    rows, y = run(core, xs, 4)
    w = rng.standard_normal(y.shape).astype(np.float32)
    full = grads(core, rows, y, w)
    dxs = [None] + [np.full_like(r, np.nan) for r in rows[1:]]
    core.backward_inputs(rows, y, w.copy(), dxs)
    for a, b in zip(dxs[1:], full[1:]):
        np.testing.assert_array_equal(a, b)
    if name != "Concatenate":
        for alias in range(k):
            dy = w.copy()
            dxs = [np.full_like(r, np.nan) for r in rows]
            dxs[alias] = dy
            core.backward_inputs(rows, y, dy, dxs)
            for a, b in zip(dxs, full):
                np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ELEMENTWISE + ["Concatenate", "Dot"])
def test_results_do_not_depend_on_thread_count(name):
    rng = np.random.default_rng(5)
    batch, n = 3000, 64  # past the parallel threshold (32k floats per thread)
    k = 3 if name not in ("Subtract", "Dot") else 2
    xs = [rng.standard_normal((batch, n)).astype(np.float32) for _ in range(k)]
    config = {"axes": 1, "normalize": True} if name == "Dot" else {}
    outs = []
    try:
        for threads in (1, 2, 3, 4):
            ranvier.set_num_threads(threads)
            core = core_of(name, config, [(n,)] * k)
            rows, y = run(core, xs, batch)
            w = np.random.default_rng(6).standard_normal(y.shape)
            outs.append((y, grads(core, rows, y, w)))
    finally:
        ranvier.set_num_threads(0)
    for y, dxs in outs[1:]:
        np.testing.assert_array_equal(y, outs[0][0])
        for a, b in zip(dxs, outs[0][1]):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------- Concatenate
@pytest.mark.parametrize("shapes,axis", [
    ([(4,), (3,)], -1),
    ([(4,), (3,), (1,)], 1),
    ([(2, 5), (1, 5)], 1),       # Keras's docstring example: (2, 2, 5) + (2, 1, 5) on axis 1
    ([(2, 5), (1, 5), (3, 5)], -2),
    ([(3, 2), (3, 4)], -1),
    ([(2, 3, 4), (2, 1, 4)], 2),
    ([(2, 3, 4), (2, 3, 4)], 1),
    ([(5,)], -1),
])
def test_concatenate_against_reference(isa, shapes, axis):
    rng = np.random.default_rng(2)
    batch = 4
    xs = inputs(rng, [(batch,) + s for s in shapes], spread=False)
    core = core_of("Concatenate", {"axis": axis}, shapes)
    rows, y = run(core, xs, batch)
    ref = ref_concatenate(xs, axis)
    np.testing.assert_array_equal(y.reshape(ref.shape), ref)  # a copy: exact
    layer = layers.Concatenate(axis=axis)
    assert layer.compute_output_shape([(None,) + s for s in shapes]) == (None,) + ref.shape[1:]
    np.testing.assert_array_equal(layer(xs), ref.astype(np.float32))
    w = rng.standard_normal(ref.shape)
    dxs = grads(core, rows, y, w)
    for dx, g in zip(dxs, fd_grads(lambda v: ref_concatenate(v, axis), xs, w)):
        np.testing.assert_allclose(dx.reshape(g.shape), g, rtol=1e-6, atol=1e-6)


def test_concatenate_refuses_mismatched_shapes_naming_them():
    with pytest.raises(ValueError, match=r"matching shapes except for the concatenation axis.*\(None, 2, 5\).*\(None, 3, 4\)"):
        layers.Concatenate(axis=1).compute_output_shape([(None, 2, 5), (None, 3, 4)])
    with pytest.raises(ValueError, match=r"\(None, 3\).*\(None, 2, 3\)"):
        layers.Concatenate()([np.ones((2, 3)), np.ones((2, 2, 3))])
    with pytest.raises(ValueError, match="batch axis"):
        layers.Concatenate(axis=0).compute_output_shape([(None, 3), (None, 3)])
    with pytest.raises(ValueError, match="out of range"):
        layers.Concatenate(axis=3).compute_output_shape([(None, 3), (None, 3)])
    with pytest.raises(TypeError, match="axis"):
        layers.Concatenate(axis=1.5)
    # None sizes: the concatenated axis is None, the others take the known size
    assert layers.Concatenate().compute_output_shape([(None, 4), (None, None)]) == (None, None)
    assert layers.Concatenate(axis=1).compute_output_shape([(8, None, 5), (None, 2, None)]) == (8, None, 5)
    # the other dims are the first input's (Keras), the known sizes still checked
    assert layers.Concatenate().compute_output_shape([(None, None, 2), (None, 3, 4)]) == (None, None, 6)
    with pytest.raises(ValueError, match="matching shapes"):
        layers.Concatenate().compute_output_shape([(None, None, 2), (None, 3, 4), (None, 2, 1)])


# ---------------------------------------------------------------------------- Dot
@pytest.mark.parametrize("shapes,axes", [
    ([(5, 2), (2, 5)], (1, 2)),  # Keras's docstring example
    ([(4,), (4,)], 1),
    ([(4,), (4,)], -1),
    ([(4,), (4,)], [1, -1]),
    ([(3, 4), (3, 4)], 2),
    ([(3, 4), (3, 4)], 1),
    ([(3, 4), (5, 4)], -1),
    ([(3, 4), (4, 2)], [2, 1]),
    ([(4,), (4, 3)], 1),
    ([(3, 4), (4,)], [2, 1]),
])
@pytest.mark.parametrize("normalize", [False, True])
def test_dot_against_reference(isa, shapes, axes, normalize):
    rng = np.random.default_rng(9)
    batch = 5
    xs = inputs(rng, [(batch,) + s for s in shapes], spread=False)
    config = {"axes": axes, "normalize": normalize}
    core = core_of("Dot", config, shapes)
    rows, y = run(core, xs, batch)
    ref = ref_dot(xs, axes, normalize)
    k = shapes[0][(axes if isinstance(axes, int) else axes[0]) % (len(shapes[0]) + 1) - 1]
    # a float32 sum of k products (order per ISA): rtol ~ k * 2^-24
    np.testing.assert_allclose(y, ref, rtol=1e-6 * k, atol=1e-6 * k)
    layer = layers.Dot(axes=axes, normalize=normalize)
    out = layer(xs)
    assert out.shape[1:] == layer.compute_output_shape([(None,) + s for s in shapes])[1:]
    np.testing.assert_allclose(out.reshape(batch, -1), ref, rtol=1e-6 * k, atol=1e-6 * k)
    w = rng.standard_normal(ref.shape)
    dxs = grads(core, rows, y, w)
    for dx, g in zip(dxs, fd_grads(lambda v: ref_dot(v, axes, normalize), xs, w)):
        np.testing.assert_allclose(dx.reshape(g.shape), g, rtol=1e-5 * k, atol=1e-5 * k)


def test_dot_keras_shapes_and_values():
    d = layers.Dot(axes=1)
    assert d.compute_output_shape([(None, 4), (None, 4)]) == (None, 1)
    assert layers.Dot(axes=2).compute_output_shape([(None, 3, 4), (None, 3, 4)]) == (None, 3, 3)
    assert layers.Dot(axes=1).compute_output_shape([(None, 3, 4), (None, 3, 4)]) == (None, 4, 4)
    # Keras measured: normalize=True, [3, 4] . [4, 3] = 0.96; a zero vector gives 0
    out = layers.Dot(axes=1, normalize=True)([np.array([[3.0, 4.0], [0.0, 0.0]]), np.array([[4.0, 3.0], [1.0, 2.0]])])
    np.testing.assert_allclose(out, [[0.96], [0.0]], rtol=1e-6)
    np.testing.assert_allclose(layers.dot([np.array([[1.0, 2.0]]), np.array([[3.0, 4.0]])]), [[11.0]])
    # the zero vector's gradient: the clamp (1/eps) scales dy, no NaN
    core = core_of("Dot", {"axes": 1, "normalize": True}, [(2,), (2,)])
    rows, y = run(core, [np.zeros((1, 2)), np.array([[1.0, 2.0]])], 1)
    dxs = grads(core, rows, y, np.ones((1, 1)))
    assert np.all(np.isfinite(dxs[0])) and np.all(np.isfinite(dxs[1]))


def test_dot_refusals_name_the_shapes_and_arguments():
    with pytest.raises(ValueError, match=r"Incompatible input shapes: axis values 4 \(at axis 1\) != 5.*\(None, 4\), \(None, 5\)"):
        layers.Dot(axes=1)([np.ones((2, 4)), np.ones((2, 5))])
    with pytest.raises(ValueError, match="called on a list of 2 inputs"):
        layers.Dot(axes=1).compute_output_shape([(None, 4)] * 3)
    with pytest.raises(ValueError, match="axis 0"):
        layers.Dot(axes=0).compute_output_shape([(None, 4), (None, 4)])
    with pytest.raises(ValueError, match=r"rank 2 or 3.*\(None, 2, 3, 4\)"):
        layers.Dot(axes=-1).compute_output_shape([(None, 2, 3, 4), (None, 2, 3, 4)])
    with pytest.raises(TypeError):
        layers.Dot()  # axes is required
    with pytest.raises(TypeError, match="axes"):
        layers.Dot(axes="1")
    with pytest.raises(ValueError, match="two elements"):
        layers.Dot(axes=(1, 1, 1))
    with pytest.raises(ValueError, match="integers"):
        layers.Dot(axes=(1, 1.5))


# ---------------------------------------------------------------------------- shapes and calls
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_refuses_unequal_shapes_naming_both(name):
    layer = getattr(layers, name)()
    with pytest.raises(ValueError, match=r"incompatible shapes.*\(None, 4\) and \(None, 5\)"):
        layer.compute_output_shape([(None, 4), (None, 5)])
    with pytest.raises(ValueError, match=r"\(None, 4\) and \(None, 3\)"):
        getattr(layers, name)()([np.ones((2, 4)), np.ones((2, 3))])
    with pytest.raises(ValueError, match=r"\(None, 2, 3\) and \(None, 3, 2\)"):
        layer.compute_output_shape([(None, 2, 3), (None, 3, 2)])
    assert layer.compute_output_shape([(None, 4), (None, None)]) == (None, None)  # Keras: None if either is
    assert layer.compute_output_shape([(7, 2, 3), (None, 2, 3)]) == (7, 2, 3)


def test_subtract_takes_exactly_two_inputs():
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        layers.Subtract()([np.ones((2, 3))] * 3)
    with pytest.raises(ValueError, match="exactly 2 inputs"):
        layers.subtract([np.ones((2, 3))])


def test_eager_calls_follow_keras():
    a = np.arange(6.0).reshape(2, 3)
    b = np.ones((2, 3))
    np.testing.assert_array_equal(layers.Add()([a, b]), a + b)
    np.testing.assert_array_equal(layers.add([a, b, b]), a + 2)
    np.testing.assert_array_equal(layers.Add()([a]), a)  # a 1-element list is accepted
    np.testing.assert_array_equal(layers.subtract([a, b]), a - b)
    np.testing.assert_array_equal(layers.multiply([a, a]), a * a)
    np.testing.assert_allclose(layers.average([a, b]), (a + b) / 2)
    np.testing.assert_array_equal(layers.maximum([a, b * 2]), np.maximum(a, 2))
    np.testing.assert_array_equal(layers.minimum([a, b * 2]), np.minimum(a, 2))
    np.testing.assert_array_equal(layers.concatenate([a, b]), np.concatenate([a, b], -1))
    np.testing.assert_array_equal(layers.concatenate([a, b], axis=1), np.concatenate([a, b], 1))
    out = layers.Add()([a.astype(np.int64), b.astype(np.float64)])
    assert out.dtype == np.float32
    # rank-3 inputs keep their shape
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    np.testing.assert_allclose(layers.Add()([x, x]), (2 * x).astype(np.float32), rtol=1e-6)
    # a built layer called on other shapes (no weights: it merges them too)
    add = layers.Add()
    add([a, b])
    np.testing.assert_array_equal(add([x, x]), (x + x).astype(np.float32))
    assert add.built and add.count_params() == 0 and add.weights == []
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Add()(a)
    with pytest.raises(ValueError, match="different batch sizes"):
        layers.Add()([a, np.ones((3, 3))])
    with pytest.raises(TypeError, match=r"inputs\[1\].*real numbers"):
        layers.Add()([a, np.array([["x"] * 3] * 2)])
    with pytest.raises(ValueError, match="list of inputs"):
        layers.Add()([])


def test_build_and_core_protocol():
    c = layers.Concatenate(axis=1)
    c.build([(None, 2, 5), (None, 1, 5)])
    assert c.built and c._core_layer.num_inputs == 2
    assert [c._core_layer.input_features(i) for i in range(2)] == [10, 5]
    assert c._core_layer.out_features == 15
    assert c._input_sample_shapes == [(2, 5), (1, 5)]
    assert c.get_build_config() == {"input_shape": [(None, 2, 5), (None, 1, 5)]}  # as Keras 3.15
    core = c._make_core([(2, 5), (1, 5)])
    assert core.build_inputs([10, 5]) == 15
    core = c._make_core_for([(None, 2, 5), (None, 1, 5)])
    assert core.build_inputs([10, 5]) == 15
    with pytest.raises(ValueError, match=r"\(None, 2, 5\).*\(None, 2, 4\)"):
        c._make_core_for([(None, 2, 5), (None, 2, 4)])
    with pytest.raises(ValueError, match=r"input 1 has shape \(None, 1, 5\) but 6 features"):
        c._make_core([(2, 5), (1, 5)]).build_inputs([10, 6])
    with pytest.raises(RuntimeError, match="build_inputs"):
        c._make_core([(2, 5), (1, 5)]).build(10)  # the one-input methods are not for merge layers
    x = np.ones((2, 10), np.float32)
    with pytest.raises(RuntimeError, match="forward_inputs"):
        c._core_layer.forward(x, np.empty((2, 15), np.float32))
    # built for one input (Add()([x])), the one-input methods run it (a network may call them)
    one = core_of("Average", {}, [(3,)])
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    y = np.empty((2, 3), np.float32)
    one.forward(x, y)
    np.testing.assert_array_equal(y, x)
    dx = np.empty_like(x)
    one.backward(x, y, np.full_like(x, 2.0), dx)
    np.testing.assert_array_equal(dx, np.full_like(x, 2.0))
    assert set(_core.merge_layer_class_names()) == {"Concatenate", "Add", "Subtract", "Multiply", "Average",
                                                     "Maximum", "Minimum", "Dot"}
    assert _core.kernel_names()["vmerge"].startswith("f32-vmerge-")


@pytest.mark.parametrize("layer", [
    layers.Add(name="a1"), layers.Subtract(), layers.Multiply(trainable=False), layers.Average(),
    layers.Maximum(), layers.Minimum(), layers.Concatenate(axis=1), layers.Concatenate(),
    layers.Dot(axes=1), layers.Dot(axes=[1, 2], normalize=True),
], ids=lambda l: type(l).__name__)
def test_config_round_trip(layer):
    config = layer.get_config()
    assert set(config) >= {"name", "trainable", "dtype"}
    if isinstance(layer, layers.Concatenate):
        assert config["axis"] == layer.axis
    if isinstance(layer, layers.Dot):
        assert config["axes"] == layer.axes and config["normalize"] == layer.normalize
    again = type(layer).from_config(config)
    assert again.get_config() == config
    layer.build([(None, 3, 3), (None, 3, 3)])
    d = layers.serialize(layer)
    assert d["class_name"] == type(layer).__name__
    assert d["build_config"] == {"input_shape": [(None, 3, 3), (None, 3, 3)]}  # tuples, as Keras 3.15
    back = layers.deserialize(d)
    assert type(back) is type(layer) and back.built and back.get_config() == config
    x = np.random.default_rng(1).standard_normal((2, 3, 3))
    np.testing.assert_array_equal(back([x, x + 1]), layer([x, x + 1]))


# ---------------------------------------------------------------------------- ONNX
@pytest.mark.parametrize("layer,shapes", [
    (layers.Add(), [(3, 4)] * 3), (layers.Subtract(), [(5,)] * 2), (layers.Multiply(), [(5,)] * 3),
    (layers.Average(), [(2, 3)] * 2), (layers.Maximum(), [(6,)] * 3), (layers.Minimum(), [(6,)] * 2),
    (layers.Add(), [(4,)]), (layers.Add(), [(3, 4), (4,)]), (layers.Multiply(), [(4,), (1,)]),
    (layers.Maximum(), [(2, 3, 4), (3, 1), (4,)]), (layers.Concatenate(), [(4,), (3,)]), (layers.Concatenate(axis=1), [(2, 5), (1, 5)]),
    (layers.Dot(axes=1), [(4,), (4,)]), (layers.Dot(axes=1, normalize=True), [(4,), (4,)]),
    (layers.Dot(axes=(1, 2)), [(5, 2), (2, 5)]), (layers.Dot(axes=2, normalize=True), [(3, 4), (3, 4)]),
    (layers.Dot(axes=[2, 1]), [(3, 4), (4,)]),
], ids=lambda v: type(v).__name__ if isinstance(v, layers.Layer) else str(v))
def test_onnx_merge_node_matches_the_layer(layer, shapes):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from ranvier.export import onnx as rx
    rng = np.random.default_rng(4)
    xs = [rng.standard_normal((3,) + s).astype(np.float32) for s in shapes]
    g = rx._Graph(onnx)
    names = [f"x{i}" for i in range(len(xs))]
    out = rx.merge_node(g, layer, names, [(None,) + s for s in shapes])
    g.nodes[-1].output[0] = "output"
    assert out
    h = onnx.helper
    graph = h.make_graph(g.nodes, "merge", [h.make_tensor_value_info(n, onnx.TensorProto.FLOAT, ["batch", *s])
                                            for n, s in zip(names, shapes)],
                         [h.make_tensor_value_info("output", onnx.TensorProto.FLOAT,
                                                   ["batch", *layer.compute_output_shape([(None,) + s for s in shapes])[1:]])],
                         initializer=g.inits)
    proto = h.make_model(graph, opset_imports=[h.make_opsetid("", rx.OPSET)])
    proto.ir_version = rx.IR_VERSION
    onnx.checker.check_model(proto)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    got = sess.run(None, dict(zip(names, xs)))[0]
    want = layer(xs)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)  # sum order may differ (Einsum)


def test_binding_checks_the_arrays():
    core = core_of("Add", {}, [(3,), (3,)])
    x = np.ones((2, 3), np.float32)
    y = np.empty((2, 3), np.float32)
    with pytest.raises(ValueError, match="expected 2 inputs, got 1"):
        core.forward_inputs([x], y)
    with pytest.raises(ValueError, match=r"xs\[1\] must have shape \(2, 3\)"):
        core.forward_inputs([x, np.ones((2, 4), np.float32)], y)
    core.forward_inputs([x, x], y)
    with pytest.raises(TypeError, match=r"dxs\[0\] must be a C-contiguous float32 array"):
        core.backward_inputs([x, x], y, y.copy(), [np.zeros((2, 3)), None])
    with pytest.raises(ValueError, match="expected 2 inputs and 2 gradients"):
        core.backward_inputs([x, x], y, y.copy(), [None])
    with pytest.raises(IndexError, match="no input 2"):
        core.input_features(2)



@pytest.mark.parametrize("name", ["Add", "Multiply", "Average", "Maximum", "Minimum"])
def test_forward_output_may_be_an_input(name, isa):
    """The output buffer may be one of the inputs (the kernels then run per block instead
    of per pass); results equal the separate buffer's, past one 1024-float chunk."""
    rng = np.random.default_rng(8)
    xs = [rng.standard_normal((40, 70)).astype(np.float32) for _ in range(3)]
    core = core_of(name, {}, [(70,)] * 3)
    want = np.empty((40, 70), np.float32)
    core.forward_inputs(xs, want)
    for t in range(3):
        ins = [x.copy() for x in xs]
        core.forward_inputs(ins, ins[t])
        np.testing.assert_array_equal(ins[t], want)
