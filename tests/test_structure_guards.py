"""Structural robustness of models: the crash classes and their property
tests.

- A layer built for N input features that ends up where it receives M != N (placed by the
  user, or described that way in a model file) is refused with a ValueError naming both
  widths: at add/build/compile/fit/evaluate/predict in Python, and at load in Python, in the
  C++ API and in the C API, which share one validation (a file one loader refuses, the other
  refuses too).
- A layer object added to a second model is shared with it, as in Keras: one model's buffers
  hold its weights at a time, the other takes them back (with their current values) on its
  next use (see Sequential._check_not_shared).
- Structural changes (add, pop, build, compile, layer.build, layer.trainable, set_weights with
  other shapes) while a fit/evaluate/predict of the model runs are refused with RuntimeError,
  from another thread (whatever the interleaving) and from the call's own callbacks;
  layer.trainable set from a callback takes effect at the next compile, as in Keras.
- A nested fit in the same thread is reported as nested, not as "another thread".
- set_num_threads refuses values far above the CPU count, naming the limit; 0 is the default.
- AUC(num_thresholds) and Precision/Recall(top_k) never size buffers from an unchecked number.
"""
from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import struct
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ranvier
from ranvier import _core, layers, metrics

_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))

# ------------------------------------------------------------------ helpers
# Every built-in layer class, with a factory; "weights" marks those whose weights are sized by
# the input width (the ones whose mismatch used to read out of bounds).
_LAYERS = {
    "Dense": (lambda: layers.Dense(3), True),
    "BatchNormalization": (lambda: layers.BatchNormalization(), True),
    "LayerNormalization": (lambda: layers.LayerNormalization(), True),
    "Dropout": (lambda: layers.Dropout(0.5), False),
    "Activation": (lambda: layers.Activation("relu"), False),
    "ReLU": (lambda: layers.ReLU(), False),
    "LeakyReLU": (lambda: layers.LeakyReLU(), False),
    "ELU": (lambda: layers.ELU(), False),
    "Softmax": (lambda: layers.Softmax(), False),
}


def _built(kind: str, n: int):
    layer = _LAYERS[kind][0]()
    layer.build((None, n))
    return layer


def _x(n_rows: int, width: int) -> np.ndarray:
    return np.random.default_rng(width).standard_normal((n_rows, width)).astype(np.float32)


def _widths_msg(n: int, m: int) -> str:
    return rf"(?s)(?=.*\b{n}\b)(?=.*\b{m}\b)"  # the message names both widths


_widths = st.tuples(st.integers(1, 40), st.integers(1, 40)).filter(lambda nm: nm[0] != nm[1])


# ------------------------------------------------------------------ widths: placed by the user
@_SETTINGS
@given(kind=st.sampled_from(sorted(_LAYERS)), nm=_widths,
       how=st.sampled_from(["Input", "add", "build", "predict", "fit", "evaluate", "call", "second"]))
def test_layer_built_for_another_width_is_refused_everywhere(kind, nm, how):
    n, m = nm
    layer = _built(kind, n)
    before = layer.get_weights()
    if how == "Input":
        with pytest.raises(ValueError, match=_widths_msg(n, m)):
            ranvier.Sequential([ranvier.Input((m,)), layer])
        model = None
    elif how == "add":
        model = ranvier.Sequential([ranvier.Input((m,))])
        with pytest.raises(ValueError, match=_widths_msg(n, m)):
            model.add(layer)
        assert model.layers == []  # refused: the model is as it was
        model.add(_built(kind, m))  # a layer of the right width is accepted
        assert model.predict(_x(2, m), verbose=0).shape[0] == 2
        model = None
    elif how == "second":  # not first: after a layer that produces m features
        model = ranvier.Sequential([ranvier.Input((5,)), layers.Dense(m)])
        with pytest.raises(ValueError, match=_widths_msg(n, m)):
            model.add(layer)
        assert len(model.layers) == 1
        np.testing.assert_array_equal(model.predict(_x(2, 5), verbose=0).shape, (2, m))
        model = None
    else:
        model = ranvier.Sequential([layer])
        model.compile(optimizer="sgd", loss="mse")
        x = _x(4, m)
        call = {"build": lambda: model.build((None, m)),
                "predict": lambda: model.predict(x, verbose=0),
                "fit": lambda: model.fit(x, np.zeros((4, layer.compute_output_shape((None, n))[-1]),
                                                     np.float32), verbose=0),
                "evaluate": lambda: model.evaluate(x, np.zeros((4, 3 if kind == "Dense" else n), np.float32),
                                                   verbose=0),
                "call": lambda: model(x)}[how]
        with pytest.raises(ValueError, match=_widths_msg(n, m)):
            call()
        assert model.input_shape is None  # the refused data's shape was not kept
    for a, b in zip(before, layer.get_weights()):
        np.testing.assert_array_equal(a, b)
    if model is not None:  # still usable with the width the layer was built for
        out = model.predict(_x(3, n), verbose=0)
        assert out.shape[0] == 3 and np.all(np.isfinite(out))


@_SETTINGS
@given(a=st.integers(1, 6), b=st.integers(1, 6), c=st.integers(1, 6))
def test_flatten_built_for_another_shape_is_refused(a, b, c):
    if a * b == c * b:
        return
    flat = layers.Flatten()
    flat.build((None, a, b))
    with pytest.raises(ValueError, match=_widths_msg(a * b, c * b)):
        ranvier.Sequential([ranvier.Input((c, b)), flat])


def test_the_network_refuses_a_first_layer_built_for_another_width():
    """The C++ check both the Python model and the file loaders go through."""
    layer = _built("Dense", 7)
    net = _core.Network()
    net.add(layer._core_layer)
    with pytest.raises(ValueError, match=r"built for 7 input features, but the model's input has 3"):
        net.finalize(3)
    net.finalize(7)
    assert net.in_features == 7


# ------------------------------------------------------------------ widths: described in a file
def _read(path):
    blob = open(path, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def _write(path, header, data):
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


def _saved(tmp_path, kind, n):
    model = ranvier.Sequential([ranvier.Input((n,)), _LAYERS[kind][0](), layers.Dense(2)])
    path = tmp_path / "m.safetensors"
    model.save(path)
    return path


def _mutate_width(path, out, where, m):
    header, data = _read(path)
    arch = json.loads(header["__metadata__"]["architecture"])
    entries = arch["config"]["layers"]
    if where == "input":  # the InputLayer (and the model's build_config) say m
        entries[0]["config"]["batch_shape"] = [None, m]
        arch["config"]["build_input_shape"] = [None, m]
        arch["build_config"] = {"input_shape": [None, m]}
    else:  # the first layer's build_config says m
        entries[1]["build_config"] = {"input_shape": [None, m]}
    header["__metadata__"]["architecture"] = json.dumps(arch)
    _write(out, header, data)


_A = _core._c_api_addresses()
_P = ctypes.c_void_p
_c_load = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(_P))(_A["ranvier_model_load"])
_c_free = ctypes.CFUNCTYPE(None, _P)(_A["ranvier_model_free"])
_c_error = ctypes.CFUNCTYPE(ctypes.c_char_p)(_A["ranvier_last_error"])


def _c_api_load(path):
    """(status, message) of the C API's loader."""
    h = _P()
    status = _c_load(str(path).encode(), ctypes.byref(h))
    if h.value:
        _c_free(h)
    return status, _c_error().decode()


@_SETTINGS
@given(kind=st.sampled_from(sorted(_LAYERS)), nm=_widths, where=st.sampled_from(["input", "build_config"]))
def test_a_file_describing_another_width_is_refused_by_every_loader(tmp_path_factory, kind, nm, where):
    n, m = nm
    tmp = tmp_path_factory.mktemp("w")
    path = _saved(tmp, kind, n)
    bad = tmp / "bad.safetensors"
    _mutate_width(path, bad, where, m)
    # Python, the C++ API and the C API refuse it, naming both widths (for layers whose
    # weights are sized by the width, "weight ... has shape (n, ...) but the layer expects (m, ...)"
    # when only the input changed)
    with pytest.raises(ValueError, match=_widths_msg(n, m)):
        ranvier.load_model(bad)
    with pytest.raises(ValueError, match=_widths_msg(n, m)):
        _core.io_cpp_load_check(str(bad))
    status, message = _c_api_load(bad)
    assert status == 1 and str(n) in message and str(m) in message, (status, message)
    # the untouched file loads everywhere
    assert _c_api_load(path)[0] == 0
    assert ranvier.load_model(path).predict(_x(2, n), verbose=0).shape == (2, 2)


_mutations = st.sampled_from([
    ("units", 5), ("units", 1), ("rate", 1.5), ("activation", "nope"), ("epsilon", -1.0),
    ("build_in", 3), ("build_in", 4), ("build_null", None), ("drop_weight", None), ("weight_shape", None),
    ("input", 9), ("none", None),
])


@_SETTINGS
@given(kind=st.sampled_from(["Dense", "BatchNormalization", "LayerNormalization", "Dropout"]), mut=_mutations)
def test_python_and_cpp_loaders_accept_and_refuse_the_same_files(tmp_path_factory, kind, mut):
    """One validation path: for any of these edits, load_model accepts the file exactly when
    the C++ loader (ranvier::Model::load, the C API) does."""
    tmp = tmp_path_factory.mktemp("m")
    path = _saved(tmp, kind, 4)
    header, data = _read(path)
    arch = json.loads(header["__metadata__"]["architecture"])
    first = arch["config"]["layers"][1]
    what, value = mut
    if what in ("units", "rate", "activation", "epsilon"):
        if what not in first["config"]:
            return  # a key this layer does not have (Python refuses unknown keys, C++ ignores them)
        first["config"][what] = value
    elif what == "build_in":
        first["build_config"] = {"input_shape": [None, value]}
    elif what == "build_null":
        first["build_config"] = {"input_shape": [None, None]}
    elif what == "input":
        arch["config"]["layers"][0]["config"]["batch_shape"] = [None, value]
        arch["build_config"] = {"input_shape": [None, value]}
        arch["config"]["build_input_shape"] = [None, value]
    elif what in ("drop_weight", "weight_shape"):
        names = [k for k in header if k.startswith("layers/") and k != "__metadata__"]
        key = names[0]
        if what == "drop_weight":
            del header[key]
        else:
            header[key]["shape"] = [int(np.prod(header[key]["shape"]))] + [1] * 0
    header["__metadata__"]["architecture"] = json.dumps(arch)
    bad = tmp / "edited.safetensors"
    _write(bad, header, data)
    try:
        _core.io_cpp_load_check(str(bad))
        cpp_ok = True
    except ValueError:
        cpp_ok = False
    try:
        ranvier.load_model(bad)
        py_ok = True
    except ValueError:
        py_ok = False
    assert py_ok == cpp_ok, (mut, py_ok, cpp_ok)
    assert (_c_api_load(bad)[0] == 0) == cpp_ok


# ------------------------------------------------------------------ one model per layer
def test_a_layer_in_two_models_is_shared_as_in_keras():
    # Keras: the same layer object in two Sequentials holds one set of weights: what one model
    # trains, the other computes with (the TensorFlow regression tutorial's normalizer)
    shared = layers.Dense(4, name="shared_dense")
    a = ranvier.Sequential([ranvier.Input((3,)), shared, layers.Dense(1, name="ha")])
    b = ranvier.Sequential([ranvier.Input((3,)), shared])
    c = ranvier.Sequential([ranvier.Input((3,))])
    c.add(shared)
    assert b.layers[0] is shared and c.layers[0] is shared
    x = _x(16, 3)
    a.compile(optimizer="sgd", loss="mse")
    before = shared.get_weights()[0].copy()
    a.fit(x, np.ones((16, 1), np.float32), epochs=2, verbose=0)
    k, bias = shared.get_weights()
    assert not np.array_equal(before, k)
    np.testing.assert_allclose(b.predict(x, verbose=0), x.astype(np.float64) @ k + bias, rtol=1e-5, atol=1e-6)
    b.compile(optimizer="sgd", loss="mse")
    b.fit(x, np.zeros((16, 4), np.float32), epochs=2, verbose=0)
    k2, bias2 = shared.get_weights()
    assert not np.array_equal(k, k2)
    ha = a.get_layer("ha").get_weights()
    np.testing.assert_allclose(a.predict(x, verbose=0), (x.astype(np.float64) @ k2 + bias2) @ ha[0] + ha[1],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(c.predict(x, verbose=0), b.predict(x, verbose=0))


def test_a_layer_popped_or_whose_model_is_gone_can_join_another_model():
    d = layers.Dense(2)
    a = ranvier.Sequential([ranvier.Input((3,)), layers.Dense(3), d])
    assert a.pop() is d
    b = ranvier.Sequential([ranvier.Input((3,)), d])
    assert b.predict(_x(2, 3), verbose=0).shape == (2, 2)
    del b
    gc.collect()
    c = ranvier.Sequential([ranvier.Input((3,)), d])
    assert c.predict(_x(2, 3), verbose=0).shape == (2, 2)


# ------------------------------------------------------------------ structure while a call runs
class _Gate(ranvier.callbacks.Callback):
    """Blocks the model's call inside a batch hook until released (deterministic: the other
    thread acts while the call is certainly running, whatever the machine's load)."""

    def __init__(self):
        super().__init__()
        self.inside = threading.Event()
        self.release = threading.Event()

    def _hold(self, *args, **kwargs):
        self.inside.set()
        assert self.release.wait(120)

    on_train_batch_end = on_test_batch_end = on_predict_batch_end = _hold


def _model(seed=0):
    ranvier.utils.set_random_seed(seed)
    m = ranvier.Sequential([ranvier.Input((6,)), layers.Dense(8, activation="relu"),
                            layers.BatchNormalization(), layers.Dense(2)])
    m.compile(optimizer="sgd", loss="mse")
    return m


_X, _Y = _x(32, 6), np.random.default_rng(9).standard_normal((32, 2)).astype(np.float32)


@contextlib.contextmanager
def _running(model, call):
    gate = _Gate()
    result = {}

    def run():
        try:
            if call == "fit":
                model.fit(_X, _Y, epochs=1, batch_size=8, verbose=0, callbacks=[gate])
            elif call == "evaluate":
                model.evaluate(_X, _Y, batch_size=8, verbose=0, callbacks=[gate])
            else:
                model.predict(_X, batch_size=8, verbose=0, callbacks=[gate])
            result["ok"] = True
        except BaseException as e:  # noqa: BLE001 - checked below
            result["error"] = e

    t = threading.Thread(target=run)
    t.start()
    try:
        assert gate.inside.wait(120)
        yield
    finally:
        gate.release.set()
        t.join(120)
    assert not t.is_alive()
    assert result.get("ok"), result


_CHANGES = {
    "add": lambda m: m.add(layers.Dense(3)),
    "pop": lambda m: m.pop(),
    "build": lambda m: m.build((None, 6)),
    "compile": lambda m: m.compile(optimizer="adam", loss="mae"),
    "trainable": lambda m: setattr(m.layers[0], "trainable", False),
    "set_weights_shapes": lambda m: m.set_weights([np.zeros((2, 2), np.float32)] * len(m.get_weights())),
    "layer_set_weights_shapes": lambda m: m.layers[0].set_weights([np.zeros((1, 8)), np.zeros(8)]),
    "layer_build": lambda m: m.layers[0].build((None, 4)),
}


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(change=st.lists(st.sampled_from(sorted(_CHANGES)), min_size=1, max_size=4),
       call=st.sampled_from(["fit", "evaluate", "predict"]))
def test_structural_changes_from_another_thread_are_refused(change, call):
    model = _model()
    reference = _model()
    with _running(model, call):
        for c in change:
            with pytest.raises(RuntimeError, match=rf"running {call} in another thread"):
                _CHANGES[c](model)
    # nothing changed: the model predicts as an untouched one (fit trained it: compare the
    # structure and that it still trains)
    assert [tuple(w.shape) for w in model.get_weights()] == [tuple(w.shape) for w in reference.get_weights()]
    if call != "fit":
        for a, b in zip(model.get_weights(), reference.get_weights()):
            np.testing.assert_array_equal(a, b)
    model.fit(_X, _Y, epochs=1, verbose=0)
    assert np.all(np.isfinite(model.predict(_X, verbose=0)))


def test_thread_interleavings_of_structural_changes_against_fit():
    """Free interleavings (no gate): a thread changes the structure in a loop while another
    fits, evaluates and predicts. Every change either happens between calls or is refused with
    RuntimeError; nothing crashes (under .ci/sanitize: no heap error) and the model ends usable."""
    model = _model()
    stop = threading.Event()
    errors = []
    refused = [0]

    def changer():
        k = 0
        while not stop.is_set() or k < 20:
            k += 1
            try:
                if k % 4 == 0:
                    model.add(layers.Dense(2, name=f"extra_{k}"))
                elif k % 4 == 1:
                    if len(model.layers) > 3:
                        model.pop()
                elif k % 4 == 2:
                    model.layers[0].trainable = bool(k % 8 == 2)
                else:
                    model.compile(optimizer="sgd", loss="mse")
            except RuntimeError as e:
                assert "in another thread" in str(e)
                refused[0] += 1
            except BaseException as e:  # noqa: BLE001
                errors.append(e)
                return

    def worker():
        try:
            for _ in range(15):
                for fn in (lambda: model.fit(_X, _Y, epochs=1, batch_size=4, verbose=0),
                           lambda: model.evaluate(_X, _Y, verbose=0),
                           lambda: model.predict(_X, verbose=0)):
                    try:
                        fn()
                    except RuntimeError as e:  # another call of this thread's own model
                        assert "another thread" in str(e)
                    except ValueError as e:  # the structure changed between calls: y's width
                        assert "does not match the model's output shape" in str(e)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)
        finally:
            stop.set()

    ts = [threading.Thread(target=changer), threading.Thread(target=worker)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(300)
    assert not any(t.is_alive() for t in ts)
    assert not errors, errors
    while len(model.layers) > 3:
        model.pop()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(_X, _Y, epochs=1, verbose=0)
    assert np.all(np.isfinite(model.predict(_X, verbose=0)))


@pytest.mark.parametrize("change", sorted(set(_CHANGES) - {"trainable"}))
def test_structural_changes_from_a_callback_of_fit_are_refused(change):
    model = _model()
    seen = []

    class Change(ranvier.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            try:
                _CHANGES[change](self.model)
            except (RuntimeError, ValueError) as e:
                seen.append(e)

    model.fit(_X, _Y, epochs=2, verbose=0, callbacks=[Change()])
    assert len(seen) == 2
    if change not in ("set_weights_shapes", "layer_set_weights_shapes"):  # those: ValueError (shapes)
        assert all(isinstance(e, RuntimeError) and "nested call" in str(e) for e in seen), seen
    assert len(model.layers) == 3


def test_trainable_set_from_a_callback_takes_effect_at_the_next_compile():
    """Keras captures the trainable state at compile time: freezing a layer from a callback
    does not stop the running fit's learning (it used to stop all of it, silently); the next
    compile applies it."""
    model = _model()
    first = model.layers[0]
    snapshots = []

    class Freeze(ranvier.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(first.get_weights()[0].copy())
            first.trainable = False

    model.fit(_X, _Y, epochs=3, batch_size=8, verbose=0, callbacks=[Freeze()])
    assert not first.trainable and first.trainable_weights == []
    assert not np.array_equal(snapshots[0], snapshots[1])  # still learning after the change
    assert not np.array_equal(snapshots[1], snapshots[2])
    model.compile(optimizer="sgd", loss="mse")
    frozen = first.get_weights()[0].copy()
    last = model.layers[-1].get_weights()[0].copy()
    model.fit(_X, _Y, epochs=2, verbose=0)
    np.testing.assert_array_equal(frozen, first.get_weights()[0])
    assert not np.array_equal(last, model.layers[-1].get_weights()[0])


def test_nested_fit_is_reported_as_nested():
    model = _model()
    seen = []

    class Nested(ranvier.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            for call in (lambda: self.model.fit(_X, _Y, verbose=0),
                         lambda: self.model.train_on_batch(_X, _Y)):
                try:
                    call()
                except RuntimeError as e:
                    seen.append(str(e))

    model.fit(_X, _Y, epochs=1, verbose=0, callbacks=[Nested()])
    assert len(seen) == 2
    for msg in seen:
        assert "nested" in msg and "same thread" in msg and "another thread" not in msg, msg


# ------------------------------------------------------------------ threads
def test_set_num_threads_refuses_far_more_threads_than_cpus():
    from ranvier import _runtime
    limit = _runtime.max_num_threads()
    default = ranvier.get_num_threads()
    try:
        for n in (limit + 1, 10**9, 2**31, 2**63 - 1, 10**30):
            with pytest.raises(ValueError, match=rf"limit is {limit}"):
                ranvier.set_num_threads(n)
            assert ranvier.get_num_threads() == default  # unchanged
        with pytest.raises(ValueError, match="limit is"):
            _core.set_num_threads(2**31 - 1)  # the C++ check itself
    finally:
        ranvier.set_num_threads(0)


def test_set_num_threads_zero_restores_the_default_and_training_stays_finite():
    default = ranvier.get_num_threads()
    try:
        ranvier.set_num_threads(1)
        assert ranvier.get_num_threads() == 1
        ranvier.set_num_threads(0)
        assert ranvier.get_num_threads() == default
        model = _model()
        model.fit(_X, _Y, epochs=2, verbose=0)
        assert np.all(np.isfinite(model.predict(_X, verbose=0)))
    finally:
        ranvier.set_num_threads(0)


# ------------------------------------------------------------------ metric buffers
@pytest.mark.parametrize("t", [2**24 + 1, 2**24 + 4, 2**31 - 1])
def test_auc_num_thresholds_is_bounded(t):
    with pytest.raises(ValueError, match="num_thresholds"):
        metrics.AUC(num_thresholds=t)
    params = _core.MetricParams()
    params.num_thresholds = t
    with pytest.raises(ValueError, match=r"num_thresholds=\d+ is above the limit"):
        _core.Metric("auc", params)  # the C++ check itself


@_SETTINGS
@given(t=st.integers(2, 5000), values=st.lists(st.sampled_from(
    [0.0, 1.0, 1.0 - 2**-24, 0.5, 2**-24, -3.0, 7.0, float("nan"), float("inf"), -float("inf")]),
    min_size=1, max_size=16))
def test_auc_buckets_take_every_prediction(t, values):
    """Extreme predictions (exactly 1, just below 1, out of range, NaN, inf) land in a bucket:
    the counts add up to the number of samples."""
    m = metrics.AUC(num_thresholds=t)
    y_pred = np.array(values, np.float32).reshape(-1, 1)
    y_true = (np.arange(len(values)) % 2).astype(np.float32).reshape(-1, 1)
    m.update_state(y_true, y_pred)
    state = np.asarray(m._core_metric.state())
    assert state.shape == (2 * t,) and state.sum() == len(values)
    assert 0.0 <= float(m.result()) <= 1.0


@pytest.mark.parametrize("top_k", [1, 3, 2**31 - 1])
def test_precision_top_k_never_sizes_a_buffer_from_top_k(top_k):
    rng = np.random.default_rng(0)
    y_pred = rng.random((20, 5)).astype(np.float32)
    y_true = (rng.random((20, 5)) > 0.5).astype(np.float32)
    m = metrics.Precision(top_k=top_k)
    m.update_state(y_true, y_pred)
    ref = metrics.Precision(top_k=min(top_k, 5))
    ref.update_state(y_true, y_pred)
    assert float(m.result()) == float(ref.result())


def test_calling_a_layer_directly_while_its_model_fits_in_another_thread():
    """A direct call of a layer of a model reserves and uses the same C++ workspaces as the
    model's fit: with growing batches it used to reallocate them under the running fit. The
    call now takes the model's inference lock: every output equals the serial one."""
    ranvier.utils.set_random_seed(3)
    model = ranvier.Sequential([ranvier.Input((6,)), layers.Dense(32, activation="tanh"), layers.Dense(2)])
    model.compile(optimizer=ranvier.optimizers.SGD(learning_rate=0.0), loss="mse")
    first = model.layers[0]
    xs = [_x(b, 6) for b in range(1, 400, 23)]
    want = [first(x) for x in xs]
    stop = threading.Event()

    class UntilDone(ranvier.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if stop.is_set():
                self.model.stop_training = True

    t = threading.Thread(target=lambda: model.fit(_x(512, 6), np.zeros((512, 2), np.float32), epochs=10**6,
                                                  batch_size=256, verbose=0, callbacks=[UntilDone()]))
    t.start()
    try:
        for _ in range(3):
            for x, w in zip(xs, want):
                np.testing.assert_array_equal(first(x), w)
    finally:
        stop.set()
        t.join(120)
    assert not t.is_alive()


def test_a_refused_add_leaves_the_model_training_exactly_as_before():
    """A refused add (a layer built for another width) restores the model: same network, same
    optimizer state, same trainable flags; training continues as if nothing happened."""
    a, b = _model(), _model()
    for m in (a, b):
        m.fit(_X, _Y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    a.layers[0].trainable = False  # deferred to the next compile: must stay deferred
    with pytest.raises(ValueError, match=_widths_msg(5, 2)):
        a.add(_built("Dense", 5))
    a.layers[0].trainable = True
    for m in (a, b):
        m.fit(_X, _Y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    for x, y in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(x, y)
