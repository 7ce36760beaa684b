"""pandas integration: ``normtest.check(df)`` and the ``df.normtest`` accessor.

One call tests every numeric column of a DataFrame (optionally per group) with
several normality tests and returns a tidy table, one row per column (and
group) and test; by default each test's p-values are corrected over the columns.

Importing this module imports pandas and registers the DataFrame accessor
``df.normtest``. ``import normtest`` alone does not import pandas: the
accessor is registered there only when pandas was already imported, and in any
case on the first use of ``normtest.check`` (see :func:`register_accessor`).
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from ._progress import progress_bar
from ._tables import FAMILIES, build_row, column_kind, empty_row, finish_table, null_in_words
from ._validate import (check_bool, check_choice, check_float,
                        check_int, resolve_rng)

__all__ = ["check", "NormtestAccessor", "register_accessor", "UNIVARIATE_TESTS", "MULTIVARIATE_TESTS",
           "CORRECTIONS", "FAMILIES"]

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


def _register_test(name, func, *, multivariate=False):
    """Make `func` available under `name` in ``tests=`` (or ``multivariate=``).

    `func(x, *, standardize, method=None[, rng])` must return a result that has
    ``statistic``, ``pvalue``, ``n`` and ``method`` attributes.
    """
    _EXTRA_TESTS[name] = (func, bool(multivariate))


def _register_builtin_extras():
    """The tests wrapped from SciPy/statsmodels (normtest.classic) and Mardia's test."""
    from .classic import dagostino, jarque_bera, lilliefors, shapiro
    from .multivariate.mardia import mardia

    for func in (shapiro, dagostino, jarque_bera, lilliefors):
        _register_test(func.__name__, func)
    _register_test("mardia", mardia, multivariate=True)


_register_builtin_extras()


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

def _check_iv(df, tests, standardize, alpha, correction, family, by, columns, multivariate, n_resamples,
              rng, progress):
    if isinstance(df, pd.Series):
        df = df.to_frame(name=df.name if df.name is not None else 0)
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"`df` must be a pandas DataFrame (or Series). Got {type(df).__name__} instead.")
    if df.shape[1] == 0:
        raise ValueError("`df` must have at least one column. Got an empty DataFrame instead.")
    if isinstance(df.columns, pd.MultiIndex):
        raise ValueError(f"`df` must have flat column labels (the table is indexed by column). Got a "
                         f"{df.columns.nlevels}-level MultiIndex instead: join its levels first, e.g. "
                         "`df.columns = ['_'.join(map(str, c)) for c in df.columns]`.")
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
    family = check_choice(family, "family", FAMILIES)

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
    return (df, tests, standardize, alpha, correction, family, by_list, selected, multivariate, n_resamples,
            seed, progress)


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------

def check(df, *, tests=("anderson", "cramervonmises", "epps_pulley"), standardize=True, alpha=0.05,
          correction="holm", family="test", by=None, columns=None, multivariate=False, n_resamples=None,
          rng=None, progress=False):
    """Test every numeric column of a DataFrame for normality; return a tidy table.

    Parameters
    ----------
    df : pandas.DataFrame or pandas.Series
        The data. Non-numeric (and boolean) columns are listed as skipped;
        column names must be unique. A dask or Spark DataFrame is checked out
        of core by :func:`normtest.dask.check` / :func:`normtest.spark.check`
        (the ECF tests; see their notes).
    tests : str or sequence of str, default ("anderson", "cramervonmises", "epps_pulley")
        Univariate tests applied to each column: names of normtest functions
        (``"anderson"``, ``"cramervonmises"``, ``"epps_pulley"``) or of the
        other registered tests (``frame.UNIVARIATE_TESTS`` and extras).
    standardize : bool, default True
        ``True`` tests "normal with unknown mean and variance" (the usual
        question about data); ``False`` tests the fully specified N(0, 1).
    alpha : float, default 0.05
        Level of the decisions in ``reject`` (after the correction).
    correction : str or None, default "holm"
        Multiple-testing correction of the finite p-values of each family
        (see `family`), by :func:`statsmodels.stats.multitest.multipletests`
        with this ``method`` (``"holm"``, ``"fdr_bh"``, ``"bonferroni"``,
        ...); ``None`` or ``"none"`` for no correction. Holm controls the
        family-wise error: it answers "is every column normal?" for each test.
    family : {"test", "all"}, default "test"
        Which p-values are corrected together. ``"test"``: one family per test,
        that test over all columns (and groups); several tests of the *same*
        column are several answers to one question, not separate hypotheses,
        so they are never corrected against each other. ``"all"``: one family
        of every p-value in the table (tests x columns, plus the joint test),
        the behaviour before version 0.2; far more conservative.
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
        ``test, n, n_nan, statistic, pvalue, pvalue_upper_bound, pvalue_adj,
        correction, reject, effect, method, note``: ``n`` values used,
        ``n_nan`` missing values dropped, ``pvalue`` the raw p-value,
        ``pvalue_upper_bound`` True where ``pvalue`` is only an upper bound
        (the true p-value is smaller; read it as ``p < pvalue``),
        ``pvalue_adj`` the corrected p-value (NaN where no p-value),
        ``correction`` the correction and its family (e.g. ``"holm over 7
        anderson p-values"``), ``reject`` a nullable ``boolean`` (``<NA>``
        where no p-value), ``effect`` the test's estimate of the distance
        from normality where it has one (NaN otherwise), ``method`` how the
        p-value was obtained and ``note`` why a row is empty or anything else
        worth knowing (the joint row's note states its null hypothesis). ``table.attrs["normtest"]``
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
    engine = {"dask": "dask", "pyspark": "spark"}.get(type(df).__module__.split(".")[0])
    if engine is not None:  # a dask or Spark DataFrame: the same table out of core (ECF tests)
        from importlib import import_module

        if family != "test":
            raise ValueError(f"`family` must be 'test' for a {engine} DataFrame. Got {family!r} instead.")
        return import_module(f"normtest.{engine}").check(
            df, tests=tests, standardize=standardize, alpha=alpha, correction=correction, by=by, columns=columns,
            multivariate=multivariate, n_resamples=n_resamples, rng=rng)
    return _check(df, tests=tests, standardize=standardize, alpha=alpha, correction=correction, family=family,
                  by=by, columns=columns, multivariate=multivariate, n_resamples=n_resamples, rng=rng,
                  progress=progress, stacklevel=3)


def _check(df, *, tests, standardize, alpha, correction, family, by, columns, multivariate, n_resamples,
           rng, progress, stacklevel):
    (df, tests, standardize, alpha, correction, family, by_list, selected, multivariate, n_resamples, seed,
     progress) = _check_iv(df, tests, standardize, alpha, correction, family, by, columns, multivariate,
                           n_resamples, rng, progress)
    register_accessor()

    kinds = {c: column_kind(df[c]) for c in selected}
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
                        rows.append(empty_row(name, 0, 0, reason))
                        records.append(None)
                    continue
                values = sub[col].to_numpy(dtype=np.float64, na_value=np.nan)
                finite = ~np.isnan(values)
                data = values[finite]
                n_nan = int(values.size - data.size)
                for name in tests:
                    index.append(key + (col,))
                    row, rec, cat = build_row(_lookup(name), name, data, n_nan, standardize, n_resamples,
                                              seed, progress, multivariate=False)
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
                row, rec, cat = build_row(_lookup(multivariate), multivariate, data, int((~keep).sum()),
                                          standardize, n_resamples, seed, progress, multivariate=True)
                joint = f"joint test of {len(numeric)} columns; {null_in_words(rec, standardize)}"
                row["note"] = joint if not row["note"] else f"{joint}; {row['note']}"
                rows.append(row)
                records.append(rec)
                if cat is not None:
                    categories[cat] = categories.get(cat, 0) + 1
                bar.update(1)
    finally:
        bar.close()

    names = [*by_list, "column"]
    idx = (pd.MultiIndex.from_tuples(index, names=names) if by_list
           else pd.Index([k[0] for k in index], name="column"))
    settings = {
        "tests": list(tests), "standardize": standardize, "alpha": alpha, "correction": correction,
        "family": family,
        "by": list(by) if isinstance(by, (list, tuple)) else by,
        "columns": None if columns is None else list(selected), "multivariate": multivariate or False,
        "n_resamples": n_resamples, "rng": seed,
    }
    return finish_table(rows, idx, alpha=alpha, correction=correction, family=family, settings=settings,
                        seed=seed, records=records, categories=categories, stacklevel=stacklevel + 1)


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
