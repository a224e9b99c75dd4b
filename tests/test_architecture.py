"""The architecture, checked rather than described (docs/architecture.md draws it):

- the C++ core's folders form layers: a file includes headers of its own folder or of a
  folder below it, never above (kernels know nothing of layers; io knows layers, not api);
- every family is listed once, in its ``.def`` table, and the documented files of a family
  exist (a rename that leaves docs/architecture.md behind fails here);
- no source file is above about 700 lines.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "cpp" / "src"

# Lowest first. A folder may include its own headers and those of any folder of a lower rank.
# Folders of the same rank are siblings and must not include each other.
LAYERS = [
    ("simd",),                                      # SIMD vocabulary: vector types, math
    ("kernels",),                                   # per-ISA kernel bodies and the kernel table
    ("dispatch",),                                  # CPUID, RANVIER_ISA, the active table row
    ("runtime",),                                   # worker pool, checked allocation, FTZ
    ("gemm", "ops"),                                # GEMM drivers; activation ops
    ("config",),                                    # JSON and Keras-config readers
    ("losses", "metrics", "optimizers", "layers"),  # the families
    ("model",),                                     # Network and Trainer
    ("io",),                                        # model files
    ("api",),                                       # the public C++ and C API
]
RANK = {folder: rank for rank, group in enumerate(LAYERS) for folder in group}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([A-Za-z0-9_\-]+)/', re.M)


def _sources():
    return sorted(p for p in SRC.rglob("*") if p.suffix in (".h", ".cpp", ".inl", ".def"))


def test_every_folder_has_a_layer():
    folders = {p.relative_to(SRC).parts[0] for p in _sources() if len(p.relative_to(SRC).parts) > 1}
    assert folders <= set(RANK), f"folders without a place in LAYERS: {sorted(folders - set(RANK))}"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(SRC)))
def test_includes_point_down(path):
    own = path.relative_to(SRC).parts[0]
    bad = []
    for target in INCLUDE.findall(path.read_text(encoding="utf-8")):
        if target == own or target == "ranvier":  # own folder; the public headers (cpp/include)
            continue
        if target not in RANK or RANK[target] >= RANK[own]:
            bad.append(target)
    assert not bad, f"{path.relative_to(ROOT)} (in {own}/) includes from {bad}: not below {own}/"


FAMILY_TABLES = {
    "activations": "cpp/src/kernels/f32-vunary/activations.def",
    "losses": "cpp/src/kernels/f32-vloss/losses.def",
    "optimizers": "cpp/src/optimizers/optimizers.def",
    "metrics": "cpp/src/metrics/metrics.def",
    "layers": "cpp/src/layers/layers.def",
}


@pytest.mark.parametrize("family", sorted(FAMILY_TABLES))
def test_each_family_has_one_table(family):
    table = ROOT / FAMILY_TABLES[family]
    assert table.is_file()
    # the table's file name appears in the architecture page, and nowhere else in cpp/ is a
    # second .def for the same family
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert FAMILY_TABLES[family] in doc
    defs = [p for p in (ROOT / "cpp").rglob(f"{table.stem}*.def") if p != table]
    assert not defs, f"a second table for {family}: {defs}"


def test_documented_paths_exist():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    paths = set(re.findall(r"`((?:cpp|python|tests|bench|examples)/[A-Za-z0-9_./\-]+)`", doc))
    assert paths, "docs/architecture.md names no files"
    missing = sorted(p for p in paths if not (ROOT / p.rstrip("/")).exists())
    assert not missing, f"docs/architecture.md names files that do not exist: {missing}"


MAX_LINES = 700
SOURCE_DIRS = ("cpp", "python/ranvier", "python/bindings", "bench", "examples")


def _all_source_files():
    for d in SOURCE_DIRS:
        for p in (ROOT / d).rglob("*"):
            if p.suffix in (".py", ".cpp", ".h", ".hpp", ".inl", ".def", ".c") and "build" not in p.parts:
                yield p


def test_no_source_file_above_700_lines():
    long = {str(p.relative_to(ROOT)): n for p in _all_source_files()
            if (n := len(p.read_text(encoding="utf-8", errors="replace").splitlines())) > MAX_LINES}
    assert not long, f"source files above {MAX_LINES} lines: {long}"
