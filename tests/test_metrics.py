"""ranvier.metrics (C++ metrics behind Keras-shaped classes) against the float64 reference."""
import math

import numpy as np
import pytest

from conftest import metric_batches, run_metric_in_batches
import ranvier
from ranvier import metrics as M
from reference import metrics as R

# The C++ metrics compute per-sample values and running sums in float64 from the same
# float32 inputs the reference converts to float64: only the summation order (and libm's
# log, 1 ulp) differ, so results agree to ~1e-15 relative; 1e-10 leaves ample margin.
RTOL = 1e-10
ATOL = 1e-12


_batches = metric_batches
_run = run_metric_in_batches


# ----------------------------------------------------------------------------- spec examples

def test_binary_accuracy_spec_example():
    m = M.BinaryAccuracy()
    m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
    assert m.result() == 0.75
    m.reset_state()
    m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], sample_weight=[1, 0, 0, 1])
    assert m.result() == 0.5


def test_mse_metric_divides_by_sum_of_weights():
    # per-sample MSEs [0.4, 0.4, 0.4, 0.8] with weights [1, 1.5, 2, 2.5] -> 3.8 / 7 (spec 6.3)
    yt = np.zeros((4, 5), np.float32)
    yp = np.zeros((4, 5), np.float32)
    yp[:3, :2] = 1.0
    yp[3, :4] = 1.0
    m = M.MeanSquaredError()
    m.update_state(yt, yp, sample_weight=[1, 1.5, 2, 2.5])
    assert m.result() == pytest.approx(3.8 / 7, rel=1e-12)
    assert m.name == "mean_squared_error"


@pytest.mark.parametrize("cls,yt,yp,sw,expect", [
    (M.CategoricalAccuracy, [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], None, 0.5),
    (M.CategoricalAccuracy, [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], [0.7, 0.3], 0.3),
    (M.SparseCategoricalAccuracy, [[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], None, 0.5),
    (M.SparseCategoricalAccuracy, [[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], [0.7, 0.3], 0.3),
    (lambda: M.TopKCategoricalAccuracy(k=1), [[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], [0.7, 0.3], 0.3),
    (lambda: M.SparseTopKCategoricalAccuracy(k=1), [2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], None, 0.5),
    (lambda: M.SparseTopKCategoricalAccuracy(k=1), [2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]], [0.7, 0.3], 0.3),
    (M.Accuracy, [[1], [2], [3], [4]], [[0], [2], [3], [4]], None, 0.75),
    (M.Accuracy, [[1], [2], [3], [4]], [[0], [2], [3], [4]], [1, 1, 0, 0], 0.5),
    (M.Precision, [0, 1, 1, 1], [1, 0, 1, 1], None, 2 / 3),
    (M.Precision, [0, 1, 1, 1], [1, 0, 1, 1], [0, 0, 1, 0], 1.0),
    (lambda: M.Precision(top_k=2), [0, 0, 1, 1], [1, 1, 1, 1], None, 0.0),
    (lambda: M.Precision(top_k=4), [0, 0, 1, 1], [1, 1, 1, 1], None, 0.5),
    (M.Recall, [0, 1, 1, 1], [1, 0, 1, 1], None, 2 / 3),
    (M.Recall, [0, 1, 1, 1], [1, 0, 1, 1], [0, 0, 1, 0], 1.0),
    (lambda: M.AUC(num_thresholds=3), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], None, 0.75),
    (lambda: M.AUC(num_thresholds=3), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], [1, 0, 0, 1], 1.0),
])
def test_keras_documented_examples(cls, yt, yp, sw, expect):
    m = cls()
    m.update_state(yt, yp, sample_weight=sw)
    # weights such as 0.7 / 0.3 enter as float32 (as in Keras): 1e-7 relative
    assert m.result() == pytest.approx(expect, rel=1e-7, abs=1e-12)


# ----------------------------------------------------------------------------- against the reference

def _classification_data(rng, n=61, k=6, ties=True):
    yp = rng.random((n, k)).astype(np.float32)
    if ties:  # exact ties inside rows: argmax must take the first, top-k must count them
        yp[::5, 1] = yp[::5, k - 1] = yp[::5].max(axis=1)
        yp[1::7, :] = 0.25
    labels = rng.integers(0, k, n)
    onehot = np.eye(k, dtype=np.float32)[labels]
    return labels.astype(np.float32).reshape(-1, 1), onehot, yp


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("k_top", [1, 2, 3, 5, 8])
def test_accuracy_family_matches_reference(rng, weighted, k_top):
    labels, onehot, yp = _classification_data(rng)
    sw = rng.random(len(yp)).astype(np.float32) * 2 if weighted else None
    cases = [
        (M.CategoricalAccuracy(), onehot, "categorical_accuracy", {}),
        (M.SparseCategoricalAccuracy(), labels, "sparse_categorical_accuracy", {}),
        (M.TopKCategoricalAccuracy(k=k_top), onehot, "top_k_categorical_accuracy", {"k": k_top}),
        (M.SparseTopKCategoricalAccuracy(k=k_top), labels, "sparse_top_k_categorical_accuracy", {"k": k_top}),
    ]
    for metric, yt, kind, params in cases:
        got = _run(metric, yt, yp, sw)
        want = R.mean_metric(kind, yt, yp, sw, **params)
        assert got == pytest.approx(want, rel=RTOL, abs=ATOL), kind


def test_argmax_ties_take_the_first_index_and_topk_ties_count():
    yp = np.array([[0.3, 0.3, 0.1], [0.1, 0.3, 0.3]], np.float32)
    cat = M.CategoricalAccuracy()
    cat.update_state([[1, 0, 0], [0, 0, 1]], yp)
    assert cat.result() == 0.5  # row 0: argmax 0 == 0; row 1: argmax 1 != 2
    top = M.TopKCategoricalAccuracy(k=1)
    top.update_state([[0, 1, 0], [0, 0, 1]], yp)
    assert top.result() == 1.0  # tied scores are all "in the top 1" (no score strictly greater)
    sp = M.SparseCategoricalAccuracy()
    sp.update_state([1.0, 1.0], yp)
    assert sp.result() == 0.5


def test_sparse_labels_compare_as_floats_and_truncate_for_top_k():
    yp = np.array([[0.1, 0.2, 0.7], [0.8, 0.1, 0.1]], np.float32)
    sp = M.SparseCategoricalAccuracy()
    sp.update_state([2.5, 0.0], yp)  # 2.5 never equals an index (Keras compares floats)
    assert sp.result() == 0.5
    st = M.SparseTopKCategoricalAccuracy(k=1)
    st.update_state([2.5, 7.0], yp)  # cast to int32: 2.5 -> 2 (hit); 7 out of range (miss)
    assert st.result() == 0.5


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cols", [(1, 1), (4, 4), (1, 3)])
def test_regression_and_binary_metrics_match_reference(rng, weighted, cols):
    c, k = cols
    n = 53
    yt = (rng.standard_normal((n, c)) * 2).astype(np.float32)
    yt[::9] = 0.0  # MAPE's max(|y|, eps) branch
    yp = (rng.standard_normal((n, k)) * 2).astype(np.float32)
    sw = rng.random(n).astype(np.float32) if weighted else None
    for metric, kind in [(M.MeanSquaredError(), "mean_squared_error"),
                         (M.MeanAbsoluteError(), "mean_absolute_error"),
                         (M.MeanAbsolutePercentageError(), "mean_absolute_percentage_error"),
                         (M.MeanSquaredLogarithmicError(), "mean_squared_logarithmic_error"),
                         (M.RootMeanSquaredError(), "root_mean_squared_error")]:
        got = _run(metric, yt, yp, sw)
        assert got == pytest.approx(R.mean_metric(kind, yt, yp, sw), rel=RTOL, abs=ATOL), kind
    # binary accuracy on 0/1 labels and probabilities, incl. predictions exactly at the threshold
    yb = (rng.random((n, c)) > 0.5).astype(np.float32)
    pb = rng.random((n, k)).astype(np.float32)
    pb[::6] = 0.5
    for thr in (0.5, 0.3):
        got = _run(M.BinaryAccuracy(threshold=thr), yb, pb, sw)
        want = R.mean_metric("binary_accuracy", yb, pb, sw, threshold=thr)
        assert got == pytest.approx(want, rel=RTOL, abs=ATOL)
    got = _run(M.Accuracy(), np.round(yt), np.round(yp), sw)
    assert got == pytest.approx(R.mean_metric("accuracy", np.round(yt), np.round(yp), sw), rel=RTOL)


def test_binary_accuracy_is_strictly_greater():
    m = M.BinaryAccuracy(threshold=0.5)
    m.update_state([[1], [0]], [[0.5], [0.5]])
    assert m.result() == 0.5  # 0.5 is not > 0.5: predicted 0


def test_rmse_is_sqrt_of_weighted_running_mean(rng):
    yt = rng.standard_normal((20, 3)).astype(np.float32)
    yp = rng.standard_normal((20, 3)).astype(np.float32)
    sw = rng.random(20).astype(np.float32)
    sw64 = sw.astype(np.float64)
    m = M.RootMeanSquaredError()
    m.update_state(yt[:5], yp[:5], sw[:5])
    m.update_state(yt[5:], yp[5:], sw[5:])
    sq = ((yp.astype(np.float64) - yt) ** 2).mean(axis=1)
    assert m.result() == pytest.approx(math.sqrt((sw64 * sq).sum() / sw64.sum()), rel=RTOL)


def _auc_data(rng, n, k, T):
    """Random predictions kept 1e-5 away from every threshold: the reference compares p > t
    in float64 while Keras (and ranvier) bucket ceil(p*(T-1)) in float32; away from the
    thresholds the two definitions are identical."""
    yp = rng.random((n, k))
    grid = yp * (T - 1)
    near = np.abs(grid - np.round(grid)) < 1e-5 * (T - 1)
    yp[near] += 3e-5
    yp = np.clip(yp, 0, 1).astype(np.float32)
    yp[0, 0] = 0.0  # exact endpoints: 0 exceeds only -eps, 1 all but 1+eps
    yp[1, 0] = 1.0
    yt = (rng.random((n, k)) < 0.4).astype(np.float32)
    return yt, yp


@pytest.mark.parametrize("curve", ["ROC", "PR"])
@pytest.mark.parametrize("summation", ["interpolation", "minoring", "majoring"])
@pytest.mark.parametrize("T", [200, 3, 17])
@pytest.mark.parametrize("weighted", [False, True])
def test_auc_matches_reference(rng, curve, summation, T, weighted):
    yt, yp = _auc_data(rng, 97, 2, T)
    sw = rng.random(97).astype(np.float32) if weighted else None
    m = M.AUC(num_thresholds=T, curve=curve, summation_method=summation)
    got = _run(m, yt, yp, sw)
    want = R.auc(yt, yp, sw, num_thresholds=T, curve=curve, summation_method=summation)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_auc_exact_thresholds_and_out_of_range_predictions():
    # Predictions exactly on thresholds (0.25, 0.5, 0.75 with T=5) are not above them;
    # out-of-range predictions are clipped to [0, 1].
    yt = np.array([0, 1, 0, 1, 1, 0, 1, 0], np.float32)
    yp = np.array([0.25, 0.5, 0.75, 1.0, 0.0, -3.0, 7.0, 0.5], np.float32)
    m = M.AUC(num_thresholds=5)
    m.update_state(yt, yp)
    assert m.result() == pytest.approx(R.auc(yt[:, None], yp[:, None], num_thresholds=5), rel=1e-12)


def test_auc_from_logits_and_labels_cast_to_bool(rng):
    logits = (rng.standard_normal((40, 1)) * 3).astype(np.float32)
    yt = rng.choice([0.0, 1.0, 0.3, 2.0], size=(40, 1)).astype(np.float32)  # nonzero -> positive
    m = M.AUC(from_logits=True)
    m.update_state(yt, logits)
    want = R.auc(yt, logits, from_logits=True)
    assert m.result() == pytest.approx(want, rel=1e-6)  # sigmoid in float32 vs float64


def test_auc_perfect_and_inverted_ranking():
    yt = np.array([0, 0, 1, 1], np.float32)
    m = M.AUC()
    m.update_state(yt, np.array([0.1, 0.2, 0.8, 0.9], np.float32))
    assert m.result() == pytest.approx(1.0, abs=1e-12)
    m.reset_state()
    m.update_state(yt, np.array([0.9, 0.8, 0.2, 0.1], np.float32))
    assert m.result() == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("kind", ["precision", "recall"])
@pytest.mark.parametrize("opts", [{}, {"thresholds": 0.3}, {"class_id": 2}, {"top_k": 2},
                                  {"top_k": 1, "class_id": 1}, {"top_k": 3, "thresholds": 0.4}])
@pytest.mark.parametrize("weighted", [False, True])
def test_precision_recall_match_reference(rng, kind, opts, weighted):
    n, k = 45, 4
    yp = rng.random((n, k)).astype(np.float32)
    yp[::4, 1] = yp[::4, 3]  # ties for top_k
    yt = (rng.random((n, k)) < 0.3).astype(np.float32)
    sw = rng.random(n).astype(np.float32) if weighted else None
    cls = M.Precision if kind == "precision" else M.Recall
    got = _run(cls(**opts), yt, yp, sw)
    want = R.precision_recall(kind, yt, yp, sw, threshold=opts.get("thresholds"),
                              top_k=opts.get("top_k"), class_id=opts.get("class_id"))
    assert got == pytest.approx(want, rel=RTOL, abs=ATOL)


def test_precision_recall_zero_denominator_is_zero():
    p = M.Precision()
    p.update_state([1, 1], [0.1, 0.2])
    assert p.result() == 0.0
    r = M.Recall()
    r.update_state([0, 0], [0.9, 0.2])
    assert r.result() == 0.0


# ----------------------------------------------------------------------------- state

def test_empty_metric_result_is_zero():
    for m in [M.MeanSquaredError(), M.BinaryAccuracy(), M.AUC(), M.Precision()]:
        assert m.result() == 0.0
        m.update_state(np.zeros((0, 1), np.float32), np.zeros((0, 1), np.float32))
        assert m.result() == 0.0


@pytest.mark.parametrize("make", [M.MeanSquaredError, M.CategoricalAccuracy, M.AUC, M.Recall,
                                  lambda: M.AUC(curve="PR")])
def test_state_merge_by_addition_equals_one_pass(rng, make):
    yt = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 30)]
    yp = rng.random((30, 3)).astype(np.float32)
    sw = rng.random(30).astype(np.float32)
    whole, a, b = make(), make(), make()
    whole.update_state(yt, yp, sw)
    a.update_state(yt[:11], yp[:11], sw[:11])
    b.update_state(yt[11:], yp[11:], sw[11:])
    merged = make()
    merged._set_state(np.add(a._state(), b._state()))
    assert merged.result() == pytest.approx(whole.result(), rel=1e-12, abs=1e-15)
    with pytest.raises(ValueError):
        merged._set_state([1.0] * (len(a._state()) + 1))


def test_reset_state_and_call():
    m = M.MeanAbsoluteError()
    assert m([[1.0], [2.0]], [[2.0], [2.0]]) == 0.5  # __call__ = update_state + result
    m.reset_state()
    assert m.result() == 0.0


# ----------------------------------------------------------------------------- functions

def test_functions_match_reference(rng):
    labels, onehot, yp = _classification_data(rng, n=20, k=4)
    np.testing.assert_array_equal(M.categorical_accuracy(onehot, yp),
                                  R.categorical_accuracy_values(onehot, yp))
    np.testing.assert_array_equal(M.sparse_categorical_accuracy(labels, yp),
                                  R.sparse_categorical_accuracy_values(labels, yp))
    np.testing.assert_array_equal(M.top_k_categorical_accuracy(onehot, yp, k=2),
                                  R.top_k_categorical_accuracy_values(onehot, yp, k=2))
    np.testing.assert_array_equal(M.sparse_top_k_categorical_accuracy(labels, yp, k=2),
                                  R.sparse_top_k_categorical_accuracy_values(labels, yp, k=2))
    yt = rng.random((20, 3)).astype(np.float32)
    pr = rng.random((20, 3)).astype(np.float32)
    # float32 results against the float64 reference: rtol 1e-6 (mean of 3 float32 terms)
    for fn, ref in [(M.mse, R.mse_values), (M.mae, R.mae_values), (M.mape, R.mape_values),
                    (M.msle, R.msle_values)]:
        np.testing.assert_allclose(fn(yt, pr), ref(yt, pr), rtol=1e-5)
    np.testing.assert_array_equal(M.binary_accuracy([[1], [0]], [[0.7], [0.5]]), [[1.0], [1.0]])


# ----------------------------------------------------------------------------- names, get, resolve

def test_get_accepts_class_names_snake_case_and_aliases():
    expect = {
        "BinaryAccuracy": M.BinaryAccuracy, "binary_accuracy": M.BinaryAccuracy,
        "categorical_accuracy": M.CategoricalAccuracy,
        "sparse_categorical_accuracy": M.SparseCategoricalAccuracy,
        "top_k_categorical_accuracy": M.TopKCategoricalAccuracy,
        "sparse_top_k_categorical_accuracy": M.SparseTopKCategoricalAccuracy,
        "mean_squared_error": M.MeanSquaredError, "mse": M.MeanSquaredError, "MSE": M.MeanSquaredError,
        "mae": M.MeanAbsoluteError, "MAE": M.MeanAbsoluteError,
        "mape": M.MeanAbsolutePercentageError, "MAPE": M.MeanAbsolutePercentageError,
        "msle": M.MeanSquaredLogarithmicError, "MSLE": M.MeanSquaredLogarithmicError,
        "root_mean_squared_error": M.RootMeanSquaredError, "RootMeanSquaredError": M.RootMeanSquaredError,
        "auc": M.AUC, "AUC": M.AUC, "precision": M.Precision, "recall": M.Recall, "Recall": M.Recall,
        "mean": M.Mean,
    }
    for name, cls in expect.items():
        assert type(M.get(name)) is cls, name
    assert M.get(None) is None
    m = M.AUC()
    assert M.get(m) is m
    assert isinstance(M.get(M.Precision), M.Precision)
    cfg = M.get({"class_name": "BinaryAccuracy", "config": {"threshold": 0.7, "name": "ba"}})
    assert cfg.threshold == 0.7 and cfg.name == "ba"
    with pytest.raises(ValueError, match="Valid names:.*binary_accuracy"):
        M.get("no_such_metric")
    with pytest.raises(ValueError):
        M.get(42)


def test_default_names_and_auto_naming():
    assert M.BinaryAccuracy().name == "binary_accuracy"
    assert M.TopKCategoricalAccuracy().name == "top_k_categorical_accuracy"
    assert M.MeanAbsolutePercentageError().name == "mean_absolute_percentage_error"
    M._reset_auto_names()
    assert M.AUC().name == "auc"
    assert M.AUC().name == "auc_1"  # name=None metrics get session-unique names, as Keras
    assert M.Precision().name == "precision"
    assert M.AUC(name="roc").name == "roc"


def test_directions_and_core_spec():
    for cls in [M.Accuracy, M.BinaryAccuracy, M.CategoricalAccuracy, M.SparseCategoricalAccuracy,
                M.TopKCategoricalAccuracy, M.SparseTopKCategoricalAccuracy, M.AUC, M.Precision,
                M.Recall]:
        assert cls().direction == "up"
    for cls in [M.MeanSquaredError, M.MeanAbsoluteError, M.MeanAbsolutePercentageError,
                M.MeanSquaredLogarithmicError, M.RootMeanSquaredError]:
        assert cls().direction == "down"
    assert M.Mean().direction is None
    assert M.BinaryAccuracy(threshold=0.3).core_spec() == ("binary_accuracy", {"threshold": pytest.approx(0.3)})
    assert M.TopKCategoricalAccuracy(k=3).core_spec() == ("top_k_categorical_accuracy", {"k": 3})
    kind, params = M.AUC(curve="PR", from_logits=True).core_spec()
    assert kind == "auc" and params == {"num_thresholds": 200, "curve": 1, "summation_method": 0,
                                        "from_logits": True}
    assert M.Precision(class_id=2).core_spec() == ("precision", {"threshold": 0.5, "class_id": 2})
    assert M.MeanMetricWrapper(lambda a, b: a).core_spec() is None
    # the kind names are the C++ MetricKind enumerators
    assert {n for n in ranvier._core.MetricKind.__members__} >= {
        "binary_accuracy", "auc", "precision", "recall", "root_mean_squared_error", "accuracy"}
    assert isinstance(M.MeanSquaredError()._core_metric, ranvier._core.Metric)


@pytest.mark.parametrize("yt,yp,cls", [
    ((100, 1), (100, 1), M.BinaryAccuracy),          # y (N,1) + sigmoid(1)
    ((100,), (100, 3), M.SparseCategoricalAccuracy),  # y (N,) + softmax(3)
    ((100, 1), (100, 3), M.SparseCategoricalAccuracy),
    ((100, 3), (100, 3), M.CategoricalAccuracy),      # one-hot
    ((100,), (100, 1), M.BinaryAccuracy),             # y (N,) + output (N,1)
])
@pytest.mark.parametrize("name", ["accuracy", "acc", "Accuracy", "ACC"])
def test_resolve_accuracy_from_shapes(yt, yp, cls, name):
    m = M.resolve_accuracy(name, yt, yp)
    assert type(m) is cls and m.name == name
    r = M.resolve(name, np.zeros(yt), np.zeros(yp))  # arrays work as shapes too
    assert type(r) is cls and r.name == name


def test_resolve_names_as_keras():
    shapes = ((8, 1), (8, 1))
    assert M.resolve("mse", *shapes).name == "mse"
    assert M.resolve("mean_squared_error", *shapes).name == "mean_squared_error"
    assert M.resolve("MeanSquaredError", *shapes).name == "MeanSquaredError"
    assert M.resolve(M.MeanSquaredError(), *shapes).name == "mean_squared_error"
    m = M.resolve(M.mae, *shapes)  # a function runs as its C++ class, named after the function
    assert isinstance(m, M.MeanAbsoluteError) and m.name == "mean_absolute_error"
    assert M.resolve(M.mape, *shapes).name == "mean_absolute_percentage_error"

    def my_metric(y_true, y_pred):
        return np.abs(y_true - y_pred)

    w = M.resolve(my_metric, *shapes)
    assert isinstance(w, M.MeanMetricWrapper) and w.name == "my_metric" and w.core_spec() is None
    w.update_state([[1.0], [3.0]], [[2.0], [3.0]], sample_weight=[1.0, 3.0])
    assert w.result() == pytest.approx(0.25)
    assert M.resolve(None, *shapes) is None


def test_resolve_all_duplicates_and_weighted_names():
    shapes = ((8, 1), (8, 1))
    out = M.resolve_all(["accuracy", "mse", "accuracy", "accuracy"], ["accuracy", "mae", "accuracy"],
                        *shapes)
    assert [(r.key, r.weighted) for r in out] == [
        ("accuracy", False), ("mse", False), ("accuracy_1", False), ("accuracy_2", False),
        ("weighted_accuracy", True), ("mae", True), ("weighted_accuracy_1", True)]
    assert all(isinstance(r.metric, M.BinaryAccuracy) for r in out if "accuracy" in r.key)
    assert M.resolve_all(None, None, *shapes) == []
    with pytest.raises(ValueError, match="list, tuple, or dict"):
        M.resolve_all("accuracy", None, *shapes)
    with pytest.raises(ValueError):
        M.resolve_all([3.5], None, *shapes)


def test_metric_direction_lookup():
    out = M.resolve_all(["acc", "mse", M.AUC(name="roc")], None, (8, 1), (8, 1))
    assert M.metric_direction(out, "val_acc") == "max"
    assert M.metric_direction(out, "mse") == "min"
    assert M.metric_direction(out, "roc") == "max"
    assert M.metric_direction(out, "val_loss") == "min"
    assert M.metric_direction(out, "val_unknown") is None


def test_config_round_trip():
    for m in [M.BinaryAccuracy(threshold=0.7, name="b"), M.TopKCategoricalAccuracy(k=2),
              M.AUC(num_thresholds=50, curve="PR", summation_method="majoring", name="prauc"),
              M.AUC(thresholds=[0.25, 0.5, 0.75], name="a3"),
              M.Precision(thresholds=0.4, class_id=1, name="p"), M.Recall(top_k=3, name="r"),
              M.MeanSquaredLogarithmicError()]:
        clone = type(m).from_config(m.get_config())
        assert clone.get_config() == m.get_config()
        assert clone.core_spec() == m.core_spec()
        again = M.deserialize(M.serialize(m))
        assert type(again) is type(m) and again.get_config() == m.get_config()
    assert M.AUC(thresholds=[0.25, 0.5, 0.75]).num_thresholds == 5


# ----------------------------------------------------------------------------- errors

def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="threshold"):
        M.BinaryAccuracy(threshold=float("nan"))
    with pytest.raises(ValueError, match="num_thresholds"):
        M.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="curve"):
        M.AUC(curve="XY")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        M.Precision(thresholds=1.5)
    with pytest.raises(ValueError, match="num_labels"):
        M.AUC(num_labels=3)  # only with multi_label=True, as Keras
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        M.Precision(thresholds=[0.3, 1.6])
    m = M.MeanSquaredError()
    with pytest.raises(ValueError, match=r"y_true.shape=\(4, 3\).*y_pred.shape=\(4, 2\)"):
        m.update_state(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="different numbers of samples"):
        m.update_state(np.zeros((4, 1)), np.zeros((5, 1)))
    with pytest.raises(ValueError, match=r"sample_weight.shape=\(3,\)"):
        m.update_state(np.zeros((4, 1)), np.zeros((4, 1)), sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="one integer label per sample"):
        M.SparseCategoricalAccuracy().update_state(np.zeros((4, 3)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="class_id=5"):
        M.Recall(class_id=5).update_state(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="rank 1 or 2"):
        m.update_state(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))


def test_broadcasting_and_scalar_weights():
    # y_true (n,) against y_pred (n, 1); y_pred (n, 1) against y_true (n, 3); scalar weights
    m = M.MeanAbsoluteError()
    m.update_state([1.0, 2.0], [[1.5], [2.0]], sample_weight=2.0)
    assert m.result() == 0.25
    m.reset_state()
    m.update_state([[1.0, 2.0, 3.0]], [[2.0]])
    assert m.result() == pytest.approx(2.0 / 3.0)
