"""Imhof's inversion for weighted sums of chi-square(1) variables, on laws with known answers."""

import numpy as np
import pytest
from scipy import stats

from normtest._sumchi2 import SumChi2Null, sum_chi2_sf
from normtest.null import NullDistribution


def test_single_weight_is_scaled_chi2_1():
    x = np.array([0.01, 0.3, 1.0, 3.841458820694124, 10.0, 25.0])
    np.testing.assert_allclose(sum_chi2_sf(x, [1.0]), stats.chi2.sf(x, 1), rtol=0, atol=1e-10)
    np.testing.assert_allclose(sum_chi2_sf(2.5 * x, [2.5]), stats.chi2.sf(x, 1), rtol=0, atol=1e-10)


@pytest.mark.parametrize("k", [2, 5, 30])
def test_equal_weights_are_scaled_chi2_k(k):
    lam = 0.3
    x = np.array([0.2, 1.0, 3.0, 8.0, 15.0]) * k * lam / 3
    np.testing.assert_allclose(sum_chi2_sf(x, [lam] * k), stats.chi2.sf(x / lam, k), rtol=0, atol=1e-10)


def test_tiny_tail_probabilities():
    # chi2_1 at x = 40 and chi2_4 at x = 55: p = 2.5e-10 and 3e-11
    assert sum_chi2_sf(40.0, [1.0]) == pytest.approx(stats.chi2.sf(40.0, 1), rel=1e-3)
    assert sum_chi2_sf(55.0, [1.0] * 4) == pytest.approx(stats.chi2.sf(55.0, 4), rel=1e-2, abs=1e-12)


def test_anderson_darling_and_cvm_limit_points():
    # docs/theory.md §5: exact simple-case upper 10/5/2.5/1% points of A^2 and W^2
    K = 400
    k = np.arange(1, K + 1)
    lam_ad = 1.0 / (k * (k + 1))
    p = sum_chi2_sf([1.9330, 2.4924, 3.0775, 3.8781], lam_ad, tail=1.0 / (K + 1))
    np.testing.assert_allclose(p, [0.10, 0.05, 0.025, 0.01], atol=5e-5)
    lam_cvm = 1.0 / (np.pi * k) ** 2
    p = sum_chi2_sf([0.34730, 0.46136, 0.58061, 0.74346], lam_cvm, tail=1 / 6 - lam_cvm.sum())
    np.testing.assert_allclose(p, [0.10, 0.05, 0.025, 0.01], atol=5e-5)
    # without the truncation shift a short list biases tail probabilities downward
    assert sum_chi2_sf(2.4924, lam_ad[:5]) < 0.049


def test_null_object_and_shapes():
    null = SumChi2Null([1.0, 1.0], name="chi2-2", params={"what": "test"})
    assert isinstance(null, NullDistribution)
    assert null.mean == pytest.approx(2.0) and null.var == pytest.approx(4.0)
    q = null.ppf([0.5, 0.95])
    np.testing.assert_allclose(q, stats.chi2.ppf([0.5, 0.95], 2), rtol=1e-9)
    np.testing.assert_allclose(null.cdf(q), [0.5, 0.95], atol=1e-10)
    assert null.critical_value(0.05) == pytest.approx(stats.chi2.isf(0.05, 2), rel=1e-9)
    assert null.describe()["kind"] == "chi2-2" and null.describe()["what"] == "test"
    out = sum_chi2_sf(np.ones((2, 3)), [1.0])
    assert out.shape == (2, 3)
    assert np.isnan(sum_chi2_sf(np.nan, [1.0]))
    assert sum_chi2_sf(-1.0, [1.0]) == 1.0
    assert SumChi2Null([1.0], tail=0.5).sf(0.4) == 1.0


def test_bad_lambdas():
    with pytest.raises(ValueError, match="lambdas"):
        sum_chi2_sf(1.0, [])
    with pytest.raises(ValueError, match="lambdas"):
        sum_chi2_sf(1.0, [1.0, -0.1])
    with pytest.raises(ValueError, match="lambdas"):
        SumChi2Null([0.0, 0.0])
