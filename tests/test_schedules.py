"""Learning-rate schedules: Python __call__ follows the float64 reference of Keras's
formulas, the C++ evaluation the training loop uses agrees with it, configs round-trip,
bad arguments raise ValueError naming them."""
import numpy as np
import pytest

from ranvier import optimizers as O
from ranvier.optimizers import schedules as S
from reference import optimizers as R

STEPS = list(range(0, 160)) + [1000, 10_000, 123_457]

# Both sides round a float64 value to float32 once: they may differ by the float32
# rounding of the reference (rtol 2**-24 ~ 6e-8) plus libm/NumPy last-bit differences in
# pow/cos/log. rtol 2e-7 covers that; the C++ and Python evaluations use the same
# formulas and the same libm, so they are compared to within 1 float32 ulp.
RTOL = 2e-7

CASES = [
    (S.ExponentialDecay, dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5)),
    (S.ExponentialDecay, dict(initial_learning_rate=0.1, decay_steps=7, decay_rate=0.9, staircase=True)),
    (S.InverseTimeDecay, dict(initial_learning_rate=0.1, decay_steps=5, decay_rate=0.5)),
    (S.InverseTimeDecay, dict(initial_learning_rate=0.1, decay_steps=3, decay_rate=2.0, staircase=True)),
    (S.PolynomialDecay, dict(initial_learning_rate=0.1, decay_steps=50)),
    (S.PolynomialDecay, dict(initial_learning_rate=0.1, decay_steps=30, end_learning_rate=0.01, power=0.5,
                             cycle=True)),
    (S.PolynomialDecay, dict(initial_learning_rate=0.1, decay_steps=40, end_learning_rate=0.001, power=2.0)),
    (S.CosineDecay, dict(initial_learning_rate=0.1, decay_steps=100)),
    (S.CosineDecay, dict(initial_learning_rate=0.1, decay_steps=60, alpha=0.1)),
    (S.CosineDecay, dict(initial_learning_rate=0.0, decay_steps=80, alpha=0.05, warmup_target=0.2,
                         warmup_steps=20)),
    (S.PiecewiseConstantDecay, dict(boundaries=[10, 50, 100], values=[1.0, 0.5, 0.1, 0.01])),
    (S.PiecewiseConstantDecay, dict(boundaries=[0], values=[0.3, 0.2])),
    (S.CosineDecayRestarts, dict(initial_learning_rate=0.1, first_decay_steps=10)),
    (S.CosineDecayRestarts, dict(initial_learning_rate=0.1, first_decay_steps=7, t_mul=3.0, m_mul=0.5,
                                 alpha=0.05)),
    (S.CosineDecayRestarts, dict(initial_learning_rate=0.1, first_decay_steps=5, t_mul=1.0, m_mul=0.9)),
    (S.CosineDecayRestarts, dict(initial_learning_rate=0.1, first_decay_steps=4, t_mul=1.5)),
]
IDS = [f"{c.__name__}-{i}" for i, (c, _) in enumerate(CASES)]


@pytest.mark.parametrize("cls,kwargs", CASES, ids=IDS)
def test_python_matches_reference(cls, kwargs):
    sched = cls(**kwargs)
    ref = R.SCHEDULES[cls.__name__]
    got = np.array([sched(s) for s in STEPS], dtype=np.float64)
    want = np.array([ref(float(s), **kwargs) for s in STEPS])
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=1e-12)
    assert isinstance(sched(3), np.float32)


@pytest.mark.parametrize("cls,kwargs", CASES, ids=IDS)
def test_cpp_matches_python(cls, kwargs):
    sched = cls(**kwargs)
    py = np.array([sched(s) for s in STEPS], dtype=np.float32)
    cpp = np.array([sched._cpp_value(s) for s in STEPS], dtype=np.float32)
    np.testing.assert_array_max_ulp(cpp, py, maxulp=1)


def test_array_steps_and_real_steps():
    sched = S.ExponentialDecay(0.1, 10, 0.5)
    out = sched(np.arange(5))
    assert out.dtype == np.float32 and out.shape == (5,)
    assert sched(2.5) == pytest.approx(0.1 * 0.5 ** 0.25, rel=1e-7)
    # piecewise boundaries: a float boundary is truncated for integer steps (Keras casts
    # the boundaries to the step's integer dtype) but compared as is for real steps
    pw = S.PiecewiseConstantDecay([2.5], [1.0, 0.5])
    assert float(pw(2)) == 1.0 and float(pw(2.4)) == 1.0 and float(pw(2.6)) == 0.5
    assert float(pw._cpp_value(2)) == 1.0 and float(pw._cpp_value(3)) == 0.5


@pytest.mark.parametrize("sched", [
    S.ExponentialDecay(0.1, 10, 0.5, staircase=True, name="e"),
    S.InverseTimeDecay(0.1, 5, 0.5),
    S.PolynomialDecay(0.1, 30, 0.01, power=0.5, cycle=True),
    S.CosineDecay(0.0, 80, alpha=0.05, warmup_target=0.2, warmup_steps=20),
    S.PiecewiseConstantDecay([10, 50], [1.0, 0.5, 0.1]),
    S.CosineDecayRestarts(0.1, 7, t_mul=3.0, m_mul=0.5, alpha=0.05),
], ids=lambda s: type(s).__name__)
def test_config_round_trip(sched):
    cfg = sched.get_config()
    again = type(sched).from_config(cfg)
    assert again.get_config() == cfg
    ser = S.serialize(sched)
    assert ser["class_name"] == type(sched).__name__
    back = S.deserialize(ser)
    assert type(back) is type(sched) and back.get_config() == cfg
    assert [float(back(s)) for s in (0, 5, 50, 500)] == [float(sched(s)) for s in (0, 5, 50, 500)]


def test_default_names_and_keys():
    assert S.ExponentialDecay(0.1, 10, 0.5).get_config()["name"] == "ExponentialDecay"
    assert S.PiecewiseConstantDecay([1], [1.0, 0.5]).get_config()["name"] == "PiecewiseConstant"
    assert S.CosineDecayRestarts(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1, "first_decay_steps": 10, "t_mul": 2.0, "m_mul": 1.0, "alpha": 0.0,
        "name": "SGDRDecay"}
    assert S.CosineDecay(0.1, 10).get_config() == {
        "initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 0.0, "name": "CosineDecay",
        "warmup_target": None, "warmup_steps": 0}


@pytest.mark.parametrize("make,arg", [
    (lambda: S.ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
    (lambda: S.InverseTimeDecay(0.1, -1, 0.5), "decay_steps"),
    (lambda: S.PolynomialDecay(0.1, 0), "decay_steps"),
    (lambda: S.CosineDecay(0.1, 0), "decay_steps"),
    (lambda: S.CosineDecay(0.1, 10, warmup_target=0.2, warmup_steps=-1), "warmup_steps"),
    (lambda: S.CosineDecayRestarts(0.1, 0), "first_decay_steps"),
    (lambda: S.CosineDecayRestarts(0.1, 5, t_mul=0.0), "t_mul"),
    (lambda: S.PiecewiseConstantDecay([1, 2], [1.0, 0.5]), "boundaries"),
    (lambda: S.ExponentialDecay("a", 10, 0.5), "initial_learning_rate"),
])
def test_invalid_arguments(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


def test_user_schedule_runs_in_python_and_serializes_with_custom_objects():
    class Linear(S.LearningRateSchedule):
        def __init__(self, a=0.1):
            self.a = a

        def __call__(self, step):
            return self.a / (step + 1)

        def get_config(self):
            return {"a": self.a}

    opt = O.SGD(learning_rate=Linear(0.2))
    assert opt._needs_python_lr()
    assert opt.learning_rate == pytest.approx(0.2)
    cfg = O.serialize(opt)
    with pytest.raises(ValueError, match="Linear"):
        O.deserialize(cfg)
    again = O.deserialize(cfg, custom_objects={"Linear": Linear})
    assert again._learning_rate.a == 0.2
    # a subclass of a built-in that overrides __call__ also runs in Python
    class Scaled(S.ExponentialDecay):
        def __call__(self, step):
            return 2 * super().__call__(step)

    assert O.Adam(learning_rate=Scaled(0.1, 10, 0.5))._needs_python_lr()
    assert not O.Adam(learning_rate=S.ExponentialDecay(0.1, 10, 0.5))._needs_python_lr()


def test_optimizer_learning_rate_follows_the_schedule_of_raw_steps():
    sched = S.PiecewiseConstantDecay([2, 4], [0.3, 0.2, 0.1])
    opt = O.SGD(learning_rate=sched, gradient_accumulation_steps=2)
    w = [np.zeros(3, np.float32)]
    seen = []
    for _ in range(6):
        seen.append(opt.learning_rate)
        opt.apply([np.ones(3, np.float32)], w)
    # schedules see the raw step count (0..5), not iterations (raw // 2)
    assert seen == [float(np.float32(v)) for v in (0.3, 0.3, 0.3, 0.2, 0.2, 0.1)]
    assert opt.iterations == 3


def test_replacing_the_learning_rate_with_a_schedule():
    opt = O.Adam(learning_rate=0.01)
    opt.learning_rate = S.ExponentialDecay(0.5, 1, 0.5)
    assert opt.learning_rate == 0.5
    w = [np.zeros(2, np.float32)]
    opt.apply([np.ones(2, np.float32)], w)
    assert opt.learning_rate == 0.25
    with pytest.raises(TypeError):
        opt.learning_rate = 0.1
