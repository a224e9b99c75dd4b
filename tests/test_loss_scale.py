"""LossScaleOptimizer (Keras 3's dynamic loss scaling): the C++ state machine against a
NumPy reference (skip, halve, grow), the optimizer's Keras surface (arguments, config,
variables, learning rate, iterations), compile's auto_scale_loss rule, training (a skipped
step changes nothing; unscaled steps equal the plain optimizer's, bit for bit, when the
scale is a power of two; the same bits at 1, 2 and 3 threads), and saving (ranvier's file
and Keras's .keras layout, facts measured with Keras 3.15 written below).
"""
import io
import json
import zipfile

import numpy as np
import pytest

import ranvier
from ranvier import _core
from ranvier import mixed_precision as mp
from ranvier.optimizers import LossScaleOptimizer


@pytest.fixture(autouse=True)
def _float32_policy_around_each_test():
    mp.set_global_policy(None)
    yield
    mp.set_global_policy(None)


# ----------------------------------------------------------------------------- state machine
class ReferenceScaler:
    """Keras's LossScaleOptimizer step, in NumPy: finite -> grads / scale, then the counter
    (doubling the scale at growth_steps - 1); non-finite -> skip, halve, reset."""

    def __init__(self, scale, growth):
        self.scale, self.counter, self.growth = np.float32(scale), 0, growth

    def step(self, g):
        if not np.all(np.isfinite(g)):
            self.counter, self.scale = 0, np.float32(self.scale * np.float32(0.5))
            return None
        out = (g / self.scale).astype(np.float32)
        if self.counter == self.growth - 1:
            self.counter, self.scale = 0, np.float32(self.scale * np.float32(2.0))
        else:
            self.counter += 1
        return out


def test_the_state_machine_matches_the_reference():
    rng = np.random.default_rng(0)
    for growth in (1, 2, 3, 7):
        c, r = _core.LossScaler(2.0 ** 15, growth), ReferenceScaler(2.0 ** 15, growth)
        for step in range(200):
            g = (rng.standard_normal(rng.integers(1, 300)) * 1e3).astype(np.float32)
            if rng.random() < 0.3:
                g[rng.integers(0, g.size)] = [np.inf, -np.inf, np.nan][step % 3]
            want = r.step(g.copy())
            got = g.copy()
            ok = c.pre_step(got)
            assert ok == (want is not None), step
            if ok:
                assert np.array_equal(got, want), step
            assert (c.scale, c.step_counter) == (r.scale, r.counter), step
    assert c.skipped_steps > 0


def test_non_power_of_two_scales_divide_as_keras():
    c = _core.LossScaler(3.0, 2000)
    g = np.array([1.0, 7.0, 1e-30, -5.5], np.float32)
    want = g / np.float32(3.0)
    assert c.pre_step(g) and np.array_equal(g, want)


def test_scaler_checks_its_arguments():
    with pytest.raises(ValueError, match="initial_scale"):
        _core.LossScaler(0.0, 10)
    with pytest.raises(ValueError, match="initial_scale"):
        _core.LossScaler(1e39, 10)
    with pytest.raises(ValueError, match="dynamic_growth_steps"):
        _core.LossScaler(8.0, 0)


# ----------------------------------------------------------------------------- the optimizer
def test_keras_surface():
    inner = ranvier.optimizers.SGD(0.1)
    o = LossScaleOptimizer(inner)
    assert o.name.startswith("loss_scale_optimizer") and o.inner_optimizer is inner
    assert (o.initial_scale, o.dynamic_growth_steps) == (2.0 ** 15, 2000)
    assert o.dynamic_scale == 32768.0 and o.dynamic_scale.numpy().dtype == np.float32
    assert o.step_counter == 0 and o.step_counter.numpy().dtype == np.int64
    assert float(o.learning_rate) == pytest.approx(0.1)
    o.learning_rate = 0.5
    assert float(inner.learning_rate) == 0.5
    assert o.iterations == 0 and o.scale_loss(2.0) == 65536.0
    assert ranvier.mixed_precision.LossScaleOptimizer is LossScaleOptimizer
    # Keras's messages
    with pytest.raises(ValueError, match="no longer supports `dynamic=False`"):
        LossScaleOptimizer(ranvier.optimizers.SGD(), dynamic=False)
    with pytest.raises(ValueError, match="does not support `clipnorm`. Instead, set `clipnorm` on the `inner_optimizer`"):
        LossScaleOptimizer(ranvier.optimizers.SGD(), clipnorm=1.0)
    LossScaleOptimizer(ranvier.optimizers.SGD(), clipnorm=None, use_ema=False)  # defaults pass (old configs)
    with pytest.raises(ValueError, match="does not support arguments: `foo`"):
        LossScaleOptimizer(ranvier.optimizers.SGD(), foo=1)
    with pytest.raises(TypeError, match="inner_optimizer"):
        LossScaleOptimizer("sgd")
    with pytest.raises(ValueError, match="dynamic_growth_steps"):
        LossScaleOptimizer(ranvier.optimizers.SGD(), dynamic_growth_steps=0)


def test_config_and_serialize_follow_keras():
    o = LossScaleOptimizer(ranvier.optimizers.Adam(learning_rate=0.01), initial_scale=8.0,
                           dynamic_growth_steps=3, name="lso")
    cfg = o.get_config()
    assert list(cfg) == ["name", "inner_optimizer", "initial_scale", "dynamic_growth_steps"]
    assert cfg["inner_optimizer"]["class_name"] == "Adam" and cfg["initial_scale"] == 8.0
    s = ranvier.optimizers.serialize(o)
    assert s["class_name"] == "LossScaleOptimizer" and s["registered_name"] is None
    back = ranvier.optimizers.deserialize(json.loads(json.dumps(s)))
    assert isinstance(back, LossScaleOptimizer) and back.get_config() == cfg
    assert isinstance(back.inner_optimizer, ranvier.optimizers.Adam)


def _model(policy=None, units=3):
    ranvier.utils.set_random_seed(1)
    if policy:
        mp.set_global_policy(policy)
    m = ranvier.Sequential([ranvier.Input((4,)), ranvier.layers.Dense(units, activation="relu"),
                            ranvier.layers.Dense(2)])
    mp.set_global_policy(None)
    return m


def test_compile_wraps_only_mixed_float16_models():
    m = _model("mixed_float16")
    m.compile("sgd", "mse")
    assert isinstance(m.optimizer, LossScaleOptimizer) and m.optimizer.name == "loss_scale_optimizer"
    assert isinstance(m.optimizer.inner_optimizer, ranvier.optimizers.SGD)
    m.compile("sgd", "mse", auto_scale_loss=False)
    assert isinstance(m.optimizer, ranvier.optimizers.SGD)
    explicit = LossScaleOptimizer(ranvier.optimizers.Adam(), initial_scale=4.0)
    m.compile(explicit, "mse")
    assert m.optimizer is explicit  # not wrapped twice
    for policy in (None, "mixed_bfloat16"):
        other = _model(policy)
        other.compile("sgd", "mse")
        assert isinstance(other.optimizer, ranvier.optimizers.SGD)
    # the model's policy is the global one at its construction, not its layers'
    mp.set_global_policy("mixed_float16")
    m32 = ranvier.Sequential([ranvier.Input((4,)), ranvier.layers.Dense(2, dtype="float32")])
    mp.set_global_policy(None)
    m32.compile("sgd", "mse")
    assert isinstance(m32.optimizer, LossScaleOptimizer)


def test_a_non_finite_step_is_skipped_as_in_keras():
    """Keras 3.15 (measured): Dense(3, relu) with kernel 100 on inputs 1000 under
    mixed_float16 overflows (loss nan); one fit step leaves iterations 0 and halves the
    scale to 16384; the weights do not move."""
    m = _model("mixed_float16")
    m.compile("adam", "mse")
    m.layers[0].set_weights([np.full((4, 3), 100, np.float32), np.zeros(3, np.float32)])
    before = [w.copy() for w in m.get_weights()]
    x = np.full((5, 4), 1000, np.float32)
    h = m.fit(x, np.zeros((5, 2), np.float32), epochs=1, verbose=0)
    assert np.isnan(h.history["loss"][0])
    o = m.optimizer
    assert o.iterations == 0 and o.dynamic_scale == 16384.0 and o.step_counter == 0
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
    assert all(not np.any(v) for v in o.inner_optimizer.get_state()["slots"].values())
    names = [np.asarray(v) for v in o.variables]
    assert [int(names[0]), float(names[1]), int(names[2]), float(names[3])] == [0, 0.0, 0, 16384.0]


def test_growth_as_in_keras():
    """Keras 3.15 (measured): LossScaleOptimizer(Adam(), initial_scale=8.0,
    dynamic_growth_steps=3), 5 finite steps: scale 16, step_counter 2, iterations 5."""
    m = _model("mixed_float16")
    m.compile(LossScaleOptimizer(ranvier.optimizers.Adam(), initial_scale=8.0, dynamic_growth_steps=3), "mse")
    m.fit(np.ones((4, 4), np.float32), np.ones((4, 2), np.float32), epochs=5, verbose=0)
    o = m.optimizer
    assert (float(o.dynamic_scale), int(o.step_counter), o.iterations) == (16.0, 2, 5)


@pytest.mark.parametrize("inner", ["sgd", "adam"])
def test_unscaled_steps_equal_the_plain_optimizer_bit_for_bit(rng, inner):
    """Under float32 a power-of-two loss scale is exact: every gradient is the plain one
    times 2**k, divided back exactly, so the weights match the unwrapped optimizer's (with
    an L2 kernel regularizer and an activity regularizer, added outside and inside the
    scaled backward pass)."""
    x = rng.standard_normal((64, 6)).astype(np.float32)
    y = rng.standard_normal((64, 2)).astype(np.float32)
    weights = []
    for wrap in (False, True):
        ranvier.utils.set_random_seed(5)
        m = ranvier.Sequential([ranvier.Input((6,)),
                                ranvier.layers.Dense(8, activation="tanh", kernel_regularizer="l2",
                                                     activity_regularizer="l2"),
                                ranvier.layers.Dense(2)])
        opt = ranvier.optimizers.get(inner)
        m.compile(LossScaleOptimizer(opt, initial_scale=2.0 ** 10, dynamic_growth_steps=3) if wrap else opt, "mse")
        m.fit(x, y, epochs=3, batch_size=16, verbose=0, shuffle=False)
        weights.append(m.get_weights())
    assert m.optimizer.dynamic_scale == 2.0 ** 14  # grew: 12 finite steps, every 3
    for a, b in zip(*weights):
        assert np.array_equal(a, b)


def test_mixed_float16_training_is_bitwise_the_same_at_1_2_and_3_threads(rng):
    x = rng.standard_normal((300, 20)).astype(np.float32)
    y = rng.integers(0, 3, 300)
    threads = ranvier.get_num_threads()
    results = []
    try:
        for nt in (1, 2, 3):
            ranvier.set_num_threads(nt)
            ranvier.utils.set_random_seed(2)
            mp.set_global_policy("mixed_float16")
            m = ranvier.Sequential([ranvier.Input((20,)), ranvier.layers.Dense(256, activation="relu"),
                                    ranvier.layers.Dense(3, activation="softmax")])
            mp.set_global_policy(None)
            m.compile(LossScaleOptimizer(ranvier.optimizers.Adam(), initial_scale=2.0 ** 40, dynamic_growth_steps=4),
                      "sparse_categorical_crossentropy")
            m.fit(x, y, epochs=2, batch_size=32, verbose=0)
            results.append((m.get_weights(), float(m.optimizer.dynamic_scale), int(m.optimizer.iterations)))
    finally:
        ranvier.set_num_threads(threads)
    assert results[0][1] < 2.0 ** 40  # 2**40 overflows half: steps were skipped and the scale came down
    for w, s, it in results[1:]:
        assert (s, it) == results[0][1:]
        assert all(np.array_equal(a, b) for a, b in zip(w, results[0][0]))


def test_standalone_apply_skips_and_unscales():
    w = np.ones(3, np.float32)
    o = LossScaleOptimizer(ranvier.optimizers.SGD(0.5), initial_scale=4.0)
    o.apply([np.array([4.0, np.inf, 0.0], np.float32)], [w])
    assert np.array_equal(w, np.ones(3)) and o.dynamic_scale == 2.0 and o.iterations == 0
    o.apply([np.array([2.0, 4.0, 0.0], np.float32)], [w])  # gradient [1, 2, 0] after unscaling
    assert np.array_equal(w, [0.5, 0.0, 1.0]) and o.iterations == 1 and o.step_counter == 1


# ----------------------------------------------------------------------------- saving
def _trained(policy_model, opt):
    """5 steps with small gradients (none overflows half precision at the default scale)."""
    m = _model(policy_model)
    m.compile(opt, "mse")
    m.fit(np.full((4, 4), 0.01, np.float32), np.full((4, 2), 0.01, np.float32), epochs=5, verbose=0)
    return m


def test_the_model_file_round_trips_the_state(tmp_path):
    m = _trained("mixed_float16", LossScaleOptimizer(ranvier.optimizers.Adam(), initial_scale=8.0,
                                                     dynamic_growth_steps=3))
    path = tmp_path / "m.safetensors"
    m.save(path)
    back = ranvier.load_model(path)
    o, b = m.optimizer, back.optimizer
    assert isinstance(b, LossScaleOptimizer)
    assert (float(b.dynamic_scale), int(b.step_counter), b.iterations) == (16.0, 2, 5)
    for k, v in o.inner_optimizer.get_state()["slots"].items():
        assert np.array_equal(v, b.inner_optimizer.get_state()["slots"][k])
    # training on from there matches training on in memory
    for mm in (m, back):
        mm.fit(np.ones((4, 4), np.float32), np.ones((4, 2), np.float32), epochs=2, verbose=0)
    assert all(np.array_equal(a, c) for a, c in zip(m.get_weights(), back.get_weights()))


def test_keras_archive_layout_follows_keras(tmp_path):
    """Keras 3.15 (measured): the weights file's optimizer/vars are [iteration 0,
    learning_rate 0.0, step_counter, dynamic_scale, then the inner optimizer's], with
    optimizer/inner_optimizer/vars too; compile_config holds the optimizer compile was
    given (the inner one when compile wrapped it, the LossScaleOptimizer when given one)."""
    h5py = pytest.importorskip("h5py")
    m = _trained("mixed_float16", "sgd")
    path = tmp_path / "auto.keras"
    m.save(path)
    z = zipfile.ZipFile(path)
    assert json.loads(z.read("config.json"))["compile_config"]["optimizer"]["class_name"] == "SGD"
    with h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
        v = [f["optimizer/vars"][str(i)][()] for i in range(len(f["optimizer/vars"]))]
        assert [int(v[0]), float(v[1]), int(v[2]), float(v[3]), int(v[4])] == [0, 0.0, 5, 32768.0, 5]
        assert len(f["optimizer/inner_optimizer/vars"]) == len(v) - 4
    mp.set_global_policy("mixed_float16")  # as in Keras, the loaded model's policy is the global one
    back = ranvier.load_model(path)
    assert isinstance(back.optimizer, LossScaleOptimizer)
    assert (int(back.optimizer.step_counter), back.optimizer.iterations) == (5, 5)

    explicit = _trained("mixed_float16", LossScaleOptimizer(ranvier.optimizers.Adam(), initial_scale=8.0,
                                                            dynamic_growth_steps=3))
    path = tmp_path / "explicit.keras"
    explicit.save(path)
    cc = json.loads(zipfile.ZipFile(path).read("config.json"))["compile_config"]
    assert cc["optimizer"]["class_name"] == "LossScaleOptimizer"
    assert cc["optimizer"]["config"]["inner_optimizer"]["class_name"] == "Adam"
    back = ranvier.load_model(path)
    assert (float(back.optimizer.dynamic_scale), int(back.optimizer.step_counter), back.optimizer.iterations) \
        == (16.0, 2, 5)


def test_a_float32_load_of_an_auto_wrapped_archive_drops_the_scale_as_keras(tmp_path):
    pytest.importorskip("h5py")
    m = _trained("mixed_float16", "sgd")
    path = tmp_path / "auto.keras"
    m.save(path)
    with pytest.warns(UserWarning, match="skipping the optimizer's saved variables"):
        back = ranvier.load_model(path)  # global policy float32: SGD, as Keras
    assert isinstance(back.optimizer, ranvier.optimizers.SGD)


def test_the_cpp_api_loads_and_saves_the_loss_scale(tmp_path):
    """The C++ Model (what C++ apps train with) reads a file compiled with a
    LossScaleOptimizer as one (its inner optimizer plus the loss scaler) and writes it back
    with its state: Python loads the rewritten file to the same optimizer state."""
    m = _trained("mixed_float16", LossScaleOptimizer(ranvier.optimizers.Adam(0.01), initial_scale=8.0,
                                                     dynamic_growth_steps=3))
    src, dst = tmp_path / "py.safetensors", tmp_path / "cpp.safetensors"
    m.save(src)
    _core.io_cpp_resave(str(src), str(dst))
    o = ranvier.load_model(dst).optimizer
    assert isinstance(o, LossScaleOptimizer) and o.get_config() == m.optimizer.get_config()
    assert (float(o.dynamic_scale), int(o.step_counter), o.iterations) == (16.0, 2, 5)
    a, b = m.optimizer.inner_optimizer.get_state(), o.inner_optimizer.get_state()
    assert all(np.array_equal(a["slots"][k], b["slots"][k]) for k in a["slots"])


def test_copies_keep_the_model_policy_and_the_loss_scaling():
    import copy
    import pickle
    m = _trained("mixed_float16", "adam")
    for c in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert c.dtype_policy.name == "mixed_float16"  # made under float32 now: the copy keeps the original's
        assert isinstance(c.optimizer, LossScaleOptimizer)
    assert pickle.loads(pickle.dumps(m)).optimizer.iterations == 5  # the model file's state


def test_the_same_program_skips_the_steps_keras_skips():
    """A regression with large targets under mixed_float16 (SGD 1e-4, batch 32, 3 epochs of
    8 steps, fixed weights): the scaled gradients overflow half precision at first, so steps
    are skipped until the scale comes down. Keras 3.15 (TensorFlow, measured with this very
    program): dynamic_scale 512.0, step_counter 18, iterations 18 (6 skipped steps), losses
    12718.82, 12693.86, 12652.78. Keras's dW, db and dx are float16 values: ranvier's Dense
    rounds them too, which is what makes the same steps overflow."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 8)).astype(np.float32)
    y = (x @ rng.standard_normal((8, 1)) * 50).astype(np.float32)
    m = ranvier.Sequential([ranvier.Input((8,)), ranvier.layers.Dense(16, activation="relu", dtype="mixed_float16"),
                            ranvier.layers.Dense(1, dtype="mixed_float16")])
    m.compile(LossScaleOptimizer(ranvier.optimizers.SGD(1e-4)), "mse")
    m.set_weights([np.random.default_rng(i).standard_normal(a.shape).astype(np.float32) * 0.3
                   for i, a in enumerate(m.get_weights())])
    h = m.fit(x, y, batch_size=32, epochs=3, verbose=0, shuffle=False)
    o = m.optimizer
    assert (float(o.dynamic_scale), int(o.step_counter), o.iterations) == (512.0, 18, 18)
    # the losses agree with Keras's to float16 rounding of the predictions
    assert np.allclose(h.history["loss"], [12718.82, 12693.86, 12652.78], rtol=1e-5)
