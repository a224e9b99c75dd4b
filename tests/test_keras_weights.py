"""Loading a Keras Sequential MLP's weights: the list from ``keras_model.get_weights()``
(set_weights) and Keras's HDF5 weight files (load_weights, needs h5py; the files are
written here with h5py in Keras 3's layouts -- tensorflow is not needed).
Predictions are compared with a float64 NumPy forward pass of the Keras model; float32
tolerance rtol/atol 1e-5 (reductions of 12 and 16 terms)."""
import numpy as np
import pytest

import ranvier

L = ranvier.layers
TOL = dict(rtol=1e-5, atol=1e-5)


def _keras_weights(seed=0):
    """What a Keras Sequential([Input((12,)), Dense(16, relu), BatchNormalization(),
    Dropout(0.5), Dense(4, softmax)]).get_weights() returns: [W1, b1, gamma, beta,
    moving_mean, moving_variance, W2, b2], kernels (in, out)."""
    rng = np.random.default_rng(seed)
    f = np.float32
    return [rng.standard_normal((12, 16)).astype(f) * 0.4, rng.standard_normal(16).astype(f) * 0.1,
            rng.uniform(0.5, 1.5, 16).astype(f), rng.standard_normal(16).astype(f) * 0.1,
            rng.standard_normal(16).astype(f) * 0.2, rng.uniform(0.5, 2.0, 16).astype(f),
            rng.standard_normal((16, 4)).astype(f) * 0.4, rng.standard_normal(4).astype(f) * 0.1]


def _reference(x, w, eps=1e-3):
    """Keras's inference forward in float64."""
    w = [a.astype(np.float64) for a in w]
    h = np.maximum(x.astype(np.float64) @ w[0] + w[1], 0.0)
    h = w[2] * (h - w[4]) / np.sqrt(w[5] + eps) + w[3]
    z = h @ w[6] + w[7]
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _ranvier_model():
    return ranvier.Sequential([ranvier.Input(shape=(12,)), L.Dense(16, activation="relu"),
                               L.BatchNormalization(), L.Dropout(0.5), L.Dense(4, activation="softmax")])


def _x():
    return np.random.default_rng(1).standard_normal((50, 12)).astype(np.float32)


def test_get_weights_list_loads_with_set_weights():
    w = _keras_weights()
    m = _ranvier_model()
    m.set_weights(w)
    np.testing.assert_allclose(m.predict(_x(), verbose=0), _reference(_x(), w), **TOL)
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), w))


def _write_keras3(path, w, extra_layer_groups=True):
    h5py = pytest.importorskip("h5py")
    with h5py.File(path, "w") as f:
        # layers/<snake class name, numbered per class>/vars/<i>, as keras.saving writes.
        groups = [("dense", w[0:2]), ("batch_normalization", w[2:6]), ("dropout", []), ("dense_1", w[6:8])]
        for key, values in groups:
            g = f.create_group(f"layers/{key}/vars")
            g.attrs["name"] = "vars"
            for i, v in enumerate(values):
                g.create_dataset(str(i), data=v)
        if extra_layer_groups:
            f.create_group("layers/input_layer/vars")  # ignored
            opt = f.create_group("optimizer/vars")  # optimizer variables are ignored by load_weights
            opt.create_dataset("0", data=np.int64(10))
            opt.create_dataset("1", data=np.float32(0.001))
            f.create_group("vars")


def test_keras3_weights_h5(tmp_path):
    pytest.importorskip("h5py")
    w = _keras_weights(2)
    p = tmp_path / "model.weights.h5"
    _write_keras3(p, w)
    m = _ranvier_model()  # its layer names ("dense_7", ...) differ from the file's paths
    m.load_weights(p)
    assert all(np.array_equal(a, b) for a, b in zip(m.get_weights(), w))
    np.testing.assert_allclose(m.predict(_x(), verbose=0), _reference(_x(), w), **TOL)


def test_keras3_weights_h5_errors(tmp_path):
    pytest.importorskip("h5py")
    w = _keras_weights(3)
    p = tmp_path / "model.weights.h5"
    _write_keras3(p, w)
    wider = ranvier.Sequential([ranvier.Input(shape=(12,)), L.Dense(32, activation="relu"),
                                L.BatchNormalization(), L.Dropout(0.5), L.Dense(4, activation="softmax")])
    with pytest.raises(ValueError, match="expects weights of shapes"):
        wider.load_weights(p)
    other = ranvier.Sequential([ranvier.Input(shape=(12,)), L.Dense(16), L.LayerNormalization(), L.Dense(4)])
    with pytest.raises(ValueError, match="no weights for layer"):
        other.load_weights(p)


def test_legacy_tf_keras_h5(tmp_path):
    h5py = pytest.importorskip("h5py")
    w = _keras_weights(4)
    p = tmp_path / "legacy.h5"
    with h5py.File(p, "w") as f:
        names = ["dense", "batch_normalization", "dropout", "dense_1"]
        f.attrs["layer_names"] = [n.encode() for n in names]
        f.attrs["backend"] = b"tensorflow"
        weight_names = {
            "dense": ["dense/kernel:0", "dense/bias:0"],
            "batch_normalization": ["batch_normalization/gamma:0", "batch_normalization/beta:0",
                                    "batch_normalization/moving_mean:0", "batch_normalization/moving_variance:0"],
            "dropout": [],
            "dense_1": ["dense_1/kernel:0", "dense_1/bias:0"],
        }
        values = {"dense": w[0:2], "batch_normalization": w[2:6], "dropout": [], "dense_1": w[6:8]}
        for n in names:
            g = f.create_group(n)
            g.attrs["weight_names"] = [s.encode() for s in weight_names[n]]
            for wn, v in zip(weight_names[n], values[n]):
                g.create_dataset(wn, data=v)
    m = _ranvier_model()
    m.load_weights(p)
    np.testing.assert_allclose(m.predict(_x(), verbose=0), _reference(_x(), w), **TOL)


def test_other_hdf5_files_are_refused(tmp_path):
    h5py = pytest.importorskip("h5py")
    p = tmp_path / "other.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(ValueError, match="neither a Keras 3"):
        _ranvier_model().load_weights(p)
