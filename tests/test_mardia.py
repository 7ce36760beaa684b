"""normtest.mardia: moment sums against the N x N formula, calibration, check(multivariate=)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

import normtest
from normtest.multivariate.mardia import anscombe_glynn, kurtosis_z, mardia_moments, min_n


def _naive(X):
    """Mardia (1970) by the N x N matrix of Mahalanobis inner products."""
    Z = X - X.mean(axis=0)
    S = Z.T @ Z / len(X)
    G = Z @ np.linalg.inv(S) @ Z.T
    return np.mean(G ** 3), np.mean(np.diag(G) ** 2)


@pytest.mark.parametrize("n, d", [(50, 1), (120, 2), (300, 5)])
def test_moment_sums_match_the_matrix_formula(n, d, rng):
    X = rng.standard_t(5, size=(n, d)) @ rng.normal(size=(d, d)) + 3.0
    b1, b2 = _naive(X)
    for chunk in (None, 7):
        _, c1, c2 = mardia_moments(X, chunk_rows=chunk)
        assert_allclose([c1, c2], [b1, b2], rtol=1e-10)


def test_univariate_case_is_squared_skewness_and_kurtosis(rng):
    x = rng.exponential(size=500)
    res = normtest.mardia(x[:, None])
    assert_allclose(res.skewness, stats.skew(x) ** 2, rtol=1e-10)
    assert_allclose(res.kurtosis, stats.kurtosis(x, fisher=False), rtol=1e-10)


def test_pvalues_by_hand(rng):
    X = rng.normal(size=(500, 3))
    res = normtest.mardia(X)
    b1, b2 = _naive(X)
    n, d = X.shape
    assert_allclose(res.skewness_pvalue, stats.chi2.sf(n * b1 / 6, d * (d + 1) * (d + 2) / 6))
    mean = d * (d + 2) * (n - 1) / (n + 1)
    var = 8 * d * (d + 2) * (n - 3) * (n - d - 1) * (n - d + 1) / ((n + 1) ** 2 * (n + 3) * (n + 5))
    x = (b2 - mean) / np.sqrt(var)
    assert_allclose(res.kurtosis_statistic, x)
    # Anscombe & Glynn (1983) with the D = 1 skewness of b2 scaled by (d + 8) sqrt(8 / (d (d + 2))) / (6 sqrt 6)
    sb = (6 * (n * n - 5 * n + 2) / ((n + 7) * (n + 9)) * np.sqrt(6 * (n + 3) * (n + 5) / (n * (n - 2) * (n - 3)))
          * (d + 8) * np.sqrt(8 / (d * (d + 2))) / (6 * np.sqrt(6)))
    a = 6 + 8 / sb * (2 / sb + np.sqrt(1 + 4 / sb ** 2))
    z = (1 - 2 / (9 * a) - ((1 - 2 / a) / (1 + x * np.sqrt(2 / (a - 4)))) ** (1 / 3)) / np.sqrt(2 / (9 * a))
    assert_allclose(res.kurtosis_pvalue, 2 * stats.norm.sf(abs(z)))
    assert res.pvalue == pytest.approx(min(1, 2 * min(res.skewness_pvalue, res.kurtosis_pvalue)))


@pytest.mark.parametrize("n", [100, 400])
def test_univariate_kurtosis_pvalue_is_scipys_kurtosistest(n, rng):
    # D = 1: the kurtosis test is Anscombe & Glynn's exactly, as scipy.stats.kurtosistest computes it
    x = rng.standard_t(6, size=n)
    res = normtest.mardia(x[:, None])
    assert_allclose(res.kurtosis_pvalue, stats.kurtosistest(x).pvalue, rtol=1e-10)


def test_rejects_skewed_and_affine_invariant(rng):
    X = rng.exponential(size=(500, 3))
    res = normtest.mardia(X)
    assert res.pvalue < 1e-6
    A = rng.normal(size=(3, 3))
    assert_allclose(normtest.mardia(X @ A + 5).skewness, res.skewness, rtol=1e-8)


@pytest.mark.parametrize("d", [2, 10])
def test_calibrated_at_smallest_n(d):
    # N = min_n(d) (100 at D = 2, 200 at D = 10): the combined 5% and 10% tests within 15% of their
    # level plus 2.5 binomial sd (the small-n rule; 1500 seeded samples)
    gen = np.random.default_rng([50, d])
    reps = 1500
    p = np.array([normtest.mardia(gen.standard_normal((min_n(d), d))).pvalue for _ in range(reps)])
    for a in (0.05, 0.10):
        assert abs(np.mean(p <= a) - a) < 0.15 * a + 2.5 * np.sqrt(a * (1 - a) / reps)


@pytest.mark.parametrize("d", [1, 3])
def test_kurtosis_transformation_calibrated_at_n30(d):
    # the kurtosis test alone, N = 30 (2e4 seeded samples, b2 by the N x N formula): 5% and 10% within
    # 15% of their level plus 2.5 binomial sd; the untransformed normal p rejects 0.66 x 10% at D = 1
    gen = np.random.default_rng([30, d])
    reps, n = 20000, 30
    X = gen.standard_normal((reps, n, d))
    Z = X - X.mean(axis=1, keepdims=True)
    S = np.einsum("rna,rnb->rab", Z, Z) / n
    b2 = np.mean(np.einsum("rna,rab,rnb->rn", Z, np.linalg.inv(S), Z) ** 2, axis=1)
    p = 2 * stats.norm.sf(np.abs(anscombe_glynn(kurtosis_z(b2, n, d), n, d)))
    for a in (0.05, 0.10):
        assert abs(np.mean(p <= a) - a) < 0.15 * a + 2.5 * np.sqrt(a * (1 - a) / reps)


def test_small_nan_and_degenerate(rng):
    with pytest.warns(normtest.SmallSampleWarning, match="n >= 100"):
        assert np.isnan(normtest.mardia(rng.normal(size=(99, 2))).pvalue)
    with pytest.warns(normtest.SmallSampleWarning, match="n >= 200"):
        assert np.isnan(normtest.mardia(rng.normal(size=(199, 10))).pvalue)
    assert np.isfinite(normtest.mardia(rng.normal(size=(200, 10))).pvalue)
    X = rng.normal(size=(600, 2))
    X[3, 1] = np.nan
    assert np.isnan(normtest.mardia(X).pvalue)
    assert_allclose(normtest.mardia(X, nan_policy="omit").pvalue, normtest.mardia(np.delete(X, 3, 0)).pvalue)
    with pytest.warns(normtest.DegenerateDataWarning):
        assert np.isnan(normtest.mardia(np.repeat(rng.normal(size=(600, 1)), 2, axis=1)).pvalue)


def test_in_check_multivariate(rng):
    df = pd.DataFrame(rng.normal(size=(500, 3)), columns=list("abc"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = normtest.check(df, multivariate="mardia")
    row = table[table["test"] == "mardia"]
    assert len(row) == 1
    assert_allclose(row["pvalue"].iloc[0], normtest.mardia(df).pvalue)
