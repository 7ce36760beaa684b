"""Sphinx configuration for the normtest documentation."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))

import normtest  # noqa: E402

project = "normtest"
author = "the normtest developers"
copyright = "2026, the normtest developers"
release = normtest.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "myst_parser",
    "matplotlib.sphinxext.plot_directive",
]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
# _generated/ holds fragments included by pages (e.g. the validation tables), not pages of their own.
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
plot_include_source = True
plot_html_show_source_link = False
plot_formats = [("png", 100)]
plot_rcparams = {"figure.figsize": (6.4, 4.0)}
plot_pre_code = "import numpy as np\nimport matplotlib.pyplot as plt\nimport normtest\n"
intersphinx_mapping = {}
html_theme = "pydata_sphinx_theme"
html_title = "normtest"
html_theme_options = {"navigation_with_keys": False}
