"""Allocation failures: every allocation on the fit / evaluate / predict /
load paths is exception-safe.

The C++ core routes these allocations through one checked point (cpp/src/runtime/alloc.h),
with a test-only hook compiled in always and inert unless armed: ``_core._alloc_fault_arm(n)``
makes the n-th checked allocation from then on fail once. Each test counts the checked
allocations an operation makes, then fails each of them in turn on a fresh model: the
operation raises MemoryError naming what was being allocated and how large it was (not
``std::bad_alloc``), and a retry on the same model (same trainer, same network) gives exactly
the results of a model that never saw a failure.
"""
from __future__ import annotations

import contextlib
import ctypes

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ranvier
from ranvier import _core, layers

_X = np.random.default_rng(0).standard_normal((40, 6)).astype(np.float32)
_Y = np.random.default_rng(1).integers(0, 3, 40)


def _fresh():
    ranvier.utils.set_random_seed(0)
    m = ranvier.Sequential([ranvier.Input((6,)), layers.Dense(16, activation="relu"), layers.Dropout(0.2),
                            layers.BatchNormalization(), layers.LayerNormalization(),
                            layers.Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
              metrics=["accuracy", ranvier.metrics.Precision(top_k=2)])
    return m


@contextlib.contextmanager
def _counting():
    _core._alloc_fault_count_only(True)
    try:
        yield
    finally:
        _core._alloc_fault_count_only(False)


@contextlib.contextmanager
def _fail_at(n):
    _core._alloc_fault_arm(n)
    try:
        yield
    finally:
        _core._alloc_fault_arm(0)


def _fit(m):
    ranvier.utils.set_random_seed(7)  # the same shuffling stream for every run
    m.fit(_X, _Y, epochs=2, batch_size=16, validation_split=0.25, verbose=0)
    return m.get_weights()


def _evaluate(m):
    return m.evaluate(_X, _Y, batch_size=8, verbose=0)


def _predict(m):
    return m.predict(_X, batch_size=16, verbose=0)


def _train_on_batch(m):
    m.train_on_batch(_X[:24], _Y[:24])
    return m.get_weights()


_OPS = {"fit": _fit, "evaluate": _evaluate, "predict": _predict, "train_on_batch": _train_on_batch}


def _same(a, b):
    if isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def _sites(fn):
    with _counting():
        fn()
    n = _core._alloc_fault_calls()
    assert n >= 1, "the operation made no checked allocation: the hook is not on its path"
    return n


@pytest.mark.parametrize("op", sorted(_OPS))
def test_each_allocation_of_an_operation_fails_cleanly_and_a_retry_matches(op):
    fn = _OPS[op]
    want = fn(_fresh())
    counted = _fresh()
    n = _sites(lambda: fn(counted))
    for k in range(1, n + 1):
        model = _fresh()
        with _fail_at(k):
            with pytest.raises(MemoryError, match=r"injected allocation failure.*allocating .+: [\d.]+ [MG]iB"):
                fn(model)
            assert _core._alloc_fault_fired()
        # the same model, trainer and network keep working, with an untouched model's results
        _same(fn(model), want)
        assert np.all(np.isfinite(_predict(model)))


@pytest.mark.parametrize("op", ["fit", "evaluate", "predict"])
def test_allocation_failure_after_a_warm_trainer_keeps_it_working(op):
    """The trainer already has workspaces (a first call ran): a larger batch needs new ones;
    failing any of their allocations leaves the old ones intact (Trainer::reserve used to record
    the new capacity before allocating, and the retry then wrote past the old buffers)."""
    fn = {"fit": lambda m, bs: m.fit(_X, _Y, epochs=1, batch_size=bs, shuffle=False, verbose=0),
          "evaluate": lambda m, bs: m.evaluate(_X, _Y, batch_size=bs, verbose=0),
          "predict": lambda m, bs: m.predict(_X, batch_size=bs, verbose=0)}[op]
    ref = _fresh()
    fn(ref, 4)
    want = fn(ref, 40)
    counted = _warm(fn)
    n = _sites(lambda: fn(counted, 40))
    for k in range(1, n + 1):
        model = _warm(fn)
        with _fail_at(k):
            with pytest.raises(MemoryError, match="injected allocation failure"):
                fn(model, 40)
        if op == "fit":
            fn(model, 40)
            _same(model.get_weights(), ref.get_weights())
        else:
            _same(fn(model, 40), want)


def _warm(fn):
    m = _fresh()
    fn(m, 4)
    return m


def test_each_allocation_of_load_fails_cleanly(tmp_path):
    src = _fresh()
    _fit(src)
    path = tmp_path / "m.safetensors"
    src.save(path)
    want = _predict(src)

    def load_py():
        return ranvier.load_model(path).predict(_X, batch_size=16, verbose=0)

    def load_cpp():
        return _core.io_cpp_predict(str(path), _X, 16)

    for load in (load_py, load_cpp):
        n = _sites(load)
        for k in range(1, n + 1):
            with _fail_at(k):
                with pytest.raises(MemoryError, match=r"injected allocation failure.*allocating"):
                    load()
            np.testing.assert_allclose(load(), want, rtol=0, atol=0)


def test_c_api_reports_what_could_not_be_allocated(tmp_path):
    src = _fresh()
    path = tmp_path / "m.safetensors"
    src.save(path)
    a = _core._c_api_addresses()
    load = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p))(a["ranvier_model_load"])
    free = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(a["ranvier_model_free"])
    last_error = ctypes.CFUNCTYPE(ctypes.c_char_p)(a["ranvier_last_error"])
    h = ctypes.c_void_p()
    with _fail_at(1):
        status = load(str(path).encode(), ctypes.byref(h))
    assert status == 3  # RANVIER_ERROR_OUT_OF_MEMORY
    msg = last_error().decode()
    assert "allocating" in msg and "iB" in msg and "bad_alloc" not in msg, msg
    assert load(str(path).encode(), ctypes.byref(h)) == 0
    free(h)


def test_an_absurd_batch_is_a_memory_error_naming_the_buffer_then_a_sane_one_trains():
    """A batch whose workspaces exceed the machine's memory is refused before allocating
    (MemoryError naming the buffer and its size); the same model and trainer then train and
    predict normally with a sane batch."""
    ranvier.utils.set_random_seed(0)
    m = ranvier.Sequential([ranvier.Input((1,)), layers.Dense(2**20, activation="relu"), layers.Dense(1)])
    m.compile(optimizer="sgd", loss="mse")
    n = 2**17
    x = np.random.default_rng(0).standard_normal((n, 1)).astype(np.float32)
    y = np.zeros((n, 1), np.float32)
    with pytest.raises(MemoryError, match=r"predict's workspace: [\d.]+ GiB"):
        m.predict(x, batch_size=n, verbose=0)
    with pytest.raises(MemoryError, match=r"activations for one batch: [\d.]+ GiB"):
        m.fit(x, y, batch_size=n, epochs=1, verbose=0)
    with pytest.raises(MemoryError, match=r"GiB"):
        m.evaluate(x, y, batch_size=n, verbose=0)
    m.fit(x[:64], y[:64], batch_size=16, epochs=1, verbose=0)
    out = m.predict(x[:64], batch_size=32, verbose=0)
    assert out.shape == (64, 1) and np.all(np.isfinite(out))


def test_the_hook_is_inert_unless_armed():
    _core._alloc_fault_arm(0)
    assert not _core._alloc_fault_fired()
    m = _fresh()
    _fit(m)
    assert not _core._alloc_fault_fired()


_SIZES = st.one_of(st.integers(1, 64), st.sampled_from([2**31 - 1, 2**31, 2**31 + 1, 2**32, 2**62, 2**63 - 1]))


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(bs=_SIZES, op=st.sampled_from(["fit", "evaluate", "predict", "validation"]))
def test_any_batch_size_trains_or_is_refused_and_the_model_keeps_working(bs, op):
    """Every size-like batch argument, the 32/64-bit edges included: the call works (a batch
    larger than the data is the whole data) or raises a clear error; then the same model trains
    and predicts with a sane batch exactly as an untouched one."""
    model, ref = _fresh(), _fresh()
    call = {"fit": lambda: model.fit(_X, _Y, batch_size=bs, epochs=1, shuffle=False, verbose=0),
            "evaluate": lambda: model.evaluate(_X, _Y, batch_size=bs, verbose=0),
            "predict": lambda: model.predict(_X, batch_size=bs, verbose=0),
            "validation": lambda: model.fit(_X, _Y, epochs=1, shuffle=False, validation_split=0.25,
                                            validation_batch_size=bs, verbose=0)}[op]
    try:
        call()
        refused = False
    except (ValueError, MemoryError) as e:
        assert "batch" in str(e) or "allocating" in str(e), e
        refused = True
    if refused or op in ("evaluate", "predict"):  # nothing trained: as an untouched model
        for m in (model, ref):
            m.fit(_X, _Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        _same(model.predict(_X, verbose=0), ref.predict(_X, verbose=0))
    else:
        model.fit(_X, _Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        assert np.all(np.isfinite(model.predict(_X, verbose=0)))
