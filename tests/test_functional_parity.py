"""Functional-API behaviour checked against facts observed in Keras 3 (written in here;
no test imports Keras)."""
import numpy as np
import pytest

import ranvier as keras


def _base():
    return keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(8, activation="relu", name="d1"),
                             keras.layers.Dense(3, name="d2")], name="base")


def test_model_trainable_false_freezes_every_layer():
    # Keras: model.trainable = False sets each sublayer's trainable to False; the model then
    # has no trainable weights (Dense+Dense: 0 trainable, 4 non-trainable)
    base = _base()
    base.trainable = False
    assert [l.trainable for l in base.layers] == [False, False]
    assert len(base.trainable_weights) == 0 and len(base.non_trainable_weights) == 4
    base.trainable = True
    assert [l.trainable for l in base.layers] == [True, True]
    assert len(base.trainable_weights) == 4


def test_frozen_nested_model_is_not_trained():
    # Keras transfer-learning pattern: base.trainable = False, then a head on top: only the
    # head's 2 weights train and the base's 4 are left alone by fit
    rng = np.random.default_rng(0)
    base = _base()
    base.trainable = False
    i = keras.Input(shape=(4,), name="i")
    m = keras.Model(i, keras.layers.Dense(2, name="head")(base(i, training=False)))
    assert len(m.trainable_weights) == 2 and len(m.non_trainable_weights) == 4
    m.compile("adam", "mse")
    x = rng.normal(size=(32, 4)).astype("float32")
    y = np.ones((32, 2), "float32")
    before = base.get_weights()
    head_before = m.get_layer("head").get_weights()
    m.fit(x, y, epochs=1, verbose=0)
    for a, b in zip(before, base.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(head_before, m.get_layer("head").get_weights()))
    # unfreezing and recompiling trains the base again (Keras's fine-tuning step)
    base.trainable = True
    m.compile("adam", "mse")
    assert len(m.trainable_weights) == 6
    m.fit(x, y, epochs=1, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, base.get_weights()))


def test_frozen_model_inside_a_graph():
    # a frozen Sequential called twice in a two-input graph: Keras 0 trainable, 2 non-trainable
    a = keras.Input(shape=(4,), name="a")
    b = keras.Input(shape=(4,), name="b")
    base2 = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, name="e1")], name="base2")
    base2.trainable = False
    g = keras.Model([a, b], keras.layers.Add()([base2(a), base2(b)]))
    assert len(g.trainable_weights) == 0 and len(g.non_trainable_weights) == 2
    g.compile("sgd", "mse")
    w = base2.get_weights()
    x = np.ones((8, 4), "float32")
    g.fit([x, 2 * x], np.zeros((8, 3), "float32"), epochs=1, verbose=0)
    for p, q in zip(w, base2.get_weights()):
        np.testing.assert_array_equal(p, q)


def test_model_built_with_trainable_false():
    # Keras: Sequential(layers, trainable=False) leaves the layers' own flags True but the
    # model has 0 trainable and 4 non-trainable weights, and fit changes nothing
    s = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2), keras.layers.Dense(1)], trainable=False)
    assert s.trainable is False
    assert [l.trainable for l in s.layers] == [True, True]
    assert len(s.trainable_weights) == 0 and len(s.non_trainable_weights) == 4
    s.compile("adam", "mse")
    w = s.get_weights()
    s.fit(np.ones((4, 4), "float32"), np.ones((4, 1), "float32"), epochs=1, verbose=0)
    for p, q in zip(w, s.get_weights()):
        np.testing.assert_array_equal(p, q)
    with pytest.raises((TypeError, ValueError)):
        s.trainable = "no"


def test_normalization_statistics_in_broadcast_shape():
    # Keras: after adapt on (n, 2) rows, normalizer.mean / .variance have shape (1, 2) (the
    # TensorFlow regression tutorial prints normalizer.mean.numpy() as [[...]]) while the
    # weights stay (2,), (2,), (); axis=None gives (1, 1); a (5, 3, 2) adapt gives (1, 1, 2)
    data = np.array([[1.0, 10.0], [3.0, 30.0], [5.0, 50.0]])
    n = keras.layers.Normalization()
    n.adapt(data)
    assert np.asarray(n.mean).shape == (1, 2) and n.mean.numpy().shape == (1, 2)
    np.testing.assert_allclose(n.mean.numpy(), data.mean(axis=0, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(n.variance), data.var(axis=0, keepdims=True), rtol=1e-6)
    assert [tuple(w.shape) for w in n.weights] == [(2,), (2,), ()]
    n0 = keras.layers.Normalization(axis=None)
    n0.adapt(data)
    assert np.asarray(n0.mean).shape == (1, 1)
    np.testing.assert_allclose(np.asarray(n0.mean).item(), data.mean(), rtol=1e-6)
    n3 = keras.layers.Normalization()
    n3.adapt(np.arange(30.0).reshape(5, 3, 2))
    assert np.asarray(n3.variance).shape == (1, 1, 2)
    fixed = keras.layers.Normalization(mean=[1.0, 2.0], variance=[4.0, 1.0])
    fixed(np.ones((2, 2), "float32"))
    np.testing.assert_array_equal(np.asarray(fixed.mean), [[1.0, 2.0]])
    np.testing.assert_array_equal(np.asarray(fixed.variance), [[4.0, 1.0]])


@pytest.mark.parametrize("make", [lambda: keras.layers.Dropout(0.5, seed=3),
                                  lambda: keras.layers.GaussianNoise(1.0, seed=3)])
def test_random_layer_called_twice_draws_independently(make):
    # Keras: a Dropout (or GaussianNoise) layer called twice draws a new mask per call (its
    # seed generator advances), so Subtract()([d(x), d(x)]) is not zero in training and the
    # Dense after it gets a gradient: its ones-initialized kernel moves under SGD. Identical
    # draws would make the difference exactly 0 and leave the kernel at 1.
    x = keras.Input(shape=(50,), name="x")
    d = make()
    diff = keras.layers.Subtract()([d(x), d(x)])
    out = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones", name="out")(diff)
    m = keras.Model(x, out)
    m.compile(keras.optimizers.SGD(0.01), "mse")
    xs = np.ones((64, 50), "float32")
    m.fit(xs, np.zeros((64, 1), "float32"), epochs=1, batch_size=64, verbose=0)
    assert not np.allclose(m.get_layer("out").get_weights()[0], 1.0)
    # inference: no draws, both calls are the identity, the difference is 0
    np.testing.assert_array_equal(m.predict(xs[:2], verbose=0), np.zeros((2, 1), "float32"))


def test_shared_dropout_graph_resumes_exactly_from_its_file(tmp_path):
    # the later calls' seeds are derived from the layer's saved seed, so a reloaded model
    # draws the same masks and resumes bit for bit
    keras.utils.set_random_seed(0)
    x = keras.Input(shape=(20,), name="x")
    dr = keras.layers.Dropout(0.5)
    h = keras.layers.Dense(8, name="h")(x)
    out = keras.layers.Dense(1, name="out")(keras.layers.Concatenate()([dr(h), dr(h), dr(h)]))
    m = keras.Model(x, out)
    m.compile(keras.optimizers.Adam(0.01), "mse")
    rng = np.random.default_rng(0)
    xs, ys = rng.normal(size=(64, 20)).astype("float32"), rng.normal(size=(64, 1)).astype("float32")
    m.fit(xs, ys, epochs=1, batch_size=16, verbose=0, shuffle=False)
    m.save(tmp_path / "m.keras")
    r = keras.models.load_model(tmp_path / "m.keras")
    r.fit(xs, ys, epochs=1, batch_size=16, verbose=0, shuffle=False)
    m.fit(xs, ys, epochs=1, batch_size=16, verbose=0, shuffle=False)
    for a, b in zip(m.get_weights(), r.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_model_used_as_a_layer_is_one_entry_of_layers():
    # keras.io functional guide's autoencoder: autoencoder.layers is ['img', 'encoder',
    # 'decoder'] (the models as one entry each), get_config lists them as nested models, the
    # summary rows are 'encoder (Functional)' 140 params and 'decoder (Functional)' 148
    enc_in = keras.Input(shape=(12,), name="img")
    encoder = keras.Model(enc_in, keras.layers.Dense(4)(keras.layers.Dense(8, activation="relu")(enc_in)),
                          name="encoder")
    dec_in = keras.Input(shape=(4,), name="encoded_img")
    decoder = keras.Model(dec_in, keras.layers.Dense(12)(keras.layers.Dense(8, activation="relu")(dec_in)),
                          name="decoder")
    auto_in = keras.Input(shape=(12,), name="img")
    auto = keras.Model(auto_in, decoder(encoder(auto_in)), name="autoencoder")
    assert [l.name for l in auto.layers] == ["img", "encoder", "decoder"]
    assert auto.get_layer("encoder") is encoder and auto.get_layer(index=2) is decoder
    assert len(auto.weights) == 8
    config = auto.get_config()
    assert [(l["class_name"], l["name"]) for l in config["layers"]] == [
        ("InputLayer", "img"), ("Functional", "encoder"), ("Functional", "decoder")]
    again = keras.Model.from_config(config)
    assert [l.name for l in again.layers] == ["img", "encoder", "decoder"]
    lines = []
    auto.summary(print_fn=lambda s: lines.extend(s.splitlines()))
    text = "\n".join(lines)
    assert "encoder (Functional)" in text and "140" in text and "148" in text
    assert "Connected to" not in text  # sequential-like: Keras leaves the column out
    x = np.random.default_rng(0).normal(size=(5, 12)).astype("float32")
    np.testing.assert_allclose(auto.predict(x, verbose=0), decoder.predict(encoder.predict(x, verbose=0), verbose=0),
                               rtol=1e-5, atol=1e-6)


def _tutorial_prob_model():
    base = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(8, activation="relu", name="d1"),
                             keras.layers.Dense(3, name="d2")], name="base")
    return base, keras.Sequential([base, keras.layers.Dense(3, name="dense"), keras.layers.Softmax(name="softmax")])


def test_sequential_holding_a_model_lists_it_as_one_layer():
    # Keras (the TF classification tutorial's Sequential([model, Softmax()])): layers is
    # ['base', 'dense', 'softmax'], get_layer('base') is the model, its config entry is
    # ('Sequential', 'base') with build_config input_shape [None, 4], the summary row is
    # 'base (Sequential)' (None, 3) 67 params, and pop() removes the whole model
    keras.backend.clear_session()  # the automatic names below are a fresh session's
    base, prob = _tutorial_prob_model()
    assert [l.name for l in prob.layers] == ["base", "dense", "softmax"]
    assert prob.layers[0] is base and prob.get_layer("base") is base and prob.get_layer(index=0) is base
    assert prob.get_layer("d1") is base.layers[0]  # ranvier also finds the inner layer
    config = prob.get_config()
    entries = config["layers"]
    assert [(e["class_name"], e["config"]["name"]) for e in entries] == [
        # Keras 3.15: the outer model's own InputLayer, made at its build, is the session's second
        ("InputLayer", "input_layer_1"), ("Sequential", "base"), ("Dense", "dense"), ("Softmax", "softmax")]
    assert entries[1]["build_config"] == {"input_shape": [None, 4]}
    again = keras.Sequential.from_config(config)
    assert [l.name for l in again.layers] == ["base", "dense", "softmax"]
    assert isinstance(again.layers[0], keras.Sequential)
    lines = []
    prob.summary(print_fn=lambda s: lines.extend(s.splitlines()))
    row = next(l for l in lines if "base (Sequential)" in l)
    assert "(None, 3)" in row and "67" in row
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    want = prob.predict(x, verbose=0)
    np.testing.assert_allclose(want.sum(axis=1), 1.0, rtol=1e-6)
    popped = prob.pop()
    assert popped.name == "softmax"
    prob.pop()
    assert prob.pop() is base and prob.layers == []


def test_sequential_holding_a_model_saves_keras_weight_keys(tmp_path):
    # Keras's .keras archive of Sequential([base, Dense(3), Softmax()]) holds the weights at
    # layers/dense/vars/{0,1} and layers/sequential/layers/dense{,_1}/vars/{0,1}
    import io
    import zipfile
    h5py = pytest.importorskip("h5py")
    base, prob = _tutorial_prob_model()
    prob.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
    prob.fit(x, np.arange(16) % 3, epochs=1, verbose=0)
    want = prob.predict(x, verbose=0)
    prob.save(tmp_path / "p.keras")
    with zipfile.ZipFile(tmp_path / "p.keras") as z:
        f = h5py.File(io.BytesIO(z.read("model.weights.h5")), "r")
        keys = []
        f.visit(lambda k: keys.append(k) if isinstance(f[k], h5py.Dataset) and k.startswith("layers/") else None)
    assert sorted(keys) == ["layers/dense/vars/0", "layers/dense/vars/1",
                            "layers/sequential/layers/dense/vars/0", "layers/sequential/layers/dense/vars/1",
                            "layers/sequential/layers/dense_1/vars/0", "layers/sequential/layers/dense_1/vars/1"]
    for path in (tmp_path / "p.keras", tmp_path / "p.safetensors"):
        if path.suffix == ".safetensors":
            prob.save(path)
        r = keras.models.load_model(path)
        np.testing.assert_array_equal(r.predict(x, verbose=0), want)
    assert [l.name for l in keras.models.load_model(tmp_path / "p.keras").layers] == ["base", "dense", "softmax"]


def test_metrics_names_of_a_multi_output_model():
    # Keras 3 (two outputs o1, o2): compile("sgd", "mse") gives metrics_names ['loss'] (no
    # 'compile_metrics' without metrics), then after evaluate ['loss', 'o1_loss', 'o2_loss'];
    # loss=['mse', None] stays ['loss'] (one loss: no per-output trackers); with
    # metrics={'o2': 'mae'}: ['loss', 'compile_metrics'] then [..., 'o1_loss', 'o2_loss']
    a = keras.Input(shape=(3,), name="a")
    m = keras.Model(a, [keras.layers.Dense(1, name="o1")(a), keras.layers.Dense(2, name="o2")(a)])
    x = np.ones((8, 3), "float32")
    y = [np.ones((8, 1), "float32"), np.ones((8, 2), "float32")]
    for loss, metrics, before, after in [
            ("mse", None, ["loss"], ["loss", "o1_loss", "o2_loss"]),
            (["mse", None], None, ["loss"], ["loss"]),
            ({"o1": "mse", "o2": "mae"}, {"o2": "mae"}, ["loss", "compile_metrics"],
             ["loss", "compile_metrics", "o1_loss", "o2_loss"])]:
        m.compile("sgd", loss, metrics=metrics)
        assert m.metrics_names == before
        logs = m.evaluate(x, y, verbose=0, return_dict=True)
        assert m.metrics_names == after
        for metric in m.metrics:
            if metric.name.endswith("_loss"):
                assert metric.result() == pytest.approx(logs[metric.name], rel=1e-6)


def test_dict_inputs_and_outputs_keep_their_order_where_keras_does(tmp_path):
    # Keras: Model({"num": num, "cat": cat}, {"prob": o1, "cls": o2}): model.inputs is in
    # sorted-key order (cat, num), but predict returns the dict in the order given (prob, cls)
    # and get_config's input_layers / output_layers keep the given order too
    num = keras.Input(shape=(3,), name="num")
    cat = keras.Input(shape=(1,), name="cat", dtype="int64")
    h = keras.layers.Concatenate(name="cc")([num, keras.layers.Flatten()(keras.layers.Embedding(5, 2)(cat))])
    model = keras.Model({"num": num, "cat": cat},
                        {"prob": keras.layers.Dense(1, name="prob")(h), "cls": keras.layers.Dense(3, name="cls")(h)})
    assert [t.name for t in model.inputs] == ["cat", "num"]
    config = model.get_config()
    assert list(config["input_layers"]) == ["num", "cat"]
    assert list(config["output_layers"]) == ["prob", "cls"]
    x = {"num": np.ones((4, 3), "float32"), "cat": np.zeros((4, 1), "int64")}
    out = model.predict(x, verbose=0)
    assert list(out) == ["prob", "cls"] and out["prob"].shape == (4, 1) and out["cls"].shape == (4, 3)
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    assert list(again.predict(x, verbose=0)) == ["prob", "cls"]
    assert list(keras.Model.from_config(config).get_config()["output_layers"]) == ["prob", "cls"]


def test_symbolic_dtypes_of_index_outputs():
    # Keras 3: StringLookup / IntegerLookup with output_mode="int" give int64 symbolic
    # tensors, Discretization int32; the encodings (one_hot, multi_hot, count) and
    # Embedding give float32
    def out(layer, dtype, width=1):
        return layer(keras.Input(shape=(width,), dtype=dtype))

    assert out(keras.layers.StringLookup(vocabulary=["a"]), "string").dtype == "int64"
    assert out(keras.layers.IntegerLookup(vocabulary=[1]), "int64").dtype == "int64"
    assert out(keras.layers.Discretization(bin_boundaries=[0.0]), "float32", 2).dtype == "int32"
    assert out(keras.layers.StringLookup(vocabulary=["a"], output_mode="one_hot"), "string").dtype == "float32"
    assert out(keras.layers.IntegerLookup(vocabulary=[1], output_mode="multi_hot"), "int64").dtype == "float32"
    assert out(keras.layers.CategoryEncoding(num_tokens=3), "int32").dtype == "float32"
    assert out(keras.layers.Embedding(3, 2), "int32").dtype == "float32"
    # and such a tensor feeds an Embedding in a model that trains and predicts
    code = keras.Input(shape=(1,), dtype="int64", name="code")
    ids = keras.layers.IntegerLookup(vocabulary=[10, 20, 30], name="il")(code)
    model = keras.Model(code, keras.layers.Dense(1)(keras.layers.Flatten()(keras.layers.Embedding(4, 2)(ids))))
    model.compile("adam", "mse")
    model.fit(np.array([[10], [30], [99]]), np.ones((3, 1), "float32"), epochs=1, verbose=0)
    assert model.predict(np.array([[20]]), verbose=0).shape == (1, 1)


def test_dict_with_a_non_string_key_is_a_clear_error():
    a = keras.Input(shape=(1,), name="a")
    b = keras.Input(shape=(1,), name="b")
    out = keras.layers.Add()([a, b])
    with pytest.raises(ValueError, match="keys of a dict of inputs must be strings"):
        keras.Model({1: a, "b": b}, out)


def test_clone_model_makes_new_weights_of_the_same_architecture():
    # Keras: clone_model keeps the layer names and configs (a nested model stays one entry)
    # and initializes new weights that are not shared with the original
    base = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(3, name="bd")], name="base")
    seq = keras.Sequential([base, keras.layers.Dense(1, name="top")], name="seq")
    a = keras.Input(shape=(4,), name="a")
    b = keras.Input(shape=(2,), name="b")
    fun = keras.Model([a, b], keras.layers.Dense(2, name="out")(keras.layers.Concatenate(name="cc")([
        keras.layers.Dense(3, name="fd")(a), b])), name="fun")
    for model in (seq, fun):
        clone = keras.models.clone_model(model)
        assert clone is not model and clone.name == model.name
        assert [l.name for l in clone.layers] == [l.name for l in model.layers]
        assert [w.shape for w in clone.weights] == [w.shape for w in model.weights]
        assert len(clone.trainable_variables) == len(model.trainable_weights)
        assert all(l not in model.layers for l in clone.layers if not isinstance(l, keras.layers.InputLayer))
        before = [w.copy() for w in model.get_weights()]
        clone.set_weights([np.full(w.shape, 0.5, "float32") for w in clone.get_weights()])
        for w, v in zip(before, model.get_weights()):
            np.testing.assert_array_equal(w, v)
    assert isinstance(keras.models.clone_model(seq).layers[0], keras.Sequential)
    custom = keras.models.clone_model(seq, clone_function=lambda l: l.__class__.from_config(
        dict(l.get_config(), name=l.name + "_c")) if not isinstance(l, keras.Sequential) else l)
    assert [l.name for l in custom.layers] == ["base", "top_c"]


@pytest.mark.parametrize("where", ["layer", "nested_sequential", "nested_functional"])
def test_training_false_at_build_time_does_not_fix_the_mode_in_fit(where):
    # Keras 3.15: Dropout(0.9) called with training=False (directly, or in a model called
    # with training=False) still drops in fit: the mean squared error of summing 50 ones
    # dropped at 0.9 and scaled by 10 against 50 is ~450 (0 if the mode were fixed); predict
    # runs in inference mode (exactly 50)
    i = keras.Input(shape=(50,))
    if where == "layer":
        x = keras.layers.Dropout(0.9, seed=1)(i, training=False)
    elif where == "nested_sequential":
        x = keras.Sequential([keras.Input(shape=(50,)), keras.layers.Dropout(0.9, seed=1)])(i, training=False)
    else:
        j = keras.Input(shape=(50,))
        x = keras.Model(j, keras.layers.Dropout(0.9, seed=1)(j))(i, training=False)
    m = keras.Model(i, keras.layers.Dense(1, use_bias=False, kernel_initializer="ones", trainable=False)(x))
    m.compile("sgd", "mse")
    xs = np.ones((256, 50), "float32")
    ys = np.full((256, 1), 50.0, "float32")
    loss = m.fit(xs, ys, epochs=1, batch_size=256, verbose=0).history["loss"][0]
    assert 200.0 < loss < 800.0
    np.testing.assert_allclose(m.predict(xs[:3], verbose=0), ys[:3], rtol=1e-6)


def test_transfer_learning_guide_pattern_with_batch_normalization():
    # keras.io transfer learning: base.trainable = False; x = base(inputs, training=False);
    # a frozen BatchNormalization keeps its moving statistics in fit (Keras: unchanged)
    rng = np.random.default_rng(0)
    base = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(8, name="d1"),
                             keras.layers.BatchNormalization(name="bn")], name="base")
    base.trainable = False
    i = keras.Input(shape=(4,))
    m = keras.Model(i, keras.layers.Dense(1, name="head")(base(i, training=False)))
    assert len(m.trainable_weights) == 2 and len(m.non_trainable_weights) == 6
    m.compile("adam", "mse")
    before = base.get_layer("bn").get_weights()
    m.fit(rng.normal(size=(64, 4)).astype("float32") * 3 + 2, np.ones((64, 1), "float32"), epochs=1, verbose=0)
    for a, b in zip(before, base.get_layer("bn").get_weights()):
        np.testing.assert_array_equal(a, b)


def test_tensorflow_regression_tutorial_reuses_its_normalizer():
    # the TensorFlow "Basic regression" tutorial adapts one Normalization and puts it in a
    # linear model and then in a DNN (Keras shares the layer); its summary before the DNN is
    # built counts the adapted normalizer's 19 weights (9 means, 9 variances, the count)
    rng = np.random.default_rng(0)
    train_features = rng.normal(size=(200, 9)) * rng.uniform(1, 100, size=9) + rng.uniform(-50, 50, size=9)
    train_labels = (train_features @ rng.normal(size=9) * 0.01 + 3).astype("float32")
    normalizer = keras.layers.Normalization(axis=-1)
    normalizer.adapt(np.array(train_features))
    assert normalizer.mean.numpy().shape == (1, 9)
    linear_model = keras.Sequential([normalizer, keras.layers.Dense(units=1)])
    linear_model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.1), loss="mean_absolute_error")
    linear_model.fit(train_features, train_labels, epochs=2, verbose=0, validation_split=0.2)
    dnn_model = keras.Sequential([normalizer, keras.layers.Dense(64, activation="relu"),
                                  keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
    lines = []
    dnn_model.summary(print_fn=lambda s: lines.extend(s.splitlines()))
    assert any("Total params: 19 " in line for line in lines)
    dnn_model.compile(loss="mean_absolute_error", optimizer=keras.optimizers.Adam(0.001))
    dnn_model.fit(train_features, train_labels, validation_split=0.2, verbose=0, epochs=2)
    assert isinstance(dnn_model.evaluate(train_features, train_labels, verbose=0), float)
    assert dnn_model.layers[0] is linear_model.layers[0] is normalizer
    np.testing.assert_allclose(normalizer.mean.numpy(), train_features.mean(axis=0, keepdims=True), rtol=1e-5)
    # both models still predict through the shared statistics
    assert linear_model.predict(train_features[:3], verbose=0).shape == (3, 1)
    # the horsepower model: axis=None adapted on a 1-D column has mean shape (1,)
    hp = keras.layers.Normalization(input_shape=[1], axis=None)
    hp.adapt(np.array(train_features[:, 3]))
    assert np.asarray(hp.mean).shape == (1,)


def test_config_details_of_flatten_and_discretization():
    # Keras 3: Flatten().get_config()["data_format"] is "channels_last" (the standardized
    # default); Discretization's config has a plain dtype name and no "trainable" key
    assert keras.layers.Flatten().get_config()["data_format"] == "channels_last"
    assert keras.layers.Flatten(data_format="channels_first").get_config()["data_format"] == "channels_first"
    config = keras.layers.Discretization(bin_boundaries=[0.0, 1.0]).get_config()
    assert config["dtype"] == "float32" and "trainable" not in config
    again = keras.layers.Discretization.from_config(config)
    np.testing.assert_array_equal(np.asarray(again(np.array([[-1.0, 0.5, 2.0]]))), [[0, 1, 2]])


def test_sequential_holding_a_model_round_trips_through_the_ranvier_file(tmp_path):
    # the ranvier model file keeps the flat chain the C/C++ loaders run, and Python's loader
    # (and pickle) gives the nested model back as one entry; training resumes bit for bit
    import pickle

    from ranvier import _core
    keras.utils.set_random_seed(3)
    base = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(8, activation="relu", name="d1"),
                             keras.layers.Dropout(0.3, name="drop"), keras.layers.Dense(3, name="d2")], name="base")
    prob = keras.Sequential([base, keras.layers.Dense(3, name="head"), keras.layers.Softmax(name="sm")])
    prob.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = np.arange(32) % 3
    prob.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    path = tmp_path / "p.safetensors"
    prob.save(path)
    want = prob.predict(x, verbose=0)
    np.testing.assert_array_equal(_core.io_cpp_predict(str(path), x, 32), want)
    for again in (keras.models.load_model(path), pickle.loads(pickle.dumps(prob))):
        assert [l.name for l in again.layers] == ["base", "head", "sm"]
        assert [l.name for l in again.layers[0].layers] == ["d1", "drop", "d2"]
        np.testing.assert_array_equal(again.predict(x, verbose=0), want)
    resumed = keras.models.load_model(path)
    resumed.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    prob.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for a, b in zip(prob.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_model_with_outputs_none_is_a_value_error():
    # Keras: keras.Model(inputs=x, outputs=None) raises ValueError ("All `outputs` values must
    # be KerasTensors"); Model() with neither stays the subclassing TypeError here
    x = keras.Input(shape=(2,))
    with pytest.raises(ValueError, match="outputs"):
        keras.Model(inputs=x, outputs=None)
    with pytest.raises(ValueError, match="inputs"):
        keras.Model(inputs=None, outputs=keras.layers.Dense(1)(x))


def test_errors_a_keras_user_catches_as_value_error():
    # Keras 3: fit / evaluate / train_on_batch before compile raise ValueError ("You must call
    # `compile()` before using the model"); string data for a float input raises ValueError
    # ("Invalid dtype: str32"). ranvier's errors are caught by `except ValueError` too (and
    # still by its RuntimeError / TypeError)
    a = keras.Input(shape=(3,), name="a")
    b = keras.Input(shape=(2,), name="b")
    m = keras.Model([a, b], keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))
    xs = [np.ones((4, 3), "float32"), np.ones((4, 2), "float32")]
    for call in (lambda: m.fit(xs, np.ones((4, 1)), verbose=0), lambda: m.evaluate(xs, np.ones((4, 1)), verbose=0),
                 lambda: m.train_on_batch(xs, np.ones((4, 1)))):
        with pytest.raises(ValueError, match="compile"):
            call()
        with pytest.raises(RuntimeError, match="compile"):
            call()
    seq = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="compile"):
        seq.fit(xs[0], np.ones((4, 1)), verbose=0)
    for data in ([np.array([["a", "b", "c"]]), np.ones((1, 2))], np.array([["a", "b", "c"]])):
        model = m if isinstance(data, list) else seq
        with pytest.raises(ValueError, match="real numbers"):
            model.predict(data, verbose=0)
        with pytest.raises(TypeError, match="real numbers"):
            model.predict(data, verbose=0)


def test_sequential_get_layer_checks_as_keras():
    # Keras: get_layer(index=10) on a 1-layer model, get_layer(name=..., index=...) and
    # get_layer() all raise ValueError; a negative index counts from the end
    s = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2, name="a"), keras.layers.Dense(1, name="b")])
    assert s.get_layer(index=-1).name == "b" and s.get_layer(index=0).name == "a"
    for kwargs in ({"index": 10}, {"name": "a", "index": 0}, {}):
        with pytest.raises(ValueError):
            s.get_layer(**kwargs)


def test_sequential_summary_expand_nested():
    # Keras: prob.summary(expand_nested=True) lists the nested model's layers under its row
    # ("   └ d1 (Dense)" (None, 8) 40, "   └ d2 (Dense)" (None, 3) 27); without it, one row
    base, prob = _tutorial_prob_model()
    lines = []
    prob.summary(expand_nested=True, print_fn=lambda s: lines.extend(s.splitlines()))
    text = "\n".join(lines)
    assert "└ d1 (Dense)" in text and "└ d2 (Dense)" in text
    row = next(l for l in lines if "└ d1 (Dense)" in l)
    assert "(None, 8)" in row and "40" in row
    lines = []
    prob.summary(print_fn=lambda s: lines.extend(s.splitlines()))
    assert not any("d1 (Dense)" in l for l in lines)


def test_weight_paths_as_keras_names_them():
    # Keras 3: a layer a Sequential builds has "<model>/<layer>/<weight>" paths
    # ('seqname/d/kernel'; a lazily built Sequential too), a functional model's layer (built
    # when called on a symbolic tensor) and a standalone layer "<layer>/<weight>"
    s = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2, name="d")], name="seqname")
    assert [w.path for w in s.weights] == ["seqname/d/kernel", "seqname/d/bias"]
    lazy = keras.Sequential([keras.layers.Dense(2, name="d2")], name="lazy")
    lazy.build((None, 3))
    assert [w.path for w in lazy.weights] == ["lazy/d2/kernel", "lazy/d2/bias"]
    i = keras.Input(shape=(4,))
    m = keras.Model(i, keras.layers.Dense(1, name="f")(i), name="fun")
    assert [w.path for w in m.weights] == ["f/kernel", "f/bias"]
    solo = keras.layers.Dense(2, name="solo")
    solo.build((None, 3))
    assert [w.path for w in solo.weights] == ["solo/kernel", "solo/bias"]
