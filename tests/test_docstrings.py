"""Every public name of ranvier has a docstring.

Walks each public module, takes its public names (``__all__`` where the module defines it,
else every name without a leading underscore), keeps those defined in ranvier (re-exports of
NumPy, typing etc. are skipped, as are plain data such as ``__version__``) and checks:

* the module itself, each public function and each public class has a non-empty docstring;
* each public method, property, classmethod and staticmethod of those classes that ranvier
  defines (in the class or in a ranvier base class) has a non-empty docstring, where a
  docstring inherited from a ranvier base class counts (an override of ``Layer.get_config``
  needs none of its own). Members a class only inherits from outside ranvier (``object``,
  scikit-learn's ``BaseEstimator``) are not ranvier's to document and are skipped, and a
  ranvier override of such a member needs its own docstring (an inherited third-party one
  does not count).

The failure message lists every offender, as ``module.Name.member``.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import types

import pytest

MODULES = [
    "ranvier", "ranvier.layers", "ranvier.losses", "ranvier.optimizers",
    "ranvier.optimizers.schedules", "ranvier.activations", "ranvier.metrics", "ranvier.callbacks",
    "ranvier.initializers", "ranvier.regularizers", "ranvier.constraints", "ranvier.models",
    "ranvier.utils", "ranvier.ops", "ranvier.saving", "ranvier.sklearn", "ranvier.export",
    "ranvier.export.onnx", "ranvier.plotting", "ranvier.distributed", "ranvier.datasets",
    "ranvier.datasets.mnist", "ranvier.datasets.fashion_mnist", "ranvier.datasets.imdb",
    "ranvier.datasets.reuters", "ranvier.datasets.boston_housing", "ranvier.datasets.california_housing",
]

# Modules that need an optional extra to import: module -> the package it needs.
OPTIONAL = {"ranvier.sklearn": "sklearn"}


def _is_ranvier(obj) -> bool:
    mod = getattr(obj, "__module__", None) or ""
    return mod == "ranvier" or mod.startswith("ranvier.")


def _public_names(module: types.ModuleType):
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return sorted(names)


def _unwrap(member):
    """The object whose ``__doc__`` documents a class member (functions, properties, ...)."""
    if isinstance(member, (classmethod, staticmethod)):
        return member.__func__
    return member  # a property's __doc__ is its getter's unless given with property(doc=...)


def _is_documentable_member(member) -> bool:
    return isinstance(member, (types.FunctionType, classmethod, staticmethod, property,
                               types.BuiltinFunctionType)) or inspect.isclass(member)


def _member_doc(cls: type, name: str):
    """(docstring, defining class) of ``cls.name``: the first class along the MRO that
    defines ``name`` with a docstring; the docstring is None when none does."""
    for klass in cls.__mro__:
        if name in vars(klass):
            doc = getattr(_unwrap(vars(klass)[name]), "__doc__", None)
            if doc and doc.strip():
                return doc, klass
    return None, None


def _class_offenders(qualname: str, cls: type):
    out = []
    for name in sorted(dir(cls)):
        if name.startswith("_"):
            continue
        owners = [k for k in cls.__mro__ if name in vars(k)]
        if not owners or not _is_ranvier(owners[0]):
            continue  # only inherited from object / a third-party base: not ours
        member = vars(owners[0])[name]
        if not _is_documentable_member(member):
            continue  # plain class attributes (constants) carry no docstring
        doc, klass = _member_doc(cls, name)
        if doc is None or not _is_ranvier(klass):
            out.append(f"{qualname}.{name}")
    return out


def _module_offenders(modname: str):
    module = importlib.import_module(modname)
    out = []
    if not (module.__doc__ or "").strip():
        out.append(f"{modname} (module docstring)")
    for name in _public_names(module):
        obj = getattr(module, name)
        if isinstance(obj, types.ModuleType):
            continue  # submodules: each public one is walked on its own
        if not (inspect.isclass(obj) or callable(obj)) or not _is_ranvier(obj):
            continue  # data, or a re-export from NumPy / typing / the standard library
        if not (inspect.getdoc(obj) or "").strip() or (
                inspect.isclass(obj) and not (obj.__doc__ or "").strip()):
            out.append(f"{modname}.{name}")
        if inspect.isclass(obj):
            out.extend(_class_offenders(f"{modname}.{name}", obj))
    return out


@pytest.mark.parametrize("modname", MODULES)
def test_public_names_have_docstrings(modname):
    if modname in OPTIONAL and importlib.util.find_spec(OPTIONAL[modname]) is None:
        pytest.skip(f"{modname} needs {OPTIONAL[modname]}")
    offenders = _module_offenders(modname)
    assert not offenders, (f"{len(offenders)} public name(s) of {modname} without a docstring:\n  "
                           + "\n  ".join(offenders))


def test_the_walk_finds_members():
    """Guards the walker itself: it sees methods, properties and inherited docstrings."""
    from ranvier.layers import Dense, Layer
    doc, klass = _member_doc(Dense, "get_config")
    assert doc and _is_ranvier(klass)
    assert _member_doc(Layer, "weights")[0]  # a property

    class Undocumented(Layer):
        def call_me(self):
            pass

        @property
        def prop(self):
            return 1

    Undocumented.__module__ = "ranvier.fake"
    assert _class_offenders("Undocumented", Undocumented) == ["Undocumented.call_me",
                                                              "Undocumented.prop"]
