"""Mardia's multivariate skewness and kurtosis tests, from moment sums (no N x N matrix).

With z_i = S^{-1/2}(x_i − x̄) (S the divisor-N covariance),

    b_{1,D} = N⁻² Σ_{i,j} (z_i·z_j)³ = N⁻² Σ_{a,b,c} (Σ_i z_ia z_ib z_ic)²,
    b_{2,D} = N⁻¹ Σ_i |z_i|⁴,

so one pass for the mean and covariance and one for the third-moment tensor
``T_abc = Σ_i z_ia z_ib z_ic`` and ``Σ_i |z_i|⁴`` suffice: O(N·D³) time,
O(D³ + chunk·D²) memory, and the per-chunk sums add (the same two passes run on
chunks of a cluster's partitions). Under normality (Mardia 1970, 1974)
``N b₁/6 → χ²`` with D(D+1)(D+2)/6 degrees of freedom and
``x = (b₂ − E b₂)/sd(b₂) → N(0, 1)`` with the exact moments
``E b₂ = D(D+2)(N−1)/(N+1)``,
``Var b₂ = 8D(D+2)(N−3)(N−D−1)(N−D+1) / ((N+1)²(N+3)(N+5))``.

x is right-skewed at small N (skewness 1.7 at N = 20, D = 1; 0.8 at N = 100, D = 2), so
the kurtosis p-value is that of Anscombe & Glynn's (1983) cube-root transformation of x,
which needs the skewness √β₁ of b₂: for D = 1 their exact
``√β₁ = 6(N²−5N+2)/((N+7)(N+9)) · √(6(N+3)(N+5)/(N(N−2)(N−3)))``; for D > 1 the same times
γ_D/γ_1, where ``γ_D = (D+8)√(8/(D(D+2)))`` is the leading term of √(N β₁(b₂)) (the third
cumulant of the influence function |z|⁴ − 2(D+2)|z|² of b₂, 64D(D+2)(D+8), over
(8D(D+2))^{3/2}; γ_1 = 6√6, Anscombe–Glynn's own limit). Mardia's (1974) small-sample
factor for the skewness statistic, ``k = (D+1)(N+1)(N+3)/(N((N+1)(D+1)−6))`` (which makes
its mean exact), is not applied: it makes the skewness test liberal (5% test 1.3-1.4 x its
level at D >= 3, N = 50-100), while N b₁/6 alone is conservative there.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._matrix import _CHUNK_VALUES, _as_matrix, _drop_nan_rows, _whitener
from .._result import PVALUE_FLOOR, TestResult
from .._validate import DegenerateDataWarning, SmallSampleWarning, check_nan_policy

__all__ = ["mardia", "MardiaResult", "mardia_moments", "min_n"]


def min_n(d):
    """Smallest N with a default p-value at dimension d (the small-n rule of normtest.classic).

    The combined 5% and 10% tests reject within 15% of their level at N = 100 for D = 1, 2, 3, 5
    and at N = 200 for D = 10 (0.89-1.02 / 0.86-0.91 x their level, two seeds of 2e4 and 6e4
    samples), and at every larger N measured (N in {20, 30, 50, 100, 200, 500}); at N = 50 the 10%
    test rejects 0.75-0.82 x its level for D <= 5, at N = 150, D = 10 0.82 x
    (`benchmarks/validation.py --small-n`, tests/test_mardia.py).

    Examples
    --------
    >>> from normtest.multivariate.mardia import min_n
    >>> min_n(2), min_n(10)
    (100, 200)
    """
    return max(100, 20 * d, d + 2)


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
        (b₂ − E b₂)/sd(b₂) with the exact normal-theory moments, and the
        two-sided normal p-value of its Anscombe–Glynn transformation.
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


def kurtosis_z(b2, n, d):
    """(b₂ − E b₂)/sd(b₂) with Mardia's (1974) exact normal-theory moments."""
    mean = d * (d + 2.0) * (n - 1.0) / (n + 1.0)
    var = 8.0 * d * (d + 2.0) * (n - 3.0) * (n - d - 1.0) * (n - d + 1.0) / ((n + 1.0) ** 2 * (n + 3.0) * (n + 5.0))
    return (b2 - mean) / np.sqrt(var)


def anscombe_glynn(x, n, d):
    """Anscombe–Glynn (1983) normal deviate of the standardized kurtosis x (module notes)."""
    n = float(n)
    skew = (6.0 * (n * n - 5.0 * n + 2.0) / ((n + 7.0) * (n + 9.0))
            * np.sqrt(6.0 * (n + 3.0) * (n + 5.0) / (n * (n - 2.0) * (n - 3.0))))
    skew *= (d + 8.0) * np.sqrt(8.0 / (d * (d + 2.0))) / (6.0 * np.sqrt(6.0))
    a = 6.0 + 8.0 / skew * (2.0 / skew + np.sqrt(1.0 + 4.0 / skew ** 2))
    denom = 1.0 + x * np.sqrt(2.0 / (a - 4.0))
    tail = np.sign(denom) * np.cbrt((1.0 - 2.0 / a) / np.abs(denom))
    return (1.0 - 2.0 / (9.0 * a) - tail) / np.sqrt(2.0 / (9.0 * a))


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
    N × N matrix. The skewness p-value is the chi-square limit (Mardia 1970);
    the kurtosis p-value uses the exact mean and variance of b₂ (Mardia 1974)
    and Anscombe & Glynn's (1983) transformation (module notes). The default
    p-value needs ``N >= max(100, 20 D)`` (the small-n rule of
    :mod:`normtest.classic`; measured on 2e4 and 6e4 normal samples per cell,
    the combined 5% / 10% tests reject 0.89-1.02 / 0.86-0.91 x their level
    at N = max(100, 20 D) for D = 1, 2, 3, 5, 10, and within 15% of it at
    every larger N measured; at N = 50 the 10% test rejects 0.75-0.82 x its
    level for D <= 5, held back by the chi-square limit of the skewness test);
    smaller samples give NaN and a :class:`normtest.SmallSampleWarning`, a
    singular covariance NaN and a :class:`normtest.DegenerateDataWarning`.
    The skewness statistic agrees with R ``MVN::mvn(..., mvnTest = "mardia")``
    (without its small-sample correction, which is not applied here: module
    notes).

    References
    ----------
    Mardia, K. V. (1970). Measures of multivariate skewness and kurtosis with
    applications. Biometrika 57, 519–530.

    Mardia, K. V. (1974). Applications of some measures of multivariate
    skewness and kurtosis in testing normality and robustness studies.
    Sankhyā B 36, 115–128.

    Anscombe, F. J. and Glynn, W. J. (1983). Distribution of the kurtosis
    statistic b₂ for normal samples. Biometrika 70, 227–234.

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
    if n < min_n(D):
        warnings.warn(f"mardia: a sample of size {n} is too small (the test needs n >= {min_n(D)} at D = {D}); "
                      "the result is NaN.", SmallSampleWarning, stacklevel=2)
        return empty(n)
    try:
        n, b1, b2 = mardia_moments(Xc)
    except ValueError:
        warnings.warn("mardia: the sample covariance is singular; the result is NaN.",
                      DegenerateDataWarning, stacklevel=2)
        return empty(n)
    from scipy import stats

    # N b1/6 as it is, without Mardia's (1974) small-sample factor (module notes)
    skew_stat = n * b1 / 6.0
    p_skew = float(stats.chi2.sf(skew_stat, df))
    kurt_stat = kurtosis_z(b2, n, D)
    p_kurt = float(2.0 * stats.norm.sf(abs(anscombe_glynn(kurt_stat, n, D))))
    # the parts' underflowed tails are reported at the floor, as every p-value of the package (never a
    # bare 0); the combination, from the unfloored parts, is floored and flagged by TestResult
    return MardiaResult(
        statistic=skew_stat, pvalue=min(1.0, 2.0 * min(p_skew, p_kurt)), n=n, standardize=True,
        method="asymptotic", test="mardia", settings=settings, skewness=b1, kurtosis=b2,
        skewness_statistic=skew_stat, skewness_pvalue=max(p_skew, PVALUE_FLOOR),
        kurtosis_statistic=float(kurt_stat), kurtosis_pvalue=max(p_kurt, PVALUE_FLOOR),
    )
