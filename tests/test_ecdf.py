"""Tests of normtest.ecdf and its confidence bands."""

import importlib.util
import pathlib

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import special, stats

import normtest

_spec = importlib.util.spec_from_file_location("normtest_tests_naive",
                                              pathlib.Path(__file__).with_name("naive.py"))
naive = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(naive)


def test_support_probabilities_and_evaluate(rng):
    x = np.round(rng.normal(size=60), 1)  # ties
    res = normtest.ecdf(x)
    assert res.n == 60
    assert_array_equal(res.support, np.unique(x))
    assert_allclose(res.probabilities, [naive.ecdf_value(x, s) for s in res.support])
    q = np.concatenate([res.support, res.support + 0.05, [-10.0, 10.0]])
    assert_allclose(res.evaluate(q), [naive.ecdf_value(x, v) for v in q])
    # right-continuous: at a jump point the value is the upper one
    assert res.evaluate(res.support[0]) == res.probabilities[0]
    assert res.evaluate(np.nextafter(res.support[0], -np.inf)) == 0.0
    assert np.isnan(res.evaluate(np.nan))
    assert res.evaluate([[0.0]]).shape == (1, 1)


def test_matches_scipy_ecdf(rng):
    x = rng.exponential(size=40)
    ours = normtest.ecdf(x)
    ref = stats.ecdf(x).cdf
    assert_allclose(ours.support, ref.quantiles)
    assert_allclose(ours.probabilities, ref.probabilities)
    q = np.linspace(-1, 5, 50)
    assert_allclose(ours.evaluate(q), ref.evaluate(q))


def test_dkw_band():
    x = np.arange(1.0, 51.0)
    band = normtest.ecdf(x).confidence_band(0.9, kind="dkw")
    eps = np.sqrt(np.log(2 / 0.1) / (2 * 50))
    p = np.arange(1, 51) / 50
    assert_allclose(band.low, np.clip(p - eps, 0, 1))
    assert_allclose(band.high, np.clip(p + eps, 0, 1))
    assert band.kind == "dkw" and band.confidence_level == 0.9
    assert "dkw" in repr(band)


def test_pointwise_band_is_wilson():
    x = np.arange(1.0, 21.0)
    band = normtest.ecdf(x).confidence_band(0.95, kind="pointwise")
    z = special.ndtri(0.975)
    n = 20
    for k in (1, 7, 20):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        assert_allclose([band.low[k - 1], band.high[k - 1]], [max(centre - half, 0), min(centre + half, 1)])
    # Wilson contains the estimate and is narrower than DKW's simultaneous band in the middle
    dkw = normtest.ecdf(x).confidence_band(0.95)
    assert np.all(band.low <= np.arange(1, 21) / 20) and np.all(band.high >= np.arange(1, 21) / 20)
    assert (band.high - band.low)[9] < (dkw.high - dkw.low)[9]


def test_dkw_band_simultaneous_coverage():
    # seeded check: the true cdf Φ lies inside the whole 90% DKW band in >= 90% of samples
    rng = np.random.default_rng(5)
    reps, n = 2000, 50
    inside = 0
    for _ in range(reps):
        x = rng.normal(size=n)
        res = normtest.ecdf(x)
        band = res.confidence_band(0.9)
        s = res.support
        # F is monotone, the band a step function: check both ends of every step
        left_ok = np.all(special.ndtr(s) >= band.low) and np.all(special.ndtr(s) <= band.high)
        right = np.append(s[1:], np.inf)
        right_ok = np.all(special.ndtr(right) <= band.high + 1e-15)
        below_first = special.ndtr(s[0]) <= np.sqrt(np.log(2 / 0.1) / (2 * n))
        inside += left_ok and right_ok and below_first
    assert inside / reps >= 0.9


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1, np.nan])
def test_band_bad_confidence_level(bad):
    with pytest.raises(ValueError, match="confidence_level"):
        normtest.ecdf([1.0, 2.0]).confidence_band(bad)


def test_band_bad_kind_and_types():
    res = normtest.ecdf([1.0, 2.0])
    with pytest.raises(ValueError, match="kind"):
        res.confidence_band(0.9, kind="simultaneous")
    with pytest.raises(TypeError, match="confidence_level"):
        res.confidence_band("0.9")


def test_nan_policy():
    x = np.array([1.0, np.nan, 3.0, 2.0])
    res = normtest.ecdf(x, nan_policy="omit")
    assert res.n == 3
    assert_array_equal(res.support, [1.0, 2.0, 3.0])
    prop = normtest.ecdf(x)
    assert np.all(np.isnan(prop.probabilities)) and np.isnan(prop.evaluate(2.0))
    assert np.all(np.isnan(prop.confidence_band().low))
    with pytest.raises(ValueError, match="nan_policy"):
        normtest.ecdf(x, nan_policy="raise")
    with pytest.raises(ValueError, match="nan_policy"):
        normtest.ecdf(x, nan_policy="drop")
    with pytest.raises(ValueError, match="non-NaN"):
        normtest.ecdf([np.nan], nan_policy="omit")


def test_inputs(rng):
    x = rng.normal(size=10)
    before = x.copy()
    a = normtest.ecdf(x)
    assert_array_equal(x, before)  # not sorted in place
    b = normtest.ecdf(pd.Series(x))
    c = normtest.ecdf(list(x))
    d = normtest.ecdf(x.astype(np.float32))
    assert_array_equal(a.support, b.support)
    assert_array_equal(a.support, c.support)
    assert_allclose(d.support, a.support, rtol=1e-6)
    assert_array_equal(normtest.ecdf([3, 1, 2]).support, [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="one-dimensional"):
        normtest.ecdf(np.ones((2, 3)))
    with pytest.raises(ValueError, match="empty"):
        normtest.ecdf([])
    with pytest.raises(ValueError):
        normtest.ecdf(3.0)
    with pytest.raises(TypeError):
        normtest.ecdf(["a", "b"])
    with pytest.raises(ValueError, match="infinite"):
        normtest.ecdf([1.0, np.inf])
    assert "n=10" in repr(a)


def test_result_arrays_are_read_only(rng):
    res = normtest.ecdf(rng.normal(size=5))
    with pytest.raises(ValueError):
        res.probabilities[0] = 0.5


def test_plot_returns_axes(rng):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    res = normtest.ecdf(rng.normal(size=30))
    fig, ax = plt.subplots()
    out = res.plot(ax=ax, band="dkw", color="k")
    assert out is ax
    assert len(ax.lines) == 1 and len(ax.collections) == 1
    ax2 = res.plot(band=None)
    assert ax2 is plt.gca()
    res.plot(ax=ax, band="pointwise", confidence_level=0.8)
    with pytest.raises(ValueError, match="kind"):
        res.plot(ax=ax, band="bogus")
    plt.close("all")
