import contextlib
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))  # `import reference`

import ranvier  # noqa: E402
from ranvier import _runtime  # noqa: E402

SUPPORTED_ISAS = ranvier.supported_isas()
# The avx512bf16 tier is the avx512 table plus the bf16 GEMM kernels: its float32 kernels
# are avx512's, so float32 tests run each distinct tier once; tests/test_bf16.py runs all.
F32_ISAS = [i for i in SUPPORTED_ISAS if i != "avx512bf16"]


@contextlib.contextmanager
def forced_isa(name):
    """Every kernel forced to tier `name` inside the block; the previous tier after it."""
    previous = ranvier.isa()
    _runtime._force_isa(name)
    try:
        yield name
    finally:
        _runtime._force_isa(previous)


@pytest.fixture(params=F32_ISAS)
def isa(request):
    """Runs the test once per float32 kernel tier this CPU supports, forcing every kernel to it."""
    with forced_isa(request.param) as name:
        yield name


def metric_batches(n, sizes=(7, 1, 13)):
    """Splits range(n) into consecutive batches of the given sizes (last takes the rest)."""
    out, start = [], 0
    for s in sizes:
        if start >= n:
            break
        out.append(slice(start, min(n, start + s)))
        start += s
    if start < n:
        out.append(slice(start, n))
    return out


def run_metric_in_batches(metric, yt, yp, sw=None, sizes=(7, 1, 13)):
    """A metric's result after update_state over uneven batches (the running state must equal
    one pass)."""
    metric.reset_state()
    for sl in metric_batches(len(yp), sizes):
        metric.update_state(yt[sl], yp[sl], None if sw is None else sw[sl])
    return metric.result()


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_addoption(parser):
    parser.addoption("--keras-python", default=None,
                     help="an interpreter with Keras installed: tests/test_keras_programs.py then also "
                          "runs the Keras-style programs under Keras and compares the results")
