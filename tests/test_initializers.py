"""Initializers (Keras 3): distributions, Keras defaults, names, seeds.

Statistical tolerances are 5 standard errors of the estimate for the sample size used
(a false failure has probability < 1e-6 per check), computed in each test.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from ranvier import _random, initializers

TRUNC = 0.87962566103423978  # std of N(0,1) truncated at +-2


def _check_mean_std(v, mean, std, n_eff=None):
    n = v.size if n_eff is None else n_eff
    v = v.astype(np.float64)
    # standard error of the mean: std / sqrt(n); of the std: ~ std * sqrt((kurt - 1) / 4n), kurt <= 3 here
    assert abs(v.mean() - mean) < 5 * std / math.sqrt(n) + 1e-12
    assert abs(v.std() - std) < 5 * std * math.sqrt(2.0 / (4 * n)) + 1e-12


SHAPE = (300, 200)  # fan_in 300, fan_out 200, 60000 draws


@pytest.mark.parametrize("name,kind,scale_fn", [
    ("glorot_uniform", "uniform", lambda fi, fo: math.sqrt(6 / (fi + fo))),
    ("he_uniform", "uniform", lambda fi, fo: math.sqrt(6 / fi)),
    ("lecun_uniform", "uniform", lambda fi, fo: math.sqrt(3 / fi)),
    ("glorot_normal", "trunc", lambda fi, fo: math.sqrt(2 / (fi + fo)) / TRUNC),
    ("he_normal", "trunc", lambda fi, fo: math.sqrt(2 / fi) / TRUNC),
    ("lecun_normal", "trunc", lambda fi, fo: math.sqrt(1 / fi) / TRUNC),
])
def test_variance_scaling_presets(name, kind, scale_fn):
    init = initializers.get(name)
    v = init(SHAPE)
    assert v.dtype == np.float32 and v.shape == SHAPE
    s = scale_fn(*SHAPE)
    if kind == "uniform":
        assert v.min() >= -s and v.max() < s
        _check_mean_std(v, 0.0, s / math.sqrt(3))
        # the limit is reached: max within a few expected gaps of it
        assert v.max() > s * (1 - 20 / v.size) and v.min() < -s * (1 - 20 / v.size)
    else:
        assert np.abs(v).max() <= 2 * s * (1 + 1e-6)  # truncated at 2 sigma
        _check_mean_std(v, 0.0, s * TRUNC)
        assert np.abs(v).max() > 1.9 * s  # the tails are there


def test_random_normal_uniform_truncated_defaults():
    n = initializers.RandomNormal()
    assert n.get_config() == {"mean": 0.0, "stddev": 0.05, "seed": None}
    _check_mean_std(n(SHAPE), 0.0, 0.05)
    u = initializers.RandomUniform()
    assert u.get_config() == {"minval": -0.05, "maxval": 0.05, "seed": None}
    v = u(SHAPE)
    assert v.min() >= -0.05 and v.max() < 0.05
    _check_mean_std(v, 0.0, 0.1 / math.sqrt(12))
    t = initializers.TruncatedNormal(mean=1.0, stddev=2.0)
    v = t(SHAPE)
    assert v.min() >= 1.0 - 4.0 and v.max() <= 1.0 + 4.0
    _check_mean_std(v, 1.0, 2.0 * TRUNC)
    _check_mean_std(initializers.RandomNormal(mean=3, stddev=0.5)(SHAPE), 3.0, 0.5)


@pytest.mark.parametrize("mode,dist", [("fan_in", "untruncated_normal"), ("fan_out", "uniform"),
                                       ("fan_avg", "truncated_normal"), ("fan_in", "normal")])
def test_variance_scaling_modes(mode, dist):
    init = initializers.VarianceScaling(scale=2.0, mode=mode, distribution=dist)
    fi, fo = SHAPE
    n = {"fan_in": fi, "fan_out": fo, "fan_avg": (fi + fo) / 2}[mode]
    s = 2.0 / n
    v = init(SHAPE)
    std = math.sqrt(s)  # every distribution is scaled to variance s
    _check_mean_std(v, 0.0, std)
    if dist == "uniform":
        assert np.abs(v).max() <= math.sqrt(3 * s)
    if dist in ("truncated_normal", "normal"):
        assert init.distribution == "truncated_normal"
        assert np.abs(v).max() <= 2 * std / TRUNC * (1 + 1e-6)


def test_fans():
    assert initializers.compute_fans(()) == (1, 1)
    assert initializers.compute_fans((7,)) == (7, 7)
    assert initializers.compute_fans((3, 5)) == (3, 5)
    assert initializers.compute_fans((2, 3, 4, 5)) == (24, 30)
    # small shapes: max(1, n) keeps the scale finite
    v = initializers.HeNormal(seed=0)((1, 1))
    assert np.isfinite(v).all()


def test_constants_identity_orthogonal():
    assert (initializers.get("zeros")((2, 3)) == 0).all()
    assert (initializers.get("ones")((4,)) == 1).all()
    assert (initializers.Constant(2.5)((2, 2)) == 2.5).all()
    np.testing.assert_array_equal(initializers.Identity(gain=3.0)((3, 4)), 3 * np.eye(3, 4))
    with pytest.raises(ValueError, match="2D"):
        initializers.Identity()((3,))
    # an array value broadcasts to the weight's shape (Keras: value * ones(shape))
    np.testing.assert_array_equal(initializers.Constant([1, 2])((3, 2)), np.tile([1.0, 2.0], (3, 1)))
    with pytest.raises(ValueError, match="broadcast"):
        initializers.Constant([1, 2])((2, 3))
    with pytest.raises(ValueError, match="value"):
        initializers.Constant("two")
    for shape in [(10, 4), (4, 10), (7, 7)]:
        q = initializers.Orthogonal(gain=2.0, seed=1)(shape).astype(np.float64)
        small = min(shape)
        gram = q.T @ q if shape[0] >= shape[1] else q @ q.T
        np.testing.assert_allclose(gram, 4 * np.eye(small), atol=1e-5)  # float32 rounding of Q
    with pytest.raises(ValueError, match="rank"):
        initializers.Orthogonal()((5,))


@pytest.mark.parametrize("name", ["glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal",
                                  "lecun_uniform", "random_normal", "random_uniform", "truncated_normal",
                                  "orthogonal", "variance_scaling"])
def test_seeds(name):
    cls = type(initializers.get(name))
    a = cls(seed=42)
    v1, v2 = a((20, 30)), a((20, 30))
    np.testing.assert_array_equal(v1, v2)                        # a seeded initializer repeats (Keras 3)
    np.testing.assert_array_equal(cls(seed=42)((20, 30)), v1)    # same seed, same weights
    assert not np.array_equal(cls(seed=43)((20, 30)), v1)
    u = cls()
    assert not np.array_equal(u((20, 30)), u((20, 30)))          # unseeded draws fresh values
    _random.seed(5)
    w1 = cls()((20, 30))
    _random.seed(5)
    np.testing.assert_array_equal(cls()((20, 30)), w1)           # ... from the global stream


def test_seeded_stream_is_pcg64():
    """Same seed, same weights on every machine: the values are NumPy PCG64's, which are
    specified bit for bit."""
    v = initializers.RandomUniform(-1.0, 1.0, seed=123)((3, 4))
    np.testing.assert_array_equal(v, np.random.Generator(np.random.PCG64(123)).uniform(-1, 1, (3, 4)).astype(np.float32))
    limit = math.sqrt(6 / 7)
    g = initializers.GlorotUniform(seed=9)((3, 4))
    np.testing.assert_array_equal(g, np.random.default_rng(9).uniform(-limit, limit, (3, 4)).astype(np.float32))


def test_names_aliases_and_get():
    for name, cls in [("zero", initializers.Zeros), ("one", initializers.Ones), ("normal", initializers.RandomNormal),
                      ("uniform", initializers.RandomUniform), ("Orthogonal", initializers.Orthogonal),
                      ("OrthogonalInitializer", initializers.Orthogonal), ("GlorotUniform", initializers.GlorotUniform),
                      ("identity", initializers.Identity), ("constant", initializers.Constant)]:
        assert isinstance(initializers.get(name), cls)
    assert initializers.get(None) is None
    assert isinstance(initializers.get(initializers.HeNormal), initializers.HeNormal)
    fn = lambda shape, dtype=None: np.zeros(shape)  # noqa: E731
    assert initializers.get(fn) is fn
    with pytest.raises(ValueError, match=r"glorot_unifrom.*glorot_uniform.*he_normal"):
        initializers.get("glorot_unifrom")
    with pytest.raises(ValueError):
        initializers.get(3.5)


def test_config_round_trip():
    for init in [initializers.VarianceScaling(0.5, "fan_out", "uniform", seed=3), initializers.Orthogonal(2.0, seed=1),
                 initializers.Constant(0.3), initializers.HeUniform(seed=4), initializers.TruncatedNormal(1, 2)]:
        ser = initializers.serialize(init)
        assert ser["module"] == "keras.initializers"
        clone = initializers.get(ser)
        assert type(clone) is type(init) and clone.get_config() == init.get_config()
    assert initializers.serialize(initializers.Orthogonal())["class_name"] == "OrthogonalInitializer"
    # Keras 3.15.1 writes input_axes/output_axes (None) for the VarianceScaling family
    assert initializers.GlorotUniform(seed=2).get_config() == {"seed": 2, "input_axes": None, "output_axes": None}
    with pytest.raises(ValueError, match="input_axes"):
        initializers.HeNormal(input_axes=[0])


def test_variance_scaling_validation():
    with pytest.raises(ValueError, match="scale"):
        initializers.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="mode"):
        initializers.VarianceScaling(mode="fan_sum")
    with pytest.raises(ValueError, match="distribution"):
        initializers.VarianceScaling(distribution="cauchy")
    with pytest.raises(TypeError, match="seed"):
        initializers.GlorotUniform(seed=1.5)
