"""fit / evaluate / predict on generators, iterables of batches, PyDataset and duck-typed
datasets (tf.data, torch DataLoader), and Keras's steps_per_epoch / validation_steps
semantics (Keras 3). Batches go one by one to the C++ step, so training on
the same batches in the same order must give the same weights as the array path with
shuffle=False (compared at float32 rtol 1e-6: the same C++ batch function runs on the
same rows)."""
import warnings

import numpy as np
import pytest

import ranvier as keras
from ranvier import _data

N, D, BS = 96, 5, 16  # 6 batches


def _data_xy(seed=0, n=N):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, D)).astype(np.float32)
    y = (x @ rng.normal(size=(D, 1))).astype(np.float32)
    return x, y


def _model(metrics=("mae",), seed=1):
    keras.utils.set_random_seed(seed)
    m = keras.Sequential([keras.Input((D,)), keras.layers.Dense(7, activation="tanh"), keras.layers.Dense(1)])
    m.compile(keras.optimizers.SGD(0.05), "mse", metrics=list(metrics))
    return m


def _batches(x, y, bs=BS, sw=None):
    for i in range(0, len(x), bs):
        if sw is None:
            yield x[i:i + bs], y[i:i + bs]
        else:
            yield x[i:i + bs], y[i:i + bs], sw[i:i + bs]


class Counter(keras.callbacks.Callback):
    """Counts training batches per epoch and records every hook in order."""

    def __init__(self):
        super().__init__()
        self.per_epoch = []
        self.events = []

    def on_epoch_begin(self, epoch, logs=None):
        self.per_epoch.append(0)
        self.events.append("epoch_begin")

    def on_train_batch_end(self, batch, logs=None):
        self.per_epoch[-1] += 1

    def on_test_begin(self, logs=None):
        self.events.append("test_begin")

    def on_test_batch_begin(self, batch, logs=None):
        self.events.append("test_batch_begin")

    def on_test_batch_end(self, batch, logs=None):
        self.events.append("test_batch_end")

    def on_test_end(self, logs=None):
        self.events.append(("test_end", tuple(sorted(logs))))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", tuple(sorted(logs))))

    def on_train_end(self, logs=None):
        self.events.append(("train_end", tuple(sorted(logs))))


class ArrayDataset(keras.utils.PyDataset):
    def __init__(self, x, y, bs=BS, sw=None, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.bs, self.sw = x, y, bs, sw
        self.calls = []
        self.epoch_ends = 0
        self.epoch_begins = 0

    def __len__(self):
        return -(-len(self.x) // self.bs)

    def __getitem__(self, i):
        self.calls.append(i)
        s = slice(i * self.bs, (i + 1) * self.bs)
        if self.sw is not None:
            return self.x[s], self.y[s], self.sw[s]
        return self.x[s], self.y[s]

    def on_epoch_begin(self):
        self.epoch_begins += 1

    def on_epoch_end(self):
        self.epoch_ends += 1


def _same_as_arrays(make_source, epochs=3, **fit_kwargs):
    x, y = _data_xy()
    a, b = _model(), _model()
    b.set_weights(a.get_weights())
    ha = a.fit(x, y, batch_size=BS, epochs=epochs, shuffle=False, verbose=0)
    hb = b.fit(make_source(x, y), epochs=epochs, verbose=0, **fit_kwargs)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wb, wa, rtol=1e-6, atol=1e-7)
    for k in ha.history:
        np.testing.assert_allclose(hb.history[k], ha.history[k], rtol=1e-6)
    return a, b


def test_infinite_generator_with_steps_matches_arrays():
    def gen(x, y):
        while True:
            yield from _batches(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _same_as_arrays(gen, steps_per_epoch=N // BS)


def test_reiterable_and_pydataset_match_arrays():
    class Batches:
        def __init__(self, x, y):
            self.x, self.y = x, y

        def __iter__(self):
            return _batches(self.x, self.y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _same_as_arrays(Batches)
    _same_as_arrays(lambda x, y: ArrayDataset(x, y), shuffle=False)
    _same_as_arrays(lambda x, y: ArrayDataset(x, y, workers=3, max_queue_size=2), shuffle=False)


def test_evaluate_and_predict_match_arrays():
    x, y = _data_xy()
    m = _model()
    m.fit(x, y, epochs=1, verbose=0)
    want = m.evaluate(x, y, batch_size=BS, verbose=0)
    got = m.evaluate(_batches(x, y), verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    got_d = m.evaluate(ArrayDataset(x, y), verbose=0, return_dict=True)
    assert sorted(got_d) == ["loss", "mae"]
    np.testing.assert_allclose([got_d["loss"], got_d["mae"]], want, rtol=1e-6)
    np.testing.assert_allclose(m.predict((b for b, _ in _batches(x, y)), verbose=0), m.predict(x, verbose=0),
                               rtol=1e-6)
    np.testing.assert_allclose(m.predict(ArrayDataset(x, y), verbose=0), m.predict(x, verbose=0), rtol=1e-6)
    # (x,) batches and bare arrays for predict; steps caps the batches
    assert m.predict(((b,) for b, _ in _batches(x, y)), steps=2, verbose=0).shape == (2 * BS, 1)
    # arrays with steps: at most steps batches (Keras)
    np.testing.assert_allclose(m.evaluate(x, y, batch_size=BS, steps=2, verbose=0),
                               m.evaluate(x[:2 * BS], y[:2 * BS], verbose=0), rtol=1e-6)
    assert m.predict(x, batch_size=BS, steps=3, verbose=0).shape == (3 * BS, 1)


def test_finite_generator_steps_semantics():
    x, y = _data_xy(n=4 * BS)  # 4 batches
    m = _model()
    c = Counter()
    with pytest.warns(UserWarning, match="ran out of data"):
        m.fit(_batches(x, y), steps_per_epoch=2, epochs=3, verbose=0, callbacks=[c], shuffle=False)
    assert c.per_epoch == [2, 2, 0]
    c = Counter()
    with pytest.warns(UserWarning, match="ran out of data"):
        m.fit(_batches(x, y), steps_per_epoch=3, epochs=2, verbose=0, callbacks=[c], shuffle=False)
    assert c.per_epoch == [3, 1]
    # no steps: the first epoch exhausts the generator; later epochs get nothing, with the warning
    c = Counter()
    with pytest.warns(UserWarning, match="ran out of data"):
        h = m.fit(_batches(x, y), epochs=2, verbose=0, callbacks=[c], shuffle=False)
    assert c.per_epoch == [4, 0] and len(h.history["loss"]) == 2


def test_pydataset_steps_epochs_and_hooks():
    x, y = _data_xy(n=4 * BS)
    ds = ArrayDataset(x, y)
    m = _model()
    c = Counter()
    with pytest.warns(UserWarning, match="ran out of data"):
        m.fit(ds, steps_per_epoch=3, epochs=2, verbose=0, shuffle=False, callbacks=[c])
    assert c.per_epoch == [3, 1]
    ds = ArrayDataset(x, y)
    m.fit(ds, epochs=2, verbose=0, shuffle=False)
    # Keras: the peek at batch 0 is reused; on_epoch_end runs epochs + 1 times (reset first)
    assert ds.calls == [0, 1, 2, 3, 0, 1, 2, 3]
    assert ds.epoch_begins == 2 and ds.epoch_ends == 3
    ds = ArrayDataset(x, y)
    m.fit(ds, epochs=3, verbose=0)  # shuffle=True shuffles the batch order each epoch
    orders = [ds.calls[i * 4:(i + 1) * 4] for i in range(3)]
    assert all(sorted(o) == [0, 1, 2, 3] for o in orders)
    assert any(o != [0, 1, 2, 3] for o in orders)


def test_pydataset_without_super_init_warns_and_works():
    x, y = _data_xy()

    class NoSuper(keras.utils.PyDataset):
        def __init__(self):  # no super().__init__()
            pass

        def __len__(self):
            return 2

        def __getitem__(self, i):
            return x[i * BS:(i + 1) * BS], y[i * BS:(i + 1) * BS]

    with pytest.warns(UserWarning, match="super"):
        _model().fit(NoSuper(), epochs=1, verbose=0)
    assert keras.utils.Sequence is keras.utils.PyDataset


def test_class_weight_and_sample_weight_in_batches():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(N, D)).astype(np.float32)
    y = (rng.random(N) > 0.5).astype(np.float32)[:, None]
    cw = {0: 0.5, 1: 2.0}
    sw = np.where(y[:, 0] > 0.5, 2.0, 0.5).astype(np.float32)
    a, b, c = _model(), _model(), _model()
    b.set_weights(a.get_weights())
    c.set_weights(a.get_weights())
    a.fit(x, y, batch_size=BS, epochs=2, shuffle=False, sample_weight=sw, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b.fit(_gen_repeat(x, y), steps_per_epoch=N // BS, epochs=2, class_weight=cw, verbose=0)
    c.fit(ArrayDataset(x, y, sw=sw), epochs=2, shuffle=False, verbose=0)
    for wa, wb, wc in zip(a.get_weights(), b.get_weights(), c.get_weights()):
        np.testing.assert_allclose(wb, wa, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(wc, wa, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="class_weight"):
        c.fit(ArrayDataset(x, y, sw=sw), epochs=1, class_weight=cw, verbose=0)


def _gen_repeat(x, y):
    while True:
        yield from _batches(x, y)


def test_validation_on_generators_and_hooks_during_fit():
    x, y = _data_xy()
    vx, vy = _data_xy(seed=5, n=4 * BS)
    m = _model()
    c = Counter()
    h = m.fit(ArrayDataset(x, y), epochs=2, verbose=0, validation_data=ArrayDataset(vx, vy), callbacks=[c])
    want = m.evaluate(vx, vy, batch_size=BS, verbose=0, return_dict=True)
    np.testing.assert_allclose(h.history["val_loss"][-1], want["loss"], rtol=1e-6)
    np.testing.assert_allclose(h.history["val_mae"][-1], want["mae"], rtol=1e-6)
    # Keras's order: test hooks before on_epoch_end; on_test_end has unprefixed keys,
    # on_train_end gets the last epoch's logs with val_*
    assert c.events[:2 + 8 + 2] == (["epoch_begin", "test_begin"] + ["test_batch_begin", "test_batch_end"] * 4
                                    + [("test_end", ("loss", "mae")),
                                       ("epoch_end", ("loss", "mae", "val_loss", "val_mae"))])
    assert c.events.count("test_begin") == 2 and c.events.count("test_batch_end") == 8
    assert ("test_end", ("loss", "mae")) in c.events
    assert c.events[-1] == ("train_end", ("loss", "mae", "val_loss", "val_mae"))
    # validation_steps with a generator: the cached iterator continues (Keras)
    c = Counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(_gen_repeat(x, y), steps_per_epoch=2, epochs=2, verbose=0, callbacks=[c],
              validation_data=_gen_repeat(vx, vy), validation_steps=3)
    assert c.events.count("test_batch_end") == 6
    # arrays: the same hooks, and validation_steps caps the batches
    c = Counter()
    m.fit(x, y, batch_size=BS, epochs=1, verbose=0, validation_data=(vx, vy), validation_steps=2,
          callbacks=[c])
    assert c.events.count("test_batch_end") == 2
    assert c.events[-1][0] == "train_end" and "val_loss" in c.events[-1][1]


def test_fake_torch_dataloader_and_tf_dataset():
    x, y = _data_xy()

    class FakeTensor:
        def __init__(self, a):
            self.a = a

        def detach(self):
            return self

        def cpu(self):
            return self

        def numpy(self):
            return self.a

    class DataLoader:
        def __init__(self):
            self.batch_size = BS

        def __iter__(self):
            for bx, by in _batches(x, y):
                yield [FakeTensor(bx), FakeTensor(by)]  # torch's default collate gives lists

        def __len__(self):
            return N // BS

    DataLoader.__module__ = "torch.utils.data.dataloader"

    class DatasetV2:
        def cardinality(self):
            return N // BS

        def as_numpy_iterator(self):
            return _batches(x, y)

    DatasetV2.__module__ = "tensorflow.python.data.ops.dataset_ops"
    assert _data._is_torch_dataloader(DataLoader()) and _data._is_tf_dataset(DatasetV2())
    with pytest.warns(UserWarning, match="shuffle"):
        _same_as_arrays(lambda a, b: DataLoader(), epochs=2)
    with pytest.warns(UserWarning, match="shuffle"):
        _same_as_arrays(lambda a, b: DatasetV2(), epochs=2)


def test_real_torch_dataloader():
    torch = pytest.importorskip("torch")
    x, y = _data_xy()
    ds = torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    with pytest.warns(UserWarning, match="shuffle"):
        _same_as_arrays(lambda a, b: torch.utils.data.DataLoader(ds, batch_size=BS), epochs=2)


def test_real_tf_dataset():
    tf = pytest.importorskip("tensorflow")
    x, y = _data_xy()
    with pytest.warns(UserWarning, match="shuffle"):
        _same_as_arrays(lambda a, b: tf.data.Dataset.from_tensor_slices((x, y)).batch(BS), epochs=2)
    with pytest.raises(ValueError, match="batch"):
        _model().fit(tf.data.Dataset.from_tensor_slices((x, y[:, 0])), verbose=0)


def test_unsupported_inputs_say_what_is_supported():
    x, y = _data_xy()
    m = _model()
    with pytest.raises(ValueError, match="`y` should not be passed"):
        m.fit(_batches(x, y), y, verbose=0)
    with pytest.raises(ValueError, match="sample_weight"):
        m.fit(_batches(x, y), sample_weight=np.ones(N), verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        m.fit(_batches(x, y), validation_split=0.2, verbose=0, shuffle=False)
    with pytest.raises(ValueError, match="no batch"):
        m.fit(iter([]), verbose=0, shuffle=False)
    with pytest.raises(ValueError, match=r"\(x, y\)"):
        m.fit(((a, b, b, b) for a, b in _batches(x, y)), verbose=0, shuffle=False)
    with pytest.raises(ValueError, match="dict"):
        m.fit(({"a": a} for a, b in _batches(x, y)), verbose=0, shuffle=False)
    with pytest.raises(ValueError, match="targets"):
        m.fit(((a,) for a, b in _batches(x, y)), verbose=0, shuffle=False)
    with pytest.raises(TypeError, match="Supported inputs"):
        m.fit(object(), y, verbose=0)
    with pytest.raises(TypeError, match="Supported inputs"):
        m.predict({"x": x}, verbose=0)
    with pytest.raises(TypeError, match="array of numbers"):
        m.fit((("a", "b") for _ in range(3)), verbose=0, shuffle=False)
    # a shape mismatch inside a later batch is reported from the prefetch thread
    def bad():
        yield x[:BS], y[:BS]
        yield x[:BS, :3], y[:BS]
    with pytest.raises(ValueError, match="expected input with shape"):
        m.fit(bad(), verbose=0, shuffle=False)
    # an error raised by the user's generator reaches the caller, and the model still trains
    def boom():
        yield x[:BS], y[:BS]
        raise RuntimeError("disk on fire")
    with pytest.raises(RuntimeError, match="disk on fire"):
        m.fit(boom(), epochs=2, verbose=0, shuffle=False)
    m.fit(x, y, epochs=1, verbose=0)


def test_one_dimensional_x_is_one_feature():
    rng = np.random.default_rng(0)
    x = rng.normal(size=64).astype(np.float32)
    y = 3 * x + 1
    a = keras.Sequential([keras.layers.Dense(1, kernel_initializer="ones")])
    a.compile("sgd", "mse")
    b = keras.Sequential([keras.layers.Dense(1, kernel_initializer="ones")])
    b.compile("sgd", "mse")
    a.fit(x, y, epochs=2, shuffle=False, verbose=0)
    b.fit(x[:, None], y, epochs=2, shuffle=False, verbose=0)
    assert a.input_shape == (None, 1)
    np.testing.assert_allclose(a.get_weights()[0], b.get_weights()[0], rtol=1e-6)
    assert a.predict(x, verbose=0).shape == (64, 1)
    np.testing.assert_allclose(a.evaluate(x, y, verbose=0), b.evaluate(x[:, None], y, verbose=0), rtol=1e-6)


def test_progress_bar_with_unknown_steps(capsys):
    x, y = _data_xy(n=4 * BS)
    m = _model()
    m.fit(_batches(x, y), epochs=1, verbose=1, shuffle=False)
    out = capsys.readouterr().out
    assert "4/4" in out and "loss:" in out
    m.fit(ArrayDataset(x, y), epochs=1, verbose=2)
    assert "4/4" in capsys.readouterr().out


def test_prefetcher_never_fetches_past_the_epoch():
    pulled = []

    def gen():
        x, y = _data_xy()
        for i, b in enumerate(_gen_repeat(x, y)):
            pulled.append(i)
            yield b

    m = _model()
    g = gen()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.fit(g, steps_per_epoch=3, epochs=2, verbose=0)
    assert pulled == list(range(6))
    m.fit(g, steps_per_epoch=2, epochs=1, verbose=0, shuffle=False)  # the same generator continues
    assert pulled == list(range(8))


@pytest.mark.parametrize("depth", [1, 2, 4, 16])
def test_prefetcher_hands_over_every_item_in_order(depth):
    """The lock-free hand-over under contention: random pauses on both sides, credits
    granted in random chunks; every item arrives once, in order, and the end is seen."""
    import random
    import time as _time

    rnd = random.Random(depth)

    def slow_convert(v):
        if rnd.random() < 0.02:
            _time.sleep(0.0005)
        return v

    n = 3000
    p = _data._Prefetcher(iter(range(n)), slow_convert, depth)
    got = []
    granted = 0
    try:
        while granted < n:
            chunk = min(n - granted, rnd.randint(1, 50))
            p.allow(chunk)
            granted += chunk
            for _ in range(chunk):
                got.append(p.get())
                if rnd.random() < 0.01:
                    _time.sleep(0.0005)
        p.allow(1)
        with pytest.raises(StopIteration):
            p.get()
        with pytest.raises(StopIteration):  # and again: the end stays the end
            p.get()
    finally:
        p.close()
    assert got == list(range(n))


def test_arrays_steps_per_epoch_continue_the_pass_as_keras():
    """Keras's EpochIterator on arrays: with steps_per_epoch the pass continues across epochs;
    an epoch that reaches the end of the pass stops early with the warning (10 batches,
    steps 3: [3, 3, 3, 1, 3, 3]), and the batches are those of consecutive passes."""
    x, y = _data_xy(n=10 * BS)
    m = _model()
    c = Counter()
    with pytest.warns(UserWarning, match="ran out of data") as rec:
        m.fit(x, y, batch_size=BS, steps_per_epoch=3, epochs=6, shuffle=False, verbose=0, callbacks=[c])
    assert c.per_epoch == [3, 3, 3, 1, 3, 3]
    assert sum("ran out" in str(w.message) for w in rec) == 1
    # steps 4 over 4 epochs: [4, 4, 2, 4], the batches of one pass and then 4 of the next
    a, b = _model(), _model()
    b.set_weights(a.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a.fit(x, y, batch_size=BS, steps_per_epoch=4, epochs=4, shuffle=False, verbose=0)
    b.fit(np.concatenate([x, x[:4 * BS]]), np.concatenate([y, y[:4 * BS]]), batch_size=BS, epochs=1,
          shuffle=False, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(wa, wb, rtol=1e-6, atol=1e-7)
    c = Counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 5 steps divide the 10 batches: no warning
        m.fit(x, y, batch_size=BS, steps_per_epoch=5, epochs=3, verbose=0, callbacks=[c])
    assert c.per_epoch == [5, 5, 5]


def test_an_error_in_a_callback_stops_fit_and_releases_everything():
    import threading as _threading

    x, y = _data_xy()

    class Boom(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                raise RuntimeError("callback failed")

    m = _model()
    before = _threading.active_count()
    with pytest.raises(RuntimeError, match="callback failed"):
        m.fit(_gen_repeat(x, y), steps_per_epoch=5, epochs=2, verbose=0, callbacks=[Boom()], shuffle=False)
    m.fit(ArrayDataset(x, y), epochs=1, verbose=0)  # the model is free again
    m.fit(x, y, epochs=1, verbose=0)
    for _ in range(50):  # the prefetch threads have ended
        if _threading.active_count() <= before:
            break
        import time as _time
        _time.sleep(0.02)
    assert _threading.active_count() <= before


def test_hostile_pydatasets_and_batches():
    x, y = _data_xy()
    m = _model()

    class Negative(keras.utils.PyDataset):
        @property
        def num_batches(self):
            return -1

        def __getitem__(self, i):
            return x[:BS], y[:BS]

    with pytest.raises(ValueError, match="number of batches"):
        m.fit(Negative(), verbose=0)

    class Short(ArrayDataset):
        def __getitem__(self, i):
            if i == 2:
                raise IndexError("batch 2 is missing")
            return super().__getitem__(i)

    with pytest.raises(IndexError, match="batch 2"):
        m.fit(Short(x, y), verbose=0, shuffle=False)

    def nan_later():
        yield x[:BS], y[:BS]
        bad = x[BS:2 * BS].copy()
        bad[3, 1] = np.nan
        yield bad, y[BS:2 * BS]

    with pytest.raises(ValueError, match="NaN"):
        m.fit(nan_later(), verbose=0, shuffle=False)
    with pytest.raises(ValueError, match="steps"):
        m.evaluate(_batches(x, y), steps=0, verbose=0)
    with pytest.raises(ValueError, match="validation_steps"):
        m.fit(x, y, validation_data=(x, y), validation_steps=-1, verbose=0)
    m.fit(x, y, epochs=1, verbose=0)  # still usable
