"""Runs a Keras-style program with ``import keras`` giving ranvier (the user's one change).

Usage: ``python run.py PROGRAM.py [ARGS...]``. Every ``keras.<name>`` submodule import
(``from keras.callbacks import EarlyStopping``, ``import keras.layers``) resolves to the
matching ranvier module.
"""
import importlib
import pkgutil
import runpy
import sys


def alias_keras_to_ranvier() -> None:
    import ranvier
    sys.modules["keras"] = ranvier
    for info in pkgutil.iter_modules(ranvier.__path__):
        if info.name.startswith("_"):
            continue
        try:
            mod = importlib.import_module(f"ranvier.{info.name}")
        except ImportError:  # an optional part whose extra is not installed
            continue
        sys.modules[f"keras.{info.name}"] = mod


if __name__ == "__main__":
    alias_keras_to_ranvier()
    program = sys.argv[1]
    sys.argv = sys.argv[1:]
    runpy.run_path(program, run_name="__main__")
