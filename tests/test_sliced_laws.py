"""The structured (Mehler, degree-basis) null law of the sliced statistic and ``method="none"``.

References: tests/naive_sliced.py (dense covariance blocks written with exponentials)
and the seeded Monte-Carlo simulator of the package.
"""

import warnings

import numpy as np
import pytest

import normtest
from normtest.ecf import sliced_laws as sn
from normtest.ecf._sliced_dispatch import LAW_ERROR
from normtest.ecf.rules import auto_rule, lejepa_rule, paper_rule
from normtest.ecf.sliced_laws import _null_rule, _simulate_sliced

import naive_sliced as naive


def unit(A):
    return A / np.linalg.norm(A, axis=0)


RULES = {"lejepa": lejepa_rule(), "paper": paper_rule(), "auto": _null_rule(auto_rule(5.0), 1.0),
         "custom": normtest.ecf.rules.custom_rule(np.linspace(0.2, 2.6, 7), np.full(7, 0.3))}


@pytest.mark.parametrize("name", list(RULES))
@pytest.mark.parametrize("composite", [False, True])
def test_exact_spectrum_matches_dense_reference(name, composite):
    """All components kept: the degree-basis spectrum equals the dense M K eigen-solve."""
    A = unit(np.random.default_rng(4).standard_normal((3, 7)))
    A[:, 6] = A[:, 0]  # a repeated direction: |rho| = 1 off the diagonal
    rule = RULES[name]
    lam, rem_mean, rem_sq, _ = sn.limit_eigenvalues(A, rule, composite, components=10**6)
    ref = naive.sliced_limit_spectrum(A, rule.nodes, rule.weights, composite)
    k = 25
    np.testing.assert_allclose(lam[:k], ref[:k], rtol=1e-9, atol=1e-14 * ref[0])
    np.testing.assert_allclose(lam.sum() + rem_mean, ref.sum(), rtol=1e-10)
    assert rem_mean < 1e-12 * ref.sum() and rem_sq < 1e-10 * np.sum(ref**2)
    mom = sn.limit_moments(A, rule, composite)
    np.testing.assert_allclose([mom["mean"], mom["var"]], [ref.sum(), 2 * np.sum(ref**2)], rtol=1e-10)


@pytest.mark.parametrize("composite", [False, True])
@pytest.mark.parametrize("P", [1, 2])
def test_compressed_law_error_within_stated_bound(composite, P):
    """P kept components: tail probabilities at the exact law's 10/5/1% points within LAW_ERROR[P]."""
    A = unit(np.random.default_rng(5).standard_normal((10, 24)))
    rule = lejepa_rule()
    exact, _ = sn.limit_null(A, rule, composite, components=10**6)
    approx, _ = sn.limit_null(A, rule, composite, components=P)
    assert approx.params == {"law": "mehler", "components": P}
    alphas = np.array([0.1, 0.05, 0.01])
    err = np.abs(np.asarray(approx.sf(exact.isf(alphas))) - alphas)
    assert err.max() < LAW_ERROR[P], err
    np.testing.assert_allclose([approx.mean, approx.var], [exact.mean, exact.var], rtol=1e-9)


def test_moments_against_pairwise_reference():
    """Power-sum moments against the pairwise feature covariances (closed-form cosh/sinh)."""
    A = unit(np.random.default_rng(6).standard_normal((4, 9)))
    rule = RULES["auto"]
    t, w = rule.nodes, rule.weights
    SC, SS = sn.feature_cov(A.T @ A, t, t)
    ww = w[:, None] * w[None, :]
    eh2 = np.sum(ww * (SC**2 + SS**2)) / 81
    wphi = w * np.exp(-t * t / 2)
    var_diag = 4 * np.einsum("k,abkl,l->", wphi, SC, wphi) / 81
    n = 30
    mom = sn.exact_moments(A, rule, n)
    np.testing.assert_allclose(mom["limit_var"], 2 * eh2, rtol=1e-11)
    np.testing.assert_allclose(mom["var"], 2 * (1 - 1 / n) * eh2 + var_diag / n, rtol=1e-11)


@pytest.mark.parametrize("standardize", [False, True])
def test_calibration_one_compressed_component(standardize):
    """Uniform p under H0 with one component (the path of M >= 256): 2000 seeded statistics, 1/5/10%."""
    g = np.random.default_rng(30 + standardize)
    A = unit(g.standard_normal((8, 32)))
    rule = lejepa_rule()
    null, _ = sn.limit_null(A, rule, standardize, components=1)
    assert null.params["components"] == 1
    sims = _simulate_sliced(100, A, lambda P: rule, lambda s: s.mean(axis=-1), standardize, None)(
        2000, np.random.default_rng(31 + standardize))
    target = np.array([0.01, 0.05, 0.10])
    rates = (sims[:, None] >= null.isf(target)).mean(axis=0)
    se = np.sqrt(target * (1 - target) / sims.size)
    assert np.all(np.abs(rates - target) < 3.5 * se), rates


def test_result_names_the_law():
    X = np.random.default_rng(7).standard_normal((300, 8))
    res = normtest.sliced_epps_pulley(X, n_slices=32, rng=1)
    d = res.null.describe()
    assert res.method == "asymptotic" and d["law"] == "mehler" and d["components"] == 8
    assert d["law_error"] == LAW_ERROR[2]
    big = normtest.sliced_epps_pulley(X, n_slices=300, rng=1, standardize=True)
    assert big.null.describe()["components"] == 1 and big.null.describe()["law_error"] == LAW_ERROR[1]


# ---------------------------------------------------------------------------
# method="none": the statistic alone, for every ECF test
# ---------------------------------------------------------------------------

def _check_none(res, ref):
    assert res.method == "none" and res.null is None
    assert np.all(np.isnan(res.pvalue)) and np.shape(res.pvalue) == np.shape(ref.statistic)
    np.testing.assert_array_equal(res.statistic, ref.statistic)


def test_method_none_epps_pulley():
    x = np.random.default_rng(8).standard_normal((120, 3))
    _check_none(normtest.epps_pulley(x, method="none"), normtest.epps_pulley(x))


@pytest.mark.parametrize("reduction", ["mean", "max", "none"])
def test_method_none_sliced(reduction):
    X = np.random.default_rng(9).standard_normal((200, 5))
    kw = dict(n_slices=12, rng=2, reduction=reduction)
    res = normtest.sliced_epps_pulley(X, method="none", **kw)
    ref = normtest.sliced_epps_pulley(X, **kw)
    _check_none(res, ref)
    np.testing.assert_array_equal(res.slice_statistics, ref.slice_statistics)
    assert res.slice_statistics.shape == (12,)
    alld = normtest.sliced_epps_pulley(X[:60], directions="all", method="none")
    assert alld.method == "none" and np.isnan(alld.pvalue)
    assert alld.statistic == normtest.sliced_epps_pulley(X[:60], directions="all").statistic


@pytest.mark.parametrize("test", ["bhep", "henze_zirkler"])
def test_method_none_bhep(test):
    X = np.random.default_rng(10).standard_normal((80, 3))
    f = getattr(normtest, test)
    _check_none(f(X, method="none"), f(X))


def test_method_none_rejected_elsewhere():
    with pytest.raises(ValueError, match="method"):
        normtest.sliced_epps_pulley(np.zeros((10, 2)) + np.arange(10)[:, None], method="nothing")


@pytest.mark.parametrize("standardize, D, M", [(False, 2, 8), (True, 2, 16)])
def test_small_sample_calibration_at_the_minimum(standardize, D, M):
    """At the smallest n with a default p-value (``min_sample_size``) the 5% and 10% tests reject
    within 15% of the level (the rule of every normtest test), from 10000 (simple) or 20000 seeded H0 statistics
    of the public function's rule (the simulator matches it: test_simulator_matches_public_statistic)."""
    from normtest.ecf.sliced import min_sample_size

    n = min_sample_size(D, standardize)
    A = unit(np.random.default_rng(41).standard_normal((D, M)))
    sim = _simulate_sliced(n, A, lambda P: auto_rule(float(np.abs(P).max()), 1.0),
                           lambda s: s.mean(axis=-1), standardize, None)
    sims = sim(20000 if standardize else 10000, np.random.default_rng(42 + n))
    null, _ = sn.limit_null(A, _null_rule(auto_rule(1.0), 1.0), standardize)
    rates = (sims[:, None] >= null.isf(np.array([0.05, 0.10]))).mean(axis=0)
    assert np.all(np.abs(rates / np.array([0.05, 0.10]) - 1.0) <= 0.15), rates


def test_below_the_calibrated_minimum_monte_carlo_where_cheap_else_nan_with_warning():
    """Composite null below min_sample_size, default method: an exact 999-resample Monte-Carlo p-value
    from the call's rng where it is cheap (the same seed, the same p), else the statistic, a NaN p-value
    and a warning naming Monte Carlo and its cost; a method asked for by name is kept."""
    from normtest.ecf._sliced_dispatch import monte_carlo_seconds
    from normtest.ecf.sliced import min_sample_size

    assert min_sample_size(3, True) == 68 and min_sample_size(60, True) == 420
    assert min_sample_size(3, False) == 3 and min_sample_size(3, True, normtest.MonteCarlo()) == 5
    X = np.random.default_rng(3).standard_normal((40, 3))
    ref = normtest.sliced_epps_pulley(X, n_slices=8, rng=0, standardize=True, method="none")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: the p-value is exact
        r = normtest.sliced_epps_pulley(X, n_slices=8, rng=0, standardize=True)
    assert r.method == "monte-carlo" and r.statistic == ref.statistic and "999 resamples" in r.settings["method_reason"]
    assert r.null.n_resamples == 999 and r.settings["n_resamples"] == 999 and r.pvalue * 1000 % 1 < 1e-9
    mine = normtest.sliced_epps_pulley(X, n_slices=8, rng=0, standardize=True,  # the call's generator, B = 999
                                       method=normtest.MonteCarlo(999, rng=None))
    assert r.pvalue == mine.pvalue == normtest.sliced_epps_pulley(X, n_slices=8, rng=0, standardize=True).pvalue
    assert normtest.sliced_epps_pulley(X, n_slices=8, rng=1, standardize=True).method == "monte-carlo"
    assert monte_carlo_seconds(40, 3, 2048, 27, True) > 0.5  # expensive: NaN + warning
    with pytest.warns(normtest.SmallSampleWarning, match=r"MonteCarlo\(\) \(about [0-9.]+ s"):
        big = normtest.sliced_epps_pulley(X, n_slices=2048, rng=0, standardize=True)
    assert np.isfinite(big.statistic) and np.isnan(big.pvalue) and big.method == "none"
    assert "method=MonteCarlo()" in big.settings["method_reason"]
    asy = normtest.sliced_epps_pulley(X, n_slices=8, rng=0, standardize=True, method="asymptotic")
    assert 0.0 < asy.pvalue <= 1.0 and asy.method == "asymptotic"  # asked for by name: the limit law
    r2 = normtest.sliced_epps_pulley(X[:2], n_slices=8, rng=0)  # simple null, n = 2: Monte Carlo too
    assert np.isfinite(r2.statistic) and r2.method == "monte-carlo" and 0 < r2.pvalue <= 1
    with pytest.warns(normtest.SmallSampleWarning, match="n >= 2"):
        r1 = normtest.sliced_epps_pulley(X[:1], n_slices=8, rng=0)
    assert np.isnan(r1.statistic) and np.isnan(r1.pvalue)


@pytest.mark.parametrize("standardize, n, D", [(True, 30, 3), (False, 2, 3)])
def test_small_sample_default_monte_carlo_calibrated(standardize, n, D):
    """Seeded calibration of the default below the minimum n: with one seed (so one cached 999-resample
    null) the default p-values of 400 fresh H0 samples reject at 1/5/10% within the MC error."""
    g = np.random.default_rng(5 + n)
    ps = np.array([normtest.sliced_epps_pulley(g.standard_normal((n, D)), n_slices=16, rng=7,
                                               standardize=standardize).pvalue for _ in range(400)])
    target = np.array([0.01, 0.05, 0.10])
    rates = (ps[:, None] <= target).mean(axis=0)
    assert np.all(np.abs(rates - target) < 3.5 * np.sqrt(target * (1 - target) / 400) + 0.01), rates


def test_streaming_small_sample_default_is_the_same_monte_carlo():
    """The streaming engine takes the same small-sample default: the same p-value as in memory."""
    from normtest.streaming import SlicedEppsPulley

    X = np.random.default_rng(8).standard_normal((40, 3))
    acc = SlicedEppsPulley(n_slices=8, rng=0, standardize=True)
    for p in range(acc.passes):
        if p:
            acc.next_pass()
        acc.update(X[:25])
        acc.update(X[25:])
    res = acc.result()
    ref = normtest.sliced_epps_pulley(X, n_slices=8, rng=0, standardize=True)
    assert res.method == ref.method == "monte-carlo" and res.pvalue == ref.pvalue
