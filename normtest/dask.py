"""Out-of-core and distributed Epps–Pulley tests on dask arrays and DataFrames (optional).

Every Epps–Pulley-type statistic needs only the additive ECF sums ``(C, S, n)``;
each block of a dask array (each partition of a DataFrame) fills a
:mod:`normtest.streaming` accumulator, and the states are merged pairwise in
block order (a fixed binary tree), so the numbers do not depend on the
scheduler, the worker count or the order in which blocks finish. Where the
statistic needs global quantities first (the mean and (co)variance for
``standardize=True``, the data's range for the ``"auto"`` rule) a first lazy
pass merges per-block moments stably (Chan, Golub & LeVeque) and the sums
follow in a second pass. Nothing of size n is gathered; results are lazy until
``.compute()``, and work on any scheduler (threads, processes,
``dask.distributed``; the states that travel are a few kB of ``.npz`` bytes).

The p-values come from the same null laws as the in-memory functions (they
depend only on n and the settings and are computed on the client).

Requires the ``dask`` extra: ``pip install "normtest[dask]"``.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_sample, check_bool, check_choice
from .streaming import EppsPulley, SlicedEppsPulley
from .streaming import engine as _engine

try:  # imported only when this optional submodule is used
    import dask
    import dask.array as da
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "normtest.dask requires dask: install it with `pip install \"normtest[dask]\"`."
    ) from exc

__all__ = ["check", "ecf_sums", "epps_pulley", "sliced_epps_pulley"]


def _as_dask(x, name="x", ndim=(1, 2)):
    if not isinstance(x, da.Array):
        x = da.from_array(as_float_sample(x, name))
    if x.dtype.kind not in "fiu":
        raise TypeError(f"`{name}` must hold real numbers. Got a dask array of dtype {x.dtype} instead.")
    if x.ndim not in ndim:
        raise ValueError(f"`{name}` must be 1-d (n,) or 2-d (n, m) with observations along axis 0. "
                         f"Got a {x.ndim}-d array instead.")
    if x.shape[0] == 0:
        raise ValueError(f"`{name}` must not be empty.")
    return x.rechunk({1: -1}) if x.ndim == 2 else x   # one block per row chunk, all columns together


def _tree_sum(parts, combine, *extra):
    """Combine delayed partial results pairwise in a fixed (block) order."""
    parts = list(parts)
    while len(parts) > 1:
        nxt = [dask.delayed(combine, pure=True)(*extra, parts[i], parts[i + 1])
               for i in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            nxt.append(parts[-1])
        parts = nxt
    return parts[0]


def _blocks(x):
    return list(x.to_delayed().ravel())


def _frame_array(ddf, name):
    """The numeric columns of a dask DataFrame as a float dask array (names, array)."""
    bad = [c for c, t in ddf.dtypes.items() if getattr(t, "kind", "O") not in "iuf"]
    if bad:
        raise TypeError(f"`{name}` must have numeric columns only. Got non-numeric column(s) {bad[:5]!r} "
                        "instead.")
    plain = all(isinstance(t, np.dtype) for t in ddf.dtypes)   # nullable dtypes: NA becomes NaN
    arr = (ddf if plain else ddf.astype(np.float64)).to_dask_array(lengths=_known_lengths(ddf))
    return [str(c) for c in ddf.columns], arr.rechunk({1: -1})


def _known_lengths(ddf):
    """The partitions' row counts where dask knows them without reading the data (dask-expr takes
    them from Parquet metadata), else None."""
    get = getattr(getattr(ddf, "expr", None), "_get_lengths", None)
    try:
        lengths = get() if get is not None else None
    except Exception:   # noqa: BLE001 - a private hook: any failure means "unknown"
        return None
    if lengths is None or len(lengths) != ddf.npartitions:
        return None
    return [int(v) for v in lengths]


def _is_frame(x):
    return hasattr(x, "to_dask_array") and hasattr(x, "dtypes")


def run_jobs(jobs, coll, *, lazy=True):
    """Run ``[(accumulator, columns), ...]`` over the blocks of the dask array `coll`, all passes.

    ``lazy=True``: one graph for all passes, a Delayed computing to the jobs with
    their merged accumulators; the scheduler keeps each block between the passes
    (it is needed twice). ``lazy=False``: one compute per pass, each reading the
    blocks afresh (nothing is held between passes: for data larger than the
    cluster's memory); returns the jobs.
    """
    blocks = _blocks(coll)
    need = _engine.pilot_rows(jobs)
    state = dask.delayed(jobs, traverse=False) if lazy else jobs
    if need:   # the "auto" rule of standardize=False comes from the data's first rows, in block order
        state = _fix_rules(state, blocks, coll, need, lazy)
    offs = [None] * len(blocks)
    sizes = coll.chunks[0]
    if need and not any(np.isnan(sizes)):   # rows known: pass 1 takes the effect's rows too (by block offsets)
        starts = np.concatenate([[0.0], np.cumsum(sizes)[:-1]])
        offs = [[np.array([o])] * len(jobs) for o in starts]
    passes = _engine.n_passes(jobs)
    for p in range(passes):
        if not lazy and not any(_engine.active(acc, p) for acc, _ in state):
            break   # nothing to read in this pass
        parts = [dask.delayed(_engine.fill, pure=True)(state, b, p, o) for b, o in zip(blocks, offs)]
        merged = _tree_sum(parts, _engine.merge_states, state)
        if p + 1 < passes:   # where each block's rows start: the effect size's subsample in the next pass
            counts = [dask.delayed(_engine.row_counts, pure=True)(state, s) for s in parts]
            offs = dask.delayed(_engine.offsets, pure=True)(counts)
        state = dask.delayed(_engine.advance, pure=True)(state, merged, p)
        if not lazy:
            state, offs = dask.compute(state, offs)
        if p + 1 < passes:
            offs = [offs[i] for i in range(len(blocks))]
    return state


def _fix_rules(state, blocks, coll, need, lazy):
    """The jobs with their pilot rules fixed from the first `need` rows (the blocks read in order)."""
    chunks = coll.chunks[0]
    n_rows = None if any(np.isnan(chunks)) else int(sum(chunks))
    head, seen = None, 0.0
    for i, (block, size) in enumerate(zip(blocks, chunks)):
        if lazy:   # a chain of small tasks; with known chunk sizes it stops at the block that fills the head
            head = dask.delayed(_engine.head_rows, pure=True)(head, block, need)
            seen += size   # NaN (unknown sizes): the chain runs over every block
            if seen >= need:
                break
        else:   # block i alone (its own graph: nothing else is read), cut on the worker
            got = 0 if head is None else head.shape[0]
            one = coll.blocks[i] if np.isnan(size) else coll.blocks[i][:need - got]   # unknown size: no slicing
            head = _engine.head_rows(head, one.compute(), need)
            if head.shape[0] >= need:
                break
    return (dask.delayed(_engine.fix_rules, pure=True) if lazy else _engine.fix_rules)(state, head, n_rows)


def _result_of(done):
    return done[0][0].result()


def _finish(jobs, coll, lazy):
    lazy = check_bool(lazy, "lazy")
    out = run_jobs(jobs, coll, lazy=lazy)
    return dask.delayed(_result_of, pure=False)(out) if lazy else _result_of(out)


# ---------------------------------------------------------------------------
# public functions
# ---------------------------------------------------------------------------

def ecf_sums(x, nodes, *, shift=0.0, scale=1.0):
    """Lazy ECF sums of a dask array.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Shape (n,) or (n, m), observations along axis 0; chunked along rows.
    nodes : array_like
        Nodes ``t_k``.
    shift, scale : float or array_like, default 0 and 1
        The sums are of ``(x - shift) / scale``.

    Returns
    -------
    dask.delayed.Delayed
        Computes to ``(C, S)``, float64 arrays of shape (m, K) (m = 1 for 1-d
        input); NaN values are skipped.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import normtest.dask
    >>> x = da.from_array(np.random.default_rng(0).standard_normal(10_000), chunks=2_500)
    >>> C, S = normtest.dask.ecf_sums(x, [0.5, 1.0]).compute()
    >>> print(np.round(C / 10_000, 3))
    [[0.883 0.607]]
    """
    from .ecf.core import EcfSums

    xd = _as_dask(x)
    t = np.asarray(nodes, dtype=np.float64).ravel()
    if t.size == 0 or not np.isfinite(t).all():
        raise ValueError("`nodes` must be a non-empty array of finite numbers.")
    parts = [dask.delayed(_block_sums, pure=True)(blk, shift, scale, t) for blk in _blocks(xd)]
    total = _tree_sum(parts, EcfSums.__add__)
    return dask.delayed(lambda s: (s.C, s.S), pure=True)(total)


def _block_sums(block, shift, scale, nodes):
    """EcfSums of the standardised block, NaN values of a column skipped."""
    from .ecf._kernels import ecf_sums as kernel
    from .ecf.core import EcfSums

    b = np.asarray(block, dtype=np.float64)
    y = ((b[:, None] if b.ndim == 1 else b) - shift) / scale
    sums = EcfSums.zeros((y.shape[1],), nodes.size)
    for j in range(y.shape[1]):
        col = y[~np.isnan(y[:, j]), j]
        if col.size:
            kernel(np.ascontiguousarray(col[:, None]), nodes, out=(sums.C[j:j + 1], sums.S[j:j + 1]))
    return sums


def epps_pulley(x, *, standardize=True, beta=1.0, quadrature="auto", method=None, nan_policy="propagate",
                lazy=True):
    """Epps–Pulley test of a dask array, lazily: the numbers of :func:`normtest.epps_pulley`.

    Parameters
    ----------
    x : dask.array.Array or array_like
        Shape (n,) or (n, m) (columns tested separately), chunked along rows.
    standardize, beta, quadrature, method
        As in :func:`normtest.epps_pulley`. ``quadrature="exact"`` is computed
        by the ``"auto"`` route (exact to ~1e-10). On dask the ``"auto"`` rule
        covers the whole range of the data; a sample with far outliers therefore
        needs many nodes (the in-memory function handles far points in closed
        form instead).
    nan_policy : {"propagate", "omit"}, default "propagate"
        ``"raise"`` is not offered (it would need an eager pass).
    lazy : bool, default True
        ``True``: return a Delayed (one graph for both passes; the scheduler
        keeps each block between them). ``False``: compute now, one pass at a
        time, reading the blocks afresh in each (for data larger than the
        cluster's memory), and return the result.

    Returns
    -------
    dask.delayed.Delayed or EppsPulleyResult
        ``.compute()`` gives the :class:`~normtest.ecf.univariate.EppsPulleyResult`.

    See Also
    --------
    normtest.streaming.EppsPulley : the accumulator every block fills.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import normtest, normtest.dask
    >>> x = np.random.default_rng(1).standard_normal(20_000)
    >>> lazy = normtest.dask.epps_pulley(da.from_array(x, chunks=5_000))
    >>> res = lazy.compute()
    >>> ref = normtest.epps_pulley(x)
    >>> print(abs(res.statistic - ref.statistic) < 1e-9, res.method)
    True table
    """
    nan_policy = check_choice(nan_policy, "nan_policy", ("propagate", "omit"))
    acc = EppsPulley(standardize=standardize, beta=beta, quadrature=quadrature, method=method,
                     nan_policy=nan_policy)
    return _finish([(acc, None)], _as_dask(x), lazy)


def sliced_epps_pulley(X, *, n_slices=256, directions=None, rng=None, standardize=False, beta=1.0,
                       quadrature="auto", reduction="mean", method=None, nan_policy="propagate", lazy=True):
    """Sliced Epps–Pulley test (SIGReg) of a dask array chunked along rows, lazily.

    Parameters
    ----------
    X : dask.array.Array, dask DataFrame or array_like, shape (N, D)
        Observations in rows; any row chunking (the columns are joined into one
        chunk). A DataFrame must have numeric columns (names in ``result.columns``).
    n_slices, directions, rng, standardize, beta, quadrature, reduction, method, nan_policy
        As in :func:`normtest.sliced_epps_pulley` (``directions="all"`` is not
        offered: it is an O(N^2) pair statistic). The directions come from
        `rng`'s seed, so every worker projects onto the same ones.
    lazy : bool, default True
        ``True``: return a Delayed (one graph for both passes; the scheduler
        keeps each block between them). ``False``: compute now, one pass at a
        time, reading the blocks afresh in each (for data larger than the
        cluster's memory), and return the result.

    Returns
    -------
    dask.delayed.Delayed or SlicedResult
        ``.compute()`` gives the :class:`~normtest.ecf.sliced.SlicedResult`,
        equal to the in-memory one to about 1e-10 relative.

    See Also
    --------
    normtest.streaming.SlicedEppsPulley : the accumulator every block fills.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> import normtest, normtest.dask
    >>> X = np.random.default_rng(2).standard_normal((20_000, 8))
    >>> res = normtest.dask.sliced_epps_pulley(da.from_array(X, chunks=(3_000, 8)), n_slices=16,
    ...                                        rng=0).compute()
    >>> ref = normtest.sliced_epps_pulley(X, n_slices=16, rng=0)
    >>> print(np.isclose(res.statistic, ref.statistic, rtol=1e-9), res.method)
    True asymptotic
    """
    acc = SlicedEppsPulley(n_slices=n_slices, directions=directions, rng=rng, standardize=standardize,
                           beta=beta, quadrature=quadrature, reduction=reduction, method=method,
                           nan_policy=nan_policy)
    if _is_frame(X):
        names, X = _frame_array(X, "X")
        _engine.name_columns(acc, names)
    else:
        X = _as_dask(X, "X", ndim=(2,))
    return _finish([(acc, None)], X, lazy)


def check(ddf, *, tests=("epps_pulley",), standardize=True, alpha=0.05, correction="holm", by=None, columns=None,
          multivariate=False, n_resamples=None, rng=None):
    """:func:`normtest.check` of a dask DataFrame: the same tidy table, computed out of core.

    Runs the additive ECF tests: ``epps_pulley`` on every numeric column and,
    with ``multivariate=True``, the sliced Epps–Pulley test of the numeric
    columns jointly, all in the same scans of the partitions (one compute per
    pass, so nothing is held in memory between the passes). The EDF
    tests (``"anderson"``, ``"cramervonmises"``) need order statistics, a
    global sort of every column; asking for them gives rows with a note that
    says so (no number). NaN are dropped per column (counted in ``n_nan``);
    string columns are listed as skipped.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        The data (e.g. ``dask.dataframe.read_parquet("data/*.parquet")``).
    by : None
        Not offered on dask (ValueError otherwise): filter per group.
    tests, standardize, alpha, correction, columns, multivariate, n_resamples, rng
        As in :func:`normtest.check` (``multivariate`` may be True or
        ``"sliced_epps_pulley"``).

    Returns
    -------
    pandas.DataFrame
        The table of :func:`normtest.check`; computed with the active dask
        scheduler (a ``dask.distributed.Client`` when one exists).

    Examples
    --------
    >>> import numpy as np, pandas as pd, dask.dataframe as dd
    >>> import normtest.dask
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"normal": rng.normal(size=4000), "skewed": rng.exponential(size=4000),
    ...                    "label": ["a", "b"] * 2000})
    >>> table = normtest.dask.check(dd.from_pandas(df, npartitions=4))
    >>> table[["test", "n", "reject"]]
                   test     n  reject
    column
    normal  epps_pulley  4000   False
    skewed  epps_pulley  4000    True
    label   epps_pulley     0    <NA>
    """
    from ._distributed import check_table

    if not (_is_frame(ddf) and hasattr(ddf, "_meta")):
        raise TypeError(f"`ddf` must be a dask DataFrame. Got {type(ddf).__name__} instead.")

    def execute(jobs, numeric):
        return run_jobs(jobs, _frame_array(ddf[numeric], "ddf")[1], lazy=False)

    return check_table(ddf._meta, execute, engine="dask", tests=tests, standardize=standardize, alpha=alpha,
                       correction=correction, by=by, columns=columns, multivariate=multivariate,
                       n_resamples=n_resamples, rng=rng)
