"""Memory.

- Calling fit / predict / evaluate / train_on_batch (1,000 times each), a layer, save+load and
  the C API's load/predict/free in a loop does not grow the resident set: after a warm-up, the
  growth over the loop stays under 1 KiB per call (a leaked batch workspace, a History or an
  array per call would exceed it many times over).
- fit never copies the training set: in a child forked from this process (a fresh peak
  counter, no interpreter start), the peak resident set (VmHWM, reset through
  /proc/self/clear_refs where allowed) during fit on 61 MiB of float32 data grows by less
  than the shuffle order (8 bytes per sample) plus the model's workspaces plus a 16 MiB
  margin, far below the 61 MiB a copy would take. Same for predict and evaluate (predict
  may add its output array).
"""
from __future__ import annotations

import ctypes
import gc
import json
import os
import sys

import numpy as np
import pytest

import ranvier
from ranvier import layers
import c_api_ctypes

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")

MiB = 1 << 20


def _status(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def _rss() -> int:
    gc.collect()
    return _status("VmRSS")


def _model():
    ranvier.utils.set_random_seed(0)
    m = ranvier.Sequential([ranvier.Input(shape=(16,)), layers.Dense(32, activation="relu"), layers.Dropout(0.1),
                            layers.BatchNormalization(), layers.Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def _growth(call, n=1000, warmup=100) -> int:
    for _ in range(warmup):
        call()
    before = _rss()
    for _ in range(n):
        call()
    return _rss() - before


@pytest.fixture(scope="module")
def model_and_data():
    rng = np.random.default_rng(0)
    return _model(), rng.standard_normal((64, 16)).astype(np.float32), rng.integers(0, 3, 64)


@pytest.mark.parametrize("what", ["fit", "predict", "evaluate", "train_on_batch", "predict_on_batch",
                                  "fit_validation_split"])
def test_repeated_calls_do_not_grow_memory(model_and_data, what):
    m, x, y = model_and_data
    call = {
        "fit": lambda: m.fit(x, y, epochs=1, batch_size=16, verbose=0),
        "fit_validation_split": lambda: m.fit(x, y, epochs=1, batch_size=16, validation_split=0.25, verbose=0),
        "predict": lambda: m.predict(x, verbose=0),
        "evaluate": lambda: m.evaluate(x, y, verbose=0),
        "train_on_batch": lambda: m.train_on_batch(x, y),
        "predict_on_batch": lambda: m.predict_on_batch(x),
    }[what]
    assert _growth(call) < 1000 * 1024


def test_repeated_layer_calls_and_model_rebuilds_do_not_grow_memory():
    ranvier.utils.set_random_seed(1)
    dense = layers.Dense(64, activation="gelu")
    x = np.random.default_rng(1).standard_normal((32, 16)).astype(np.float32)
    assert _growth(lambda: dense(x, training=True)) < 1000 * 1024

    def rebuild():
        m = ranvier.Sequential([ranvier.Input(shape=(16,)), layers.Dense(32), layers.Dense(2)])
        m.compile(optimizer="sgd", loss="mse")
        m.train_on_batch(x, np.zeros((32, 2), np.float32))

    assert _growth(rebuild, n=300, warmup=50) < 300 * 1024


def test_save_load_and_c_api_loops_do_not_grow_memory(tmp_path, model_and_data):
    m, x, _ = model_and_data
    path = tmp_path / "m.safetensors"
    m.save(path)
    assert _growth(lambda: ranvier.models.load_model(path).predict(x, verbose=0), n=200, warmup=20) < 200 * 1024
    assert _growth(lambda: m.save(path), n=100, warmup=10) < 100 * 1024  # (each save fsyncs: fewer)

    P, load, predict, free = c_api_ctypes.P, c_api_ctypes.load, c_api_ctypes.predict, c_api_ctypes.free
    out = np.zeros((64, 3), np.float32)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(path.read_bytes()[:-9])

    def c_cycle():
        h = P()
        assert load(os.fsencode(path), ctypes.byref(h)) == 0
        assert predict(h, x.ctypes.data, 64, out.ctypes.data, out.size) == 0
        free(h)
        h2 = P()
        assert load(os.fsencode(bad), ctypes.byref(h2)) != 0 and not h2.value  # the failure path frees too

    assert _growth(c_cycle, n=300, warmup=30) < 300 * 1024


# ------------------------------------------------------------------ peak memory during fit
def _peak_child(n, d, what):
    """In a forked child: make the data (chunk by chunk: no transient copies), reset the peak
    counter, run ``what`` and report the peak's growth over the resident set before it."""
    ranvier.set_num_threads(1)  # OpenMP's pool does not survive fork
    x = np.empty((n, d), np.float32)
    rng = np.random.default_rng(0)
    for s in range(0, n, 65536):
        x[s:s + 65536] = rng.standard_normal((min(65536, n - s), d), dtype=np.float32)
    y = (x[:, 0] > 0).astype(np.float32) + (x[:, 1] > 0)  # labels 0..2, float32 (n,): used in place
    m = _model_wide(d)
    m.fit(x[:512], y[:512], epochs=1, batch_size=256, verbose=0)  # build trainer and optimizer
    m.predict(x[:512], batch_size=256, verbose=0)
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM to the current resident set
        reset = True
    except OSError:
        reset = False
    before = _status("VmRSS")
    hwm_before = _status("VmHWM")
    if what == "fit":
        m.fit(x, y, epochs=1, batch_size=256, steps_per_epoch=40, verbose=0)
    elif what == "fit_shuffled_validation":
        m.fit(x, y, epochs=1, batch_size=256, steps_per_epoch=40, shuffle=True, validation_split=0.05, verbose=0)
    elif what == "predict":
        m.predict(x, batch_size=4096, verbose=0)
    elif what == "evaluate":
        m.evaluate(x, y, batch_size=4096, verbose=0)
    elif what == "control_copy":  # what the test must catch: fit on a copy of the data
        m.fit(x.astype(np.float64), y, epochs=1, batch_size=256, steps_per_epoch=40, verbose=0)
    return {"peak_growth": _status("VmHWM") - before, "reset": reset, "hwm_before": hwm_before,
            "rss_before": before, "data": x.nbytes}


def _model_wide(d):
    ranvier.utils.set_random_seed(0)
    m = ranvier.Sequential([ranvier.Input(shape=(d,)), layers.Dense(32, activation="relu"),
                            layers.Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def _in_child(fn, *args):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code = 0
        try:
            out = json.dumps(fn(*args)).encode()
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            out = json.dumps({"error": repr(e)}).encode()
            code = 1
        try:
            os.write(w, out)
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    os.waitpid(pid, 0)
    result = json.loads(b"".join(chunks))
    assert "error" not in result, result["error"]
    return result


@pytest.mark.parametrize("what", ["fit", "fit_shuffled_validation", "predict", "evaluate"])
def test_fit_predict_evaluate_never_copy_the_data(what):
    n, d = 250_000, 64  # 61 MiB of float32 features
    r = _in_child(_peak_child, n, d, what)
    if not r["reset"]:
        # no clear_refs: the child's peak may predate the call; only growth beyond it counts,
        # and the data was made without transients, so the old peak is the data plus a little
        assert r["hwm_before"] - r["rss_before"] < 32 * MiB, r
    order = 8 * n                    # the shuffle order, the only per-sample buffer fit keeps
    workspaces = 4 * 4096 * (64 + 32 + 3) * 4  # a 4096-row batch through every layer, a few times over
    output = 4 * n * 3 if what == "predict" else 0  # predict's result array
    bound = order + workspaces + output + 16 * MiB
    assert r["peak_growth"] < bound, (r, bound)
    assert r["peak_growth"] < r["data"] / 2  # a copy of x could not hide in the margin


def test_the_peak_measurement_sees_a_copy():
    """Control: fitting on a float64 copy of the same data shows up as more than the data size."""
    r = _in_child(_peak_child, 250_000, 64, "control_copy")
    assert r["peak_growth"] > r["data"], r
