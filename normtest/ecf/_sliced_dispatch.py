"""Which null law a sliced Epps–Pulley p-value uses, and the caches behind it.

The laws themselves are in :mod:`normtest.ecf.sliced_laws`. Here: the choice
(compressed Mehler law for the slice mean up to ``MAX_LAW_SLICES`` slices, a
moment-matched gamma law beyond, the one-slice law for ``"max"``/``"none"``),
and LRU caches of the laws and of the power sums of ``A^T A``, keyed by the
directions and the rule.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

from .._cache import BoundedCache
from ..null import AnalyticNull

#: beyond this many slices the slice mean's p-value uses a gamma law with the null moments.
MAX_LAW_SLICES = 2048

#: measured bound on |P(p <= alpha) - alpha| of the limit law itself (against the exact spectrum,
#: alpha in {0.1, 0.05, 0.01}; benchmarks/sliced_null.py), by number of components kept.
LAW_ERROR = {1: 1e-3, 2: 5e-5}

_LIMIT_CACHE = BoundedCache(max_entries=16)
_BLOCKS_CACHE = BoundedCache(max_entries=4)


def _gram_key(A):
    return hashlib.sha1(np.ascontiguousarray(A).tobytes()).hexdigest()


def _rule_key(rule):
    return (rule.name, rule.scale, rule.nodes.tobytes(), rule.weights.tobytes())


def _blocks(A, rule, composite):
    """Cached degree factors and power sums of ``rho = A^T A`` (shared by the moments and the law)."""
    from .sliced_laws import _Blocks

    key = (_gram_key(A), _rule_key(rule), bool(composite))
    return _BLOCKS_CACHE.get_or_make(key, lambda: _Blocks(A, rule, composite))


def null_moments(A, rule, standardize, n):
    """Null mean and variance of the slice mean: exact at this n (simple null) or limit values."""
    from .sliced_laws import exact_moments, limit_moments

    blocks = _blocks(A, rule, standardize)
    if standardize:
        return dict(limit_moments(A, rule, True, blocks=blocks), kind="limit")
    return dict(exact_moments(A, rule, n, blocks=blocks), kind="exact")


def _limit_null(A, rule, composite):
    """Cached :func:`~normtest.ecf.sliced_laws.limit_null` of the directions `A` (D, M)."""
    from .sliced_laws import limit_null

    key = (_gram_key(A), _rule_key(rule), bool(composite))

    def make():
        null, label = limit_null(A, rule, composite, params={"composite": bool(composite)},
                                 blocks=_blocks(A, rule, composite))
        null.params["law_error"] = LAW_ERROR.get(null.params["components"], LAW_ERROR[2])
        return null, label

    return _LIMIT_CACHE.get_or_make(key, make)


def _sf_many(null, x, direct_max=24, grid=40):
    """``null.sf`` at many points: direct for a few, else monotone interpolation of log sf.

    Imhof's integral costs milliseconds per point; for M slices the law is
    evaluated on ``grid`` points spanning the values and ``log sf`` is
    interpolated by PCHIP (shape preserving), relative error about 1e-6.
    """
    x = np.asarray(x, dtype=np.float64)
    ok = np.isfinite(x)
    if ok.sum() <= direct_max:
        return np.asarray(null.sf(x))
    from scipy.interpolate import PchipInterpolator

    lo, hi = float(x[ok].min()), float(x[ok].max())
    pts = np.linspace(lo, hi, grid)
    logsf = np.log(np.maximum(np.asarray(null.sf(pts), dtype=np.float64), 1e-300))
    out = np.full(x.shape, np.nan)
    out[ok] = np.exp(PchipInterpolator(pts, logsf)(x[ok]))
    return np.clip(out, 0.0, 1.0)


def _gamma_null(mean, var, params):
    from scipy import stats

    k = mean * mean / var
    theta = var / mean
    dist = stats.gamma(k, scale=theta)
    return AnalyticNull("gamma-moments", sf=dist.sf, cdf=dist.cdf, ppf=dist.ppf,
                        support=(0.0, mean + 10 * math.sqrt(var)),
                        params={"mean": mean, "var": var, **params})


def asymptotic_pvalue(stat, A, nrule, standardize, reduction, mom, n):
    """``(pvalue, null, label)`` of the default (non Monte-Carlo) sliced p-value.

    ``mom`` holds the null moments of the reduced statistic (used by the gamma law
    beyond ``MAX_LAW_SLICES`` slices).
    """
    M = A.shape[1]
    if reduction == "mean" and M <= MAX_LAW_SLICES:
        null, label = _limit_null(A, nrule, standardize)
        return null.sf(stat), null, label
    if reduction == "mean":
        null = _gamma_null(mom["mean"], mom["var"], {"n": n, "moments": mom["kind"]})
        return null.sf(stat), null, "gamma-moments"
    null, _ = _limit_null(np.ones((1, 1)), nrule, standardize)
    if reduction == "none":
        return _sf_many(null, stat), null, "asymptotic"
    return min(1.0, M * float(null.sf(stat))), null, "asymptotic-bonferroni"
