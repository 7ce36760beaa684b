"""Tests of normtest.cramervonmises / normtest.anderson and their null laws."""

import importlib.util
import pathlib

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import special, stats

import normtest
from normtest.edf import laws as dist

_spec = importlib.util.spec_from_file_location("normtest_tests_naive",
                                              pathlib.Path(__file__).with_name("naive.py"))
naive = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(naive)

RTOL = 1e-10  # fast path vs naive reference
TESTS = {"cramervonmises": normtest.cramervonmises, "anderson": normtest.anderson}
NAIVE = {"cramervonmises": naive.cramervonmises, "anderson": naive.anderson}


def _sample(rng, n, kind):
    if kind == "normal":
        return rng.normal(size=n)
    if kind == "shifted":  # far from N(0, 1): small simple-case p-values
        return rng.normal(0.4, 1.3, size=n)
    if kind == "expo":
        return rng.exponential(size=n)
    return rng.standard_t(3, size=n)


# ---------------------------------------------------------------------------
# Statistics against the naive references
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("n", [8, 9, 57, 400])
@pytest.mark.parametrize("kind", ["normal", "shifted", "expo", "t3"])
def test_statistic_matches_naive(test, standardize, n, kind, rng):
    x = _sample(rng, n, kind)
    res = TESTS[test](x, standardize=standardize)
    assert_allclose(res.statistic, NAIVE[test](x, standardize), rtol=RTOL)
    assert res.n == n and res.test == test and res.standardize is standardize


@pytest.mark.parametrize("test", TESTS)
def test_statistic_small_simple_n(test, rng):
    for n in (2, 3, 4):
        x = rng.normal(size=n)
        assert_allclose(TESTS[test](x, standardize=False).statistic, NAIVE[test](x, False), rtol=RTOL)


def test_anderson_tail_precision():
    # an extreme observation: log(1 - Φ(z)) must come from log_ndtr(-z), not log(1 - cdf)
    x = np.array([-0.3, 0.1, 0.4, -1.0, 0.2, 9.5])
    res = normtest.anderson(x, standardize=False)
    z = np.sort(x)
    i = np.arange(1, z.size + 1)
    ref = -z.size - np.sum((2 * i - 1) * (special.log_ndtr(z) + special.log_ndtr(-z[::-1]))) / z.size
    assert np.isfinite(res.statistic)
    assert_allclose(res.statistic, ref, rtol=1e-12)
    assert_allclose(res.statistic, naive.anderson(x, standardize=False), rtol=1e-9)
    # 1 - Φ(9.5) = 1e-21 is 0 when formed as 1 - cdf: the log(1 - cdf) form is -inf, ours is exact
    with np.errstate(divide="ignore"):
        logs = np.log(special.ndtr(z)) + np.log(1 - special.ndtr(z[::-1]))
        textbook = -z.size - np.sum((2 * i - 1) * logs)
    assert not np.isfinite(textbook / z.size)
    assert np.isfinite(normtest.anderson(np.r_[x[:-1], 40.0], standardize=False).statistic)


# ---------------------------------------------------------------------------
# Peer values: SciPy, statsmodels, R
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n", [2, 3, 5, 10, 25, 100, 1000])
@pytest.mark.parametrize("kind", ["normal", "shifted", "t3"])
def test_cvm_simple_matches_scipy(n, kind, rng):
    x = _sample(rng, n, kind)
    ours = normtest.cramervonmises(x, standardize=False)
    ref = stats.cramervonmises(x, "norm")
    assert_allclose(ours.statistic, ref.statistic, rtol=1e-12)
    assert_allclose(ours.pvalue, min(ref.pvalue, 1.0), rtol=0, atol=1e-7)
    assert ours.method == "csorgo-faraway"


def test_cvm_simple_matches_scipy_over_range():
    # W² over its whole range at several n: the Csörgő–Faraway p-values agree with SciPy's
    from scipy.stats._hypotests import _cdf_cvm  # SciPy's private law, used as an oracle only

    # (down to SciPy's p = 1e-3: beyond it normtest carries the law's relative factor, see
    # test_simple_finite_n_tails_have_no_floor, where SciPy's 1 - cdf falls to 0 at small n)
    for n in (4, 10, 30, 200):
        w = np.linspace(1 / (12 * n) + 1e-3, 2.0, 97)
        ref = np.clip(1 - _cdf_cvm(w, n), 0, 1)
        inside = ref >= 1e-3
        assert_allclose(dist.cvm_sf(w, n)[inside], ref[inside], atol=1e-7)


@pytest.mark.parametrize("n", [8, 20, 100, 2500])
@pytest.mark.parametrize("kind", ["normal", "expo", "t3"])
def test_anderson_composite_matches_scipy_statsmodels(n, kind, rng):
    from statsmodels.stats.diagnostic import normal_ad

    x = _sample(rng, n, kind) * 3 + 5
    ours = normtest.anderson(x)
    sp = stats.anderson(x, "norm", method="interpolate")
    sm_stat, sm_p = normal_ad(x)
    assert_allclose(ours.statistic, sp.statistic, rtol=1e-10)
    if np.isfinite(sm_stat):
        assert_allclose(ours.statistic, sm_stat, rtol=1e-10)
    else:  # statsmodels forms log(1 - cdf), which overflows for a far-tail point; log_ndtr does not
        assert np.isfinite(ours.statistic) and ours.pvalue < 1e-20
        return
    if ours.statistic * (1 + 0.75 / n + 2.25 / n ** 2) < 10:  # statsmodels does not hold p past A* = 10
        assert_allclose(ours.pvalue, sm_p, rtol=1e-10)
    assert ours.method == "stephens"


# R nortest 1.0-4 help-page examples (n = 100): the printed statistic and p-value
#   ad.test(rnorm(100, mean = 5, sd = 3))   # A = 0.84479, p-value = 0.02864
#   ad.test(runif(100, min = 2, max = 4))   # A = 1.8342,  p-value = 0.0001015
#   set.seed(123); ad.test(rnorm(100, mean = 5, sd = 3))  # A = 0.182, p-value = 0.9104
#   ad.test(runif(100, min = 2, max = 4))   # (after the above) A = 1.3941, p-value = 0.001244
# DescTools::CramerVonMisesTest (nortest's cvm.test) help-page examples (n = 100):
#   CramerVonMisesTest(rnorm(100, mean = 5, sd = 3))  # W = 0.045832, p-value = 0.5716
#   CramerVonMisesTest(runif(100, min = 2, max = 4))  # W = 0.28912, p-value = 0.0004285
@pytest.mark.parametrize("test, stat, p", [
    ("anderson", 0.84479, 0.02864),
    ("anderson", 1.8342, 0.0001015),
    ("anderson", 0.182, 0.9104),
    ("anderson", 1.3941, 0.001244),
    ("cramervonmises", 0.045832, 0.5716),
    ("cramervonmises", 0.28912, 0.0004285),
])
def test_stephens_matches_r_nortest(test, stat, p):
    null = dist.stephens_null(test, 100)
    assert_allclose(null.sf(stat), p, rtol=6e-4)  # R prints 4 significant digits


@pytest.mark.parametrize("test", TESTS)
def test_stephens_matches_formula_by_hand(test):
    for n in (8, 13, 50, 1000):
        grid = np.linspace(0.0, 12.0 if test == "anderson" else 1.5, 601)
        ours = dist.stephens_sf(test, grid, n)
        ref = [naive.stephens_pvalue(test, g, n) for g in grid]
        assert_allclose(ours, np.clip(ref, 0, 1), rtol=1e-12, atol=1e-300)


def test_stephens_held_beyond_range():
    # R nortest holds p at its value at the end of the formula range (A* = 10, W* = 1.1)
    assert_allclose(dist.stephens_sf("anderson", [20.0, 200.0], 10 ** 9), np.exp(1.2937 - 57.09 + 1.86))
    assert_allclose(dist.stephens_sf("cramervonmises", [2.0, 50.0], 10 ** 9),
                    np.exp(1.111 - 34.242 * 1.1 + 12.832 * 1.21))
    assert_allclose(dist.stephens_sf("cramervonmises", 2.0, 10 ** 9), 7.37e-10, rtol=2e-3)


# ---------------------------------------------------------------------------
# Null laws: published points, independent evaluations, consistency
# ---------------------------------------------------------------------------

LEVELS = [0.10, 0.05, 0.025, 0.01]


def test_simple_asymptotic_points():
    # Upper 10/5/2.5/1% points of the n = ∞ laws (docs/theory.md §5; Marsaglia & Marsaglia 2004;
    # R: goftest::qAD(c(.9, .95, .975, .99), n = Inf), goftest::qCvM(c(.9, .95, .975, .99), n = Inf))
    ad = dist.ad_null(None, asymptotic=True)
    cvm = dist.cvm_null(None, asymptotic=True)
    assert_allclose(ad.isf(LEVELS), [1.9330, 2.4924, 3.0775, 3.8781], atol=6e-5)
    assert_allclose(cvm.isf(LEVELS), [0.34730, 0.46136, 0.58061, 0.74346], atol=6e-6)
    assert_allclose(ad.sf(ad.isf(LEVELS)), LEVELS, rtol=1e-9)


def test_composite_asymptotic_points_exact_law():
    # D'Agostino & Stephens (1986) asymptotic composite points (scipy's _Avals_norm; R:
    # no nortest function; these are the n = ∞ rows of Stephens' Table 4.7), 3-4 digits:
    ad = dist.composite_limit_null("anderson")
    cvm = dist.composite_limit_null("cramervonmises")
    # sf at the published (rounded) points; the rounding moves sf by < 1% relative
    assert_allclose(ad.sf([0.631, 0.752, 0.873, 1.035]), LEVELS, rtol=0.01)
    assert_allclose(cvm.sf([0.1035, 0.1260, 0.1486, 0.1788]), LEVELS, rtol=0.01)
    assert_allclose(ad.isf(0.05), 0.752, atol=6e-4)  # ppf (Imhof + root finding) once
    # Nyström trace = the closed-form limit mean of W², 1/6 − 7/(12π√3) (docs/theory.md §5)
    assert_allclose(dist.durbin_eigenvalues("cramervonmises")[1], 1 / 6 - 7 / (12 * np.pi * np.sqrt(3)),
                    rtol=1e-9)
    assert_allclose(cvm.mean, 1 / 6 - 7 / (12 * np.pi * np.sqrt(3)), rtol=1e-9)


def test_composite_asymptotic_method(rng):
    x = rng.normal(size=(3, 400))
    res = normtest.anderson(x, axis=1, method="asymptotic")
    assert res.method == "asymptotic" and res.null.describe()["kind"] == "ad-composite-limit"
    st = normtest.anderson(x, axis=1)
    # at n = 400 Stephens' finite-n formula and the limit law agree to a few percent of p
    assert_allclose(res.pvalue, st.pvalue, rtol=0.08, atol=0.01)


def test_composite_asymptotic_points_via_stephens():
    # D'Agostino & Stephens (1986) asymptotic composite points (scipy's _Avals_norm):
    # A² 0.631/0.752/0.873/1.035, W² 0.1035/0.1260/0.1486/0.1788. Stephens' formulas at
    # large n must reproduce them within their stated accuracy (a few percent).
    ad = dist.stephens_null("anderson", 10 ** 7)
    cvm = dist.stephens_null("cramervonmises", 10 ** 7)
    assert_allclose(ad.isf(LEVELS), [0.631, 0.752, 0.873, 1.035], rtol=0.03)
    assert_allclose(cvm.isf(LEVELS), [0.1035, 0.1260, 0.1486, 0.1788], rtol=0.03)


@pytest.mark.parametrize("z", [0.3, 1.2, 3.0, 6.0])
def test_ad_limit_matches_imhof(z):
    # eigenvalues 1/(k(k+1)) + Imhof: an independent route to the same law
    assert_allclose(dist.ad_cdf(z), naive.ad_limit_cdf_imhof(z), atol=1e-7)


@pytest.mark.parametrize("x", [0.05, 0.12, 0.4617, 0.9])
def test_cvm_limit_matches_imhof(x):
    assert_allclose(dist.cvm_cdf(x), naive.cvm_limit_cdf_imhof(x), atol=1e-7)


def test_ad_limit_matches_marsaglia_quick_approximation():
    # a sanity check against a separate short fit (Marsaglia & Marsaglia's adinf, a few 1e-5)
    z = np.linspace(0.1, 12, 120)
    ref = [naive.adinf_marsaglia_quick(v) for v in z]
    assert_allclose(dist.ad_cdf(z), ref, atol=3e-5)


def test_ad_finite_n_correction():
    z = np.linspace(0.2, 6, 59)
    lim = dist.ad_cdf(z)
    # the errfix correction vanishes like 1/n and is small (< 0.02 at n = 5)
    diffs = [np.max(np.abs(dist.ad_cdf(z, n) - lim)) for n in (5, 50, 500)]
    assert diffs[0] < 2e-2 and diffs[1] < diffs[0] / 5 and diffs[2] < diffs[1] / 5
    # pieces join continuously at x = c and x = 0.8 (Marsaglia's fit)
    for n in (5, 20, 100):
        c = 0.01265 + 0.1757 / n
        for x0 in (c, 0.8):
            lo, hi = dist._errfix(n, np.array([x0 - 1e-9, x0 + 1e-9]))
            assert abs(lo - hi) < 5e-5 / n


@pytest.mark.parametrize("null", [
    dist.cvm_null(10), dist.cvm_null(None, True), dist.ad_null(7), dist.ad_null(None, True),
    dist.stephens_null("anderson", 20), dist.stephens_null("cramervonmises", 20),
])
def test_null_ppf_inverts_cdf(null):
    q = np.array([0.001, 0.05, 0.3, 0.5, 0.9, 0.99, 0.9999])
    x = null.ppf(q)
    assert np.all(np.diff(x) > 0)
    # ppf(q) = inf{x : cdf(x) >= q}: exact inverse where cdf is continuous, the jump point where
    # Stephens' piecewise formula jumps (its pieces do not join exactly)
    assert np.all(null.cdf(x) >= q - 1e-9)
    assert np.all(null.cdf(x - 1e-9 * np.maximum(1, x)) <= q + 1e-9)
    if not null.name.endswith("stephens"):
        assert_allclose(null.cdf(x), q, atol=1e-9)
    assert_allclose(null.sf(x) + null.cdf(x), 1.0, atol=1e-12)
    assert np.isnan(null.ppf(1.5)) and np.isnan(null.ppf(np.nan))
    assert_allclose(null.critical_value(0.05), null.ppf(0.95))


def test_stephens_ppf_beyond_held_value_is_inf():
    null = dist.stephens_null("cramervonmises", 50)
    assert null.ppf(1 - 1e-12) == np.inf


def test_pvalues_inside_unit_interval(rng):
    x = np.concatenate([rng.normal(size=(50, 30)), rng.exponential(size=(50, 30)) * 10,
                        np.linspace(-30, 30, 30)[None, :].repeat(3, 0)])
    for f in TESTS.values():
        for standardize in (False, True):
            for method in ([None, "asymptotic"] if not standardize else [None]):
                p = f(x, axis=1, standardize=standardize, method=method).pvalue
                assert np.all((p >= 0) & (p <= 1))


def test_result_null_reflects_n_and_method(rng):
    x = rng.normal(size=40)
    res = normtest.cramervonmises(x, standardize=False)
    assert res.null.describe() == {"kind": "cvm-csorgo-faraway", "n": 40, "hypothesis": "simple"}
    assert_allclose(res.null.sf(res.statistic), res.pvalue)
    res = normtest.anderson(x, standardize=False, method="asymptotic")
    assert res.method == "asymptotic" and res.null.describe()["n"] is None
    res = normtest.anderson(x)
    assert res.null.describe()["kind"] == "ad-stephens"
    d = res.to_dict()
    assert d["method"] == "stephens" and d["null"]["n"] == 40 and d["settings"] == {"ddof": 1}


# ---------------------------------------------------------------------------
# axis / keepdims / nan_policy / dtypes / no mutation
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("axis", [0, 1, -1, None])
def test_axis_matches_slice_loop(test, axis, rng):
    x = rng.normal(size=(12, 9))
    res = TESTS[test](x, axis=axis)
    if axis is None:
        ref = TESTS[test](x.ravel())
        assert_allclose(res.statistic, ref.statistic)
        return
    moved = np.moveaxis(x, axis, -1)
    for i in range(moved.shape[0]):
        one = TESTS[test](moved[i])
        assert_allclose(res.statistic[i], one.statistic, rtol=1e-13)
        assert_allclose(res.pvalue[i], one.pvalue, rtol=1e-13)


def test_keepdims_and_3d(rng):
    x = rng.normal(size=(3, 10, 4))
    res = normtest.anderson(x, axis=1, keepdims=True)
    assert res.statistic.shape == (3, 1, 4) and res.pvalue.shape == (3, 1, 4)
    flat = normtest.anderson(x, axis=1)
    assert_allclose(res.statistic[:, 0, :], flat.statistic)
    assert_allclose(flat.statistic[2, 3], normtest.anderson(x[2, :, 3]).statistic)


def test_nan_policy(rng):
    x = rng.normal(size=(4, 20))
    x[1, 3] = np.nan
    x[2, [0, 5, 6]] = np.nan
    prop = normtest.cramervonmises(x, axis=1)
    assert np.isnan(prop.statistic[1]) and np.isnan(prop.pvalue[2])
    assert_allclose(prop.statistic[[0, 3]], [normtest.cramervonmises(x[i]).statistic for i in (0, 3)])
    omit = normtest.cramervonmises(x, axis=1, nan_policy="omit")
    for i in range(4):
        assert_allclose(omit.statistic[i], normtest.cramervonmises(x[i][~np.isnan(x[i])]).statistic)
    assert_array_equal(omit.n, [20, 19, 17, 20])
    # rows with different n after omission get their own null: an object array of laws
    assert omit.null.shape == (4,) and omit.null[1].describe()["n"] == 19
    with pytest.raises(ValueError, match="nan_policy"):
        normtest.cramervonmises(x, axis=1, nan_policy="raise")


def test_inputs_not_mutated_and_dtypes(rng):
    x = rng.normal(size=30)
    x32 = x.astype(np.float32)
    xi = np.round(x * 10).astype(np.int64)
    before = (x.copy(), x32.copy(), xi.copy())
    r64 = normtest.anderson(x)
    r32 = normtest.anderson(x32)
    assert_allclose(r32.statistic, naive.anderson(x32.astype(float)), rtol=1e-10)
    assert_allclose(r32.statistic, r64.statistic, rtol=1e-5)
    ri = normtest.anderson(xi)
    assert_allclose(ri.statistic, naive.anderson(xi.astype(float)), rtol=1e-10)
    rl = normtest.anderson(list(x))
    rs = normtest.anderson(pd.Series(x))
    assert rl.statistic == r64.statistic == rs.statistic
    for a, b in zip((x, x32, xi), before):
        assert_array_equal(a, b)
    y = x.copy()
    y.setflags(write=False)  # read-only input is fine
    assert normtest.cramervonmises(y).statistic == normtest.cramervonmises(x).statistic


def test_unpacking_and_repr(rng):
    x = rng.normal(size=25)
    stat, p = normtest.cramervonmises(x)
    assert 0 < p < 1 and stat > 0
    text = repr(normtest.cramervonmises(x))
    assert text.startswith("EDFResult(cramervonmises:") and "stephens" in text


# ---------------------------------------------------------------------------
# Monte Carlo
# ---------------------------------------------------------------------------

def test_kernel_helpers_match_scipy():
    from normtest.edf import _kernels as k

    p = np.concatenate([np.logspace(-300, -1, 200), np.linspace(0.01, 0.99, 99),
                        1 - np.logspace(-16, -2, 30)])
    got = np.array([k.ndtri(v) for v in p])
    assert_allclose(got, special.ndtri(p), rtol=2e-14, atol=1e-13)
    z = np.linspace(-60, 30, 451)
    assert_allclose([k.log_ndtr(v) for v in z], special.log_ndtr(z), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("standardize", [False, True])
def test_simulator_matches_naive_on_given_exponentials(test, standardize, rng):
    from normtest.edf._kernels import simulate_edf

    n = 15
    expo = rng.exponential(size=(6, n + 1))
    got = simulate_edf(expo, test, standardize, refine=True)
    fast = simulate_edf(expo, test, standardize)  # unrefined Φ⁻¹: relative error < 1.2e-9
    assert_allclose(fast, got, rtol=1e-7)
    for r in range(6):
        s = np.cumsum(expo[r])
        u = s[:n] / s[n]
        x = special.ndtri(u)  # uniform order statistics mapped to normal order statistics
        if not standardize:
            ref = NAIVE[test](x, False)
        else:
            ref = NAIVE[test](x, True)
        assert_allclose(got[r], ref, rtol=1e-10)


@pytest.mark.parametrize("test", TESTS)
def test_monte_carlo_reproducible_and_cached(test, rng):
    normtest.clear_null_cache()
    x = rng.normal(size=30)
    m = normtest.MonteCarlo(n_resamples=499, rng=42)
    a = TESTS[test](x, method=m)
    b = TESTS[test](x, method=normtest.MonteCarlo(n_resamples=499, rng=42))
    assert a.pvalue == b.pvalue and a.null is b.null  # the second call reuses the cached null
    assert a.seed == 42 and a.method == "monte-carlo"
    assert a.settings == {"ddof": 1, "n_resamples": 499, "batch": None}
    assert_allclose(a.pvalue_se, np.sqrt(a.pvalue * (1 - a.pvalue) / 499))
    c = TESTS[test](x, method=normtest.MonteCarlo(n_resamples=499, rng=43))
    assert c.null is not a.null
    # the batch size changes how the stream is cut, not the law; p agrees within MC error
    d = TESTS[test](x, method=normtest.MonteCarlo(n_resamples=499, batch=64, rng=42))
    assert abs(d.pvalue - a.pvalue) < 5 * a.pvalue_se + 0.01
    # rng=None draws and records fresh entropy that reproduces the result
    e = TESTS[test](x, method=normtest.MonteCarlo(n_resamples=99))
    assert isinstance(e.seed, int)
    f = TESTS[test](x, method=normtest.MonteCarlo(n_resamples=99, rng=e.seed))
    assert f.pvalue == e.pvalue


def test_monte_carlo_same_on_any_thread_count():
    import numba

    x = np.linspace(-2, 2.5, 25)
    before = numba.get_num_threads()
    samples = []
    try:
        for threads in sorted({1, before}):
            numba.set_num_threads(threads)
            normtest.clear_null_cache()
            res = normtest.anderson(x, method=normtest.MonteCarlo(n_resamples=300, rng=8))
            samples.append(res.null.sample)
    finally:
        numba.set_num_threads(before)
    for other in samples[1:]:
        assert_array_equal(other, samples[0])


def test_monte_carlo_vectorised_shares_null(rng):
    x = rng.normal(size=(5, 40))
    res = normtest.anderson(x, axis=1, method=normtest.MonteCarlo(n_resamples=199, rng=3))
    assert res.pvalue.shape == (5,) and res.pvalue_se.shape == (5,)
    one = normtest.anderson(x[2], method=normtest.MonteCarlo(n_resamples=199, rng=3))
    assert res.pvalue[2] == one.pvalue


@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("standardize", [False, True])
def test_monte_carlo_agrees_with_analytic(test, standardize, rng):
    n = 20
    x = rng.normal(size=(9, n)) * np.linspace(0.6, 1.8, 9)[:, None]  # a spread of p-values
    mc = TESTS[test](x, axis=1, standardize=standardize, method=normtest.MonteCarlo(n_resamples=20000, rng=5))
    an = TESTS[test](x, axis=1, standardize=standardize)
    # Monte-Carlo error plus the analytic approximation's own error (Stephens: a few % of p)
    assert np.all(np.abs(mc.pvalue - an.pvalue) < 4 * mc.pvalue_se + 0.05 * an.pvalue + 1e-3)


def test_monte_carlo_small_composite_n_allowed():
    # Stephens needs n >= 8; Monte Carlo works from n = 3
    x = np.array([0.3, -1.2, 0.8, 2.0, -0.1])
    with pytest.warns(normtest.SmallSampleWarning):
        assert np.isnan(normtest.anderson(x).pvalue)
    res = normtest.anderson(x, method=normtest.MonteCarlo(n_resamples=99, rng=0))
    assert 0 < res.pvalue <= 1


# ---------------------------------------------------------------------------
# Calibration under H0
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("n", [10, 100])
def test_calibration_exact_simple_paths_uniform(test, n):
    # Csörgő–Faraway (CvM) and Marsaglia (AD) at finite n: p ~ U(0, 1) under H0
    x = np.random.default_rng(1000 + n).normal(size=(3000, n))
    p = TESTS[test](x, axis=1, standardize=False).pvalue
    assert stats.kstest(p, "uniform").pvalue > 0.01


@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("n", [10, 100])
def test_calibration_monte_carlo_uniform(test, standardize, n):
    # one null sample serves all 2000 replicates, so B must be large enough that its own
    # sampling error (KS distance ~1/sqrt(B)) stays below what 2000 replicates can detect
    x = np.random.default_rng(2000 + n).normal(size=(2000, n))
    p = TESTS[test](x, axis=1, standardize=standardize,
                    method=normtest.MonteCarlo(n_resamples=19999, rng=9)).pvalue
    assert stats.kstest(p, "uniform").pvalue > 0.01


@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("n, reps", [(20, 200_000), (100, 100_000)])
def test_calibration_stephens_size(test, n, reps):
    # Stephens' approximation holds its size within 10% of alpha at 1/5/10%
    # (measured: 0.95-1.01 alpha for n >= 20; binomial s.e. at 1% is about 2-3% of alpha here)
    x = np.random.default_rng(3000 + n).normal(size=(reps, n))
    p = TESTS[test](x, axis=1).pvalue
    for alpha in (0.01, 0.05, 0.10):
        assert abs(np.mean(p <= alpha) / alpha - 1) < 0.10


# ---------------------------------------------------------------------------
# Far tails and bounds (issue: p-values held at floors)
# ---------------------------------------------------------------------------

_SMIRNOV = importlib.util.spec_from_file_location("normtest_tests_sumchi2",
                                                 pathlib.Path(__file__).with_name("test_sumchi2.py"))


def _smirnov():
    mod = importlib.util.module_from_spec(_SMIRNOV)
    _SMIRNOV.loader.exec_module(mod)
    return mod.smirnov_sf


@pytest.mark.parametrize("test, x", [("cramervonmises", 3.0), ("cramervonmises", 30.0),
                                     ("anderson", 40.0), ("anderson", 200.0)])
def test_simple_limit_far_tail_against_mpmath(test, x):
    # exact weights 1/(k pi)^2 and 1/(k(k+1)) with closed-form Fredholm determinants
    mp = pytest.importorskip("mpmath")
    smirnov_sf = _smirnov()
    if test == "cramervonmises":
        ref = smirnov_sf(x, lambda k: (k * mp.pi) ** 2, lambda u: mp.sin(mp.sqrt(u)) / mp.sqrt(u), 12)
        ours = dist.cvm_sf(x)
    else:
        ref = smirnov_sf(x, lambda k: mp.mpf(k * (k + 1)),
                         lambda u: -mp.cos(mp.pi * mp.sqrt(mp.mpf(1) / 4 + u)) / (mp.pi * u), 12)
        ours = dist.ad_sf(x)
    assert ours == pytest.approx(ref, rel=1e-7)  # 200 weights kept: truncation error ~5e-8


@pytest.mark.parametrize("n", [3, 10, 1000])
def test_simple_finite_n_tails_have_no_floor(n):
    # Marsaglia's errfix held A² at 6e-4/n and Csörgő–Faraway gave 0 at small n; now the
    # tail keeps falling, continuously through the switch point, and never reaches 0
    z = np.linspace(4.0, 80.0, 25)
    p = dist.ad_sf(z, n)
    assert np.all(np.diff(p) < 0) and p[-1] < 1e-30 and np.all(p > 0)
    assert p[-1] / dist.ad_sf(80.0) == pytest.approx(p[12] / dist.ad_sf(z[12]), rel=1e-6)
    w = np.linspace(0.8, min(n / 3.0, 25.0) - 1e-6, 25)
    q = dist.cvm_sf(w, n)
    assert np.all(np.diff(q) <= 0) and np.all(q > 0)


def test_simple_finite_n_far_tail_against_simulation():
    # 1e6 samples of n = 5: the AD tail at p = 1e-4 within 30% (Marsaglia's errfix alone: 2.1x)
    z = np.sort(np.random.default_rng(77).standard_normal((1_000_000, 5)), axis=1)
    from normtest.edf.statistics import _ad_rows

    a = _ad_rows(z)
    x = np.quantile(a, 1 - 1e-4)
    assert dist.ad_sf(x, 5) == pytest.approx(1e-4, rel=0.3)


def test_stephens_beyond_range_is_flagged_upper_bound(rng):
    x = rng.exponential(size=(3000, 2)) ** 3
    for test, floor in (("anderson", 3.765e-24), ("cramervonmises", 7.37e-10)):
        res = TESTS[test](x)
        assert np.all(res.pvalue_upper_bound)
        assert_allclose(res.pvalue, floor, rtol=3e-3)
        assert res.to_dict()["pvalue_upper_bound"] == [True, True]
        assert "pvalue_upper_bound=[ True,  True]" in repr(res)
        ok = TESTS[test](rng.normal(size=50))
        assert ok.pvalue_upper_bound is False and "upper_bound" not in repr(ok)


def test_monte_carlo_without_exceedance_is_an_upper_bound(rng):
    x = rng.exponential(size=400)
    res = normtest.anderson(x, method=normtest.MonteCarlo(n_resamples=99, rng=1))
    assert res.pvalue == pytest.approx(0.01) and res.pvalue_upper_bound is True


# ---------------------------------------------------------------------------
# SciPy habits: anderson(x, "norm"), critical_values / significance_level
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n", [8, 20, 50, 1000])
def test_anderson_dist_norm_and_critical_values_like_scipy(n, rng):
    import warnings

    x = rng.normal(size=n)
    ours = normtest.anderson(x, "norm")
    assert_allclose(ours.statistic, stats.anderson(x, "norm", method="interpolate").statistic, rtol=1e-12)
    with warnings.catch_warnings():  # SciPy 1.17 deprecates the critical-value interface itself
        warnings.simplefilter("ignore", FutureWarning)
        ref = stats.anderson(x, "norm")
    assert_array_equal(ours.significance_level, ref.significance_level)
    assert_allclose(ours.critical_values, ref.critical_values, rtol=0.012)
    # our critical values are the same law's quantiles as the p-value
    for level, crit in zip(ours.significance_level, ours.critical_values):
        assert float(ours.null.sf(crit)) == pytest.approx(level / 100, rel=1e-6)


def test_anderson_dist_rejects_other_families(rng):
    x = rng.normal(size=20)
    with pytest.raises(ValueError, match="`dist` must be 'norm'"):
        normtest.anderson(x, "expon")
    with pytest.raises(TypeError, match="`dist`"):
        normtest.anderson(x, 3)


def test_critical_values_batched(rng):
    x = rng.normal(size=(30, 3))
    x[:5, 2] = np.nan
    res = normtest.anderson(x, nan_policy="omit")
    assert res.critical_values.shape == (3, 5)
    assert_allclose(res.critical_values[0], normtest.anderson(x[:, 0]).critical_values)
