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


@pytest.fixture(params=F32_ISAS)
def isa(request):
    """Runs the test once per float32 kernel tier this CPU supports, forcing every kernel to it."""
    previous = ranvier.isa()
    _runtime._force_isa(request.param)
    try:
        yield request.param
    finally:
        _runtime._force_isa(previous)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def pytest_addoption(parser):
    parser.addoption("--keras-python", default=None,
                     help="an interpreter with Keras installed: tests/test_keras_programs.py then also "
                          "runs the Keras-style programs under Keras and compares the results")
