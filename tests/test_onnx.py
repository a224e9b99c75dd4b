"""ONNX export (optional extra): onnxruntime runs the exported graph and its outputs
equal ranvier's within 1e-5 (float32 on both sides; the tolerance covers different
summation orders in GEMM and different exp/erf/tanh approximations)."""
import numpy as np
import pytest

import ranvier

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

L = ranvier.layers
TOL = dict(rtol=1e-5, atol=1e-5)


def _run(path, x):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["input"]
    assert [o.name for o in sess.get_outputs()] == ["output"]
    return sess.run(["output"], {"input": x})[0]


def _train(m, x, y, loss):
    m.compile(optimizer="adam", loss=loss)
    m.fit(x, y, epochs=2, batch_size=16, verbose=0)  # moves BN statistics and weights off their init
    return m


@pytest.mark.parametrize("activation", [
    "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus", "softsign", "silu", "swish", "gelu",
    "leaky_relu", "relu6", "hard_sigmoid", "hard_silu", "mish", "log_softmax", "exponential", "linear", "celu",
    "log_sigmoid"])
def test_dense_activations(tmp_path, activation):
    ranvier.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 7)).astype(np.float32)
    m = ranvier.Sequential([ranvier.Input(shape=(7,)), L.Dense(9, activation=activation), L.Dense(4)])
    _train(m, x, rng.standard_normal((64, 4)).astype(np.float32), "mse")
    p = tmp_path / "m.onnx"
    m.export(p, verbose=False)
    np.testing.assert_allclose(_run(p, x), m.predict(x, verbose=0), **TOL)


def test_full_mlp_with_normalization_dropout_and_activation_layers(tmp_path, capsys):
    ranvier.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((128, 3, 4)).astype(np.float32)
    y = rng.integers(0, 5, 128)
    m = ranvier.Sequential([
        ranvier.Input(shape=(3, 4)), L.Flatten(), L.Dense(32, activation="relu"), L.BatchNormalization(),
        L.Dropout(0.3), L.Dense(16, use_bias=False), L.LayerNormalization(), L.LeakyReLU(negative_slope=0.05),
        L.Dense(16), L.ReLU(max_value=2.0, negative_slope=0.1, threshold=0.2), L.ELU(alpha=0.7),
        L.Activation("tanh"), L.Dense(5), L.Softmax()])
    _train(m, x, y, "sparse_categorical_crossentropy")
    p = tmp_path / "m.onnx"
    m.export(p)
    assert "Saved an ONNX model" in capsys.readouterr().out
    onnx.checker.check_model(onnx.load(str(p)))
    ops = [n.op_type for n in onnx.load(str(p)).graph.node]
    assert "Dropout" not in ops and "BatchNormalization" in ops and "LayerNormalization" in ops
    np.testing.assert_allclose(_run(p, x), m.predict(x, verbose=0), **TOL)
    # Any batch size (the batch dimension is symbolic).
    np.testing.assert_allclose(_run(p, x[:1]), m.predict(x[:1], verbose=0), **TOL)


def test_unsupported_layer_and_format_raise_clear_errors(tmp_path):
    class Custom(L.Dense):
        pass

    m = ranvier.Sequential([ranvier.Input(shape=(3,)), Custom(2)])
    with pytest.raises(ValueError, match="has no ONNX form"):
        m.export(tmp_path / "c.onnx")
    assert not (tmp_path / "c.onnx").exists()
    ok = ranvier.Sequential([ranvier.Input(shape=(3,)), L.Dense(2)])
    with pytest.raises(ValueError, match="unsupported format"):
        ok.export(tmp_path / "m", format="tf_saved_model")
    unbuilt = ranvier.Sequential([L.Dense(2)])
    with pytest.raises(ValueError, match="not built"):
        unbuilt.export(tmp_path / "u.onnx")
