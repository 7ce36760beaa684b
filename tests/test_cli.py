"""The command line: normtest check / normtest demo."""

import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import normtest
from normtest.__main__ import main


@pytest.fixture
def csv_files(tmp_path):
    rng = np.random.default_rng(8)
    ok = tmp_path / "ok.csv"
    pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(5, 2, size=80),
                  "name": [f"r{i}" for i in range(80)]}).to_csv(ok, index=False)
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"a": rng.normal(size=80), "skew": rng.exponential(size=80)}).to_csv(bad, index=False)
    return ok, bad


def _call(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_exit_codes_and_table(csv_files, capsys):
    ok, bad = csv_files
    code, out, err = _call(capsys, "check", str(ok), "--no-progress", "--test", "anderson,cramervonmises")
    assert code == 0, err
    assert "anderson" in out and "cramervonmises" in out
    assert "Normality rejected for 0 of 2 tested" in out
    assert "Skipped: name, non-numeric column" in out  # the text column is listed as skipped
    code, out, err = _call(capsys, "check", str(bad), "--test", "anderson", "--no-progress")
    assert code == 1
    assert "skew" in out and "rejected" in out and "not rejected" in out


def test_json_and_csv_formats(csv_files, capsys):
    _, bad = csv_files
    code, out, _ = _call(capsys, "check", str(bad), "--format", "json", "--seed", "3",
                         "--test", "anderson,cramervonmises")
    assert code == 1
    doc = json.loads(out)
    assert doc["normtest"] == normtest.__version__ and doc["seed"] == 3
    assert doc["settings"]["tests"] == ["anderson", "cramervonmises"]
    assert {r["column"] for r in doc["results"]} == {"a", "skew"}
    assert all(r["record"]["version"] == normtest.__version__ for r in doc["results"])
    code, out, _ = _call(capsys, "check", str(bad), "--format", "csv", "--test", "anderson")
    table = pd.read_csv(io.StringIO(out))
    assert list(table.columns[:3]) == ["column", "test", "n"]
    assert table.set_index("column").loc["skew", "reject"]


def test_json_is_byte_identical_for_a_seed(csv_files, capsys):
    _, bad = csv_files
    argv = ["check", str(bad), "--format", "json", "--seed", "11", "--n-resamples", "99",
            "--test", "anderson,cramervonmises"]
    outs = []
    for _ in range(2):
        normtest.clear_null_cache()
        outs.append(_call(capsys, *argv)[1])
    assert outs[0] == outs[1]
    # and the record regenerates the table through the Python API
    doc = json.loads(outs[0])
    df = pd.read_csv(bad)
    table = normtest.check(df, **doc["settings"])
    np.testing.assert_allclose(table["pvalue"].to_numpy(dtype=float),
                               [np.nan if r["pvalue"] is None else r["pvalue"] for r in doc["results"]],
                               rtol=0, atol=0)


def test_columns_by_and_simple(tmp_path, capsys):
    rng = np.random.default_rng(1)
    path = tmp_path / "g.csv"
    df = pd.DataFrame({"g": ["x", "y"] * 30, "v": rng.normal(size=60), "w": rng.normal(size=60)})
    df.to_csv(path, index=False)
    code, out, err = _call(capsys, "check", str(path), "--columns", "v", "--by", "g", "--simple",
                           "--test", "cramervonmises", "--format", "csv")
    assert code in (0, 1), err
    table = pd.read_csv(io.StringIO(out))
    assert list(table["g"]) == ["x", "y"] and list(table["column"]) == ["v", "v"]
    code, out, err = _call(capsys, "check", str(path), "--multivariate-test", "henze_zirkler",
                           "--test", "anderson", "--format", "csv")
    table = pd.read_csv(io.StringIO(out)).set_index("column")
    assert table.loc["(multivariate)", "test"] == "henze_zirkler" and code in (0, 1), err


def test_parquet(tmp_path, capsys, monkeypatch):
    path = tmp_path / "d.parquet"
    pd.DataFrame({"a": np.random.default_rng(0).normal(size=40)}).to_parquet(path)
    code, out, err = _call(capsys, "check", str(path), "--test", "anderson", "--format", "csv")
    assert code == 0, err
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # simulate a missing optional dependency
    code, out, err = _call(capsys, "check", str(path))
    assert code == 2 and out == ""
    assert "normtest[parquet]" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("content, name, match", [
    (None, "missing.csv", "no such file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\xff\xfe\xfd", "garbage.csv", "cannot read"),
    (b"", "empty.csv", "cannot read"),
    (b"a,b\nx,y\nz,w\n", "text.csv", "numeric column"),
    (b"a\n1\n", "data.xlsx", "expected a .csv"),
    (b"PAR1 not really", "broken.parquet", "as Parquet"),
])
def test_input_errors(tmp_path, capsys, content, name, match):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    code, out, err = _call(capsys, "check", str(path))
    assert code == 2 and out == ""
    assert match in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv, match", [
    (["check", "{ok}", "--columns", "zzz"], "--columns must name columns of the file"),
    (["check", "{ok}", "--test", "frobnicate"], "--test must be names"),
    (["check", "{ok}", "--alpha", "1.5"], "--alpha"),
    (["check", "{ok}", "--seed", "-3"], "--seed"),
    (["check", "{ok}", "--n-resamples", "0"], "--n-resamples"),
    (["check", "{ok}", "--by", "zzz"], "--by must name columns of the file"),
])
def test_option_errors(csv_files, capsys, argv, match):
    ok, _ = csv_files
    code, out, err = _call(capsys, *[a.format(ok=ok) for a in argv])
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [[], ["check"], ["frobnicate"], ["check", "x.csv", "--format", "xml"],
                                  ["check", "x.csv", "--alpha", "big"]])
def test_usage_errors_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "error:" in err and len(err.strip().splitlines()) == 1


def test_demo_in_process(capsys):
    # the README's first command is `python -m normtest demo`: real data bundled with statsmodels
    code, out, err = _call(capsys, "demo", "--no-progress")
    assert code == 0, err  # a demo succeeds; its rejections are results
    assert "statecrime" in out and "violent" in out and "(multivariate)" in out
    assert "Seed 0" in out and "No test gave a p-value" not in out
    assert "failed" not in out and " -  " not in out, out  # every cell has a p-value
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("column"))
    footer = ("Cells", "'holm p'", "'< p'", "p-value", "Norm", "Skipped")
    assert len([ln for ln in lines[header + 2:] if ln.strip() and not ln.startswith(footer)]) == 8


def test_module_entry_point_subprocess(csv_files):
    # `python -m normtest` is the same program as the `normtest` console script
    ok, bad = csv_files
    run = [sys.executable, "-m", "normtest", "check", "--test", "anderson", "--format", "csv"]
    out = subprocess.run(run + [str(bad)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stderr
    assert pd.read_csv(io.StringIO(out.stdout)).shape[0] == 2
    bad = subprocess.run([sys.executable, "-m", "normtest", "check", "no/such/file.csv"], capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and bad.stdout == ""


def test_progress_flag_and_fresh_seed(csv_files, capsys, monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    ok, _ = csv_files
    code, out, err = _call(capsys, "check", str(ok), "--test", "anderson", "--progress", "--format", "json")
    assert code == 0 and "normtest check" in err  # the bar goes to stderr, the record to stdout
    seed = json.loads(out)["seed"]
    assert isinstance(seed, int) and 0 <= seed < 2**32
    code, out2, err = _call(capsys, "check", str(ok), "--test", "anderson", "--no-progress",
                            "--format", "json",
                            "--seed", str(seed))
    assert out2 == out and err == ""


def test_csv_on_stdin(capsys, monkeypatch):
    data = pd.DataFrame({"v": np.random.default_rng(4).normal(size=50)}).to_csv(index=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(data))
    code, out, err = _call(capsys, "check", "-", "--test", "anderson", "--format", "csv")
    assert code == 0, err
    assert pd.read_csv(io.StringIO(out))["n"].tolist() == [50]


def test_option_errors_never_name_python_parameters(csv_files, capsys):
    ok, _ = csv_files
    for argv in (["--columns", "zzz"], ["--test", "nope"], ["--alpha", "2"], ["--n-resamples", "0"]):
        code, out, err = _call(capsys, "check", str(ok), *argv)
        assert code == 2 and "`" not in err
        for name in ("'columns'", "'tests'", "'alpha'", "n_resamples", "'df'"):
            assert name not in err, err


def test_demo_table_shows_raw_and_adjusted_pvalues(capsys):
    # the family of a correction is one test over the columns, never a column's several tests
    code, out, _ = _call(capsys, "demo", "--no-progress", "--test", "anderson", "--format", "csv")
    assert code == 0
    table = pd.read_csv(io.StringIO(out)).set_index("column")
    assert {"pvalue", "pvalue_holm", "pvalue_upper_bound", "correction", "effect"} <= set(table.columns)
    violent = table.loc["violent"]
    assert violent["pvalue"] < 0.005 and bool(violent["reject"])  # statsmodels normal_ad: p = 0.0034
    assert violent["correction"] == "holm over 7 anderson p-values"
    from statsmodels.stats.diagnostic import normal_ad

    from normtest.__main__ import load_demo

    x = load_demo()[0]["violent"].to_numpy()
    assert violent["pvalue"] == pytest.approx(normal_ad(x)[1], rel=0.05)
    code, text, _ = _call(capsys, "demo", "--no-progress")
    header = next(line for line in text.splitlines() if line.startswith("column"))
    assert header.split()[:6] == ["column", "n", "anderson", "p", "holm", "p"]
    code, text, _ = _call(capsys, "demo", "--no-progress", "--family", "all", "--format", "json")
    doc = json.loads(text)
    assert doc["settings"]["family"] == "all"
    assert all(r["correction"] in ("holm over 22 p-values", "") for r in doc["results"])
    assert all(isinstance(r["pvalue_upper_bound"], bool) for r in doc["results"])


def test_upper_bounds_print_as_bounds(csv_files, capsys, monkeypatch):
    import dataclasses

    from normtest import frame
    from normtest._result import TestResult

    @dataclasses.dataclass(frozen=True, repr=False, eq=False)
    class Bounded(TestResult):
        pvalue_upper_bound: bool = True

    def bounded(x, *, standardize=True, method=None):
        return Bounded(50.0, 1e-9, len(x), standardize, "bound", test="bounded")

    monkeypatch.setitem(frame._EXTRA_TESTS, "bounded", (bounded, False))
    _, bad = csv_files
    code, out, _ = _call(capsys, "check", str(bad), "--test", "bounded", "--no-progress")
    assert code == 1
    rows = [line for line in out.splitlines() if line.startswith(("a ", "skew "))]
    assert len(rows) == 2 and all("< 1.0e-09" in r and "< 2.0e-09*" in r for r in rows), out
    code, out, _ = _call(capsys, "check", str(bad), "--test", "bounded", "--format", "csv")
    table = pd.read_csv(io.StringIO(out))
    assert table["pvalue_upper_bound"].tolist() == [True, True]


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_separator_is_sniffed(tmp_path, capsys, sep):
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"x y": rng.normal(size=60), "z": rng.exponential(size=60)})
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False, sep=sep)
    code, out, err = _call(capsys, "check", str(path), "--test", "anderson", "--format", "csv", "--seed", "1")
    assert code == 1, err
    table = pd.read_csv(io.StringIO(out)).set_index("column")
    assert list(table.index) == ["x y", "z"] and bool(table.loc["z", "reject"])
    direct = normtest.anderson(df["z"].to_numpy())
    assert table.loc["z", "pvalue"] == pytest.approx(float(direct.pvalue), rel=1e-12)


def test_sep_and_decimal_comma(tmp_path, capsys):
    rng = np.random.default_rng(3)
    x = rng.normal(size=40)
    path = tmp_path / "eu.csv"
    path.write_text("a;b\n" + "".join(f"{v:.6f};{abs(v):.6f}\n".replace(".", ",") for v in x))
    code, out, err = _call(capsys, "check", str(path), "--test", "anderson", "--format", "csv")
    assert code in (0, 1), err
    table = pd.read_csv(io.StringIO(out)).set_index("column")
    assert table.loc["a", "n"] == 40
    assert table.loc["a", "statistic"] == pytest.approx(float(normtest.anderson(np.round(x, 6)).statistic))
    # a wrong --sep gives one line in the CLI's terms, with the hint
    dots = tmp_path / "dots.csv"
    pd.DataFrame({"a": x, "b": abs(x)}).to_csv(dots, index=False, sep=";")
    code, out, err = _call(capsys, "check", str(dots), "--sep", ",")
    assert code == 2 and "--sep" in err and "the file must have at least one numeric column" in err
    code, out, err = _call(capsys, "check", str(path), "--sep", ";", "--decimal", ",", "--test", "anderson",
                           "--format", "csv")
    assert pd.read_csv(io.StringIO(out))["n"].tolist() == [40, 40]
