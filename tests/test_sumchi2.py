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


# ---------------------------------------------------------------------------
# Far tails: the saddlepoint contour (relative accuracy down to the smallest doubles)
# ---------------------------------------------------------------------------

def smirnov_sf(x, gammas, det, terms, dps=30):
    """High-precision P(sum lambda_k Z_k^2 > x) by Smirnov's (1937) real-line formula (mpmath).

    ``(1/pi) sum_k (-1)^(k+1) int_{g_{2k-1}}^{g_{2k}} exp(-x u/2) / (u sqrt|D(u)|) du`` with
    ``g_j = 1/lambda_j`` (distinct, increasing) and ``D(u) = prod (1 - lambda_j u)``.
    """
    mp = pytest.importorskip("mpmath")
    with mp.workdps(dps):
        x = mp.mpf(x)
        total = mp.mpf(0)
        for k in range(1, terms + 1):
            a, b = gammas(2 * k - 1), gammas(2 * k)
            cuts = [a + c / x for c in (0.1, 1, 4, 16, 64) if a + c / x < b]
            total += (-1) ** (k + 1) * mp.quad(lambda u: mp.exp(-x * u / 2) / (u * mp.sqrt(abs(det(u)))),
                                               [a, *cuts, b])
        return float(total / mp.pi)


@pytest.mark.parametrize("x", [30.0, 300.0, 1400.0])
def test_far_tail_closed_forms(x):
    # chi2_1, chi2_2 (exp(-x/2)) and chi2_5 scaled: relative error ~1e-13 even at 1e-300
    for lam, ref in (([1.0], stats.chi2.sf(x, 1)), ([1.0, 1.0], np.exp(-x / 2)),
                     ([2.0] * 5, stats.chi2.sf(x / 2, 5))):
        assert sum_chi2_sf(x, lam) == pytest.approx(ref, rel=1e-10)


@pytest.mark.parametrize("x", [3.0, 30.0, 300.0])
def test_far_tail_distinct_weights_against_mpmath(x):
    mp = pytest.importorskip("mpmath")
    lam = [1.0, 0.6, 0.3, 0.1]

    def det(u):
        return mp.fprod([1 - mp.mpf(v) * u for v in lam])

    def gammas(k):
        return 1 / mp.mpf(lam[k - 1]) if k <= len(lam) else mp.inf

    assert sum_chi2_sf(x, lam) == pytest.approx(smirnov_sf(x, gammas, det, terms=2), rel=1e-8)


def test_far_tail_contour_continues_imhof():
    # at the switch (Chernoff bound 1e-5) both inversions agree; the tail stays monotone
    from normtest._sumchi2 import _check_lambdas, _contour_sf_one, _imhof_integrate, _saddlepoint

    lam = _check_lambdas(1.0 / (np.arange(1, 101) ** 2 * np.pi ** 2))
    for x in (1.5, 2.0):
        s = _saddlepoint(lam, x)
        p = sum_chi2_sf(x, lam)
        assert _contour_sf_one(lam, x, s) == pytest.approx(p, rel=1e-9)
    xs = np.linspace(1.0, 60.0, 40)
    assert np.all(np.diff(sum_chi2_sf(xs, lam)) < 0)


def test_underflow_reports_the_floor_never_zero():
    from normtest._result import PVALUE_FLOOR

    assert sum_chi2_sf(5000.0, [1.0]) == PVALUE_FLOOR
    assert SumChi2Null([0.5, 0.2]).sf(1e6) == PVALUE_FLOOR
