"""The package's layout, enforced: imports point down, files stay small, citations resolve.

Every module of ``normtest/`` belongs to one layer (``LAYER_OF``: longest matching
prefix). A module may import modules of its own layer and of the layers below it,
at module level and inside functions alike: the imports are read with ``ast``, so a
lazy import counts. The only upward arrows allowed are listed in ``UPWARD_ALLOWED``:
a result object's ``plot()`` method delegates to ``normtest.plotting`` by a
function-level import (the result knows nothing of matplotlib; the figure code lives
in one place). Below the surface layer only NumPy, SciPy, numba, array-api-compat and
the standard library are imported: optional dependencies (pandas, matplotlib, tqdm,
torch, dask, ...) are the surface's business.

To add a module, give it a layer here. To add an upward arrow, don't: move the code.
"""

from __future__ import annotations

import ast
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PKG = ROOT / "normtest"

#: The layers, lowest first.
LAYERS = ("base", "checks", "engines", "laws", "tests", "surface")

#: Module (or package prefix) -> layer. The longest matching prefix wins.
LAYER_OF = {
    # shared settings and tools that know nothing of statistics
    "normtest._version": "base",
    "normtest._numba": "base",
    "normtest._cache": "base",
    "normtest._progress": "base",
    "normtest.ecf": "base",            # the subpackages' (empty) __init__ files
    "normtest.edf": "base",
    "normtest.multivariate": "base",
    # argument checks and the result family
    "normtest._validate": "checks",
    "normtest._result": "checks",
    # numba kernels, the array-API sums -> statistic core, matrix input and streaming
    "normtest.edf._kernels": "engines",
    "normtest.ecf._kernels": "engines",
    "normtest.multivariate._kernels": "engines",
    "normtest.ecf.core": "engines",
    "normtest.ecf._stream": "engines",
    "normtest.ecf._sincos": "engines",
    "normtest.ecf._passes": "engines",
    "normtest._matrix": "engines",
    "normtest._standardize": "engines",  # the one standardisation algorithm (numpy / array API)
    # null laws and quadrature rules
    "normtest.null": "laws",
    "normtest._sumchi2": "laws",
    "normtest.edf.laws": "laws",
    "normtest.ecf.rules": "laws",
    "normtest.ecf.laws": "laws",
    "normtest.edf.durbin": "laws",
    "normtest.ecf.sliced_laws": "laws",
    "normtest.ecf._sliced_dispatch": "laws",
    # the tests: statistic + p-value + result
    "normtest.edf.ecdf": "tests",
    "normtest.edf.statistics": "tests",
    "normtest.ecf.inference": "tests",
    "normtest.ecf.univariate": "tests",
    "normtest.ecf.sliced": "tests",
    "normtest.multivariate.bhep": "tests",
    "normtest.multivariate.mardia": "tests",
    "normtest.classic": "surface",  # wraps SciPy/statsmodels (statsmodels imported on use)
    "normtest.ecf.effect": "tests",
    # what users import: the package, backends, integrations, figures, the CLI
    "normtest": "surface",
    "normtest.__main__": "surface",
    "normtest.frame": "surface",
    "normtest._tables": "surface",
    "normtest.plotting": "surface",
    "normtest._figures": "surface",
    "normtest.dask": "surface",
    "normtest.streaming": "surface",
    "normtest.spark": "surface",
    "normtest._distributed": "surface",
    "normtest.torch": "surface",
}

#: The only upward arrows: (importer, imported, where). "function" = inside a function only.
UPWARD_ALLOWED = {
    ("normtest._result", "normtest.plotting", "function"),    # TestResult.plot -> plot_null
    ("normtest.edf.ecdf", "normtest.plotting", "function"),   # ECDFResult.plot -> draw_ecdf
}

#: Third-party packages that modules below the surface may import.
REQUIRED = {"numpy", "scipy", "numba", "array_api_compat", "threadpoolctl"}
#: The one door to an optional dependency below the surface: module -> package.
OPTIONAL_DOOR = {"normtest._progress": "tqdm",   # progress_bar(); everyone else calls it
                 "normtest.ecf._stream": "threadpoolctl"}  # BLAS pinned to 1 thread per worker, if installed

MAX_LINES = 450
#: Files allowed over MAX_LINES while they are being split (name the helper doing it).
LONG_FILES_ALLOWED = {
}


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules():
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _layer(module: str) -> str:
    best = max((k for k in LAYER_OF if module == k or module.startswith(k + ".")), key=len, default=None)
    if best is None:
        raise KeyError(module)
    return LAYER_OF[best]


def _imports(module: str, path: pathlib.Path, known: set):
    """Yield (imported module, 'module' | 'function', line) for every import in the file."""
    is_pkg = path.name == "__init__.py"
    package = module if is_pkg else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))

    def visit(node, where):
        for child in ast.iter_child_nodes(node):
            inner = "function" if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)) \
                else where
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield alias.name, where, child.lineno
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[:len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                for alias in child.names:
                    sub = f"{target}.{alias.name}"
                    yield (sub if sub in known else target), where, child.lineno
            yield from visit(child, inner)

    yield from visit(tree, "module")


def _edges():
    mods = _modules()
    known = set(mods)
    for name, path in mods.items():
        for target, where, line in _imports(name, path, known):
            yield name, target, where, f"{path.relative_to(ROOT)}:{line}"


def test_every_module_has_a_layer():
    missing = []
    for name in _modules():
        try:
            _layer(name)
        except KeyError:
            missing.append(name)
    assert not missing, f"give these modules a layer in tests/test_layout.py: {missing}"
    assert set(LAYER_OF.values()) <= set(LAYERS)


def test_imports_point_down():
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    upward = []
    for src, dst, where, loc in _edges():
        if not (dst == "normtest" or dst.startswith("normtest.")):
            continue
        if rank[_layer(dst)] <= rank[_layer(src)]:
            continue
        if (src, dst, where) in UPWARD_ALLOWED:
            continue
        upward.append(f"{loc}: {src} ({_layer(src)}) imports {dst} ({_layer(dst)}) at {where} level")
    assert not upward, "imports pointing up:\n" + "\n".join(upward)


def test_no_optional_dependency_below_the_surface():
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    bad = []
    for src, dst, _, loc in _edges():
        top = dst.split(".")[0]
        if top == "normtest" or _layer(src) == "surface":
            continue
        if top not in stdlib and top not in REQUIRED and OPTIONAL_DOOR.get(src) != top:
            bad.append(f"{loc}: {src} imports {dst}")
    assert not bad, "optional dependencies below the surface layer:\n" + "\n".join(bad)


def test_the_layout_test_sees_lazy_and_relative_imports():
    edges = {(s, d, w) for s, d, w, _ in _edges()}
    assert ("normtest._result", "normtest.plotting", "function") in edges
    assert ("normtest.ecf.univariate", "normtest.ecf.inference", "module") in edges
    assert ("normtest.ecf.univariate", "normtest.ecf._kernels", "function") in edges


@pytest.mark.parametrize("path", sorted(p.relative_to(ROOT).as_posix() for p in PKG.rglob("*.py")))
def test_files_stay_small(path):
    lines = (ROOT / path).read_text(encoding="utf-8").count("\n")
    if path in LONG_FILES_ALLOWED:
        pytest.skip(f"{path} ({lines} lines) is on the allow-list while it is split")
    assert lines <= MAX_LINES, f"{path} has {lines} lines (at most {MAX_LINES}): split it by concern"


def test_long_file_allow_list_is_current():
    for path in LONG_FILES_ALLOWED:
        p = ROOT / path
        if p.exists():
            assert p.read_text(encoding="utf-8").count("\n") > MAX_LINES, f"{path} is short now: unlist it"


def test_citations_resolve_inside_the_repository():
    # the maths page is docs/theory.md; no text may point outside the repository for it
    banned = ("MATH" + ".md", ".." + "/shared")
    hits = []
    for folder in ("normtest", "docs", "tests"):
        for p in sorted((ROOT / folder).rglob("*")):
            if p.suffix not in {".py", ".md", ".rst", ".txt", ".toml", ".cfg"} or "_build" in p.parts:
                continue
            text = p.read_text(encoding="utf-8", errors="replace")
            hits += [f"{p.relative_to(ROOT)}: {b}" for b in banned if b in text]
    assert not hits, hits
    # every "docs/theory.md §N" cited in the code names a section of the page
    theory = (ROOT / "docs" / "theory.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^#+\s*(§[\d.]*\d)", theory, flags=re.M))
    cited = set()
    for p in sorted(PKG.rglob("*.py")):
        for m in re.finditer(r"docs/theory\.md(.{0,40})", p.read_text(encoding="utf-8")):
            cited |= set(re.findall(r"§[\d.]*\d", m.group(1)))
    assert cited, "no citation found: the pattern is broken"
    missing = sorted(cited - sections)
    assert not missing, f"docs/theory.md has no section {missing}"
