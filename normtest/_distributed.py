"""The tidy table of :func:`normtest.check` for data on an engine (dask, Spark).

The arguments are validated by :mod:`normtest.frame`'s own checks against an
empty pandas frame with the engine frame's columns and dtypes (its "meta"), and
the table has the same columns, notes, correction and record. What runs
differs: the additive ECF tests only (``epps_pulley`` per column, the sliced
test jointly), through the streaming accumulators, all in the same scans of the
data. The EDF tests (``anderson``, ``cramervonmises``) need order statistics,
i.e. a global sort of every column (a shuffle of all the data per column), and
get a row that says so instead of a number.
"""

from __future__ import annotations

import warnings

import numpy as np

from ._tables import column_kind, empty_row, finish_table, null_in_words
from ._validate import DegenerateDataWarning, SmallSampleWarning

EDF_NOTE = ("not run on {engine}: needs order statistics (a global sort of the column); the distributed "
            "check runs the additive ECF tests (epps_pulley, sliced_epps_pulley)")


def check_table(meta, execute, *, engine, tests, standardize, alpha, correction, by, columns, multivariate,
                n_resamples, rng, stacklevel=3):
    """Build the table; ``execute(jobs, numeric)`` runs ``[(accumulator, None), ...]`` over all
    partitions of the `numeric` columns and returns the jobs with their merged accumulators."""
    import pandas as pd

    from . import frame
    from .null import MonteCarlo
    from .streaming import EppsPulley, SlicedEppsPulley

    (meta, tests, standardize, alpha, correction, _, by_list, selected, multivariate, n_resamples, seed,
     _) = frame._check_iv(meta, tests, standardize, alpha, correction, "test", by, columns, multivariate,
                          n_resamples, rng, False)
    if by_list:
        raise ValueError(f"`by` is not available on {engine}: filter the frame per group and check each. "
                         f"Got by={by!r}.")
    if multivariate not in (None, "sliced_epps_pulley"):
        raise ValueError(f"`multivariate` must be True or 'sliced_epps_pulley' on {engine} ({multivariate!r} is "
                         "an O(n^2) pair statistic, not a sum over rows).")
    kinds = {c: column_kind(meta[c]) for c in selected}
    numeric = [c for c in selected if kinds[c] is None]
    if not numeric:
        raise ValueError(f"`df` must have at least one numeric column to test. Got none among {selected}.")

    def method():
        return None if n_resamples is None else MonteCarlo(n_resamples=n_resamples, rng=seed)

    # one scan per pass for everything: the per-column test (it also counts n and NaN for every row)
    jobs = [(EppsPulley(standardize=standardize, method=method(), nan_policy="omit"), None)]
    if multivariate:
        jobs.append((SlicedEppsPulley(standardize=standardize, method=method(), rng=seed, nan_policy="omit"),
                     None))
    with warnings.catch_warnings():   # the notes and the summary warning below say it per row
        warnings.simplefilter("ignore")
        done = execute(jobs, numeric)
        results = [_result(acc) for acc, _ in done]
    ep = results[0]
    ep_n, ep_nan = np.atleast_1d(ep.n), np.atleast_1d(done[0][0].n_missing)

    rows, index, records, categories = [], [], [], {}
    for col in selected:
        reason = kinds[col]
        j = numeric.index(col) if reason is None else None
        for name in tests:
            index.append(col)
            if reason is not None:
                rows.append(empty_row(name, 0, 0, reason))
                records.append(None)
                continue
            n, n_nan = int(ep_n[j]), int(ep_nan[j])
            if name != "epps_pulley":
                rows.append(empty_row(name, n, n_nan, EDF_NOTE.format(engine=engine)))
                records.append(None)
                continue
            row, cat = _row(name, ep, j, n, n_nan, standardize, multivariate=False)
            rows.append(row)
            records.append(_record(row, ep, engine) if np.isfinite(row["statistic"]) else None)
            if cat is not None:
                categories[cat] = categories.get(cat, 0) + 1
    if multivariate:
        res, acc = results[-1], done[-1][0]
        index.append(frame.MULTIVARIATE_LABEL)
        if res is None:   # constant or collinear columns: the in-memory check's note
            row = empty_row(multivariate, int(acc._sums["n"]), int(acc.n_missing),
                            "degenerate data (zero variance or singular covariance)")
            cat = DegenerateDataWarning
        else:
            row, cat = _row(multivariate, res, None, int(res.n), int(acc.n_missing), standardize,
                            multivariate=True)
        h0 = null_in_words(None if res is None else res.to_dict(), standardize)
        joint = f"joint test of {len(numeric)} columns; {h0}"
        row["note"] = joint if not row["note"] else f"{joint}; {row['note']}"
        rows.append(row)
        records.append(None if res is None else res.to_dict())
        if cat is not None:
            categories[cat] = categories.get(cat, 0) + 1

    settings = {"tests": list(tests), "standardize": standardize, "alpha": alpha, "correction": correction,
                "family": "test", "by": None, "columns": None if columns is None else list(selected),
                "multivariate": multivariate or False, "n_resamples": n_resamples, "rng": seed, "engine": engine}
    return finish_table(rows, pd.Index(index, name="column"), alpha=alpha, correction=correction,
                        family="test", settings=settings, seed=seed, records=records, categories=categories,
                        stacklevel=stacklevel + 1)


def _result(acc):
    """The accumulator's result; None where the sliced test refuses the data (singular covariance)."""
    from .streaming import SlicedEppsPulley

    try:
        return acc.result()
    except ValueError:
        if isinstance(acc, SlicedEppsPulley):
            return None
        raise


def _row(name, res, j, n, n_nan, standardize, *, multivariate):
    row = empty_row(name, n, n_nan, "")
    stat = float(np.atleast_1d(res.statistic)[0 if j is None else j])
    notes, cat = [], None
    if n_nan:
        what = "row(s) with missing values" if multivariate else "missing value(s)"
        notes.append(f"{n_nan} {what} dropped")
    if n == 0:
        notes.append("no values (all missing)" if n_nan else "no values")
        cat = SmallSampleWarning
    elif not np.isfinite(stat):
        if multivariate:   # the smallest n at which the statistic itself is defined
            from .ecf.sliced import min_sample_size

            min_n = min_sample_size(res.settings.get("dim", 0), standardize, "none")
        else:
            min_n = 3 if standardize else 2
        if n < min_n:
            notes.append(f"too few values (n={n})")
            cat = SmallSampleWarning
        else:
            notes.append("degenerate data (zero variance or singular covariance)")
            cat = DegenerateDataWarning
    row["note"] = "; ".join(notes)
    if np.isfinite(stat):
        row["statistic"] = stat
        row["pvalue"] = float(np.atleast_1d(res.pvalue)[0 if j is None else j])
        row["method"] = str(res.method)
        eff = getattr(res, "effect", None)
        if eff is not None:
            row["effect"] = float(np.atleast_1d(eff)[0 if j is None else j])
    return row, cat


def _record(row, res, engine):
    """The record of one column of a many-column result."""
    return {"test": row["test"], "statistic": row["statistic"], "pvalue": row["pvalue"], "n": row["n"],
            "method": row["method"], "standardize": res.standardize, "settings": dict(res.settings),
            "quadrature": res.quadrature.get("rule"), "engine": engine}


def open_files(pattern, engine, scheduler=None):
    """A dask or Spark DataFrame of the CSV/Parquet files matching `pattern` (the CLI's ``--engine``).

    `scheduler`: a dask scheduler address (a ``dask.distributed.Client`` is
    connected and stays the default) or a Spark master URL; None runs on this
    machine (dask's threads, Spark ``local[*]``).
    """
    import glob

    if not glob.glob(pattern) and "://" not in pattern:
        raise ValueError(f"cannot read {pattern!r}: no file matches")
    parquet = pattern.lower().rstrip("/*").endswith((".parquet", ".pq")) or pattern.lower().endswith(
        (".parquet", ".pq"))
    if engine == "dask":
        import dask.dataframe as dd

        if scheduler:
            from dask.distributed import Client

            Client(scheduler, set_as_default=True)
        return dd.read_parquet(pattern) if parquet else dd.read_csv(pattern, sep="\t" if ".tsv" in pattern else ",")
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.master(scheduler or "local[*]").appName("normtest").getOrCreate()
    if parquet:
        return spark.read.option("mergeSchema", "true").parquet(pattern)
    return spark.read.csv(pattern, header=True, inferSchema=True, sep="\t" if ".tsv" in pattern else ",")
