"""Busy-machine threading (cpp/src/runtime/pool.h): the pool's dynamic splitting, its
chunk counts, late workers (simulated with random sleeps before each claim) and the
adaptive fall-back to one thread change which thread computes what, never a bit of the
result. No timing is asserted anywhere: these tests only compare bits.
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ranvier
from ranvier import _core

openmp = pytest.mark.skipif(not ranvier.build_info()["openmp"], reason="serial build: always 1 thread")


@pytest.fixture
def pool():
    """Forces every operation onto the pool (GEMM and optimizer thresholds at their minimum)
    and restores every knob afterwards."""
    _core._pool_tuning(reset=True)
    _core._gemm_tuning(reset=True)
    saved_opt = _core.optimizer_parallel_threshold()
    _core._gemm_tuning(parallel_min_flops=0.0)
    _core.set_optimizer_parallel_threshold(1)
    yield _core._pool_tuning
    _core._pool_tuning(reset=True)
    _core._gemm_tuning(reset=True)
    _core.set_optimizer_parallel_threshold(saved_opt)
    ranvier.set_num_threads(0)


def _data(n=512, d=96, k=5, seed=4):
    rng = np.random.default_rng(seed)
    x = rng.random((n, d), dtype=np.float32)
    y = np.argmax((x - 0.5) @ rng.standard_normal((d, k)).astype(np.float32), axis=1)
    return x, y.astype(np.float32)


def _train(threads, optimizer="adam"):
    """Two epochs of a network with every kind of parallel work (GEMMs, Dense bias sums,
    BatchNormalization and LayerNormalization statistics, Dropout, activations, the loss,
    the optimizer): the final weights and predictions."""
    ranvier.set_num_threads(threads)
    ranvier.utils.set_random_seed(21)
    x, y = _data()
    m = ranvier.Sequential([
        ranvier.Input(shape=(x.shape[1],)),
        ranvier.layers.Dense(256, activation="relu"),
        ranvier.layers.BatchNormalization(),
        ranvier.layers.Dropout(0.25),
        ranvier.layers.Dense(160, activation="tanh"),
        ranvier.layers.LayerNormalization(),
        ranvier.layers.Dense(5, activation="softmax"),
    ])
    m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    m.fit(x, y, epochs=2, batch_size=256, verbose=0)
    return m.get_weights() + [m.predict(x, batch_size=512, verbose=0)]


def _assert_same(a, b, what):
    assert len(a) == len(b)
    for i, (wa, wb) in enumerate(zip(a, b)):
        assert np.array_equal(wa, wb), f"{what}: array {i} differs from the 1-thread run"


@openmp
@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_training_bitwise_under_dynamic_splitting(pool, optimizer):
    pool(adaptive=0)
    ref = _train(1, optimizer)
    for threads, cpt, gemm_cpt, jitter in [(2, 1, 1, 0), (2, 4, 1, 0), (2, 3, 2, 50), (3, 5, 3, 20),
                                          (4, 2, 2, 0)]:
        pool(chunks_per_thread=cpt, gemm_chunks_per_thread=gemm_cpt, test_jitter_us=jitter)
        _assert_same(ref, _train(threads, optimizer),
                     f"{threads} threads, {cpt}/{gemm_cpt} chunks per thread, jitter {jitter} us")
    assert pool()["jobs_parallel"] > 0  # the forced thresholds really sent work to the pool


@openmp
def test_training_bitwise_while_the_adaptive_rule_switches(pool):
    # A gain no team reaches: classes keep falling back to one thread and being probed
    # again in the middle of training, so some steps mix serial and parallel operations.
    ref = _train(1)
    pool(adaptive=1, min_gain=1000.0, test_jitter_us=30)
    _assert_same(ref, _train(2), "adaptive back-off with late workers")
    st = pool()
    assert st["backoffs"] > 0 and st["jobs_serial"] > 0


@openmp
def test_matmul_bitwise_under_dynamic_splitting(pool):
    rng = np.random.default_rng(0)
    for m, k, n in [(128, 784, 256), (200, 64, 100), (3, 300, 500), (1000, 33, 7)]:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        ranvier.set_num_threads(1)
        ref = ranvier.ops.matmul(a, b)
        for threads, parts, jitter in [(2, 1, 0), (2, 4, 40), (3, 2, 10)]:
            pool(adaptive=0, gemm_chunks_per_thread=parts, test_jitter_us=jitter)
            ranvier.set_num_threads(threads)
            assert np.array_equal(ref, ranvier.ops.matmul(a, b)), (m, k, n, threads, parts, jitter)


def test_pool_tuning_reports_and_restores():
    d = _core._pool_tuning(reset=True)
    for key in ("chunks_per_thread", "gemm_chunks_per_thread", "adaptive", "spin_us", "min_gain",
                "workers", "jobs_parallel", "jobs_serial", "chunks_by_workers", "chunks_by_caller",
                "backoffs", "stalls"):
        assert key in d
    assert d["jobs_parallel"] == 0 and d["backoffs"] == 0
    assert _core._pool_tuning(chunks_per_thread=7)["chunks_per_thread"] == 7
    assert _core._pool_tuning(reset=True)["chunks_per_thread"] == d["chunks_per_thread"]


def _run(code, **env):
    e = dict(os.environ)
    e.update(env)
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=e, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@openmp
def test_environment_knobs():
    code = "from ranvier import _core; d = _core._pool_tuning(); print(d['adaptive'], d['spin_us'])"
    assert _run(code, RANVIER_ADAPTIVE_THREADS="0", RANVIER_SPIN_US="0") == "False 0"
    assert _run(code, RANVIER_ADAPTIVE_THREADS="1", RANVIER_SPIN_US="150") == "True 150"
    assert _run(code, RANVIER_ADAPTIVE_THREADS="", RANVIER_SPIN_US="junk") == "True 100"  # defaults


@openmp
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_pool_works_in_a_forked_child():
    # The child has none of the parent's worker threads: it must start its own pool
    # (not wait for threads that do not exist) and give the same bits.
    code = """
        import os, numpy as np, ranvier
        from ranvier import _core
        _core._gemm_tuning(parallel_min_flops=0.0)
        _core._pool_tuning(adaptive=0)
        ranvier.set_num_threads(2)
        rng = np.random.default_rng(1)
        a = rng.standard_normal((300, 200)).astype(np.float32)
        b = rng.standard_normal((200, 150)).astype(np.float32)
        ref = ranvier.ops.matmul(a, b)  # starts the parent's pool
        pid = os.fork()
        if pid == 0:
            ok = all(np.array_equal(ref, ranvier.ops.matmul(a, b)) for _ in range(20))
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
    """
    assert _run(code) == "0"
