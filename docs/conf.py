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


def _warning_to_sphinx(message, category, filename, lineno, file=None, line=None):
    """Python warnings raised while building (numpydoc's "Unknown section ...", a plot script's
    warnings) become Sphinx warnings, so that ``-W`` fails the build on them too."""
    from sphinx.util import logging

    logging.getLogger("normtest.docs").warning(f"{category.__name__}: {message} ({filename}:{lineno})")


def _numbered_plot_directive():
    """``.. plot::`` whose inline figures are numbered per page, not per ``{eval-rst}`` block.

    matplotlib numbers inline figures with a counter kept on the docutils document, and every MyST
    ``{eval-rst}`` block is parsed as a document of its own: two inline plots on one page were both
    written as ``<page>-1.png`` (the second overwrote the first).
    """
    from matplotlib.sphinxext.plot_directive import PlotDirective

    class NumberedPlot(PlotDirective):
        def run(self):
            if not self.arguments and not self.options.get("filename-prefix"):
                env = self.state.document.settings.env
                count = env.temp_data.get("normtest_plot_count", 0) + 1
                env.temp_data["normtest_plot_count"] = count
                self.options["filename-prefix"] = f"{env.docname.replace('/', '-')}-{count}"
            return super().run()

    return NumberedPlot


def setup(app):
    import warnings

    warnings.showwarning = _warning_to_sphinx
    app.add_directive("plot", _numbered_plot_directive(), override=True)
