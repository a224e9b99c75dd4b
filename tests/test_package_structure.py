"""The Python package's structure: every module imports, the import graph (function-local
imports included) has no cycle, and the saving code reaches models only through their
public methods and the saving protocol (``_save_state`` / ``_restore_state``)."""
from __future__ import annotations

import ast
import importlib
import pathlib
from typing import Dict, List, Set

import pytest

import ranvier

PKG_DIR = pathlib.Path(ranvier.__file__).resolve().parent

# The modules that read and write model files: they take a model and may touch only its
# public surface and the saving protocol, never its (or its optimizer's, or its layers')
# private attributes.
SAVING_MODULES = ("ranvier.saving", "ranvier._model_io", "ranvier._saving_common",
                  "ranvier._keras_format", "ranvier._keras_h5")
SAVING_PROTOCOL = {"_save_state", "_restore_state", "_hold_between_steps"}


def _modules() -> Dict[str, pathlib.Path]:
    out = {}
    for path in sorted(PKG_DIR.rglob("*.py")):
        parts = ("ranvier",) + path.relative_to(PKG_DIR).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _compiled(name: str) -> bool:
    """An extension module of the package (``ranvier._core``): a leaf."""
    parent, _, leaf = name.rpartition(".")
    folder = PKG_DIR.joinpath(*parent.split(".")[1:])
    return any(folder.glob(f"{leaf}.*.so")) or any(folder.glob(f"{leaf}.pyi"))


def _imported(name: str, tree: ast.AST) -> Set[str]:
    """The package's modules that ``name`` imports anywhere (module level, functions,
    methods); ``from . import x`` counts as importing ``x`` when it is a module, else the
    package it comes from."""
    out: Set[str] = set()
    base = name.split(".") if _is_package(name) else name.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "ranvier")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                target = ".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "ranvier":
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if sub in MODULES or _compiled(sub):
                    out.add(sub)
                else:
                    out.add(target)
    out.discard(name)
    return {m for m in out if m in MODULES}


def _graph() -> Dict[str, Set[str]]:
    return {name: _imported(name, ast.parse(path.read_text(encoding="utf-8")))
            for name, path in MODULES.items()}


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    found: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_module_list_is_complete():
    for name in ("ranvier.models", "ranvier.models._trainer", "ranvier.saving", "ranvier._model_io",
                 "ranvier.export.onnx", "ranvier.callbacks", "ranvier._data"):
        assert name in MODULES


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_imports(name):
    if name == "ranvier.sklearn":
        pytest.importorskip("sklearn")
    importlib.import_module(name)


def test_the_import_graph_has_no_cycle():
    graph = _graph()
    assert graph["ranvier.saving"] >= {"ranvier.models", "ranvier._model_io"}  # the scan sees imports
    assert _cycles(graph) == []


def test_a_cycle_would_be_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_models_do_not_import_the_saving_facade():
    graph = _graph()
    seen, todo = set(), ["ranvier.models"]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(graph[m])
    assert "ranvier.saving" not in seen


def _module_aliases(tree: ast.AST) -> Set[str]:
    """Names bound to modules by imports (``from . import _core``, ``import numpy as np``)."""
    names: Set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.update(a.asname or a.name for a in node.names)
    return names


def _private_reads(name: str) -> List[str]:
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    modules = _module_aliases(tree)
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        attr = node.attr
        if not attr.startswith("_") or attr.startswith("__") or attr in SAVING_PROTOCOL:
            continue
        if isinstance(node.value, ast.Name) and node.value.id in modules | {"self", "cls"}:
            continue
        bad.append(f"{name}:{node.lineno}: .{attr}")
    return bad


@pytest.mark.parametrize("name", SAVING_MODULES)
def test_saving_code_reads_no_private_attribute(name):
    assert _private_reads(name) == []


def test_a_private_read_would_be_found(tmp_path, monkeypatch):
    src = tmp_path / "m.py"
    src.write_text("from . import _core\n\ndef f(model):\n    _core.x()\n    return model._net\n")
    monkeypatch.setitem(MODULES, "ranvier._probe", src)
    assert _private_reads("ranvier._probe") == ["ranvier._probe:5: ._net"]


# The size limit (about 700 lines per source file) is checked for every source file, C++ and
# bench included, in tests/test_architecture.py.
