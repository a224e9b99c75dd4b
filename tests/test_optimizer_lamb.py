"""Lamb (Keras 3's keras.optimizers.Lamb): several steps against the float64 reference
(tests/reference/optimizers.py: Keras's update_step, the trust ratio per tensor) with
every common argument, once per ISA; threads do not change the bits; state, model file
and config round trips; argument checks."""
import copy

import numpy as np
import pytest

import ranvier
from ranvier import optimizers as O
from ranvier.optimizers import schedules as S
from reference import optimizers as R
from test_optimizers import RTOL, ATOL, check_against_reference, run_pair

# Tolerances: those of tests/test_optimizers.py (float32 steps against a float64 reference
# from the same float32 start, 20 steps). The trust ratio is a ratio of two float32 norms
# summed per block of 2048 in float32 and across blocks in double: its relative error is a
# few ulps (~1e-7 * sqrt(1031) at worst for these sizes), inside the same rtol.

CASES = [
    ("lamb", {}),
    ("lamb_lr", dict(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6)),
    ("lamb_weight_decay", dict(learning_rate=0.01, weight_decay=0.1)),
    ("lamb_clipnorm", dict(clipnorm=1.0)),
    ("lamb_global_clipnorm", dict(global_clipnorm=2.0)),
    ("lamb_clipvalue", dict(clipvalue=0.5)),
    ("lamb_ema", dict(use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=5)),
    ("lamb_accumulation", dict(gradient_accumulation_steps=3, learning_rate=0.01)),
    ("lamb_loss_scale", dict(loss_scale_factor=64.0)),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_lamb_follows_the_float64_reference(isa, case):
    _, kwargs = case
    opt, ref, w0, w, wr = run_pair(O.Lamb, kwargs, None)
    check_against_reference(opt, ref, w0, w, wr)


def test_lamb_schedule_and_weight_decay_exclusion(isa):
    kwargs = dict(learning_rate=S.ExponentialDecay(0.01, 7, 0.5), weight_decay=0.2)
    ref_kwargs = dict(learning_rate=lambda step: R.exponential_decay(step, 0.01, 7, 0.5), weight_decay=0.2)
    opt, ref, w0, w, wr = run_pair(O.Lamb, kwargs, ref_kwargs, exclude=["bias"])
    check_against_reference(opt, ref, w0, w, wr)


def test_lamb_trust_ratio_is_one_for_a_zero_tensor(isa):
    # w = 0: Keras's ratio is 1 on the first step, so that step is lr * update (the
    # first update is g/(|g| + eps), about sign(g)).
    w = [np.zeros(37, np.float32), np.full(5, 2.0, np.float32)]
    g = [np.linspace(-1, 1, 37).astype(np.float32), np.ones(5, np.float32)]
    opt = O.Lamb(learning_rate=0.1)
    ref = R.RefOptimizer("lamb", learning_rate=0.1)
    wr = [x.astype(np.float64) for x in w]
    for step in range(3):
        opt.apply(g, w)
        ref.apply(g, wr)
        if step == 0:
            np.testing.assert_allclose(w[0], -0.1 * np.sign(g[0]), rtol=1e-5, atol=1e-6)
    for a, b in zip(w, wr):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    # the second tensor: u = 1 in every element (a constant gradient), so |w|/|u| = w and
    # each step is w -= 0.1 * w: 2 * 0.9**3 after three steps
    np.testing.assert_allclose(w[1], 2.0 * 0.9 ** 3, rtol=1e-5)


def test_lamb_gradient_absent_for_one_tensor_leaves_it_alone():
    w = [np.ones(4, np.float32), np.ones(3, np.float32)]
    opt = O.Lamb(learning_rate=0.1)
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply([np.ones(4, np.float32), None], w)
    np.testing.assert_array_equal(w[1], np.ones(3, np.float32))
    assert not np.array_equal(w[0], np.ones(4, np.float32))
    assert np.all(opt.get_state()["slots"]["momentum"][4:] == 0)


@pytest.mark.skipif(not ranvier.build_info()["openmp"], reason="serial build: one thread only")
def test_lamb_one_and_two_threads_bitwise_identical(isa):
    rng = np.random.default_rng(3)
    sizes = [1, 33, 300_001, 65_536, 3]
    n = sum(sizes) + 4
    segs, off = [], 2
    for s in sizes:
        segs.append((off, s, f"t{off}"))
        off += s
    w0 = rng.standard_normal(n).astype(np.float32)
    gs = [rng.standard_normal(n).astype(np.float32) for _ in range(3)]
    results = []
    try:
        for threads in (1, 2):
            ranvier.set_num_threads(threads)
            opt = O.Lamb(weight_decay=0.01, clipnorm=5.0)
            opt.build(n, segs)
            w = w0.copy()
            for g in gs:
                opt._core.apply(w, g.copy())
            results.append((w, opt.get_state()))
    finally:
        ranvier.set_num_threads(0)
    (w1, s1), (w2, s2) = results
    np.testing.assert_array_equal(w1, w2)
    for k in s1["slots"]:
        np.testing.assert_array_equal(s1["slots"][k], s2["slots"][k])
    np.testing.assert_array_equal(w1[:2], w0[:2])
    np.testing.assert_array_equal(w1[-2:], w0[-2:])
    assert not np.array_equal(w1, w0)


def test_lamb_state_round_trip_resumes_exactly():
    rng = np.random.default_rng(8)
    w = [rng.standard_normal(s).astype(np.float32) for s in [(7,), (3, 11)]]
    grads = [[rng.standard_normal(x.shape).astype(np.float32) for x in w] for _ in range(12)]
    w_a = [x.copy() for x in w]
    a = O.Lamb(use_ema=True)
    for g in grads:
        a.apply(g, w_a)
    w_b = [x.copy() for x in w]
    b = O.Lamb(use_ema=True)
    for g in grads[:5]:
        b.apply(g, w_b)
    c = O.Lamb(use_ema=True)
    c.build(w_b)
    c.set_state(b.get_state())
    for g in grads[5:]:
        c.apply(g, w_b)
    for x, y in zip(w_a, w_b):
        np.testing.assert_array_equal(x, y)
    assert sorted(a.get_state()["slots"]) == ["average", "momentum", "velocity"]


def _data(n=96, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(np.float32), rng.integers(0, k, n)


def _model(optimizer, seed=1):
    ranvier.utils.set_random_seed(seed)
    m = ranvier.Sequential([ranvier.Input(shape=(6,)), ranvier.layers.Dense(16, activation="relu"),
                            ranvier.layers.Dense(3, activation="softmax")])
    m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


@pytest.mark.parametrize("optimizer", [
    "lamb", {"class_name": "Lamb", "config": {"learning_rate": 0.01, "beta_1": 0.8, "weight_decay": 0.01,
                                              "clipnorm": 1.0}},
])  # (not use_ema: fit ends by overwriting the weights with their average, as Keras does)
def test_lamb_model_file_resumes_exactly(tmp_path, optimizer):
    x, y = _data()
    a = _model(copy.deepcopy(optimizer))
    a.fit(x, y, epochs=3, batch_size=16, verbose=0)
    b = _model(copy.deepcopy(optimizer))
    b.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "lamb.safetensors"
    b.save(path)
    c = ranvier.models.load_model(path)
    assert type(c.optimizer) is O.Lamb
    assert c.optimizer.get_config() == b.optimizer.get_config()
    c.fit(x, y, epochs=1, batch_size=16, verbose=0)
    for wa, wc in zip(a.get_weights(), c.get_weights()):
        np.testing.assert_array_equal(wa, wc)
    assert c.optimizer.iterations == a.optimizer.iterations == 18


def test_lamb_model_file_predicts_bit_identically(tmp_path):
    x, y = _data()
    m = _model(O.Lamb(learning_rate=0.02, beta_2=0.99, epsilon=1e-6))
    m.fit(x, y, epochs=1, batch_size=32, verbose=0)
    path = tmp_path / "lamb.safetensors"
    m.save(path)
    loaded = ranvier.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), m.predict(x, verbose=0))


def test_lamb_config_round_trip_and_lookups():
    opt = O.Lamb(learning_rate=0.01, beta_1=0.8, beta_2=0.95, epsilon=1e-6, weight_decay=0.1, clipnorm=1.0,
                 name="my_lamb")
    cfg = opt.get_config()
    assert cfg["beta_1"] == 0.8 and cfg["beta_2"] == 0.95 and cfg["epsilon"] == 1e-6
    assert cfg["learning_rate"] == pytest.approx(0.01) and cfg["name"] == "my_lamb"
    again = O.Lamb.from_config(cfg)
    assert again.get_config() == cfg
    ser = O.serialize(opt)
    assert ser["class_name"] == "Lamb"
    assert O.deserialize(ser).get_config() == cfg
    assert isinstance(O.get("lamb"), O.Lamb) and isinstance(O.get("Lamb"), O.Lamb)
    d = O.Lamb().get_config()
    assert (d["learning_rate"], d["beta_1"], d["beta_2"], d["epsilon"]) == (
        pytest.approx(0.001), 0.9, 0.999, 1e-7)
    assert d["name"].startswith("lamb")


@pytest.mark.parametrize("kwargs,arg", [
    (dict(beta_1=1.5), "beta_1"), (dict(beta_2=-0.1), "beta_2"), (dict(epsilon=-1.0), "epsilon"),
    (dict(learning_rate=1), "learning_rate"), (dict(amsgrad=True), "amsgrad"),
])
def test_lamb_invalid_arguments_name_the_argument(kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        O.Lamb(**kwargs)
