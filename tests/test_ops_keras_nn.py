"""ranvier.ops's NumPy versions of keras.ops activations, cross-entropies, top_k, ... and
Keras's dtype rule for Python numbers. Expected values were measured with Keras 3.15.1
(keras.ops, TensorFlow backend) and are written here (no Keras import); tolerance 1e-4
(the values were recorded to 4 decimals)."""
import numpy as np
import pytest

from ranvier import ops as O

Z = np.array([[-3.0, -0.5, 0.0, 0.5, 3.0]], dtype=np.float32)
X = np.array([[1.0, -2.0, 3.0], [0.5, 0.0, -1.0]], dtype=np.float32)


@pytest.mark.parametrize("fn, x, expected", [
    (lambda x: O.gelu(x), X, [[0.8412, -0.0454, 2.9964], [0.3457, 0.0, -0.1588]]),  # approximate=True default
    (lambda x: O.gelu(x, approximate=False), Z, [[-0.004, -0.1543, 0.0, 0.3457, 2.996]]),
    (O.leaky_relu, X, [[1.0, -0.4, 3.0], [0.5, 0.0, -0.2]]),  # negative_slope=0.2
    (O.silu, X, [[0.7311, -0.2384, 2.8577], [0.3112, 0.0, -0.2689]]),
    (O.swish, Z, [[-0.1423, -0.1888, 0.0, 0.3112, 2.8577]]),
    (O.erf, X, [[0.8427, -0.9953, 1.0], [0.5205, 0.0, -0.8427]]),
    (O.elu, Z, [[-0.9502, -0.3935, 0.0, 0.5, 3.0]]),
    (O.selu, Z, [[-1.6706, -0.6918, 0.0, 0.5254, 3.1521]]),
    (O.softplus, Z, [[0.0486, 0.4741, 0.6931, 0.9741, 3.0486]]),
    (O.softsign, Z, [[-0.75, -0.3333, 0.0, 0.3333, 0.75]]),
    (lambda x: O.relu6(3 * x), Z, [[0.0, 0.0, 0.0, 1.5, 6.0]]),
    (O.hard_sigmoid, Z, [[0.0, 0.4167, 0.5, 0.5833, 1.0]]),
    (O.log_sigmoid, Z, [[-3.0486, -0.9741, -0.6931, -0.4741, -0.0486]]),
    (lambda x: O.logsumexp(x, axis=-1), X, [3.1328, 1.1041]),
    (lambda x: O.logsumexp(x), Z, 3.1523),
    (lambda x: O.logsumexp(x, axis=-1, keepdims=True), Z, [[3.1523]]),
    (lambda x: O.norm(x, axis=-1), X, [3.7417, 1.118]),
    (lambda x: O.norm(x, ord=1, axis=-1), Z, [7.0]),
])
def test_activations_and_reductions_match_keras(fn, x, expected):
    out = np.asarray(fn(x))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, atol=1e-4)


def test_top_k_and_argsort():
    values, idx = O.top_k(np.array([3.0, 1.0, 3.0, 2.0], dtype=np.float32), 2)
    np.testing.assert_array_equal(values, [3.0, 3.0])
    np.testing.assert_array_equal(idx, [0, 2])  # ties: the lower index first
    assert np.asarray(idx).dtype == np.int32
    np.testing.assert_array_equal(O.argsort(np.array([3.0, 1.0, 2.0], dtype=np.float32)), [1, 2, 0])
    with pytest.raises(ValueError, match="k must be"):
        O.top_k(np.ones(3, dtype=np.float32), 4)


def test_cross_entropies_match_keras_ops():
    t = np.array([1.0, 0.0], dtype=np.float32)
    np.testing.assert_allclose(O.binary_crossentropy(t, np.array([0.9, 0.2], dtype=np.float32)), [0.1054, 0.2231],
                               atol=1e-4)
    # probabilities clipped to [1e-7, 1 - 1e-7] in float32: -log(1e-7) and -log(1.1920929e-7)
    np.testing.assert_allclose(O.binary_crossentropy(t, np.array([0.0, 1.0], dtype=np.float32)), [16.1181, 15.9424],
                               atol=1e-4)
    np.testing.assert_allclose(O.binary_crossentropy(t, np.array([2.0, -1.0], dtype=np.float32), from_logits=True),
                               [0.1269, 0.3133], atol=1e-4)
    eye = np.eye(2, dtype=np.float32)
    p = np.array([[0.8, 0.2], [0.3, 0.7]], dtype=np.float32)
    np.testing.assert_allclose(O.categorical_crossentropy(eye, p), [0.2231, 0.3567], atol=1e-4)
    # not normalized: divided by the row sum first
    np.testing.assert_allclose(O.categorical_crossentropy(eye, np.array([[2.0, 2.0], [1.0, 3.0]], dtype=np.float32)),
                               [0.6931, 0.2877], atol=1e-4)
    np.testing.assert_allclose(O.categorical_crossentropy(eye, np.array([[2.0, 1.0], [0.0, 3.0]], dtype=np.float32),
                                                          from_logits=True), [0.3133, 0.0486], atol=1e-4)
    out = O.sparse_categorical_crossentropy(np.array([[0], [1]]), p)
    np.testing.assert_allclose(out, [0.2231, 0.3567], atol=1e-4)
    assert np.asarray(out).dtype == np.float32
    with pytest.raises(ValueError, match="labels must be in"):
        O.sparse_categorical_crossentropy(np.array([0, 2]), p)


@pytest.mark.parametrize("fn, expected_dtype", [
    (lambda: O.add(X, 1), np.float32),
    (lambda: O.maximum(X, 0), np.float32),
    (lambda: O.multiply(X, 2), np.float32),
    (lambda: O.subtract(1, X), np.float32),
    (lambda: O.power(X, 2), np.float32),
    (lambda: O.where(X > 0, X, 0), np.float32),
    (lambda: O.where(X > 0, 1.0, 0), np.float32),
    (lambda: O.add(np.array([1, 2], dtype=np.int32), 1), np.int32),
    (lambda: O.add(np.array([1, 2], dtype=np.int32), 1.5), np.float32),
    (lambda: O.minimum(np.array([1, 2], dtype=np.int32), 0.5), np.float32),
    (lambda: O.add(np.array([1, 2], dtype=np.int32), X[0, :2]), np.float32),
])
def test_python_numbers_are_weakly_typed_as_in_keras(fn, expected_dtype):
    # Keras 3.15.1: float32 array + 1 is float32; int32 array + 1.5 is float32 (not float64)
    assert np.asarray(fn()).dtype == expected_dtype
