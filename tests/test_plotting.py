"""normtest.plotting (Agg backend)."""

import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from scipy import stats  # noqa: E402

import normtest  # noqa: E402
from normtest import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture
def x():
    return np.random.default_rng(5).normal(10.0, 3.0, size=150)


def _ax():
    fig, ax = plt.subplots()
    return ax


def test_each_plot_returns_the_given_axes(x):
    X = np.random.default_rng(0).standard_normal((300, 5))
    res = normtest.anderson(x)
    calls = [
        lambda ax: plotting.plot_ecdf(x, ax=ax),
        lambda ax: plotting.plot_qq(x, ax=ax),
        lambda ax: plotting.plot_ecf(x, ax=ax),
        lambda ax: plotting.plot_projections(X, 2, rng=0, ax=ax),
        lambda ax: plotting.plot_null(res, ax=ax),
        lambda ax: res.plot(ax=ax),
    ]
    for call in calls:
        ax = _ax()
        n_figs = len(plt.get_fignums())
        assert call(ax) is ax
        assert len(plt.get_fignums()) == n_figs  # no new figure when ax is given
    for call in calls:
        assert isinstance(call(None), Axes)


def test_ecdf_band_is_dkw(x):
    ax = plotting.plot_ecdf(x, confidence_level=0.9)
    step = ax.lines[0]
    z = np.sort((x - x.mean()) / x.std(ddof=1))
    np.testing.assert_allclose(step.get_xdata(), z)
    np.testing.assert_allclose(step.get_ydata(), np.arange(1, x.size + 1) / x.size)
    band = ax.collections[0].get_paths()[0].vertices
    eps = np.sqrt(np.log(2 / 0.1) / (2 * x.size))
    assert band[:, 1].max() == pytest.approx(1.0)
    widths = np.ptp(band[:, 1])
    assert widths == pytest.approx(1.0)
    # the half-width in the middle of the sample is the DKW epsilon
    mid = x.size // 2
    lo, hi = (mid + 1) / x.size - eps, (mid + 1) / x.size + eps
    ys = band[:, 1]
    assert np.isclose(ys, lo).any() and np.isclose(ys, hi).any()
    assert ax.get_xlabel() == "standardised value"
    assert plotting.plot_ecdf(x, standardize=False).get_xlabel() == "value"


def test_no_ax_means_a_new_figure_for_every_plot(x):
    # one rule: with ax=None every plot (functions, result.plot(), ecdf(x).plot()) opens a new
    # figure; none draws on the current axes of an earlier figure
    X = np.random.default_rng(0).standard_normal((300, 5))
    calls = [
        lambda: plotting.plot_ecdf(x), lambda: plotting.plot_qq(x), lambda: plotting.plot_ecf(x),
        lambda: plotting.plot_projections(X, 2, rng=0), lambda: plotting.plot_null(normtest.anderson(x)),
        lambda: normtest.anderson(x).plot(), lambda: normtest.epps_pulley(x).plot(),
        lambda: normtest.ecdf(x).plot(),
    ]
    for call in calls:
        fig, old = plt.subplots()
        before = len(old.get_children())
        ax = call()
        assert ax.figure is not fig and ax is not old
        assert len(old.get_children()) == before
        assert plt.gca() is ax  # the new figure is the current one, as plt.subplots() leaves it


def test_null_density_is_smooth_and_matches_the_law():
    # Stephens' formulas are pieced together (A* = 0.2, 0.34, 0.6): the derivative of the CDF
    # itself had spikes there; the drawn density must be unimodal and integrate to the law's CDF
    x = np.random.default_rng(0).normal(size=50)
    for res, tol in ((normtest.anderson(x), 0.02), (normtest.cramervonmises(x), 0.01),
                     (normtest.epps_pulley(x), 0.005)):
        ax = res.plot()
        line = next(ln for ln in ax.lines if ln.get_label() == "null density")
        g, d = line.get_xdata(), line.get_ydata()
        ok = np.isfinite(d)
        g, d = g[ok], d[ok]
        assert ok.mean() > 0.9 and (d >= 0).all()
        assert (np.diff(np.sign(np.diff(d))) < 0).sum() == 1, res.test  # one peak, no spikes
        F = res.null.cdf(g[0]) + np.r_[0.0, np.cumsum(0.5 * (d[1:] + d[:-1]) * np.diff(g))]
        assert np.max(np.abs(F - res.null.cdf(g))) < tol, res.test
        # the finite-difference derivative of Stephens' CDF has those spikes (the cause)
        if res.test == "anderson":
            fd = np.gradient(np.asarray(res.null.cdf(g)), g)
            assert (np.diff(np.sign(np.diff(fd))) < 0).sum() > 1


def test_qq_keeps_the_range_of_the_points_and_lines_match_statsmodels():
    from statsmodels.graphics.gofplots import qqline

    rng = np.random.default_rng(4)
    y = np.r_[rng.normal(size=60), 100.0]
    ax = plotting.plot_qq(y)
    assert ax.get_xlim()[1] < 3.5  # the x-axis is the normal quantiles', not the sample maximum's
    z = rng.exponential(size=80)
    osm, osr = stats.probplot(z, dist="norm", fit=False)
    for line in ("45", "r", "q"):
        ax = plotting.plot_qq(z, standardize=False, line=line, confidence_level=None)
        (p0, p1), slope = ax.lines[1]._xy1, ax.lines[1]._slope
        ref = plt.figure().add_subplot()
        ref.plot(osm, osr, "o")
        qqline(ref, line, osm, osr, dist=stats.norm)
        xs, ys = ref.lines[-1].get_xdata(), ref.lines[-1].get_ydata()
        want = (ys[-1] - ys[0]) / (xs[-1] - xs[0])
        assert slope == pytest.approx(want, rel=1e-9), line
        assert p1 == pytest.approx(ys[0] - want * xs[0], abs=1e-9), line
    ax = plotting.plot_qq(z, standardize=False, line="s", confidence_level=None)
    assert ax.lines[1]._slope == pytest.approx(z.std(ddof=1)) and ax.lines[1]._xy1[1] == pytest.approx(z.mean())
    assert len(plotting.plot_qq(z, line=None).lines) == 1
    assert len(plotting.plot_qq(z, line=None).collections) == 0  # no line, no envelope
    with pytest.raises(ValueError, match="`line`"):
        plotting.plot_qq(z, line="z")


def test_qq_envelope_is_pointwise_exact_for_a_known_line():
    lo, hi = plotting.qq_envelope(30, 0.9)
    sims = np.sort(np.random.default_rng(6).standard_normal((4000, 30)), axis=1)
    outside = ((sims < lo) | (sims > hi)).mean(axis=0)
    np.testing.assert_allclose(outside, 0.1, atol=0.025)  # every position, 4000 replicates
    ax = plotting.plot_qq(sims[0], standardize=False, line="45", confidence_level=0.9)
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    assert np.isclose(band, lo[0]).any() and np.isclose(band, hi[-1]).any()


def test_ecf_default_rule_is_epps_pulleys():
    y = np.random.default_rng(1).standard_t(3, size=300)
    res = normtest.epps_pulley(y)
    ax = plotting.plot_ecf(y)
    nodes = ax.lines[3].get_xdata()
    assert res.quadrature["rule"] == "auto" and nodes.size == res.quadrature["n_nodes"]
    np.testing.assert_allclose(np.diff(nodes), res.quadrature["step"], rtol=1e-12)


def test_qq_points_match_probplot(x):
    ax = plotting.plot_qq(x, standardize=False)
    (osm, osr) = stats.probplot(x, dist="norm", fit=False)
    np.testing.assert_allclose(ax.lines[0].get_xdata(), osm)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), osr)


def test_ecf_curves_and_nodes():
    x = np.random.default_rng(1).standard_t(3, size=300)
    ax = plotting.plot_ecf(x, standardize=False, quadrature="paper", t_max=6.0)
    t = ax.lines[0].get_xdata()
    np.testing.assert_allclose(ax.lines[0].get_ydata(), np.cos(np.outer(t, x)).mean(axis=1), atol=1e-12)
    np.testing.assert_allclose(ax.lines[1].get_ydata(), np.sin(np.outer(t, x)).mean(axis=1), atol=1e-12)
    np.testing.assert_allclose(ax.lines[2].get_ydata(), np.exp(-t**2 / 2))
    nodes = ax.lines[3].get_xdata()
    np.testing.assert_allclose(nodes, np.linspace(0.625, 5, 8))  # paper rule folded onto t > 0
    # no node markers for the exact statistic
    assert len(plotting.plot_ecf(x, quadrature="exact").lines) == 4


def test_projection_histograms():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((400, 3))
    A = np.eye(3)[:, :2] * 2.0  # normalised inside
    ax = plotting.plot_projections(X, A, bins=20)
    assert len(ax.patches) == 2
    heights = ax.patches[0].get_path().vertices[:, 1]
    expected, _ = np.histogram(X[:, 0], bins=20, density=True)
    assert heights.max() == pytest.approx(expected.max())
    ax = plotting.plot_projections(X * 5 + 1, 3, standardize=True, rng=0)
    assert len(ax.patches) == 3


def test_null_plots_monte_carlo_and_analytic(x):
    mc = normtest.cramervonmises(x, method=normtest.MonteCarlo(n_resamples=499, rng=0))
    ax = plotting.plot_null(mc, bins=30)
    assert len(ax.patches) == 30
    assert ax.lines[-1].get_xdata()[0] == pytest.approx(float(mc.statistic))
    an = normtest.anderson(np.random.default_rng(3).exponential(size=60))
    ax = an.plot()
    assert ax.get_xlim()[1] >= float(an.statistic)
    assert "anderson" in ax.get_title()


@pytest.mark.parametrize("call, exc, match", [
    (lambda: plotting.plot_ecdf([1.0]), ValueError, "at least 2"),
    (lambda: plotting.plot_ecdf([1.0, 1.0, 1.0]), ValueError, "constant"),
    (lambda: plotting.plot_ecdf(["a", "b"]), TypeError, "x"),
    (lambda: plotting.plot_ecdf(np.arange(5.0), confidence_level=1.5), ValueError, "confidence_level"),
    (lambda: plotting.plot_qq(np.arange(5.0), standardize="no"), TypeError, "standardize"),
    (lambda: plotting.plot_ecf(np.arange(5.0), quadrature="simpson"), ValueError, "quadrature"),
    (lambda: plotting.plot_ecf(np.arange(5.0), t_max=-1.0), ValueError, "t_max"),
    (lambda: plotting.plot_projections(np.zeros(5)), ValueError, "2-D"),
    (lambda: plotting.plot_projections(np.ones((5, 2)), np.ones((3, 1))), ValueError, "directions"),
    (lambda: plotting.plot_projections(np.ones((5, 2)), np.zeros((2, 1))), ValueError, "non-zero"),
    (lambda: plotting.plot_projections(np.ones((5, 2)), 0), ValueError, "directions"),
    (lambda: plotting.plot_projections(np.ones((5, 2)), 2, standardize=True), ValueError, "singular"),
    (lambda: plotting.plot_null(normtest.anderson(np.ones((2, 20)) * np.arange(20.0), axis=1)), ValueError,
     "one sample"),
    (lambda: plotting.plot_null(normtest.anderson(np.arange(20.0)), bins=0), ValueError, "bins"),
])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_input_not_mutated(x):
    before = x.copy()
    plotting.plot_ecdf(x)
    plotting.plot_qq(x)
    plotting.plot_ecf(x)
    np.testing.assert_array_equal(x, before)


def test_lazy_imports():
    code = (
        "import sys, normtest, normtest.plotting;"
        "print('matplotlib' in sys.modules);"
        "import matplotlib; matplotlib.use('Agg'); import matplotlib.figure, numpy as np;"
        "ax = matplotlib.figure.Figure().subplots();"
        "normtest.plotting.plot_qq(np.arange(10.0), ax=ax);"
        "print('matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False"]
