"""hard_tanh and soft_shrink (Keras 3) through every path: the functions, get/serialize,
core_spec, Dense/Activation layers, training with fit, the model file (Python and the
C++ loader), config round trips and ONNX export. The kernels themselves (every ISA,
float64 references, finite-difference derivatives) are in test_activations.py.

Tolerances: model outputs are float32 GEMMs against a float64 NumPy forward, 1e-5
relative plus 1e-6 absolute (inputs of size 6-8, so the sums round a few ulp);
save/load and the C++ loader must be bit-exact."""
from __future__ import annotations

import functools

import numpy as np
import pytest

import ranvier
from ranvier import _core
from ranvier import activations as A
from reference import activations as R

L = ranvier.layers
NEW = ("hard_tanh", "soft_shrink")


def test_keras_values():
    x = np.array([-3.0, -1.0, -0.7, -0.5, -0.2, 0.0, 0.2, 0.5, 0.7, 1.0, 3.0], np.float32)
    f = np.float32
    np.testing.assert_array_equal(A.hard_tanh(x), np.array([-1, -1, -0.7, -0.5, -0.2, 0, 0.2, 0.5, 0.7, 1, 1], f))
    # Keras's docstring cases: x - 0.5 above 0.5, x + 0.5 below -0.5, 0 between (ends included)
    want = [f(-2.5), f(-0.5), x[2] + f(0.5), 0, 0, 0, 0, 0, x[8] - f(0.5), f(0.5), f(2.5)]
    np.testing.assert_array_equal(A.soft_shrink(x), np.array(want, f))
    np.testing.assert_allclose(A.soft_shrink(x, threshold=1.0), R.soft_shrink(x, threshold=1.0), rtol=0, atol=0)
    np.testing.assert_allclose(A.soft_shrink(x, threshold=0.3), R.soft_shrink(x, threshold=0.3), rtol=1e-7)
    y = A.soft_shrink(np.array([np.nan, np.inf, -np.inf], np.float32))
    assert np.isnan(y[0]) and y[1] == np.inf and y[2] == -np.inf
    assert A.hard_tanh(np.float64(2.5)).dtype == np.float32 and A.hard_tanh(np.float64(2.5)) == 1.0


def test_argument_errors():
    with pytest.raises(TypeError, match="soft_shrink: threshold must be a real number"):
        A.soft_shrink(np.zeros(3, np.float32), threshold="0.5")
    with pytest.raises(TypeError, match="hard_tanh: x must be a floating-point array"):
        A.hard_tanh(np.arange(3))


@pytest.mark.parametrize("name", NEW)
def test_registry_and_core_spec(name):
    fn = getattr(A, name)
    assert A.get(name) is fn and A.serialize(fn) == name and A.deserialize(name) is fn
    assert name in A.KIND_NAMES and name not in A._NUMPY_ONLY
    kind, params = A.core_spec(name)
    assert kind == name and A.core_kind(kind) == A.KIND_NAMES.index(name)
    assert params["threshold"] == (0.5 if name == "soft_shrink" else 0.0)
    row = [r for r in _core.activation_table() if r["name"] == name][0]
    assert row["rowwise"] is False and row["cost"] == "cheap" and row["reads"] == (True, False)


def test_soft_shrink_partial_and_parameter_errors():
    kind, params = A.core_spec(functools.partial(A.soft_shrink, threshold=0.3))
    assert kind == "soft_shrink" and params["threshold"] == 0.3
    with pytest.raises(ValueError, match="no parameter 'alpha'"):
        A.core_spec(functools.partial(A.soft_shrink, alpha=0.3))
    with pytest.raises(ValueError, match="no parameter 'threshold'"):
        A.core_spec(functools.partial(A.hard_tanh, threshold=0.3))


def _model(act, seed=0):
    ranvier.utils.set_random_seed(seed)
    return ranvier.Sequential([ranvier.Input(shape=(6,)), L.Dense(8, activation=act), L.Dense(3),
                               L.Activation(act)])


def _np_forward(m, x, f):
    (w1, b1), (w2, b2) = m.layers[0].get_weights(), m.layers[1].get_weights()
    h = f(x.astype(np.float64) @ w1.astype(np.float64) + b1)
    return f(h @ w2.astype(np.float64) + b2)


@pytest.mark.parametrize("act,ref", [
    ("hard_tanh", R.hard_tanh), ("soft_shrink", R.soft_shrink),
    (functools.partial(A.soft_shrink, threshold=0.2), functools.partial(R.soft_shrink, threshold=0.2))])
def test_model_forward_fit_save_load_and_cpp_loader(isa, tmp_path, act, ref):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 6)).astype(np.float32) * 2
    y = rng.standard_normal((64, 3)).astype(np.float32) * 0.5
    m = _model(act)
    np.testing.assert_allclose(m.predict(x, verbose=0), _np_forward(m, x, ref), rtol=1e-5, atol=1e-6)
    m.compile(optimizer=ranvier.optimizers.SGD(0.05), loss="mse")
    before = m.evaluate(x, y, verbose=0)
    m.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert m.evaluate(x, y, verbose=0) < before
    p = m.predict(x, verbose=0)
    np.testing.assert_allclose(p, _np_forward(m, x, ref), rtol=1e-5, atol=1e-6)
    path = tmp_path / "m.ranvier"
    m.save(path)
    loaded = ranvier.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), p)
    np.testing.assert_array_equal(_core.io_cpp_predict(str(path), x, 32), p)
    # config round trip: same architecture, same activations
    clone = ranvier.Sequential.from_config(m.get_config())
    clone.build((None, 6))
    clone.set_weights(m.get_weights())
    np.testing.assert_array_equal(clone.predict(x, verbose=0), p)
    assert clone.get_config() == m.get_config()


@pytest.mark.parametrize("name", NEW)
def test_gradient_through_a_layer_matches_finite_differences(name):
    """d sum(w * f(x)) / dx of the Activation layer's C++ backward against central
    differences of the float64 reference (points near the kinks skipped)."""
    rng = np.random.default_rng(1)
    x = rng.uniform(-3, 3, (5, 7))
    t = 0.5 if name == "soft_shrink" else 1.0
    x = np.where(np.abs(np.abs(x) - t) < 1e-3, x + 0.01, x).astype(np.float32)
    w = rng.standard_normal(x.shape).astype(np.float32)
    kind = A.KIND_NAMES.index(name)
    y = _core.activation_forward(kind, x, threshold=0.5 if name == "soft_shrink" else 0.0)
    g = _core.activation_backward(kind, x, None, w, threshold=0.5 if name == "soft_shrink" else 0.0)
    f, _ = R.ACTIVATIONS[name]
    fd = R.central_difference(f, x.astype(np.float64), h=1e-6)
    np.testing.assert_allclose(g, w * fd, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(y, f(x.astype(np.float64)).astype(np.float32))


@pytest.mark.parametrize("act", ["hard_tanh", "soft_shrink", functools.partial(A.soft_shrink, threshold=1.5)])
def test_onnx_export_matches(tmp_path, act):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((32, 6)).astype(np.float32) * 2
    m = _model(act, seed=3)
    p = tmp_path / "m.onnx"
    m.export(p, verbose=False)
    sess = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(["output"], {"input": x})[0], m.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
