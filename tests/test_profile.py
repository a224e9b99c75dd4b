"""ranvier.utils.profile(): time per layer and phase of fit / evaluate."""
import numpy as np
import pytest

import ranvier
from ranvier import layers


def _model(seed=0):
    ranvier.utils.set_random_seed(seed)
    m = ranvier.Sequential([layers.Input((20,)), layers.Dense(32, activation="relu"),
                            layers.Dropout(0.1), layers.Dense(3, activation="softmax")])
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def _data(n=200):
    rng = np.random.default_rng(1)
    return rng.random((n, 20), dtype=np.float32), rng.integers(0, 3, n)


def test_profile_counts_every_batch_layer_and_phase():
    x, y = _data()
    m = _model()
    with ranvier.utils.profile() as prof:
        m.fit(x, y, batch_size=32, epochs=2, verbose=0)
        m.evaluate(x, y, batch_size=50, verbose=0)
    steps = 2 * int(np.ceil(200 / 32))
    assert prof.train_steps == steps
    assert prof.eval_steps == 4
    assert prof.samples == 2 * 200 + 200
    names = [l for (_, l) in prof.layers]
    assert names == [l.name for l in m.layers]
    for (_, name), (typ, f, b) in prof.layers.items():
        assert typ == type(m.get_layer(name)).__name__
        assert f > 0.0 and b > 0.0, (name, f, b)  # every layer ran forward and backward
    assert all(s >= 0.0 for s in prof.phases.values())
    assert prof.phases["update"] > 0.0 and prof.phases["data"] > 0.0  # shuffled: rows gathered
    # the trainer's time is part of the context's wall time
    assert 0.0 < prof.compute_s <= prof.wall_s
    d = prof.as_dict()
    assert [r["layer"] for r in d["layers"]] == names
    assert d["phases"]["python_and_other"] == pytest.approx(prof.wall_s - prof.compute_s, abs=1e-9)
    text = str(prof)
    for name in names:
        assert name in text
    assert "update (optimizer step)" in text and "python and other" in text


def test_profiling_is_off_outside_the_context_and_does_not_change_results():
    x, y = _data()
    m1, m2 = _model(5), _model(5)
    with ranvier.utils.profile() as prof:
        m1.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=False)
    m2.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(m1.get_weights(), m2.get_weights()):
        assert np.array_equal(a, b)
    before = prof.as_dict()
    m1.fit(x, y, batch_size=32, epochs=1, verbose=0)  # after the context: not counted
    assert prof.as_dict() == before
    assert prof.phases["data"] == 0.0  # shuffle=False reads the rows in place


def test_profiles_nest_and_cover_train_on_batch():
    x, y = _data(64)
    m = _model()
    with ranvier.utils.profile() as outer:
        m.train_on_batch(x, y)
        with ranvier.utils.profile() as inner:
            m.train_on_batch(x, y)
            m.test_on_batch(x, y)
    assert (inner.train_steps, inner.eval_steps) == (1, 1)
    assert (outer.train_steps, outer.eval_steps) == (2, 1)
    assert outer.wall_s >= inner.wall_s
