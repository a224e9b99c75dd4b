"""ranvier.datasets: Keras's load_data on small generated files in the real formats (npz,
gzipped IDX, json word index), in a temporary KERAS_HOME, with no network. Each loader's
checksum constant is replaced by the fixture's own hash (the real values are checked
against Keras's in test_keras_constants); the mismatch and offline paths are tested with
urlopen replaced."""
import gzip
import hashlib
import io
import json
import os
import urllib.error
import urllib.request

import numpy as np
import pytest

from ranvier import datasets
from ranvier.datasets import (_files, boston_housing, california_housing, fashion_mnist, imdb, mnist,
                              reuters)

ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    d = tmp_path / "datasets"
    d.mkdir()
    return d


def _sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _md5(path):
    return hashlib.md5(open(path, "rb").read()).hexdigest()


def _seqs(rng, n, vocab=50, max_len=12):
    out = np.empty(n, dtype=object)
    for i in range(n):
        out[i] = list(rng.integers(1, vocab, size=rng.integers(1, max_len)).tolist())
    return out


def test_keras_constants():
    assert _files.ORIGIN == ORIGIN
    assert mnist.SHA256 == "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
    assert imdb.SHA256 == "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
    assert imdb.WORD_INDEX_MD5 == "bfafd718b763782e994055a2d397834f"
    assert reuters.SHA256 == "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
    assert reuters.WORD_INDEX_MD5 == "4d44cc38712099c9e383dc6e5f11a921"
    assert boston_housing.SHA256 == "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"
    assert california_housing.SHA256 == "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f"
    assert len(reuters.get_label_names()) == 46 and reuters.get_label_names()[:3] == ("cocoa", "grain", "veg-oil")


def test_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    assert _files.keras_home() == str(tmp_path / "kh")
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert _files.keras_home() == os.path.join(str(tmp_path), ".keras")


def test_mnist(home, monkeypatch):
    rng = np.random.default_rng(0)
    arrays = {"x_train": rng.integers(0, 256, (7, 28, 28), dtype=np.uint8),
              "y_train": rng.integers(0, 10, 7, dtype=np.uint8),
              "x_test": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
              "y_test": rng.integers(0, 10, 3, dtype=np.uint8)}
    np.savez(home / "mnist.npz", **arrays)
    monkeypatch.setattr(mnist, "SHA256", _sha256(home / "mnist.npz"))
    (xt, yt), (xs, ys) = mnist.load_data()
    for got, key in ((xt, "x_train"), (yt, "y_train"), (xs, "x_test"), (ys, "y_test")):
        np.testing.assert_array_equal(got, arrays[key])
        assert got.dtype == np.uint8
    assert datasets.mnist is mnist


def test_fashion_mnist_idx_files(home):
    rng = np.random.default_rng(1)
    d = home / "fashion-mnist"
    d.mkdir()
    imgs = {"train": rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
            "t10k": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8)}
    labels = {"train": rng.integers(0, 10, 5, dtype=np.uint8), "t10k": rng.integers(0, 10, 2, dtype=np.uint8)}
    for part in ("train", "t10k"):
        n = len(labels[part])
        with gzip.open(d / f"{part}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(np.array([0, 0, 8, 1], np.uint8).tobytes() + np.array([n], ">u4").tobytes()
                    + labels[part].tobytes())
        with gzip.open(d / f"{part}-images-idx3-ubyte.gz", "wb") as f:
            f.write(np.array([0, 0, 8, 3], np.uint8).tobytes() + np.array([n, 28, 28], ">u4").tobytes()
                    + imgs[part].tobytes())
    (xt, yt), (xs, ys) = fashion_mnist.load_data()
    np.testing.assert_array_equal(xt, imgs["train"])
    np.testing.assert_array_equal(yt, labels["train"])
    np.testing.assert_array_equal(xs, imgs["t10k"])
    np.testing.assert_array_equal(ys, labels["t10k"])
    assert xt.shape == (5, 28, 28) and xt.dtype == np.uint8


def _reference_transform(xs, labels, seed, start_char, oov_char, index_from, skip_top, num_words, maxlen):
    """Keras's documented steps, written out plainly for the comparison."""
    out_x, out_y = [], []
    for x, y in zip(xs, labels):
        s = ([start_char] if start_char is not None else []) + [w + index_from for w in x]
        if maxlen and not len(s) < maxlen:
            continue
        out_x.append(s)
        out_y.append(y)
    return out_x, out_y


def test_imdb(home, monkeypatch):
    rng = np.random.default_rng(2)
    x_train, x_test = _seqs(rng, 30), _seqs(rng, 20)
    y_train, y_test = rng.integers(0, 2, 30), rng.integers(0, 2, 20)
    np.savez(home / "imdb.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    monkeypatch.setattr(imdb, "SHA256", _sha256(home / "imdb.npz"))
    for kwargs in ({}, {"num_words": 20, "skip_top": 5, "maxlen": 10}, {"oov_char": None, "num_words": 30},
                   {"start_char": None, "index_from": 0, "seed": 7}):
        (xt, yt), (xs, ys) = imdb.load_data(**kwargs)
        seed = kwargs.get("seed", 113)
        rs = np.random.RandomState(seed)
        i_tr = np.arange(30)
        rs.shuffle(i_tr)
        i_te = np.arange(20)
        rs.shuffle(i_te)
        args = (kwargs.get("start_char", 1), kwargs.get("oov_char", 2), kwargs.get("index_from", 3))
        rx_tr, ry_tr = _reference_transform(x_train[i_tr], y_train[i_tr], seed, *args, kwargs.get("skip_top", 0),
                                            kwargs.get("num_words"), kwargs.get("maxlen"))
        rx_te, ry_te = _reference_transform(x_test[i_te], y_test[i_te], seed, *args, kwargs.get("skip_top", 0),
                                            kwargs.get("num_words"), kwargs.get("maxlen"))
        nw = kwargs.get("num_words") or max(max(s) for s in rx_tr + rx_te)
        lo = kwargs.get("skip_top", 0)
        oov = args[1]
        fix = (lambda s: [w if lo <= w < nw else oov for w in s]) if oov is not None else (
            lambda s: [w for w in s if lo <= w < nw])
        assert xt.dtype == object and list(map(list, xt)) == [fix(s) for s in rx_tr]
        assert list(map(list, xs)) == [fix(s) for s in rx_te]
        np.testing.assert_array_equal(yt, ry_tr)
        np.testing.assert_array_equal(ys, ry_te)
    with pytest.raises(ValueError, match="maxlen"):
        imdb.load_data(maxlen=1)
    imdb.load_data(unknown_kwarg=1)  # ignored, as in Keras
    json.dump({"the": 1, "movie": 2}, open(home / "imdb_word_index.json", "w"))
    monkeypatch.setattr(imdb, "WORD_INDEX_MD5", _md5(home / "imdb_word_index.json"))
    assert imdb.get_word_index() == {"the": 1, "movie": 2}


def test_reuters(home, monkeypatch):
    rng = np.random.default_rng(3)
    x, y = _seqs(rng, 25), rng.integers(0, 46, 25)
    np.savez(home / "reuters.npz", x=x, y=y)
    monkeypatch.setattr(reuters, "SHA256", _sha256(home / "reuters.npz"))
    (xt, yt), (xs, ys) = reuters.load_data(test_split=0.2)
    rs = np.random.RandomState(113)
    idx = np.arange(25)
    rs.shuffle(idx)
    shifted = [[1] + [w + 3 for w in s] for s in x[idx]]
    top = max(max(s) for s in shifted)  # num_words=None: the largest index, itself out of range (Keras)
    want = [[w if w < top else 2 for w in s] for s in shifted]
    assert len(xt) == 20 and len(xs) == 5
    assert list(map(list, xt)) + list(map(list, xs)) == want
    np.testing.assert_array_equal(np.concatenate([yt, ys]), y[idx])
    json.dump({"oil": 1}, open(home / "reuters_word_index.json", "w"))
    monkeypatch.setattr(reuters, "WORD_INDEX_MD5", _md5(home / "reuters_word_index.json"))
    assert reuters.get_word_index() == {"oil": 1}


def test_object_arrays_load_without_running_code(home, monkeypatch):
    import pickle
    import zipfile

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    arr = np.empty(1, dtype=object)
    arr[0] = Evil()
    path = home / "reuters.npz"
    with zipfile.ZipFile(path, "w") as z:
        buf = io.BytesIO()
        np.lib.format.write_array(buf, arr, allow_pickle=True)
        z.writestr("x.npy", buf.getvalue())
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.zeros(1, np.int64))
        z.writestr("y.npy", buf.getvalue())
    monkeypatch.setattr(reuters, "SHA256", _sha256(path))
    with pytest.raises(pickle.UnpicklingError, match="Refusing"):
        reuters.load_data()


@pytest.mark.parametrize("module,n_features,n", [(boston_housing, 13, 506), (california_housing, 8, 1000)])
def test_housing(home, monkeypatch, module, n_features, n):
    rng = np.random.default_rng(4)
    x = rng.normal(size=(n, n_features))
    y = rng.normal(size=n)
    name = module.__name__.rsplit(".", 1)[1] + ".npz"
    np.savez(home / name, x=x, y=y)
    monkeypatch.setattr(module, "SHA256", _sha256(home / name))
    (xt, yt), (xs, ys) = module.load_data(test_split=0.2, seed=5)
    rs = np.random.RandomState(5)
    idx = np.arange(n)
    rs.shuffle(idx)
    cut = int(n * 0.8)
    np.testing.assert_array_equal(xt, x[idx][:cut])
    np.testing.assert_array_equal(ys, y[idx][cut:])
    if n == 506:
        assert (len(xt), len(xs)) == (404, 102)
    for bad in (1.0, -0.1):
        with pytest.raises(ValueError, match="test_split"):
            module.load_data(test_split=bad)
    if module is california_housing:
        (xt, _), (xs, _) = module.load_data(version="small")
        assert (len(xt), len(xs)) == (480, 120)
        with pytest.raises(ValueError, match="version"):
            module.load_data(version="medium")


def test_offline_error_says_which_file_goes_where(home):
    with pytest.raises(ConnectionError) as e:
        mnist.load_data()
    msg = str(e.value)
    assert ORIGIN + "mnist.npz" in msg and str(home / "mnist.npz") in msg and mnist.SHA256 in msg
    with pytest.raises(ConnectionError, match="fashion-mnist"):
        fashion_mnist.load_data()


def test_checksum_mismatch_redownloads_and_refuses_bad_files(home, monkeypatch, capsys):
    (home / "mnist.npz").write_bytes(b"not the real file")
    with pytest.raises(ConnectionError, match="wrong checksum"):
        mnist.load_data()
    assert "re-download" in capsys.readouterr().out

    payload = io.BytesIO()
    np.savez(payload, x_train=np.zeros((1, 28, 28), np.uint8), y_train=np.zeros(1, np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    data = payload.getvalue()
    urls = []

    def fake_urlopen(url, *a, **k):
        urls.append(url)
        return io.BytesIO(data)

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    with pytest.raises(ValueError, match="corrupted"):  # downloaded, but not the file Keras published
        mnist.load_data()
    monkeypatch.setattr(mnist, "SHA256", hashlib.sha256(data).hexdigest())
    (xt, _), _ = mnist.load_data()  # the downloaded copy now matches: no second download
    assert urls == [ORIGIN + "mnist.npz"] and xt.shape == (1, 28, 28)
    os.remove(home / "mnist.npz")
    mnist.load_data()
    assert urls == [ORIGIN + "mnist.npz"] * 2
    assert not any(p.name.endswith(".part") for p in home.iterdir())


def test_get_file_extracts_archives(home, monkeypatch, tmp_path):
    import tarfile
    import zipfile

    src = tmp_path / "payload.txt"
    src.write_text("hello")
    tgz = tmp_path / "a.tar.gz"
    with tarfile.open(tgz, "w:gz") as t:
        t.add(src, arcname="inner/payload.txt")
    data = tgz.read_bytes()
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, *a, **k: io.BytesIO(data))
    out = _files.get_file("a.tar.gz", origin="https://example.invalid/a.tar.gz", extract=True,
                          file_hash=hashlib.sha256(data).hexdigest())
    assert out == str(home / "a_extracted")
    assert (home / "a_extracted" / "inner" / "payload.txt").read_text() == "hello"
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../escape.txt", "x")
    evil_bytes = evil.read_bytes()
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, *a, **k: io.BytesIO(evil_bytes))
    with pytest.raises(ValueError, match="outside"):
        _files.get_file("evil.zip", origin="https://example.invalid/evil.zip", extract=True)
    assert not (home / "escape.txt").exists()
    with pytest.raises(ValueError, match="Paths are no longer accepted"):
        _files.get_file("sub/a.npz", origin="https://example.invalid/a.npz")
