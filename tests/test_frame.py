"""normtest.check and the df.normtest accessor."""

import dataclasses
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

import normtest
from normtest import frame
from normtest._result import TestResult


def _fake(x, *, standardize=True, method=None, rng=None):
    """A small test with a known answer: Shapiro–Wilk wrapped as a normtest result."""
    x = np.asarray(x, dtype=float)
    if x.size < 3:
        warnings.warn("fake: too small", normtest.SmallSampleWarning, stacklevel=2)
        return TestResult(np.nan, np.nan, x.size, standardize, "fake", test="fake")
    res = stats.shapiro(x)
    return TestResult(res.statistic, res.pvalue, x.size, standardize, "fake-shapiro", test="fake")


def _fake_mv(X, *, standardize=True, method=None, rng=None):
    """Multivariate fake: min over columns of the Shapiro p-value (records the seed it got)."""
    X = np.asarray(X, dtype=float)
    ps = [stats.shapiro(X[:, j]).pvalue for j in range(X.shape[1])]
    return TestResult(float(X.shape[1]), min(ps), X.shape[0], standardize, "fake-mv", test="fake_mv",
                      seed=rng)


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setitem(frame._EXTRA_TESTS, "fake", (_fake, False))
    monkeypatch.setitem(frame._EXTRA_TESTS, "fake_mv", (_fake_mv, True))


@pytest.fixture
def df():
    rng = np.random.default_rng(11)
    return pd.DataFrame({
        "normal": rng.normal(3.0, 2.0, size=120),
        "skewed": rng.lognormal(size=120),
        "label": ["a", "b", "c"] * 40,
        "flag": [True, False] * 60,
        "holes": np.where(rng.random(120) < 0.1, np.nan, rng.normal(size=120)),
    })


TABLE_COLUMNS = ["test", "n", "n_nan", "statistic", "pvalue", "pvalue_upper_bound", "pvalue_adj", "correction",
                 "reject", "effect", "method", "note"]


def test_table_shape_and_dtypes(df):
    table = normtest.check(df, tests=["anderson", "cramervonmises"])
    assert list(table.columns) == TABLE_COLUMNS
    assert table.index.name == "column"
    assert list(dict.fromkeys(table.index)) == ["normal", "skewed", "label", "flag", "holes"]
    assert str(table["reject"].dtype) == "boolean"
    assert table["n"].dtype == np.int64 and table["n_nan"].dtype == np.int64
    assert table["pvalue_upper_bound"].dtype == bool and table["effect"].dtype == np.float64
    assert set(table.loc["normal", "test"]) == {"anderson", "cramervonmises"}


def test_values_match_direct_calls_and_nan_dropped(df):
    table = normtest.check(df, tests=["anderson", "cramervonmises"], correction=None)
    for col in ["normal", "skewed", "holes"]:
        x = df[col].dropna().to_numpy()
        for name in ["anderson", "cramervonmises"]:
            row = table.loc[(table.index == col) & (table["test"] == name)].iloc[0]
            res = getattr(normtest, name)(x)
            assert row["statistic"] == pytest.approx(float(res.statistic), rel=1e-12)
            assert row["pvalue"] == pytest.approx(float(res.pvalue), rel=1e-12)
            assert row["method"] == res.method
            assert row["n"] == x.size
    holes = table.loc["holes"].iloc[0]
    assert holes["n_nan"] == df["holes"].isna().sum() > 0
    assert "missing value(s) dropped" in holes["note"]


def test_reject_direction(df):
    table = normtest.check(df, tests="anderson")
    assert table.loc["skewed", "reject"] is np.True_ or bool(table.loc["skewed", "reject"]) is True
    assert bool(table.loc["normal", "reject"]) is False


def test_skipped_columns_are_listed(df):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = normtest.check(df, tests=["anderson"])
    assert table.loc["label", "note"].startswith("skipped: non-numeric")
    assert table.loc["flag", "note"] == "skipped: boolean column"
    for col in ("label", "flag"):
        assert np.isnan(table.loc[col, "pvalue"]) and np.isnan(table.loc[col, "pvalue_adj"])
        assert table.loc[col, "reject"] is pd.NA


@pytest.mark.parametrize("correction", ["holm", "fdr_bh", "bonferroni", "hommel", "fdr_tsbh"])
def test_correction_over_finite_pvalues_only(df, fake, correction):
    df = df.assign(tiny=[1.0, 2.0] + [np.nan] * 118)
    with pytest.warns(normtest.SmallSampleWarning, match="too small"):
        table = normtest.check(df, tests=["fake", "anderson"], correction=correction, alpha=0.1, family="all")
    p = table["pvalue"].to_numpy()
    ok = np.isfinite(p)
    assert (~ok).sum() >= 4  # label, flag, tiny x 2 tests
    # oracle: statsmodels on the finite p-values alone
    rej, padj, _, _ = multipletests(p[ok], alpha=0.1, method=correction)
    np.testing.assert_allclose(table["pvalue_adj"].to_numpy()[ok], padj, rtol=1e-14)
    np.testing.assert_array_equal(table["reject"].to_numpy()[ok].astype(bool), rej)
    assert table["pvalue_adj"].isna().to_numpy()[~ok].all()
    assert table["reject"].isna().to_numpy()[~ok].all()


@pytest.mark.parametrize("correction", ["holm", "bonferroni", "fdr_by"])
def test_default_family_is_one_test_over_the_columns(df, fake, correction):
    # three tests of one column answer one question: each test is corrected over the columns only
    df = df.assign(other=np.random.default_rng(5).standard_t(4, size=120))
    table = normtest.check(df, tests=["fake", "anderson", "cramervonmises"], correction=correction, alpha=0.1)
    assert table.attrs["normtest"]["settings"]["family"] == "test"
    for name in ("fake", "anderson", "cramervonmises"):
        rows = table[(table["test"] == name) & table["pvalue"].notna()]
        assert len(rows) == 4  # normal, skewed, holes, other
        rej, padj, _, _ = multipletests(rows["pvalue"].to_numpy(), alpha=0.1, method=correction)
        np.testing.assert_allclose(rows["pvalue_adj"].to_numpy(), padj, rtol=1e-14)
        np.testing.assert_array_equal(rows["reject"].to_numpy(bool), rej)
        assert set(rows["correction"]) == {f"{correction} over 4 {name} p-values"}
    # the old family (every p-value of the table) is still there, and never less conservative
    wide = normtest.check(df, tests=["fake", "anderson", "cramervonmises"], correction=correction, alpha=0.1,
                          family="all")
    ok = table["pvalue"].notna().to_numpy()
    assert (wide["pvalue_adj"].to_numpy()[ok] >= table["pvalue_adj"].to_numpy()[ok] - 1e-15).all()
    assert set(wide["correction"][ok]) == {f"{correction} over 12 p-values"}
    with pytest.raises(ValueError, match="`family`"):
        normtest.check(df, family="column")


def test_upper_bound_and_effect_columns(df, monkeypatch):
    # a test whose p-value is only a bound and which reports an effect (read with getattr: optional)
    @dataclasses.dataclass(frozen=True, repr=False, eq=False)
    class Bounded(TestResult):
        pvalue_upper_bound: bool = False
        effect: float = np.nan

    def bounded(x, *, standardize=True, method=None):
        x = np.asarray(x, dtype=float)
        tiny = stats.skew(x) > 1  # the "skewed" column: p only known to be below 1e-12
        return Bounded(1.0, 1e-12 if tiny else 0.5, x.size, standardize, "bound", test="bounded",
                       pvalue_upper_bound=tiny, effect=float(x.std()))

    monkeypatch.setitem(frame._EXTRA_TESTS, "bounded", (bounded, False))
    table = normtest.check(df, tests=["bounded", "anderson"], columns=["normal", "skewed"], rng=0)
    got = table[table["test"] == "bounded"]
    assert got["pvalue_upper_bound"].tolist() == [False, True]
    np.testing.assert_allclose(got["effect"], [df["normal"].std(ddof=0), df["skewed"].std(ddof=0)])
    assert not table.loc[table["test"] == "anderson", "pvalue_upper_bound"].any()
    assert table.loc[table["test"] == "anderson", "effect"].isna().all()


def test_no_correction(df):
    table = normtest.check(df, tests="anderson", correction="none", alpha=0.2)
    p = table["pvalue"].dropna()
    np.testing.assert_array_equal(table["pvalue_adj"].dropna(), p)
    np.testing.assert_array_equal(table["reject"].dropna().to_numpy(bool), (p <= 0.2).to_numpy())


def test_by_groups(fake):
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"g": ["u"] * 40 + ["v"] * 40 + ["w"] * 2, "x": rng.normal(size=82),
                       "y": rng.exponential(size=82)})
    with pytest.warns(normtest.SmallSampleWarning):
        table = normtest.check(df, tests="fake", by="g")
    assert table.index.names == ["g", "column"]
    assert list(table.index) == [("u", "x"), ("u", "y"), ("v", "x"), ("v", "y"), ("w", "x"), ("w", "y")]
    for g in ("u", "v"):
        x = df.loc[df["g"] == g, "y"].to_numpy()
        assert table.loc[(g, "y"), "pvalue"] == pytest.approx(stats.shapiro(x).pvalue, rel=1e-12)
    small = table.loc[("w", "x")]
    assert np.isnan(small["pvalue"]) and small["reject"] is pd.NA and "too few values" in small["note"]
    # by= with a list gives one index level per column
    with pytest.warns(normtest.SmallSampleWarning):
        t2 = normtest.check(df.assign(h=1), tests="fake", by=["g", "h"])
    assert t2.index.names == ["g", "h", "column"]


def test_columns_selection(df):
    table = normtest.check(df, tests="anderson", columns=["skewed", "normal"])
    assert list(table.index) == ["skewed", "normal"]
    table = normtest.check(df, tests="anderson", columns="normal")
    assert list(table.index) == ["normal"]


def test_all_nan_column_and_single_row(fake):
    df = pd.DataFrame({"x": np.random.default_rng(0).normal(size=30), "gone": np.nan})
    with pytest.warns(normtest.SmallSampleWarning, match="1 row"):
        table = normtest.check(df, tests="fake")
    assert table.loc["gone", "note"] == "no values (all missing)"
    assert table.loc["gone", "n_nan"] == 30 and table.loc["gone", "n"] == 0
    one = pd.DataFrame({"x": [1.5], "y": [2.0]})
    with pytest.warns(normtest.SmallSampleWarning, match="2 row"):
        table = normtest.check(one, tests=["anderson"])
    assert table["pvalue"].isna().all() and table["reject"].isna().all()
    assert table["note"].str.contains("too few values").all()


def test_constant_column_is_a_note_not_an_error(df):
    with pytest.warns(normtest.DegenerateDataWarning):
        table = normtest.check(df.assign(const=1.0), tests="anderson")
    assert "degenerate" in table.loc["const", "note"] and table.loc["const", "reject"] is pd.NA
    assert bool(table.loc["skewed", "reject"]) is True


def test_infinite_values_are_noted(df):
    table = normtest.check(df.assign(inf=np.r_[np.inf, np.zeros(119)]), tests="anderson")
    assert table.loc["inf", "note"] == "skipped: infinite values"


def test_input_not_mutated(df):
    before = df.copy(deep=True)
    normtest.check(df, tests=["anderson"], by="label")
    pd.testing.assert_frame_equal(df, before)


def test_series_input():
    s = pd.Series(np.random.default_rng(2).normal(size=50), name="s")
    table = normtest.check(s, tests="anderson")
    assert list(table.index) == ["s"]


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, exc, match", [
    ({"tests": "shapiro_wilk"}, ValueError, "`tests` must be names"),
    ({"tests": []}, ValueError, "`tests` must name at least one"),
    ({"tests": 3}, TypeError, "`tests` must be a str"),
    ({"alpha": 2}, ValueError, "`alpha`"),
    ({"alpha": "0.05"}, TypeError, "`alpha`"),
    ({"correction": "magic"}, ValueError, "`correction` must be one of"),
    ({"correction": 1}, TypeError, "`correction`"),
    ({"by": "nope"}, ValueError, "`by` must name columns"),
    ({"columns": ["nope"]}, ValueError, "`columns` must name columns"),
    ({"columns": []}, ValueError, "`columns` must name at least one"),
    ({"standardize": "yes"}, TypeError, "`standardize`"),
    ({"multivariate": "pca"}, ValueError, "`multivariate`"),
    ({"multivariate": 1}, TypeError, "`multivariate`"),
    ({"n_resamples": 0}, ValueError, "`n_resamples`"),
    ({"n_resamples": 1.5}, TypeError, "`n_resamples`"),
    ({"rng": -1}, ValueError, "`rng`"),
    ({"rng": "seed"}, TypeError, "`rng`"),
    ({"progress": 1}, TypeError, "`progress`"),
])
def test_bad_arguments(df, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        normtest.check(df, **kwargs)


def test_bad_frames():
    with pytest.raises(ValueError, match="at least one column"):
        normtest.check(pd.DataFrame())
    with pytest.raises(TypeError, match="`df` must be a pandas DataFrame"):
        normtest.check(np.zeros((5, 2)))
    dup = pd.DataFrame(np.random.default_rng(0).normal(size=(20, 2)), columns=["a", "a"])
    with pytest.raises(ValueError, match="unique column names"):
        normtest.check(dup)
    with pytest.raises(ValueError, match="at least one numeric column"):
        normtest.check(pd.DataFrame({"s": ["x", "y", "z"]}))


def test_empty_rows_give_notes_not_errors():
    with pytest.warns(normtest.SmallSampleWarning):
        table = normtest.check(pd.DataFrame({"x": np.array([], dtype=float)}), tests="anderson")
    assert table.loc["x", "note"] == "no values" and table.loc["x", "n"] == 0


# ----------------------------------------------------------------------------- accessor and imports

def test_accessor_matches_function(df):
    a = df.normtest.check(tests="anderson", rng=1)
    b = normtest.check(df, tests="anderson", rng=1)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(TypeError, match="unexpected keyword"):
        df.normtest.check(test="anderson")
    with pytest.raises(AttributeError):
        frame.NormtestAccessor(pd.Series([1.0]))


def _run(code):
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_import_registration_rules():
    # import normtest alone does not import pandas; check on first use registers the accessor;
    # importing normtest after pandas registers it at once; import normtest.frame registers it.
    code = (
        "import sys; import normtest; print('pandas' in sys.modules);"
        "import pandas as pd; print(hasattr(pd.DataFrame, 'normtest'));"
        "normtest.check; print(hasattr(pd.DataFrame, 'normtest'))"
    )
    assert _run(code).split() == ["False", "False", "True"]
    assert _run("import pandas as pd, normtest; print(hasattr(pd.DataFrame, 'normtest'))") == "True"
    assert _run("import normtest.frame, pandas as pd; print(hasattr(pd.DataFrame, 'normtest'))") == "True"


# ----------------------------------------------------------------------------- multivariate

def test_multivariate_row(df, fake):
    table = normtest.check(df, tests="anderson", multivariate="fake_mv", rng=5)
    row = table.loc[frame.MULTIVARIATE_LABEL]
    holes = df["holes"].isna().sum()
    assert row["test"] == "fake_mv" and row["n"] == 120 - holes and row["n_nan"] == holes
    X = df[["normal", "skewed", "holes"]].dropna().to_numpy()
    assert row["pvalue"] == pytest.approx(_fake_mv(X).pvalue, rel=1e-12)
    assert row["note"].startswith("joint test of 3 columns")
    assert "H0: multivariate normal with unknown mean and covariance" in row["note"]
    simple = normtest.check(df, tests="anderson", multivariate="fake_mv", standardize=False, rng=5)
    assert "H0: N(0, I)" in simple.loc[frame.MULTIVARIATE_LABEL, "note"]
    # the seed reaches the multivariate test and is recorded
    assert table.attrs["normtest"]["records"][-1]["seed"] == 5


def test_multivariate_sliced(df):
    table = normtest.check(df[["normal", "skewed"]], tests="anderson", multivariate=True, rng=0)
    row = table.loc[frame.MULTIVARIATE_LABEL]
    assert row["test"] == "sliced_epps_pulley"
    assert np.isfinite(row["pvalue"]), row["note"]
    assert bool(row["reject"]) is True  # a lognormal column is not jointly normal
    X = np.ascontiguousarray(df[["normal", "skewed"]].to_numpy())
    direct = normtest.sliced_epps_pulley(X, standardize=True, rng=0)
    assert row["statistic"] == pytest.approx(float(direct.statistic), rel=1e-12)
    # the record names the seed that drew the directions; fed back, it reproduces the row
    rec = table.attrs["normtest"]["records"][-1]
    assert rec["seed"] == 0 and rec["test"] == "sliced_epps_pulley"
    again = normtest.sliced_epps_pulley(X, standardize=rec["standardize"], rng=rec["seed"],
                                        n_slices=rec["settings"]["n_slices"])
    assert float(again.statistic) == rec["statistic"] and float(again.pvalue) == rec["pvalue"]


# ----------------------------------------------------------------------------- reproducibility

def test_seeded_monte_carlo_is_reproducible_and_recorded(df):
    normtest.clear_null_cache()
    a = normtest.check(df, tests=["anderson", "cramervonmises"], n_resamples=199, rng=123)
    normtest.clear_null_cache()
    b = normtest.check(df, tests=["anderson", "cramervonmises"], n_resamples=199, rng=123)
    pd.testing.assert_frame_equal(a, b)
    assert set(a["method"].dropna()) - {""} == {"monte-carlo"}
    meta = a.attrs["normtest"]
    assert meta["version"] == normtest.__version__ and meta["seed"] == 123
    assert meta["settings"]["n_resamples"] == 199
    # Monte-Carlo p-values are multiples of 1/(B+1)
    p = a["pvalue"].dropna().to_numpy()
    np.testing.assert_allclose(p * 200, np.round(p * 200), atol=1e-9)


def test_settings_fed_back_regenerate_the_table(df):
    # rng=None draws fresh entropy; the recorded seed regenerates the same numbers
    a = normtest.check(df, tests=["cramervonmises"], n_resamples=99, by="label")
    settings = a.attrs["normtest"]["settings"]
    assert isinstance(settings["rng"], int)
    normtest.clear_null_cache()
    b = normtest.check(df, **settings)
    pd.testing.assert_frame_equal(a, b)


def test_generator_rng_records_a_seed(df):
    t = normtest.check(df, tests="anderson", n_resamples=99, rng=np.random.default_rng(4))
    seed = t.attrs["normtest"]["seed"]
    assert isinstance(seed, int)
    pd.testing.assert_frame_equal(normtest.check(df, tests="anderson", n_resamples=99, rng=seed), t)


def test_row_records_reproduce_their_numbers(df):
    table = normtest.check(df, tests=["anderson", "cramervonmises"], n_resamples=99, rng=7)
    records = table.attrs["normtest"]["records"]
    checked = 0
    for (col, row), rec in zip(table.iterrows(), records):
        if rec is None or not np.isfinite(row["pvalue"]):
            continue
        x = df[col].dropna().to_numpy()
        method = None
        if rec["method"] == "monte-carlo":
            method = normtest.MonteCarlo(n_resamples=rec["settings"]["n_resamples"], rng=rec["seed"])
        res = getattr(normtest, rec["test"])(x, standardize=rec["standardize"], method=method)
        assert float(res.statistic) == rec["statistic"] and float(res.pvalue) == rec["pvalue"]
        assert rec["n"] == row["n"] and rec["version"] == normtest.__version__
        checked += 1
    assert checked == 6


def test_results_unpack_pandera_style(df):
    # pandera's Hypothesis(test=...) calls the function and unpacks (statistic, pvalue)
    stat, p = normtest.anderson(df["normal"].to_numpy())
    assert np.isfinite(stat) and 0 < p <= 1


# ----------------------------------------------------------------------------- progress

def test_progress_bar(df, capsys, monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    t = normtest.check(df, tests="anderson", progress=True)
    assert "normtest check" in capsys.readouterr().err
    pd.testing.assert_frame_equal(t, normtest.check(df, tests="anderson", rng=t.attrs["normtest"]["seed"]))


def test_progress_without_tqdm(df, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    monkeypatch.setitem(sys.modules, "tqdm", None)
    with pytest.raises(ImportError, match=r"normtest\[progress\]"):
        normtest.check(df, tests="anderson", progress=True)


def test_multivariate_other_tests(df):
    sub = df[["normal", "skewed"]]
    for name in ("henze_zirkler", "bhep"):
        row = normtest.check(sub, tests="anderson", multivariate=name).loc[frame.MULTIVARIATE_LABEL]
        direct = getattr(normtest, name)(sub.to_numpy())
        assert row["test"] == name and row["pvalue"] == pytest.approx(float(direct.pvalue), rel=1e-12)
    # Henze–Zirkler has no fully specified null: a note, not an exception
    with pytest.warns(RuntimeWarning, match="failed"):
        table = normtest.check(sub, tests="anderson", multivariate="henze_zirkler", standardize=False)
    assert "no fully specified null" in table.loc[frame.MULTIVARIATE_LABEL, "note"]
