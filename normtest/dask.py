"""Out-of-core and distributed Epps–Pulley statistics on dask arrays (optional).

The Epps–Pulley family needs only the additive sums ``C_k = sum_i cos(t_k y_i)``,
``S_k = sum_i sin(t_k y_i)`` and ``n``; every block of a dask array produces its
own sums and adding them gives the sums of the whole. The sample axis does not
have to sit in one chunk, nothing of size n is ever gathered, and the result is
lazy until ``.compute()``. Block results are added in block order (a fixed
binary tree), so the numbers do not depend on the scheduler or worker count.

Where the statistic needs global quantities first (the mean and standard
deviation for ``standardize=True``; the data's range for the ``"auto"`` rule) a
first lazy pass computes them with a numerically stable merge of per-block
moments (Chan, Golub & LeVeque), and the sums follow in a second pass.

The p-value comes from the same null laws as :func:`normtest.epps_pulley` (the
null depends only on n and the settings, so it is computed locally).

Requires the ``dask`` extra: ``pip install "normtest[dask]"``.
"""

from __future__ import annotations

import numpy as np

from .ecf.rules import auto_rule
from ._validate import check_choice

try:  # imported only when this optional submodule is used
    import dask
    import dask.array as da
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "normtest.dask requires dask: install it with `pip install \"normtest[dask]\"`."
    ) from exc

__all__ = ["ecf_sums", "epps_pulley"]


def _as_dask(x, name="x"):
    if not isinstance(x, da.Array):
        from ._validate import as_float_sample

        x = da.from_array(as_float_sample(x, name))
    if x.dtype.kind not in "fiu":
        raise TypeError(f"`{name}` must hold real numbers. Got a dask array of dtype {x.dtype} instead.")
    if x.ndim not in (1, 2):
        raise ValueError(f"`{name}` must be 1-d (n,) or 2-d (n, m) with observations along axis 0. "
                         f"Got a {x.ndim}-d array instead.")
    if x.ndim == 1:
        x = x[:, None]
    if x.shape[0] == 0:
        raise ValueError(f"`{name}` must not be empty.")
    # one block per row chunk, all columns together
    return x.rechunk({1: -1})


def _tree_sum(parts, combine):
    """Add delayed partial results pairwise in a fixed (block) order."""
    parts = list(parts)
    while len(parts) > 1:
        nxt = [dask.delayed(combine, pure=True)(parts[i], parts[i + 1]) for i in range(0, len(parts) - 1, 2)]
        if len(parts) % 2:
            nxt.append(parts[-1])
        parts = nxt
    return parts[0]


# ---------------------------------------------------------------------------
# block functions (plain numpy/numba; run on the workers)
# ---------------------------------------------------------------------------

def _block_moments(block):
    """Per column: (count, mean, M2, min, max, any_nan) of one row block, NaN skipped."""
    b = np.asarray(block, dtype=np.float64)
    finite = ~np.isnan(b)
    cnt = finite.sum(axis=0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, np.nansum(b, axis=0) / np.maximum(cnt, 1), 0.0)
        dev = np.where(finite, b - mean, 0.0)
    m2 = (dev * dev).sum(axis=0)
    lo = np.where(cnt > 0, np.nanmin(np.where(finite, b, np.inf), axis=0), np.inf)
    hi = np.where(cnt > 0, np.nanmax(np.where(finite, b, -np.inf), axis=0), -np.inf)
    return cnt, mean, m2, lo, hi, (~finite).any(axis=0)


def _merge_moments(a, b):
    na, ma, m2a, loa, hia, nana = a
    nb, mb, m2b, lob, hib, nanb = b
    n = na + nb
    with np.errstate(invalid="ignore", divide="ignore"):
        delta = mb - ma
        mean = np.where(n > 0, ma + delta * nb / np.maximum(n, 1), 0.0)
        m2 = m2a + m2b + np.where(n > 0, delta * delta * na * nb / np.maximum(n, 1), 0.0)
    return n, mean, m2, np.minimum(loa, lob), np.maximum(hia, hib), nana | nanb


def _block_sums(block, shift, scale, nodes, step):
    """(C, S) of the standardised block, NaN rows of a column skipped."""
    from .ecf._kernels import ecf_sums

    b = np.asarray(block, dtype=np.float64)
    y = (b - shift) / scale
    m = y.shape[1]
    K = nodes.size
    C = np.zeros((m, K))
    S = np.zeros((m, K))
    nan = np.isnan(y)
    if not nan.any():
        return ecf_sums(np.ascontiguousarray(y), nodes, step=step, out=(C, S))
    for j in range(m):
        col = y[~nan[:, j], j]
        if col.size:
            ecf_sums(np.ascontiguousarray(col[:, None]), nodes, step=step, out=(C[j:j + 1], S[j:j + 1]))
    return C, S


def _add_pairs(a, b):
    return a[0] + b[0], a[1] + b[1]


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
    xd = _as_dask(x)
    t = np.asarray(nodes, dtype=np.float64).ravel()
    if t.size == 0 or not np.isfinite(t).all():
        raise ValueError("`nodes` must be a non-empty array of finite numbers.")
    parts = [dask.delayed(_block_sums, pure=True)(blk, shift, scale, t, None)
             for blk in xd.to_delayed().ravel()]
    return _tree_sum(parts, _add_pairs)


def epps_pulley(x, *, standardize=True, beta=1.0, quadrature="auto", method=None, nan_policy="propagate"):
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

    Returns
    -------
    dask.delayed.Delayed
        ``.compute()`` gives the :class:`~normtest.epps_pulley.EppsPulleyResult`.

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
    from .ecf.inference import EppsPulleyResult, check_args, pvalue
    from .null import MonteCarlo

    standardize, beta, kind, rule, method = check_args(standardize, beta, quadrature, method)
    nan_policy = check_choice(nan_policy, "nan_policy", ("propagate", "omit"))
    xd = _as_dask(x)
    one_d = getattr(x, "ndim", np.ndim(x)) == 1
    blocks = list(xd.to_delayed().ravel())
    moments = _tree_sum([dask.delayed(_block_moments, pure=True)(b) for b in blocks], _merge_moments)

    @dask.delayed(pure=True)
    def plan(mom):
        cnt, mean, m2, lo, hi, has_nan = mom
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(m2 / cnt)
        if standardize:
            shift, scale = mean, sd
        else:
            shift, scale = np.zeros_like(mean), np.ones_like(mean)
        with np.errstate(invalid="ignore", divide="ignore"):
            spread = float(np.nanmax(np.maximum(np.abs(hi - shift), np.abs(lo - shift)) / scale,
                                     initial=0.0))
        if kind in ("auto", "exact"):
            r = auto_rule(max(spread, 1e-3), beta)
        else:
            r = rule
        return shift, scale, r, cnt, has_nan, sd, mean

    @dask.delayed(pure=True)
    def sums_of(block, pl):
        shift, scale, r, *_ = pl
        safe = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        return _block_sums(block, shift, safe, r.nodes, r.lattice_step)

    pl = plan(moments)
    total = _tree_sum([sums_of(b, pl) for b in blocks], _add_pairs)

    @dask.delayed(pure=False)
    def finish(sums, pl):
        C, S = sums
        shift, scale, r, cnt, has_nan, sd, mean = pl
        m = C.shape[0]
        n = cnt.astype(np.int64)
        T = r.statistic(C, S, np.maximum(cnt, 1.0))
        bad = (n < (3 if standardize else 2))
        if nan_policy == "propagate":
            bad |= has_nan
        if standardize:
            bad |= ~(sd > 1e-13 * np.maximum(np.abs(mean), 1e-300))
        T = np.where(bad, np.nan, T)
        p = np.full(m, np.nan)
        se = np.full(m, np.nan) if isinstance(method, MonteCarlo) else None
        nulls, hows = [], []
        for size in sorted(set(n[~bad].tolist())):
            cols = np.nonzero((n == size) & ~bad)[0]
            pv, s, null, how = pvalue(T[cols], int(size), standardize=standardize, beta=beta, kind=kind,
                                      rule=rule, method=method)
            p[cols] = pv
            if se is not None and s is not None:
                se[cols] = s
            nulls.append(null)
            hows.append(how)
        quad = {"rule": kind if kind != "rule" else r.name, **r.describe()}
        if kind != "rule":
            quad["rule"] = kind
        settings = {"beta": beta, "quadrature": quad["rule"], "nan_policy": nan_policy, "backend": "dask"}
        if isinstance(method, MonteCarlo):
            settings.update(method.settings())

        def out(a):
            return a[0] if one_d else a

        return EppsPulleyResult(
            statistic=out(T), pvalue=out(p), n=int(n[0]) if one_d else n, standardize=standardize,
            method=hows[0] if len(set(hows)) == 1 else "+".join(sorted(set(hows))) if hows else "none",
            null=nulls[0] if len(nulls) == 1 else (np.array(nulls, dtype=object) if nulls else None),
            test="epps_pulley", settings=settings, pvalue_se=None if se is None else out(se),
            seed=getattr(nulls[0], "seed", None) if nulls and isinstance(method, MonteCarlo) else None,
            quadrature=quad,
        )

    return finish(total, pl)

