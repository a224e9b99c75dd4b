"""Regularizers (Keras 3) and constraints, against tests/reference/layers.py."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ranvier import _core, constraints, regularizers
from reference import layers as ref


@pytest.fixture
def w(rng):
    return rng.normal(0, 1, (13, 7))


def test_penalties(w):
    assert regularizers.L1()(w) == pytest.approx(ref.penalty(w, l1=0.01), rel=1e-12)
    assert regularizers.L2()(w) == pytest.approx(ref.penalty(w, l2=0.01), rel=1e-12)
    assert regularizers.L2(0.5)(w) == pytest.approx(0.5 * float((w * w).sum()), rel=1e-12)  # no 1/2
    assert regularizers.L1L2()(w) == 0.0  # Keras 3 defaults 0, 0
    assert regularizers.L1L2(0.1, 0.2)(w) == pytest.approx(ref.penalty(w, 0.1, 0.2), rel=1e-12)
    assert regularizers.l1_l2 is regularizers.L1L2 and regularizers.l1 is regularizers.L1
    assert regularizers.L2(0.3)(np.float32([1, 2])) == pytest.approx(1.5)


def test_core_penalty_matches(w):
    """The penalty the C++ layers compute (Dense.regularization) is the same function."""
    from ranvier import layers
    layer = layers.Dense(7, kernel_regularizer=regularizers.L1L2(0.01, 0.02), use_bias=False)
    layer.build((None, 13))
    layer.set_weights([w.astype(np.float32)])
    w32 = w.astype(np.float32).astype(np.float64)
    assert layer._core_layer.regularization(False) == pytest.approx(ref.penalty(w32, 0.01, 0.02), rel=1e-6)


@pytest.mark.parametrize("bad", [-0.1, math.inf, math.nan, "0.1", True])
def test_coefficients_validated(bad):
    with pytest.raises(ValueError, match="l1"):
        regularizers.L1(bad)
    with pytest.raises(ValueError, match="l2"):
        regularizers.L2(bad)
    with pytest.raises(ValueError, match="l2"):
        regularizers.L1L2(0.0, bad)


def test_get_and_names():
    assert isinstance(regularizers.get("l1"), regularizers.L1)
    assert isinstance(regularizers.get("L2"), regularizers.L2)
    assert isinstance(regularizers.get("l1l2"), regularizers.L1L2)
    assert regularizers.get(None) is None
    with pytest.raises(ValueError, match=r"l1_l2.*l1l2"):
        regularizers.get("l1_l2")  # not a Keras 3 string
    r = regularizers.L1L2(0.1, 0.2)
    ser = regularizers.serialize(r)
    assert ser == {"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.1, "l2": 0.2},
                   "registered_name": None}
    assert regularizers.get(ser).get_config() == r.get_config()


# ----------------------------------------------------------------------------- constraints
@pytest.mark.parametrize("axis", [0, 1, -1, [0, 1]])
def test_constraints_vs_reference(w, axis):
    ax = tuple(axis) if isinstance(axis, list) else axis
    big = 3 * w
    np.testing.assert_allclose(constraints.MaxNorm(2.0, axis)(big), ref.max_norm(big, 2.0, ax), rtol=1e-12)
    np.testing.assert_allclose(constraints.UnitNorm(axis)(w), ref.unit_norm(w, ax), rtol=1e-12)
    np.testing.assert_allclose(constraints.MinMaxNorm(0.5, 1.5, 0.7, axis)(big),
                               ref.min_max_norm(big, 0.5, 1.5, 0.7, ax), rtol=1e-12)
    n = np.sqrt((constraints.MaxNorm(2.0, axis)(big) ** 2).sum(axis=ax))
    assert (n <= 2.0 + 1e-9).all()
    n = np.sqrt((constraints.UnitNorm(axis)(w) ** 2).sum(axis=ax))
    np.testing.assert_allclose(n, 1.0, rtol=1e-6)


def test_non_neg_and_dtypes(w):
    np.testing.assert_array_equal(constraints.NonNeg()(w), np.maximum(w, 0))
    out = constraints.MaxNorm(1.0)(w.astype(np.float32))
    assert out.dtype == np.float32


@pytest.mark.parametrize("spec_axis,rows,cols,ref_axis", [(0, 13, 7, 0), (1, 13, 7, 1), (-1, 13, 7, (0, 1)),
                                                         (0, 7, 1, 0)])
@pytest.mark.parametrize("make", [lambda a: constraints.MaxNorm(1.5, a), lambda a: constraints.UnitNorm(a),
                                  lambda a: constraints.MinMaxNorm(0.2, 0.9, 0.5, a), lambda a: constraints.NonNeg()])
def test_core_constraints_match_python(spec_axis, rows, cols, ref_axis, make, rng):
    """The C++ constraint (what layers apply after each step) equals the Python one."""
    keras_axis = {0: 0, 1: 1, -1: [0, 1]}[spec_axis]
    c = make(keras_axis)
    wt = (2 * rng.normal(0, 1, (rows, cols))).astype(np.float32)
    spec = constraints._core_spec(c, 2, "c")
    got = wt.copy()
    _core._constraint_apply(spec, got.reshape(-1), rows, cols)
    want = c(wt.astype(np.float64))
    # float32 output of a double computation: a few ulps
    np.testing.assert_allclose(got, want, rtol=4 * np.finfo(np.float32).eps, atol=1e-30)


def test_constraint_names_and_validation():
    for name, cls in [("max_norm", constraints.MaxNorm), ("non_neg", constraints.NonNeg),
                      ("unit_norm", constraints.UnitNorm), ("min_max_norm", constraints.MinMaxNorm),
                      ("MaxNorm", constraints.MaxNorm)]:
        assert isinstance(constraints.get(name), cls)
    with pytest.raises(ValueError, match="max_norm"):
        constraints.get("maxnorm")
    assert constraints.MaxNorm().get_config() == {"max_value": 2, "axis": 0}
    c = constraints.MinMaxNorm(0.1, 0.9, 0.5, 1)
    assert constraints.get(constraints.serialize(c)).get_config() == c.get_config()
    with pytest.raises(ValueError, match="axis"):
        constraints._core_spec(constraints.MaxNorm(axis=2), 2, "kernel_constraint")
    with pytest.raises(ValueError, match="bias_constraint"):
        constraints._core_spec(lambda w: w, 1, "bias_constraint")
