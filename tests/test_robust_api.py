"""Property tests for the silently-wrong-result and message classes (one test per
class, each over the whole class with hypothesis):

- every size-like int that crosses the binding: a too-large value is a ValueError naming the
  argument and its limit, never pybind11's "incompatible function arguments";
- finite float64 values beyond float32's range are reported as overflowing float32, in data
  and in hyperparameters;
- NaN, inf and meaningless negative hyperparameters are refused in every family;
- pandas columns that are not numbers are refused by name; nullable ones behave like NaN;
- shape products are exact, limited to what a model file holds, and every such model saved
  loads back;
- Keras's binary/categorical cross-entropies refuse y_true/y_pred shapes that differ (after
  its rank alignment), the broadcasting losses agree with NumPy broadcasting;
- elementwise layers take input of any rank, as Keras's;
- Flatten(data_format="channels_first") gives the same numbers in a direct call, predict,
  fit, a reloaded model and the ONNX export;
- Dropout(rate=1.0) trains without NaN.
"""
from __future__ import annotations

import math
import os
import re
import resource

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import ranvier  # noqa: E402
from ranvier import _checks, _core, layers, losses, optimizers  # noqa: E402

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
F32 = np.float32
F32_MAX = float(np.finfo(np.float32).max)

# the values a size-like argument must survive, plus random ones of every magnitude
EDGE_INTS = [0, -1, 1, 2**31 - 2, 2**31 - 1, 2**31, 2**31 + 1, 2**32, 2**40, 2**40 + 1, 2**53 + 1,
             2**63 - 1, 2**63, 2**63 + 1, 2**64 - 1, 2**64, 2**70, -(2**31) - 1, -(2**63) - 1]
size_ints = st.one_of(st.sampled_from(EDGE_INTS), st.integers(-(2**72), 2**72))

_X = np.random.default_rng(0).uniform(-1, 1, (8, 4)).astype(F32)
_Y = np.random.default_rng(1).uniform(-1, 1, (8, 2)).astype(F32)


def _model():
    m = ranvier.Sequential([ranvier.Input(shape=(4,)), layers.Dense(2)])
    m.compile(optimizer="sgd", loss="mse")
    return m


# (call, argument name, largest value the call may allocate memory for: above it only
# a clear error is acceptable, below it we only draw small values)
SIZE_ARGS = {
    "Dropout.seed": (lambda v: layers.Dropout(0.5, seed=v)(_X, training=True), "seed", None),
    "Dropout.noise_shape": (lambda v: layers.Dropout(0.5, noise_shape=(v, 4))(_X, training=True), "noise_shape",
                            None),
    "Dense.units": (lambda v: layers.Dense(v).build((None, 4)), "units", 2**20),
    "ReLU.features": (lambda v: layers.ReLU().build((None, v)), "input_shape", None),
    "Flatten.dims": (lambda v: layers.Flatten().build((None, v, 3)), "input_shape", None),
    "Input.shape": (lambda v: ranvier.Sequential([ranvier.Input(shape=(v,)), layers.ReLU()]), "shape", None),
    "fit.batch_size": (lambda v: _model().fit(_X, _Y, batch_size=v, verbose=0), "batch_size", None),
    "fit.steps_per_epoch": (lambda v: _model().fit(_X, _Y, steps_per_epoch=v, verbose=0), "steps_per_epoch", None),
    "fit.initial_epoch": (lambda v: _model().fit(_X, _Y, initial_epoch=v, epochs=max(v, 0), verbose=0), "initial_epoch",
                          None),
    "fit.validation_batch_size": (lambda v: _model().fit(_X, _Y, validation_split=0.5, validation_batch_size=v,
                                                          verbose=0), "validation_batch_size", None),
    "fit.validation_freq": (lambda v: _model().fit(_X, _Y, validation_split=0.5, validation_freq=v, verbose=0),
                            "validation_freq", None),
    "fit.verbose": (lambda v: _model().fit(_X, _Y, verbose=v), "verbose", None),
    "evaluate.batch_size": (lambda v: _model().evaluate(_X, _Y, batch_size=v, verbose=0), "batch_size", None),
    "predict.batch_size": (lambda v: _model().predict(_X, batch_size=v, verbose=0), "batch_size", None),
    "AUC.num_thresholds": (lambda v: ranvier.metrics.AUC(num_thresholds=v), "num_thresholds", 2**16),
    "TopK.k": (lambda v: ranvier.metrics.TopKCategoricalAccuracy(k=v), "k", None),
    "SparseTopK.k": (lambda v: ranvier.metrics.SparseTopKCategoricalAccuracy(k=v), "k", None),
    "Precision.top_k": (lambda v: ranvier.metrics.Precision(top_k=v), "top_k", None),
    "Precision.class_id": (lambda v: ranvier.metrics.Precision(class_id=v), "class_id", None),
    "Recall.top_k": (lambda v: ranvier.metrics.Recall(top_k=v), "top_k", None),
    "Adam.gradient_accumulation_steps": (lambda v: optimizers.Adam(gradient_accumulation_steps=v),
                                         "gradient_accumulation_steps", None),
    "Adam.ema_overwrite_frequency": (lambda v: optimizers.Adam(use_ema=True, ema_overwrite_frequency=v),
                                     "ema_overwrite_frequency", None),
    "SGD.iterations": (lambda v: setattr(optimizers.SGD(), "iterations", v), "iterations", None),
    "ExponentialDecay.decay_steps": (lambda v: optimizers.schedules.ExponentialDecay(0.1, v, 0.5)(3),
                                     "decay_steps", None),
    "PiecewiseConstantDecay.boundaries": (lambda v: optimizers.schedules.PiecewiseConstantDecay(
        [v], [0.1, 0.2])(3), "boundaries", None),
    "schedule.step": (lambda v: optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)(v), "step", None),
    "GlorotUniform.seed": (lambda v: ranvier.initializers.GlorotUniform(seed=v)((3, 3)), "seed", None),
    "set_random_seed": (lambda v: ranvier.utils.set_random_seed(v), "seed", None),
    "EarlyStopping.patience": (lambda v: ranvier.callbacks.EarlyStopping(patience=v), "patience", None),
    "ReduceLROnPlateau.cooldown": (lambda v: ranvier.callbacks.ReduceLROnPlateau(cooldown=v), "cooldown", None),
    "summary.line_length": (lambda v: _model().summary(line_length=v, print_fn=lambda *a, **k: None), "line_length",
                            None),
    "ModelCheckpoint.save_freq": (lambda v: ranvier.callbacks.ModelCheckpoint("unused.safetensors", save_freq=v),
                                  "save_freq", None),
}


def _capped():
    """Caps the address space a few GiB above its current size, so that an allocation that
    slipped through fails here with MemoryError instead of swapping."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    cap = vm + (3 << 30)
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    return soft, hard, cap


@pytest.mark.parametrize("name", sorted(SIZE_ARGS))
@settings(max_examples=25, **SETTINGS)
@given(v=size_ints)
def test_size_like_arguments_fail_clearly_or_work(name, v):
    """Any int for any size-like argument either works or raises a ranvier error naming the
    argument (a ValueError/TypeError, or MemoryError for sizes this machine cannot hold):
    never pybind11's "incompatible function arguments", an OverflowError from deep inside,
    or a crash."""
    call, arg, alloc_limit = SIZE_ARGS[name]
    if alloc_limit is not None:
        assume(v <= alloc_limit or v > _checks.INT32_MAX)
    soft, hard, cap = _capped()
    if not os.environ.get("RANVIER_UNDER_SANITIZER"):  # ASan reserves its shadow memory up front
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        call(v)
    except KeyboardInterrupt:  # pragma: no cover
        raise
    except (ValueError, TypeError, MemoryError) as e:
        msg = str(e)
        assert "incompatible" not in msg and "Invoked with" not in msg, msg
        if isinstance(e, (ValueError, TypeError)):
            assert arg in msg or arg.split("_")[0] in msg, (arg, msg)
        if "too large" in msg:
            assert re.search(r"at most \d+", msg), msg
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@settings(max_examples=40, **SETTINGS)
@given(v=st.integers(-(2**70), 2**70), lo=st.integers(-5, 5), hi=st.sampled_from(
    [_checks.INT32_MAX, _checks.INT64_MAX, _checks.UINT64_MAX, _checks.MAX_FEATURES, 1000]))
def test_check_int_names_the_limit(v, lo, hi):
    """The one helper every binding-crossing int goes through."""
    if lo <= v <= hi:
        assert _checks.check_int(v, "units", "Dense", lo, hi) == v
    elif v > hi:
        with pytest.raises(ValueError, match=rf"Dense: units is too large: it must be at most {hi}\b.*units={v}"):
            _checks.check_int(v, "units", "Dense", lo, hi)
    else:
        with pytest.raises(ValueError, match=rf"units must be an int >= {lo}"):
            _checks.check_int(v, "units", "Dense", lo, hi)


# ============================================================================ float32 range
over_f32 = st.floats(min_value=F32_MAX * 1.0000001, max_value=1.7e308, allow_nan=False, allow_infinity=False)

F32_DATA = {
    "predict.x": lambda m, v, i: m.predict(_put(_X, i, v), verbose=0),
    "fit.x": lambda m, v, i: m.fit(_put(_X, i, v), _Y, verbose=0),
    "fit.y": lambda m, v, i: m.fit(_X, _put(_Y, i, v), verbose=0),
    "fit.sample_weight": lambda m, v, i: m.fit(_X, _Y, sample_weight=_put(np.ones(8), i, v), verbose=0),
    "evaluate.x": lambda m, v, i: m.evaluate(_put(_X, i, v), _Y, verbose=0),
    "set_weights": lambda m, v, i: m.set_weights([_put(m.get_weights()[0], i, v), m.get_weights()[1]]),
    "layer.call": lambda m, v, i: m.layers[0](_put(_X, i, v)),
    "matmul.a": lambda m, v, i: ranvier.ops.matmul(_put(_X, i, v), np.ones((4, 2))),
    "Variable.assign": lambda m, v, i: m.layers[0].kernel.assign(_put(m.get_weights()[0], i, v)),
}


def _put(a, i, v):
    b = np.array(a, dtype=np.float64)
    b.reshape(-1)[i % b.size] = v
    return b


@pytest.mark.parametrize("where", sorted(F32_DATA))
@settings(max_examples=15, **SETTINGS)
@given(v=over_f32, sign=st.sampled_from([1.0, -1.0]), i=st.integers(0, 100))
def test_finite_values_beyond_float32_are_reported_as_overflow(where, v, sign, i):
    m = _model()
    before = m.get_weights()
    with pytest.raises(ValueError, match=r"overflow float32") as info:
        F32_DATA[where](m, sign * v, i)
    assert "NaN or inf" not in str(info.value)
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights())), "a refused call changed weights"


F32_HYPER = {
    "Adam.learning_rate": lambda v: optimizers.Adam(learning_rate=v),
    "SGD.clipvalue": lambda v: optimizers.SGD(clipvalue=v),
    "AdamW.weight_decay": lambda v: optimizers.AdamW(weight_decay=v),
    "ExponentialDecay.initial_learning_rate": lambda v: optimizers.schedules.ExponentialDecay(v, 10, 0.9),
    "PolynomialDecay.end_learning_rate": lambda v: optimizers.schedules.PolynomialDecay(1.0, 10, v),
    "L1": lambda v: ranvier.regularizers.L1(v),
    "L1L2.l2": lambda v: ranvier.regularizers.L1L2(l2=v),
    "MaxNorm": lambda v: ranvier.constraints.MaxNorm(v),
    "Huber.delta": lambda v: losses.Huber(delta=v),
    "RandomNormal.stddev": lambda v: ranvier.initializers.RandomNormal(stddev=v),
    "Constant": lambda v: ranvier.initializers.Constant(v),
    "ReLU.threshold": lambda v: layers.ReLU(threshold=v),
    "LeakyReLU.negative_slope": lambda v: layers.LeakyReLU(negative_slope=v),
    "BatchNormalization.momentum": lambda v: layers.BatchNormalization(momentum=v),
}


@pytest.mark.parametrize("where", sorted(F32_HYPER))
@settings(max_examples=10, **SETTINGS)
@given(v=over_f32)
def test_hyperparameters_beyond_float32_are_reported_as_overflow(where, v):
    with pytest.raises(ValueError, match=r"overflows float32"):
        F32_HYPER[where](v)


# ============================================================================ NaN / negative hyperparameters
# (constructor, whether negative values are refused too)
HYPER = {
    "MaxNorm.max_value": (lambda v: ranvier.constraints.MaxNorm(v), True),
    "MinMaxNorm.min_value": (lambda v: ranvier.constraints.MinMaxNorm(min_value=v, max_value=10.0), True),
    "MinMaxNorm.rate": (lambda v: ranvier.constraints.MinMaxNorm(rate=v), True),
    "L1.l1": (lambda v: ranvier.regularizers.L1(v), True),
    "L2.l2": (lambda v: ranvier.regularizers.L2(v), True),
    "ExponentialDecay.decay_rate": (lambda v: optimizers.schedules.ExponentialDecay(0.1, 10, v), True),
    "ExponentialDecay.initial_learning_rate": (lambda v: optimizers.schedules.ExponentialDecay(v, 10, 0.5), True),
    "InverseTimeDecay.decay_rate": (lambda v: optimizers.schedules.InverseTimeDecay(0.1, 10, v), True),
    "PolynomialDecay.power": (lambda v: optimizers.schedules.PolynomialDecay(0.1, 10, power=v), True),
    "PolynomialDecay.end_learning_rate": (lambda v: optimizers.schedules.PolynomialDecay(0.1, 10, v), True),
    "CosineDecay.alpha": (lambda v: optimizers.schedules.CosineDecay(0.1, 10, alpha=v), True),
    "CosineDecayRestarts.m_mul": (lambda v: optimizers.schedules.CosineDecayRestarts(0.1, 10, m_mul=v), True),
    "PiecewiseConstantDecay.values": (lambda v: optimizers.schedules.PiecewiseConstantDecay([3], [0.1, v]), True),
    "Adam.learning_rate": (lambda v: optimizers.Adam(learning_rate=v), True),
    "Adam.epsilon": (lambda v: optimizers.Adam(epsilon=v), True),
    "SGD.momentum": (lambda v: optimizers.SGD(momentum=v), True),
    "RMSprop.rho": (lambda v: optimizers.RMSprop(rho=v), True),
    "Huber.delta": (lambda v: losses.Huber(delta=v), True),
    "BinaryCrossentropy.label_smoothing": (lambda v: losses.BinaryCrossentropy(label_smoothing=v), True),
    "BinaryFocalCrossentropy.gamma": (lambda v: losses.BinaryFocalCrossentropy(gamma=v), True),
    "RandomNormal.stddev": (lambda v: ranvier.initializers.RandomNormal(stddev=v), True),
    "RandomNormal.mean": (lambda v: ranvier.initializers.RandomNormal(mean=v), False),
    "RandomUniform.minval": (lambda v: ranvier.initializers.RandomUniform(minval=v), False),
    "Constant.value": (lambda v: ranvier.initializers.Constant(v), False),
    "VarianceScaling.scale": (lambda v: ranvier.initializers.VarianceScaling(scale=v), True),
    "Orthogonal.gain": (lambda v: ranvier.initializers.Orthogonal(gain=v), False),
    "BinaryAccuracy.threshold": (lambda v: ranvier.metrics.BinaryAccuracy(threshold=v), False),
    "Precision.thresholds": (lambda v: ranvier.metrics.Precision(thresholds=v), True),
    "Dropout.rate": (lambda v: layers.Dropout(v), True),
    "ReLU.max_value": (lambda v: layers.ReLU(max_value=v), True),
    "LeakyReLU.negative_slope": (lambda v: layers.LeakyReLU(negative_slope=v), True),
    "ELU.alpha": (lambda v: layers.ELU(alpha=v), False),
    "BatchNormalization.epsilon": (lambda v: layers.BatchNormalization(epsilon=v), True),
    "BatchNormalization.momentum": (lambda v: layers.BatchNormalization(momentum=v), True),
    "BinaryFocalCrossentropy.alpha": (lambda v: losses.BinaryFocalCrossentropy(alpha=v), False),
    "LayerNormalization.epsilon": (lambda v: layers.LayerNormalization(epsilon=v), True),
    "EarlyStopping.min_delta": (lambda v: ranvier.callbacks.EarlyStopping(min_delta=v), False),
    "ReduceLROnPlateau.min_lr": (lambda v: ranvier.callbacks.ReduceLROnPlateau(min_lr=v), True),
}


@pytest.mark.parametrize("where", sorted(HYPER))
@settings(max_examples=10, **SETTINGS)
@given(v=st.one_of(st.sampled_from([math.nan, math.inf, -math.inf]),
                   st.floats(max_value=-1e-30, min_value=-1e30)))
def test_nan_inf_and_negative_hyperparameters_are_refused(where, v):
    make, negative_refused = HYPER[where]
    if not math.isnan(v) and not math.isinf(v) and not negative_refused:
        make(v)  # a negative value is meaningful here
        return
    with pytest.raises(ValueError):
        make(v)


@settings(max_examples=20, **SETTINGS)
@given(rate=st.floats(0.0, 3.0), power=st.floats(0.0, 4.0), step=st.integers(0, 10**6), lr=st.floats(0.0, 10.0))
def test_accepted_schedules_never_give_nan_or_negative_learning_rates(rate, power, step, lr):
    for sched in (optimizers.schedules.ExponentialDecay(lr, 100, min(rate, 1.0)),
                  optimizers.schedules.InverseTimeDecay(lr, 100, rate),
                  optimizers.schedules.PolynomialDecay(lr, 100, 0.0, power=power),
                  optimizers.schedules.CosineDecay(lr, 100, alpha=min(rate, 1.0)),
                  optimizers.schedules.CosineDecayRestarts(lr, 100, m_mul=min(rate, 1.0), alpha=min(rate, 1.0))):
        py, cpp = float(sched(step)), float(sched._cpp_value(step))
        assert np.isfinite(py) and py >= 0, (sched, py)
        assert np.isfinite(cpp) and cpp >= 0, (sched, cpp)


# ============================================================================ pandas
pd = pytest.importorskip("pandas")

BAD_COLUMNS = {
    "datetime": lambda n: pd.date_range("2021-01-01", periods=n),
    "datetime-tz": lambda n: pd.date_range("2021-01-01", periods=n, tz="Europe/Paris"),
    "timedelta": lambda n: pd.to_timedelta(np.arange(n), unit="h"),
    "string": lambda n: pd.array([f"s{i}" for i in range(n)], dtype="string"),
    "object-float": lambda n: pd.Series(np.arange(n, dtype=float), dtype=object),
    "object-str": lambda n: pd.Series([f"s{i}" for i in range(n)], dtype=object),
    "category-str": lambda n: pd.Categorical([("a", "b")[i % 2] for i in range(n)]),
    "period": lambda n: pd.period_range("2020-01", periods=n, freq="M"),
    "interval": lambda n: pd.arrays.IntervalArray.from_breaks(np.arange(n + 1)),
}


@settings(max_examples=30, **SETTINGS)
@given(kinds=st.lists(st.sampled_from(sorted(BAD_COLUMNS)), min_size=1, max_size=3),
       pos=st.integers(0, 3), entry=st.sampled_from(["predict", "fit", "layer", "evaluate"]))
def test_pandas_non_numeric_columns_are_refused_by_name(kinds, pos, entry):
    n = 8
    cols = {f"num{i}": np.linspace(0, 1, n) for i in range(4 - len(kinds))}
    items = list(cols.items())
    for j, k in enumerate(kinds):
        items.insert(min(pos, len(items)), (f"bad_{j}_{k}", BAD_COLUMNS[k](n)))
    df = pd.DataFrame(dict(items))
    m = _model()
    call = {"predict": lambda: m.predict(df, verbose=0), "fit": lambda: m.fit(df, _Y, verbose=0),
            "layer": lambda: m.layers[0](df), "evaluate": lambda: m.evaluate(df, _Y, verbose=0)}[entry]
    with pytest.raises(TypeError) as info:
        call()
    for j, k in enumerate(kinds):
        assert f"bad_{j}_{k}" in str(info.value), str(info.value)


@settings(max_examples=20, **SETTINGS)
@given(dtype=st.sampled_from(["Int64", "Float64", "boolean", "category-int"]), na_at=st.one_of(
    st.none(), st.integers(0, 7)))
def test_pandas_nullable_columns_behave_like_their_numpy_values(dtype, na_at):
    n = 8
    values = (np.arange(n) % 2 == 0) if dtype == "boolean" else np.arange(n) % 3
    col = pd.Categorical(values) if dtype == "category-int" else pd.array(values, dtype=dtype)
    df = pd.DataFrame({"a": col, "b": np.linspace(0, 1, n), "c": np.ones(n), "d": np.zeros(n)})
    if na_at is not None:
        df.loc[na_at, "a"] = None
    m = _model()
    if na_at is not None:
        with pytest.raises(ValueError, match="NaN"):
            m.predict(df, verbose=0)
        return
    ref = np.stack([values.astype(F32), np.linspace(0, 1, n), np.ones(n), np.zeros(n)], 1).astype(F32)
    np.testing.assert_array_equal(m.predict(df, verbose=0), m.predict(ref, verbose=0))


# ============================================================================ shape products
@settings(max_examples=40, **SETTINGS)
@given(dims=st.lists(st.one_of(st.integers(1, 8), st.sampled_from([2**10, 2**16, 2**20, 2**31, 2**32, 2**40])),
                     min_size=1, max_size=4))
def test_shape_products_are_exact_and_every_built_model_loads(dims, tmp_path_factory):
    """Weight-free models over any sample shape: built exactly when the product fits in a
    model file (no int64 wrap-around to a small count), refused otherwise; and what builds
    saves and loads back with the same shapes."""
    n = math.prod(dims)
    make = lambda: ranvier.Sequential([ranvier.Input(shape=tuple(dims))]  # noqa: E731
                                      + ([layers.Flatten()] if len(dims) > 1 else []) + [layers.ReLU()])
    if n > _checks.MAX_FEATURES:
        with pytest.raises(ValueError, match=r"more than the 1099511627776"):
            make()
        return
    m = make()
    assert m.output_shape == (None, n)
    p = tmp_path_factory.mktemp("shapes") / "m.safetensors"
    m.save(p)
    back = ranvier.load_model(p)
    assert back.output_shape == (None, n) and back.input_shape == m.input_shape


# ============================================================================ loss shapes
@settings(max_examples=40, **SETTINGS)
@given(n=st.integers(1, 5), a=st.integers(1, 4), b=st.integers(1, 4), kind=st.sampled_from(
    ["binary_crossentropy", "categorical_crossentropy", "binary_focal_crossentropy"]), as_class=st.booleans())
def test_cross_entropies_refuse_shapes_that_differ(n, a, b, kind, as_class):
    rng = np.random.default_rng(n * 100 + a * 10 + b)
    yt = (rng.uniform(size=(n, a)) > 0.5).astype(F32)
    yp = rng.uniform(0.05, 0.95, size=(n, b)).astype(F32)
    fn = {"binary_crossentropy": losses.BinaryCrossentropy, "categorical_crossentropy": losses.CategoricalCrossentropy,
          "binary_focal_crossentropy": losses.BinaryFocalCrossentropy}[kind]() if as_class else getattr(losses, kind)
    if a != b:
        with pytest.raises(ValueError, match="same shape"):
            fn(yt, yp)
    else:
        assert np.all(np.isfinite(fn(yt, yp)))
        # Keras's rank alignment: (n,) against (n, 1) is (n, 1) against (n, 1)
        if a == 1:
            np.testing.assert_array_equal(np.asarray(fn(yt[:, 0], yp)), np.asarray(fn(yt, yp)))


@settings(max_examples=30, **SETTINGS)
@given(n=st.integers(1, 5), b=st.integers(1, 4), kind=st.sampled_from(
    ["mean_squared_error", "mean_absolute_error", "log_cosh", "poisson", "kl_divergence"]))
def test_broadcasting_losses_match_numpy_broadcasting(n, b, kind):
    """The losses whose Keras formula is elementwise broadcast a y_true with one column over
    y_pred's columns (as NumPy and Keras do): the same as repeating the column."""
    rng = np.random.default_rng(n + 10 * b)
    yt = rng.uniform(0.1, 1, size=(n, 1)).astype(F32)
    yp = rng.uniform(0.1, 1, size=(n, b)).astype(F32)
    f = getattr(losses, kind)
    np.testing.assert_array_equal(f(yt, yp), f(np.repeat(yt, b, axis=1), yp))


# ============================================================================ rank-1 activation layers
ELEMENTWISE = {
    "ReLU": lambda: layers.ReLU(), "ReLU-capped": lambda: layers.ReLU(max_value=0.5, threshold=0.1,
                                                                      negative_slope=0.2),
    "LeakyReLU": lambda: layers.LeakyReLU(), "ELU": lambda: layers.ELU(alpha=0.7),
    "Activation-sigmoid": lambda: layers.Activation("sigmoid"), "Activation-selu": lambda: layers.Activation("selu"),
    "Softmax": lambda: layers.Softmax(), "Dropout": lambda: layers.Dropout(0.3),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@settings(max_examples=15, **SETTINGS)
@given(shape=st.lists(st.integers(1, 6), min_size=0, max_size=3), seed=st.integers(0, 2**16))
def test_elementwise_layers_take_any_rank(name, shape, seed):
    """Rank 0 and 1 give the numbers of the same elements as one row through a built layer;
    higher ranks as Keras (the last axis is the feature axis)."""
    x = np.random.default_rng(seed).normal(size=shape) * 3
    got = ELEMENTWISE[name]()(x)
    assert np.shape(got) == tuple(shape)
    if len(shape) >= 2:
        return
    row = ELEMENTWISE[name]()(np.reshape(x, (1, -1)).astype(F32))
    np.testing.assert_array_equal(np.reshape(got, -1), np.reshape(row, -1))


# ============================================================================ Flatten data_format
@settings(max_examples=15, **SETTINGS)
@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=4), n=st.integers(1, 5), seed=st.integers(0, 999))
def test_flatten_channels_first_same_numbers_everywhere(shape, n, seed, tmp_path_factory):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape)).astype(F32)
    y = rng.normal(size=(n, 3)).astype(F32)
    ref_rows = np.ascontiguousarray(np.moveaxis(x, 1, -1).reshape(n, -1))  # Keras: channels last, then flatten
    np.testing.assert_array_equal(layers.Flatten(data_format="channels_first")(x), ref_rows)
    ranvier.utils.set_random_seed(seed)
    m = ranvier.Sequential([ranvier.Input(shape=tuple(shape)), layers.Flatten(data_format="channels_first"),
                            layers.Dense(3)])
    m.compile(optimizer="sgd", loss="mse")
    k, b = m.layers[1].get_weights()
    got = m.predict(x, verbose=0)
    np.testing.assert_allclose(got, ref_rows.astype(np.float64) @ k + b, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got, m.layers[1](m.layers[0](x)))
    # one SGD step on the reordered rows equals one on the same rows fed to a 2-D model
    twin = ranvier.Sequential([ranvier.Input(shape=(ref_rows.shape[1],)), layers.Dense(3)])
    twin.compile(optimizer="sgd", loss="mse")
    twin.set_weights([k, b])
    m.fit(x, y, batch_size=n, shuffle=False, verbose=0)
    twin.fit(ref_rows, y, batch_size=n, shuffle=False, verbose=0)
    for a, c in zip(m.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, c)
    p = tmp_path_factory.mktemp("cf") / "m.safetensors"
    m.save(p)
    np.testing.assert_array_equal(ranvier.load_model(p).predict(x, verbose=0), m.predict(x, verbose=0))
    # the C/C++ loader (what C apps use) reads data_format and reorders the same way
    np.testing.assert_array_equal(_core.io_cpp_predict(str(p), x.reshape(n, -1), 4), m.predict(x, verbose=0))
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    q = tmp_path_factory.mktemp("cf") / "m.onnx"
    m.export(q, verbose=False)
    sess = ort.InferenceSession(str(q), providers=["CPUExecutionProvider"])
    out = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(out, m.predict(x, verbose=0), rtol=1e-5, atol=1e-5)


# ============================================================================ Dropout(rate=1)
@settings(max_examples=5, **SETTINGS)
@given(seed=st.integers(0, 1000), rate=st.sampled_from([1.0, 1.0 - 1e-9, float(np.nextafter(F32(1), F32(0)))]))
def test_dropout_rate_one_trains_without_nan(seed, rate):
    """rate=1 (and rates that round to 1 in float32): zeros in training, no NaN anywhere."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(16, 4)).astype(F32)
    y = rng.normal(size=(16, 1)).astype(F32)
    ranvier.utils.set_random_seed(seed)
    m = ranvier.Sequential([ranvier.Input(shape=(4,)), layers.Dense(5, activation="relu"), layers.Dropout(rate),
                            layers.Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    h = m.fit(x, y, epochs=2, batch_size=4, verbose=0)
    assert all(np.isfinite(v) for v in h.history["loss"])
    assert all(np.all(np.isfinite(w)) for w in m.get_weights())
    assert np.all(np.isfinite(m.predict(x, verbose=0)))
    out = m.layers[1](rng.normal(size=(3, 5)).astype(F32), training=True)
    assert np.all(np.isfinite(out))
    if rate == 1.0:
        np.testing.assert_array_equal(out, np.zeros((3, 5), F32))


# ============================================================================ every saved model loads
LAYER_CHOICES = {
    "bn": lambda d: layers.BatchNormalization(center=d.draw(st.booleans()), scale=d.draw(st.booleans()),
                                              axis=d.draw(st.sampled_from([-1, 1]))),
    "ln": lambda d: layers.LayerNormalization(center=d.draw(st.booleans()), scale=d.draw(st.booleans()),
                                              axis=d.draw(st.sampled_from([-1, [1]]))),
    "dropout": lambda d: layers.Dropout(d.draw(st.sampled_from([0.0, 0.3, 1.0])),
                                        noise_shape=d.draw(st.sampled_from([None, (None, 1), (1, None)]))),
    "softmax": lambda d: layers.Softmax(axis=d.draw(st.sampled_from([-1, 1]))),
    "relu": lambda d: layers.ReLU(max_value=d.draw(st.sampled_from([None, 1.5])),
                                  negative_slope=d.draw(st.sampled_from([0.0, 0.1])),
                                  threshold=d.draw(st.sampled_from([0.0, 0.2]))),
    "leaky": lambda d: layers.LeakyReLU(d.draw(st.sampled_from([0.0, 0.3, 2.0]))),
    "elu": lambda d: layers.ELU(d.draw(st.sampled_from([0.5, 1.0]))),
    "dense": lambda d: layers.Dense(d.draw(st.integers(1, 5)), use_bias=d.draw(st.booleans()),
                                    activation=d.draw(st.sampled_from([None, "relu", "tanh", "softmax"]))),
}


@settings(max_examples=25, **SETTINGS)
@given(data=st.data(), shape=st.lists(st.integers(1, 3), min_size=1, max_size=3),
       kinds=st.lists(st.sampled_from(sorted(LAYER_CHOICES)), min_size=1, max_size=4))
def test_every_model_the_library_builds_loads_back_with_the_same_numbers(data, shape, kinds, tmp_path_factory):
    """Whatever flags the layers carry (normalization without gamma/beta, data_format,
    noise_shape, axis spelled 1 or [1], ...), a saved model loads in Python and in the C/C++
    loader and predicts the same numbers: no flag is dropped on the way."""
    stack = [ranvier.Input(shape=tuple(shape))]
    if len(shape) > 1:
        stack.append(layers.Flatten(data_format=data.draw(st.sampled_from([None, "channels_first"]))))
    stack += [LAYER_CHOICES[k](data) for k in kinds] + [layers.Dense(2)]
    ranvier.utils.set_random_seed(data.draw(st.integers(0, 999)))
    m = ranvier.Sequential(stack)
    m.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, *shape)).astype(F32)
    m.fit(x, rng.normal(size=(6, 2)).astype(F32), epochs=1, batch_size=3, verbose=0)
    p = tmp_path_factory.mktemp("any") / "m.safetensors"
    m.save(p)
    want = m.predict(x, verbose=0)
    np.testing.assert_array_equal(ranvier.load_model(p).predict(x, verbose=0), want)
    np.testing.assert_array_equal(_core.io_cpp_predict(str(p), x.reshape(6, -1), 4), want)
