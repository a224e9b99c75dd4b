"""Threads: predictions from several Python threads at once equal serial
ones; a model that one thread trains refuses training, evaluation and training-mode calls
from another thread with a clear error (tests/test_model.py has the fit-vs-fit case) instead of mixing their
accumulators; independent models train in parallel exactly as in sequence; long calls
release the GIL so other Python threads keep running."""
from __future__ import annotations

import contextlib
import sys
import threading
import time

import numpy as np
import pytest

import ranvier
from ranvier import activations, layers, losses, ops, optimizers


def _model(n_in=16, hidden=32, n_out=4, seed=0, lr=0.01, extra=True):
    ranvier.utils.set_random_seed(seed)
    stack = [ranvier.Input(shape=(n_in,)), layers.Dense(hidden, activation="gelu")]
    if extra:
        stack += [layers.LayerNormalization(), layers.Dropout(0.25)]
    stack += [layers.Dense(hidden, activation="tanh"), layers.Dense(n_out, activation="softmax")]
    m = ranvier.Sequential(stack)
    m.compile(optimizer=optimizers.SGD(learning_rate=lr), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
    return m


def _data(n=512, n_in=16, k=4, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, n_in)).astype(np.float32)
    return x, rng.integers(0, k, n)


def _run_threads(fns, timeout=120):
    errors = []

    def wrap(fn):
        try:
            fn()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    ts = [threading.Thread(target=wrap, args=(f,)) for f in fns]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout)
    assert not any(t.is_alive() for t in ts), "a thread did not finish"
    if errors:
        raise errors[0]


# ------------------------------------------------------------------ predict from threads
def test_predict_from_several_threads_equals_serial():
    m = _model()
    x, _ = _data(n=700)
    # batch sizes differ per call so the shared workspaces are re-reserved while others predict
    jobs = [(x[i * 37:], bs) for i in range(8) for bs in (1, 7, 64, 700)]
    serial = [m.predict(xi, batch_size=bs, verbose=0) for xi, bs in jobs]
    results = {}

    def worker(tid):
        for rep in range(3):
            for j in range(tid, len(jobs), 4):
                xi, bs = jobs[j]
                results[(tid, rep, j)] = m.predict(xi, batch_size=bs, verbose=0)

    _run_threads([lambda t=t: worker(t) for t in range(4)])
    assert len(results) == 3 * len(jobs)
    for (tid, rep, j), out in results.items():
        assert np.array_equal(out, serial[j]), (tid, rep, j)


def test_predict_while_another_thread_trains_on_growing_batches():
    """train_on_batch with a zero learning rate (weights, and so predictions, never change) and
    a growing batch re-reserves the layers' workspaces each call while another thread predicts:
    every prediction equals the serial one (a workspace freed under a running predict would
    show here as garbage, and as a heap-use-after-free under .ci/sanitize)."""
    m = _model(lr=0.0)
    x, y = _data(n=300)
    m.train_on_batch(x[:1], y[:1])  # build the optimizer and trainer once
    want = m.predict(x, batch_size=300, verbose=0)
    stop = threading.Event()
    outs = []

    def predictor():
        while True:  # at least one prediction, however the threads are scheduled
            outs.append(m.predict(x, batch_size=300, verbose=0))
            if stop.is_set():
                break

    def trainer():
        try:
            for b in range(2, 300, 3):
                m.train_on_batch(x[:b], y[:b])
        finally:
            stop.set()

    _run_threads([predictor, trainer])
    assert outs
    for o in outs:
        assert np.array_equal(o, want)


def test_layer_call_from_threads_equals_serial():
    ranvier.utils.set_random_seed(2)
    layer = layers.Dense(24, activation="relu")
    x = np.random.default_rng(3).standard_normal((257, 10)).astype(np.float32)
    want = layer(x)
    outs = []

    def work():
        for _ in range(20):
            outs.append(layer(x))

    _run_threads([work, work, work])
    assert len(outs) == 60 and all(np.array_equal(o, want) for o in outs)


# ------------------------------------------------------------------ one trainer at a time
class _Hold(ranvier.callbacks.Callback):
    """Keeps fit running (epoch after epoch) until released; signals once it is running."""

    def __init__(self):
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()

    def on_epoch_end(self, epoch, logs=None):
        self.started.set()
        if self.release.is_set():
            self.model.stop_training = True


@contextlib.contextmanager
def _fit_in_another_thread(m, x, y):
    """Runs m.fit in a second thread for the body of the with-block (it has started when the
    body runs), then stops it and checks that it ended."""
    hold = _Hold()
    t = threading.Thread(target=lambda: m.fit(x, y, epochs=100000, verbose=0, callbacks=[hold]))
    t.start()
    try:
        assert hold.started.wait(60)
        yield
    finally:
        hold.release.set()
        t.join(60)
    assert not t.is_alive()


@pytest.mark.parametrize("call", ["evaluate", "test_on_batch", "train_on_batch"])
def test_training_or_evaluation_from_another_thread_during_fit_is_refused(call):
    """evaluate during another thread's fit used to share the fit's loss/metric accumulators:
    both got silently wrong numbers. Now it is refused like a second fit."""
    m = _model(lr=0.0)
    x, y = _data()
    with _fit_in_another_thread(m, x, y):
        with pytest.raises(RuntimeError, match=r"(trained|evaluated|used) in another thread"):
            getattr(m, call)(x, y)
    # usable again, and the refused call left no trace in the weights (lr = 0: unchanged)
    before = m.get_weights()
    m.evaluate(x, y, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))


def test_training_mode_call_from_another_thread_during_fit_is_refused():
    """model(x, training=True) runs the layers in training mode from Python (BatchNormalization
    updates its moving statistics, Dropout advances its step) on the workspaces fit uses: it
    used to run beside another thread's fit unguarded. Now it is refused like train_on_batch,
    and works again once fit is over."""
    m = _model(lr=0.0)
    x, y = _data()
    with _fit_in_another_thread(m, x, y):
        with pytest.raises(RuntimeError, match=r"call\(training=True\): this model is already being trained "
                                               r"or evaluated in another thread"):
            m(x, training=True)
        # inference calls still run beside fit
        assert m(x[:8]).shape == (8, 4)
    out = m(x, training=True)
    assert out.shape == (512, 4) and np.all(np.isfinite(out))


def test_predict_while_another_thread_calls_in_training_mode():
    """model(x, training=True) and predict from two threads, both on growing batches, so each
    re-reserves the layers' workspaces (Dense's pre-activations, Dropout's mask,
    LayerNormalization's row statistics) while the other runs: every result equals the serial
    one. Without the network's inference lock around the training-mode call, a workspace
    reallocated between a Dense's GEMM and its activation gives wrong outputs, and a write into
    a freed one corrupts the heap (a crash, or a heap-use-after-free under .ci/sanitize)."""
    x, _ = _data(n=600)
    sizes_p = list(range(3, 600, 6))
    sizes_c = list(range(2, 600, 6))
    ref = _model(lr=0.0)  # the serial reference: same weights, same dropout seed and steps
    want_p = [ref.predict(x[:b], batch_size=b, verbose=0) for b in sizes_p]
    want_c = [ref(x[:b], training=True) for b in sizes_c]
    for _ in range(3):  # fresh workspaces each round (the race needs them to grow)
        m = _model(lr=0.0)
        got_p, got_c = [], []

        def predictor():
            for b in sizes_p:
                got_p.append(m.predict(x[:b], batch_size=b, verbose=0))

        def caller():
            for b in sizes_c:
                got_c.append(m(x[:b], training=True))

        _run_threads([predictor, caller])
        assert len(got_p) == len(want_p) and len(got_c) == len(want_c)
        for g, w in zip(got_p, want_p):
            assert np.array_equal(g, w)
        for g, w in zip(got_c, want_c):
            assert np.array_equal(g, w)


@pytest.mark.parametrize("use", ["evaluate", "call_training"])
def test_the_fitting_thread_may_use_the_model_from_a_callback(use):
    """The thread that runs fit may evaluate (a common Keras pattern) or call the model in
    training mode from a callback: the guards refuse other threads, not this one."""
    m = _model()
    x, y = _data()
    seen = []

    class UseEachEpoch(ranvier.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if use == "evaluate":
                seen.append(np.atleast_1d(self.model.evaluate(x[:64], y[:64], verbose=0))[0])
            else:
                seen.append(self.model(x[:16], training=True))

    m.fit(x, y, epochs=2, verbose=0, callbacks=[UseEachEpoch()])
    assert len(seen) == 2 and all(np.all(np.isfinite(v)) for v in seen)
    if use == "call_training":
        assert all(o.shape == (16, 4) for o in seen)


def test_concurrent_evaluates_never_mix_their_results():
    """Two threads evaluating one model: each gets its own data's loss, or a clear refusal."""
    m = _model()
    x, y = _data(n=4000)
    xa, ya, xb, yb = x[:2000], y[:2000], x[2000:], (y[2000:] + 1) % 4
    want_a = m.evaluate(xa, ya, verbose=0)
    want_b = m.evaluate(xb, yb, verbose=0)
    got = []

    def run(xx, yy, want):
        for _ in range(15):
            try:
                got.append((m.evaluate(xx, yy, batch_size=16, verbose=0), want))
            except RuntimeError as e:
                assert "another thread" in str(e)

    _run_threads([lambda: run(xa, ya, want_a), lambda: run(xb, yb, want_b)])
    assert got
    for value, want in got:
        assert value == want


def test_independent_models_train_in_parallel_as_in_sequence():
    x, y = _data(n=256)

    def train(seed):
        m = _model(seed=seed)
        m.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
        return m.get_weights()

    serial = [train(s) for s in range(3)]
    par = {}
    # the models are built (and seeded) first, in order; only fit runs in parallel
    models = []
    for s in range(3):
        models.append(_model(seed=s))

    def fit(i):
        models[i].fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
        par[i] = models[i].get_weights()

    _run_threads([lambda i=i: fit(i) for i in range(3)])
    for i in range(3):
        assert all(np.array_equal(a, b) for a, b in zip(serial[i], par[i])), i


# ------------------------------------------------------------------ the GIL is released
def _ticks_inside_calls(call, needed=3, deadline_s=300.0):
    """Runs ``call`` in this thread again and again while another Python thread ticks, and
    counts only the ticks that happen *inside* a call (between the flag set just before it
    and cleared just after it). Returns (ticks inside calls, calls made).

    The switch interval is set so long that the interpreter never takes the GIL from a
    running thread: the ticker can run while this thread is inside ``call`` only if the
    call released the GIL itself. So the verdict counts events, not a rate: a call that
    releases the GIL gets ``needed`` ticks inside it sooner or later however busy the
    machine is (a loaded machine only takes more calls), and a call that holds it never
    gets one. ``deadline_s`` only keeps a broken build from hanging the test run."""
    inside = [0]
    in_call = [False]
    stop = threading.Event()
    running = threading.Event()

    def spin():
        running.set()
        while not stop.is_set():
            if in_call[0]:
                inside[0] += 1
            time.sleep(0.0005)  # releases the GIL, so this thread is woken by events

    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    t = threading.Thread(target=spin)
    calls = 0
    try:
        t.start()
        running.wait()
        t0 = time.monotonic()
        while inside[0] < needed and time.monotonic() - t0 < deadline_s:
            in_call[0] = True
            call()
            in_call[0] = False
            calls += 1
    finally:
        in_call[0] = False
        stop.set()
        t.join()
        sys.setswitchinterval(old_interval)
    return inside[0], calls


def _assert_gil_released(call):
    call()  # warm-up
    inside, calls = _ticks_inside_calls(call)
    # Holding the GIL, the ticker could never run while a call is in flight (no forced switch
    # with this switch interval): any tick inside a call shows the GIL was released.
    assert inside >= 3, f"the other thread never ran inside the call ({calls} calls): the GIL was held"


def test_the_probe_sees_no_tick_inside_a_call_that_holds_the_gil():
    """The control: a call that never releases the GIL (pure Python) gets no tick inside it,
    however long it runs and however busy the machine is."""
    inside, calls = _ticks_inside_calls(lambda: sum(range(200000)), deadline_s=1.0)
    assert inside == 0 and calls >= 1


def test_gil_released_during_predict_on_a_large_input():
    ranvier.utils.set_random_seed(0)
    m = ranvier.Sequential([ranvier.Input(shape=(256,)), layers.Dense(512, activation="relu"),
                            layers.Dense(512, activation="relu"), layers.Dense(10)])
    x = np.random.default_rng(0).standard_normal((6000, 256)).astype(np.float32)
    _assert_gil_released(lambda: m.predict(x, batch_size=1024, verbose=0))


def test_gil_released_during_evaluate_and_fit():
    ranvier.utils.set_random_seed(0)
    m = ranvier.Sequential([ranvier.Input(shape=(128,)), layers.Dense(256, activation="relu"),
                            layers.Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6000, 128)).astype(np.float32)
    y = rng.standard_normal(6000).astype(np.float32)
    _assert_gil_released(lambda: m.evaluate(x, y, batch_size=512, verbose=0))
    _assert_gil_released(lambda: m.fit(x, y, epochs=1, batch_size=256, verbose=0))


def test_gil_released_in_matmul_activations_and_losses():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1000, 1000)).astype(np.float32)
    _assert_gil_released(lambda: ops.matmul(a, a))
    big = rng.standard_normal((4000, 1000)).astype(np.float32)
    _assert_gil_released(lambda: [activations.gelu(big) for _ in range(4)])
    p = activations.softmax(big)
    labels = rng.integers(0, 1000, 4000)
    _assert_gil_released(lambda: [losses.sparse_categorical_crossentropy(labels, p) for _ in range(8)])
