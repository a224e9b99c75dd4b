"""A Sequential started with ``Input(shape, dtype=...)`` keeps the declared dtype, as Keras:
in get_config (and so in .keras and ranvier's own files), and as a check on the values an
integer or bool Input takes (Keras casts them: 300 into uint8 would wrap, 1.5 into int32
would truncate; ranvier refuses them, naming the input and the value)."""
import numpy as np
import pytest

import ranvier as keras


def _model(dtype="uint8"):
    return keras.Sequential([keras.Input(shape=(3,), dtype=dtype), keras.layers.Dense(2)])


@pytest.mark.parametrize("dtype", ["uint8", "int32", "int64", "bool", "float32"])
def test_the_declared_dtype_is_in_the_config_and_survives_both_files(tmp_path, dtype):
    m = _model(dtype)
    assert m.get_config()["layers"][0]["config"]["dtype"] == dtype
    assert m.inputs[0].dtype == dtype
    assert keras.Sequential.from_config(m.get_config()).get_config()["layers"][0]["config"]["dtype"] == dtype
    for name in ("m.keras", "m.safetensors"):
        m.save(tmp_path / name)
        back = keras.models.load_model(tmp_path / name)
        assert back.get_config()["layers"][0]["config"]["dtype"] == dtype, name


@pytest.mark.parametrize("bad,match", [
    (np.array([[1, 2, 300]]), r"input 'input_layer(_\d+)?' has dtype uint8.*x\[0, 2\]=300"),
    (np.array([[-1, 2, 3]]), r"x\[0, 0\]=-1"),
    (np.array([[1.5, 2, 3]]), r"not integers.*x\[0, 0\]=1.5"),
])
def test_values_outside_an_integer_input_dtype_are_refused(bad, match):
    m = _model("uint8")
    with pytest.raises(ValueError, match=match):
        m.predict(bad, verbose=0)
    m.compile("sgd", "mse")
    with pytest.raises(ValueError, match=match):
        m.fit(bad, np.zeros((1, 2)), verbose=0)


def test_values_inside_the_dtype_give_the_float_answer():
    m = _model("uint8")
    x = np.array([[0, 7, 255], [3, 2, 1]], dtype=np.uint8)
    w, b = m.get_weights()
    ref = x.astype(np.float64) @ w.astype(np.float64) + b  # a 3-term reduction: float32 rtol 1e-6
    for given in (x, x.astype(np.int64), x.astype(np.float64)):
        np.testing.assert_allclose(m.predict(given, verbose=0), ref, rtol=1e-6, atol=1e-6)
