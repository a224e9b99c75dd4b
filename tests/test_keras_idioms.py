"""Keras idioms that real programs use around the model (checked against Keras 3.15's
behaviour, written here as facts): ``.numpy()`` on what layers, models, losses and metrics
return when called on data; ``keras.config`` / ``keras.backend``; layers without width-bound
weights called on data of another width than the first call's."""
from __future__ import annotations

import numpy as np
import pytest

import ranvier as keras


# ----------------------------------------------------------------------------- .numpy()
def test_model_and_layer_outputs_have_numpy():
    # The TensorFlow quickstart: predictions = model(x_train[:1]).numpy()
    x = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    out = model(x)
    got = out.numpy()
    assert type(got) is np.ndarray and got.shape == (3, 2) and got.dtype == np.float32
    np.testing.assert_allclose(got, model.predict(x, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=1e-6)
    norm = keras.layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 1.0])
    n = norm(np.array([[3.0, 2.0]], np.float32)).numpy()
    np.testing.assert_allclose(n, [[1.0, 0.0]])
    # an element-wise layer; a functional graph with two outputs returns both with numpy()
    assert keras.layers.ReLU()(np.array([[-1.0, 2.0]])).numpy().tolist() == [[0.0, 2.0]]
    a = keras.Input((2,), name="a")
    o1 = keras.layers.Dense(1, name="o1")(a)
    o2 = keras.layers.Dense(3, name="o2")(a)
    outs = keras.Model(a, [o1, o2])(np.ones((5, 2), np.float32))
    assert [o.numpy().shape for o in outs] == [(5, 1), (5, 3)]


def test_loss_values_have_numpy():
    y, p = np.zeros((2, 2), np.float32), np.ones((2, 2), np.float32)
    v = keras.losses.MeanSquaredError()(y, p)
    assert v.numpy() == np.float32(1.0) and type(v.numpy()) is np.float32
    per_sample = keras.losses.mean_squared_error(y, np.array([[1.0, 3.0], [0.0, 2.0]], np.float32))
    assert per_sample.numpy().tolist() == [5.0, 2.0]
    scce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    logits = np.array([[2.0, 1.0, 0.1]], np.float32)
    expect = -np.log(np.exp(2.0) / np.exp(logits[0].astype(np.float64)).sum())
    assert float(scce(np.array([0]), logits).numpy()) == pytest.approx(expect, rel=1e-6)


def test_metric_results_have_numpy_and_stay_numbers():
    m = keras.metrics.TruePositives()
    m.update_state([0, 1, 1, 0, 1], [0.5, 0.5, 0.7, 0.2, 0.1])
    r = m.result()
    assert r.numpy() == np.float32(1.0) and type(r.numpy()) is np.float32
    assert isinstance(r, float) and r == 1.0 and r.shape == () and float(r) == 1.0
    assert f"{r:.2f}" == "1.00"
    mv = keras.metrics.TruePositives(thresholds=[0, 0.5, 0.6])
    mv.update_state([0, 1, 1, 0, 1], [0.5, 0.5, 0.7, 0.2, 0.1])
    assert mv.result().numpy().tolist() == [3.0, 1.0, 1.0]
    mean = keras.metrics.Mean()
    mean.update_state([1, 2, 3], sample_weight=[1, 0, 1])
    assert mean.result().numpy() == np.float32(2.0)
    auc = keras.metrics.AUC()
    auc.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert auc.result().numpy() == pytest.approx(0.75, abs=1e-6)
    # calling a metric updates its state and returns the result over everything seen:
    # positives {.3, .9, .8} against negatives {0, .5, .2} rank 8 of 9 pairs correctly
    assert auc(np.array([0, 1.0]), np.array([0.2, 0.8])).numpy() == pytest.approx(8 / 9, abs=1e-6)

    class Count(keras.metrics.Metric):  # a user's Metric subclass returning a Python int
        def __init__(self, name="count", **kw):
            super().__init__(name=name, **kw)
            self.n = 0

        def update_state(self, y_true, y_pred, sample_weight=None):
            self.n += len(y_true)

        def result(self):
            return self.n

    c = Count()
    c.update_state([1, 2, 3], [1, 2, 3])
    assert c.result().numpy() == np.float32(3.0)


# ----------------------------------------------------------------------------- keras.config / backend
def test_config_module():
    assert keras.config.floatx() == "float32"
    assert keras.config.epsilon() == 1e-7
    assert keras.config.image_data_format() == "channels_last"
    keras.config.set_floatx("float32")
    keras.config.set_epsilon(1e-7)
    with pytest.raises(ValueError, match="float32"):
        keras.config.set_floatx("float64")
    with pytest.raises(ValueError, match="Unknown `floatx`"):
        keras.config.set_floatx("int8")
    with pytest.raises(ValueError, match="fuzz factor 1e-7"):
        keras.config.set_epsilon(1e-3)
    assert keras.config.dtype_policy().name == "float32"
    try:
        keras.config.set_dtype_policy("mixed_bfloat16")
        assert keras.config.dtype_policy().name == "mixed_bfloat16"
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
        d = keras.layers.Dense(2)
        assert (d.dtype, d.compute_dtype, d.variable_dtype) == ("float32", "bfloat16", "float32")
    finally:
        keras.config.set_dtype_policy("float32")
    with pytest.raises(ValueError, match="Invalid `policy`"):
        keras.config.set_dtype_policy(3)


def test_backend_module():
    assert keras.backend.floatx() == "float32" and keras.backend.epsilon() == 1e-7
    keras.layers.Dense(1)
    keras.backend.clear_session()
    assert keras.layers.Dense(1).name == "dense"
    assert keras.backend.is_keras_tensor(keras.Input((3,)))
    assert not keras.backend.is_keras_tensor(np.ones(3))
    assert isinstance(keras.backend.backend(), str)


# ----------------------------------------------------------------------------- any width
@pytest.mark.parametrize("make, ref", [
    (lambda: keras.layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0]),
     lambda x: np.digitize(x, [0.0, 1.0, 2.0])),
    (lambda: keras.layers.Rescaling(0.5, offset=1.0), lambda x: x * 0.5 + 1.0),
    (lambda: keras.layers.Activation("relu"), lambda x: np.maximum(x, 0)),
    (lambda: keras.layers.ReLU(), lambda x: np.maximum(x, 0)),
    (lambda: keras.layers.Identity(), lambda x: x),
    (lambda: keras.layers.Dropout(0.5), lambda x: x),
    (lambda: keras.layers.GaussianNoise(0.3), lambda x: x),
    (lambda: keras.layers.Softmax(), lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    (lambda: keras.layers.UnitNormalization(), lambda x: x / np.sqrt((x * x).sum(-1, keepdims=True))),
])
def test_width_free_layers_take_any_width(make, ref):
    layer = make()
    rng = np.random.default_rng(3)
    first = rng.normal(size=(4, 3)).astype(np.float32) + 0.25
    np.testing.assert_allclose(np.asarray(layer(first), np.float64), ref(first.astype(np.float64)), rtol=1e-5, atol=1e-6)
    for width in (1, 5):
        x = rng.normal(size=(2, width)).astype(np.float32) + 0.25
        got = layer(x)
        assert got.shape == (2, width)
        np.testing.assert_allclose(np.asarray(got, np.float64), ref(x.astype(np.float64)), rtol=1e-5, atol=1e-6)
    assert layer(first).shape == (4, 3)  # the built width is unchanged
    assert layer.get_build_config() == {"input_shape": (None, 3)}  # a tuple, as Keras 3.15


def test_normalization_axis_none_takes_any_width_and_axis_minus_one_does_not():
    n = keras.layers.Normalization(axis=None)
    n.adapt(np.array([1.0, 2.0, 3.0, 4.0]))  # mean 2.5, variance 1.25
    np.testing.assert_allclose(n(np.array([[2.5, 3.0]])), [[0.0, 0.5 / np.sqrt(1.25)]], rtol=1e-6)
    np.testing.assert_allclose(n(np.array([[4.0]])), [[1.5 / np.sqrt(1.25)]], rtol=1e-6)
    per_column = keras.layers.Normalization()
    per_column.adapt(np.array([[1.0, 10.0], [3.0, 30.0]]))
    with pytest.raises(ValueError, match="2 features"):
        per_column(np.ones((1, 3)))


def test_width_bound_layers_still_refuse_another_width():
    for layer in (keras.layers.Dense(2), keras.layers.BatchNormalization(), keras.layers.LayerNormalization()):
        layer(np.ones((2, 3), np.float32))
        with pytest.raises(ValueError, match="3 features"):
            layer(np.ones((2, 4), np.float32))


def test_width_free_layer_in_a_model_keeps_the_model_working():
    drop = keras.layers.Dropout(0.5, seed=1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2), drop])
    x = np.ones((4, 3), np.float32)
    before = model.predict(x, verbose=0)
    out = drop(np.ones((2, 6), np.float32), training=True)
    assert out.shape == (2, 6) and set(np.unique(out)) <= {0.0, 2.0}
    np.testing.assert_array_equal(model.predict(x, verbose=0), before)
    model.compile("sgd", "mse")
    model.fit(x, np.zeros((4, 2), np.float32), epochs=1, verbose=0)


def test_logs_hold_plain_floats():
    x = np.random.default_rng(0).normal(size=(16, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy", keras.metrics.AUC(name="auc")])
    h = model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y))
    assert {k: type(v[0]) for k, v in h.history.items()} == dict.fromkeys(
        ["accuracy", "auc", "loss", "val_accuracy", "val_auc", "val_loss"], float)
    assert {type(v) for v in model.evaluate(x, y, verbose=0, return_dict=True).values()} == {float}


def test_a_missing_file_is_a_value_error_as_in_keras(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    for name in ("nope.keras", "nope.safetensors"):
        with pytest.raises(ValueError, match="File not found") as err:
            keras.models.load_model(str(tmp_path / name))
        assert isinstance(err.value, FileNotFoundError)  # what earlier ranvier code caught
    with pytest.raises(ValueError, match="File not found"):
        model.load_weights(str(tmp_path / "nope.weights.h5"))


class _Spec:
    def __init__(self, rank):
        self.shape = type("Shape", (), {"rank": rank})()


class _FakeDataset:
    """The part of tf.data.Dataset that adapt reads: element_spec, batch(n), iteration."""

    def __init__(self, rows, batch_size=None):
        self.rows, self.batch_size = rows, batch_size
        self.element_spec = _Spec(rows.ndim - 1 if batch_size is None else rows.ndim)

    def batch(self, n):
        return _FakeDataset(self.rows, n)

    def __iter__(self):
        if self.batch_size is None:
            return iter(list(self.rows))
        return iter([self.rows[i:i + self.batch_size] for i in range(0, len(self.rows), self.batch_size)])


def test_normalization_adapt_batches_an_unbatched_dataset_of_rows():
    # Keras: a dataset whose elements are rank-1 samples is batched by 128 first, so the
    # statistics are per column (mean [2.5, 22.5], population variance [1.25, 518.75])
    x = np.array([[1, 10], [2, 20], [3, 60], [4, 0]], np.float32)
    for ds in (_FakeDataset(x), _FakeDataset(x).batch(3)):
        n = keras.layers.Normalization()
        n.adapt(ds)
        np.testing.assert_allclose(np.ravel(n.mean), [2.5, 22.5], rtol=1e-6)
        np.testing.assert_allclose(np.ravel(n.variance), [1.25, 518.75], rtol=1e-6)


@pytest.mark.parametrize("name, weights_only", [
    ("ck.keras", True), ("ck-{epoch:02d}.h5", True), ("ck.hdf5", True),
    ("ck.weights.h5", False), ("ck-{epoch}.h5", False)])
def test_model_checkpoint_refuses_a_keras_name_that_does_not_match_what_is_saved(name, weights_only):
    with pytest.raises(ValueError, match="filepath provided must end in"):
        keras.callbacks.ModelCheckpoint(name, save_weights_only=weights_only)


def test_model_checkpoint_names_that_match_save(tmp_path):
    x = np.random.default_rng(1).normal(size=(8, 2)).astype(np.float32)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    cbs = [keras.callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch:02d}.keras")),
           keras.callbacks.ModelCheckpoint(str(tmp_path / "w-{epoch:02d}.weights.h5"), save_weights_only=True),
           keras.callbacks.ModelCheckpoint(str(tmp_path / "r-{epoch:02d}.safetensors")),
           keras.callbacks.ModelCheckpoint(str(tmp_path / "rw-{epoch:02d}.safetensors"), save_weights_only=True)]
    model.fit(x, x[:, :1], epochs=2, verbose=0, callbacks=cbs)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "m-01.keras", "m-02.keras", "r-01.safetensors", "r-02.safetensors",
        "rw-01.safetensors", "rw-02.safetensors", "w-01.weights.h5", "w-02.weights.h5"]


def test_summary_columns_have_keras_widths():
    # Keras 3.15 (rich) at the default 88 characters: cells of 38, 29 and 17 characters
    # between the borders (36, 27, 15 of text); 108 with "Connected to": 31, 27, 17, 28;
    # line_length=90 there: 26, 22, 14, 23
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    lines = []
    model.summary(print_fn=lambda s: lines.extend(s.splitlines()))
    top = next(l for l in lines if l.startswith("┏"))
    assert [len(seg) for seg in top[1:-1].split("┳")] == [38, 29, 17] and len(top) == 88
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    graph = keras.Model([a, b], keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))
    lines = []
    graph.summary(print_fn=lambda s: lines.extend(s.splitlines()))
    top = next(l for l in lines if l.startswith("┏"))
    assert [len(seg) for seg in top[1:-1].split("┳")] == [31, 27, 17, 28] and len(top) == 108
    lines = []
    graph.summary(line_length=90, print_fn=lambda s: lines.extend(s.splitlines()))
    top = next(l for l in lines if l.startswith("┏"))
    assert [len(seg) for seg in top[1:-1].split("┳")] == [26, 22, 14, 23] and len(top) == 90
    lines = []
    model.summary(line_length=60, print_fn=lambda s: lines.extend(s.splitlines()))
    top = next(l for l in lines if l.startswith("┏"))
    assert [len(seg) for seg in top[1:-1].split("┳")] == [26, 19, 11] and len(top) == 60


def test_binary_accuracy_takes_any_finite_threshold():
    # Keras 3: BinaryAccuracy(threshold=0.0) for a model that outputs logits (the TensorFlow
    # text-classification tutorial); predicted positive is y_pred > threshold (strict)
    y = np.array([[1.0], [0.0], [1.0], [0.0]])
    p = np.array([[0.3], [-0.2], [-0.1], [2.0]])
    for threshold, expect in ((0.0, 0.5), (-1.0, 0.5), (1.5, 0.25), (-0.15, 0.75)):
        m = keras.metrics.BinaryAccuracy(threshold=threshold)
        m.update_state(y, p)
        assert float(m.result()) == expect, threshold
        assert m.get_config()["threshold"] == threshold
    x = np.random.default_rng(2).normal(size=(32, 3)).astype(np.float32)
    t = (x[:, :1] > 0).astype(np.float32)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile("adam", keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[keras.metrics.BinaryAccuracy(threshold=0.0)])
    logs = model.evaluate(x, t, verbose=0, return_dict=True)
    logits = model.predict(x, verbose=0)
    assert logs["binary_accuracy"] == pytest.approx(float(((logits > 0) == (t > 0.5)).mean()))
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="threshold must be a finite number"):
            keras.metrics.BinaryAccuracy(threshold=bad)


def test_row_reducing_metrics_take_a_1d_pair_as_one_sample():
    # Keras reduces KL divergence, categorical cross-entropy, cosine similarity, categorical
    # hinge and the categorical accuracies over the last axis: 1-D y_true and y_pred are one
    # sample of 3 values (the losses already did so), not 3 samples of one value
    yt, yp = np.array([0.1, 0.5, 0.4]), np.array([0.2, 0.2, 0.6])
    kld = float(np.sum(yt * np.log(yt / yp)))
    cce = float(-np.sum(yt * np.log(yp / yp.sum())))
    a, b = np.array([1.0, -2.0, 3.0]), np.array([1.0, 2.0, 3.0])
    cos = float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))  # 6 / 14
    chinge = max(float(np.max((1 - b) * a) - np.sum(b * a) + 1), 0.0)  # y_true=b, y_pred=a
    cases = [(keras.metrics.KLDivergence(), yt, yp, kld), (keras.metrics.CategoricalCrossentropy(), yt, yp, cce),
             (keras.metrics.CosineSimilarity(), a, b, cos), (keras.metrics.CategoricalHinge(), b, a, chinge),
             (keras.metrics.CategoricalAccuracy(), yt, yp, 0.0), (keras.metrics.TopKCategoricalAccuracy(k=1), yt, yp, 0.0),
             (keras.metrics.TopKCategoricalAccuracy(k=2), yt, yp, 1.0)]
    for m, t, p, expect in cases:
        m.update_state(t, p)
        assert float(m.result()) == pytest.approx(expect, rel=1e-5, abs=1e-6), type(m).__name__
        assert float(getattr(keras.losses, "kl_divergence")(yt, yp)) == pytest.approx(kld, rel=1e-5)
    # the same pair as a (1, 3) batch gives the same numbers; element-wise metrics are unchanged
    m = keras.metrics.KLDivergence()
    m.update_state(yt[None], yp[None])
    assert float(m.result()) == pytest.approx(kld, rel=1e-5)
    m = keras.metrics.MeanSquaredError()
    m.update_state(a, b)
    assert float(m.result()) == pytest.approx(16 / 3, rel=1e-6)


def test_learning_rate_assign_and_numpy():
    # a warm-up callback's idiom: self.model.optimizer.learning_rate.assign(new_lr)
    import copy
    import pickle
    opt = keras.optimizers.Adam(0.01)
    lr = opt.learning_rate
    assert isinstance(lr, float) and lr == pytest.approx(0.01) and lr.numpy() == np.float32(0.01)
    lr.assign(0.25)
    assert float(opt.learning_rate) == 0.25
    opt.learning_rate.assign(np.float32(0.5))
    assert float(opt.learning_rate) == 0.5
    with pytest.raises(ValueError, match="learning_rate"):
        opt.learning_rate.assign(-1.0)
    assert type(pickle.loads(pickle.dumps(opt.learning_rate))) is float
    assert type(copy.deepcopy(opt.learning_rate)) is float

    class WarmUp(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.model.optimizer.learning_rate.assign(0.1 * (epoch + 1))

    x = np.ones((8, 2), np.float32)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.001), "mse")
    model.fit(x, np.zeros((8, 1), np.float32), epochs=3, verbose=0, callbacks=[WarmUp()])
    assert float(model.optimizer.learning_rate) == pytest.approx(0.3)
    sched = keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="not settable"):
        sched.learning_rate = 0.2


def test_get_metrics_result_and_reset_metrics():
    x = np.random.default_rng(4).normal(size=(16, 2)).astype(np.float32)
    y = (x[:, :1] > 0).astype(np.float32)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy", metrics=["accuracy", keras.metrics.AUC(name="auc")])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    got = model.get_metrics_result()
    assert sorted(got) == ["accuracy", "auc", "loss"] and {type(v) for v in got.values()} == {float}
    assert got == pytest.approx(logs)
    model.reset_metrics()
    assert model.get_metrics_result() == {"accuracy": 0.0, "auc": 0.0, "loss": 0.0}


def test_summary_counts_the_optimizer_iterations_as_int64():
    # Keras 3.15, Dense(3->2) + Adam after one step: 8 weights; optimizer 1 iterations (int64,
    # 8 bytes) + 1 learning rate + 2 * 8 slots = 18 params, 76 bytes; total 26 params, 108 bytes
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("adam", "mse")
    model.fit(np.ones((4, 3), np.float32), np.ones((4, 2), np.float32), verbose=0)
    lines = []
    model.summary(print_fn=lambda s: lines.extend(s.splitlines()))
    assert " Total params: 26 (108.00 B)" in lines
    assert " Optimizer params: 18 (76.00 B)" in lines
    assert " Trainable params: 8 (32.00 B)" in lines


def test_summary_hands_print_fn_the_whole_summary_once():
    # Keras 3: print_fn(console capture) once; the text holds the title, the table and the
    # parameter counts, each line ending in a newline
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="dense")], name="tiny")
    calls = []
    model.summary(print_fn=calls.append)
    assert len(calls) == 1
    text = calls[0]
    assert text.startswith('Model: "tiny"\n') and text.endswith("\n")
    assert " Total params: 15 (60.00 B)\n" in text and "│ dense (Dense)" in text
