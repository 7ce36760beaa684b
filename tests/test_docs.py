"""The documentation site: it builds without warnings, and its examples and commands are current."""

import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")


def _fenced(path, lang):
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def test_sphinx_build_has_no_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("myst_parser")
    pytest.importorskip("pydata_sphinx_theme")
    src = tmp_path / "docs"
    # build a copy, so autosummary's generated stubs never land in the work tree
    shutil.copytree(DOCS, src, ignore=shutil.ignore_patterns("_build", "generated"))
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore::DeprecationWarning")
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
           "-d", str(tmp_path / "doctrees"), str(src), str(tmp_path / "html")]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-6000:]
    assert "Warning" not in out.stderr, out.stderr[-3000:]  # Python warnings count too (see conf.py)
    html = tmp_path / "html"
    for page in ("index", "getting_started", "frame", "cli", "plotting", "validation", "api"):
        assert (html / f"{page}.html").exists(), page
    assert "Power at alpha" in (html / "validation.html").read_text(encoding="utf-8")
    # every figure of a page is its own image (two inline plots on docs/sliced.md once shared one)
    for page in html.glob("*.html"):
        images = re.findall(r'<img[^>]+src="(_images/[^"]+\.png)"', page.read_text(encoding="utf-8"))
        assert len(images) == len(set(images)), (page.name, images)
        assert all((html / i).exists() for i in images), page.name


def test_python_warnings_fail_the_docs_build(tmp_path):
    # numpydoc reports an unknown docstring section with warnings.warn, which sphinx -W did not see
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("myst_parser")
    pytest.importorskip("pydata_sphinx_theme")
    src = tmp_path / "docs"
    src.mkdir()
    shutil.copy(os.path.join(DOCS, "conf.py"), src / "conf.py")
    (src / "index.rst").write_text("Probe\n=====\n\n.. autofunction:: probe_mod.f\n", encoding="utf-8")
    (tmp_path / "probe_mod.py").write_text(
        'def f():\n    """Probe.\n\n    Extra Attributes\n    ----------------\n    x : int\n        A.\n    """\n',
        encoding="utf-8")
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONWARNINGS="ignore::DeprecationWarning",
               PYTHONPATH=os.pathsep.join([str(tmp_path), ROOT, os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(src), str(tmp_path / "html")]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert out.returncode != 0 and "Unknown section Extra Attributes" in out.stderr, out.stderr[-2000:]


def test_demo_output_in_the_docs_is_current():
    # docs/cli.md shows docs/_generated/demo.txt; regenerate it with
    # python -m normtest demo --no-progress > docs/_generated/demo.txt
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-m", "normtest", "demo", "--no-progress"], capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    with open(os.path.join(DOCS, "_generated", "demo.txt"), encoding="utf-8") as fh:
        assert fh.read() == out.stdout


def test_law_thresholds_agree_with_the_code():
    # the sliced null law's switch to the gamma approximation, as the docstring and the page state it
    import normtest
    from normtest.ecf import _sliced_dispatch

    doc = " ".join(normtest.sliced_epps_pulley.__doc__.split())
    assert f"Beyond {_sliced_dispatch.MAX_LAW_SLICES} slices" in doc
    assert "Lanczos" not in doc  # the compressed Mehler law replaced it
    with open(os.path.join(DOCS, "sliced.md"), encoding="utf-8") as fh:
        page = " ".join(fh.read().split())
    for v in re.findall(r"[Bb]eyond (\d+) slices", page):
        assert int(v) == _sliced_dispatch.MAX_LAW_SLICES, v


def test_getting_started_repeats_the_readme_commands():
    readme = _fenced(os.path.join(ROOT, "README.md"), "bash")
    page = _fenced(os.path.join(DOCS, "getting_started.md"), "bash")
    assert len(readme) >= 2
    assert [c.strip() for c in readme[:2]] == [c.strip() for c in page[:2]]


def test_api_page_lists_every_public_name():
    import normtest
    import normtest.plotting

    with open(os.path.join(DOCS, "api.rst"), encoding="utf-8") as fh:
        listed = {line.strip() for line in fh if line.startswith("   ") and not line.strip().startswith(":")}
    missing = [n for n in normtest.__all__ if n != "__version__" and n not in listed]
    missing += [f"plotting.{n}" for n in normtest.plotting.__all__ if f"plotting.{n}" not in listed]
    for sub in ("torch", "dask", "spark"):  # read __all__ from the source: importing torch is slow
        path = os.path.join(ROOT, "normtest", f"{sub}.py")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                match = re.search(r"^__all__ = \[(.*?)\]", fh.read(), flags=re.S | re.M)
            names = re.findall(r"\"(\w+)\"", match.group(1)) if match else []
            missing += [f"{sub}.{n}" for n in names if f"{sub}.{n}" not in listed]
    assert not missing, f"add these to docs/api.rst: {missing}"


@pytest.mark.parametrize("page", ["getting_started.md", "frame.md", "dask.md", "cluster.md"])
def test_page_examples_run(page, tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    blocks = _fenced(os.path.join(DOCS, page), "python")
    assert blocks
    for block in blocks:
        exec(compile(block, f"{page} example", "exec"), namespace)  # noqa: S102 - our own docs


def test_validation_tables_are_generated():
    path = os.path.join(DOCS, "_generated", "validation_tables.md")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    assert text.startswith("<!-- generated by benchmarks/validation.py")
    for name in ("Epps–Pulley", "Anderson–Darling", "Cramér–von Mises", "Shapiro–Wilk"):
        assert name in text
    for n in (20, 50, 100):
        assert f"n = {n}" in text


_UNICODE_MATHS = re.compile("[ψχ²³√Σ∫βλ≤≥≠ᵀ∈ℝφΦ⁻₁₃‖±]")


def _prose(text):
    """The text outside fenced blocks, inline code and $...$ maths."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`|\$\$.*?\$\$|\$[^$\n]*\$", "", text, flags=re.S)


@pytest.mark.parametrize("page", ["index.md", "getting_started.md", "frame.md", "cli.md", "plotting.md",
                                  "edf.md", "epps_pulley.md", "validation.md", "sliced.md"])
def test_maths_is_latex_not_unicode(page):
    with open(os.path.join(DOCS, page), encoding="utf-8") as fh:
        text = fh.read()
    if page == "sliced.md":  # its section on the null laws is written by another change
        text = re.sub(r"^## Is my SIGReg value significant\?.*?(?=^## )", "", text, flags=re.S | re.M)
    bad = [line.strip() for line in _prose(text).splitlines() if _UNICODE_MATHS.search(line)]
    assert not bad, bad[:5]
