"""The Keras-style programs of tests/keras_programs/, run with ``import keras`` giving
ranvier. Each program asserts what its guide or tutorial pattern promises and prints its
results (``RESULT {json}``).

``--keras-python=PATH`` names an interpreter that has Keras (with a backend) installed:
the same programs then also run under Keras itself, and each result a program lists in
its ``TOLERANCES`` must agree within that tolerance (absolute; the libraries draw
different initial weights and shuffles, so they agree statistically, not bit for bit).
"""
import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "keras_programs"
PROGRAMS = sorted(HERE.glob("prog_*.py"))
RUNNER = HERE / "run.py"
ROOT = Path(__file__).resolve().parent.parent


def _tolerances(program: Path) -> dict:
    for node in ast.parse(program.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "TOLERANCES" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


def _run(cmd, tmp_path, extra_env=None):
    env = dict(os.environ)
    env["KERAS_HOME"] = str(tmp_path / "keras_home")  # never the user's cache
    env["MPLBACKEND"] = "Agg"
    env.update(extra_env or {})
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    assert lines, f"no RESULT line:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return json.loads(lines[-1][len("RESULT "):])


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.stem)
def test_program_runs_under_ranvier(program, tmp_path):
    pythonpath = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(HERE)]))
    results = _run([sys.executable, str(RUNNER), str(program)], tmp_path, {"PYTHONPATH": pythonpath})
    for key in _tolerances(program):
        assert key in results, f"{program.name} does not report {key}"


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.stem)
def test_program_agrees_with_keras(program, tmp_path, request):
    keras_python = request.config.getoption("--keras-python")
    if not keras_python:
        pytest.skip("pass --keras-python=PATH (an interpreter with Keras) to compare with Keras")
    pythonpath = os.pathsep.join(filter(None, [os.environ.get("PYTHONPATH"), str(HERE)]))
    (tmp_path / "ranvier").mkdir()
    (tmp_path / "keras").mkdir()
    ours = _run([sys.executable, str(RUNNER), str(program)], tmp_path / "ranvier", {"PYTHONPATH": pythonpath})
    theirs = _run([keras_python, str(program)], tmp_path / "keras", {"PYTHONPATH": str(HERE)})
    for key, tol in _tolerances(program).items():
        assert abs(ours[key] - theirs[key]) <= tol, f"{key}: ranvier {ours[key]} vs Keras {theirs[key]} (tolerance {tol})"
