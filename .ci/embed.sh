#!/usr/bin/env bash
# Embedding check: a model trained in Python predicts the same numbers from a C++ app and a
# C app built against the installed library (find_package(ranvier)), and vice versa.
set -euo pipefail
cd "$(dirname "$0")/.."
# ---- io: model files across Python, C++ and C (paste into .ci/run after the Python install) ----
# Needs: the .venv with ranvier installed (pip install ".[test]"), cmake and ninja (already
# installed by .ci/run), a C and a C++ compiler. Trains and saves a model in Python,
# installs the C/C++ library with cmake --install, builds examples/cpp and examples/c
# against the installed package (find_package(ranvier) + ranvier::ranvier), runs both on
# the saved file and checks their predictions equal Python's bit for bit.
echo "== io: optional test extras (safetensors, onnx, onnxruntime, h5py) =="
python -m pip install safetensors onnx onnxruntime h5py

echo "== io: train and save a model in Python =="
IO_WORK="$(pwd)/build/ci-io"
IO_PREFIX="$IO_WORK/prefix"
rm -rf "$IO_WORK" && mkdir -p "$IO_WORK"
python - "$IO_WORK" <<'PY'
import sys
import numpy as np
import ranvier
work = sys.argv[1]
ranvier.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.standard_normal((300, 10)).astype(np.float32)
y = (x[:, :3].sum(axis=1) > 0).astype(np.int64) + (x[:, 3] > 1)
L = ranvier.layers
m = ranvier.Sequential([ranvier.Input(shape=(10,)), L.Dense(32, activation="relu"), L.BatchNormalization(),
                        L.Dropout(0.2), L.Dense(16, activation="tanh"), L.Dense(3, activation="softmax")])
m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
m.fit(x, y, epochs=3, batch_size=32, verbose=0)
m.save(f"{work}/model.safetensors")
x[:57].astype("<f4").tofile(f"{work}/x.f32")
np.save(f"{work}/expected.npy", m.predict(x[:57], verbose=0))
print("saved", m.count_params(), "parameters")
# the same kind of model written with the functional API: the same file for the apps
inp = ranvier.Input(shape=(10,))
h = L.Dropout(0.2)(L.BatchNormalization()(L.Dense(32, activation="relu")(inp)))
f = ranvier.Model(inp, L.Dense(3, activation="softmax")(L.Dense(16, activation="tanh")(h)))
f.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
f.fit(x, y, epochs=3, batch_size=32, verbose=0)
f.save(f"{work}/functional.safetensors")
np.save(f"{work}/functional_expected.npy", f.predict(x[:57], verbose=0))
PY

echo "== io: cmake --install the library, build the example apps against it =="
# Reuses the C++ test build above (same sources, install rules at the end of CMakeLists.txt).
IO_LIB="${IO_LIB:-build/ci}"
cmake --build "$IO_LIB" -j 2
cmake --install "$IO_LIB" --prefix "$IO_PREFIX"
for app in cpp c; do
  cmake -S "examples/$app" -B "$IO_WORK/example-$app" -G Ninja -DCMAKE_PREFIX_PATH="$IO_PREFIX"
  cmake --build "$IO_WORK/example-$app"
done

echo "== io: run both apps on the saved model and compare with Python =="
"$IO_WORK/example-cpp/predict" "$IO_WORK/model.safetensors" "$IO_WORK/x.f32" > "$IO_WORK/cpp.txt"
"$IO_WORK/example-c/predict_c" "$IO_WORK/model.safetensors" "$IO_WORK/x.f32" > "$IO_WORK/c.txt"
"$IO_WORK/example-cpp/predict" "$IO_WORK/functional.safetensors" "$IO_WORK/x.f32" > "$IO_WORK/functional_cpp.txt"
"$IO_WORK/example-c/predict_c" "$IO_WORK/functional.safetensors" "$IO_WORK/x.f32" > "$IO_WORK/functional_c.txt"
python - "$IO_WORK" <<'PY'
import sys
import numpy as np
work = sys.argv[1]
for app, expected_file in (("cpp", "expected"), ("c", "expected"), ("functional_cpp", "functional_expected"),
                           ("functional_c", "functional_expected")):
    expected = np.load(f"{work}/{expected_file}.npy")
    got = np.loadtxt(f"{work}/{app}.txt", dtype=np.float64, ndmin=2).astype(np.float32)
    assert got.shape == expected.shape, (app, got.shape, expected.shape)
    diff = float(np.abs(got - expected).max())
    print(f"{app}: {got.shape[0]} rows, max |diff| vs Python = {diff}")
    # %.9g round-trips float32 exactly: the apps must predict Python's numbers bit for bit.
    assert np.array_equal(got, expected), f"{app} predictions differ from Python's (max diff {diff})"
PY
# The guide's spiral classifier (docs/guide/mlp.md shows these commands): saved by the
# guide's script, run by the C app, printed digit for digit as Python predicts it.
python docs/guide/mlp.py --export "$IO_WORK/guide"
"$IO_WORK/example-c/predict_c" "$IO_WORK/guide/spiral.safetensors" "$IO_WORK/guide/x.f32" > "$IO_WORK/guide/c.txt"
diff "$IO_WORK/guide/python.txt" "$IO_WORK/guide/c.txt"
echo "guide: the C app predicts the spiral model's $(wc -l < "$IO_WORK/guide/c.txt") rows as Python does"
# The tabular example (a model with four inputs: numeric columns and three id columns): trained
# and saved in Python; the C app reads its held-out rows, one file per input, and predicts
# them through the several-input C API exactly as Python did.
python examples/train_tabular.py --rows 20000 --epochs 2 --out "$IO_WORK/tabular"
"$IO_WORK/example-c/predict_tabular_c" "$IO_WORK/tabular/tabular.safetensors" "$IO_WORK/tabular/rows" \
  > "$IO_WORK/tabular/rows/c.txt"
diff "$IO_WORK/tabular/rows/python.txt" "$IO_WORK/tabular/rows/c.txt"
echo "tabular: the C app predicts the $(wc -l < "$IO_WORK/tabular/rows/c.txt") held-out rows as Python does"
# The other way: a model built and trained by the C++ API alone loads in Python, predicts
# as the C++ app does, and keeps training there.
"$IO_WORK/example-cpp/train" "$IO_WORK/cpp_model.safetensors"
"$IO_WORK/example-cpp/predict" "$IO_WORK/cpp_model.safetensors" "$IO_WORK/x.f32" > "$IO_WORK/cpp_model.txt"
python - "$IO_WORK" <<'PY'
import sys
import numpy as np
import ranvier
work = sys.argv[1]
m = ranvier.models.load_model(f"{work}/cpp_model.safetensors")
x = np.fromfile(f"{work}/x.f32", dtype="<f4").reshape(-1, 10)
got = np.loadtxt(f"{work}/cpp_model.txt", dtype=np.float64, ndmin=2).astype(np.float32)
assert np.array_equal(m.predict(x, verbose=0), got), "Python and C++ disagree on the C++-trained model"
it = m.optimizer.iterations
m.fit(x, np.arange(len(x)) % 3, epochs=1, verbose=0)
assert m.optimizer.iterations > it > 0
print(f"C++-trained model: Python predicts the same {got.shape} outputs, resumed at iteration {it}")
PY
# A corrupted file must be refused with a message, not crash.
head -c 100 "$IO_WORK/model.safetensors" > "$IO_WORK/bad.safetensors"
if "$IO_WORK/example-c/predict_c" "$IO_WORK/bad.safetensors" 2> "$IO_WORK/bad.txt"; then
  echo "the C app accepted a truncated model" && exit 1
fi
grep -q "invalid model file" "$IO_WORK/bad.txt"

echo "== io: longer bounded fuzz run of the model-file loaders =="
RANVIER_FUZZ_EXAMPLES=1000 RANVIER_FUZZ_SECONDS=20 python -m pytest -q tests/test_io_fuzz.py
# ---- end io ----
