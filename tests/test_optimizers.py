"""Optimizers: 20 steps follow the float64 Keras reference (tests/reference/optimizers.py)
for every optimizer and option, once per ISA; threads do not change results; state
round-trips exactly; invalid arguments raise ValueError naming the argument."""
import math
import warnings

import numpy as np
import pytest

import ranvier
from ranvier import optimizers as O
from ranvier.optimizers import schedules as S
from reference import optimizers as R

# Several tensors of awkward sizes: 1, 7, 33 (as 3x11) and 1031 elements, so every kernel
# runs whole registers, masked tails and one-element ranges.
SIZES = [(1,), (7,), (3, 11), (1031,)]
NAMES = ["dense/bias_a", "dense/kernel", "dense_1/kernel", "dense_1/bias"]
STEPS = 20

# Tolerance. The C++ step runs in float32 (each op rounds at ~6e-8 relative) against a
# float64 reference from the same float32 starting point. Weights are O(1) and each step
# moves them by O(lr); over 20 steps the float32 rounding of w itself accumulates to
# about 20 * 6e-8 * |w| ~ 1.2e-6 |w|, and the update's own relative error (a few ulps of
# lr-sized terms) adds far less. Hence rtol 1e-5 (a ~8x margin) and atol 1e-6 for
# weights near zero. Slots are compared relative to their largest magnitude with the
# same 1e-5.
RTOL, ATOL = 1e-5, 1e-6


def problem(seed=0, steps=STEPS, sizes=SIZES, gscale=1.0):
    rng = np.random.default_rng(seed)
    w = [rng.standard_normal(s).astype(np.float32) for s in sizes]
    grads = [[(gscale * rng.standard_normal(s)).astype(np.float32) for s in sizes] for _ in range(steps)]
    return w, grads


def expo(step):
    return R.exponential_decay(step, 0.01, 7, 0.5)


def cosine_warm(step):
    return R.cosine_decay(step, 0.0, 10, alpha=0.1, warmup_target=0.01, warmup_steps=5)


def piecewise(step):
    return R.piecewise_constant_decay(step, [4, 9], [0.01, 0.005, 0.001])


# id, class, ranvier kwargs, reference kwargs (None: same as ranvier's)
CASES = [
    ("sgd", O.SGD, {}, None),
    ("sgd_momentum", O.SGD, dict(momentum=0.9), None),
    ("sgd_nesterov", O.SGD, dict(momentum=0.9, nesterov=True), None),
    ("sgd_weight_decay", O.SGD, dict(momentum=0.5, weight_decay=0.1), None),
    ("rmsprop", O.RMSprop, {}, None),
    ("rmsprop_momentum", O.RMSprop, dict(momentum=0.9), None),
    ("rmsprop_centered", O.RMSprop, dict(centered=True), None),
    ("rmsprop_centered_momentum", O.RMSprop, dict(centered=True, momentum=0.5, rho=0.8), None),
    ("adagrad", O.Adagrad, dict(learning_rate=0.01), None),
    ("adadelta", O.Adadelta, dict(learning_rate=1.0), None),
    ("adam", O.Adam, {}, None),
    ("adam_amsgrad", O.Adam, dict(amsgrad=True, beta_2=0.9), None),
    ("adamw", O.AdamW, dict(weight_decay=0.5), None),
    ("adamw_amsgrad", O.AdamW, dict(amsgrad=True), None),
    ("adamax", O.Adamax, {}, None),
    ("nadam", O.Nadam, {}, None),
    ("lion", O.Lion, {}, None),
    ("ftrl", O.Ftrl, dict(learning_rate=0.1), None),
    ("ftrl_regularized", O.Ftrl, dict(learning_rate=0.1, l1_regularization_strength=0.01,
                                      l2_regularization_strength=0.02,
                                      l2_shrinkage_regularization_strength=0.03, beta=0.5), None),
    ("ftrl_power", O.Ftrl, dict(learning_rate=0.1, learning_rate_power=-0.7), None),
    ("ftrl_power0", O.Ftrl, dict(learning_rate=0.1, learning_rate_power=0.0, initial_accumulator_value=0.5), None),
    ("adam_clipnorm", O.Adam, dict(clipnorm=1.0), None),
    ("sgd_clipnorm", O.SGD, dict(clipnorm=2.0, momentum=0.9), None),
    ("sgd_global_clipnorm", O.SGD, dict(global_clipnorm=3.0), None),
    ("adam_global_clipnorm", O.Adam, dict(global_clipnorm=3.0), None),
    ("rmsprop_clipvalue", O.RMSprop, dict(clipvalue=0.5), None),
    ("sgd_clipvalue", O.SGD, dict(clipvalue=0.3, momentum=0.9), None),
    ("adam_weight_decay", O.Adam, dict(weight_decay=0.3), None),
    ("adam_exponential_decay", O.Adam, dict(learning_rate=S.ExponentialDecay(0.01, 7, 0.5)),
     dict(learning_rate=expo)),
    ("sgd_cosine_warmup", O.SGD, dict(learning_rate=S.CosineDecay(0.0, 10, alpha=0.1, warmup_target=0.01,
                                                                 warmup_steps=5), momentum=0.9, weight_decay=0.2),
     dict(learning_rate=cosine_warm, momentum=0.9, weight_decay=0.2)),
    ("rmsprop_piecewise", O.RMSprop, dict(learning_rate=S.PiecewiseConstantDecay([4, 9], [0.01, 0.005, 0.001])),
     dict(learning_rate=piecewise)),
    ("adam_ema", O.Adam, dict(use_ema=True, ema_momentum=0.9), None),
    ("sgd_ema_overwrite", O.SGD, dict(use_ema=True, ema_momentum=0.8, ema_overwrite_frequency=5, momentum=0.5),
     None),
    ("sgd_accumulation", O.SGD, dict(momentum=0.9, gradient_accumulation_steps=3), None),
    ("adam_accumulation", O.Adam, dict(gradient_accumulation_steps=4, clipnorm=1.0), None),
    ("nadam_accumulation_ema", O.Nadam, dict(gradient_accumulation_steps=2, use_ema=True,
                                             ema_overwrite_frequency=3), None),
    ("adam_accumulation_schedule", O.Adam, dict(gradient_accumulation_steps=3,
                                                learning_rate=S.ExponentialDecay(0.01, 7, 0.5)),
     dict(gradient_accumulation_steps=3, learning_rate=expo)),
    ("adam_loss_scale", O.Adam, dict(loss_scale_factor=128.0), None),
    ("lion_weight_decay", O.Lion, dict(weight_decay=0.5, learning_rate=0.01), None),
]


def run_pair(cls, kwargs, ref_kwargs, seed=0, gscale=1.0, exclude=None):
    w, grads = problem(seed, gscale=gscale)
    w0 = [x.copy() for x in w]
    opt = cls(**kwargs)
    ref = R.RefOptimizer(opt._kind, names=NAMES, exclude_names=exclude,
                         **(ref_kwargs if ref_kwargs is not None else kwargs))
    wr = [x.astype(np.float64) for x in w]
    if exclude:
        opt.exclude_from_weight_decay(var_names=exclude)
    # give the arrays names through a thin wrapper so exclusion by name can be tested
    for step in range(STEPS):
        if exclude:
            if step == 0:
                vars_ = [_NamedVar(x, n) for x, n in zip(w, NAMES)]
            opt.apply(grads[step], vars_)
        else:
            opt.apply(grads[step], w)
        ref.apply(grads[step], wr)
    if exclude:
        w = [v.value for v in vars_]
    return opt, ref, w0, w, wr


class _NamedVar:
    """A minimal Keras-like variable (numpy(), assign(), name)."""

    def __init__(self, value, name):
        self.value = value.copy()
        self.name = name

    def numpy(self):
        return self.value

    def assign(self, v):
        self.value = np.asarray(v, dtype=np.float32).reshape(self.value.shape).copy()


def check_against_reference(opt, ref, w0, w, wr):
    for i, (a, b) in enumerate(zip(w, wr)):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL, err_msg=f"weights of tensor {i}")
    # the test must be able to fail: the weights moved far more than the tolerance
    moved = max(float(np.max(np.abs(a.astype(np.float64) - b))) for a, b in zip(w, w0))
    assert moved > 100 * ATOL, f"weights barely moved ({moved}); the case tests nothing"
    assert opt.iterations == ref.iterations
    state = opt.get_state()
    assert set(state["slots"]) == set(ref.slots), (sorted(state["slots"]), sorted(ref.slots))
    offsets = np.cumsum([0] + [int(np.prod(s)) for s in SIZES])
    for name, parts in ref.slots.items():
        flat_ref = np.concatenate([p.reshape(-1) for p in parts])
        got = state["slots"][name][: offsets[-1]]
        scale = max(float(np.max(np.abs(flat_ref))), 1e-30)
        np.testing.assert_allclose(got, flat_ref, rtol=RTOL, atol=RTOL * scale, err_msg=f"slot {name}")
    if ref.kind == "nadam":
        assert state["scalars"]["u_product"] == pytest.approx(ref.u_product, rel=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_matches_keras_reference(isa, case):
    _, cls, kwargs, ref_kwargs = case
    opt, ref, w0, w, wr = run_pair(cls, kwargs, ref_kwargs)
    check_against_reference(opt, ref, w0, w, wr)


def test_weight_decay_exclusion_by_name(isa):
    opt, ref, w0, w, wr = run_pair(O.AdamW, dict(weight_decay=0.5), None, exclude=["bias"])
    check_against_reference(opt, ref, w0, w, wr)
    # and the exclusion mattered: without it the biases end elsewhere
    opt2, _, _, w2, _ = run_pair(O.AdamW, dict(weight_decay=0.5), None)
    assert not np.allclose(w[0], w2[0], rtol=1e-4)
    np.testing.assert_array_equal(w[2], w2[2])  # "dense_1/kernel" is decayed in both


def test_weight_decay_exclusion_by_variable():
    w, grads = problem(3)
    opt = O.SGD(weight_decay=0.5)
    opt.exclude_from_weight_decay(var_list=[w[1]])
    ref = R.RefOptimizer("sgd", names=["a", "x", "b", "c"], exclude_names=["x"], weight_decay=0.5)
    wr = [x.astype(np.float64) for x in w]
    for g in grads:
        opt.apply(g, w)
        ref.apply(g, wr)
    for a, b in zip(w, wr):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match="before the optimizer is built"):
        opt.exclude_from_weight_decay(var_names=["bias"])


def test_python_learning_rate_callable_and_user_schedule():
    class Halving(S.LearningRateSchedule):
        def __call__(self, step):
            return 0.01 / (1 + step)

        def get_config(self):
            return {}

    w, grads = problem(5)
    w2 = [x.copy() for x in w]
    o1 = O.Adam(learning_rate=Halving())
    assert o1._needs_python_lr()
    o2 = O.SGD(learning_rate=lambda: 0.02, momentum=0.9)
    assert o2._needs_python_lr()
    r1 = R.RefOptimizer("adam", learning_rate=lambda s: 0.01 / (1 + s))
    r2 = R.RefOptimizer("sgd", learning_rate=lambda s: float(np.float32(0.02)), momentum=0.9)
    wr1 = [x.astype(np.float64) for x in w]
    wr2 = [x.astype(np.float64) for x in w]
    for g in grads:
        o1.apply(g, w)
        o2.apply(g, w2)
        r1.apply(g, wr1)
        r2.apply(g, wr2)
    for a, b in zip(w, wr1):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    for a, b in zip(w2, wr2):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)
    assert o1.learning_rate == pytest.approx(0.01 / 21, rel=1e-6)
    assert o1._python_lr(3) == pytest.approx(0.0025, rel=1e-6)


def test_builtin_schedule_runs_in_cpp():
    opt = O.Adam(learning_rate=S.ExponentialDecay(0.01, 7, 0.5))
    assert not opt._needs_python_lr()
    w, grads = problem(1)
    for g in grads[:9]:
        opt.apply(g, w)
    assert opt.learning_rate == pytest.approx(float(np.float32(0.01 * 0.5 ** (9 / 7))), rel=1e-7)
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        opt.learning_rate = 0.1


def test_learning_rate_and_iterations_read_write():
    opt = O.Adam()
    assert opt.learning_rate == 0.0010000000474974513  # the float32 value, as Keras reads it back
    opt.learning_rate = 0.5
    assert opt.learning_rate == 0.5
    w, grads = problem(2)
    opt.apply(grads[0], w)
    assert opt.iterations == 1
    opt.iterations = 10
    assert opt.iterations == 10
    with pytest.raises(ValueError, match="iterations"):
        opt.iterations = -1
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate = -1.0
    acc = O.SGD(gradient_accumulation_steps=4)
    acc.build(3)
    acc._core.apply(np.zeros(3, np.float32), np.ones(3, np.float32))
    assert acc.iterations == 0 and acc._core.raw_iterations == 1


def test_iterations_drive_bias_correction():
    """Setting iterations moves Adam's bias correction like Keras's assign."""
    w, grads = problem(4)
    opt = O.Adam(learning_rate=0.1)
    opt.build(sum(x.size for x in w))
    opt.iterations = 9
    ref = R.RefOptimizer("adam", learning_rate=0.1)
    ref.raw = 9
    flat = np.concatenate([x.reshape(-1) for x in w])
    gflat = np.concatenate([x.reshape(-1) for x in grads[0]])
    wr = [flat.astype(np.float64)]
    opt._core.apply(flat, gflat.copy())
    ref.apply([gflat], wr)
    np.testing.assert_allclose(flat, wr[0], rtol=RTOL, atol=ATOL)
    assert opt.iterations == 10


def test_none_gradients_are_skipped(isa):
    w, grads = problem(6)
    wr = [x.astype(np.float64) for x in w]
    opt = O.Adam(learning_rate=0.01, use_ema=True)
    ref = R.RefOptimizer("adam", learning_rate=0.01, use_ema=True)
    opt.apply(grads[0], w)
    ref.apply(grads[0], wr)
    g1 = list(grads[1])
    g1[2] = None
    before = w[2].copy()
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        opt.apply(g1, w)
    np.testing.assert_array_equal(w[2], before)
    # the reference: the same step on the other tensors only
    sub = [0, 1, 3]
    ref2 = R.RefOptimizer("adam", learning_rate=0.01)
    ref2.slots = {k: [v[i] for i in sub] for k, v in ref.slots.items() if k != "average"}
    ref2.raw = ref.raw
    wsub = [wr[i] for i in sub]
    ref2.apply([g1[i] for i in sub], wsub)
    for i in sub:
        np.testing.assert_allclose(w[i], wr[i], rtol=RTOL, atol=ATOL)
    with pytest.raises(ValueError, match="No gradients"):
        opt.apply([None] * 4, w)


def test_finalize_ema():
    w, grads = problem(7)
    wr = [x.astype(np.float64) for x in w]
    opt = O.SGD(momentum=0.9, use_ema=True, ema_momentum=0.7)
    ref = R.RefOptimizer("sgd", momentum=0.9, use_ema=True, ema_momentum=0.7)
    for g in grads:
        opt.apply(g, w)
        ref.apply(g, wr)
    opt.finalize_variable_values(w)
    for a, b in zip(w, ref.slots["average"]):
        np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL)


# ------------------------------------------------------------------ threads
THREAD_CASES = [
    ("adam_clipnorm", O.Adam, dict(clipnorm=5.0, weight_decay=0.1, use_ema=True)),
    ("sgd_global_clipnorm", O.SGD, dict(global_clipnorm=10.0, momentum=0.9)),
    ("rmsprop_centered_clipvalue", O.RMSprop, dict(centered=True, momentum=0.5, clipvalue=0.5)),
    ("nadam_accumulation", O.Nadam, dict(gradient_accumulation_steps=2)),
    ("ftrl_power", O.Ftrl, dict(learning_rate_power=-0.7, l1_regularization_strength=0.01)),
    ("lion", O.Lion, {}),
    ("adadelta", O.Adadelta, {}),
    ("adagrad", O.Adagrad, {}),
    ("adamax", O.Adamax, {}),
]


@pytest.mark.skipif(not ranvier.build_info()["openmp"], reason="serial build: one thread only")
@pytest.mark.parametrize("case", THREAD_CASES, ids=[c[0] for c in THREAD_CASES])
def test_one_and_two_threads_bitwise_identical(isa, case):
    _, cls, kwargs = case
    rng = np.random.default_rng(11)
    sizes = [1, 7, 33, 1031, 300_001, 65_536, 3]  # far above the parallel threshold
    n = sum(sizes) + 5
    segs, off = [], 2  # a gap before and after: untouched elements
    for s in sizes:
        segs.append((off, s, f"t{off}"))
        off += s
    w0 = rng.standard_normal(n).astype(np.float32)
    gs = [rng.standard_normal(n).astype(np.float32) for _ in range(4)]
    results = []
    try:
        for threads in (1, 2):
            ranvier.set_num_threads(threads)
            opt = cls(**kwargs)
            opt.build(n, segs)
            w = w0.copy()
            for g in gs:
                opt._core.apply(w, g.copy())
            results.append((w, opt.get_state()))
    finally:
        ranvier.set_num_threads(0)  # back to the default (OpenMP's limit)
    (w1, s1), (w2, s2) = results
    np.testing.assert_array_equal(w1, w2)
    for k in s1["slots"]:
        np.testing.assert_array_equal(s1["slots"][k], s2["slots"][k])
    np.testing.assert_array_equal(w1[:2], w0[:2])  # the gap is never written
    np.testing.assert_array_equal(w1[-3:], w0[-3:])
    assert not np.array_equal(w1, w0)


# ------------------------------------------------------------------ state
STATE_CASES = [
    ("adam_ema_accumulation", O.Adam, dict(use_ema=True, gradient_accumulation_steps=3)),
    ("nadam", O.Nadam, {}),
    ("rmsprop_centered_momentum", O.RMSprop, dict(centered=True, momentum=0.9)),
    ("ftrl", O.Ftrl, {}),
    ("sgd_schedule", O.SGD, dict(momentum=0.9, learning_rate=S.CosineDecayRestarts(0.01, 3))),
]


@pytest.mark.parametrize("case", STATE_CASES, ids=[c[0] for c in STATE_CASES])
def test_state_round_trip_resumes_exactly(case):
    _, cls, kwargs = case
    w, grads = problem(8)
    w_a = [x.copy() for x in w]
    a = cls(**kwargs)
    for g in grads:
        a.apply(g, w_a)
    # the same run, interrupted after 7 steps and resumed in a fresh optimizer
    w_b = [x.copy() for x in w]
    b = cls(**kwargs)
    for g in grads[:7]:
        b.apply(g, w_b)
    state = b.get_state()
    c = cls(**kwargs)
    c.build(w_b)
    c.set_state(state)
    assert c.iterations == b.iterations
    for g in grads[7:]:
        c.apply(g, w_b)
    for x, y in zip(w_a, w_b):
        np.testing.assert_array_equal(x, y)
    with pytest.raises(ValueError, match="slot names differ"):
        c.set_state({"slots": {"nope": np.zeros(3)}})


def test_state_restores_into_a_model_style_build():
    w, grads = problem(8)
    flat = np.concatenate([x.reshape(-1) for x in w])
    segs = [(0, 1), (1, 7), (8, 33), (41, 1031)]
    a, b = O.Adam(use_ema=True), O.Adam(use_ema=True)
    a.build(flat.size, segs)
    wa = flat.copy()
    for g in grads[:5]:
        a._core.apply(wa, np.concatenate([x.reshape(-1) for x in g]))
    b.build(flat.size, segs)
    b.set_state(a.get_state())
    wb = wa.copy()
    for g in grads[5:]:
        gf = np.concatenate([x.reshape(-1) for x in g])
        a._core.apply(wa, gf.copy())
        b._core.apply(wb, gf.copy())
    np.testing.assert_array_equal(wa, wb)


def test_state_requires_build():
    with pytest.raises(ValueError, match="build"):
        O.Adam().set_state({"iterations": 3, "slots": {}})


# ------------------------------------------------------------------ validation
INVALID = [
    (O.Adam, dict(learning_rate=1), "learning_rate"),
    (O.SGD, dict(learning_rate=-0.1), "learning_rate"),
    (O.Adam, dict(learning_rate="fast"), "learning_rate"),
    (O.Adam, dict(learning_rate=float("nan")), "learning_rate"),
    (O.Adam, dict(lr=0.1), "lr"),
    (O.Adam, dict(betta_1=0.1), "betta_1"),
    (O.SGD, dict(momentum=0), "momentum"),
    (O.SGD, dict(momentum=1.5), "momentum"),
    (O.SGD, dict(momentum=-0.1), "momentum"),
    (O.RMSprop, dict(rho=1.5), "rho"),
    (O.RMSprop, dict(rho=-0.1), "rho"),
    (O.RMSprop, dict(momentum=2.0), "momentum"),
    (O.RMSprop, dict(epsilon=-1e-7), "epsilon"),
    (O.Adadelta, dict(rho=1.01), "rho"),
    (O.Adam, dict(beta_1=1.1), "beta_1"),
    (O.Adam, dict(beta_2=-0.5), "beta_2"),
    (O.Adamax, dict(beta_1=2.0), "beta_1"),
    (O.Nadam, dict(beta_2=1.5), "beta_2"),
    (O.Adagrad, dict(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    (O.Lion, dict(beta_1=0.0), "beta_1"),
    (O.Lion, dict(beta_2=1.5), "beta_2"),
    (O.Ftrl, dict(learning_rate_power=0.5), "learning_rate_power"),
    (O.Ftrl, dict(l1_regularization_strength=-1.0), "l1_regularization_strength"),
    (O.Ftrl, dict(l2_regularization_strength=-1.0), "l2_regularization_strength"),
    (O.Ftrl, dict(l2_shrinkage_regularization_strength=-1.0), "l2_shrinkage_regularization_strength"),
    (O.Ftrl, dict(initial_accumulator_value=-0.1), "initial_accumulator_value"),
    (O.Adam, dict(clipnorm=1.0, clipvalue=1.0), "clipnorm"),
    (O.Adam, dict(clipnorm=1.0, global_clipnorm=1.0), "global_clipnorm"),
    (O.Adam, dict(clipnorm=-1.0), "clipnorm"),
    (O.Adam, dict(weight_decay=-0.1), "weight_decay"),
    (O.AdamW, dict(weight_decay=None), "weight_decay"),
    (O.Adam, dict(gradient_accumulation_steps=1), "gradient_accumulation_steps"),
    (O.Adam, dict(gradient_accumulation_steps=2.5), "gradient_accumulation_steps"),
    (O.Adam, dict(use_ema=True, ema_momentum=1.5), "ema_momentum"),
    (O.Adam, dict(use_ema=True, ema_overwrite_frequency=0.5), "ema_overwrite_frequency"),
    (O.Adam, dict(loss_scale_factor=0.0), "loss_scale_factor"),
    (O.SGD, dict(nesterov="yes"), "nesterov"),
]


@pytest.mark.parametrize("cls,kwargs,arg", INVALID, ids=[f"{c.__name__}-{a}-{i}" for i, (c, _, a) in
                                                          enumerate(INVALID)])
def test_invalid_arguments_raise_value_error_naming_them(cls, kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        cls(**kwargs)


def test_decay_argument_is_ignored_with_a_warning():
    with pytest.warns(UserWarning, match="decay"):
        O.Adam(decay=0.1)


def test_cpp_validates_too():
    cfg = ranvier._core.optimizer_keras_defaults(ranvier._core.OptimizerKind.rmsprop)
    cfg.rho = 2.0
    with pytest.raises(ValueError, match="rho"):
        ranvier._core.Optimizer(cfg)


# ------------------------------------------------------------------ registry and config
@pytest.mark.parametrize("name,cls", [("sgd", O.SGD), ("rmsprop", O.RMSprop), ("adam", O.Adam),
                                      ("adamw", O.AdamW), ("adagrad", O.Adagrad), ("adadelta", O.Adadelta),
                                      ("adamax", O.Adamax), ("nadam", O.Nadam), ("ftrl", O.Ftrl),
                                      ("lion", O.Lion), ("Adam", O.Adam), ("RMSprop", O.RMSprop)])
def test_get_by_name(name, cls):
    opt = O.get(name)
    assert type(opt) is cls
    assert opt.get_config() == cls().get_config() | {"name": opt.name}


def test_get_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="adam.*sgd"):
        O.get("adamm")
    with pytest.raises(ValueError):
        O.get(3)
    assert O.get(None) is None


def test_defaults_and_names():
    assert O.SGD().learning_rate == float(np.float32(0.01))
    assert O.Adadelta().get_config()["rho"] == 0.95
    assert O.Lion().get_config()["beta_2"] == 0.99
    assert O.AdamW().get_config()["weight_decay"] == 0.004
    assert O.Adagrad().get_config()["initial_accumulator_value"] == 0.1
    assert O.Ftrl().get_config()["learning_rate_power"] == -0.5
    assert O.Adam(name="mine").name == "mine"
    assert O.RMSprop().name.startswith("rm_sprop")
    assert O.Adam().beta_1 == 0.9


@pytest.mark.parametrize("opt", [
    O.SGD(momentum=0.9, nesterov=True, clipnorm=1.0),
    O.RMSprop(centered=True, use_ema=True, ema_overwrite_frequency=3),
    O.AdamW(weight_decay=0.01, amsgrad=True, gradient_accumulation_steps=2),
    O.Ftrl(l1_regularization_strength=0.1, beta=0.2),
    O.Adam(learning_rate=S.CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=10)),
    O.Nadam(learning_rate=S.PiecewiseConstantDecay([10, 20], [0.1, 0.01, 0.001]), global_clipnorm=2.0),
], ids=lambda o: type(o).__name__)
def test_serialize_round_trip(opt):
    cfg = O.serialize(opt)
    assert cfg["class_name"] == type(opt).__name__
    again = O.deserialize(cfg)
    assert type(again) is type(opt)
    assert again.get_config() == opt.get_config()
    from_cfg = type(opt).from_config(opt.get_config())
    assert from_cfg.get_config() == opt.get_config()
    assert O.get(cfg).get_config() == opt.get_config()
    assert O.get(opt) is opt


def test_keras_style_config_dict():
    opt = O.get({"class_name": "Adam", "config": {"learning_rate": 0.01, "beta_1": 0.8}})
    assert opt.learning_rate == float(np.float32(0.01)) and opt.beta_1 == 0.8
    assert O.deserialize({"class_name": "sgd", "config": {"momentum": 0.5}}).momentum == 0.5


def test_variables_and_state_layout():
    opt = O.Adam(amsgrad=True, use_ema=True)
    w, grads = problem(9)
    opt.apply(grads[0], w)
    state = opt.get_state()
    assert list(state["slots"]) == ["momentum", "velocity", "velocity_hat", "average"]
    assert state["iterations"] == 1 and state["learning_rate"] == opt.learning_rate
    # Keras 3.15's optimizer.variables: iteration, learning_rate, then per Keras
    # add_variable call one slot per variable with its shape (EMA averages first, then
    # momentum/velocity interleaved per variable, then velocity_hat), named <variable>_<slot>
    variables = opt.variables
    n = len(SIZES)
    assert len(variables) == 2 + 4 * n
    assert [v.name for v in variables[:2]] == ["iteration", "learning_rate"]
    assert variables[0].dtype == np.int64 and variables[1].dtype == np.float32
    expected = ([("average", s) for s in SIZES] + [(k, s) for s in SIZES for k in ("momentum", "velocity")]
                + [("velocity_hat", s) for s in SIZES])
    assert [(v.name.rsplit("_", 1)[-1] if not v.name.endswith("velocity_hat") else "velocity_hat", v.shape)
            for v in variables[2:]] == [(k, s) for k, s in expected]
    off = 0
    for v, s in zip(variables[2:2 + n], SIZES):  # live views of the flat state buffers
        size = int(np.prod(s))
        np.testing.assert_array_equal(np.asarray(v).reshape(-1), state["slots"]["average"][off:off + size])
        off += size
    assert O.Nadam().get_state()["scalars"] == {"u_product": 1.0}


def test_apply_checks_inputs():
    opt = O.SGD()
    w = [np.zeros(3, np.float32)]
    with pytest.raises(TypeError, match="float32"):
        opt.apply([np.ones(3)], [np.zeros(3)])
    with pytest.raises(ValueError, match="shape"):
        opt.apply([np.ones(4, np.float32)], w)
    opt.apply([np.ones(3, np.float32)], w)
    with pytest.raises(ValueError, match="Unknown variable"):
        opt.apply([np.ones(3, np.float32)], [np.zeros(3, np.float32)])
    assert opt.apply_gradients(zip([np.ones(3, np.float32)], w)) == 2


def test_build_rejects_bad_segments():
    opt = O.Adam()
    with pytest.raises(ValueError, match="outside"):
        opt.build(10, [(0, 5), (5, 6)])
    with pytest.raises(ValueError, match="overlaps"):
        opt.build(10, [(0, 5), (4, 3)])
    opt.build(10, [(0, 5), (5, 5)])
    assert opt.built


def test_apply_without_build_is_an_error():
    with pytest.raises(RuntimeError, match="build"):
        O.Adam()._core.apply(np.zeros(0, np.float32), np.zeros(0, np.float32))


def test_nan_gradient_propagates_and_global_clip_gives_nan():
    opt = O.SGD(global_clipnorm=1.0)
    w = [np.ones(4, np.float32), np.ones(2, np.float32)]
    opt.apply([np.array([1, np.nan, 0, 0], np.float32), np.ones(2, np.float32)], w)
    assert np.isnan(w[1]).all()  # Keras: a non-finite global norm makes every gradient NaN
    opt = O.Lion()
    w = [np.ones(3, np.float32)]
    opt.apply([np.array([np.nan, 1, 0], np.float32)], w)
    assert np.isnan(w[0][0]) and w[0][2] == 1.0
