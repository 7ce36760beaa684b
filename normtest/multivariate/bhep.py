"""Multivariate BHEP and Henze–Zirkler tests: the exact statistic by a streamed O(n^2) double sum."""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._result import TestResult
from .._validate import (
    check_beta,
    check_magnitude,
    DegenerateDataWarning,
    SmallSampleWarning,
    check_bool,
    check_nan_policy,
)
from ..null import AnalyticNull, MonteCarlo, check_method, monte_carlo_null
from .._matrix import _as_matrix, _drop_nan_rows, _null_batch, _whitener
from ..ecf.laws import composite_moments, simple_moments

__all__ = ["bhep", "henze_zirkler"]


# ---------------------------------------------------------------------------
# public: BHEP and Henze–Zirkler
# ---------------------------------------------------------------------------

# simple null: (largest d, largest beta) pairs where the log-normal law with the exact finite-n
# moments is calibrated from n = 10 (5% and 10% within 15%; 4000-20000 seeded samples at n = 100:
# beta = 2, d = 3 rejects 1.19 x alpha at 5%, beta = 1.5, d = 5 1.17 x, beta = 2, d = 5 up to 1.36 x,
# beta = 1, d = 10 1.3 x); outside them the default p-value is NaN (Monte Carlo is exact)
_SIMPLE_CALIBRATED = ((5, 1.0), (3, 1.5), (2, 2.0))
NEVER = 2**62


def simple_calibrated(d: int, beta: float) -> bool:
    """Whether the simple-null log-normal default is calibrated at dimension d and this beta."""
    return any(d <= dm and beta <= bm for dm, bm in _SIMPLE_CALIBRATED)


def lognormal_min_n(d: int, standardize: bool, hz: bool, beta: float | None = None) -> int:
    """Smallest n from which the default log-normal p-value is used (d >= 2; the small-n rule).

    The first n of (10, 15, 20, 30, 50, 100, 200) at which the 5% and 10% tests reject within
    15% of their level on 2e4 seeded N(0, I_d) samples (d = 2, 3, 5, 10; 1e4 for d = 20),
    by `benchmarks/validation.py --small-n`: Henze–Zirkler 15, 20, 15, 100, 200 ->
    ``max(20, 10 d)``; BHEP with beta = 0.5, 1, 2 (composite) 50, 50, 30, 200 ->
    ``max(50, 20 d)``; simple null (beta <= 1, d <= 5) from n = 10.
    """
    if not standardize:
        return 10 if beta is None or simple_calibrated(d, beta) else NEVER
    return max(20, 10 * d) if hz else max(50, 20 * d)


def _lognormal_null(mu, s2, params):
    from scipy import stats

    sigma = math.sqrt(math.log1p(s2 / (mu * mu)))
    scale = mu / math.sqrt(1.0 + s2 / (mu * mu))
    dist = stats.lognorm(sigma, scale=scale)
    return AnalyticNull("lognormal", sf=dist.sf, cdf=dist.cdf, ppf=dist.ppf,
                        support=(0.0, mu + 10 * math.sqrt(s2)),
                        params={"mean": mu, "var": s2, **params})


def _bhep_impl(X, beta, standardize, method, nan_policy, test, beta_rule):
    X, columns = _as_matrix(X)
    standardize = check_bool(standardize, "standardize")
    method = check_method(method, allowed=("lognormal", "none"))
    nan_policy = check_nan_policy(nan_policy)
    Xc = _drop_nan_rows(X, nan_policy)
    if not standardize:
        check_magnitude(X, "X", "N(0, I)")
    D = X.shape[1]
    min_n = D + 2 if standardize else 2
    if Xc is None or Xc.shape[0] < min_n:
        if Xc is not None:
            warnings.warn(f"{test}: a sample of size {Xc.shape[0]} is too small (the test needs "
                          f"n >= {min_n}); the result is NaN.", SmallSampleWarning, stacklevel=3)
        return TestResult(statistic=np.nan, pvalue=np.nan, n=0 if Xc is None else Xc.shape[0],
                          standardize=standardize, method="none", test=test,
                          settings={"beta": beta, "dim": D})
    n = Xc.shape[0]
    if beta_rule:
        beta = ((2 * D + 1) * n / 4.0) ** (1.0 / (D + 4)) / math.sqrt(2.0)
    Y = Xc.astype(np.float64)
    if standardize:
        try:
            offset, W = _whitener(Y, root="correlation")
        except ValueError:
            warnings.warn(f"{test}: the sample covariance is singular; the result is NaN.",
                          DegenerateDataWarning, stacklevel=3)
            return TestResult(statistic=np.nan, pvalue=np.nan, n=n, standardize=True, method="none",
                              test=test, settings={"beta": beta, "dim": D})
        Y = (Y - offset) @ W
    from ._kernels import kernel_statistic

    stat = kernel_statistic(Y, beta, "bhep")
    pvalue_se = None
    settings = {"beta": beta, "dim": D}
    if method == "none":  # the statistic alone
        null, pvalue, label = None, np.nan, "none"
    elif isinstance(method, MonteCarlo):
        from ._kernels import bhep_batch

        def simulate(size, g, _n=n, _d=D, _b2=beta * beta, _std=standardize):
            Xs = _null_batch(g, size, _n, _d, _std)
            return bhep_batch(np.ascontiguousarray(Xs), _b2)

        null = monte_carlo_null((test, n, D, beta, standardize), simulate, method, values_per_resample=n * D,
                                params={"test": test, "n": n, "dim": D, "beta": beta})
        pvalue = null.sf(stat)
        pvalue_se = null.pvalue_se(stat)
        label = "monte-carlo"
    elif D == 1 and method is None:
        # one dimension: the statistic is epps_pulley's T_{n,beta}; its default law (finite-n
        # table at beta = 1, else the limit law under the small-n rule) replaces the log-normal
        from ..ecf.inference import pvalue as ep_pvalue

        res = ep_pvalue(np.array([stat]), n, standardize=standardize, beta=beta, kind="exact", rule=None,
                        method=None)
        null, pvalue, label = res.null, float(res.pvalue[0]), res.method
    elif method is None and n < lognormal_min_n(D, standardize, beta_rule, beta):
        first = lognormal_min_n(D, standardize, beta_rule, beta)
        where = (f"is calibrated from n = {first} on in {D} dimensions; at n = {n} the" if first < NEVER else
                 f"of the simple null is not calibrated at beta = {beta:g} in {D} dimensions (measured: "
                 "liberal); the")
        warnings.warn(f"{test}: the log-normal law {where} p-value is NaN (use method=normtest.MonteCarlo(), "
                      "or method='lognormal' to force the approximation).", SmallSampleWarning, stacklevel=3)
        null, pvalue, label = None, np.nan, "none"
    else:
        if standardize:
            mu, s2 = composite_moments(D, beta)
            kind = "henze-wagner limit moments"
        else:
            mu, s2 = simple_moments(n, D, beta)
            kind = "exact finite-n moments"
        null = _lognormal_null(mu, s2, {"n": n, "dim": D, "beta": beta, "moments": kind})
        pvalue = float(null.sf(stat))
        label = "lognormal"
    res = TestResult(statistic=stat, pvalue=np.asarray(pvalue)[()], n=n, standardize=standardize,
                     method=label, null=null, test=test, settings=settings, pvalue_se=pvalue_se,
                     seed=getattr(null, "seed", None))
    return res


def bhep(X, *, beta=1.0, standardize=True, method=None, nan_policy="propagate"):
    r"""BHEP test of multivariate normality (Baringhaus–Henze–Epps–Pulley).

    The exact statistic (docs/theory.md §2)

    .. math::

        T_{n,\beta} = \frac1n \sum_{j,k} e^{-\beta^2|Y_j-Y_k|^2/2}
        - 2(1+\beta^2)^{-d/2} \sum_j e^{-\beta^2|Y_j|^2/(2(1+\beta^2))}
        + n(1+2\beta^2)^{-d/2},

    ``n`` times the weighted L2 distance between the empirical characteristic
    function of the ``Y_j`` and that of N(0, I_d), weight N(0, beta^2 I_d).
    The double sum is streamed in numba (memory O(n), no n x n matrix).

    Parameters
    ----------
    X : array_like or pandas.DataFrame, shape (n, d)
        Sample, one observation per row (a 1-d array is d = 1). A masked array
        drops every row with a masked entry. With ``standardize=True`` the
        statistic does not depend on the units of each column (columns are
        scaled and centred before the covariance is formed).
    beta : float, default 1.0
        Width of the weight, in [0.1, 10].
    standardize : bool, default True
        ``True``: H0 "normal, mean and covariance unknown"; ``Y_j`` are the
        data standardised by the sample mean and divisor-n covariance (any
        root gives the same value). ``False``: H0 N(0, I_d), ``Y_j = X_j``.
    method : None, "lognormal", "none" or MonteCarlo
        ``"lognormal"``: a log-normal law with the Henze–Wagner limit mean
        and variance (composite; as R MVN and pingouin) or the exact finite-n
        mean and variance (simple null). ``None``: the log-normal law where it
        is calibrated (see Notes), NaN and a SmallSampleWarning below; for
        d = 1 the law of :func:`normtest.epps_pulley` instead. ``MonteCarlo``:
        the statistic simulated under N(0, I_d), at any n. ``"none"``: the
        statistic alone (``pvalue`` NaN).
    nan_policy : {"propagate", "omit", "raise"}
        Rows with NaN.

    Returns
    -------
    TestResult

    Notes
    -----
    Valid range of the default p-value (the small-n rule of
    :mod:`normtest.classic`): composite null n >= max(50, 20 d), simple null
    n >= 10 where measured calibrated (beta <= 1 for d <= 5, beta <= 1.5 for
    d <= 3, beta <= 2 for d <= 2; composite measured for beta in [0.5, 2],
    d <= 10). Elsewhere the simple-null log-normal law is liberal (up to
    1.36 x alpha at 5% for beta = 2, d = 5; 1.3 x for beta = 1, d = 10), so the
    default p-value there is NaN with a SmallSampleWarning. Monte Carlo is
    exact at any n >= d + 2 (composite) or 2 (simple).

    Examples
    --------
    >>> import numpy as np
    >>> import normtest
    >>> X = np.random.default_rng(0).standard_normal((200, 3))
    >>> res = normtest.bhep(X)
    >>> print(round(float(res.statistic), 4), round(float(res.pvalue), 3), res.method)
    0.4403 0.494 lognormal
    """
    beta = check_beta(beta)
    return _bhep_impl(X, beta, standardize, method, nan_policy, "bhep", False)


def henze_zirkler(X, *, method=None, nan_policy="propagate"):
    r"""Henze–Zirkler test of multivariate normality.

    The BHEP statistic on standardised data (divisor-n covariance) with
    Henze and Zirkler's width ``beta = ((2d + 1) n / 4)^(1/(d+4)) / sqrt(2)``;
    p-value from the log-normal law with the Henze–Wagner moments (as R MVN
    ``hz`` and ``pingouin.multivariate_normality``) or Monte Carlo.

    Parameters
    ----------
    X : array_like or pandas.DataFrame, shape (n, d)
        Sample, one observation per row.
    method : None, "lognormal", "none" or MonteCarlo
        As in :func:`bhep`.
    nan_policy : {"propagate", "omit", "raise"}
        Rows with NaN.

    Returns
    -------
    TestResult
        ``settings["beta"]`` holds the width used.

    Notes
    -----
    The default (log-normal) p-value is given from n >= max(20, 10 d),
    where 2e4 simulated samples show the 5% and 10% tests within 15% of
    their level (d = 2 ... 20); below it NaN and a SmallSampleWarning
    (``method=normtest.MonteCarlo()`` is exact at any n >= d + 2). For
    d = 1 the p-value is that of :func:`normtest.epps_pulley` at the same
    beta (limit law, with its own minimum n).

    Examples
    --------
    >>> import numpy as np
    >>> import normtest
    >>> X = np.random.default_rng(0).standard_normal((200, 3))
    >>> res = normtest.henze_zirkler(X)
    >>> print(round(float(res.statistic), 4), round(float(res.pvalue), 3))
    0.7396 0.564
    """
    return _bhep_impl(X, 1.0, True, method, nan_policy, "henze_zirkler", True)
