"""Model files: save/load (bit-identical predictions, exact resumption), weights only,
pickling and deepcopy, atomic writes, hostile files, and the C++ loader agreeing with
Python on the same file."""
import copy
import errno
import json
import os
import pickle
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import ranvier
from ranvier import _core, saving

safetensors_numpy = pytest.importorskip("safetensors.numpy")  # test dependency only


def _data(n=96, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = rng.integers(0, k, n)
    return x, y


def _model(optimizer="adam", seed=1, d=6, k=3, dropout=0.2):
    ranvier.utils.set_random_seed(seed)
    layers = [ranvier.Input(shape=(d,)), ranvier.layers.Dense(16, activation="relu")]
    if dropout:
        layers.append(ranvier.layers.Dropout(dropout))
    layers += [ranvier.layers.BatchNormalization(), ranvier.layers.Dense(k, activation="softmax")]
    m = ranvier.Sequential(layers)
    m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def _same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb))


# ------------------------------------------------------------------ round trips
def test_save_load_predicts_bit_identically_and_safetensors_reads_it(tmp_path):
    x, y = _data()
    m = _model()
    m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "model.safetensors"
    m.save(path)

    loaded = ranvier.models.load_model(path)
    assert np.array_equal(loaded.predict(x, verbose=0), m.predict(x, verbose=0))
    assert [l.name for l in loaded.layers] == [l.name for l in m.layers]
    assert loaded.get_config() == m.get_config()
    assert loaded.optimizer.iterations == m.optimizer.iterations == 12
    assert loaded.evaluate(x, y, verbose=0) == m.evaluate(x, y, verbose=0)  # loss and accuracy

    # The reference safetensors package reads the weights under Keras-ordered names.
    tensors = safetensors_numpy.load_file(str(path))
    names = [f"layers/{l.name}/{v.name}" for l in m.layers for v in l.weights]
    for name, w in zip(names, m.get_weights()):
        assert np.array_equal(tensors[name], w), name
    assert "optimizer/momentum" in tensors and "optimizer/velocity" in tensors  # Adam slots
    from safetensors import safe_open
    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata()
    assert meta["format"] == "ranvier" and meta["format_version"] == "1"
    arch = json.loads(meta["architecture"])
    assert arch["class_name"] == "Sequential"
    assert [l["class_name"] for l in arch["config"]["layers"]] == [
        "InputLayer", "Dense", "Dropout", "BatchNormalization", "Dense"]
    assert json.loads(meta["compile_config"])["loss"] == "sparse_categorical_crossentropy"


@pytest.mark.parametrize("optimizer", [
    "adam", "rmsprop", "nadam", "adagrad",
    {"class_name": "SGD", "config": {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}},
])
def test_fit_2_save_load_fit_1_equals_fit_3(tmp_path, optimizer):
    x, y = _data()
    # One run of 3 epochs ...
    a = _model(optimizer=copy.deepcopy(optimizer))
    a.fit(x, y, epochs=3, batch_size=16, verbose=0)
    # ... equals 2 epochs, save, load, 1 more epoch (the global random stream continues
    # where it was: loading does not consume it).
    b = _model(optimizer=copy.deepcopy(optimizer))
    b.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "b.safetensors"
    b.save(path)
    c = ranvier.models.load_model(path)
    c.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert _same_weights(a, c)
    assert c.optimizer.iterations == a.optimizer.iterations == 18
    assert np.array_equal(a.predict(x, verbose=0), c.predict(x, verbose=0))


def test_resume_with_reseeded_stream_matches_original(tmp_path):
    """Keras does not save the global random stream: reseed it identically before the
    continuing fit in both runs."""
    x, y = _data()
    m = _model()
    m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "m.safetensors"
    m.save(path)
    m2 = ranvier.models.load_model(path)
    ranvier.utils.set_random_seed(99)
    m.fit(x, y, epochs=1, batch_size=16, verbose=0)
    ranvier.utils.set_random_seed(99)
    m2.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert _same_weights(m, m2)


def test_load_without_compile_and_unbuilt_models(tmp_path):
    x, y = _data()
    m = _model()
    m.fit(x, y, epochs=1, verbose=0)
    m.save(tmp_path / "m.st")
    plain = ranvier.models.load_model(tmp_path / "m.st", compile=False)
    assert not plain.compiled
    assert np.array_equal(plain.predict(x, verbose=0), m.predict(x, verbose=0))

    unbuilt = ranvier.Sequential([ranvier.layers.Dense(4), ranvier.layers.Dense(2)])
    unbuilt.save(tmp_path / "u.st")
    u = ranvier.models.load_model(tmp_path / "u.st")
    assert not u.built and [type(l).__name__ for l in u.layers] == ["Dense", "Dense"]
    assert u.predict(x, verbose=0).shape == (len(x), 2)


def test_uncompiled_model_and_overwrite_flag(tmp_path):
    m = ranvier.Sequential([ranvier.Input(shape=(3,)), ranvier.layers.Dense(2)])
    p = tmp_path / "m.safetensors"
    m.save(p)
    assert not ranvier.models.load_model(p).compiled
    with pytest.raises(FileExistsError):
        m.save(p, overwrite=False)


# ------------------------------------------------------------------ weights only
def test_save_weights_load_weights_by_topology(tmp_path):
    x, y = _data()
    m = _model()
    m.fit(x, y, epochs=1, verbose=0)
    p = tmp_path / "w.safetensors"
    m.save_weights(p)
    # The same topology with other layer names (auto names differ) loads by order.
    other = _model(seed=5)
    assert not _same_weights(m, other)
    other.load_weights(p)
    assert _same_weights(m, other)
    assert np.array_equal(other.predict(x, verbose=0), m.predict(x, verbose=0))

    # A weights file cannot be loaded as a model, and a mismatched model is refused.
    with pytest.raises(ValueError, match="weights only"):
        ranvier.models.load_model(p)
    wrong = ranvier.Sequential([ranvier.Input(shape=(6,)), ranvier.layers.Dense(8),
                                ranvier.layers.BatchNormalization(), ranvier.layers.Dense(3)])
    with pytest.raises(ValueError, match=r"expects weights of shapes"):
        wrong.load_weights(p)
    with pytest.warns(UserWarning, match="skip_mismatch"):
        wrong.load_weights(p, skip_mismatch=True)
    fewer = ranvier.Sequential([ranvier.Input(shape=(6,)), ranvier.layers.Dense(3)])
    with pytest.raises(ValueError, match="holds weights for 3 layers"):
        fewer.load_weights(p)
    # A full model file also serves load_weights.
    m.save(tmp_path / "full.st")
    third = _model(seed=7)
    third.load_weights(tmp_path / "full.st")
    assert _same_weights(m, third)


# ------------------------------------------------------------------ pickling and copies
def test_pickle_and_deepcopy(tmp_path):
    x, y = _data()
    m = _model()
    m.fit(x, y, epochs=2, batch_size=16, verbose=0)
    p = pickle.loads(pickle.dumps(m))
    assert np.array_equal(p.predict(x, verbose=0), m.predict(x, verbose=0))
    assert p.optimizer.iterations == m.optimizer.iterations
    assert p.name == m.name
    d = copy.deepcopy(m)
    assert np.array_equal(d.predict(x, verbose=0), m.predict(x, verbose=0))
    # Independent copies: training one leaves the other alone.
    before = m.get_weights()
    p.fit(x, y, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before, m.get_weights()))
    # The bytes are the file format.
    blob = saving.model_to_bytes(m)
    (tmp_path / "b.st").write_bytes(blob)
    assert np.array_equal(ranvier.models.load_model(tmp_path / "b.st").predict(x, verbose=0),
                          m.predict(x, verbose=0))


# ------------------------------------------------------------------ atomic writes
def _leftovers(folder):
    return sorted(f for f in os.listdir(folder) if f.endswith(".tmp"))


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    x, y = _data()
    m = _model()
    path = tmp_path / "m.safetensors"
    m.save(path)
    good = path.read_bytes()
    m.fit(x, y, epochs=1, verbose=0)

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError) as info:
        m.save(path)
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert _leftovers(tmp_path) == []
    ranvier.models.load_model(path)  # still a valid model


def test_disk_full_for_real(tmp_path):
    """A file-size limit makes write() fail mid-file (EFBIG), like a full disk."""
    x, y = _data()
    m = _model()
    m.fit(x, y, epochs=1, verbose=0)
    path = tmp_path / "m.safetensors"
    small = ranvier.Sequential([ranvier.Input(shape=(2,)), ranvier.layers.Dense(1)])
    small.save(path)
    good = path.read_bytes()
    big = tmp_path / "big.pkl"
    big.write_bytes(pickle.dumps(m))
    code = textwrap.dedent(f"""
        import pickle, resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        m = pickle.loads(open({str(big)!r}, "rb").read())
        resource.setrlimit(resource.RLIMIT_FSIZE, ({len(good) + 64}, resource.RLIM_INFINITY))
        try:
            m.save({str(path)!r})
        except OSError as e:
            print("OSError", e.errno)
            sys.exit(0)
        sys.exit(1)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("OSError")
    assert path.read_bytes() == good
    assert _leftovers(tmp_path) == []


def test_unwritable_destinations(tmp_path):
    m = ranvier.Sequential([ranvier.Input(shape=(2,)), ranvier.layers.Dense(1)])
    with pytest.raises(OSError):
        m.save(tmp_path / "missing-folder" / "m.st")
    with pytest.raises(OSError):
        m.save(tmp_path)  # a folder
    if hasattr(os, "geteuid") and os.geteuid() != 0:  # root ignores permissions
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            with pytest.raises(PermissionError):
                m.save(ro / "m.st")
        finally:
            ro.chmod(0o700)


def test_saved_file_mode_is_a_normal_file(tmp_path):
    m = ranvier.Sequential([ranvier.Input(shape=(2,)), ranvier.layers.Dense(1)])
    m.save(tmp_path / "m.st")
    mode = os.stat(tmp_path / "m.st").st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask


# ------------------------------------------------------------------ hostile files
def _saved(tmp_path):
    x, y = _data()
    m = _model()
    m.fit(x, y, epochs=1, verbose=0)
    p = tmp_path / "m.st"
    m.save(p)
    return m, p


def _rewrite(path, header_edit=None, data=None):
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    body = raw[8 + n:] if data is None else data
    if header_edit:
        header_edit(header)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + body)


@pytest.mark.parametrize("case, message", [
    ("truncated", "beyond the data section|truncated|trailing"),
    ("empty", "too short"),
    ("garbage", "header length|not a safetensors"),
    ("version", "newer than this ranvier"),
    ("not_ranvier", "not a ranvier model"),
    ("missing_weight", "is missing"),
    ("wrong_shape", "has shape"),
    ("bad_arch", "architecture"),
    ("deep_arch", "architecture"),
    ("f16", "F32 only"),
])
def test_hostile_files_raise_clear_errors(tmp_path, case, message):
    m, p = _saved(tmp_path)
    raw = p.read_bytes()
    if case == "truncated":
        p.write_bytes(raw[:-10])
    elif case == "empty":
        p.write_bytes(b"")
    elif case == "garbage":
        p.write_bytes(os.urandom(4096))
    elif case == "version":
        _rewrite(p, lambda h: h["__metadata__"].update(format_version="2"))
    elif case == "not_ranvier":
        _rewrite(p, lambda h: h["__metadata__"].pop("format"))
    elif case == "missing_weight":
        def drop(h):
            name = f"layers/{m.layers[0].name}/kernel"
            h[f"x{name}"] = h.pop(name)
        _rewrite(p, drop)
    elif case == "wrong_shape":
        def reshape(h):
            t = h[f"layers/{m.layers[0].name}/kernel"]
            t["shape"] = [t["shape"][1], t["shape"][0]]
        _rewrite(p, reshape)
    elif case == "bad_arch":
        _rewrite(p, lambda h: h["__metadata__"].update(architecture='{"class_name": "Sequential"}'))
    elif case == "deep_arch":
        _rewrite(p, lambda h: h["__metadata__"].update(architecture="[" * 100000 + "]" * 100000))
    elif case == "f16":
        def half(h):
            t = h[f"layers/{m.layers[0].name}/bias"]
            t["dtype"] = "F16"
            t["shape"] = [t["shape"][0] * 2]
        _rewrite(p, half)
    with pytest.raises(ValueError, match=message):
        ranvier.models.load_model(p)
    # The C++ loader (what C and C++ applications run) refuses the same file.
    with pytest.raises(ValueError):
        _core.io_cpp_load_check(str(p))


def test_absurd_sizes_are_refused_before_allocating(tmp_path):
    m, p = _saved(tmp_path)

    def huge(h):
        arch = json.loads(h["__metadata__"]["architecture"])
        arch["config"]["layers"][1]["config"]["units"] = 2**40
        h["__metadata__"]["architecture"] = json.dumps(arch)
    _rewrite(p, huge)
    with pytest.raises(ValueError):
        ranvier.models.load_model(p)
    with pytest.raises(ValueError, match="more weights than the file holds"):
        _core.io_cpp_load_check(str(p))

    def huge_shape(h):
        h[f"layers/{m.layers[0].name}/kernel"]["shape"] = [2**62, 2**62]
    _rewrite(p, huge_shape)
    with pytest.raises(ValueError, match="does not match"):
        ranvier.models.load_model(p)


def test_missing_file_is_oserror(tmp_path):
    with pytest.raises(OSError):
        ranvier.models.load_model(tmp_path / "nope.st")
    with pytest.raises(RuntimeError, match="cannot open"):
        _core.io_cpp_load_check(str(tmp_path / "nope.st"))


# ------------------------------------------------------------------ Python and C++ agree
@pytest.mark.parametrize("batch", [1, 7, 32, 500])
def test_cpp_loader_predicts_as_python(tmp_path, batch):
    x, y = _data(n=300)
    m = _model()
    m.fit(x, y, epochs=2, verbose=0)
    p = tmp_path / "m.st"
    m.save(p)
    assert _core.io_cpp_load_check(str(p)) == (6, 3)
    py = m.predict(x, batch_size=batch, verbose=0)
    cpp = _core.io_cpp_predict(str(p), x, batch)
    assert np.array_equal(py, cpp)


def test_all_layer_kinds_load_in_cpp(tmp_path):
    L = ranvier.layers
    ranvier.utils.set_random_seed(3)
    m = ranvier.Sequential([
        ranvier.Input(shape=(2, 3)), L.Flatten(), L.Dense(8, activation="tanh", kernel_regularizer="l2"),
        L.LayerNormalization(), L.LeakyReLU(negative_slope=0.1), L.Dense(8, activation="gelu"),
        L.ReLU(max_value=3.0, threshold=0.1), L.ELU(alpha=0.5), L.Activation("silu"),
        L.BatchNormalization(momentum=0.9), L.Dropout(0.3, seed=4), L.Dense(4), L.Softmax()])
    m.compile(optimizer="sgd", loss="categorical_crossentropy")
    x = np.random.default_rng(0).standard_normal((50, 2, 3)).astype(np.float32)
    yy = np.eye(4, dtype=np.float32)[np.arange(50) % 4]
    m.fit(x, yy, epochs=2, verbose=0)
    p = tmp_path / "all.st"
    m.save(p)
    assert np.array_equal(_core.io_cpp_predict(str(p), x.reshape(50, 6), 32), m.predict(x, verbose=0))
    assert np.array_equal(ranvier.models.load_model(p).predict(x, verbose=0), m.predict(x, verbose=0))


class ScaledDense(ranvier.layers.Dense):
    """A user layer: a Dense subclass (its weights and core come from Dense)."""


def test_custom_layers_need_custom_objects(tmp_path):
    x, _ = _data()
    ranvier.utils.set_random_seed(2)
    m = ranvier.Sequential([ranvier.Input(shape=(6,)), ScaledDense(4, activation="relu"), ranvier.layers.Dense(2)])
    p = tmp_path / "custom.st"
    m.save(p)
    with pytest.raises(ValueError, match="ScaledDense"):
        ranvier.models.load_model(p)
    loaded = ranvier.models.load_model(p, custom_objects={"ScaledDense": ScaledDense})
    assert type(loaded.layers[0]) is ScaledDense
    assert np.array_equal(loaded.predict(x, verbose=0), m.predict(x, verbose=0))
    with pytest.raises(ValueError, match="ScaledDense"):  # C++ knows only the built-in layers
        _core.io_cpp_load_check(str(p))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_and_folders_are_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    m = ranvier.Sequential([ranvier.Input(shape=(2,)), ranvier.layers.Dense(1)])
    for path in (fifo, tmp_path):
        with pytest.raises(ValueError, match="not a regular file"):
            ranvier.models.load_model(path)
        with pytest.raises(ValueError, match="not a regular file"):
            m.load_weights(path)
        with pytest.raises(ValueError, match="not a regular file"):
            _core.io_cpp_load_check(str(path))
