"""A model's own ``trainable`` flag, as Keras 3: setting it sets every layer's flag (the
transfer-learning freeze ``base.trainable = False``); a model constructed with
``trainable=False`` keeps its layers' flags but trains none of them. The facts below were
read off Keras 3.15 running the same programs."""
import numpy as np
import pytest

import ranvier as keras


def _changed(before, after):
    return [not np.array_equal(a, b) for a, b in zip(before, after)]


def _data(n=32, d=4, k=1, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n, d), dtype=np.float32), rng.random((n, k), dtype=np.float32)


def test_freezing_a_base_model_for_transfer_learning():
    base = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(8, activation="relu"),
                             keras.layers.Dense(8)])
    base.trainable = False
    assert base.trainable is False
    assert [l.trainable for l in base.layers] == [False, False]
    assert base.trainable_weights == [] and len(base.non_trainable_weights) == 4
    inp = keras.Input(shape=(4,))
    out = keras.layers.Dense(1)(base(inp, training=False))
    model = keras.Model(inp, out)
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 4
    model.compile("adam", "mse")
    x, y = _data()
    w_base, w_all = base.get_weights(), model.get_weights()
    model.fit(x, y, epochs=2, verbose=0)
    assert _changed(w_base, base.get_weights()) == [False] * 4
    assert _changed(w_all, model.get_weights())[-2:] == [True, True]  # the new head trains
    base.trainable = True  # fine-tuning: every layer again, after a recompile
    assert [l.trainable for l in base.layers] == [True, True] and len(model.trainable_weights) == 6
    model.compile("adam", "mse")
    w_base = base.get_weights()
    model.fit(x, y, epochs=1, verbose=0)
    assert all(_changed(w_base, base.get_weights()))


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_a_model_constructed_frozen_keeps_its_layers_flags_and_trains_nothing(kind):
    if kind == "sequential":
        m = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3), keras.layers.Dense(2)],
                             trainable=False)
    else:
        a = keras.Input(shape=(4,))
        m = keras.Model(a, keras.layers.Dense(2)(keras.layers.Dense(3)(a)), trainable=False)
    assert m.trainable is False
    assert all(l.trainable for l in m.layers)  # Keras leaves the layers' own flags alone
    assert m.trainable_weights == [] and len(m.non_trainable_weights) == 4
    m.compile("sgd", "mse")
    x, y = _data(k=2)
    w0 = m.get_weights()
    m.fit(x, y, epochs=1, verbose=0)
    assert not any(_changed(w0, m.get_weights()))
    m.trainable = True
    assert len(m.trainable_weights) == 4
    m.compile("sgd", "mse")
    m.fit(x, y, epochs=1, verbose=0)
    assert all(_changed(w0, m.get_weights()))


def test_freezing_a_model_with_batch_normalization_keeps_its_statistics():
    m = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3), keras.layers.BatchNormalization()])
    m.trainable = False
    assert [l.trainable for l in m.layers] == [False, False] and len(m.non_trainable_weights) == 6
    m.compile("sgd", "mse")
    x, _ = _data()
    w0 = m.get_weights()
    m.fit(x, np.ones((32, 3), np.float32), epochs=1, verbose=0)
    assert not any(_changed(w0, m.get_weights()))  # moving statistics too: a frozen BN runs in inference mode
    # a training-mode call of the frozen model leaves them as well
    m(x, training=True)
    assert not any(_changed(w0, m.get_weights()))
    m.trainable = True
    assert [l.trainable for l in m.layers] == [True, True]
    assert len(m.trainable_weights) == 4 and len(m.non_trainable_weights) == 2


def test_trainable_is_a_bool_and_in_the_config():
    m = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3)])
    with pytest.raises((TypeError, ValueError), match="trainable"):
        m.trainable = "no"
    m.trainable = False
    assert m.get_config()["trainable"] is False
