"""The functional API, as Keras's "Training & evaluation with the built-in methods" guide
writes its model (keras.Input, layers called on tensors, keras.Model(inputs, outputs)), and
the TensorFlow classification tutorial's probability model (a trained model nested in a
Sequential with a Softmax), on scikit-learn's digits."""
import os
import tempfile

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import keras
from _common import report

TOLERANCES = {"test_accuracy": 0.05, "prob_test_accuracy": 0.05}

keras.utils.set_random_seed(3)
digits = load_digits()
x = (digits.data / 16.0).astype("float32")
y = digits.target
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)

inputs = keras.Input(shape=(64,), name="digits")
h = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
h = keras.layers.Dense(64, activation="relu", name="dense_2")(h)
outputs = keras.layers.Dense(10, name="predictions")(h)
model = keras.Model(inputs=inputs, outputs=outputs, name="digits_model")
assert [l.name for l in model.layers] == ["digits", "dense_1", "dense_2", "predictions"]
assert model.input_shape == (None, 64) and model.output_shape == (None, 10)

model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=[keras.metrics.SparseCategoricalAccuracy()])
history = model.fit(x_train, y_train, batch_size=64, epochs=15, validation_split=0.2, verbose=0)
test_loss, test_acc = model.evaluate(x_test, y_test, batch_size=128, verbose=0)

# the tutorial's probability model: the trained model with a softmax on top
probability_model = keras.Sequential([model, keras.layers.Softmax()])
probs = probability_model.predict(x_test, verbose=0)
assert probs.shape == (len(x_test), 10) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
prob_acc = float(np.mean(np.argmax(probs, axis=1) == y_test))

# the model file and the architecture round-trip
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "digits_model.keras")
    model.save(path)
    back = keras.models.load_model(path)
    assert np.allclose(back.predict(x_test, verbose=0), model.predict(x_test, verbose=0), atol=1e-5)
config_layers = [e["class_name"] for e in model.get_config()["layers"]]
assert config_layers == ["InputLayer", "Dense", "Dense", "Dense"], config_layers
clone = keras.models.model_from_json(model.to_json())
assert [l.name for l in clone.layers] == [l.name for l in model.layers]

assert test_acc > 0.9, test_acc
report(test_accuracy=test_acc, prob_test_accuracy=prob_acc, epochs=len(history.history["loss"]))
