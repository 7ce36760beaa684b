"""Tests of normtest.sliced_epps_pulley and its null laws (normtest/ecf/sliced_laws.py)."""

import numpy as np
import pytest

import normtest
from normtest import MonteCarlo, SmallSampleWarning
from normtest.ecf.rules import auto_rule, lejepa_rule, paper_rule
from normtest.ecf import sliced_laws as sn
from normtest.ecf.sliced_laws import _null_rule, _simulate_sliced

import naive_sliced as naive

RTOL = 1e-9


def unit(A):
    return A / np.linalg.norm(A, axis=0)


@pytest.fixture
def data(rng):
    X = rng.standard_normal((300, 6))
    A = unit(rng.standard_normal((6, 9)))
    return X, A


# ---------------------------------------------------------------------------
# statistic: parity with references
# ---------------------------------------------------------------------------

def test_paper_parity_numpy(data):
    X, A = data
    X = 1.3 * X + 0.2  # off the null, so the value is not near its mean
    ref, per = naive.sigreg_article(X, A)
    res = normtest.sliced_epps_pulley(X, directions=A, quadrature="paper")
    np.testing.assert_allclose(res.statistic, ref, rtol=RTOL)
    np.testing.assert_allclose(res.slice_statistics, per, rtol=RTOL)


def test_paper_parity_torch(data):
    torch = pytest.importorskip("torch")
    X, A = data
    X = X * 0.8
    # the article's SIGReg with the directions fixed and t built in float64
    x = torch.tensor(X, dtype=torch.float64)
    At = torch.tensor(A, dtype=torch.float64)
    At = At / At.norm(dim=0)
    N = x.shape[0]
    t = torch.linspace(-5, 5, 17, dtype=torch.float64)
    phi = torch.exp(-0.5 * t**2)
    x_t = (x @ At).unsqueeze(-1) * t
    ecf = torch.exp(-1j * x_t).mean(dim=0)
    per = torch.trapz((ecf - phi).abs() ** 2 * phi, t, dim=1) * N
    ref = float(per.mean())
    res = normtest.sliced_epps_pulley(X, directions=A, quadrature="paper")
    np.testing.assert_allclose(res.statistic, ref, rtol=RTOL)


def test_lejepa_parity(data):
    X, A = data
    X = X + 0.3
    ref, per = naive.lejepa_slicing_ep(X, A)
    res = normtest.sliced_epps_pulley(X, directions=A, quadrature="lejepa")
    np.testing.assert_allclose(res.statistic, ref, rtol=RTOL)
    np.testing.assert_allclose(res.slice_statistics, per, rtol=RTOL)
    assert res.quadrature["rule"] == "lejepa"


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
def test_auto_equals_exact_integral(rng, beta):
    X = rng.standard_normal((150, 4)) * 1.5
    A = unit(rng.standard_normal((4, 5)))
    res = normtest.sliced_epps_pulley(X, directions=A, beta=beta, reduction="none")
    ref = np.array([naive.exact_T(X @ A[:, m], beta) for m in range(5)])
    np.testing.assert_allclose(res.statistic, ref, rtol=1e-9)
    np.testing.assert_allclose(res.slice_statistics, ref, rtol=1e-9)


@pytest.mark.parametrize("standardize", [False, True])
def test_d1_matches_epps_pulley(rng, standardize):
    """D = 1: the statistic and the asymptotic p-value of normtest.epps_pulley."""
    x = rng.standard_normal(200) * 1.2 + 0.1
    one = normtest.sliced_epps_pulley(x[:, None], directions=np.ones((1, 1)), standardize=standardize)
    ep = normtest.epps_pulley(x, standardize=standardize, method="asymptotic")
    np.testing.assert_allclose(one.statistic, ep.statistic, rtol=1e-9)
    np.testing.assert_allclose(one.pvalue, ep.pvalue, rtol=1e-8, atol=1e-12)
    for q in ("lejepa", "paper"):
        one = normtest.sliced_epps_pulley(x, directions=[[1.0]], quadrature=q, standardize=standardize)
        ep = normtest.epps_pulley(x, standardize=standardize, quadrature=q, method="asymptotic")
        np.testing.assert_allclose(one.statistic, ep.statistic, rtol=1e-9)
        np.testing.assert_allclose(one.pvalue, ep.pvalue, rtol=1e-8, atol=1e-12)


def test_float32_close_to_float64(rng):
    X = rng.standard_normal((3000, 32))
    A = unit(rng.standard_normal((32, 24)))
    for q in ("lejepa", "paper", "auto"):
        r64 = normtest.sliced_epps_pulley(X, directions=A, quadrature=q, reduction="none")
        r32 = normtest.sliced_epps_pulley(X.astype(np.float32), directions=A, quadrature=q, reduction="none")
        assert np.max(np.abs(r32.statistic - r64.statistic)) <= 1e-5


def test_streaming_chunks_agree(rng, monkeypatch):
    import normtest.ecf._stream as sl

    X = rng.standard_normal((1000, 5))
    A = unit(rng.standard_normal((5, 7)))
    whole = normtest.sliced_epps_pulley(X, directions=A, quadrature="lejepa", reduction="none")
    monkeypatch.setattr(sl, "_CHUNK_VALUES", 7 * 64)  # 64-row chunks
    parts = normtest.sliced_epps_pulley(X, directions=A, quadrature="lejepa", reduction="none")
    np.testing.assert_allclose(parts.statistic, whole.statistic, rtol=1e-12)


def test_reductions_and_result_fields(data):
    X, A = data
    none = normtest.sliced_epps_pulley(X, directions=A, reduction="none")
    mean = normtest.sliced_epps_pulley(X, directions=A)
    mx = normtest.sliced_epps_pulley(X, directions=A, reduction="max")
    assert none.statistic.shape == (9,) and none.pvalue.shape == (9,)
    np.testing.assert_allclose(mean.statistic, none.statistic.mean(), rtol=1e-14)
    np.testing.assert_allclose(mx.statistic, none.statistic.max(), rtol=1e-14)
    np.testing.assert_allclose(mx.pvalue, min(1.0, 9 * none.pvalue.min()), rtol=1e-12)
    assert mx.method == "asymptotic-bonferroni"
    np.testing.assert_array_equal(mean.slice_statistics, none.statistic)
    stat, p = mean
    assert 0 <= p <= 1 and stat == mean.statistic
    d = mean.to_dict()
    assert d["test"] == "sliced_epps_pulley" and "directions" not in d
    assert d["settings"]["n_slices"] == 9 and d["settings"]["directions"] == "user"
    assert "statistic=" in repr(mean)


def test_user_directions_are_normalised(data):
    X, A = data
    a = normtest.sliced_epps_pulley(X, directions=A)
    b = normtest.sliced_epps_pulley(X, directions=A * np.arange(1, 10))
    np.testing.assert_allclose(a.statistic, b.statistic, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(b.directions, axis=0), 1.0, rtol=1e-14)


def test_random_directions_reproducible(rng):
    X = rng.standard_normal((100, 4))
    a = normtest.sliced_epps_pulley(X, n_slices=8, rng=5, quadrature="lejepa")
    b = normtest.sliced_epps_pulley(X, n_slices=8, rng=5, quadrature="lejepa")
    assert a.seed == 5
    np.testing.assert_array_equal(a.directions, b.directions)
    assert a.statistic == b.statistic
    c = normtest.sliced_epps_pulley(X, n_slices=8, quadrature="lejepa")
    d = normtest.sliced_epps_pulley(X, n_slices=8, rng=c.seed, quadrature="lejepa")
    np.testing.assert_array_equal(c.directions, d.directions)
    g = np.random.default_rng(5).standard_normal((4, 8))
    np.testing.assert_allclose(a.directions, unit(g), rtol=1e-15)


def test_dataframe_input(rng):
    pd = pytest.importorskip("pandas")
    X = rng.standard_normal((80, 3))
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    A = unit(rng.standard_normal((3, 4)))
    r = normtest.sliced_epps_pulley(df, directions=A)
    assert r.columns == ["a", "b", "c"]
    np.testing.assert_allclose(r.statistic, normtest.sliced_epps_pulley(X, directions=A).statistic)
    with pytest.raises(TypeError, match="numeric columns"):
        normtest.sliced_epps_pulley(df.assign(s="x"), directions=A)


def test_standardize_rotation_equivariance(rng):
    X = rng.standard_normal((120, 4)) @ rng.standard_normal((4, 4)) + 3.0
    A = unit(rng.standard_normal((4, 6)))
    R, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    a = normtest.sliced_epps_pulley(X, directions=A, standardize=True)
    b = normtest.sliced_epps_pulley(X @ R - 7.0, directions=R.T @ A, standardize=True)
    np.testing.assert_allclose(a.statistic, b.statistic, rtol=1e-9)
    Y = naive.symmetric_standardize(X)
    ref = np.mean([naive.exact_T(Y @ A[:, m]) for m in range(6)])
    np.testing.assert_allclose(a.statistic, ref, rtol=1e-9)
    assert a.method == "asymptotic" and a.null_moments["kind"] == "limit"


def test_singular_covariance_error(rng):
    X = rng.standard_normal((50, 3))
    X = np.column_stack([X, X[:, 0] + X[:, 1]])
    with pytest.raises(ValueError, match="singular"):
        normtest.sliced_epps_pulley(X, standardize=True, n_slices=4, rng=0)


# ---------------------------------------------------------------------------
# bad input, NaN, small samples
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, exc, match", [
    ({"n_slices": 0}, ValueError, "n_slices"),
    ({"n_slices": 2.5}, TypeError, "n_slices"),
    ({"directions": "some"}, ValueError, "directions"),
    ({"directions": np.ones((3, 2))}, ValueError, "directions"),
    ({"directions": np.array([[1.0, np.nan]] * 4)}, ValueError, "finite"),
    ({"directions": np.zeros((4, 2))}, ValueError, "non-zero"),
    ({"directions": [["a"] * 2] * 4}, TypeError, "directions"),
    ({"rng": -1}, ValueError, "rng"),
    ({"rng": "seed"}, TypeError, "rng"),
    ({"standardize": 1}, TypeError, "standardize"),
    ({"beta": 0.0}, ValueError, "beta"),
    ({"beta": "1"}, TypeError, "beta"),
    ({"beta": 2.0, "quadrature": "lejepa"}, ValueError, "beta"),
    ({"quadrature": "simpson"}, ValueError, "quadrature"),
    ({"quadrature": 3}, TypeError, "quadrature"),
    ({"reduction": "sum"}, ValueError, "reduction"),
    ({"method": "bootstrap"}, ValueError, "method"),
    ({"method": 3}, TypeError, "method"),
    ({"nan_policy": "drop"}, ValueError, "nan_policy"),
    ({"directions": "all", "reduction": "max"}, ValueError, "reduction"),
    ({"directions": "all", "quadrature": "lejepa"}, ValueError, "quadrature"),
])
def test_bad_parameters(rng, kwargs, exc, match):
    X = rng.standard_normal((30, 4))
    with pytest.raises(exc, match=match):
        normtest.sliced_epps_pulley(X, **kwargs)


@pytest.mark.parametrize("X, exc", [
    (np.array([["a", "b"]]), TypeError),
    (np.ones((5, 2), dtype=bool), TypeError),
    (np.ones((5, 2)) * np.inf, ValueError),
    (np.ones((2, 2, 2)), ValueError),
    (np.ones((0, 3)), ValueError),
])
def test_bad_data(X, exc):
    with pytest.raises(exc, match="X"):
        normtest.sliced_epps_pulley(X, n_slices=2, rng=0)


def test_input_not_mutated(rng):
    X = rng.standard_normal((120, 3))
    X[3, 1] = np.nan
    copy = X.copy()
    normtest.sliced_epps_pulley(X, n_slices=4, rng=0, standardize=True, nan_policy="omit")
    np.testing.assert_array_equal(X, copy)


def test_nan_policy(rng):
    X = rng.standard_normal((60, 3))
    A = unit(rng.standard_normal((3, 4)))
    Xn = X.copy()
    Xn[5, 2] = np.nan
    r = normtest.sliced_epps_pulley(Xn, directions=A)
    assert np.isnan(r.statistic) and np.isnan(r.pvalue) and np.isnan(r.slice_statistics).all()
    r = normtest.sliced_epps_pulley(Xn, directions=A, nan_policy="omit")
    ref = normtest.sliced_epps_pulley(np.delete(X, 5, axis=0), directions=A)
    assert r.n == 59 and r.statistic == ref.statistic
    with pytest.raises(ValueError, match="NaN"):
        normtest.sliced_epps_pulley(Xn, directions=A, nan_policy="raise")


def test_small_sample_warns(rng):
    with pytest.warns(SmallSampleWarning):
        r = normtest.sliced_epps_pulley(rng.standard_normal((1, 3)), n_slices=2, rng=0)
    assert np.isnan(r.statistic)
    with pytest.warns(SmallSampleWarning):
        r = normtest.sliced_epps_pulley(rng.standard_normal((4, 3)), n_slices=2, rng=0, standardize=True)
    assert np.isnan(r.pvalue)


# ---------------------------------------------------------------------------
# null laws
# ---------------------------------------------------------------------------

def test_one_slice_eigenvalues_match_math_md():
    rule = _null_rule(auto_rule(1.0), 1.0)
    simple = np.sort(sn.limit_eigenvalues(np.ones((1, 1)), rule)[0])[::-1][:8]
    comp = np.sort(sn.limit_eigenvalues(np.ones((1, 1)), rule, composite=True)[0])[::-1][:8]
    # docs/theory.md §4.1 (d = 1, beta = 1, descending)
    np.testing.assert_allclose(
        simple, [.236068, .127399, .034442, .016259, .005025, .002231, .000733, .000315], atol=6e-7)
    np.testing.assert_allclose(comp, [.074275, .044810, .008419, .004587, .001080, .000552, .000146, .000071],
                               atol=6e-7)
    # Henze–Wagner composite limit moments (docs/theory.md §4.2): mu = 1 - sqrt(3)/2, sigma^2 = 0.015236
    m = sn.limit_moments(np.ones((1, 1)), rule, composite=True)
    np.testing.assert_allclose(m["mean"], 1 - np.sqrt(3) / 2, rtol=1e-12)
    np.testing.assert_allclose(m["var"], 0.015236, atol=5e-7)


def test_exact_moments_closed_form(rng):
    """§6.3: exact finite-n variance of the slice mean for the exact integral."""
    A = unit(rng.standard_normal((5, 7)))
    G = A.T @ A
    beta, n = 1.3, 40
    b2 = beta**2
    a = 1 + 2 * b2
    C = (a * a - 4 * b2 * b2 * G**2) ** -0.5 - 2 * (a * a - b2 * b2 * G**2) ** -0.5 + 1 / a
    g = (a * a - b2 * b2 * G**2) ** -0.5 - 1 / a
    var = (1 - 1 / n) * 2 / 49 * C.sum() + 4 / (n * 49) * g.sum()
    mom = sn.exact_moments(A, _null_rule(auto_rule(1.0, beta), beta), n)
    np.testing.assert_allclose(mom["mean"], 1 - a**-0.5, rtol=1e-12)
    np.testing.assert_allclose(mom["var"], var, rtol=1e-10)


def _simulate_stats(n, A, rule, reps, seed, composite=False, reduce="mean"):
    red = {"mean": lambda s: s.mean(axis=-1), "none": lambda s: s.reshape(-1)}[reduce]
    sim = _simulate_sliced(n, A, lambda P: rule, red, composite, None)
    return sim(reps, np.random.default_rng(seed))


def test_exact_moments_against_simulation(rng):
    """Exact mean/variance (lejepa rule, n = 20) against 20000 simulated statistics."""
    A = unit(rng.standard_normal((3, 5)))
    rule = lejepa_rule()
    n = 20
    sims = _simulate_stats(n, A, rule, 20000, 1)
    mom = sn.exact_moments(A, rule, n)
    se_mean = np.sqrt(mom["var"] / sims.size)
    assert abs(sims.mean() - mom["mean"]) < 4 * se_mean
    # variance: the sampling sd of a sample variance is about var * sqrt(kurt_excess + 2) / sqrt(B)
    assert abs(sims.var() / mom["var"] - 1) < 0.06
    # and the exact finite-n variance differs from the limit one by more than that margin here
    assert abs(mom["limit_var"] / mom["var"] - 1) > 0.005


def test_compressed_law_matches_exact_spectrum(rng):
    """The default (compressed, P = 5 at M = 48) law against the exact spectrum (was: Lanczos vs dense)."""
    A = unit(rng.standard_normal((20, 48)))
    rule = lejepa_rule()
    dense, lab_d = sn.limit_null(A, rule, components=10**6)
    compressed, lab_c = sn.limit_null(A, rule)
    assert (lab_d, lab_c) == ("asymptotic", "asymptotic") and compressed.params["components"] == 5
    q = dense.ppf([0.9, 0.95, 0.99, 0.999])
    np.testing.assert_allclose(compressed.sf(q), [0.1, 0.05, 0.01, 0.001], rtol=0.01)
    np.testing.assert_allclose(compressed.mean, dense.mean, rtol=1e-10)
    np.testing.assert_allclose(compressed.var, dense.var, rtol=1e-3)


@pytest.mark.parametrize("composite", [False, True])
def test_asymptotic_law_vs_monte_carlo(rng, composite):
    """Quantiles of the limit law against 4000 simulated statistics at n = 400 (D = 4, M = 6)."""
    A = unit(rng.standard_normal((4, 6)))
    rule = lejepa_rule()
    null, _ = sn.limit_null(A, rule, composite)
    sims = _simulate_stats(400, A, rule, 4000, 2, composite)
    q = null.ppf([0.5, 0.9, 0.95, 0.99])
    emp = (sims[:, None] > q).mean(axis=0)
    target = np.array([0.5, 0.1, 0.05, 0.01])
    se = np.sqrt(target * (1 - target) / sims.size)
    assert np.all(np.abs(emp - target) < 4 * se + 0.1 * target), (emp, target)


def _calibration(X_list, call):
    p = np.array([float(call(X).pvalue) for X in X_list])
    return np.array([(p <= a).mean() for a in (0.01, 0.05, 0.10)]), p


@pytest.mark.parametrize("N, D, M, standardize, q", [
    (300, 3, 5, False, "lejepa"),
    (200, 8, 4, False, "auto"),
    (300, 3, 6, True, "auto"),
    (300, 16, 70, False, "lejepa"),   # compressed law, P = 3 components
])
def test_calibration_asymptotic(N, D, M, standardize, q):
    """Rejection rates of 3000 seeded H0 statistics at the limit law's 1/5/10% points.

    Equivalent to uniform p-values at those levels (p <= a iff T >= isf(a)); the
    statistics come from the Monte-Carlo simulator (its values are checked
    against the public function in test_simulator_matches_public_statistic).
    """
    g = np.random.default_rng(100 + D + M)
    A = unit(g.standard_normal((D, M)))
    rule = lejepa_rule() if q == "lejepa" else _null_rule(auto_rule(1.0), 1.0)
    null, _ = sn.limit_null(A, rule, standardize)
    sims = _simulate_stats(N, A, rule, 3000, 200 + M, standardize)
    target = np.array([0.01, 0.05, 0.10])
    crit = null.isf(target)
    rates = (sims[:, None] >= crit).mean(axis=0)
    se = np.sqrt(target * (1 - target) / sims.size)
    assert np.all(np.abs(rates - target) < 3.5 * se), rates


def test_calibration_asymptotic_end_to_end():
    """Public p-values of 150 H0 samples (composite, 'auto'): uniform at 5/10/50%."""
    g = np.random.default_rng(3)
    A = unit(g.standard_normal((3, 4)))
    p = np.array([normtest.sliced_epps_pulley(g.standard_normal((150, 3)) * 2 + 1, directions=A,
                                              standardize=True).pvalue for _ in range(150)])
    target = np.array([0.05, 0.10, 0.5])
    rates = np.array([(p <= a).mean() for a in target])
    se = np.sqrt(target * (1 - target) / p.size)
    assert np.all(np.abs(rates - target) < 3.5 * se), rates


def test_simulator_matches_public_statistic():
    A = unit(np.random.default_rng(1).standard_normal((3, 4)))
    for std in (False, True):
        sims = _simulate_stats(50, A, lejepa_rule(), 2, 9, std)
        X = np.random.default_rng(9).standard_normal((2, 50, 3))
        pub = [normtest.sliced_epps_pulley(X[i], directions=A, quadrature="lejepa", standardize=std,
                                             method="none").statistic
               for i in range(2)]
        np.testing.assert_allclose(sims, pub, rtol=1e-9)


@pytest.mark.parametrize("N, D, M, standardize", [(60, 3, 2, False), (60, 2, 5, False), (80, 3, 4, True)])
def test_calibration_monte_carlo(N, D, M, standardize):
    """With one cached null (B = 499) the Monte-Carlo p-values of fresh H0 samples are uniform."""
    g = np.random.default_rng(7 + N + M)
    A = unit(g.standard_normal((D, M)))
    mc = MonteCarlo(n_resamples=499, rng=11)
    reps = 200
    Xs = [g.standard_normal((N, D)) for _ in range(reps)]
    rates, p = _calibration(Xs, lambda X: normtest.sliced_epps_pulley(
        X, directions=A, quadrature="lejepa", standardize=standardize, method=mc))
    target = np.array([0.01, 0.05, 0.10])
    se = np.sqrt(target * (1 - target) / reps)
    assert np.all(np.abs(rates - target) < 3.5 * se + 0.01), rates


def test_monte_carlo_matches_asymptotic_and_reproduces(rng):
    X = rng.standard_normal((400, 5)) * 1.08
    A = unit(rng.standard_normal((5, 3)))
    mc = normtest.sliced_epps_pulley(X, directions=A, quadrature="lejepa", method=MonteCarlo(2000, rng=3))
    asy = normtest.sliced_epps_pulley(X, directions=A, quadrature="lejepa")
    assert mc.method == "monte-carlo" and mc.pvalue_se is not None
    assert abs(mc.pvalue - asy.pvalue) < 4 * mc.pvalue_se + 0.01
    again = normtest.sliced_epps_pulley(X, directions=A, quadrature="lejepa", method=MonteCarlo(2000, rng=3))
    assert again.pvalue == mc.pvalue
    # M <= D (projections simulated directly) and M > D (full data) give the same law
    big = unit(rng.standard_normal((5, 8)))
    r = normtest.sliced_epps_pulley(X, directions=big, quadrature="lejepa", method=MonteCarlo(999, rng=4))
    assert 0 < r.pvalue <= 1
    none = normtest.sliced_epps_pulley(X, directions=A, reduction="none", method=MonteCarlo(999, rng=4))
    assert none.pvalue.shape == (3,)


def test_monte_carlo_rng_from_call(rng):
    X = rng.standard_normal((50, 3))
    a = normtest.sliced_epps_pulley(X, n_slices=3, rng=9, quadrature="lejepa", method=MonteCarlo(199))
    b = normtest.sliced_epps_pulley(X, n_slices=3, rng=9, quadrature="lejepa", method=MonteCarlo(199))
    assert a.pvalue == b.pvalue


def test_auto_monte_carlo_large_projections(rng):
    """Simulated projections beyond the observed spread are scored with a wider exact rule."""
    X = rng.standard_normal((40, 2)) * 0.3  # small spread, so simulated N(0, I) data exceed it
    A = unit(rng.standard_normal((2, 2)))
    r = normtest.sliced_epps_pulley(X, directions=A, method=MonteCarlo(299, rng=1))
    assert r.pvalue < 0.05
    from normtest.ecf.sliced_laws import _simulate_sliced as sim_fn

    seen = []

    def rule_for(P):
        seen.append(float(np.abs(P).max()))
        return auto_rule(max(0.5, seen[-1]))

    sim_fn(40, A, rule_for, lambda s: s.mean(axis=-1), False, None)(3, np.random.default_rng(0))
    assert max(seen) > 1.0


# ---------------------------------------------------------------------------
# all directions
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("d, beta", [(1, 1.0), (2, 1.0), (3, 0.7), (7, 1.5)])
def test_all_directions_against_naive(rng, d, beta):
    X = rng.standard_normal((60, d)) * 1.2
    r = normtest.sliced_epps_pulley(X, directions="all", beta=beta)
    np.testing.assert_allclose(r.statistic, naive.allslice_naive(X, beta), rtol=1e-10)
    assert r.slice_statistics.size == 0


def test_all_directions_is_the_average_over_directions(rng):
    X = rng.standard_normal((50, 3)) + np.array([0.5, 0, 0])
    r = normtest.sliced_epps_pulley(X, directions="all")
    g = np.random.default_rng(3)
    A = unit(g.standard_normal((3, 4000)))
    many = normtest.sliced_epps_pulley(X, directions=A, reduction="none")
    se = many.statistic.std() / np.sqrt(A.shape[1])
    assert abs(many.statistic.mean() - r.statistic) < 4 * se
    # d = 1: the average over {+1, -1} is the one-dimensional exact statistic
    x = X[:, :1]
    np.testing.assert_allclose(normtest.sliced_epps_pulley(x, directions="all").statistic,
                               naive.exact_T(x[:, 0]), rtol=1e-12)


def test_all_directions_moments_and_pvalue(rng):
    n, d = 30, 4
    mom = sn.allslice_moments(n, d, 1.0)
    from normtest.multivariate._kernels import allslice_batch

    sims = allslice_batch(np.random.default_rng(5).standard_normal((3000, n, d)), 1.0, d / 2)
    assert abs(sims.mean() - mom["mean"]) < 4 * np.sqrt(mom["var"] / sims.size)
    assert abs(sims.var() / mom["var"] - 1) < 0.1
    X = rng.standard_normal((n, d))
    r = normtest.sliced_epps_pulley(X, directions="all")
    assert r.method == "gamma-moments" and r.null_moments["kind"] == "exact"
    mc = normtest.sliced_epps_pulley(X, directions="all", method=MonteCarlo(999, rng=2))
    assert abs(mc.pvalue - r.pvalue) < 0.05
    comp = normtest.sliced_epps_pulley(X, directions="all", standardize=True,
                                       method=MonteCarlo(199, rng=2))
    assert comp.method == "monte-carlo" and 0 < comp.pvalue <= 1


def test_hyp1f1_kernel_against_scipy():
    from scipy.special import hyp1f1
    from normtest.multivariate._kernels import hyp1f1_half_neg_vec

    z = np.concatenate([[0.0], np.geomspace(1e-6, 3000, 300)])
    for d in (2, 3, 4, 9, 64, 300, 1024):
        np.testing.assert_allclose(hyp1f1_half_neg_vec(z, d / 2), hyp1f1(0.5, d / 2, -z), rtol=1e-11)
    np.testing.assert_allclose(hyp1f1_half_neg_vec(z, 0.5), np.exp(-z), rtol=1e-13)


# ---------------------------------------------------------------------------
# determinism across thread counts
# ---------------------------------------------------------------------------

def test_same_result_on_one_and_two_threads(rng):
    import numba

    X = rng.standard_normal((700, 6))
    A = unit(rng.standard_normal((6, 10)))
    old = numba.get_num_threads()
    out = []
    try:
        for k in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(k)
            out.append((normtest.sliced_epps_pulley(X, directions=A, quadrature="lejepa").statistic,
                        normtest.sliced_epps_pulley(X[:80], directions="all").statistic,
                        normtest.bhep(X[:300]).statistic))
    finally:
        numba.set_num_threads(old)
    assert out[0] == out[1]


def test_calibration_all_directions_gamma():
    """'gamma-moments' (exact finite-n mean/variance) at 1/5/10% on 3000 H0 samples (n = 40, d = 4).

    Stated error: within 3.5 binomial sd + 20% of the level (a two-moment law).
    """
    from normtest.multivariate._kernels import allslice_batch
    from normtest.ecf._sliced_dispatch import _gamma_null

    n, d = 40, 4
    sims = allslice_batch(np.random.default_rng(8).standard_normal((3000, n, d)), 1.0, d / 2)
    mom = sn.allslice_moments(n, d, 1.0)
    null = _gamma_null(mom["mean"], mom["var"], {})
    target = np.array([0.01, 0.05, 0.10])
    rates = (sims[:, None] >= null.isf(target)).mean(axis=0)
    se = np.sqrt(target * (1 - target) / sims.size)
    assert np.all(np.abs(rates - target) < 3.5 * se + 0.2 * target), rates


def test_calibration_none_and_max():
    """Per-slice p-values are uniform (one-slice law); the Bonferroni 'max' p-value is conservative."""
    g = np.random.default_rng(21)
    A = unit(g.standard_normal((6, 5)))
    rule = lejepa_rule()
    per = _simulate_stats(300, A, rule, 600, 22, reduce="none").reshape(-1, 5)  # (600, 5)
    null1, _ = sn.limit_null(np.ones((1, 1)), rule)
    target = np.array([0.01, 0.05, 0.10])
    rates = (per[:, :, None] >= null1.isf(target)).mean(axis=(0, 1))
    se = np.sqrt(target * (1 - target) / per.shape[0])  # slices are dependent: use the replicate count
    assert np.all(np.abs(rates - target) < 3.5 * se), rates
    p_max = np.minimum(1.0, 5 * np.asarray(null1.sf(np.sort(per.max(axis=1))[-120:])))
    # the 120 largest maxima of 600: at most ~10% + noise of the replicates may reach p <= 0.10
    assert (p_max <= 0.10).sum() / 600 <= 0.10 + 3.5 * np.sqrt(0.09 / 600)


@pytest.mark.parametrize("standardize", [False, True])
def test_streamed_chunks_match_one_chunk(standardize, monkeypatch, rng):
    # several row chunks go through the projection thread + kernel pipeline; the sums
    # are added in chunk order, so the result equals the one-chunk computation
    import normtest.ecf._stream as sl

    X = rng.standard_normal((3000, 6)).astype(np.float32)
    one = normtest.sliced_epps_pulley(X, n_slices=16, rng=5, standardize=standardize, quadrature="lejepa")
    monkeypatch.setattr(sl, "_CHUNK_VALUES", 64 * 16)  # 64-row chunks: 47 chunks
    many = normtest.sliced_epps_pulley(X, n_slices=16, rng=5, standardize=standardize, quadrature="lejepa")
    np.testing.assert_allclose(many.statistic, one.statistic, rtol=1e-9)
    np.testing.assert_allclose(many.pvalue, one.pvalue, rtol=1e-7)


def test_streamed_chunks_propagate_errors(monkeypatch, rng):
    import normtest.ecf._stream as sl

    monkeypatch.setattr(sl, "_CHUNK_VALUES", 64 * 16)
    calls = {"n": 0}
    real = np.matmul

    def failing_matmul(a, b, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise MemoryError("simulated failure in the projection thread")
        return real(a, b, *args, **kwargs)

    monkeypatch.setattr(sl.np, "matmul", failing_matmul)
    with pytest.raises(MemoryError, match="simulated"):
        sl._projected_sums(rng.standard_normal((2000, 4)), rng.standard_normal((4, 16)),
                           normtest.ecf.rules.get_rule("lejepa"))
