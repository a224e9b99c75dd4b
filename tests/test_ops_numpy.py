"""ranvier.ops's NumPy versions of keras.ops (what Python metrics written for Keras call):
values against NumPy, Keras's dtype rules for Python inputs and integer reductions, and a
Keras-style Metric subclass and metric function using them inside fit."""
from __future__ import annotations

import numpy as np
import pytest

import ranvier
from ranvier import ops


def test_conversions_follow_keras():
    # Python floats -> float32, Python ints -> int32; NumPy arrays keep their dtype
    assert ops.convert_to_tensor([1.5, 2.0]).dtype == np.float32
    assert ops.convert_to_tensor([1, 2]).dtype == np.int32
    assert ops.convert_to_tensor(np.array([1.0, 2.0])).dtype == np.float64
    assert ops.convert_to_tensor([1, 2], dtype="float32").dtype == np.float32
    assert ops.cast(np.array([0.2, 0.7]) > 0.5, "float32").tolist() == [0.0, 1.0]
    assert type(ops.convert_to_numpy(ops.ones((2,)))) is np.ndarray
    assert ops.shape(np.zeros((2, 3))) == (2, 3)


def test_reductions_and_dtypes():
    x = np.array([[1, 2, 3], [4, 5, 7]], np.int64)
    assert ops.sum(x).numpy() == 22 and ops.sum(x, axis=0).tolist() == [5, 7, 10]
    m = ops.mean(x, axis=1)
    assert m.dtype == np.float32 and m.tolist() == [2.0, pytest.approx(16 / 3)]
    assert ops.max(x, axis=1, keepdims=True).shape == (2, 1)
    assert ops.min(x) == 1 and ops.prod(np.array([2, 3])) == 6
    assert ops.var(np.array([1.0, 3.0])) == 1.0 and ops.std(np.array([1.0, 3.0])) == 1.0
    assert ops.argmax(x, axis=-1).tolist() == [2, 2] and ops.argmax(x, axis=-1).dtype == np.int32
    assert ops.argmin(np.array([3, 1, 2])) == 1
    assert ops.count_nonzero(np.array([0, 1, 2])) == 2
    assert bool(ops.any(x > 6)) and not bool(ops.all(x > 1))
    assert ops.cumsum(np.array([1, 2, 3])).tolist() == [1, 3, 6]


def test_elementwise_against_numpy():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 4)).astype(np.float32)
    b = rng.normal(size=(3, 4)).astype(np.float32)
    pairs = [(ops.abs(a), np.abs(a)), (ops.square(a), a * a), (ops.sqrt(np.abs(a)), np.sqrt(np.abs(a))),
             (ops.exp(a), np.exp(a)), (ops.log(np.abs(a)), np.log(np.abs(a))), (ops.log1p(np.abs(a)), np.log1p(np.abs(a))),
             (ops.clip(a, -0.5, 0.5), np.clip(a, -0.5, 0.5)), (ops.maximum(a, b), np.maximum(a, b)),
             (ops.minimum(a, b), np.minimum(a, b)), (ops.add(a, b), a + b), (ops.subtract(a, b), a - b),
             (ops.multiply(a, b), a * b), (ops.divide(a, b), a / b), (ops.power(np.abs(a), 2.0), np.abs(a) ** 2),
             (ops.where(a > 0, a, b), np.where(a > 0, a, b)), (ops.sign(a), np.sign(a)),
             (ops.negative(a), -a), (ops.relu(a), np.maximum(a, 0)), (ops.tanh(a), np.tanh(a)),
             (ops.sigmoid(a), 1 / (1 + np.exp(-a.astype(np.float64)))),
             (ops.softmax(a), np.exp(a) / np.exp(a).sum(-1, keepdims=True)),
             (ops.log_softmax(a), np.log(np.exp(a) / np.exp(a).sum(-1, keepdims=True))),
             (ops.dot(a, b.T), a @ b.T), (ops.transpose(a), a.T), (ops.reshape(a, (4, 3)), a.reshape(4, 3)),
             (ops.expand_dims(a, 1), a[:, None]), (ops.squeeze(a[:1]), a[0]), (ops.sort(a), np.sort(a)),
             (ops.concatenate([a, b], axis=1), np.concatenate([a, b], 1)), (ops.stack([a, b]), np.stack([a, b]))]
    for got, ref in pairs:
        assert got.shape == ref.shape
        np.testing.assert_allclose(np.asarray(got, np.float64), ref, rtol=1e-5, atol=1e-6)
    assert ops.divide_no_nan(np.array([1.0, 2.0]), np.array([0.0, 4.0])).tolist() == [0.0, 0.5]
    assert ops.divide(np.array([1, 2]), np.array([2, 4])).dtype == np.float32
    assert ops.one_hot(np.array([0, 2, 5]), 3).tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 0]]
    assert ops.equal(np.array([1, 2]), 2).tolist() == [False, True]
    assert [i.tolist() for i in ops.where(np.array([0, 1, 1]))] == [[1, 2]]
    with pytest.raises(ValueError, match="together"):
        ops.where(np.array([True]), 1.0)
    assert ops.arange(3).dtype == np.int32 and ops.arange(0.0, 1.0, 0.5).tolist() == [0.0, 0.5]
    assert ops.zeros((2,)).dtype == np.float32 and ops.full((2,), 7).tolist() == [7, 7]
    assert ops.nan_to_num(np.array([np.nan, 1.0])).tolist() == [0.0, 1.0]
    assert ops.isnan(np.array([np.nan, 1.0])).tolist() == [True, False]


def test_keras_style_metric_subclass_and_function_train_with_keras_ops():
    class PositiveRate(ranvier.metrics.Metric):
        def __init__(self, name="positive_rate", **kwargs):
            super().__init__(name=name, **kwargs)
            self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")
            self.n = self.add_variable(shape=(), initializer="zeros", name="n")

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.hits.assign_add(ops.sum(ops.cast(ops.greater(y_pred, 0.5), "float32")))
            self.n.assign_add(ops.cast(ops.shape(y_pred)[0], "float32"))

        def result(self):
            return ops.divide_no_nan(self.hits, self.n)

    def mean_abs(y_true, y_pred):
        return ops.mean(ops.abs(y_true - y_pred), axis=-1)

    m = PositiveRate()
    m.update_state(np.zeros((4, 1)), np.array([[0.2], [0.7], [0.9], [0.1]]))
    assert m.result().numpy() == pytest.approx(0.5)
    x = np.random.default_rng(0).normal(size=(32, 2)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    model = ranvier.Sequential([ranvier.Input((2,)), ranvier.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=[PositiveRate(), mean_abs])
    h = model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    p = model.predict(x, verbose=0)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(h.history) == ["loss", "mean_abs", "positive_rate"]
    assert logs["positive_rate"] == pytest.approx(float((p > 0.5).mean()), abs=1e-6)
    assert logs["mean_abs"] == pytest.approx(float(np.abs(y - p).mean()), rel=1e-5)
