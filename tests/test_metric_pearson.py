"""PearsonCorrelation (Keras 3's keras.metrics.PearsonCorrelation) against a float64 NumPy
reference written from Keras's pearson_correlation: standalone update_state / result /
reset_state with and without sample_weight, over several batches, inside
compile(metrics=[...]) (fit, evaluate, the history), config, lookups and the model file."""
import numpy as np
import pytest

import ranvier
from ranvier import metrics as M

# Tolerance: the C++ metric reads the float32 inputs and computes each row's statistics
# and the running sums in double, like the float64 reference from the same float32 values:
# they agree to ~1e-12 relative; 1e-10 leaves room for a different summation order. The
# model test compares against predict's float32 outputs, whose last bit may differ from
# evaluate's (1e-5, as tests/test_metrics_more.py).
RTOL = 1e-10


def pearson_rows(y_true, y_pred):
    """Keras's pearson_correlation(y_true, y_pred, axis=-1), float64 from the float32
    values the metric reads, one value per row."""
    yt = np.asarray(y_true, np.float32).astype(np.float64)
    yp = np.asarray(y_pred, np.float32).astype(np.float64)
    yt, yp = np.broadcast_arrays(yt, yp)
    tn = yt - yt.mean(axis=-1, keepdims=True)
    pn = yp - yp.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        tn = tn / tn.std(axis=-1, keepdims=True)
        pn = pn / pn.std(axis=-1, keepdims=True)
    return np.mean(tn * pn, axis=-1)


def weighted_mean(values, sample_weight=None):
    w = np.ones_like(values) if sample_weight is None else np.asarray(sample_weight, np.float64)
    return float(np.sum(values * w) / np.sum(w))


def test_keras_docstring_example():
    m = M.PearsonCorrelation(axis=-1)
    m.update_state([[0, 1, 0.5], [1, 1, 0.2]], [[0.1, 0.9, 0.5], [1, 0.9, 0.2]])
    # Keras's result is 0.9966996338993913 (from the float64 literals); ranvier reads
    # float32 inputs, which moves it by ~2e-9
    assert m.result() == pytest.approx(0.9966996338993913, rel=1e-8)
    assert m.result() == pytest.approx(weighted_mean(pearson_rows([[0, 1, 0.5], [1, 1, 0.2]],
                                                                  [[0.1, 0.9, 0.5], [1, 0.9, 0.2]])), rel=RTOL)


@pytest.mark.parametrize("weighted", [False, True])
def test_batches_accumulate_as_the_reference(weighted):
    rng = np.random.default_rng(4)
    m = M.PearsonCorrelation()
    vals, ws = [], []
    for n in (5, 1, 17):
        yt = rng.standard_normal((n, 6)).astype(np.float32)
        yp = (0.7 * yt + 0.5 * rng.standard_normal((n, 6))).astype(np.float32)
        sw = (rng.random(n) + 0.1).astype(np.float32) if weighted else None
        m.update_state(yt, yp, sample_weight=sw)
        vals.append(pearson_rows(yt, yp))
        ws.append(np.ones(n) if sw is None else sw.astype(np.float64))
    expected = weighted_mean(np.concatenate(vals), np.concatenate(ws))
    assert m.result() == pytest.approx(expected, rel=RTOL)
    assert 0.2 < m.result() < 1.0  # a real correlation, not a degenerate value
    m.reset_state()
    assert m.result() == 0.0
    m.update_state([[1, 2, 3]], [[3, 2, 1]])
    assert m.result() == pytest.approx(-1.0, rel=1e-12)


def test_sample_weight_zero_row_and_column_vector_weights():
    yt = np.array([[1, 2, 3, 4], [4, 1, 0, 2], [0, 1, 0, 1]], np.float32)
    yp = np.array([[1, 2, 2, 5], [1, 1, 2, 0], [1, 0, 1, 0]], np.float32)
    sw = np.array([2.0, 0.0, 1.0], np.float32)
    m = M.PearsonCorrelation()
    m.update_state(yt, yp, sample_weight=sw[:, None])  # (n, 1) weights as (n,)
    assert m.result() == pytest.approx(weighted_mean(pearson_rows(yt, yp), sw), rel=RTOL)


def test_constant_row_gives_nan_as_keras():
    m = M.PearsonCorrelation()
    m.update_state([[1.0, 1.0, 1.0]], [[0.1, 0.5, 0.2]])
    assert np.isnan(m.result())
    assert np.isnan(pearson_rows([[1.0, 1.0, 1.0]], [[0.1, 0.5, 0.2]])[0])


def test_one_dimensional_inputs_are_one_row():
    yt = np.array([1.0, 2.0, 3.0, 5.0], np.float32)
    yp = np.array([1.1, 1.9, 3.3, 4.0], np.float32)
    m = M.PearsonCorrelation()
    m.update_state(yt, yp)
    m.update_state(yt[::-1].copy(), yp)
    expected = weighted_mean(np.array([pearson_rows(yt, yp), pearson_rows(yt[::-1], yp)]))
    assert m.result() == pytest.approx(expected, rel=RTOL)
    with pytest.raises(ValueError, match="sample_weight"):
        m.update_state(yt, yp, sample_weight=np.ones(4))


def test_config_lookups_and_direction():
    m = M.PearsonCorrelation(name="pcc")
    assert m.get_config() == {"name": "pcc", "dtype": "float32", "axis": -1}  # Keras: the dtype policy's
    again = M.PearsonCorrelation.from_config(m.get_config())
    assert again.name == "pcc"
    assert isinstance(M.get("pearson_correlation"), M.PearsonCorrelation)
    assert isinstance(M.get("PearsonCorrelation"), M.PearsonCorrelation)
    assert isinstance(M.deserialize(M.serialize(m)), M.PearsonCorrelation)
    assert M.PearsonCorrelation().name == "pearson_correlation"
    assert M.PearsonCorrelation().direction == "up"
    assert "PearsonCorrelation" in M.__all__
    with pytest.raises(ValueError, match="axis"):
        M.PearsonCorrelation(axis=0)


def _regression(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 5)).astype(np.float32)
    y = np.stack([x[:, 0] + x[:, 1], x[:, 2] - x[:, 3], 0.5 * x[:, 4]], axis=1).astype(np.float32)
    return x, y


def test_in_compile_fit_and_evaluate_match_the_reference(tmp_path):
    x, y = _regression()
    sw = np.random.default_rng(1).random(64).astype(np.float32) + 0.1
    ranvier.utils.set_random_seed(3)
    model = ranvier.Sequential([ranvier.Input(shape=(5,)), ranvier.layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse", metrics=["pearson_correlation", M.PearsonCorrelation(name="pcc")],
                  weighted_metrics=[M.PearsonCorrelation(name="wpcc")])
    hist = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert "pearson_correlation" in hist.history and "pcc" in hist.history
    out = model.evaluate(x, y, sample_weight=sw, batch_size=16, verbose=0, return_dict=True)
    p = model.predict(x, batch_size=16, verbose=0)
    tol = dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["pearson_correlation"], weighted_mean(pearson_rows(y, p)), **tol)
    np.testing.assert_allclose(out["pcc"], weighted_mean(pearson_rows(y, p)), **tol)
    np.testing.assert_allclose(out["wpcc"], weighted_mean(pearson_rows(y, p), sw), **tol)
    # the model file keeps the metric in its compile config
    path = tmp_path / "m.safetensors"
    model.save(path)
    loaded = ranvier.models.load_model(path)
    out2 = loaded.evaluate(x, y, sample_weight=sw, batch_size=16, verbose=0, return_dict=True)
    for k in ("pearson_correlation", "pcc", "wpcc"):
        assert out2[k] == out[k], k
