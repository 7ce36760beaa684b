"""Tests of normtest.bhep and normtest.henze_zirkler."""

import numpy as np
import pytest

import normtest
from normtest import DegenerateDataWarning, MonteCarlo, SmallSampleWarning
from normtest.ecf.laws import composite_moments as _hz_moments, simple_moments as _simple_bhep_moments

import naive_sliced as naive


@pytest.mark.parametrize("d, beta, standardize", [(1, 1.0, True), (2, 0.5, True), (3, 1.0, False),
                                                  (5, 2.0, True), (4, 1.3, False)])
def test_bhep_against_naive(rng, d, beta, standardize):
    X = rng.standard_normal((90, d)) @ rng.standard_normal((d, d)) + 1.0
    if not standardize:
        X = rng.standard_normal((90, d)) * 1.1
    r = normtest.bhep(X, beta=beta, standardize=standardize, method="none")  # the statistic alone
    np.testing.assert_allclose(r.statistic, naive.bhep_naive(X, beta, standardize), rtol=1e-11)
    assert r.standardize is standardize and r.settings["beta"] == beta


def test_bhep_d1_is_epps_pulley_closed_form(rng):
    x = rng.standard_normal(70)
    Y = (x - x.mean()) / x.std()
    np.testing.assert_allclose(normtest.bhep(x[:, None]).statistic, naive.exact_T(Y), rtol=1e-11)


def test_affine_invariance(rng):
    X = rng.standard_normal((60, 3))
    L = rng.standard_normal((3, 3))
    a = normtest.henze_zirkler(X).statistic
    b = normtest.henze_zirkler(X @ L + 5.0).statistic
    np.testing.assert_allclose(a, b, rtol=1e-10)


def test_matches_pingouin_on_its_data():
    pg = pytest.importorskip("pingouin")
    data = pg.read_dataset("multivariate")  # shipped with pingouin, no network
    X = data[["Fever", "Pressure", "Aches"]]
    ref = pg.multivariate_normality(X, alpha=0.05)   # hz = 0.540, pval = 0.717 (pingouin docs)
    r = normtest.henze_zirkler(X)
    np.testing.assert_allclose(r.statistic, ref.hz, rtol=1e-10)
    np.testing.assert_allclose(r.pvalue, ref.pval, rtol=1e-9)
    assert r.method == "lognormal"


def test_matches_pingouin_generated(rng):
    pg = pytest.importorskip("pingouin")
    for n, d in [(40, 2), (150, 5)]:
        X = rng.standard_normal((n, d)) ** 3 @ rng.standard_normal((d, d))
        ref = pg.multivariate_normality(X)
        r = normtest.henze_zirkler(X)
        np.testing.assert_allclose(r.statistic, ref.hz, rtol=1e-9)
        np.testing.assert_allclose(r.pvalue, ref.pval, rtol=1e-8, atol=1e-15)


def test_hz_moments_math_md():
    # docs/theory.md §4.2, d = 1, beta = 1: mu = 1 - sqrt(3)/2, sigma^2 = 0.015236
    mu, s2 = _hz_moments(1, 1.0)
    np.testing.assert_allclose(mu, 1 - np.sqrt(3) / 2, rtol=1e-14)
    np.testing.assert_allclose(s2, 0.015236, atol=5e-7)
    # composite limit moments equal the trace / 2 x sum of squares of the composite operator
    from normtest.ecf import sliced_laws as sn
    from normtest.ecf.sliced_laws import _null_rule
    from normtest.ecf.rules import auto_rule

    for beta in (0.5, 2.0):
        m = sn.limit_moments(np.ones((1, 1)), _null_rule(auto_rule(1.0, beta), beta), composite=True)
        np.testing.assert_allclose([m["mean"], m["var"]], _hz_moments(1, beta), rtol=1e-9)


def test_simple_moments_against_simulation():
    n, d, beta = 25, 3, 1.0
    from normtest.multivariate._kernels import bhep_batch

    sims = bhep_batch(np.random.default_rng(3).standard_normal((4000, n, d)), beta * beta)
    mu, var = _simple_bhep_moments(n, d, beta)
    assert abs(sims.mean() - mu) < 4 * np.sqrt(var / sims.size)
    assert abs(sims.var() / var - 1) < 0.08


def test_monte_carlo_and_lognormal_agree(rng):
    X = rng.standard_normal((50, 3))
    X[:, 0] = np.abs(X[:, 0]) ** 1.2
    ln = normtest.henze_zirkler(X)
    mc = normtest.henze_zirkler(X, method=MonteCarlo(999, rng=1))
    assert mc.method == "monte-carlo" and mc.pvalue_se is not None
    assert abs(mc.pvalue - ln.pvalue) < 0.05
    again = normtest.henze_zirkler(X, method=MonteCarlo(999, rng=1))
    assert again.pvalue == mc.pvalue
    simple = normtest.bhep(X, standardize=False, method=MonteCarlo(499, rng=1))
    assert 0 < simple.pvalue <= 1


@pytest.mark.parametrize("standardize", [True, False])
def test_calibration(standardize):
    """Rejection rates under H0 (400 seeded samples, n = 60, d = 3) at 1/5/10%.

    Monte Carlo (one cached null, B = 499) is exact; the log-normal law is an
    approximation: within 3.5 binomial sd + 0.01 absolute at these levels.
    """
    g = np.random.default_rng(42)
    reps = 400
    Xs = [g.standard_normal((60, 3)) for _ in range(reps)]
    target = np.array([0.01, 0.05, 0.10])
    se = np.sqrt(target * (1 - target) / reps)
    for method in (None, MonteCarlo(499, rng=5)):
        p = np.array([normtest.bhep(X, standardize=standardize, method=method).pvalue for X in Xs])
        rates = np.array([(p <= a).mean() for a in target])
        assert np.all(np.abs(rates - target) < 3.5 * se + 0.01), (method, rates)


def test_power_on_non_normal(rng):
    X = rng.exponential(size=(100, 3))
    assert normtest.henze_zirkler(X).pvalue < 1e-3
    assert normtest.bhep(X).pvalue < 1e-3


def test_bad_input_and_nan(rng):
    X = rng.standard_normal((30, 3))
    with pytest.raises(ValueError, match="beta"):
        normtest.bhep(X, beta=-1.0)
    with pytest.raises(TypeError, match="standardize"):
        normtest.bhep(X, standardize="yes")
    with pytest.raises(ValueError, match="method"):
        normtest.henze_zirkler(X, method="asymptotic")
    with pytest.raises(ValueError, match="nan_policy"):
        normtest.henze_zirkler(X, nan_policy="skip")
    with pytest.raises(TypeError, match="X"):
        normtest.bhep(np.array([["a"]]))
    Xn = X.copy()
    Xn[2, 1] = np.nan
    assert np.isnan(normtest.henze_zirkler(Xn).statistic)
    with pytest.warns(SmallSampleWarning, match="from n = 30"):  # n = 29 < 10 d: no default p-value
        r = normtest.henze_zirkler(Xn, nan_policy="omit")
        assert r.n == 29 and r.statistic == normtest.henze_zirkler(np.delete(X, 2, axis=0)).statistic
    with pytest.raises(ValueError, match="NaN"):
        normtest.bhep(Xn, nan_policy="raise")
    with pytest.warns(SmallSampleWarning):
        assert np.isnan(normtest.bhep(X[:3]).pvalue)
    sing = np.column_stack([X, X[:, 0]])
    with pytest.warns(DegenerateDataWarning):
        assert np.isnan(normtest.henze_zirkler(sing).statistic)


def test_memory_is_linear():
    """The double sum never builds an n x n array: n = 20000 stays far below 3.2 GB."""
    import tracemalloc

    X = np.random.default_rng(0).standard_normal((20000, 2))
    normtest.bhep(X[:100])  # compile outside the trace
    tracemalloc.start()
    normtest.bhep(X)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * X.nbytes


@pytest.mark.parametrize("d", [2, 5])
def test_default_calibrated_at_its_smallest_n(d):
    """The small-n rule: at n = max(20, 10 d) (HZ) and max(50, 20 d) (BHEP) the default law's 5% and 10%
    tests reject within 15% of their level plus 2.5 binomial sd (2e4 seeded null statistics by the
    Monte-Carlo kernel against the default result's own law; the full measurement is
    `benchmarks/validation.py --small-n`); one n below, NaN with a warning."""
    from normtest._matrix import _null_batch
    from normtest.multivariate._kernels import bhep_batch
    from normtest.multivariate.bhep import lognormal_min_n

    reps = 20000
    g = np.random.default_rng(d)
    for test, hz in ((normtest.henze_zirkler, True), (normtest.bhep, False)):
        n = lognormal_min_n(d, True, hz)
        res = test(g.standard_normal((n, d)))
        assert res.method == "lognormal"
        T = bhep_batch(np.ascontiguousarray(_null_batch(g, reps, n, d, True)), res.settings["beta"] ** 2)
        for a in (0.05, 0.10):
            rate = np.mean(T >= res.null.ppf(1 - a))
            assert abs(rate - a) <= 0.15 * a + 2.5 * np.sqrt(a * (1 - a) / reps), (test, n, d, a, rate)
        with pytest.warns(SmallSampleWarning, match=f"from n = {n} on"):
            assert np.isnan(test(g.standard_normal((n - 1, d))).pvalue)
        forced = test(g.standard_normal((n - 1, d)), method="lognormal")
        assert forced.method == "lognormal" and 0 < forced.pvalue < 1


def test_d1_uses_the_epps_pulley_law(rng):
    x = rng.standard_normal(40)
    r, ep = normtest.bhep(x[:, None]), normtest.epps_pulley(x)
    np.testing.assert_allclose(r.statistic, ep.statistic, rtol=1e-10)
    assert r.method == "table" and r.pvalue == pytest.approx(ep.pvalue, rel=1e-12)
    hz = normtest.henze_zirkler(x[:, None])
    ep_hz = normtest.epps_pulley(x, beta=hz.settings["beta"])
    assert hz.method == "asymptotic" and hz.pvalue == pytest.approx(ep_hz.pvalue, rel=1e-9)


def test_simple_null_outside_the_calibrated_region_is_nan(rng):
    # beta = 2 in 5 dimensions: the log-normal law rejects ~1.36 x alpha at 5% at every n measured
    X = rng.standard_normal((300, 5))
    with pytest.warns(normtest.SmallSampleWarning, match="not calibrated at beta = 2"):
        res = normtest.bhep(X, beta=2.0, standardize=False)
    assert np.isnan(res.pvalue) and np.isfinite(res.statistic)
    forced = normtest.bhep(X, beta=2.0, standardize=False, method="lognormal")
    assert forced.statistic == res.statistic and 0.0 < forced.pvalue < 1.0
    inside = normtest.bhep(X[:, :2], beta=2.0, standardize=False)  # d = 2, beta = 2: calibrated
    assert 0.0 < inside.pvalue < 1.0
    from normtest.multivariate.bhep import simple_calibrated

    assert simple_calibrated(5, 1.0) and simple_calibrated(3, 1.5) and not simple_calibrated(3, 2.0)
    assert not simple_calibrated(10, 1.0)
