"""Mardia's multivariate skewness and kurtosis tests, from moment sums (no N x N matrix).

With z_i = S^{-1/2}(x_i − x̄) (S the divisor-N covariance),

    b_{1,D} = N⁻² Σ_{i,j} (z_i·z_j)³ = N⁻² Σ_{a,b,c} (Σ_i z_ia z_ib z_ic)²,
    b_{2,D} = N⁻¹ Σ_i |z_i|⁴,

so one pass for the mean and covariance and one for the third-moment tensor
``T_abc = Σ_i z_ia z_ib z_ic`` and ``Σ_i |z_i|⁴`` suffice: O(N·D³) time,
O(D³ + chunk·D²) memory, and the per-chunk sums add (the same two passes run on
chunks of a cluster's partitions). Under normality (Mardia 1970, 1974)
``N b₁/6 → χ²`` with D(D+1)(D+2)/6 degrees of freedom and
``(b₂ − E b₂)/sd(b₂) → N(0, 1)`` with the exact moments
``E b₂ = D(D+2)(N−1)/(N+1)``,
``Var b₂ = 8D(D+2)(N−3)(N−D−1)(N−D+1) / ((N+1)²(N+3)(N+5))``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._matrix import _CHUNK_VALUES, _as_matrix, _drop_nan_rows, _whitener
from .._result import TestResult
from .._validate import DegenerateDataWarning, SmallSampleWarning, check_nan_policy

__all__ = ["mardia", "MardiaResult", "mardia_moments"]

# smallest N with calibrated chi-square / normal p-values (the small-n rule of normtest.classic):
# the combined 5% and 10% tests reject within 15% of their level from N = 500 at D = 1, 2, 3, 10
# (D = 5 from N = 100); at N = 200, D = 2 the 10% test rejects 8.4%, at N = 50 6.5%
# (4000 seeded samples per cell, `benchmarks/validation.py --small-n`; tests/test_mardia.py)
MIN_N = 500


@dataclass(frozen=True, repr=False, eq=False)
class MardiaResult(TestResult):
    """Result of :func:`mardia`: the two tests and their Bonferroni combination.

    Attributes
    ----------
    skewness, kurtosis : float
        Mardia's b_{1,D} and b_{2,D}.
    skewness_statistic, skewness_pvalue : float
        N b₁/6 and its chi-square upper tail.
    kurtosis_statistic, kurtosis_pvalue : float
        (b₂ − E b₂)/sd(b₂) with the exact normal-theory moments, and its
        two-sided normal p-value.
    """

    skewness: float = np.nan
    kurtosis: float = np.nan
    skewness_statistic: float = np.nan
    skewness_pvalue: float = np.nan
    kurtosis_statistic: float = np.nan
    kurtosis_pvalue: float = np.nan


def mardia_moments(X, chunk_rows=None):
    """(N, b₁, b₂) of a finite (N, D) sample by two chunked passes of moment sums."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    mean, W = _whitener(X)
    step = chunk_rows or max(1, _CHUNK_VALUES // max(1, d * d))
    T = np.zeros((d, d, d))
    fourth = 0.0
    for lo in range(0, n, step):
        Z = (X[lo:lo + step] - mean) @ W
        T += np.einsum("ia,ib,ic->abc", Z, Z, Z, optimize=True)
        sq = np.einsum("ij,ij->i", Z, Z)
        fourth += float(sq @ sq)
    return n, float(np.sum(T * T)) / (n * n), fourth / n


def mardia(X, *, nan_policy="propagate", method=None):
    r"""Mardia's tests of multivariate normality (skewness and kurtosis).

    Parameters
    ----------
    X : array_like, shape (N, D)
        Sample, one observation per row (a DataFrame's numeric columns are fine).
    nan_policy : {"propagate", "omit", "raise"}, default "propagate"
        Rows with NaN: a NaN result, drop those rows, or raise ValueError.
    method : None
        The limit laws (the only p-values offered); anything else raises ValueError.

    Returns
    -------
    MardiaResult
        ``statistic`` is the skewness statistic N b₁/6; ``pvalue`` is the
        Bonferroni combination ``min(1, 2 min(p_skew, p_kurt))`` of the two
        tests (reject when either rejects at half the level). Both tests are in
        ``skewness_*`` and ``kurtosis_*``.

    Notes
    -----
    Moment sums only (see the module notes): O(N·D³) time, O(D³) memory, no
    N × N matrix. The p-values are the limit laws (Mardia 1970); the
    kurtosis test approaches its normal limit slowly, so N >= 500 is required
    (the small-n rule of :mod:`normtest.classic`: measured on 4000 normal
    samples per cell, the combined 5% / 10% tests reject 5.0% / 8.7% of them
    at N = 500, D = 2, and within 15% of their level at D = 1, 3, 10; at
    N = 200, D = 2 the 10% test rejects 8.4%, at N = 100 7.0%, at N = 50 6.5%;
    tests/test_mardia.py); smaller samples give NaN and a
    :class:`normtest.SmallSampleWarning`, a singular covariance NaN and a
    :class:`normtest.DegenerateDataWarning`. Values agree with R ``MVN::mvn(...,
    mvnTest = "mardia")`` (without its small-sample correction).

    References
    ----------
    Mardia, K. V. (1970). Measures of multivariate skewness and kurtosis with
    applications. Biometrika 57, 519–530.

    Examples
    --------
    >>> import numpy as np
    >>> import normtest
    >>> X = np.random.default_rng(0).normal(size=(500, 3))
    >>> res = normtest.mardia(X)
    >>> print(round(res.skewness, 4), round(res.kurtosis, 3), round(res.pvalue, 3))
    0.0818 14.939 1.0
    """
    if method is not None:
        raise ValueError(f"`method` must be None for mardia (limit-law p-values only). Got {method!r} instead.")
    X, _ = _as_matrix(X)
    nan_policy = check_nan_policy(nan_policy)
    Xc = _drop_nan_rows(X, nan_policy)
    D = X.shape[1]
    df = D * (D + 1) * (D + 2) / 6.0
    settings = {"dim": D, "skewness_df": df}

    def empty(n):
        return MardiaResult(statistic=np.nan, pvalue=np.nan, n=n, standardize=True, method="none",
                            test="mardia", settings=settings)

    if Xc is None:
        return empty(0)
    n = Xc.shape[0]
    if n < max(MIN_N, D + 2):
        warnings.warn(f"mardia: a sample of size {n} is too small (the test needs n >= {max(MIN_N, D + 2)}); "
                      "the result is NaN.", SmallSampleWarning, stacklevel=2)
        return empty(n)
    try:
        n, b1, b2 = mardia_moments(Xc)
    except ValueError:
        warnings.warn("mardia: the sample covariance is singular; the result is NaN.",
                      DegenerateDataWarning, stacklevel=2)
        return empty(n)
    from scipy import stats

    # the exact finite-n mean and variance of b2 (Mardia 1974); N b1/6 as it is (its small-sample
    # factor made the 5% test reject 6.5% at N = 50, D = 2; without it 4.7%)
    skew_stat = n * b1 / 6.0
    p_skew = float(stats.chi2.sf(skew_stat, df))
    mean_b2 = D * (D + 2.0) * (n - 1.0) / (n + 1.0)
    var_b2 = (8.0 * D * (D + 2.0) * (n - 3.0) * (n - D - 1.0) * (n - D + 1.0)
              / ((n + 1.0) ** 2 * (n + 3.0) * (n + 5.0)))
    kurt_stat = (b2 - mean_b2) / np.sqrt(var_b2)
    p_kurt = float(2.0 * stats.norm.sf(abs(kurt_stat)))
    return MardiaResult(
        statistic=skew_stat, pvalue=min(1.0, 2.0 * min(p_skew, p_kurt)), n=n, standardize=True,
        method="asymptotic", test="mardia", settings=settings, skewness=b1, kurtosis=b2,
        skewness_statistic=skew_stat, skewness_pvalue=p_skew, kurtosis_statistic=float(kurt_stat),
        kurtosis_pvalue=p_kurt,
    )
