"""The object cache that pip builds use (cpp/cmake/compile_cache.py).

pip's build isolation puts pybind11 in a new temporary directory for every install and
scikit-build-core then deletes CMakeFiles/ (every object file); the cache must give the
same object back when only such paths changed, and never when the code changed.
These tests compile tiny files with the system's C++ compiler (skipped without one).
"""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "cpp" / "cmake" / "compile_cache.py"
CXX = shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")

pytestmark = pytest.mark.skipif(CXX is None or not SCRIPT.exists(),
                                reason="needs a C++ compiler and the source tree")


def _tree(root: Path, header_value: int, where: str) -> Path:
    """A source file including a header from `<root>/<where>/inc` (the 'isolated env')."""
    inc = root / where / "inc"
    inc.mkdir(parents=True, exist_ok=True)
    (inc / "lib.h").write_text(
        "#pragma once\n"
        f"inline int value() {{ return {header_value}; }}\n"
        'inline const char* where() { return __FILE__; }\n')
    src = root / "src"
    src.mkdir(exist_ok=True)
    (src / "a.cpp").write_text('#include "lib.h"\nint f() { return value() + (where()[0] != 0); }\n')
    return inc


def _compile(root: Path, inc: Path, out_name: str, extra=()):
    out = root / "obj" / out_name
    out.parent.mkdir(exist_ok=True)
    dep = str(out) + ".d"
    cmd = [sys.executable, str(SCRIPT), str(root / "cache"), CXX, "-O2", "-fPIC",
           f"-fmacro-prefix-map={inc}=inc", "-isystem", str(inc), *extra,
           "-MD", "-MT", str(out), "-MF", dep, "-o", str(out), "-c", str(root / "src" / "a.cpp")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    return r, out, Path(dep)


def _entries(root: Path):
    return sorted(p.name for p in (root / "cache").rglob("*.o"))


def test_hit_when_only_the_include_path_moved(tmp_path):
    inc1 = _tree(tmp_path, 1, "env1")
    r, out1, dep1 = _compile(tmp_path, inc1, "a1.o")
    assert r.returncode == 0, r.stderr
    assert len(_entries(tmp_path)) == 1
    # a new "isolated environment": the same header in another directory, the old one gone
    shutil.rmtree(tmp_path / "env1")
    inc2 = _tree(tmp_path, 1, "env2")
    r, out2, dep2 = _compile(tmp_path, inc2, "a2.o")
    assert r.returncode == 0, r.stderr
    assert len(_entries(tmp_path)) == 1, "the second compile should have been a hit"
    assert out1.read_bytes() == out2.read_bytes()
    # the dependency file names the header where it is now, for the build tool
    deps = dep2.read_text()
    assert str(inc2 / "lib.h") in deps and "env1" not in deps
    assert str(out2) in deps.split(":")[0]


def test_miss_when_the_code_changed(tmp_path):
    inc = _tree(tmp_path, 1, "env")
    r, out1, _ = _compile(tmp_path, inc, "a1.o")
    assert r.returncode == 0, r.stderr
    _tree(tmp_path, 2, "env")                      # a header's content changed
    r, out2, _ = _compile(tmp_path, inc, "a2.o")
    assert r.returncode == 0, r.stderr
    assert len(_entries(tmp_path)) == 2
    assert out1.read_bytes() != out2.read_bytes()
    r, out3, _ = _compile(tmp_path, inc, "a3.o", extra=["-O0"])  # a flag changed
    assert r.returncode == 0, r.stderr
    assert len(_entries(tmp_path)) == 3


@pytest.mark.parametrize("flag", ["-g", "-g3", "--coverage", "-fprofile-generate"])
def test_debug_info_and_profiles_are_never_cached(tmp_path, flag):
    # debug info records paths; coverage and profiles write or read files beside the object
    inc = _tree(tmp_path, 1, "env")
    r, out, _ = _compile(tmp_path, inc, "a.o", extra=[flag])
    assert r.returncode == 0, r.stderr
    assert out.exists() and _entries(tmp_path) == []


def test_errors_and_warnings_come_from_the_compiler(tmp_path):
    inc = _tree(tmp_path, 1, "env")
    src = tmp_path / "src" / "a.cpp"
    src.write_text('#include "lib.h"\nint f() { int unused = 0; return value(); }\n')
    r1, _, _ = _compile(tmp_path, inc, "w1.o", extra=["-Wall"])
    r2, _, _ = _compile(tmp_path, inc, "w2.o", extra=["-Wall"])   # a hit replays the warning
    assert r1.returncode == 0 and r2.returncode == 0
    assert "unused" in r1.stderr and r1.stderr == r2.stderr
    src.write_text('#include "missing.h"\nint f() { return 0; }\n')
    r, out, _ = _compile(tmp_path, inc, "e.o")
    assert r.returncode != 0 and "missing.h" in r.stderr and not out.exists()
    src.write_text("int f() { return undefined_name; }\n")
    r, out, _ = _compile(tmp_path, inc, "e2.o")
    assert r.returncode != 0 and "undefined_name" in r.stderr and not out.exists()


def test_link_cache_keys_on_input_content(tmp_path):
    inc = _tree(tmp_path, 1, "env")
    r, obj, _ = _compile(tmp_path, inc, "a.o")
    assert r.returncode == 0, r.stderr

    def link(out_name):
        # as CMake's Ninja generator writes it: run in the build directory, relative paths
        cmd = [sys.executable, str(SCRIPT), "--link", "cache", CXX,
               "-shared", "-o", out_name, str(obj.relative_to(tmp_path))]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        return tmp_path / out_name

    so1 = link("l1.so")
    n = len(_entries(tmp_path))
    # the same link again is served from the cache (seen by marking the stored entry)
    entry = max((tmp_path / "cache").rglob("*.o"), key=lambda p: p.stat().st_mtime_ns)
    real = entry.read_bytes()
    assert real == so1.read_bytes()
    entry.write_bytes(b"from the cache")
    assert link("l0.so").read_bytes() == b"from the cache"
    entry.write_bytes(real)
    so2 = link("l2.so")
    assert len(_entries(tmp_path)) == n and so1.read_bytes() == so2.read_bytes()
    assert os.access(so2, os.X_OK)
    _tree(tmp_path, 7, "env")                      # new code, new object: a new link
    assert _compile(tmp_path, inc, "a.o")[0].returncode == 0
    link("l3.so")
    assert len(_entries(tmp_path)) == n + 2        # the new object and the new library


def test_prune_keeps_the_newest_under_the_limit(tmp_path):
    cache = tmp_path / "cache" / "ab"
    cache.mkdir(parents=True)
    for i in range(4):
        p = cache / f"e{i}.o"
        p.write_bytes(b"x" * 400_000)
        os.utime(p, ns=(10**18 + i * 10**9, 10**18 + i * 10**9))
    (cache / "e0.stderr").write_text("warning")
    r = subprocess.run([sys.executable, str(SCRIPT), "--prune", str(tmp_path / "cache"), "1"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in cache.iterdir()) == ["e2.o", "e3.o"]
