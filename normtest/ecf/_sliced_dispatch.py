"""Which null law a sliced Epps–Pulley p-value uses, and the caches behind it.

The laws themselves are in :mod:`normtest.ecf.sliced_laws`. Here: the choice
(compressed Mehler law for the slice mean up to ``MAX_LAW_SLICES`` slices, a
moment-matched gamma law beyond, the one-slice law for ``"max"``/``"none"``),
LRU caches of the laws and of the power sums of ``A^T A``, keyed by the
directions and the rule, and the default below the law's calibrated n
(:func:`small_sample_method`: a Monte-Carlo p-value where it is cheap).
"""

from __future__ import annotations

import hashlib
import math
import warnings

import numpy as np

from .._cache import BoundedCache
from .._validate import SmallSampleWarning
from ..null import AnalyticNull, MonteCarlo

#: beyond this many slices the slice mean's p-value uses a gamma law with the null moments.
MAX_LAW_SLICES = 2048

#: measured bound on |P(p <= alpha) - alpha| of the limit law itself (against the exact spectrum,
#: alpha in {0.1, 0.05, 0.01}; benchmarks/sliced_null.py), by number of components kept.
LAW_ERROR = {1: 1e-3, 2: 5e-5}

#: below the limit law's calibrated n the default p-value is a Monte-Carlo one with this many
#: resamples where its estimated cost (:func:`monte_carlo_seconds`) is at most SMALL_SAMPLE_BUDGET s
SMALL_SAMPLE_RESAMPLES = 999
SMALL_SAMPLE_BUDGET = 0.5

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


def _sf_many(null, x, direct_max=24, grid=32, rtol=1e-6, atol=1e-7):
    """``null.sf`` at many points: direct for a few, else interpolation with error control.

    Imhof's integral costs milliseconds per point; for M slices ``logit(sf)`` is
    interpolated by a cubic spline in ``log x`` on a grid that is halved until
    the spline through the grid misses the direct values at every interval's
    midpoint by at most ``atol + rtol * p`` (the midpoints then join the grid,
    so the final spline is finer than the one tested). If the grid would need
    more points than asked, every point is evaluated directly.
    """
    x = np.asarray(x, dtype=np.float64)
    ok = np.isfinite(x) & (x > 0)
    if ok.sum() <= direct_max:
        return np.asarray(null.sf(x))
    from scipy.interpolate import CubicSpline

    def logit(p):
        p = np.clip(p, 1e-300, 1.0 - 1e-16)
        return np.log(p) - np.log1p(-p)

    def expit(v):
        return 1.0 / (1.0 + np.exp(-v))

    vals = x[ok]
    lo, hi = float(np.log(vals.min())), float(np.log(vals.max()))
    if hi - lo < 1e-9:
        return np.asarray(null.sf(x))
    pts = np.linspace(lo, hi, grid)
    sf = np.asarray(null.sf(np.exp(pts)), dtype=np.float64)
    budget = int(ok.sum()) - grid
    while True:
        mids = 0.5 * (pts[1:] + pts[:-1])
        if mids.size > budget:
            return np.asarray(null.sf(x))
        budget -= mids.size
        sf_mid = np.asarray(null.sf(np.exp(mids)), dtype=np.float64)
        miss = np.abs(expit(CubicSpline(pts, logit(sf))(mids)) - sf_mid)
        order = np.argsort(np.concatenate([pts, mids]))
        pts = np.concatenate([pts, mids])[order]
        sf = np.concatenate([sf, sf_mid])[order]
        if (miss <= atol + rtol * sf_mid).all():
            break
    out = np.full(x.shape, np.nan)
    out[ok] = expit(CubicSpline(pts, logit(sf))(np.log(vals)))
    rest = np.isfinite(x) & ~ok
    if rest.any():
        out[rest] = np.asarray(null.sf(x[rest]))
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


def min_sample_size(D, standardize, method=None, all_dirs=False):
    """Smallest n the sliced test accepts (the rule of every normtest test: the default p-value
    only where it is calibrated, docs/sliced.md "Small samples").

    Monte Carlo (exact at every n) needs ``n >= 2`` (simple null) or ``n >= D + 2`` (the
    covariance must be invertible). The default limit law is calibrated (measured rejection
    rates at 5% and 10% within 15% of the level) from n = 3 under the simple null and from
    ``n = max(6 D + 50, 7 D)`` under the composite null, where it is conservative below (at
    n = 50, D = 8, 256 slices the 5% test rejects 3.4% of normal samples; at n = 1000, D = 256,
    3.9%).

    Between the two the default p-value is Monte Carlo where it is cheap, else NaN with a
    :class:`~normtest.SmallSampleWarning` (:func:`small_sample_method`). A method asked for by name
    (``"asymptotic"``, ``MonteCarlo``, ``"none"``) is given from the smaller minimum.
    """
    if method is not None:
        return D + 2 if standardize else 2
    if standardize:
        return D + 2 if all_dirs else max(6 * D + 50, 7 * D)  # directions="all": Monte Carlo by default
    return 3


def monte_carlo_seconds(n, D, M, K, standardize, n_resamples=SMALL_SAMPLE_RESAMPLES, all_dirs=False):
    """Estimated seconds of a sliced Monte-Carlo null of `n_resamples` statistics on one core.

    Per simulated statistic: the ECF sums (``0.3 ns n M K``), the projections (``0.1 ns n D M``),
    the whitening (``0.1 ns (n D^2 + D^3)``, composite null) and ``1 us`` per slice; for
    ``directions="all"`` the O(n^2 D) kernel (``2 ns n^2 D``). Constants fitted to timed
    ``MonteCarlo(999)`` calls on the 2-core development machine under load (docs/sliced.md
    "Small samples"); a quieter machine is faster.
    """
    if all_dirs:
        per = 2e-9 * n * n * D
    else:
        per = 0.3e-9 * n * M * K + 0.1e-9 * n * D * M + 1e-6 * M
        if standardize:
            per += 0.1e-9 * (n * D * D + D ** 3)
    return n_resamples * per


def small_sample_method(method, n, D, M, K, standardize, settings, all_dirs=False):
    """The method of a call at sample size `n` (at least :func:`min_sample_size` with ``"none"``).

    From the default law's minimum n, or for a method asked for by name: `method` as given.
    Below it, with the default method: ``MonteCarlo(999)`` (drawing from the call's generator,
    so a seed gives the same p-value) where :func:`monte_carlo_seconds` is at most
    ``SMALL_SAMPLE_BUDGET``, with the reason in ``settings["method_reason"]``; otherwise
    ``"none"`` (the statistic alone, p-value NaN) and a SmallSampleWarning naming Monte Carlo
    and its estimated cost. `K`: the rule's number of nodes, `M` the slices.
    """
    need = min_sample_size(D, standardize, method, all_dirs)
    if n >= need:
        return method
    cost = monte_carlo_seconds(n, D, M, K, standardize, all_dirs=all_dirs)
    if cost <= SMALL_SAMPLE_BUDGET:
        B = SMALL_SAMPLE_RESAMPLES
        settings["method_reason"] = (f"n = {n} below the limit law's calibrated n >= {need}: exact "
                                     f"Monte-Carlo p-value, {B} resamples (resolution 1/{B + 1})")
        return MonteCarlo(B)
    warnings.warn(small_sample_message(n, D, standardize, method, all_dirs, cost), SmallSampleWarning,
                  stacklevel=3)
    settings["method_reason"] = (f"n = {n} below the limit law's calibrated n >= {need}; Monte Carlo "
                                 f"(about {cost:.2g} s) only when asked for: method=MonteCarlo()")
    return "none"


def small_sample_message(n, D, standardize, method=None, all_dirs=False, cost=None):
    """The SmallSampleWarning text for a sample of size `n` below :func:`min_sample_size`
    (`cost`: the estimated seconds of the default Monte-Carlo p-value, too many to run unasked)."""
    need = min_sample_size(D, standardize, method, all_dirs)
    exact = min_sample_size(D, standardize, "none")
    if need > exact and n >= exact:
        took = "" if cost is None else f" (about {cost:.2g} s here with {SMALL_SAMPLE_RESAMPLES} resamples)"
        return (f"sliced_epps_pulley: the default p-value is calibrated from n >= {need} (this sample has "
                f"n = {n}); the p-value is NaN. method=normtest.MonteCarlo(){took} gives an exact p-value "
                f"from n >= {exact} (method='asymptotic' the limit law, conservative here).")
    return (f"sliced_epps_pulley: a sample of size {n} is too small (the test needs n >= {need}); "
            "the result is NaN.")
