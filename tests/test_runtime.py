import os
import subprocess
import sys

import pytest

import ranvier


def test_version_and_isa():
    assert ranvier.__version__ == "0.1.0"
    assert ranvier.isa() in ranvier.supported_isas()
    assert ranvier.supported_isas()[0] == "scalar"


def test_build_info_reports_build():
    info = ranvier.build_info()
    for key in ("version", "compiler", "cxx_flags", "openmp", "isas_compiled", "isa"):
        assert key in info
    assert "scalar" in info["isas_compiled"]
    assert "-march=native" not in info["cxx_flags"]


def _run_with_env(code, **env):
    e = dict(os.environ)
    e.update(env)
    return subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True)


@pytest.mark.parametrize("name", ranvier.supported_isas())
def test_env_caps_isa(name):
    r = _run_with_env("import ranvier; print(ranvier.isa())", RANVIER_ISA=name)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == name


def test_env_unknown_isa_is_clear_error():
    r = _run_with_env("import ranvier", RANVIER_ISA="sse9")
    assert r.returncode != 0
    assert "RANVIER_ISA='sse9'" in r.stderr and "scalar, avx2, avx512" in r.stderr


@pytest.mark.skipif("avx512" in ranvier.supported_isas(), reason="this CPU has AVX-512")
def test_unsupported_isa_is_clear_error_not_a_crash():
    r = _run_with_env("import ranvier", RANVIER_ISA="avx512")
    assert r.returncode == 1, (r.returncode, r.stderr)  # a Python exception, not SIGILL
    assert "does not support ISA 'avx512'" in r.stderr
    with pytest.raises(ValueError, match="does not support ISA 'avx512'"):
        ranvier._runtime._force_isa("avx512")
