"""The commands in the README and the docs work as printed (the cheap, static part).

ranvier is not on a package index: no page may tell a reader to ``pip install ranvier...``
from one (extras come from the checkout, ``pip install ".[plot]"``, or from a wheel file).
A Python block that calls ``ranvier.`` must have imported ``ranvier`` under that name, in
the block or in an earlier block of the same page (pages are read top to bottom).
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
PAGES = [p for p in PAGES if "_build" not in p.parts]

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
# pip install ranvier / "ranvier[x]" / 'ranvier[x]': an index install
INDEX_INSTALL = re.compile(r"""pip install\s+(?:-\S+\s+)*["']?ranvier(?:\[|\b(?![-./\w]))""")


def _blocks(page):
    return FENCE.findall(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_install_from_an_index(page):
    text = page.read_text(encoding="utf-8")
    bad = [m.group(0) for m in INDEX_INSTALL.finditer(text)]
    assert not bad, f"{page.name}: ranvier is not on an index: {bad}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_import_what_they_call(page):
    imported = False
    for lang, body in _blocks(page):
        if lang != "python":
            continue
        if re.search(r"^\s*(import ranvier\s*(#|$)|import ranvier,|import .*\branvier\b(?! as))",
                     body, re.M):
            imported = True
        code = re.sub(r"#.*", "", body)           # comments may name ranvier.Sequential
        code = re.sub(r"^\s*(from|import) .*$", "", code, flags=re.M)
        uses = re.search(r"(?<![\w.])ranvier\.\w", code)
        if uses and not imported:
            pytest.fail(f"{page.name}: a block calls {uses.group(0)!r}... without "
                        f"'import ranvier' (only 'import ranvier as ...'?):\n{body}")


def test_wheel_paths_match_the_recipe():
    # auditwheel writes the manylinux wheel to wheelhouse/; dist/ holds the linux_x86_64 one
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"dist/ranvier-[^\s`\"']*manylinux", text), page.name


def test_the_repository_does_not_point_outside_itself():
    for page in PAGES:
        assert "/".join(["..", "shared"]) not in page.read_text(encoding="utf-8"), page.name
