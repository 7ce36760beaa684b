"""Epps–Pulley tests of Spark DataFrames (optional): :func:`check`, :func:`epps_pulley`, :func:`sliced_epps_pulley`.

Each pass is one Spark job: ``mapInArrow`` hands every partition's Arrow batches
to a :mod:`normtest.streaming` accumulator on the executor, which emits its
compact state (``.npz`` bytes, a few kB); the driver merges the states in
partition order, so the numbers do not depend on task timing or retries, and
are the in-memory numbers to about 1e-10 relative. Two-pass tests (the
composite null, the ``"auto"`` rule) scan the data twice; cache the DataFrame
first if reading it is expensive. Nothing of size n reaches the driver.

Requires the ``spark`` extra: ``pip install "normtest[spark]"``.
"""

from __future__ import annotations

import numpy as np

from .streaming import EppsPulley, SlicedEppsPulley
from .streaming import engine as _engine

try:  # imported only when this optional submodule is used
    import pyspark  # noqa: F401
    from pyspark.sql import functions as F
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "normtest.spark requires pyspark: install it with `pip install \"normtest[spark]\"`."
    ) from exc

__all__ = ["check", "epps_pulley", "sliced_epps_pulley"]

_NUMERIC = ("ByteType", "ShortType", "IntegerType", "LongType", "FloatType", "DoubleType", "DecimalType")


def _is_spark_frame(sdf):
    return type(sdf).__module__.startswith("pyspark") and hasattr(sdf, "mapInArrow")


def _numeric_columns(sdf, columns, name):
    """The selected columns (all by default), each checked to be numeric."""
    if not _is_spark_frame(sdf):
        raise TypeError(f"`{name}` must be a pyspark.sql.DataFrame. Got {type(sdf).__name__} instead.")
    fields = {f.name: type(f.dataType).__name__ for f in sdf.schema.fields}
    if columns is None:
        cols = list(fields)
    else:
        cols = [columns] if isinstance(columns, str) else list(columns)
        missing = [c for c in cols if c not in fields]
        if missing or not cols:
            raise ValueError(f"`columns` must name columns of `{name}`. Got {missing or cols}, not among "
                             f"{list(fields)}.")
    bad = [c for c in cols if fields[c] not in _NUMERIC]
    if bad:
        raise TypeError(f"`{name}` must have numeric columns only. Got non-numeric column(s) "
                        f"{[(c, fields[c]) for c in bad[:5]]!r} instead.")
    return cols, fields


def _partition_states(jobs, p, offsets=None, dtype=np.float64):
    """The function mapInArrow runs on every partition: one state per job.

    `offsets`: {partition id: per-job offsets} from the previous pass (see
    :func:`normtest.streaming.engine.offsets`). `dtype`: of the blocks (float32 where every
    column is a Spark float, as ``toPandas()`` gives them, else float64).
    """

    def run(batches):
        import pyarrow as pa
        from pyspark import TaskContext

        pid = TaskContext.get().partitionId()
        offs = (offsets or {}).get(pid) or [None] * len(jobs)
        workers = [acc.spawn(offset=o) if _engine.active(acc, p) else None for (acc, _), o in zip(jobs, offs)]
        for batch in batches:
            if batch.num_rows == 0:
                continue
            block = np.column_stack([np.asarray(c.to_numpy(zero_copy_only=False), dtype=dtype)
                                     for c in batch.columns])
            for w in workers:
                if w is not None:
                    w.update(block)
        states = [None if w is None else w.to_bytes() for w in workers]
        yield pa.RecordBatch.from_pydict({"job": list(range(len(jobs))), "pid": [pid] * len(jobs),
                                          "state": states},
                                         schema=pa.schema([("job", pa.int32()), ("pid", pa.int64()),
                                                           ("state", pa.binary())]))
    return run


def run_jobs(jobs, sdf, columns):
    """Run ``[(accumulator, None), ...]`` over the `columns` of `sdf`, one Spark job per pass.

    States are merged on the driver in partition order. Returns the jobs with
    their merged accumulators.
    """
    # float columns stay float32, as in memory (where float32 data are projected in float32)
    single = all(type(sdf.schema[c].dataType).__name__ == "FloatType" for c in columns)
    kind, dtype = ("float", np.float32) if single else ("double", np.float64)
    data = sdf.select(*[F.col(c).cast(kind).alias(f"c{i}") for i, c in enumerate(columns)])
    offsets = None
    need = _engine.pilot_rows(jobs)
    if need:   # the "auto" rule of standardize=False comes from the data's first rows, in partition order
        head = np.array([tuple(r) for r in data.limit(need).collect()], dtype=np.float64)
        jobs = _engine.fix_rules(jobs, head.reshape(-1, len(columns)))
    passes = _engine.n_passes(jobs)
    for p in range(passes):
        if not any(_engine.active(acc, p) for acc, _ in jobs):
            break   # nothing to read in this pass
        rows = data.mapInArrow(_partition_states(jobs, p, offsets, dtype),
                               "job int, pid long, state binary").collect()
        rows = sorted(rows, key=lambda r: (r.job, r.pid))
        if p + 1 < passes:   # where each partition's rows start, for the next pass (the effect's subsample)
            pids = sorted({r.pid for r in rows})
            states = {(r.job, r.pid): None if r.state is None else bytes(r.state) for r in rows}
            counts = [_engine.row_counts(jobs, [states.get((k, pid)) for k in range(len(jobs))]) for pid in pids]
            offsets = dict(zip(pids, _engine.offsets(counts)))
        merged = [None] * len(jobs)
        for r in rows:
            if r.state is not None:
                one = [None] * len(jobs)
                one[r.job] = bytes(r.state)
                merged = _engine.merge_states(jobs, merged, one)
        if any(_engine.active(acc, p) and m is None for (acc, _), m in zip(jobs, merged)):
            # no partition at all (an empty frame): an empty state, the result says "too small"
            merged = [m if m is not None or not _engine.active(acc, p) else _empty_state(acc, len(columns))
                      for (acc, _), m in zip(jobs, merged)]
        jobs = _engine.advance(jobs, merged, p)
    return jobs


def _empty_state(acc, width):
    w = acc.spawn()
    w.update(np.zeros((0, width)))
    return w.to_bytes()


def epps_pulley(sdf, columns=None, *, standardize=True, beta=1.0, quadrature="auto", method=None,
                nan_policy="propagate"):
    """Epps–Pulley test of every selected column of a Spark DataFrame.

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
    columns : str or list of str, optional
        Numeric columns to test (default: all; each must be numeric).
    standardize, beta, quadrature, method, nan_policy
        As in :func:`normtest.epps_pulley` (``null`` values count as NaN).

    Returns
    -------
    EppsPulleyResult
        Per column (arrays in the order of `columns`), the numbers of
        :func:`normtest.epps_pulley` on the collected data.
    """
    cols, _ = _numeric_columns(sdf, columns, "sdf")
    acc = EppsPulley(standardize=standardize, beta=beta, quadrature=quadrature, method=method,
                     nan_policy=nan_policy)
    return run_jobs([(acc, None)], sdf, cols)[0][0].result()


def sliced_epps_pulley(sdf, columns=None, *, n_slices=256, directions=None, rng=None, standardize=False, beta=1.0,
                       quadrature="auto", reduction="mean", method=None, nan_policy="propagate"):
    """Sliced Epps–Pulley test (SIGReg) of the rows of a Spark DataFrame.

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
    columns : list of str, optional
        The D numeric columns of the sample (default: all; each must be numeric).
    n_slices, directions, rng, standardize, beta, quadrature, reduction, method, nan_policy
        As in :func:`normtest.sliced_epps_pulley` (``directions="all"`` is not
        offered). The directions come from `rng`'s seed, so every executor
        projects onto the same ones; rows with a ``null`` count as NaN rows.

    Returns
    -------
    SlicedResult
        ``result.columns`` names the columns.
    """
    cols, _ = _numeric_columns(sdf, columns, "sdf")
    acc = SlicedEppsPulley(n_slices=n_slices, directions=directions, rng=rng, standardize=standardize, beta=beta,
                           quadrature=quadrature, reduction=reduction, method=method, nan_policy=nan_policy)
    _engine.name_columns(acc, cols)
    return run_jobs([(acc, None)], sdf, cols)[0][0].result()


def _meta(sdf):
    """An empty pandas frame with the columns of `sdf` and matching dtypes (for the checks)."""
    import pandas as pd

    kinds = {"ByteType": "int8", "ShortType": "int16", "IntegerType": "int32", "LongType": "int64",
             "FloatType": "float32", "DoubleType": "float64", "DecimalType": "float64", "BooleanType": "bool"}
    return pd.DataFrame({f.name: pd.Series([], dtype=kinds.get(type(f.dataType).__name__, "object"))
                         for f in sdf.schema.fields})


def check(sdf, *, tests=("epps_pulley",), standardize=True, alpha=0.05, correction="holm", by=None, columns=None,
          multivariate=False, n_resamples=None, rng=None):
    """:func:`normtest.check` of a Spark DataFrame: the same tidy pandas table.

    Runs ``epps_pulley`` on every numeric column and, with
    ``multivariate=True``, the sliced Epps–Pulley test of the numeric columns
    jointly, in the same Spark jobs (one per pass). The EDF tests
    (``"anderson"``, ``"cramervonmises"``) need a global sort of every column
    and get rows with a note instead of numbers. Nulls and NaN are dropped per
    column (counted in ``n_nan``); non-numeric columns are listed as skipped.

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
    by : None
        Not offered on Spark (ValueError otherwise).
    tests, standardize, alpha, correction, columns, multivariate, n_resamples, rng
        As in :func:`normtest.check`.

    Returns
    -------
    pandas.DataFrame
    """
    from ._distributed import check_table

    if not _is_spark_frame(sdf):
        raise TypeError(f"`sdf` must be a pyspark.sql.DataFrame. Got {type(sdf).__name__} instead.")

    def execute(jobs, numeric):
        return run_jobs(jobs, sdf, numeric)

    return check_table(_meta(sdf), execute, engine="spark", tests=tests, standardize=standardize, alpha=alpha,
                       correction=correction, by=by, columns=columns, multivariate=multivariate,
                       n_resamples=n_resamples, rng=rng)
