"""normtest.epps_pulley: statistic against references, conventions, nulls and calibration."""

import os
import sys
import warnings

import numpy as np
import pytest
from scipy import special

from normtest import DegenerateDataWarning, MonteCarlo, SmallSampleWarning, epps_pulley
from normtest.ecf.laws import (asymptotic_null, exact_eigenvalues, simple_moments as exact_moments, rule_eigenvalues,
                               rule_moments, table_null)
from normtest.ecf._kernels import ep_closed_form
from normtest.ecf.rules import lejepa_rule
from normtest.ecf.inference import null_statistic as _mc_statistic

sys.path.insert(0, os.path.dirname(__file__))
from naive_ecf import naive_ep_statistic, naive_rule_statistic, standardize  # noqa: E402

LEVELS = np.array([0.10, 0.05, 0.01])


# --------------------------------------------------------------------------- statistic

@pytest.mark.parametrize("beta", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("std", [True, False])
def test_statistic_matches_closed_form(rng, beta, std):
    x = rng.normal(1.0, 2.0, size=120) if std else rng.standard_normal(120)
    ref = naive_ep_statistic(standardize(x) if std else x, beta)
    for quad in ("auto", "exact"):
        res = epps_pulley(x, standardize=std, beta=beta, quadrature=quad, method="asymptotic")
        assert res.statistic == pytest.approx(ref, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("law", ["t3", "normal-sd2", "cauchy"])
def test_auto_is_exact_on_heavy_tails(law):
    rng = np.random.default_rng(3)
    x = {"t3": lambda: rng.standard_t(3, 4000), "normal-sd2": lambda: 2 * rng.standard_normal(4000),
         "cauchy": lambda: rng.standard_cauchy(4000)}[law]()
    for std in (True, False):
        ref = epps_pulley(x, standardize=std, quadrature="exact", method="asymptotic").statistic  # O(n^2)
        res = epps_pulley(x, standardize=std, method="asymptotic")
        assert res.statistic == pytest.approx(ref, rel=1e-9)
        assert res.quadrature["rule"] == "auto" and res.quadrature["period"] > 0


def test_exact_large_n_uses_ecf_route(rng):
    x = rng.standard_t(3, size=2000)
    res = epps_pulley(x, quadrature="exact", method="asymptotic")
    assert res.quadrature["algorithm"].startswith("closed-form")
    big = rng.standard_t(3, size=6000)
    res = epps_pulley(big, quadrature="exact", method="asymptotic")
    assert res.quadrature["algorithm"].startswith("ECF")
    assert res.statistic == pytest.approx(ep_closed_form(standardize(big))[0], rel=1e-9)


def test_lejepa_presets_reproduce_lejepa_formula(rng):
    # LeJEPA official rule, written out from its definition (docs/theory.md §3), on raw data, times N
    x = rng.standard_normal(512)
    t = np.linspace(0, 3, 17)
    h = t[1] - t[0]
    w = np.full(17, 2 * h)
    w[0] = w[-1] = h
    err = (np.cos(np.outer(x, t)).mean(0) - np.exp(-t**2 / 2)) ** 2 + np.sin(np.outer(x, t)).mean(0) ** 2
    ref = x.size * np.sum(w * np.exp(-t**2 / 2) * err)
    res = epps_pulley(x, standardize=False, quadrature="lejepa")
    assert res.statistic == pytest.approx(ref, rel=1e-12)
    assert res.quadrature["rule"] == "lejepa" and round(res.quadrature["period"], 2) == 33.51
    assert res.method == "asymptotic"
    # paper rule: plain trapezoid on linspace(-5, 5, 17)
    tt = np.linspace(-5, 5, 17)
    ww = np.full(17, tt[1] - tt[0])
    ww[0] = ww[-1] = (tt[1] - tt[0]) / 2
    ref = naive_rule_statistic(x, tt, ww * np.exp(-tt**2 / 2))
    res = epps_pulley(x, standardize=False, quadrature="paper")
    assert res.statistic == pytest.approx(ref, rel=1e-12)
    assert round(res.quadrature["period"], 2) == 10.05
    # LeJEPA scale: the paper rule approximates sqrt(2 pi) T_{n,1} on normal-scale data
    y = np.clip(rng.standard_normal(300), -2.2, 2.2)
    paper = epps_pulley(y, standardize=False, quadrature="paper").statistic
    assert paper == pytest.approx(np.sqrt(2 * np.pi) * naive_ep_statistic(y), rel=1e-3)
    # custom (nodes, weights) equal to the preset give the same statistic
    r = lejepa_rule()
    res = epps_pulley(x, standardize=False, quadrature=(r.nodes, r.weights))
    assert res.statistic == pytest.approx(epps_pulley(x, standardize=False, quadrature="lejepa").statistic)


def test_vectorised_axis_nan_policy_keepdims(rng):
    X = rng.normal(size=(60, 4))
    res = epps_pulley(X, method="asymptotic")
    loop = [epps_pulley(X[:, j], method="asymptotic") for j in range(4)]
    np.testing.assert_allclose(res.statistic, [r.statistic for r in loop], rtol=1e-12)
    np.testing.assert_allclose(res.pvalue, [r.pvalue for r in loop], rtol=1e-12)
    res1 = epps_pulley(X.T, axis=1, keepdims=True)
    assert res1.statistic.shape == (4, 1)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    before = Xn.copy()
    prop = epps_pulley(Xn)
    assert np.isnan(prop.statistic[1]) and np.isfinite(prop.statistic[0])
    omit = epps_pulley(Xn, nan_policy="omit")
    assert omit.n[1] == 59
    assert omit.statistic[1] == pytest.approx(epps_pulley(np.delete(X[:, 1], 3)).statistic, rel=1e-12)
    np.testing.assert_array_equal(Xn, before)  # caller input untouched
    with pytest.raises(ValueError, match="NaN"):
        epps_pulley(Xn, nan_policy="raise")


def test_small_and_degenerate_samples():
    with pytest.warns(SmallSampleWarning):
        assert np.isnan(epps_pulley([1.0, 2.0]).statistic)
    with pytest.warns(DegenerateDataWarning):
        res = epps_pulley(np.full(20, 3.0))
    assert np.isnan(res.statistic) and np.isnan(res.pvalue)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isfinite(epps_pulley(np.arange(5.0), standardize=False).statistic)


def test_bad_input():
    x = np.arange(20.0)
    with pytest.raises(TypeError, match="standardize"):
        epps_pulley(x, standardize="yes")
    with pytest.raises(ValueError, match="beta"):
        epps_pulley(x, beta=0.0)
    with pytest.raises(TypeError, match="beta"):
        epps_pulley(x, beta="1")
    with pytest.raises(ValueError, match="quadrature"):
        epps_pulley(x, quadrature="simpson")
    with pytest.raises(TypeError, match="quadrature"):
        epps_pulley(x, quadrature=5)
    with pytest.raises(ValueError, match="non-negative"):
        epps_pulley(x, quadrature=([1.0, 2.0], [1.0, -1.0]))
    with pytest.raises(ValueError, match="method"):
        epps_pulley(x, method="bootstrap")
    with pytest.raises(ValueError, match="table"):
        epps_pulley(x, beta=2.0, method="table")
    with pytest.raises(TypeError, match="x"):
        epps_pulley(["a", "b", "c"])
    with pytest.raises(ValueError, match="nan_policy"):
        epps_pulley(x, nan_policy="drop")


def test_result_record(rng):
    res = epps_pulley(rng.standard_normal(50))
    stat, p = res
    assert 0 <= p <= 1 and res.n == 50 and res.standardize is True
    d = res.to_dict()
    assert d["settings"]["beta"] == 1.0 and d["null"]["kind"] == "table"
    assert d["quadrature"]["rule"] == "auto" and "period" in d["quadrature"]
    res.to_json()


# --------------------------------------------------------------------------- null laws

def test_limit_eigenvalues_and_points():
    # docs/theory.md §4.1 lists and §4.3 points (beta = 1)
    simple, tail = exact_eigenvalues(1.0, False)
    np.testing.assert_allclose(simple[:8], [.236068, .127399, .034442, .016259, .005025, .002231,
                                            .000733, .000315], atol=1e-6)
    assert simple.sum() + tail == pytest.approx(1 - 3**-0.5, rel=1e-12)
    assert 2 * np.sum(simple**2) == pytest.approx(0.146880, abs=1e-6)
    comp, tail = exact_eigenvalues(1.0, True)
    np.testing.assert_allclose(comp[:8], [.074275, .044810, .008419, .004587, .001080, .000552,
                                          .000146, .000071], atol=1e-6)
    assert comp.sum() + tail == pytest.approx(1 - np.sqrt(3) / 2, rel=1e-10)
    assert 2 * np.sum(comp**2) == pytest.approx(0.015236, abs=1e-6)
    # closed-form odd eigenvalues of the simple operator (beta = 1): sqrt(5) - 2, ...
    assert simple[0] == pytest.approx(np.sqrt(5) - 2, rel=1e-9)
    np.testing.assert_allclose(asymptotic_null(1.0, True).isf([0.10, 0.01]), [.29138, .58575], atol=2e-5)
    np.testing.assert_allclose(asymptotic_null(1.0, False).isf([0.05]), [1.17830], atol=2e-5)


@pytest.mark.parametrize("beta", [0.7, 2.0])
def test_composite_trace_matches_henze_wagner(beta):
    lam, tail = exact_eigenvalues(beta, True)
    a, w = 1 + 2 * beta**2, (1 + beta**2) * (1 + 3 * beta**2)
    mu = 1 - a**-0.5 * (1 + beta**2 / a + 3 * beta**4 / (2 * a**2))
    s2 = (2 * (1 + 4 * beta**2) ** -0.5 + 2 / a * (1 + 2 * beta**4 / a**2 + 9 * beta**8 / (4 * a**4))
          - 4 * w**-0.5 * (1 + 3 * beta**4 / (2 * w) + 3 * beta**8 / (2 * w**2)))
    assert lam.sum() + tail == pytest.approx(mu, rel=1e-9)
    assert 2 * np.sum(lam**2) == pytest.approx(s2, rel=1e-7)


def test_rule_moments_match_eigenvalues():
    r = lejepa_rule()
    lam = rule_eigenvalues(r.nodes, r.weights, False)
    mean, var = rule_moments(r, 10**12)
    assert lam.sum() == pytest.approx(mean, rel=1e-10) == r.null_mean()
    assert 2 * np.sum(lam**2) == pytest.approx(var, rel=1e-9)


@pytest.mark.parametrize("kind", ["exact", "lejepa"])
def test_finite_n_moments_against_simulation(kind):
    n, B = 12, 40000
    gen = np.random.default_rng(99)
    rule = lejepa_rule() if kind == "lejepa" else None
    T = _mc_statistic(gen.standard_normal((B, n)), False, 1.0, "auto" if rule is None else "rule", rule)
    mean, var = exact_moments(n) if rule is None else rule_moments(rule, n)
    assert abs(T.mean() - mean) < 4 * np.sqrt(var / B)
    assert T.var() == pytest.approx(var, rel=0.08)


# --------------------------------------------------------------------------- calibration

def _check_calibration(stats, sf, tol):
    """Fraction of null statistics whose p-value is <= alpha, against alpha."""
    p = np.asarray(sf(stats))
    B = stats.size
    for alpha in LEVELS:
        frac = np.mean(p <= alpha)
        se = np.sqrt(alpha * (1 - alpha) / B)
        assert abs(frac - alpha) <= tol + 2.5 * se, (alpha, frac)


@pytest.mark.parametrize("n", [10, 37, 400])
@pytest.mark.parametrize("std", [True, False])
def test_default_table_pvalues_are_calibrated(n, std):
    # fresh seeded simulation, independent of the table's seed; target |p - true p| <= 0.003
    B = 100_000 if n < 100 else 40_000
    gen = np.random.default_rng(1000 + n + std)
    stats = _mc_statistic(gen.standard_normal((B, n)), std, 1.0, "auto", None)
    null = table_null(n, std)
    assert null is not None
    crit = null.isf(LEVELS)
    for alpha, c in zip(LEVELS, crit):
        frac = np.mean(stats >= c)
        assert abs(frac - alpha) <= 0.003 + 2.5 * np.sqrt(alpha * (1 - alpha) / B), (alpha, frac)
    # and the public function reports this null
    res = epps_pulley(gen.standard_normal(n), standardize=std)
    assert res.method == "table" and res.null is null


def test_table_towards_limit():
    # beyond the table (n > 1000) interpolation in 1/n approaches the limit law
    for std in (True, False):
        big = table_null(10**7, std)
        np.testing.assert_allclose(asymptotic_null(1.0, std).sf(big.isf(LEVELS)), LEVELS, rtol=0.02)
        assert big.sf(50.0) < 1e-10 and big.sf(0.0) == 1.0


def test_henze_sb_approximation_agrees_roughly():
    # Henze (1990) Johnson S_B approximation (docs/theory.md §4.2) is good to ~0.01 in p
    n = 50
    null = table_null(n, True)
    for alpha in (0.10, 0.05):
        t = float(null.isf(alpha))
        ts = (t - 0.365 / n + 1.34 / n**2) * (1 + 1.3 / n)
        xi, lam = -0.020682, 2.26664
        p_sb = 1 - special.ndtr(3.55295 + 1.23062 * np.log((ts - xi) / (xi + lam - ts)))
        assert abs(p_sb - alpha) < 0.012


@pytest.mark.parametrize("setting", ["lejepa-simple", "paper-composite", "beta2-composite"])
def test_asymptotic_pvalues_at_moderate_n(setting):
    n, B = 300, 6000
    gen = np.random.default_rng({"lejepa-simple": 1, "paper-composite": 2, "beta2-composite": 3}[setting])
    quad, std, beta = {"lejepa-simple": ("lejepa", False, 1.0), "paper-composite": ("paper", True, 1.0),
                       "beta2-composite": ("auto", True, 2.0)}[setting]
    X = gen.standard_normal((n, B))
    res = epps_pulley(X[:, :3], standardize=std, quadrature=quad, beta=beta)
    assert res.method == "asymptotic"
    from normtest.ecf.inference import check_args as _epps_pulley_iv

    _, _, kind, rule, _ = _epps_pulley_iv(std, beta, quad, None)
    stats = _mc_statistic(X.T.copy(), std, beta, "auto" if kind != "rule" else "rule", rule)
    crit = res.null.isf(LEVELS)
    for alpha, c in zip(LEVELS, crit):
        frac = np.mean(stats >= c)
        assert abs(frac - alpha) <= 0.01 + 2.5 * np.sqrt(alpha * (1 - alpha) / B), (alpha, frac)


def test_monte_carlo_method(rng):
    x = rng.standard_t(5, size=40)
    mc = epps_pulley(x, method=MonteCarlo(1999, rng=17))
    again = epps_pulley(x, method=MonteCarlo(1999, rng=17))
    assert mc.pvalue == again.pvalue and mc.method == "monte-carlo"
    assert mc.pvalue_se is not None and mc.seed == 17 and mc.settings["n_resamples"] == 1999
    assert abs(mc.pvalue - epps_pulley(x).pvalue) < 4 * mc.pvalue_se + 0.003
    gen = np.random.default_rng(5)
    mc_gen = epps_pulley(x, method=MonteCarlo(499, rng=gen), quadrature="lejepa", standardize=False)
    assert mc_gen.null.describe()["statistic"] == "lejepa"
    # exact uniformity of Monte-Carlo p-values: 400 null samples against one simulated null
    X = np.random.default_rng(8).standard_normal((30, 400))
    p = epps_pulley(X, method=MonteCarlo(999, rng=4)).pvalue
    for alpha in (0.1, 0.05):
        assert abs(np.mean(p <= alpha) - alpha) <= 3 * np.sqrt(alpha * (1 - alpha) / 400) + 0.01


def test_pvalues_in_unit_interval(rng):
    for x in (rng.exponential(size=30), rng.standard_normal(3), np.r_[rng.standard_normal(50), 1e3]):
        for quad in ("auto", "paper"):
            for std in (True, False):
                # the limit law forced: by default "paper" at n = 3 is NaN (small-n rule, tested below)
                method = "asymptotic" if quad == "paper" else None
                p = epps_pulley(x, quadrature=quad, standardize=std, method=method).pvalue
                assert 0.0 <= p <= 1.0


@pytest.mark.parametrize("std, beta, quad", [(True, 0.5, "auto"), (True, 1.0, "lejepa"), (False, 2.0, "auto")])
def test_limit_law_default_calibrated_from_its_minimum_n(std, beta, quad):
    """The small-n rule off the tables: at limit_min_n the default 5% and 10% tests reject within 15% of
    their level plus 2.5 binomial sd (2e4 seeded null statistics against the result's own law); one n
    below, NaN with a SmallSampleWarning, unless the limit law is asked for."""
    from normtest.ecf.inference import check_args, null_statistic
    from normtest.ecf.laws import limit_min_n

    standardize, beta, kind, rule, _ = check_args(std, beta, quad, None)
    n = limit_min_n(beta, std, rule)
    g = np.random.default_rng(n)
    res = epps_pulley(g.standard_normal(n), standardize=std, beta=beta, quadrature=quad)
    assert res.method == "asymptotic" and 0 < res.pvalue <= 1
    reps = 20000
    T = null_statistic(g.standard_normal((reps, n)), standardize, beta, kind, rule)
    for a in (0.05, 0.10):
        rate = np.mean(T >= float(res.null.isf(a)))
        assert abs(rate - a) <= 0.15 * a + 2.5 * np.sqrt(a * (1 - a) / reps), (n, a, rate)
    if n > 3:
        with pytest.warns(SmallSampleWarning, match=f"from n = {n} on"):
            assert np.isnan(epps_pulley(g.standard_normal(n - 1), standardize=std, beta=beta,
                                        quadrature=quad).pvalue)
        forced = epps_pulley(g.standard_normal(n - 1), standardize=std, beta=beta, quadrature=quad,
                             method="asymptotic")
        assert forced.method == "asymptotic" and 0 < forced.pvalue <= 1


def test_limit_law_never_calibrated_gives_nan():
    with pytest.warns(SmallSampleWarning, match="at no n measured"):
        assert np.isnan(epps_pulley(np.random.default_rng(0).standard_normal(300), standardize=False,
                                    beta=10.0).pvalue)
