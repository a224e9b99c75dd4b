import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))  # `import reference`

import ranvier  # noqa: E402
from ranvier import _runtime  # noqa: E402

SUPPORTED_ISAS = ranvier.supported_isas()


@pytest.fixture(params=SUPPORTED_ISAS)
def isa(request):
    """Runs the test once per ISA this CPU supports, forcing every kernel to it."""
    previous = ranvier.isa()
    _runtime._force_isa(request.param)
    try:
        yield request.param
    finally:
        _runtime._force_isa(previous)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
