"""normtest.mardia: moment sums against the N x N formula, calibration, check(multivariate=)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

import normtest
from normtest.multivariate.mardia import mardia_moments


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
    assert_allclose(res.kurtosis_pvalue, 2 * stats.norm.sf(abs(b2 - mean) / np.sqrt(var)))
    assert res.pvalue == pytest.approx(min(1, 2 * min(res.skewness_pvalue, res.kurtosis_pvalue)))


def test_rejects_skewed_and_affine_invariant(rng):
    X = rng.exponential(size=(500, 3))
    res = normtest.mardia(X)
    assert res.pvalue < 1e-6
    A = rng.normal(size=(3, 3))
    assert_allclose(normtest.mardia(X @ A + 5).skewness, res.skewness, rtol=1e-8)


def test_calibrated_at_smallest_n():
    # N = 500, D = 2 (the smallest accepted N): the combined 5% and 10% tests within 15% of their
    # level plus 2.5 binomial sd (the small-n rule; 1500 seeded samples)
    gen = np.random.default_rng(50)
    reps = 1500
    p = np.array([normtest.mardia(gen.standard_normal((normtest.multivariate.mardia.MIN_N, 2))).pvalue
                  for _ in range(reps)])
    for a in (0.05, 0.10):
        assert abs(np.mean(p <= a) - a) < 0.15 * a + 2.5 * np.sqrt(a * (1 - a) / reps)


def test_small_nan_and_degenerate(rng):
    with pytest.warns(normtest.SmallSampleWarning, match="n >= 50"):
        assert np.isnan(normtest.mardia(rng.normal(size=(30, 2))).pvalue)
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
