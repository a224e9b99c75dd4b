"""layers.Hashing against Keras 3.15.1's bins (TensorFlow's FarmHash Fingerprint64 /
SipHash-2-4 through tf.strings.to_hash_bucket_fast / _strong), measured there and written
here (no Keras import)."""
import numpy as np
import pytest

import ranvier as keras

CASES = {
    "str": (np.array([["A"], ["B"], ["C"], ["D"], ["E"], [""], ["h\u00e9llo"],
                      ["a longer string with spaces and \u6f22\u5b57"]], dtype=object), {}),
    "int": (np.array([[0], [1], [-1], [42], [2**40], [-(2**62)], [7]], dtype="int64"), {}),
    "int32": (np.array([1, 2, 3, 100], dtype="int32"), {}),
    "float": (np.array([[1.7], [-2.9], [0.0], [1e10]], dtype="float32"), {}),  # truncated to int64 first
    "mask_str": (np.array([["A"], [""], ["B"]], dtype=object), {"mask_value": ""}),
    "mask_int": (np.array([[0], [5], [9]], dtype="int64"), {"mask_value": 0}),
    "salt": (np.array([["A"], ["B"], ["C"]], dtype=object), {"salt": 133}),
    "salt2": (np.array([["A"], ["B"], ["C"]], dtype=object), {"salt": [1, 2]}),
    "salt_int": (np.array([[1], [2], [3]], dtype="int64"), {"salt": [2**40, 7]}),
}

KERAS_BINS = {
    "str/7": [[3], [6], [1], [4], [1], [6], [0], [2]],
    "str/1000": [[564], [528], [7], [295], [12], [263], [151], [520]],
    "int/7": [[2], [5], [4], [6], [0], [5], [2]],
    "int/1000": [[735], [849], [430], [736], [378], [492], [88]],
    "int32/1000": [849, 759, 921, 355],
    "float/1000": [[849], [205], [735], [879]],
    "mask_str/7": [[5], [0], [1]],
    "mask_int/1000": [[0], [2], [720]],
    "salt/1000": [[819], [238], [862]],
    "salt2/1000": [[800], [331], [86]],
    "salt_int/1000": [[949], [460], [494]],
    "str/1": [[0], [0], [0], [0], [0], [0], [0], [0]],
}


@pytest.mark.parametrize("key", sorted(KERAS_BINS))
def test_bins_are_keras_bins(key):
    name, num_bins = key.split("/")
    x, kwargs = CASES[name]
    out = keras.layers.Hashing(num_bins=int(num_bins), **kwargs)(x)
    assert np.asarray(out).dtype == np.int64 and np.asarray(out).shape == x.shape
    assert np.asarray(out).tolist() == KERAS_BINS[key]


def test_str_and_bytes_and_python_lists_hash_alike():
    h = keras.layers.Hashing(num_bins=1000)
    assert np.asarray(h(["A", "B"])).tolist() == [564, 528]
    assert np.asarray(h(np.array([b"A", b"B"]))).tolist() == [564, 528]
    assert np.asarray(h(np.array(["A", "B"]))).tolist() == [564, 528]
    assert keras.layers.Hashing(3, dtype="int32")(np.array([1, 2])).dtype == np.int32


def test_output_modes_match_keras():
    # Keras 3.15.1, num_bins=4: A -> 0, B -> 0, C -> 3
    one_hot = keras.layers.Hashing(num_bins=4, output_mode="one_hot")(np.array([["A"], ["B"], ["C"]], dtype=object))
    np.testing.assert_array_equal(one_hot, [[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]])
    assert np.asarray(one_hot).dtype == np.float32
    x = np.array([["A", "B"], ["C", "A"]], dtype=object)
    np.testing.assert_array_equal(keras.layers.Hashing(num_bins=4, output_mode="multi_hot")(x), [[1, 0, 0, 0], [1, 0, 0, 1]])
    np.testing.assert_array_equal(keras.layers.Hashing(num_bins=4, output_mode="count")(x), [[2, 0, 0, 0], [1, 0, 0, 1]])


def test_config_is_keras_config_and_round_trips():
    layer = keras.layers.Hashing(num_bins=4, salt=3, name="h")
    assert layer.get_config() == {
        "name": "h", "trainable": True,
        "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "int64"}, "registered_name": None},
        "num_bins": 4, "salt": [3, 3], "mask_value": None, "output_mode": "int", "sparse": False}
    assert keras.layers.Hashing(num_bins=4, output_mode="one_hot").get_config()["dtype"]["config"]["name"] == "float32"
    again = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(again) is keras.layers.Hashing and again.get_config() == layer.get_config()
    assert keras.layers.serialize(layer)["module"] == "keras.layers"


def test_arguments_are_checked_as_keras():
    for bad in (0, -1, None, 2.5):
        with pytest.raises(ValueError, match="num_bins"):
            keras.layers.Hashing(num_bins=bad)
    with pytest.raises(ValueError, match="output_mode"):
        keras.layers.Hashing(3, output_mode="tf_idf")
    with pytest.raises(ValueError, match="sparse"):
        keras.layers.Hashing(3, sparse=True)
    with pytest.raises(ValueError, match="salt"):
        keras.layers.Hashing(3, salt="pepper")
    with pytest.raises(ValueError, match="dtype"):
        keras.layers.Hashing(3, dtype="float32")
    with pytest.raises(ValueError, match="NaN"):
        keras.layers.Hashing(3)(np.array([np.nan]))


def test_a_model_cannot_hold_it_and_says_what_to_do():
    with pytest.raises(NotImplementedError, match="hash the column first"):
        model = keras.Sequential([keras.Input((1,)), keras.layers.Hashing(4)])
        model.predict(np.zeros((2, 1)), verbose=0)
