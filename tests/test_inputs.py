"""The inputs users already have: NumPy of any real dtype and layout, lists, pandas
DataFrames/Series, anything with ``__array__``, through Sequential.fit / evaluate / predict
(and the scikit-learn estimators). Every representation of the same numbers must give
bit-identical training, and the float32 conversion is made once per call, never per epoch."""
import numpy as np
import pytest

import ranvier as keras

N, D = 96, 6


def _data():
    rng = np.random.default_rng(0)
    # small integers: exactly representable in every dtype tested (int8 .. float16)
    x = rng.integers(0, 8, size=(N, D)).astype(np.float32)
    labels = (x[:, 0] + x[:, 1] > 7).astype(np.int64) + (x[:, 2] > 4)  # 3 classes
    target = (x @ np.arange(1, D + 1, dtype=np.float32) / 20.0).astype(np.float32)
    return x, labels, target


def _train(x, y, loss="sparse_categorical_crossentropy", units=3, epochs=3, **fit_kw):
    keras.utils.set_random_seed(123)
    model = keras.Sequential([keras.Input(shape=(D,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(units, activation="softmax" if units > 1 else None)])
    model.compile(optimizer="adam", loss=loss)
    history = model.fit(x, y, batch_size=16, epochs=epochs, verbose=0, **fit_kw)
    return model, history


def _same(model_a, model_b):
    for a, b in zip(model_a.get_weights(), model_b.get_weights()):
        np.testing.assert_array_equal(a, b)


class ArrayLikeX:
    """Not an ndarray, not a sequence: only ``__array__`` (counts its calls)."""

    def __init__(self, arr):
        self._arr = arr
        self.calls = 0

    def __array__(self, dtype=None, copy=None):
        self.calls += 1
        return self._arr if dtype is None else self._arr.astype(dtype)

    def __len__(self):
        return len(self._arr)


X_VARIANTS = {
    "float64": lambda x: x.astype(np.float64),
    "float16": lambda x: x.astype(np.float16),
    "int8": lambda x: x.astype(np.int8),
    "uint8": lambda x: x.astype(np.uint8),
    "int16": lambda x: x.astype(np.int16),
    "int32": lambda x: x.astype(np.int32),
    "int64": lambda x: x.astype(np.int64),
    "fortran_order": lambda x: np.asfortranarray(x),
    "strided_view": lambda x: np.repeat(x, 2, axis=1)[:, ::2],
    "reversed_rows_view": lambda x: x[::-1].copy()[::-1],
    "list_of_lists": lambda x: x.tolist(),
    "list_of_int_lists": lambda x: x.astype(int).tolist(),
    "tuple_of_tuples": lambda x: tuple(tuple(r) for r in x.tolist()),
    "__array__": lambda x: ArrayLikeX(x.astype(np.float64)),
}


@pytest.mark.parametrize("variant", sorted(X_VARIANTS))
def test_x_representations_train_identically(variant):
    x, labels, _ = _data()
    base, base_hist = _train(x, labels)
    xv = X_VARIANTS[variant](x)
    model, hist = _train(xv, labels)
    _same(model, base)
    assert hist.history["loss"] == base_hist.history["loss"]
    np.testing.assert_array_equal(model.predict(xv, verbose=0), base.predict(x, verbose=0))
    assert model.evaluate(xv, labels, verbose=0) == base.evaluate(x, labels, verbose=0)


Y_VARIANTS = {
    "int8": lambda y: y.astype(np.int8),
    "uint16": lambda y: y.astype(np.uint16),
    "int32": lambda y: y.astype(np.int32),
    "float64": lambda y: y.astype(np.float64),
    "column": lambda y: y.reshape(-1, 1),
    "list": lambda y: y.tolist(),
    "__array__": lambda y: ArrayLikeX(y),
}


@pytest.mark.parametrize("variant", sorted(Y_VARIANTS))
def test_label_representations_train_identically(variant):
    x, labels, _ = _data()
    base, _ = _train(x, labels)
    model, _ = _train(x, Y_VARIANTS[variant](labels))
    _same(model, base)


@pytest.mark.parametrize("variant", ["float64", "column", "list", "int_valued_int64"])
def test_regression_target_representations(variant):
    x, _, target = _data()
    t = np.round(target * 4) / 4  # exact in every float dtype and as ints below
    rep = {"float64": t.astype(np.float64), "column": t.reshape(-1, 1), "list": t.tolist(),
           "int_valued_int64": None}[variant]
    if variant == "int_valued_int64":
        t = np.round(target)
        rep = t.astype(np.int64)
    base, _ = _train(x, t.astype(np.float32), loss="mse", units=1)
    model, _ = _train(x, rep, loss="mse", units=1)
    _same(model, base)


def test_sample_weight_and_validation_data_representations():
    x, labels, _ = _data()
    w = (np.arange(N) % 3).astype(np.float32) + 0.5
    kw = dict(validation_data=(x[:20], labels[:20]), sample_weight=w)
    base, base_hist = _train(x, labels, **kw)
    model, hist = _train(x.tolist(), labels.tolist(), sample_weight=w.astype(np.float64).tolist(),
                         validation_data=(x[:20].astype(np.int16), labels[:20].astype(np.float64)))
    _same(model, base)
    assert hist.history == base_hist.history


# --------------------------------------------------------------------------- pandas
pd_params = pytest.mark.parametrize("frame", ["float64", "int64", "mixed_int_float", "float32"])


@pd_params
def test_pandas_dataframe_and_series(frame):
    pd = pytest.importorskip("pandas")
    x, labels, _ = _data()
    cols = [f"c{i}" for i in range(D)]
    if frame == "mixed_int_float":
        df = pd.DataFrame({c: (x[:, i].astype(np.int64) if i % 2 else x[:, i].astype(np.float64))
                           for i, c in enumerate(cols)})
    else:
        df = pd.DataFrame(x.astype(frame), columns=cols)
    base, _ = _train(x, labels)
    model, _ = _train(df, pd.Series(labels, name="label"))
    _same(model, base)
    np.testing.assert_array_equal(model.predict(df, verbose=0), base.predict(x, verbose=0))


def test_pandas_bad_frames_name_the_problem():
    pd = pytest.importorskip("pandas")
    x, labels, _ = _data()
    model, _ = _train(x, labels, epochs=1)
    df = pd.DataFrame(x.astype(np.float64))
    df.iloc[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.predict(df, verbose=0)
    strings = pd.DataFrame({i: ["a"] * N for i in range(D)})
    with pytest.raises(TypeError, match="real numbers"):
        model.predict(strings, verbose=0)


# DataFrames whose columns pandas stores as extension dtypes (nullable "Float64"/"Int64",
# or an int column next to a bool column) come out of ``DataFrame.to_numpy()`` as
# dtype=object; the model converts them to float32 (pd.NA -> NaN, then refused).
@pytest.mark.parametrize("kind", ["nullable", "int_and_bool"])
def test_pandas_extension_dtypes(kind):
    pd = pytest.importorskip("pandas")
    x, labels, _ = _data()
    if kind == "nullable":
        df = pd.DataFrame({i: pd.array(x[:, i], dtype="Float64" if i % 2 else "Int64") for i in range(D)})
        xe = x
    else:
        df = pd.DataFrame({i: (x[:, i] > 3) if i == 0 else x[:, i].astype(np.int64) for i in range(D)})
        xe = x.copy()
        xe[:, 0] = x[:, 0] > 3
    base, _ = _train(xe, labels)
    model, _ = _train(df, labels)
    _same(model, base)


# --------------------------------------------------------------------------- copies
class _CopyCounter:
    """Counts np.ascontiguousarray calls that convert an array of a given shape."""

    def __init__(self, monkeypatch, shape):
        self.shape = tuple(shape)
        self.count = 0
        original = np.ascontiguousarray

        def counting(a, *args, **kwargs):
            if np.shape(a) == self.shape:
                self.count += 1
            return original(a, *args, **kwargs)

        monkeypatch.setattr(np, "ascontiguousarray", counting)


@pytest.mark.parametrize("epochs", [1, 6])
def test_one_conversion_per_fit_not_per_epoch(monkeypatch, epochs):
    x, labels, _ = _data()
    wide = np.zeros((N, D + 1))  # a distinct shape: only x's conversion is counted
    wide[:, :D] = x
    counter = _CopyCounter(monkeypatch, (N, D))
    x64 = wide[:, :D]  # float64, not contiguous
    arr = ArrayLikeX(x64)
    _train(arr, labels, epochs=epochs)
    assert arr.calls == 1  # __array__ read once per fit
    assert counter.count == 1  # one float32 copy per fit, whatever the number of epochs
    counter.count = 0
    model, _ = _train(x, labels, epochs=epochs)  # C-contiguous float32: no copy at all
    assert counter.count == 0
    model.predict(x64, verbose=0)
    model.evaluate(x64, labels, verbose=0)
    assert counter.count == 2  # one per call


# --------------------------------------------------------------------------- errors
def test_unusable_inputs_raise_clear_errors():
    x, labels, _ = _data()
    model, _ = _train(x, labels, epochs=1)
    with pytest.raises(TypeError, match="real numbers"):
        model.predict(x.astype(np.complex64), verbose=0)
    with pytest.raises(TypeError, match="real numbers"):
        model.predict(np.array([["a"] * D] * 4), verbose=0)
    with pytest.raises(TypeError):
        model.predict("not an array", verbose=0)
    with pytest.raises(ValueError, match=r"shape \(batch, 6\).*x.shape=\(96,\)"):
        model.predict(x[:, 0], verbose=0)
    with pytest.raises(ValueError, match="different lengths"):
        model.fit(x, labels[:-1], verbose=0)


# --------------------------------------------------------------------------- sklearn estimators
def test_sklearn_estimators_take_the_same_inputs():
    pytest.importorskip("sklearn")
    pd = pytest.importorskip("pandas")
    from ranvier.sklearn import MLPClassifier, MLPRegressor
    x, labels, target = _data()
    params = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = MLPClassifier(**params).fit(x, labels)
        for xv in (x.astype(np.int32), x.tolist(), pd.DataFrame(x.astype(np.float64)), ArrayLikeX(x),
                   np.asfortranarray(x.astype(np.float64))):
            clf = MLPClassifier(**params).fit(xv, pd.Series(labels) if isinstance(xv, list) else labels)
            np.testing.assert_array_equal(clf.predict_proba(xv), base.predict_proba(x))
        reg = MLPRegressor(**params).fit(x.astype(np.uint8), target.astype(np.float64).tolist())
        assert reg.predict(x).shape == (N,)


def test_sklearn_estimators_convert_once(monkeypatch):
    # validate_data makes the one float32 C-contiguous copy; Sequential.fit/predict then
    # take it as is (no second copy)
    pytest.importorskip("sklearn")
    from ranvier.models import Sequential
    from ranvier.sklearn import MLPRegressor
    x, _, target = _data()
    seen = []
    fit, predict = Sequential.fit, Sequential.predict

    def spy_fit(self, x, *a, **k):
        seen.append(x)
        return fit(self, x, *a, **k)

    def spy_predict(self, x, *a, **k):
        seen.append(x)
        return predict(self, x, *a, **k)

    monkeypatch.setattr(Sequential, "fit", spy_fit)
    monkeypatch.setattr(Sequential, "predict", spy_predict)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(x.astype(np.float64), target)
        reg.predict(np.asfortranarray(x.astype(np.int64)))
    assert len(seen) == 2
    for arr in seen:
        assert isinstance(arr, np.ndarray) and arr.dtype == np.float32 and arr.flags.c_contiguous
