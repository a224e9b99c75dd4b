"""Thread count: set_num_threads / get_num_threads, OMP_NUM_THREADS, threadpoolctl.

Precedence (documented in cpp/src/runtime/runtime.h and ranvier.set_num_threads):
the default is OpenMP's limit of the calling thread (OMP_NUM_THREADS, else the cores);
set_num_threads(n) sets it to n; threadpoolctl.threadpool_limits(k) lowers it to k inside
its block and restores it on exit, exactly as it does for NumPy's BLAS; set_num_threads(0)
goes back to the default.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import ranvier

openmp = pytest.mark.skipif(not ranvier.build_info()["openmp"], reason="serial build: always 1 thread")


@pytest.fixture(autouse=True)
def default_threads():
    ranvier.set_num_threads(0)
    yield
    ranvier.set_num_threads(0)


def _run(code, **env):
    e = dict(os.environ)
    e.pop("OMP_NUM_THREADS", None)
    e.update(env)
    r = subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@openmp
def test_default_follows_omp_num_threads():
    assert _run("import ranvier; print(ranvier.get_num_threads())", OMP_NUM_THREADS="3") == "3"
    assert _run("import ranvier; print(ranvier.get_num_threads())", OMP_NUM_THREADS="1") == "1"


@openmp
def test_explicit_setting_beats_the_environment():
    code = "import ranvier; ranvier.set_num_threads(2); print(ranvier.get_num_threads())"
    assert _run(code, OMP_NUM_THREADS="1") == "2"
    code = ("import ranvier; ranvier.set_num_threads(2); ranvier.set_num_threads(0); "
            "print(ranvier.get_num_threads())")
    assert _run(code, OMP_NUM_THREADS="3") == "3"  # 0 gives the default back


@openmp
def test_set_and_get():
    ranvier.set_num_threads(1)
    assert ranvier.get_num_threads() == 1
    ranvier.set_num_threads(3)
    assert ranvier.get_num_threads() == 3


def test_set_num_threads_rejects_bad_values():
    with pytest.raises(ValueError, match="n must be >= 0"):
        ranvier.set_num_threads(-1)
    with pytest.raises(TypeError, match="n must be an int"):
        ranvier.set_num_threads(2.0)
    with pytest.raises(TypeError, match="n must be an int"):
        ranvier.set_num_threads(True)


@openmp
def test_threadpool_limits_limits_ranvier_like_blas():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    ranvier.set_num_threads(2)
    with threadpoolctl.threadpool_limits(limits=1):
        assert ranvier.get_num_threads() == 1
        blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
        assert all(i["num_threads"] == 1 for i in blas)
    assert ranvier.get_num_threads() == 2  # restored on exit
    ranvier.set_num_threads(0)
    default = ranvier.get_num_threads()
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert ranvier.get_num_threads() == 1
    assert ranvier.get_num_threads() == default


@openmp
def test_threadpoolctl_sees_ranvier_openmp():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    ranvier.set_num_threads(1)
    omp = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "openmp"]
    assert omp, "ranvier's OpenMP runtime is not visible to threadpoolctl"
    assert any(i["num_threads"] == 1 for i in omp)


def test_results_do_not_depend_on_threads_under_limits():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(5)
    a = rng.standard_normal((300, 400)).astype(np.float32)
    b = rng.standard_normal((400, 500)).astype(np.float32)
    with threadpoolctl.threadpool_limits(limits=1):
        c1 = ranvier.ops.matmul(a, b)
    with threadpoolctl.threadpool_limits(limits=2):
        c2 = ranvier.ops.matmul(a, b)
    np.testing.assert_array_equal(c1, c2)
