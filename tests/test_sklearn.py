"""ranvier.sklearn: scikit-learn's estimator checks, agreement with scikit-learn's own
MLPs, and the estimators inside scikit-learn's tools (Pipeline, GridSearchCV, ...)."""
import pickle
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn import neural_network as sk_nn  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from ranvier import _random  # noqa: E402
from ranvier.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# short fits on purpose: their "not converged" warnings are noise here (one test asserts it)
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# --------------------------------------------------------------------------- check_estimator
# Checks deliberately skipped, with the reason. Everything else scikit-learn runs passes.
SKIPPED_CHECKS = {
    # Fits with integer sample weights against a fit on the data with those samples
    # repeated and compares predictions at rtol=1e-7. ranvier computes in float32, and the
    # two fits sum their batches in a different order, so they agree to ~1e-7 relative
    # (float32 rounding), not to float64's 1e-7 at every element. The same equivalence is
    # tested below at a float32 tolerance (test_sample_weight_equals_repetition).
    "check_sample_weight_equivalence_on_dense_data":
        "float32 training: weighted and repeated fits agree to float32 rounding, not rtol=1e-7",
}


def _check_name(check):
    return getattr(check, "func", check).__name__


@parametrize_with_checks([MLPClassifier(), MLPRegressor()])
def test_sklearn_estimator_checks(estimator, check):
    name = _check_name(check)
    if name in SKIPPED_CHECKS:
        pytest.skip(SKIPPED_CHECKS[name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# --------------------------------------------------------------------------- agreement with sklearn
def _data(n=120, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 5)
    Y = np.c_[X @ rng.randn(5), X @ rng.randn(5)]
    return rng, X, Y


def _compare(ours, theirs, X, y, rtol, atol, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = ours(**params).fit(X, y)
        b = theirs(**params).fit(X, y)
    assert a.n_iter_ == b.n_iter_
    assert a.n_layers_ == b.n_layers_ and a.n_outputs_ == b.n_outputs_
    assert a.out_activation_ == b.out_activation_
    for wa, wb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert wa.shape == wb.shape
        np.testing.assert_allclose(wa, wb, rtol=rtol, atol=atol)
    # the reported loss is scikit-learn's (L2 term included): float32 vs float64 sums
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-5)
    return a, b


# Same random_state -> same initial weights (sklearn's init, drawn in sklearn's order);
# shuffle=False and a batch size dividing n -> the same batches, so a few epochs of
# ranvier (float32) and scikit-learn (float64) must give the same weights. Tolerance:
# float32 rounding (~6e-8 relative) amplified over 6 steps; Adam divides by sqrt(v)+eps,
# which amplifies differences of tiny gradients, hence its larger atol.
COMMON = dict(hidden_layer_sizes=(7, 4), alpha=0.1, max_iter=6, tol=0.0, n_iter_no_change=100,
              shuffle=False, random_state=3, learning_rate_init=0.05)
TOL = {"sgd": dict(rtol=1e-4, atol=1e-5), "adam": dict(rtol=1e-4, atol=1e-4)}


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("batch_size", [120, 40])
def test_regressor_matches_sklearn(solver, batch_size):
    _, X, Y = _data()
    _compare(MLPRegressor, sk_nn.MLPRegressor, X, Y[:, 0], solver=solver, batch_size=batch_size,
             **TOL[solver], **COMMON)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_multioutput_regressor_matches_sklearn(solver):
    # sklearn trains on the half squared error summed over outputs but reports its mean
    _, X, Y = _data()
    _compare(MLPRegressor, sk_nn.MLPRegressor, X, Y, solver=solver, batch_size=40, **TOL[solver], **COMMON)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_poisson_regressor_matches_sklearn(solver):
    if "loss" not in sk_nn.MLPRegressor().get_params():
        pytest.skip("scikit-learn < 1.7 has no MLPRegressor(loss='poisson')")
    _, X, Y = _data()
    _compare(MLPRegressor, sk_nn.MLPRegressor, X, np.abs(Y[:, 0]), solver=solver, batch_size=40,
             loss="poisson", **TOL[solver], **COMMON)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
@pytest.mark.parametrize("activation", ["relu", "logistic", "tanh", "identity"])
def test_classifier_matches_sklearn(solver, kind, activation):
    rng, X, _ = _data()
    y = {"binary": rng.choice(["no", "yes"], 120), "multiclass": rng.randint(0, 3, 120),
         "multilabel": rng.randint(0, 2, (120, 3))}[kind]
    a, b = _compare(MLPClassifier, sk_nn.MLPClassifier, X, y, solver=solver, batch_size=40,
                    activation=activation, **TOL[solver], **COMMON)
    np.testing.assert_array_equal(a.classes_, b.classes_)
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X), rtol=1e-4, atol=1e-5)


def test_sgd_schedules_match_sklearn():
    _, X, Y = _data()
    sgd = dict(COMMON, solver="sgd", batch_size=40)
    _compare(MLPRegressor, sk_nn.MLPRegressor, X, Y[:, 0], learning_rate="invscaling", power_t=0.3,
             **TOL["sgd"], **sgd)
    # tol so large the loss never "improves": 'adaptive' divides the rate by 5 after every
    # n_iter_no_change + 1 epochs until it is <= 1e-6, then stops (same epoch as sklearn)
    sgd.update(tol=100.0, n_iter_no_change=1, max_iter=50, momentum=0.5, nesterovs_momentum=False)
    a, b = _compare(MLPRegressor, sk_nn.MLPRegressor, X, Y[:, 0], learning_rate="adaptive",
                    **TOL["sgd"], **sgd)
    assert a.n_iter_ < 50


def test_early_stopping_matches_sklearn():
    # same split (drawn from random_state after the initialization, as sklearn), same
    # validation R^2 per epoch, same stopping epoch, best weights restored
    _, X, Y = _data()
    params = dict(COMMON, solver="sgd", batch_size=108, max_iter=200, tol=1e-4, n_iter_no_change=3,
                  early_stopping=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = MLPRegressor(**params).fit(X, Y[:, 0])
        b = sk_nn.MLPRegressor(**params).fit(X, Y[:, 0])
    assert a.n_iter_ == b.n_iter_ < 200
    assert a.best_loss_ is None and a.validation_scores_ is not None
    np.testing.assert_allclose(a.validation_scores_, b.validation_scores_, rtol=1e-4)
    assert a.best_validation_score_ == max(a.validation_scores_)
    for wa, wb in zip(a.coefs_, b.coefs_):  # the restored best weights
        np.testing.assert_allclose(wa, wb, rtol=1e-3, atol=1e-4)


def test_stopping_on_training_loss():
    _, X, Y = _data()
    reg = MLPRegressor(hidden_layer_sizes=(8,), tol=1e9, n_iter_no_change=4, random_state=0).fit(X, Y[:, 0])
    # the first epoch improves on best_loss_=inf; then the loss never improves by tol, and
    # sklearn stops when the count exceeds n_iter_no_change: after 1 + (4 + 1) epochs
    assert reg.n_iter_ == 6 and len(reg.loss_curve_) == 6
    assert reg.best_loss_ == min(reg.loss_curve_) and reg.validation_scores_ is None
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(3\\)"):
        MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, Y[:, 0])


def test_sample_weight_equals_repetition():
    # the check skipped above, at a float32 tolerance: full batch, so weighting a sample
    # by k is repeating it k times (and weight 0 is removing it)
    rng, X, Y = _data(60)
    y = Y[:, 0]
    w = rng.randint(0, 4, 60)
    params = dict(hidden_layer_sizes=(6,), solver="sgd", batch_size=1000, max_iter=20, tol=0.0,
                  n_iter_no_change=100, random_state=1, learning_rate_init=0.01, alpha=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = MLPRegressor(**params).fit(X, y, sample_weight=w)
        b = MLPRegressor(**params).fit(np.repeat(X, w, axis=0), np.repeat(y, w))
        c = sk_nn.MLPRegressor(**params).fit(X, y, sample_weight=w) \
            if "sample_weight" in sk_nn.MLPRegressor.fit.__code__.co_varnames else None
    np.testing.assert_allclose(a.loss_curve_, b.loss_curve_, rtol=1e-5)
    np.testing.assert_allclose(a.predict(X), b.predict(X), rtol=1e-5, atol=1e-6)
    if c is not None:  # and both are scikit-learn's sample_weight semantics
        np.testing.assert_allclose(a.loss_curve_, c.loss_curve_, rtol=1e-5)


# --------------------------------------------------------------------------- API behaviour
def test_lbfgs_and_bad_params_raise():
    _, X, Y = _data()
    with pytest.raises(ValueError, match="lbfgs.*not available"):
        MLPRegressor(solver="lbfgs").fit(X, Y[:, 0])
    for bad in (dict(activation="softmax"), dict(hidden_layer_sizes=(0,)), dict(alpha=-1.0),
                dict(batch_size=0), dict(learning_rate="cyclic"), dict(validation_fraction=1.0),
                dict(max_iter=0)):
        with pytest.raises(ValueError, match=list(bad)[0]):
            MLPRegressor(**bad).fit(X, Y[:, 0])
    with pytest.raises(ValueError, match="loss"):
        MLPRegressor(loss="huber").fit(X, Y[:, 0])


def test_random_state_reproducible_and_global_stream_untouched():
    _, X, Y = _data()
    _random.seed(7)
    expected_next = _random.next_seed()
    _random.seed(7)
    a = MLPRegressor(hidden_layer_sizes=(9,), max_iter=5, random_state=11).fit(X, Y[:, 0])
    assert _random.next_seed() == expected_next  # the caller's ranvier stream was not consumed
    b = MLPRegressor(hidden_layer_sizes=(9,), max_iter=5, random_state=11).fit(X, Y[:, 0])
    c = MLPRegressor(hidden_layer_sizes=(9,), max_iter=5, random_state=12).fit(X, Y[:, 0])
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert not np.array_equal(a.predict(X), c.predict(X))


def test_fits_in_threads_match_sequential_fits():
    _, X, Y = _data()
    make = [lambda s=s: MLPRegressor(hidden_layer_sizes=(16,), max_iter=20, random_state=s) for s in range(4)]
    sequential = [m().fit(X, Y[:, 0]).predict(X) for m in make]
    results = [None] * 4

    def work(i):
        results[i] = make[i]().fit(X, Y[:, 0]).predict(X)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    for r, s in zip(results, sequential):
        np.testing.assert_array_equal(r, s)


def test_partial_fit():
    rng, X, _ = _data()
    y = rng.randint(0, 3, 120)
    clf = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:60], y[:60], classes=[0, 1, 2, 3])
    assert list(clf.classes_) == [0, 1, 2, 3] and clf.n_iter_ == 1 and len(clf.loss_curve_) == 1
    clf.partial_fit(X[60:], y[60:])
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 2 and clf.t_ == 120
    assert clf.predict_proba(X).shape == (120, 4)
    with pytest.raises(ValueError, match="not in `self.classes_`"):
        clf.partial_fit(X, np.full(120, 9))
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :3], y)
    # one partial_fit is one epoch of fit with the same random_state
    reg_a = MLPRegressor(hidden_layer_sizes=(8,), random_state=5).partial_fit(X, y.astype(float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg_b = MLPRegressor(hidden_layer_sizes=(8,), random_state=5, max_iter=1).fit(X, y.astype(float))
    np.testing.assert_array_equal(reg_a.predict(X), reg_b.predict(X))
    with pytest.raises(ValueError, match="early_stopping"):
        MLPRegressor(early_stopping=True).partial_fit(X, y.astype(float))


def test_warm_start_continues():
    _, X, Y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = MLPRegressor(hidden_layer_sizes=(16,), max_iter=30, warm_start=True, random_state=0)
        reg.fit(X, Y[:, 0])
        first = list(reg.loss_curve_)
        reg.fit(X, Y[:, 0])
    assert reg.n_iter_ == 30 and len(reg.loss_curve_) == 60 and reg.loss_curve_[:30] == first
    # continued from the trained weights (not a new network): the second fit starts where
    # the first ended
    assert abs(reg.loss_curve_[30] - first[-1]) < 0.05 * first[-1] < 0.05 * first[0]
    with pytest.raises(ValueError, match="same network"):
        reg.set_params(hidden_layer_sizes=(5,)).fit(X, Y[:, 0])


def test_predict_outputs_and_attributes():
    rng, X, Y = _data()
    y = rng.choice(["a", "b", "c"], 120)
    clf = MLPClassifier(hidden_layer_sizes=(10, 6), max_iter=50, random_state=0).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float64 and proba.shape == (120, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))
    assert [c.shape for c in clf.coefs_] == [(5, 10), (10, 6), (6, 3)]
    assert [b.shape for b in clf.intercepts_] == [(10,), (6,), (3,)]
    assert clf.n_features_in_ == 5 and clf.n_layers_ == 4 and clf.out_activation_ == "softmax"
    # coefs_ are the model's weights in sklearn's layout
    h = np.maximum(X.astype(np.float32) @ clf.coefs_[0] + clf.intercepts_[0], 0)
    h = np.maximum(h @ clf.coefs_[1] + clf.intercepts_[1], 0)
    z = h @ clf.coefs_[2] + clf.intercepts_[2]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(proba, p / p.sum(axis=1, keepdims=True), rtol=1e-4, atol=1e-6)
    assert 0.0 <= clf.score(X, y) <= 1.0
    reg = MLPRegressor(hidden_layer_sizes=(10,), max_iter=50, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (120, 2) and reg.predict(X).dtype == np.float64


def test_verbose_prints_sklearn_lines(capsys):
    _, X, Y = _data()
    MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, verbose=True, random_state=0,
                 early_stopping=True).fit(X, Y[:, 0])
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Iteration 2, loss = " in out and "Validation score: " in out


# --------------------------------------------------------------------------- sklearn's tools
def test_pipeline_gridsearch_cross_val():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)

    def pipe(cls):
        return make_pipeline(StandardScaler(), cls(hidden_layer_sizes=(32,), random_state=0))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(pipe(MLPClassifier), X, y, cv=3)
        reference = cross_val_score(pipe(sk_nn.MLPClassifier), X, y, cv=3)
        # same initialization and training rules as scikit-learn's MLP: the same accuracy
        # up to a few samples in 600 (different shuffles, float32)
        assert scores.shape == (3,) and scores.min() > 0.9
        np.testing.assert_allclose(scores, reference, atol=0.015)
        grid = GridSearchCV(pipe(MLPClassifier), {"mlpclassifier__alpha": [1e-4, 1e-1],
                                                  "mlpclassifier__hidden_layer_sizes": [(16,), (32,)]},
                            cv=2)
        grid.fit(X[:800], y[:800])
    assert set(grid.best_params_) == {"mlpclassifier__alpha", "mlpclassifier__hidden_layer_sizes"}
    assert len(grid.cv_results_["mean_test_score"]) == 4
    # cv=2 on 800 samples trains on 400 (scikit-learn's MLP scores the same there)
    assert grid.best_score_ > 0.75 and grid.score(X[800:], y[800:]) > 0.85


def test_clone_and_pickle():
    rng, X, _ = _data()
    y = rng.randint(0, 3, 120)
    clf = MLPClassifier(hidden_layer_sizes=(8,), alpha=0.01, max_iter=20, random_state=0)
    c = clone(clf)
    assert c.get_params() == clf.get_params() and not hasattr(c, "model_")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    blob = pickle.dumps(clf)
    back = pickle.loads(blob)
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    for a, b in zip(back.coefs_ + back.intercepts_, clf.coefs_ + clf.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert back.loss_curve_ == clf.loss_curve_ and back.get_params() == clf.get_params()
    # the optimizer state travels too: partial_fit continues identically
    clf.partial_fit(X, y)
    back.partial_fit(X, y)
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    # an unfitted clone of a fitted estimator
    assert not hasattr(clone(clf), "coefs_")


def test_feature_names_checked():
    pd = pytest.importorskip("pandas")
    _, X, Y = _data()
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(df, pd.Series(Y[:, 0]))
    assert list(reg.feature_names_in_) == list(df.columns)
    np.testing.assert_array_equal(reg.predict(df), reg.predict(X))  # arrays: a warning, same numbers
    with pytest.raises(ValueError, match="feature names"):
        reg.predict(df[df.columns[::-1]])
    with pytest.warns(UserWarning, match="feature names"):
        reg.predict(X)


def test_import_error_without_sklearn():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "try:\n    import ranvier.sklearn\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "pip install ranvier[sklearn]" in out.stdout, out.stdout + out.stderr
