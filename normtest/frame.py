"""pandas integration: ``normtest.check(df)`` and the ``df.normtest`` accessor.

One call tests every numeric column of a DataFrame (optionally per group) with
several normality tests and returns a tidy table, one row per column (and
group) and test, with a multiple-testing correction over the whole table.

Importing this module imports pandas and registers the DataFrame accessor
``df.normtest``. ``import normtest`` alone does not import pandas: the
accessor is registered there only when pandas was already imported, and in any
case on the first use of ``normtest.check`` (see :func:`register_accessor`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ._progress import progress_bar
from ._validate import (
    DegenerateDataWarning,
    SmallSampleWarning,
    check_bool,
    check_float,
    check_int,
    resolve_rng,
)

__all__ = ["check", "NormtestAccessor", "register_accessor", "UNIVARIATE_TESTS", "MULTIVARIATE_TESTS",
           "CORRECTIONS"]

#: Names accepted in ``tests=`` (one-dimensional tests, applied column by column).
UNIVARIATE_TESTS = ("anderson", "cramervonmises", "epps_pulley")
#: Names accepted in ``multivariate=`` (joint tests over the selected columns).
MULTIVARIATE_TESTS = ("sliced_epps_pulley", "henze_zirkler", "bhep")
#: ``method`` values of ``statsmodels.stats.multitest.multipletests`` (plus ``"none"``).
CORRECTIONS = ("holm", "bonferroni", "sidak", "holm-sidak", "simes-hochberg", "hommel", "fdr_bh", "fdr_by",
               "fdr_tsbh", "fdr_tsbky", "none")

# Extra tests registered at run time (private; used by the test-suite): name -> (callable, multivariate)
_EXTRA_TESTS: dict = {}

MULTIVARIATE_LABEL = "(multivariate)"
COLUMNS = ["test", "n", "n_nan", "statistic", "pvalue", "pvalue_adj", "reject", "method", "note"]


def _register_test(name, func, *, multivariate=False):
    """Make `func` available under `name` in ``tests=`` (or ``multivariate=``).

    `func(x, *, standardize, method=None[, rng])` must return a result that has
    ``statistic``, ``pvalue``, ``n`` and ``method`` attributes.
    """
    _EXTRA_TESTS[name] = (func, bool(multivariate))


def _lookup(name):
    if name in _EXTRA_TESTS:
        return _EXTRA_TESTS[name][0]
    from .ecf.sliced import sliced_epps_pulley
    from .ecf.univariate import epps_pulley
    from .edf.statistics import anderson, cramervonmises
    from .multivariate.bhep import bhep, henze_zirkler

    return {"anderson": anderson, "cramervonmises": cramervonmises, "epps_pulley": epps_pulley,
            "sliced_epps_pulley": sliced_epps_pulley, "henze_zirkler": henze_zirkler, "bhep": bhep}[name]


def _available(multivariate):
    base = MULTIVARIATE_TESTS if multivariate else UNIVARIATE_TESTS
    extra = tuple(k for k, (_, mv) in _EXTRA_TESTS.items() if mv == multivariate and k not in base)
    return base + extra


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------

def _check_iv(df, tests, standardize, alpha, correction, by, columns, multivariate, n_resamples, rng,
              progress):
    if isinstance(df, pd.Series):
        df = df.to_frame(name=df.name if df.name is not None else 0)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"`df` must be a pandas DataFrame (or Series). Got {type(df).__name__} instead.")
    if df.shape[1] == 0:
        raise ValueError("`df` must have at least one column. Got an empty DataFrame instead.")
    dup = df.columns[df.columns.duplicated()].unique().tolist()
    if dup:
        raise ValueError(
            f"`df` must have unique column names; duplicated: {dup}. Rename them (e.g. `df.columns = [...]`) "
            "before checking."
        )

    if isinstance(tests, str):
        tests = (tests,)
    if not isinstance(tests, (list, tuple)) or not all(isinstance(t, str) for t in tests):
        raise TypeError(f"`tests` must be a str or a sequence of str. Got {tests!r} instead.")
    if len(tests) == 0:
        raise ValueError("`tests` must name at least one test. Got an empty sequence instead.")
    known = _available(False)
    bad = [t for t in tests if t not in known]
    if bad:
        raise ValueError(f"`tests` must be names from {list(known)}. Got unknown test(s) {bad} instead.")
    tests = tuple(dict.fromkeys(tests))  # drop repeats, keep order

    standardize = check_bool(standardize, "standardize")
    alpha = check_float(alpha, "alpha", low=0.0, high=1.0)
    if correction is None:
        correction = "none"
    if not isinstance(correction, str):
        raise TypeError(f"`correction` must be a str or None, one of {list(CORRECTIONS)}. "
                        f"Got {correction!r} instead.")
    if correction not in CORRECTIONS:
        raise ValueError(f"`correction` must be one of {list(CORRECTIONS)} or None. "
                         f"Got {correction!r} instead.")

    if isinstance(multivariate, (bool, np.bool_)):
        multivariate = "sliced_epps_pulley" if multivariate else None
    elif multivariate is not None:
        known_mv = _available(True)
        if not isinstance(multivariate, str):
            raise TypeError(f"`multivariate` must be a bool or one of {list(known_mv)}. "
                            f"Got {multivariate!r} instead.")
        if multivariate not in known_mv:
            raise ValueError(f"`multivariate` must be a bool or one of {list(known_mv)}. "
                             f"Got {multivariate!r} instead.")

    labels = list(df.columns)
    if by is None:
        by_list = []
    else:
        by_list = list(by) if isinstance(by, (list, tuple)) else [by]
        if not by_list:
            raise ValueError("`by` must name at least one column of `df` or be None. "
                             "Got an empty list instead.")
        missing = [b for b in by_list if b not in labels]
        if missing:
            raise ValueError(f"`by` must name columns of `df`. Got {missing}, not among {labels}.")

    if columns is None:
        selected = [c for c in labels if c not in by_list]
    else:
        cols = list(columns) if isinstance(columns, (list, tuple, pd.Index)) else [columns]
        if not cols:
            raise ValueError("`columns` must name at least one column of `df` or be None. "
                             "Got an empty list instead.")
        missing = [c for c in cols if c not in labels]
        if missing:
            raise ValueError(f"`columns` must name columns of `df`. Got {missing}, not among {labels}.")
        selected = [c for c in dict.fromkeys(cols) if c not in by_list]
        if not selected:
            raise ValueError("`columns` must name at least one column that is not a `by` column.")

    n_resamples = check_int(n_resamples, "n_resamples", minimum=1, allow_none=True)
    progress = check_bool(progress, "progress")
    gen, seed = resolve_rng(rng)
    if seed is None:  # a caller's Generator: draw (and record) the seed everything else derives from
        seed = int(gen.integers(0, 2**63))
    return (df, tests, standardize, alpha, correction, by_list, selected, multivariate, n_resamples, seed,
            progress)


def _column_kind(series):
    """None if the column is testable, else the reason it is skipped."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "skipped: boolean column"
    if pd.api.types.is_complex_dtype(dtype):
        return "skipped: complex values"
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        return None
    return f"skipped: non-numeric column (dtype {dtype})"


# ---------------------------------------------------------------------------
# one test on one sample
# ---------------------------------------------------------------------------

def _short(message: str) -> str:
    message = " ".join(str(message).split())
    return message if len(message) <= 120 else message[:117] + "..."


def _run_one(name, data, *, standardize, n_resamples, seed, progress, multivariate):
    """Run one test; return (result or None, note, warning category or None)."""
    from .null import MonteCarlo

    func = _lookup(name)
    accepted = _keywords(func)
    kwargs = {}
    if "standardize" in accepted:
        kwargs["standardize"] = standardize
    elif not standardize:  # e.g. henze_zirkler: composite null only
        return None, f"failed: {name} has no fully specified null (standardize=False)", RuntimeWarning
    if n_resamples is not None:
        kwargs["method"] = MonteCarlo(n_resamples=n_resamples, rng=seed, progress=progress)
    if multivariate and "rng" in accepted:
        kwargs["rng"] = seed
    notes, category = [], None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = func(data, **kwargs)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError, NotImplementedError) as exc:
            return None, f"failed: {_short(exc)}", RuntimeWarning
    for w in caught:
        if issubclass(w.category, SmallSampleWarning):
            notes.append(f"too few values (n={len(data)})")
            category = SmallSampleWarning
        elif issubclass(w.category, DegenerateDataWarning):
            notes.append("degenerate data (zero variance or singular covariance)")
            category = category or DegenerateDataWarning
        else:
            notes.append(_short(w.message))
    return result, "; ".join(dict.fromkeys(notes)), category


def _keywords(func):
    """Names of the keyword arguments `func` accepts (all of ours when it takes **kwargs)."""
    import inspect

    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return {"standardize", "method", "rng"}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return {"standardize", "method", "rng"}
    return {p.name for p in params}


def _scalar(value):
    arr = np.asarray(value, dtype=float)
    return float(arr) if arr.size == 1 else float("nan")


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------

def check(df, *, tests=("anderson", "cramervonmises", "epps_pulley"), standardize=True, alpha=0.05,
          correction="holm", by=None, columns=None, multivariate=False, n_resamples=None, rng=None,
          progress=False):
    """Test every numeric column of a DataFrame for normality; return a tidy table.

    Parameters
    ----------
    df : pandas.DataFrame or pandas.Series
        The data. Non-numeric (and boolean) columns are listed as skipped;
        column names must be unique.
    tests : str or sequence of str, default ("anderson", "cramervonmises", "epps_pulley")
        Univariate tests applied to each column: names of normtest functions
        (``"anderson"``, ``"cramervonmises"``, ``"epps_pulley"``).
    standardize : bool, default True
        ``True`` tests "normal with unknown mean and variance" (the usual
        question about data); ``False`` tests the fully specified N(0, 1).
    alpha : float, default 0.05
        Level of the decisions in ``reject`` (after the correction).
    correction : str or None, default "holm"
        Multiple-testing correction over all finite p-values of the table,
        by :func:`statsmodels.stats.multitest.multipletests` with this
        ``method`` (``"holm"``, ``"fdr_bh"``, ``"bonferroni"``, ...); ``None``
        or ``"none"`` for no correction. Holm controls the family-wise error:
        it answers "is every column normal?".
    by : label or list of labels, optional
        Test each group of rows separately; the result is indexed by group
        and column.
    columns : label or list of labels, optional
        Columns to test (default: all but the `by` columns).
    multivariate : bool or str, default False
        ``True`` adds the sliced Epps–Pulley test of the selected numeric
        columns jointly (rows with any NaN dropped); a name from
        ``("sliced_epps_pulley", "henze_zirkler", "bhep")`` picks that test.
    n_resamples : int, optional
        ``None`` uses each test's default p-value; an int gives Monte-Carlo
        p-values from that many null samples drawn from `rng`.
    rng : None, int or numpy.random.Generator
        Seed of every random choice (Monte-Carlo nulls, slicing directions).
        The seed actually used is recorded, so the table can be regenerated.
    progress : bool, default False
        Show a progress bar over the tests (and Monte-Carlo batches); needs
        tqdm.

    Returns
    -------
    table : pandas.DataFrame
        Indexed by ``column`` (and the `by` levels first), with columns
        ``test, n, n_nan, statistic, pvalue, pvalue_adj, reject, method,
        note``: ``n`` values used, ``n_nan`` missing values dropped,
        ``pvalue_adj`` the corrected p-value (NaN where no p-value),
        ``reject`` a nullable ``boolean`` (``<NA>`` where no p-value),
        ``method`` how the p-value was obtained and ``note`` why a row is
        empty or anything else worth knowing. ``table.attrs["normtest"]``
        holds the normtest version, the settings (``check(df, **settings)``
        regenerates the table) and one ``to_dict()`` record per row.

    Warns
    -----
    SmallSampleWarning
        When a column or group is too small for a test (its row is NaN).
    DegenerateDataWarning
        When a column or group is constant.

    Notes
    -----
    Missing values are dropped column by column (their count is kept in
    ``n_nan``). A column too small for a test, all missing or constant gives a
    row of NaN with a note, never an error for the whole frame. Skipped rows
    take no part in the correction.

    Importing :mod:`normtest.frame` (or calling ``normtest.check``) registers
    the accessor, so ``df.normtest.check(...)`` is the same call.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import normtest
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"normal": rng.normal(size=200),
    ...                    "skewed": rng.exponential(size=200),
    ...                    "label": ["a", "b"] * 100})
    >>> table = normtest.check(df, tests=["anderson", "cramervonmises"])
    >>> table[["test", "n", "reject"]]
                      test    n  reject
    column
    normal        anderson  200   False
    normal  cramervonmises  200   False
    skewed        anderson  200    True
    skewed  cramervonmises  200    True
    label         anderson    0    <NA>
    label   cramervonmises    0    <NA>
    >>> print(table.loc["label", "note"].iloc[0])
    skipped: non-numeric column (dtype str)
    """
    return _check(df, tests=tests, standardize=standardize, alpha=alpha, correction=correction, by=by,
                  columns=columns, multivariate=multivariate, n_resamples=n_resamples, rng=rng,
                  progress=progress, stacklevel=3)


def _check(df, *, tests, standardize, alpha, correction, by, columns, multivariate, n_resamples, rng,
           progress, stacklevel):
    (df, tests, standardize, alpha, correction, by_list, selected, multivariate, n_resamples, seed,
     progress) = _check_iv(df, tests, standardize, alpha, correction, by, columns, multivariate,
                           n_resamples, rng, progress)
    register_accessor()

    kinds = {c: _column_kind(df[c]) for c in selected}
    numeric = [c for c in selected if kinds[c] is None]
    if not numeric:
        raise ValueError(
            f"`df` must have at least one numeric column to test. Got none among {selected}."
        )

    if by_list:
        groups = [(key if isinstance(key, tuple) else (key,), sub)
                  for key, sub in df.groupby(by_list, sort=True, dropna=False, observed=True)]
    else:
        groups = [((), df)]

    n_units = len(groups) * (len(numeric) * len(tests) + (1 if multivariate else 0))
    rows, index, records = [], [], []
    categories = {}
    bar = progress_bar(progress, total=n_units, desc="normtest check", unit="test")
    try:
        for key, sub in groups:
            for col in selected:
                reason = kinds[col]
                if reason is not None:
                    for name in tests:
                        index.append(key + (col,))
                        rows.append(_empty_row(name, 0, 0, reason))
                        records.append(None)
                    continue
                values = sub[col].to_numpy(dtype=np.float64, na_value=np.nan)
                finite = ~np.isnan(values)
                data = values[finite]
                n_nan = int(values.size - data.size)
                for name in tests:
                    index.append(key + (col,))
                    row, rec, cat = _test_row(name, data, n_nan, standardize, n_resamples, seed, progress,
                                              multivariate=False)
                    rows.append(row)
                    records.append(rec)
                    if cat is not None:
                        categories[cat] = categories.get(cat, 0) + 1
                    bar.update(1)
            if multivariate:
                block = sub[numeric].to_numpy(dtype=np.float64, na_value=np.nan)
                keep = ~np.isnan(block).any(axis=1)
                data = np.ascontiguousarray(block[keep])
                index.append(key + (MULTIVARIATE_LABEL,))
                row, rec, cat = _test_row(multivariate, data, int((~keep).sum()), standardize, n_resamples,
                                          seed, progress, multivariate=True)
                joint = f"joint test of {len(numeric)} columns"
                row["note"] = joint if not row["note"] else f"{joint}; {row['note']}"
                rows.append(row)
                records.append(rec)
                if cat is not None:
                    categories[cat] = categories.get(cat, 0) + 1
                bar.update(1)
    finally:
        bar.close()

    table = pd.DataFrame(rows, columns=COLUMNS)
    table["n"] = table["n"].astype("int64")
    table["n_nan"] = table["n_nan"].astype("int64")
    for c in ("statistic", "pvalue", "pvalue_adj"):
        table[c] = table[c].astype("float64")
    _correct(table, alpha, correction)
    names = [*by_list, "column"]
    if by_list:
        table.index = pd.MultiIndex.from_tuples(index, names=names)
    else:
        table.index = pd.Index([k[0] for k in index], name="column")

    from ._version import __version__

    settings = {
        "tests": list(tests), "standardize": standardize, "alpha": alpha, "correction": correction,
        "by": list(by) if isinstance(by, (list, tuple)) else by,
        "columns": None if columns is None else list(selected), "multivariate": multivariate or False,
        "n_resamples": n_resamples, "rng": seed,
    }
    table.attrs["normtest"] = {"version": __version__, "settings": settings, "seed": seed, "records": records}

    for cat, count in categories.items():
        what = {SmallSampleWarning: "too small for the test",
                DegenerateDataWarning: "degenerate (constant)"}.get(cat, "failed")
        warnings.warn(f"normtest.check: {count} row(s) {what}; their results are NaN "
                      "(see the `note` column).", cat, stacklevel=stacklevel)
    return table


def _empty_row(name, n, n_nan, note):
    return {"test": name, "n": n, "n_nan": n_nan, "statistic": np.nan, "pvalue": np.nan,
            "pvalue_adj": np.nan, "reject": pd.NA, "method": "", "note": note}


def _test_row(name, data, n_nan, standardize, n_resamples, seed, progress, *, multivariate):
    n = int(data.shape[0])
    if n == 0:
        note = "no values (all missing)" if n_nan else "no values"
        return _empty_row(name, 0, n_nan, note), None, SmallSampleWarning
    if np.isinf(data).any():
        return _empty_row(name, n, n_nan, "skipped: infinite values"), None, None
    result, note, cat = _run_one(name, data, standardize=standardize, n_resamples=n_resamples, seed=seed,
                                 progress=progress, multivariate=multivariate)
    if n_nan:
        what = "row(s) with missing values" if multivariate else "missing value(s)"
        dropped = f"{n_nan} {what} dropped"
        note = dropped if not note else f"{dropped}; {note}"
    if result is None:
        return _empty_row(name, n, n_nan, note), None, cat
    row = _empty_row(name, n, n_nan, note)
    row["statistic"] = _scalar(result.statistic)
    row["pvalue"] = _scalar(result.pvalue)
    row["method"] = str(getattr(result, "method", ""))
    to_dict = getattr(result, "to_dict", None)
    record = to_dict() if callable(to_dict) else None
    return row, record, cat


def _correct(table, alpha, correction):
    p = table["pvalue"].to_numpy(dtype=float)
    ok = np.isfinite(p)
    adj = np.full(p.shape, np.nan)
    reject = pd.array([pd.NA] * p.size, dtype="boolean")
    if ok.any():
        if correction == "none":
            adj[ok] = p[ok]
            rej = p[ok] <= alpha
        else:
            from statsmodels.stats.multitest import multipletests

            rej, padj, _, _ = multipletests(p[ok], alpha=alpha, method=correction)
            adj[ok] = padj
        reject[np.flatnonzero(ok)] = np.asarray(rej, dtype=bool)
    table["pvalue_adj"] = adj
    table["reject"] = reject


# ---------------------------------------------------------------------------
# the DataFrame accessor
# ---------------------------------------------------------------------------

class NormtestAccessor:
    """``df.normtest``: normality checks of a DataFrame's columns.

    Registered under the name ``normtest`` by :func:`register_accessor`
    (which runs on ``import normtest.frame``, on ``import normtest`` when
    pandas is already imported, and on the first call of
    :func:`normtest.check`).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import normtest.frame  # registers df.normtest
    >>> df = pd.DataFrame({"x": np.random.default_rng(1).normal(size=100)})
    >>> df.normtest.check(tests="anderson")[["test", "n", "reject"]]
                test    n  reject
    column
    x       anderson  100   False
    """

    def __init__(self, pandas_obj):
        if not isinstance(pandas_obj, pd.DataFrame):
            raise AttributeError("the `normtest` accessor needs a pandas DataFrame")
        self._obj = pandas_obj

    def check(self, **kwargs):
        """Same as ``normtest.check(df, **kwargs)``; see :func:`normtest.check`."""
        import inspect

        params = {k: p.default for k, p in inspect.signature(check).parameters.items()
                  if p.kind is inspect.Parameter.KEYWORD_ONLY}
        unknown = sorted(set(kwargs) - set(params))
        if unknown:
            raise TypeError(f"check() got unexpected keyword argument(s) {unknown}")
        params.update(kwargs)
        return _check(self._obj, **params, stacklevel=3)


def register_accessor() -> None:
    """Register ``df.normtest`` (idempotent: does nothing when already registered)."""
    existing = getattr(pd.DataFrame, "normtest", None)
    if existing is not None:
        return
    pd.api.extensions.register_dataframe_accessor("normtest")(NormtestAccessor)


register_accessor()
