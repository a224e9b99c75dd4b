#!/usr/bin/env bash
# One prepared run on a lent many-core machine: build the core + module with CMake, run the
# C++ tests (every compiled kernel the CPU supports), the Python tests on the AVX-512 path,
# and the thread-scaling benchmarks. Logs go to $OUT (the device tool returns them).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"; B=/tmp/rvbuild; P=/tmp/rvpkg
log() { echo "== $*" | tee -a "$OUT/summary.txt"; }
{ lscpu | grep -E "Model name|^CPU\(s\)|L2|L3"; grep -o -w -E "avx512f|avx2" /proc/cpuinfo | sort | uniq -c; nproc; } > "$OUT/cpu.txt" 2>&1
python3 -c "import numpy, pybind11, pytest; print('py ok', numpy.__version__, pybind11.__version__)" >> "$OUT/cpu.txt" 2>&1
log "configure"
cmake -S . -B $B -DCMAKE_BUILD_TYPE=Release -DRANVIER_BUILD_TESTS=ON -DRANVIER_BUILD_PYTHON=ON \
  -Dpybind11_DIR="$(python3 -c 'import pybind11;print(pybind11.get_cmake_dir())' 2>/dev/null)" > "$OUT/configure.txt" 2>&1 || log "configure FAILED"
log "build"
cmake --build $B -j 16 > "$OUT/build.txt" 2>&1 || { log "build FAILED"; tail -30 "$OUT/build.txt" >> "$OUT/summary.txt"; }
log "C++ tests"
timeout 60 $B/ranvier_cpp_tests > "$OUT/cpp_tests.txt" 2>&1; tail -3 "$OUT/cpp_tests.txt" >> "$OUT/summary.txt"
grep FAIL "$OUT/cpp_tests.txt" >> "$OUT/summary.txt"
rm -rf $P; mkdir -p $P; cp -r python/ranvier $P/ranvier; cp $B/_core*.so $P/ranvier/ 2>/dev/null
export PYTHONPATH=$P
log "python: isa"
timeout 30 python3 -c "import ranvier; print(ranvier.isa(), ranvier.supported_isas(), ranvier._core.kernel_names())" >> "$OUT/summary.txt" 2>&1
log "pytest -k avx512"
timeout 80 python3 -m pytest -q -p no:cacheprovider -k avx512 tests/test_gemm.py tests/test_activations.py tests/test_losses.py tests/test_optimizers.py tests/test_layers.py tests/test_model.py tests/test_vmath.py > "$OUT/pytest_avx512.txt" 2>&1
tail -5 "$OUT/pytest_avx512.txt" >> "$OUT/summary.txt"
log "gemm scaling"
timeout 45 python3 bench/bench_gemm.py --threads 1 2 4 8 16 --repeats 3 --target 0.03 > "$OUT/bench_gemm.txt" 2>&1
log "train scaling (ranvier + numpy)"
timeout 45 python3 bench/bench_train.py --quick --frameworks ranvier numpy --threads 1 2 4 8 16 --no-ftz > "$OUT/bench_train.txt" 2>&1
log "done"
