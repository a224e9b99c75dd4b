"""The rest of Keras 3's non-image metrics against the float64 references
in tests/reference/metrics.py: confusion counts, mean-of-loss metrics, operating points,
F-scores, R2, AUC with multi_label, Mean/Sum; their names, configs and aliases; and the
same metrics through fit/evaluate, including Python metrics on the per-batch path."""
import math
import re
import warnings

import numpy as np
import pytest

from conftest import metric_batches, run_metric_in_batches
import ranvier
from ranvier import metrics as M
from reference import metrics as R

# The C++ metrics compute per-sample values and running sums in float64 from the same
# float32 inputs the references convert to float64: only the summation order and libm's
# log/exp/log1p (1 ulp) differ, so results agree to ~1e-14 relative; 1e-10 is the margin.
RTOL = 1e-10
ATOL = 1e-12
# Keras's documented examples are float32 results: compared to 1e-6 relative.
DOC_RTOL = 1e-6
BATCHES = (7, 1, 13)  # uneven batches: the running state must equal one pass


def _slices(n, sizes=BATCHES):
    return metric_batches(n, sizes)


def _run(metric, yt, yp, sw=None):
    return run_metric_in_batches(metric, yt, yp, sw, BATCHES)


def _batched_mean(values_fn, yt, yp, sw=None):
    """Reference running mean over the same batches (hinge decides per batch)."""
    total = count = 0.0
    for sl in _slices(len(yp)):
        v = values_fn(yt[sl], yp[sl])
        w = np.ones(len(v)) if sw is None else np.asarray(sw[sl], np.float64)
        total += float((v * w).sum())
        count += float(w.sum())
    return 0.0 if count == 0 else total / count


def _probs(rng, n, k):
    p = rng.random((n, k)).astype(np.float32) + np.float32(0.05)
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


# ----------------------------------------------------------------------------- Keras's examples

@pytest.mark.parametrize("make,yt,yp,sw,expect", [
    (M.Hinge, [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], None, 1.3),
    (M.Hinge, [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], [1, 0], 1.1),
    (M.SquaredHinge, [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], None, 1.86),
    (M.SquaredHinge, [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], [1, 0], 1.46),
    (M.CategoricalHinge, [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], None, 1.4),
    (M.CategoricalHinge, [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], [1, 0], 1.2),
    (M.KLDivergence, [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], None, 0.45814306),
    (M.KLDivergence, [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], [1, 0], 0.9162892),
    (M.Poisson, [[0, 1], [0, 0]], [[1, 1], [0, 0]], None, 0.49999997),
    (M.Poisson, [[0, 1], [0, 0]], [[1, 1], [0, 0]], [1, 0], 0.99999994),
    (M.BinaryCrossentropy, [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], None, 0.81492424),
    (M.BinaryCrossentropy, [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], [1, 0], 0.9162905),
    (M.CategoricalCrossentropy, [[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]], None, 1.1769392),
    (M.CategoricalCrossentropy, [[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]], [0.3, 0.7],
     1.6271976),
    (M.SparseCategoricalCrossentropy, np.array([1, 2]), [[0.05, 0.95, 0], [0.1, 0.8, 0.1]], None, 1.1769392),
    (M.SparseCategoricalCrossentropy, np.array([1, 2]), [[0.05, 0.95, 0], [0.1, 0.8, 0.1]], [0.3, 0.7],
     1.6271976),
    (M.LogCoshError, [[0, 1], [0, 0]], [[1, 1], [0, 0]], None, 0.10844523),
    (M.LogCoshError, [[0, 1], [0, 0]], [[1, 1], [0, 0]], [1, 0], 0.21689045),
    (M.CosineSimilarity, [[0, 1], [1, 1]], [[1, 0], [1, 1]], None, 0.49999997),
    (M.CosineSimilarity, [[0, 1], [1, 1]], [[1, 0], [1, 1]], [0.3, 0.7], 0.6999999),
    (lambda: M.SensitivityAtSpecificity(0.5), [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], None, 0.5),
    (lambda: M.SensitivityAtSpecificity(0.5), [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], [1, 1, 2, 2, 1],
     1 / 3),
    (lambda: M.SpecificityAtSensitivity(0.5), [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], None, 2 / 3),
    (lambda: M.SpecificityAtSensitivity(0.5), [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], [1, 1, 2, 2, 2], 0.5),
    (lambda: M.PrecisionAtRecall(0.5), [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], None, 0.5),
    (lambda: M.PrecisionAtRecall(0.5), [0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8], [2, 2, 2, 1, 1], 1 / 3),
    (lambda: M.RecallAtPrecision(0.8), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], None, 0.5),
    (lambda: M.RecallAtPrecision(0.8), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], [1, 0, 0, 1], 1.0),
    (M.TruePositives, [0, 1, 1, 0, 1], [0.5, 0.5, 0.7, 0.2, 0.1], None, 1.0),
    (M.FalsePositives, [0, 1, 1, 0, 1], [0.5, 0.5, 0.7, 0.2, 0.1], None, 0.0),
    (M.TrueNegatives, [0, 1, 1, 0, 1], [0.5, 0.5, 0.7, 0.2, 0.1], None, 2.0),
    (M.FalseNegatives, [0, 1, 1, 0, 1], [0.5, 0.5, 0.7, 0.2, 0.1], None, 2.0),
    (M.R2Score, [[1], [2], [3], [4]], [[1.1], [1.9], [3.2], [3.7]], None, 0.97),
    (lambda: M.R2Score(num_regressors=1), [[1], [2], [3], [4]], [[1.1], [1.9], [3.2], [3.7]], None, 0.955),
    (lambda: M.AUC(curve="PR"), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], None, 0.79727),
])
def test_keras_documented_examples(make, yt, yp, sw, expect):
    m = make()
    m.update_state(yt, yp, sample_weight=sw)
    assert m.result() == pytest.approx(expect, rel=DOC_RTOL if expect != 0.79727 else 1e-5, abs=1e-12)


def test_fscore_documented_examples():
    yt = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], np.int32)
    yp = np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], np.float32)
    expect = {None: [0.5, 0.8, 0.6667], "micro": 0.6667, "macro": 0.6556, "weighted": 0.6278}
    for average, value in expect.items():
        m = M.F1Score(average=average, threshold=0.5)
        m.update_state(yt, yp)
        np.testing.assert_allclose(m.result(), value, atol=1e-4)
    m = M.FBetaScore(beta=2.0, threshold=0.5)
    m.update_state(yt, yp)
    np.testing.assert_allclose(m.result(), [0.385, 0.909, 0.833], atol=1e-3)


def test_confusion_counts_several_thresholds_give_an_array():
    m = M.TruePositives(thresholds=[0, 0.5, 0.6])
    m.update_state([0, 1, 1, 0, 1], [0.5, 0.5, 0.7, 0.2, 0.1])
    r = m.result()
    assert isinstance(r, np.ndarray) and r.shape == (3,)
    np.testing.assert_array_equal(r, [3, 1, 1])
    one = M.TruePositives(thresholds=[0.5])  # a one-element list: a scalar, as Keras
    one.update_state([0, 1, 1, 0, 1], [0.5, 0.5, 0.7, 0.2, 0.1])
    assert isinstance(one.result(), float) and one.result() == 1.0


# ----------------------------------------------------------------------------- vs reference

LOSS_CASES = [
    ("binary_crossentropy", M.BinaryCrossentropy, {}, "prob"),
    ("binary_crossentropy", lambda: M.BinaryCrossentropy(label_smoothing=0.2), {"label_smoothing": 0.2}, "prob"),
    ("binary_crossentropy", lambda: M.BinaryCrossentropy(from_logits=True), {"from_logits": True}, "logit"),
    ("categorical_crossentropy", M.CategoricalCrossentropy, {}, "onehot"),
    ("categorical_crossentropy", lambda: M.CategoricalCrossentropy(label_smoothing=0.1),
     {"label_smoothing": 0.1}, "onehot"),
    ("categorical_crossentropy", lambda: M.CategoricalCrossentropy(from_logits=True), {"from_logits": True},
     "onehot_logit"),
    ("sparse_categorical_crossentropy", M.SparseCategoricalCrossentropy, {}, "sparse"),
    ("sparse_categorical_crossentropy", lambda: M.SparseCategoricalCrossentropy(from_logits=True),
     {"from_logits": True}, "sparse_logit"),
    ("kl_divergence", M.KLDivergence, {}, "dist"),
    ("poisson", M.Poisson, {}, "counts"),
    ("hinge", M.Hinge, {}, "binary"),
    ("hinge", M.Hinge, {}, "signed"),
    ("squared_hinge", M.SquaredHinge, {}, "binary"),
    ("squared_hinge", M.SquaredHinge, {}, "signed"),
    ("categorical_hinge", M.CategoricalHinge, {}, "onehot"),
    ("log_cosh_error", M.LogCoshError, {}, "regression"),
    ("cosine_similarity", M.CosineSimilarity, {}, "regression"),
]


def _loss_data(rng, kind, n=40, k=4):
    if kind == "prob":
        return (rng.random((n, k)) < 0.5).astype(np.float32), rng.random((n, k)).astype(np.float32)
    if kind == "logit":
        return (rng.random((n, k)) < 0.5).astype(np.float32), (rng.standard_normal((n, k)) * 4).astype(np.float32)
    if kind in ("onehot", "onehot_logit"):
        yt = np.eye(k, dtype=np.float32)[rng.integers(0, k, n)]
        yp = _probs(rng, n, k) if kind == "onehot" else (rng.standard_normal((n, k)) * 3).astype(np.float32)
        return yt, yp
    if kind in ("sparse", "sparse_logit"):
        yt = rng.integers(0, k, (n, 1)).astype(np.int64)
        yp = _probs(rng, n, k) if kind == "sparse" else (rng.standard_normal((n, k)) * 3).astype(np.float32)
        return yt, yp
    if kind == "dist":
        return _probs(rng, n, k), _probs(rng, n, k)
    if kind == "counts":
        return rng.integers(0, 5, (n, k)).astype(np.float32), (rng.random((n, k)) * 4 + 0.01).astype(np.float32)
    if kind == "binary":
        yt = (rng.random((n, k)) < 0.5).astype(np.float32)
        return yt, rng.standard_normal((n, k)).astype(np.float32)
    if kind == "signed":
        return np.where(rng.random((n, k)) < 0.5, -1.0, 1.0).astype(np.float32), \
            rng.standard_normal((n, k)).astype(np.float32)
    return rng.standard_normal((n, k)).astype(np.float32), rng.standard_normal((n, k)).astype(np.float32)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("kind,make,params,data", LOSS_CASES)
def test_mean_of_loss_metrics_match_reference(rng, kind, make, params, data, weighted):
    yt, yp = _loss_data(rng, data)
    sw = rng.random(len(yp)).astype(np.float32) * 2 if weighted else None
    got = _run(make(), yt, yp, sw)
    expect = _batched_mean(lambda a, b: R.LOSS_MEAN_KINDS[kind](a, b, **params), yt, yp, sw)
    assert got == pytest.approx(expect, rel=RTOL, abs=ATOL)


def test_hinge_decides_the_label_mapping_per_batch():
    # batch 1 holds only 0/1 labels (mapped to -1/+1), batch 2 a 2 (left as is)
    f32 = lambda a: np.asarray(a, np.float32)  # noqa: E731  (the metric sees float32)
    p = f32([[0.3], [0.3]])
    m = M.Hinge()
    m.update_state(f32([[0.0], [1.0]]), p)
    m.update_state(f32([[2.0], [1.0]]), p)
    expect = (R.hinge_values(f32([[0.0], [1.0]]), p).sum() + R.hinge_values(f32([[2.0], [1.0]]), p).sum()) / 4
    assert m.result() == pytest.approx(expect, rel=RTOL)
    assert R.hinge_values(f32([[0.0], [1.0]]), p)[0] == pytest.approx(1.3)


def test_sparse_crossentropy_ignore_class_masks_rows(rng):
    yt = rng.integers(0, 4, 30)
    yt[::3] = -1
    yp = _probs(rng, 30, 4)
    sw = rng.random(30).astype(np.float32)
    for weights in (None, sw):
        got = _run(M.SparseCategoricalCrossentropy(ignore_class=-1), yt, yp, weights)
        assert got == pytest.approx(R.scce_metric(yt, yp, weights, ignore_class=-1), rel=RTOL)
    with pytest.raises(ValueError, match="label 7"):
        M.SparseCategoricalCrossentropy().update_state([7], [[0.5, 0.5]])


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cls", [M.TruePositives, M.FalsePositives, M.TrueNegatives, M.FalseNegatives])
@pytest.mark.parametrize("thresholds", [None, 0.3, [0.0, 0.25, 0.5, 0.75, 1.0], [0.7, 0.1, 0.45]])
def test_confusion_counts_match_reference(rng, cls, thresholds, weighted):
    yt = (rng.random((40, 3)) < 0.4).astype(np.float32)
    yp = rng.random((40, 3)).astype(np.float32)
    yp[:4] = [[0.0, 0.25, 0.5]] * 4  # on the thresholds: not counted as above them
    sw = rng.random(40).astype(np.float32) if weighted else None
    m = cls(thresholds=thresholds)
    got = _run(m, yt, yp, sw)
    ts = [0.5] if thresholds is None else np.atleast_1d(thresholds)
    expect = R.confusion_counts(yt, yp, ts, sw)[R.COUNT_INDEX[m.core_spec()[0]]]
    if len(ts) == 1:
        assert isinstance(got, float) and got == pytest.approx(expect[0], rel=RTOL)
    else:
        np.testing.assert_allclose(got, expect, rtol=RTOL)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cls,arg", [(M.PrecisionAtRecall, "recall"), (M.RecallAtPrecision, "precision"),
                                     (M.SensitivityAtSpecificity, "specificity"),
                                     (M.SpecificityAtSensitivity, "sensitivity")])
@pytest.mark.parametrize("value,num_thresholds,class_id", [(0.5, 200, None), (0.8, 7, None), (0.3, 1, None),
                                                           (0.6, 50, 2), (1.0, 200, None), (0.0, 11, 0)])
def test_operating_points_match_reference(rng, cls, arg, value, num_thresholds, class_id, weighted):
    yt = (rng.random((50, 3)) < 0.4).astype(np.float32)
    yp = np.clip(yt * 0.3 + rng.random((50, 3)) * 0.8, 0, 1).astype(np.float32)
    yp[:3, :] = [[0.0], [0.5], [1.0]]  # exactly on thresholds
    sw = rng.random(50).astype(np.float32) if weighted else None
    m = cls(value, num_thresholds=num_thresholds, class_id=class_id)
    got = _run(m, yt, yp, sw)
    expect = R.operating_point(m.core_spec()[0], yt, yp, value, sw, num_thresholds, class_id)
    assert got == pytest.approx(expect, rel=RTOL, abs=ATOL)
    assert m.get_config()[arg] == value


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("curve,summation", [("ROC", "interpolation"), ("PR", "interpolation"),
                                             ("ROC", "minoring"), ("PR", "majoring")])
@pytest.mark.parametrize("multi_label,label_weights", [(True, None), (True, [0.5, 2.0, 1.0]),
                                                       (False, [0.5, 2.0, 1.0]), (True, [0.0, 1.0, 0.0])])
def test_auc_multi_label_and_label_weights_match_reference(rng, curve, summation, multi_label, label_weights,
                                                           weighted):
    yt = (rng.random((60, 3)) < 0.4).astype(np.float32)
    yp = np.clip(yt * 0.4 + rng.random((60, 3)) * 0.7, 0, 1).astype(np.float32)
    sw = rng.random(60).astype(np.float32) if weighted else None
    m = M.AUC(num_thresholds=50, curve=curve, summation_method=summation, multi_label=multi_label,
              label_weights=label_weights)
    got = _run(m, yt, yp, sw)
    expect = R.auc_general(yt, yp, sw, 50, curve, summation, multi_label, label_weights)
    assert got == pytest.approx(expect, rel=1e-9, abs=1e-12)


def test_auc_multi_label_arguments():
    m = M.AUC(multi_label=True, num_labels=3)
    assert m.get_config()["num_labels"] == 3 and m.get_config()["multi_label"] is True
    with pytest.raises(ValueError, match="columns"):
        m.update_state(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="num_labels"):
        M.AUC(num_labels=2)
    with pytest.raises(ValueError, match="label_weights"):
        M.AUC(label_weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="rank 2"):
        M.AUC(multi_label=True).update_state([0, 1], [0.2, 0.8])
    with pytest.raises(ValueError, match="label_weights"):
        M.AUC(label_weights=[1.0, 1.0]).update_state(np.zeros((2, 3)), np.zeros((2, 3)))
    again = M.AUC.from_config(M.AUC(multi_label=True, label_weights=[1.0, 2.0]).get_config())
    assert again.multi_label and list(again.label_weights) == [1.0, 2.0]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("beta,threshold", [(1.0, None), (1.0, 0.5), (2.0, 0.3), (0.5, None)])
def test_fbeta_matches_reference(rng, average, beta, threshold, weighted):
    yt = (rng.random((40, 4)) < 0.35).astype(np.float32)
    yp = rng.random((40, 4)).astype(np.float32)
    yp[0] = [0.5, 0.5, 0.1, 0.0]  # ties at the row maximum: both count
    yp[1] = 0.0  # an all-zero row predicts nothing (|p| > 1e-9)
    sw = rng.random(40).astype(np.float32) if weighted else None
    m = M.FBetaScore(average=average, beta=beta, threshold=threshold)
    got = _run(m, yt, yp, sw)
    expect = R.fbeta(yt, yp, sw, average, beta, threshold)
    if average is None:
        assert isinstance(got, np.ndarray) and got.shape == (4,)
    np.testing.assert_allclose(got, expect, rtol=RTOL, atol=ATOL)


def test_f1_is_fbeta_with_beta_one(rng):
    yt = (rng.random((20, 3)) < 0.5).astype(np.float32)
    yp = rng.random((20, 3)).astype(np.float32)
    np.testing.assert_array_equal(_run(M.F1Score(average="macro"), yt, yp),
                                  _run(M.FBetaScore(average="macro", beta=1.0), yt, yp))
    assert "beta" not in M.F1Score().get_config() and M.F1Score().name == "f1_score"
    assert M.FBetaScore().name == "fbeta_score"


@pytest.mark.parametrize("bad,match", [
    (dict(average="samples"), "average"), (dict(beta=2), "float"), (dict(beta=-1.0), "> 0"),
    (dict(threshold=1), "float"), (dict(threshold=1.5), "threshold"), (dict(threshold=0.0), "threshold")])
def test_fbeta_bad_arguments(bad, match):
    with pytest.raises(ValueError, match=match):
        M.FBetaScore(**bad)


def test_fscore_and_r2_need_2d_inputs():
    with pytest.raises(ValueError, match="2D"):
        M.F1Score().update_state([1, 0], [0.7, 0.2])
    with pytest.raises(ValueError, match="2D"):
        M.R2Score().update_state([1.0, 2.0], [1.0, 2.0])
    m = M.R2Score()
    m.update_state([1.0, 2.0, 4.0], [[1.0], [2.5], [3.0]])  # (n,) against (n, 1): expanded as Keras
    assert m.result() == pytest.approx(R.r2([[1.0], [2.0], [4.0]], [[1.0], [2.5], [3.0]]), rel=RTOL)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("aggregation", [None, "uniform_average", "variance_weighted_average"])
@pytest.mark.parametrize("num_regressors", [0, 3])
def test_r2_matches_reference(rng, aggregation, num_regressors, weighted):
    yt = rng.standard_normal((40, 3)).astype(np.float32)
    yp = (yt + rng.standard_normal((40, 3)) * 0.5).astype(np.float32)
    sw = rng.random(40).astype(np.float32) if weighted else None
    m = M.R2Score(class_aggregation=aggregation, num_regressors=num_regressors)
    got = _run(m, yt, yp, sw)
    expect = R.r2(yt, yp, sw, aggregation, num_regressors)
    if aggregation is None:
        assert isinstance(got, np.ndarray) and got.shape == (3,)
    np.testing.assert_allclose(got, expect, rtol=RTOL)


def test_r2_adjusted_falls_back_with_a_warning():
    yt = np.array([[1.0], [2.0], [3.0]], np.float32)
    yp = np.array([[1.1], [2.0], [2.9]], np.float32)
    m = M.R2Score(num_regressors=5)
    m.update_state(yt, yp)
    with pytest.warns(UserWarning, match="More independent predictors"):
        r = m.result()
    assert r == pytest.approx(R.r2(yt, yp), rel=RTOL)
    with pytest.raises(ValueError, match="class_aggregation"):
        M.R2Score(class_aggregation="mean")
    with pytest.raises(ValueError, match="num_regressors"):
        M.R2Score(num_regressors=-1)


def test_constant_column_r2_is_nan_or_zero_as_keras():
    m = M.R2Score(class_aggregation=None)
    m.update_state([[1.0, 1.0], [1.0, 2.0]], [[1.0, 1.0], [2.0, 2.0]])
    r = m.result()
    # column 0: SS_tot = 0 and SS_res > 0 -> -inf -> 0 (Keras's where(isinf)); column 1: exact
    np.testing.assert_allclose(r, R.r2([[1.0, 1.0], [1.0, 2.0]], [[1.0, 1.0], [2.0, 2.0]], None, None))


# ----------------------------------------------------------------------------- Mean / Sum

def test_mean_and_sum_keras_examples_and_element_weights(rng):
    m = M.Mean()
    m.update_state([1, 2, 3], sample_weight=[1, 0, 1])
    assert m.result() == 2.0
    m.reset_state()
    m.update_state([[1, 2], [3, 5]])
    assert m.result() == 2.75
    s = M.Sum()
    s.update_state([1, 2, 3], sample_weight=[1, 0, 2])
    assert s.result() == 7.0
    v = rng.random((6, 4))
    w = rng.random((6, 4))
    m = M.Mean()
    m.update_state(v, sample_weight=w)
    assert m.result() == pytest.approx(R.keras_mean(v, w), rel=RTOL)
    m = M.Mean()
    m.update_state(v, sample_weight=w[:, 0])
    assert m.result() == pytest.approx(R.keras_mean(v, w[:, 0]), rel=RTOL)
    s = M.Sum()
    s.update_state(v, sample_weight=w[:, :1])
    assert s.result() == pytest.approx(float((v * w[:, :1]).sum()), rel=RTOL)
    with pytest.raises(ValueError, match="sample_weight"):
        M.Mean().update_state(v, sample_weight=np.ones(5))


# ----------------------------------------------------------------------------- names, configs

NEW_CLASSES = [
    (M.TruePositives, {}), (M.FalsePositives, {"thresholds": [0.2, 0.7]}), (M.TrueNegatives, {}),
    (M.FalseNegatives, {"thresholds": 0.4}),
    (M.BinaryCrossentropy, {"from_logits": True, "label_smoothing": 0.1}),
    (M.CategoricalCrossentropy, {"label_smoothing": 0.2}),
    (M.SparseCategoricalCrossentropy, {"ignore_class": 3}), (M.KLDivergence, {}), (M.Poisson, {}),
    (M.Hinge, {}), (M.SquaredHinge, {}), (M.CategoricalHinge, {}), (M.LogCoshError, {}),
    (M.CosineSimilarity, {}), (M.R2Score, {"class_aggregation": None, "num_regressors": 2}),
    (M.F1Score, {"average": "macro"}), (M.FBetaScore, {"beta": 2.0, "threshold": 0.4}),
    (M.PrecisionAtRecall, {"recall": 0.7}), (M.RecallAtPrecision, {"precision": 0.6, "class_id": 1}),
    (M.SensitivityAtSpecificity, {"specificity": 0.5, "num_thresholds": 10}),
    (M.SpecificityAtSensitivity, {"sensitivity": 0.4}),
    (M.AUC, {"multi_label": True, "num_labels": 2, "label_weights": [0.3, 0.7]}),
]


@pytest.mark.parametrize("cls,kwargs", NEW_CLASSES)
def test_config_round_trip_and_serialize(cls, kwargs):
    m = cls(**kwargs)
    config = m.get_config()
    assert config["name"] == m.name and config["dtype"] == "float32"
    again = cls.from_config(config)
    assert type(again) is cls and again.get_config() == config
    back = M.deserialize(M.serialize(m))
    assert type(back) is cls and back.get_config() == config


def test_default_names_and_directions_as_keras():
    fixed = {M.BinaryCrossentropy: "binary_crossentropy", M.CategoricalCrossentropy: "categorical_crossentropy",
             M.SparseCategoricalCrossentropy: "sparse_categorical_crossentropy", M.KLDivergence: "kl_divergence",
             M.Poisson: "poisson", M.Hinge: "hinge", M.SquaredHinge: "squared_hinge",
             M.CategoricalHinge: "categorical_hinge", M.LogCoshError: "logcosh",
             M.CosineSimilarity: "cosine_similarity", M.R2Score: "r2_score", M.F1Score: "f1_score",
             M.FBetaScore: "fbeta_score"}
    for cls, name in fixed.items():
        assert cls().name == name
    M._reset_auto_names()
    assert M.TruePositives().name == "true_positives" and M.TruePositives().name == "true_positives_1"
    assert M.PrecisionAtRecall(0.5).name == "precision_at_recall"
    up = [M.CosineSimilarity(), M.R2Score(), M.F1Score(), M.PrecisionAtRecall(0.5), M.AUC()]
    down = [M.BinaryCrossentropy(), M.KLDivergence(), M.Poisson(), M.Hinge(), M.LogCoshError()]
    assert all(m.direction == "up" for m in up) and all(m.direction == "down" for m in down)
    assert M.TruePositives().direction is None  # Keras gives the counts no direction


def test_every_cpp_kind_has_one_class():
    kinds = {}
    for cls in M._ALL_CLASSES:
        kind = cls.__dict__.get("_kind")
        if kind:
            assert kind not in kinds, f"{kind} is named by two classes"
            kinds[kind] = cls
    assert sorted(kinds) == sorted(ranvier._core.metric_kind_names())


@pytest.mark.parametrize("name,cls", [
    ("true_positives", M.TruePositives), ("false_negatives", M.FalseNegatives),
    ("binary_crossentropy", M.BinaryCrossentropy), ("bce", M.BinaryCrossentropy), ("BCE", M.BinaryCrossentropy),
    ("categorical_crossentropy", M.CategoricalCrossentropy),
    ("sparse_categorical_crossentropy", M.SparseCategoricalCrossentropy),
    ("kl_divergence", M.KLDivergence), ("KLDivergence", M.KLDivergence), ("poisson", M.Poisson),
    ("hinge", M.Hinge), ("squared_hinge", M.SquaredHinge), ("categorical_hinge", M.CategoricalHinge),
    ("log_cosh_error", M.LogCoshError), ("cosine_similarity", M.CosineSimilarity), ("r2_score", M.R2Score),
    ("f1_score", M.F1Score), ("f_beta_score", M.FBetaScore), ("msle", M.MeanSquaredLogarithmicError),
    ("mean", M.Mean), ("sum", M.Sum),
    # ranvier extensions: tf.keras 2's names
    ("kld", M.KLDivergence), ("KLD", M.KLDivergence), ("kullback_leibler_divergence", M.KLDivergence),
    ("logcosh", M.LogCoshError), ("log_cosh", M.LogCoshError),
])
def test_string_names(name, cls):
    assert type(M.get(name)) is cls


def test_names_needing_arguments_fail_when_built():
    with pytest.raises(TypeError):
        M.get("precision_at_recall")
    with pytest.raises(ValueError, match="Could not interpret"):
        M.get("cosine")


def test_loss_functions_given_to_compile_run_in_cpp():
    shapes = ((8, 3), (8, 3))
    for fn, cls in [(M.hinge, M.Hinge), (M.kl_divergence, M.KLDivergence),
                    (M.binary_crossentropy, M.BinaryCrossentropy), (M.log_cosh, M.LogCoshError),
                    (ranvier.losses.poisson, M.Poisson)]:
        m = M.resolve(fn, *shapes)
        assert type(m) is cls and m.name == fn.__name__
    w = M.resolve(M.huber, *shapes)  # no C++ kind: the Python path, smaller is better
    assert isinstance(w, M.MeanMetricWrapper) and w.direction == "down"


@pytest.mark.parametrize("bad", [
    lambda: M.TruePositives(thresholds=1.5), lambda: M.FalsePositives(thresholds=[0.2, -0.1]),
    lambda: M.PrecisionAtRecall(1.5), lambda: M.RecallAtPrecision(0.5, num_thresholds=0),
    lambda: M.RecallAtPrecision(0.5, num_thresholds=2**31 - 1), lambda: M.RecallAtPrecision(0.5, num_thresholds=2.5),
    lambda: M.SensitivityAtSpecificity(0.5, class_id=-1), lambda: M.BinaryCrossentropy(label_smoothing=2),
    lambda: M.CategoricalCrossentropy(axis=0), lambda: M.CosineSimilarity(axis=0),
    lambda: M.SparseCategoricalCrossentropy(ignore_class=1.5)])
def test_bad_arguments_raise_value_error(bad):
    with pytest.raises(ValueError):
        bad()


def test_state_merge_by_addition_equals_one_pass(rng):
    yt = (rng.random((30, 3)) < 0.5).astype(np.float32)
    yp = rng.random((30, 3)).astype(np.float32)
    sw = rng.random(30).astype(np.float32)
    for make in [M.TruePositives, lambda: M.PrecisionAtRecall(0.5), M.R2Score, lambda: M.F1Score("macro"),
                 lambda: M.AUC(multi_label=True), M.BinaryCrossentropy]:
        whole, a, b, merged = make(), make(), make(), make()
        whole.update_state(yt, yp, sw)
        a.update_state(yt[:11], yp[:11], sw[:11])
        b.update_state(yt[11:], yp[11:], sw[11:])
        merged._set_state(np.add(a._state(), b._state()))
        np.testing.assert_allclose(merged.result(), whole.result(), rtol=1e-12)


# ----------------------------------------------------------------------------- through fit/evaluate

def _binary_model(seed=0, k=3):
    ranvier.utils.set_random_seed(seed) if hasattr(ranvier.utils, "set_random_seed") else None
    model = ranvier.Sequential([ranvier.Input(shape=(5,)), ranvier.layers.Dense(8, activation="relu"),
                                ranvier.layers.Dense(k, activation="sigmoid")])
    return model


def _binary_data(rng, n=64, k=3):
    x = rng.standard_normal((n, 5)).astype(np.float32)
    y = (x[:, :k] + 0.3 * rng.standard_normal((n, k)) > 0).astype(np.float32)
    return x, y


def test_fit_history_keys_named_as_keras(rng):
    x, y = _binary_data(rng)
    model = _binary_model()
    M._reset_auto_names()
    model.compile(optimizer="adam", loss="binary_crossentropy",
                  metrics=["true_positives", M.FalseNegatives(thresholds=[0.3, 0.7]), "bce", "kld",
                           M.F1Score(), M.F1Score(average="macro", name="f1_macro"), "r2_score",
                           M.PrecisionAtRecall(0.5), M.AUC(multi_label=True), "hinge", "logcosh"])
    hist = model.fit(x, y, epochs=2, batch_size=16, validation_split=0.25, verbose=0)
    expect = ["true_positives", "false_negatives", "bce", "kld", "f1_score", "f1_macro", "r2_score",
              "precision_at_recall", "auc", "hinge", "logcosh"]
    keys = set(hist.history)
    assert keys == {"loss", "val_loss"} | set(expect) | {"val_" + k for k in expect}
    fn = hist.history["false_negatives"]
    assert len(fn) == 2 and all(isinstance(v, np.ndarray) and v.shape == (2,) for v in fn)
    assert hist.history["f1_score"][0].shape == (3,)
    assert isinstance(hist.history["f1_macro"][0], float)
    values = model.evaluate(x, y, verbose=0)  # a list: loss, then the metrics in compile order
    assert len(values) == 1 + len(expect) and isinstance(values[2], np.ndarray)


def test_evaluate_matches_reference_on_predictions(rng):
    x, y = _binary_data(rng, n=70)
    sw = rng.random(70).astype(np.float32) + 0.1
    model = _binary_model()
    M._reset_auto_names()
    model.compile(optimizer="sgd", loss="mse",
                  metrics=[M.BinaryCrossentropy(), M.TruePositives(thresholds=[0.3, 0.6]), M.R2Score(),
                           M.FBetaScore(average="weighted", beta=2.0, threshold=0.5), M.AUC(multi_label=True),
                           M.SensitivityAtSpecificity(0.6, num_thresholds=20), M.CosineSimilarity()],
                  weighted_metrics=[M.BinaryCrossentropy(name="wbce"), M.R2Score(name="wr2")])
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    out = model.evaluate(x, y, sample_weight=sw, batch_size=16, verbose=0, return_dict=True)
    p = model.predict(x, batch_size=16, verbose=0).astype(np.float64)
    # the evaluate pass and predict run the same float32 network; predictions may differ in
    # the last bit between the two code paths: 1e-5 relative on the metrics, and the
    # threshold-based ones are compared away from the thresholds' neighbourhood below.
    tol = dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out["binary_crossentropy"], R.weighted_mean(R.bce_values(y, p)), **tol)
    np.testing.assert_allclose(out["wbce"], R.weighted_mean(R.bce_values(y, p), sw), **tol)
    np.testing.assert_allclose(out["r2_score"], R.r2(y, p), **tol)
    np.testing.assert_allclose(out["wr2"], R.r2(y, p, sw), **tol)
    np.testing.assert_allclose(out["cosine_similarity"], R.weighted_mean(R.cosine_values(y, p)), **tol)
    near = lambda ts: np.min(np.abs(p.reshape(-1, 1) - np.asarray(ts)[None, :]))  # noqa: E731
    if near([0.3, 0.6, 0.5]) > 1e-5:
        np.testing.assert_allclose(out["true_positives"], R.confusion_counts(y, p, [0.3, 0.6])[0], **tol)
        np.testing.assert_allclose(out["fbeta_score"], R.fbeta(y, p, None, "weighted", 2.0, 0.5), **tol)
    if near(np.linspace(0, 1, 200)) > 1e-5:
        np.testing.assert_allclose(out["auc"], R.auc_general(y, p, multi_label=True), **tol)
    if near(np.linspace(0, 1, 20)) > 1e-5:
        np.testing.assert_allclose(out["sensitivity_at_specificity"],
                                   R.operating_point("sensitivity_at_specificity", y, p, 0.6, None, 20), **tol)


def test_sparse_crossentropy_metric_with_sparse_loss(rng):
    x = rng.standard_normal((48, 5)).astype(np.float32)
    labels = rng.integers(0, 4, 48)
    model = ranvier.Sequential([ranvier.Input(shape=(5,)), ranvier.layers.Dense(4, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_crossentropy", "accuracy"])
    out = model.evaluate(x, labels, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0).astype(np.float64)
    np.testing.assert_allclose(out["sparse_categorical_crossentropy"],
                               R.weighted_mean(R.scce_values(labels, p)), rtol=1e-5)
    np.testing.assert_allclose(out["sparse_categorical_crossentropy"], out["loss"], rtol=1e-5)


# ----------------------------------------------------------------------------- Python metrics

class CountCalls(M.Metric):
    """A Keras-style subclass: state in add_variable, updated with NumPy."""

    def __init__(self, name="abs_err_sum", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.batches = self.add_weight(name="batches", shape=(), initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        err = np.abs(np.asarray(y_true) - np.asarray(y_pred)).sum(axis=1)
        if sample_weight is not None:
            err = err * np.asarray(sample_weight)
        self.total.assign_add(err.sum())
        self.batches.assign_add(1.0)

    def result(self):
        return self.total


def my_mae(y_true, y_pred):
    return np.mean(np.abs(y_true - y_pred), axis=-1)


def test_python_metrics_run_per_batch_inside_fit_and_evaluate(rng):
    x, y = _binary_data(rng, n=50)
    sw = rng.random(50).astype(np.float32)
    model = _binary_model()
    custom, weighted_custom = CountCalls(), CountCalls(name="w_abs")
    model.compile(optimizer="adam", loss="mse", metrics=[my_mae, custom, "mae"],
                  weighted_metrics=[weighted_custom])
    hist = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert set(hist.history) == {"loss", "my_mae", "abs_err_sum", "mae", "w_abs"}
    # the Python function and the built-in metric see the same batches
    np.testing.assert_allclose(hist.history["my_mae"], hist.history["mae"], rtol=1e-6)
    assert float(custom.batches) == 4.0  # reset at the epoch's start, then 4 batches of 16, 16, 16, 2
    out = model.evaluate(x, y, sample_weight=sw, batch_size=16, verbose=0, return_dict=True)
    p = model.predict(x, batch_size=16, verbose=0).astype(np.float64)
    err = np.abs(y - p).sum(axis=1)
    np.testing.assert_allclose(out["abs_err_sum"], err.sum(), rtol=1e-5)
    np.testing.assert_allclose(out["w_abs"], (err * sw).sum(), rtol=1e-5)  # weighted: gets sample_weight
    np.testing.assert_allclose(out["my_mae"], np.abs(y - p).mean(), rtol=1e-5)
    assert float(custom.batches) == 4.0  # evaluate reset it first
    res = model.train_on_batch(x[:8], y[:8], return_dict=True)
    assert set(res) == {"loss", "my_mae", "abs_err_sum", "mae", "w_abs"} and float(custom.batches) == 1.0


def test_python_metric_errors_propagate_and_the_model_stays_usable(rng):
    x, y = _binary_data(rng, n=20)

    def broken(y_true, y_pred):
        raise ArithmeticError("broken metric")

    model = _binary_model()
    model.compile(optimizer="sgd", loss="mse", metrics=[broken])
    with pytest.raises(ArithmeticError, match="broken metric"):
        model.fit(x, y, epochs=1, verbose=0)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    model.fit(x, y, epochs=1, verbose=0)


def test_variables_reset_to_initial_values():
    m = CountCalls()
    m.update_state([[1.0, 2.0]], [[0.0, 0.0]])
    assert float(m.result()) == 3.0 and len(m.variables) == 2
    m.reset_state()
    assert float(m.result()) == 0.0 and float(m.batches) == 0.0
    v = m.add_variable(shape=(2,), initializer="ones")
    v.assign_sub([1.0, 0.5])
    np.testing.assert_array_equal(v.numpy(), [0.0, 0.5])
    np.testing.assert_array_equal(np.asarray(v + 1.0), [1.0, 1.5])
    with pytest.raises(ValueError, match="initializer"):
        m.add_variable(initializer="glorot_uniform")


def test_log_value_conversions():
    assert M.log_value(np.float32(2.5)) == 2.5 and isinstance(M.log_value(np.float32(2.5)), float)
    arr = M.log_value([1.0, 2.0])
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float64
    assert isinstance(M.log_value(np.array([3.0])), np.ndarray)  # a one-class vector stays a vector
    assert math.isnan(M.log_value(float("nan")))


def test_progbar_shows_an_array_metric_as_its_mean(rng, capsys):
    x, y = _binary_data(rng, n=20)
    model = _binary_model()
    model.compile(optimizer="sgd", loss="mse", metrics=[M.TruePositives(thresholds=[0.2, 0.8])])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(x, y, epochs=1, verbose=2)
    assert re.search(r"true_positives(_\d+)?: \d", capsys.readouterr().out)


# ----------------------------------------------------------------------------- several thresholds

@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("cls", [M.Precision, M.Recall])
@pytest.mark.parametrize("kwargs", [dict(thresholds=[0.2, 0.5, 0.9]), dict(thresholds=[0.7, 0.1], class_id=1),
                                    dict(thresholds=[0.0, 0.5], top_k=2)])
def test_precision_recall_with_several_thresholds(rng, cls, kwargs, weighted):
    yt = (rng.random((30, 3)) < 0.4).astype(np.float32)
    yp = rng.random((30, 3)).astype(np.float32)
    sw = rng.random(30).astype(np.float32) if weighted else None
    m = cls(**kwargs)
    got = _run(m, yt, yp, sw)
    assert isinstance(got, np.ndarray) and got.shape == (len(kwargs["thresholds"]),)
    one = [R.precision_recall(m.core_spec()[0], yt, yp, sw, threshold=float(np.float32(t)),
                              top_k=kwargs.get("top_k"), class_id=kwargs.get("class_id"))
           for t in kwargs["thresholds"]]
    np.testing.assert_allclose(got, one, rtol=RTOL)
    assert cls.from_config(m.get_config()).get_config() == m.get_config()


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("curve", ["ROC", "PR"])
def test_auc_with_uneven_thresholds_compares_each(rng, curve, weighted):
    yt = (rng.random((50, 2)) < 0.4).astype(np.float32)
    yp = rng.random((50, 2)).astype(np.float32)
    yp[0] = [0.1, 0.35]  # exactly on thresholds: not above them
    sw = rng.random(50).astype(np.float32) if weighted else None
    ts = [0.35, 0.1, 0.6, 0.62, 0.95]
    m = M.AUC(thresholds=ts, curve=curve)
    assert m.num_thresholds == 7 and m.thresholds[1:-1] == sorted(ts)
    got = _run(m, yt, yp, sw)
    full = [-R.EPSILON] + sorted(ts) + [1 + R.EPSILON]
    expect = R._auc_from_counts(*R.confusion_counts(yt, np.clip(yp, 0, 1), full, sw), curve, "interpolation")
    assert got == pytest.approx(expect, rel=1e-12, abs=1e-15)
    assert M.AUC.from_config(m.get_config()).get_config() == m.get_config()


def test_python_metric_calling_the_model_is_refused_not_a_hang(rng):
    x, y = _binary_data(rng, n=20)
    model = _binary_model()

    def calls_predict(y_true, y_pred):
        return np.mean(np.abs(model.predict(x[:2], verbose=0)), axis=-1)

    model.compile(optimizer="sgd", loss="mse", metrics=[calls_predict])
    with pytest.raises(RuntimeError, match="cannot run the model"):
        model.fit(x, y, epochs=1, verbose=0)
    with pytest.raises(RuntimeError, match="cannot run the model"):
        model.evaluate(x, y, verbose=0)
    assert model.predict(x[:2], verbose=0).shape == (2, 3)  # usable afterwards


@pytest.mark.parametrize("make", [M.Hinge, M.SquaredHinge, M.CategoricalHinge, M.BinaryCrossentropy,
                                  M.KLDivergence, M.Poisson, M.LogCoshError, M.CosineSimilarity])
def test_a_nan_prediction_gives_nan_as_keras(make):
    m = make()
    m.update_state([[1.0, 0.0], [0.0, 1.0]], [[np.nan, 0.5], [0.2, 0.7]])
    assert math.isnan(m.result())


class ForeignMetric:
    """A metric of another library: duck-typed update_state / result / reset_state."""

    name = "foreign_max"

    def __init__(self):
        self.value = -np.inf

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.value = max(self.value, float(np.max(np.asarray(y_pred))))

    def result(self):
        return self.value

    def reset_state(self):
        self.value = -np.inf


def test_duck_typed_metric_objects_run_on_the_python_path(rng):
    x, y = _binary_data(rng, n=30)
    model = _binary_model()
    foreign = ForeignMetric()
    model.compile(optimizer="sgd", loss="mse", metrics=[foreign])
    out = model.evaluate(x, y, verbose=0, return_dict=True)
    p = model.predict(x, verbose=0)
    assert set(out) == {"loss", "foreign_max"}
    assert out["foreign_max"] == pytest.approx(float(p.max()), rel=1e-6)


def test_a_python_metric_is_freed_with_its_model(rng):
    import gc
    import weakref
    x, y = _binary_data(rng, n=16)
    model = _binary_model()
    metric = CountCalls()
    model.compile(optimizer="sgd", loss="mse", metrics=[metric])
    model.fit(x, y, epochs=1, verbose=0)
    ref = weakref.ref(metric)
    del model, metric
    gc.collect()
    assert ref() is None


def test_history_plot_draws_array_metrics_per_component(rng, tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    from ranvier import plotting
    x, y = _binary_data(rng, n=24)
    model = _binary_model()
    model.compile(optimizer="sgd", loss="mse", metrics=[M.TruePositives(thresholds=[0.2, 0.6], name="tp")])
    hist = model.fit(x, y, epochs=2, verbose=0, validation_split=0.25)
    logs, _ = plotting._series(hist)
    assert {"tp[0]", "tp[1]", "val_tp[0]", "val_tp[1]", "loss"} <= set(logs)
    assert logs["tp[1]"] == [float(v[1]) for v in hist.history["tp"]]
    hist.plot(path=tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_size > 0


# every new kind through evaluate (unweighted and as a weighted metric), against the
# reference on the model's own predictions; (name, make, reference(y, p, sw), output, labels)
def _mean_ref(kind, **params):
    return lambda y, p, sw: _batched_mean(lambda a, b: R.LOSS_MEAN_KINDS[kind](a, b, **params), y, p, sw)


EVALUATE_CASES = [
    ("bce", M.BinaryCrossentropy, _mean_ref("binary_crossentropy"), "sigmoid", "binary"),
    ("bce_logits", lambda **kw: M.BinaryCrossentropy(from_logits=True, **kw),
     _mean_ref("binary_crossentropy", from_logits=True), "linear", "binary"),
    ("cce", lambda **kw: M.CategoricalCrossentropy(label_smoothing=0.1, **kw),
     _mean_ref("categorical_crossentropy", label_smoothing=0.1), "softmax", "onehot"),
    ("kld", M.KLDivergence, _mean_ref("kl_divergence"), "softmax", "onehot"),
    ("poisson", M.Poisson, _mean_ref("poisson"), "softplus", "counts"),
    ("hinge", M.Hinge, _mean_ref("hinge"), "linear", "binary"),
    ("squared_hinge", M.SquaredHinge, _mean_ref("squared_hinge"), "linear", "binary"),
    ("categorical_hinge", M.CategoricalHinge, _mean_ref("categorical_hinge"), "linear", "onehot"),
    ("logcosh", M.LogCoshError, _mean_ref("log_cosh_error"), "linear", "real"),
    ("cosine", M.CosineSimilarity, _mean_ref("cosine_similarity"), "linear", "real"),
    ("r2", M.R2Score, lambda y, p, sw: R.r2(y, p, sw), "linear", "real"),
    ("fn", lambda **kw: M.FalseNegatives(thresholds=[0.25, 0.75], **kw),
     lambda y, p, sw: R.confusion_counts(y, p, [0.25, 0.75], sw)[3], "sigmoid", "binary"),
    ("tn", M.TrueNegatives, lambda y, p, sw: R.confusion_counts(y, p, [0.5], sw)[2][0], "sigmoid", "binary"),
    ("rap", lambda **kw: M.RecallAtPrecision(0.6, num_thresholds=37, **kw),
     lambda y, p, sw: R.operating_point("recall_at_precision", y, p, 0.6, sw, 37), "sigmoid", "binary"),
    ("f1", lambda **kw: M.F1Score(average="micro", **kw), lambda y, p, sw: R.fbeta(y, p, sw, "micro"),
     "sigmoid", "binary"),
    ("auc_pr", lambda **kw: M.AUC(curve="PR", num_thresholds=64, label_weights=[1.0, 0.5, 2.0], **kw),
     lambda y, p, sw: R.auc_general(y, p, sw, 64, "PR", label_weights=[1.0, 0.5, 2.0]), "sigmoid", "binary"),
]


@pytest.mark.parametrize("name,make,ref,activation,labels", EVALUATE_CASES, ids=[c[0] for c in EVALUATE_CASES])
def test_every_new_metric_through_evaluate(rng, name, make, ref, activation, labels):
    n, k = 53, 3
    x = rng.standard_normal((n, 5)).astype(np.float32)
    y = {"binary": lambda: (rng.random((n, k)) < 0.45).astype(np.float32),
         "onehot": lambda: np.eye(k, dtype=np.float32)[rng.integers(0, k, n)],
         "counts": lambda: rng.integers(0, 4, (n, k)).astype(np.float32),
         "real": lambda: rng.standard_normal((n, k)).astype(np.float32)}[labels]()
    sw = (rng.random(n) + 0.1).astype(np.float32)
    model = ranvier.Sequential([ranvier.Input(shape=(5,)), ranvier.layers.Dense(k, activation=activation)])
    model.compile(optimizer="sgd", loss="mse", metrics=[make(name="m")], weighted_metrics=[make(name="w")])
    out = model.evaluate(x, y, sample_weight=sw, batch_size=16, verbose=0, return_dict=True)
    p = model.predict(x, batch_size=16, verbose=0)
    # evaluate and predict run the same float32 network on the same 16-row batches
    np.testing.assert_allclose(out["m"], ref(y, p, None), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(out["w"], ref(y, p, sw), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("make,kind", [
    (lambda: M.TruePositives(thresholds=[0.3, 0.7]), "counts"), (M.FalseNegatives, "counts"),
    (M.Precision, "precision"), (M.Recall, "recall"), (lambda: M.AUC(num_thresholds=30), "auc"),
    (lambda: M.PrecisionAtRecall(0.5, num_thresholds=25), "op")])
def test_a_weight_per_element_for_the_flattening_kinds(rng, make, kind):
    yt = (rng.random((20, 3)) < 0.4).astype(np.float32)
    yp = rng.random((20, 3)).astype(np.float32)
    w = rng.random((20, 3)).astype(np.float32)
    m = make()
    m.update_state(yt, yp, sample_weight=w)
    # the same elements as rows of their own, each with its weight
    flat = make()
    flat.update_state(yt.reshape(-1, 1), yp.reshape(-1, 1), sample_weight=w.reshape(-1))
    np.testing.assert_allclose(m.result(), flat.result(), rtol=1e-12)
    if kind == "counts":
        np.testing.assert_allclose(np.atleast_1d(m.result()),
                                   R.confusion_counts(yt, yp, m.thresholds, None, w)[
                                       R.COUNT_INDEX[m.core_spec()[0]]], rtol=RTOL)
    with pytest.raises(ValueError, match="sample_weight"):
        make().update_state(yt, yp, sample_weight=np.ones((20, 2)))


def test_a_rate_equal_to_the_target_is_feasible():
    # threshold 0: precision 4/9; threshold 0.5: precision 3/5, exactly the target 0.6
    # (Keras: >=), recall 3/4; threshold 1: nothing predicted
    m = M.RecallAtPrecision(0.6, num_thresholds=3)
    m.update_state([1, 1, 1, 0, 0, 0, 0, 0, 1], [0.9] * 5 + [0.1] * 4)
    assert m.result() == pytest.approx(0.75)


def test_new_and_python_metrics_with_a_generator(rng):
    x, y = _binary_data(rng, n=48)

    def batches():
        for s in range(0, 48, 16):
            yield x[s:s + 16], y[s:s + 16]

    model = _binary_model()
    model.compile(optimizer="sgd", loss="mse", metrics=[my_mae, "mae", M.F1Score(average="macro", name="f1")])
    hist = model.fit(batches(), epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(hist.history["my_mae"], hist.history["mae"], rtol=1e-6)
    arrays = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    gen = model.evaluate(batches(), verbose=0, return_dict=True)
    for key in ("my_mae", "mae", "f1", "loss"):
        np.testing.assert_allclose(gen[key], arrays[key], rtol=1e-6)


def test_a_subclass_that_skips_metric_init_still_runs(rng):
    class NoSuper(M.Metric):
        def __init__(self):  # no super().__init__(): Keras would fail later, ranvier copes
            self.total = 0.0

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.total += float(np.sum(y_pred))

        def result(self):
            return self.total

        def reset_state(self):
            self.total = 0.0

    x, y = _binary_data(rng, n=16)
    model = _binary_model()
    model.compile(optimizer="sgd", loss="mse", metrics=[NoSuper()])
    out = model.evaluate(x, y, verbose=0, return_dict=True)
    assert out["no_super"] == pytest.approx(float(model.predict(x, verbose=0).sum()), rel=1e-5)
