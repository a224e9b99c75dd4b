"""Regenerates every figure of the guide and the numbers its pages print
(``docs/guide/figures/``), or checks that the checked-in files are what the scripts produce.

    python docs/guide/make_figures.py            # rewrites docs/guide/figures/
    python docs/guide/make_figures.py --check    # regenerates into a temporary folder and
                                                 # exits 1 if any file differs (CI runs this)

Runs headless (matplotlib's Agg), one script after the other in this process. Every script
seeds ranvier with ``ranvier.utils.set_random_seed``; here the kernels are also pinned to the
AVX2 tier (when the CPU has it) and one thread, so that a machine with or without AVX-512
draws the same pixels. PNG files are compared pixel by pixel (not byte by byte, so a
different zlib does not matter); text files byte by byte.
"""
from __future__ import annotations

import argparse
import importlib
import os
import shutil
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")

import matplotlib.image  # noqa: E402
import numpy as np  # noqa: E402

import ranvier  # noqa: E402
from ranvier import _runtime  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
FIGURES = os.path.join(HERE, "figures")
SCRIPTS = ("perceptron", "activations", "losses", "optimizers", "mlp")
MAX_PNG_BYTES = 100 * 1024


def reproducible() -> str:
    """Pins the kernel tier and the thread count; returns the tier used."""
    ranvier.set_num_threads(1)
    if "avx2" in ranvier.supported_isas():
        _runtime._force_isa("avx2")
    return ranvier.isa()


def generate(outdir: str) -> None:
    """Runs every script's ``main(outdir)``."""
    sys.path.insert(0, HERE)
    for name in SCRIPTS:
        print(f"-- {name}.py")
        importlib.import_module(name).main(outdir)


def same_file(a: str, b: str) -> bool:
    """Pixel-equal PNGs, byte-equal other files."""
    if a.endswith(".png"):
        pa, pb = matplotlib.image.imread(a), matplotlib.image.imread(b)
        return pa.shape == pb.shape and bool(np.array_equal(pa, pb))
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def compare(expected_dir: str, got_dir: str) -> list:
    """The problems found: missing, extra, different or too large files."""
    expected, got = set(os.listdir(expected_dir)), set(os.listdir(got_dir))
    problems = [f"{n}: checked in but no script writes it" for n in sorted(expected - got)]
    problems += [f"{n}: written by a script but not checked in" for n in sorted(got - expected)]
    for n in sorted(expected & got):
        if not same_file(os.path.join(expected_dir, n), os.path.join(got_dir, n)):
            problems.append(f"{n}: differs from what the scripts draw now")
    for n in sorted(got):
        size = os.path.getsize(os.path.join(got_dir, n))
        if n.endswith(".png") and size > MAX_PNG_BYTES:
            problems.append(f"{n}: {size // 1024} KB, over the {MAX_PNG_BYTES // 1024} KB budget")
    return problems


def main(argv=None) -> int:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="regenerate into a temporary folder and compare with docs/guide/figures")
    parser.add_argument("--keep", metavar="DIR", help="with --check: also copy the regenerated files to DIR")
    args = parser.parse_args(argv)
    isa = reproducible()
    if not args.check:
        generate(FIGURES)
        print(f"wrote {FIGURES} (kernels: {isa}, 1 thread)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        generate(tmp)
        if args.keep:
            shutil.copytree(tmp, args.keep, dirs_exist_ok=True)
        problems = compare(FIGURES, tmp)
    if problems:
        print("\nThe guide's checked-in figures are not what its scripts draw:")
        print("\n".join(f"  {p}" for p in problems))
        print(f"(kernels {isa}, matplotlib {matplotlib.__version__}, numpy {np.__version__})\n"
              "Regenerate them with `python docs/guide/make_figures.py` and commit docs/guide/figures/.")
        return 1
    print(f"docs/guide/figures: all {len(os.listdir(FIGURES))} files are what the scripts draw "
          f"(kernels {isa}, matplotlib {matplotlib.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
