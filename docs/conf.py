"""Sphinx configuration for ranvier's documentation.

Build (warnings are errors, as in CI):
    pip install ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

The API reference is generated from the docstrings of the installed package, so
``import ranvier`` must work (install the package first; it needs the compiled core).
"""
import os
import sys

import ranvier

project = "ranvier"
author = "ranvier developers"
copyright = "ranvier developers"
release = ranvier.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "img/*.py", "guide/figures"]

myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

autodoc_default_options = {"show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_class_signature = "mixed"
autosummary_generate = False
napoleon_google_docstring = True
napoleon_numpy_docstring = True

# No intersphinx: the build must not need the network.

# Names our docstrings mention that have no page of their own.
nitpicky = False

html_theme = "alabaster"
html_static_path = []
html_title = f"ranvier {release}"
html_theme_options = {"description": "Fast CPU training of MLPs with a Keras-shaped API",
                      "fixed_sidebar": True}

sys.path.insert(0, os.path.abspath(os.path.dirname(__file__)))


def _guide_links_must_resolve(app, env, node, contnode):
    """The guide's links to the API reference must resolve. ``nitpicky`` stays off for the
    docstrings (they name types with no page), so the guide is checked here: an unresolved
    ``{py:...}`` reference in docs/guide is a warning, an error under -W."""
    if node.get("refdomain") == "py" and str(node.get("refdoc", "")).startswith("guide/"):
        from sphinx.util import logging

        logging.getLogger(__name__).warning(
            "guide: unresolved API reference %s:%s", node.get("reftype"), node.get("reftarget"),
            location=node)
    return None


def setup(app):
    """Registers the guide's reference check."""
    app.connect("missing-reference", _guide_links_must_resolve)
