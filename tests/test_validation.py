"""Bad input (issue 2's list) through the EDF tests, and the shared machinery:
_validate (checks, vectorize_1d), _result (TestResult) and null (MonteCarlo, the engine, nulls)."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import normtest
from normtest import _validate as v
from normtest.null import AnalyticNull, MonteCarlo, MonteCarloNull, check_method, monte_carlo_null

EDF = [normtest.anderson, normtest.cramervonmises]


# ---------------------------------------------------------------------------
# The bad-input list, through anderson / cramervonmises / ecdf
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("f", EDF)
def test_empty_input(f):
    with pytest.raises(ValueError, match="`x` must not be empty"):
        f([])
    with pytest.raises(ValueError, match="`x` must not be empty"):
        normtest.ecdf(np.array([]))


@pytest.mark.parametrize("f", EDF)
@pytest.mark.parametrize("standardize, n", [(False, 1), (True, 7)])
def test_below_minimum_n_gives_nan_and_warning(f, standardize, n):
    x = np.linspace(-1, 1, n) if n > 1 else np.array([0.3])
    with pytest.warns(normtest.SmallSampleWarning, match=r"n >= "):
        res = f(x, standardize=standardize)
    assert np.isnan(res.statistic) and np.isnan(res.pvalue) and res.n == n


@pytest.mark.parametrize("f", EDF)
def test_empty_slice_among_others(f, rng):
    x = rng.normal(size=(3, 0))
    with pytest.warns(normtest.SmallSampleWarning):
        res = f(x, axis=1)
    assert res.statistic.shape == (3,) and np.all(np.isnan(res.pvalue))


@pytest.mark.parametrize("f", EDF)
def test_nan_and_inf(f, rng):
    x = rng.normal(size=20)
    x[4] = np.nan
    assert np.isnan(f(x).pvalue)
    assert f(x, nan_policy="omit").n == 19
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        f(x, nan_policy="raise")
    with pytest.raises(ValueError, match="`nan_policy` must be one of"):
        f(x, nan_policy="ignore")
    with pytest.raises(TypeError, match="`nan_policy` must be a str"):
        f(x, nan_policy=None)
    x[4] = np.inf
    with pytest.raises(ValueError, match="infinite"):
        f(x)


@pytest.mark.parametrize("f", EDF)
def test_constant_data(f):
    x = np.full(12, 3.7)
    with pytest.warns(normtest.DegenerateDataWarning, match="zero variance"):
        res = f(x)
    assert np.isnan(res.statistic) and np.isnan(res.pvalue)
    # the simple null is still well defined for constant data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = f(x, standardize=False)
    assert np.isfinite(res.statistic) and res.pvalue < 1e-3
    # one constant column among good ones: only that one is NaN
    y = np.random.default_rng(0).normal(size=(12, 3))
    y[:, 1] = 2.0
    with pytest.warns(normtest.DegenerateDataWarning):
        res = f(y)
    assert np.isnan(res.statistic[1]) and np.all(np.isfinite(res.statistic[[0, 2]]))


@pytest.mark.parametrize("f", EDF)
def test_zero_d_input(f):
    with pytest.raises(ValueError, match="at least 1 dimension"):
        f(3.0)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        f(np.float64(1.0))


@pytest.mark.parametrize("f", EDF + [normtest.ecdf])
@pytest.mark.parametrize("bad, kind", [
    (["a", "b", "c"], "real numbers"),
    (np.array([1, 2, 3], dtype=object), "real numbers"),
    (np.array([1 + 1j, 2, 3]), "complex"),
    (np.array([True, False, True]), "booleans"),
])
def test_bad_dtypes(f, bad, kind):
    with pytest.raises(TypeError, match=kind):
        f(bad)


@pytest.mark.parametrize("f", EDF)
def test_bad_axis(f, rng):
    x = rng.normal(size=(10, 3))
    with pytest.raises(ValueError, match=r"`axis` must be in the range \[-2, 1\]"):
        f(x, axis=2)
    with pytest.raises(ValueError, match="`axis`"):
        f(x, axis=-3)
    with pytest.raises(TypeError, match="`axis` must be an int or None"):
        f(x, axis=1.0)
    with pytest.raises(TypeError, match="`axis`"):
        f(x, axis=True)


@pytest.mark.parametrize("f", EDF)
def test_bad_method(f, rng):
    x = rng.normal(size=10)
    with pytest.raises(ValueError, match="`method` must be None, a normtest.MonteCarlo"):
        f(x, method="exact")
    with pytest.raises(TypeError, match="`method`"):
        f(x, method=9999)
    assert f(x, standardize=False, method="asymptotic").method == "asymptotic"


@pytest.mark.parametrize("bad", [0, -5])
def test_bad_n_resamples_value(bad):
    with pytest.raises(ValueError, match="`n_resamples` must be an int >= 1"):
        MonteCarlo(n_resamples=bad)


@pytest.mark.parametrize("bad", [10.5, 1e3, "100", None, True])
def test_bad_n_resamples_type(bad):
    with pytest.raises(TypeError, match="`n_resamples` must be an int"):
        MonteCarlo(n_resamples=bad)


def test_bad_montecarlo_other_settings():
    with pytest.raises(ValueError, match="`batch`"):
        MonteCarlo(batch=0)
    with pytest.raises(TypeError, match="`rng`"):
        MonteCarlo(rng="seed")
    with pytest.raises(ValueError, match="`rng`"):
        MonteCarlo(rng=-1)
    with pytest.raises(TypeError, match="`progress`"):
        MonteCarlo(progress=1)


@pytest.mark.parametrize("f", EDF)
@pytest.mark.parametrize("bad", [1, 0, "yes", None, np.array([True])])
def test_bad_standardize(f, bad, rng):
    with pytest.raises(TypeError, match="`standardize` must be a bool"):
        f(rng.normal(size=10), standardize=bad)


@pytest.mark.parametrize("f", EDF)
def test_bad_keepdims(f, rng):
    with pytest.raises(TypeError, match="`keepdims` must be a bool"):
        f(rng.normal(size=10), keepdims="no")


@pytest.mark.parametrize("f", EDF)
def test_caller_input_untouched(f, rng):
    x = rng.normal(size=(15, 4)) * 3 + 1
    x[2, 1] = np.nan
    before = x.copy()
    f(x, nan_policy="omit")
    f(x, standardize=False, nan_policy="omit", method=MonteCarlo(n_resamples=19, rng=0))
    assert_array_equal(x, before)
    s = pd.Series(x[:, 0])
    f(s)
    assert_array_equal(s.to_numpy(), before[:, 0])


# ---------------------------------------------------------------------------
# _validate
# ---------------------------------------------------------------------------

def test_check_helpers_messages():
    assert v.check_bool(np.bool_(True), "flag") is True
    with pytest.raises(TypeError, match=r"`flag` must be a bool \(True or False\). Got 1 instead."):
        v.check_bool(1, "flag")
    assert v.check_int(np.int32(4), "k", minimum=1) == 4
    with pytest.raises(ValueError, match=r"`k` must be an int >= 1. Got 0 instead."):
        v.check_int(0, "k", minimum=1)
    with pytest.raises(ValueError, match="<= 3"):
        v.check_int(4, "k", maximum=3)
    assert v.check_int(None, "k", allow_none=True) is None
    assert v.check_float(0.5, "alpha", low=0, high=1) == 0.5
    with pytest.raises(ValueError, match=r"`alpha` must be a finite float in the interval \(0, 1\). Got 2.0"):
        v.check_float(2, "alpha", low=0, high=1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        v.check_float(-0.1, "alpha", low=0, high=1, low_open=False, high_open=False)
    with pytest.raises(TypeError, match="real number"):
        v.check_float("0.1", "alpha")
    with pytest.raises(ValueError, match="one of"):
        v.check_choice("x", "kind", ("a", "b"))
    assert v.check_axis(-1, 3) == 2 and v.check_axis(None, 2) is None


def test_rng_resolution():
    gen, seed = v.resolve_rng(5)
    assert seed == 5 and gen.integers(1 << 30) == np.random.default_rng(5).integers(1 << 30)
    gen, seed = v.resolve_rng(None)
    assert isinstance(seed, int)
    assert gen.random() == np.random.default_rng(seed).random()
    g = np.random.default_rng(1)
    gen, seed = v.resolve_rng(g)
    assert gen is g and seed is None
    gen, seed = v.resolve_rng(np.random.SeedSequence(77))
    assert seed == 77
    with pytest.raises(TypeError, match="`rng`"):
        v.check_rng(1.5)
    with pytest.raises(TypeError, match="`rng`"):
        v.check_rng(True)


def test_as_float_sample_copies_and_converts():
    x = np.arange(5, dtype=np.int16)
    out = v.as_float_sample(x)
    assert out.dtype == np.float64 and out is not x
    out[0] = 99
    assert x[0] == 0
    f32 = v.as_float_sample(np.ones(3, np.float32), dtype=None)
    assert f32.dtype == np.float32
    with pytest.raises(TypeError, match="array-like"):
        v.as_float_sample([[1, 2], [3]])


def test_vectorize_1d_against_loop(rng):
    x = rng.normal(size=(4, 7, 3))
    x[1, 2, 0] = np.nan

    def compute(data):
        return {"statistic": data.mean(axis=1), "pvalue": data.std(axis=1),
                "_meta": {"null": "law-%d" % data.shape[1]}}

    out = v.vectorize_1d(x, axis=1, nan_policy="omit", min_n=2, compute=compute, test="t")
    assert out["statistic"].shape == (4, 3)
    for i in range(4):
        for j in range(3):
            col = x[i, :, j]
            col = col[~np.isnan(col)]
            assert_allclose(out["statistic"][i, j], col.mean())
            assert out["n"][i, j] == col.size
    assert sorted(m["null"] for m in out["meta"]) == ["law-6", "law-7"]
    kept = v.vectorize_1d(x, axis=1, nan_policy="omit", min_n=2, compute=compute, keepdims=True)
    assert kept["statistic"].shape == (4, 1, 3)
    assert_allclose(kept["statistic"][:, 0, :], out["statistic"])
    flat = v.vectorize_1d(x, axis=None, nan_policy="omit", min_n=2, compute=compute, keepdims=True)
    assert flat["statistic"].shape == (1, 1, 1)
    with pytest.warns(v.SmallSampleWarning, match="n >= 9"):
        small = v.vectorize_1d(x, axis=1, nan_policy="omit", min_n=9, compute=compute)
    assert np.all(np.isnan(small["statistic"]))


# ---------------------------------------------------------------------------
# _result
# ---------------------------------------------------------------------------

def test_result_to_dict_round_trip(rng):
    x = rng.normal(size=(20, 3))
    res = normtest.anderson(x, method=MonteCarlo(n_resamples=99, rng=11))
    d = res.to_dict()
    back = json.loads(res.to_json())
    assert back == json.loads(json.dumps(d))
    assert back["test"] == "anderson" and back["method"] == "monte-carlo" and back["seed"] == 11
    assert_allclose(back["statistic"], res.statistic)
    assert_allclose(back["pvalue"], res.pvalue)
    assert_allclose(back["pvalue_se"], res.pvalue_se)
    assert back["n"] == [20, 20, 20] and back["standardize"] is True
    assert back["null"]["kind"] == "monte-carlo" and back["null"]["n_resamples"] == 99
    assert back["settings"] == {"ddof": 1, "n_resamples": 99, "batch": None}
    # rebuilding from the record gives the same numbers
    again = normtest.anderson(x, method=MonteCarlo(n_resamples=back["settings"]["n_resamples"],
                                                   rng=back["seed"]))
    assert_array_equal(again.pvalue, res.pvalue)


def test_result_is_frozen_and_unpacks(rng):
    res = normtest.cramervonmises(rng.normal(size=10))
    stat, p = res
    assert (stat, p) == (res[0], res[1]) and len(res) == 2
    with pytest.raises(Exception):
        res.pvalue = 0.5
    assert isinstance(res, normtest.TestResult)


# ---------------------------------------------------------------------------
# null: MonteCarlo, engine cache, null objects
# ---------------------------------------------------------------------------

def test_check_method():
    assert check_method(None) is None
    m = MonteCarlo()
    assert check_method(m) is m
    assert isinstance(check_method("monte-carlo"), MonteCarlo)
    assert check_method("asymptotic") == "asymptotic"
    with pytest.raises(ValueError, match="`method`"):
        check_method("exact", allowed=("asymptotic",))
    assert "n_resamples=9999" in repr(m)


def _sim(size, gen):
    return gen.standard_normal(size)


def test_cache_hit_restores_generator_state():
    normtest.clear_null_cache()
    g1 = np.random.default_rng(123)
    m = MonteCarlo(n_resamples=500, batch=128)
    a = monte_carlo_null(("toy", 1), _sim, m, values_per_resample=1, rng_override=g1)
    after_fresh = g1.bit_generator.state
    g2 = np.random.default_rng(123)
    b = monte_carlo_null(("toy", 1), _sim, m, values_per_resample=1, rng_override=g2)
    assert b is a  # cache hit
    assert g2.bit_generator.state == after_fresh  # as if it had simulated
    assert g1.random() == g2.random()
    # a different key, B or batch is a different null
    c = monte_carlo_null(("toy", 2), _sim, m, values_per_resample=1, rng_override=np.random.default_rng(123))
    assert c is not a
    d = monte_carlo_null(("toy", 1), _sim, MonteCarlo(n_resamples=500, batch=64), values_per_resample=1,
                         rng_override=np.random.default_rng(123))
    assert d is not a
    normtest.clear_null_cache()
    e = monte_carlo_null(("toy", 1), _sim, m, values_per_resample=1, rng_override=np.random.default_rng(123))
    assert e is not a
    assert_array_equal(e.sample, a.sample)


def test_monte_carlo_null_object():
    null = MonteCarloNull(np.arange(1.0, 101.0), params={"n": 5}, seed=3)
    assert null.sf(100.0) == 2 / 101 and null.sf(0.5) == 1.0 and null.sf(101) == 1 / 101
    assert null.cdf(50.0) == 0.5 and np.isnan(null.sf(np.nan))
    assert null.ppf(0.5) == 50.0
    assert_allclose(null.pvalue_se(100.0), np.sqrt((2 / 101) * (1 - 2 / 101) / 100))
    assert null.describe() == {"kind": "monte-carlo", "n_resamples": 100, "n": 5, "seed": 3}
    with pytest.raises(ValueError):
        null.sample[0] = 1.0


def test_analytic_null_object():
    from scipy import stats

    null = AnalyticNull("expo", sf=lambda x: np.exp(-np.asarray(x)), support=(0.0, 1.0), params={"n": 1})
    assert_allclose(null.cdf(1.0), 1 - np.exp(-1))
    assert_allclose(null.ppf([0.5, 0.99]), stats.expon.ppf([0.5, 0.99]), rtol=1e-9)
    assert_allclose(null.critical_value(0.05), stats.expon.isf(0.05), rtol=1e-9)
    assert null.describe() == {"kind": "expo", "n": 1}
    with pytest.raises(ValueError):
        AnalyticNull("none")


def test_invert_cdf_is_the_generalised_inverse():
    """The one ppf inverter: inf{x : cdf(x) >= q}, also at a jump; bounds, growth and bad q."""
    from scipy import stats

    from normtest.null import invert_cdf

    q = np.array([1e-6, 0.01, 0.5, 0.99, 0.999])  # (beyond, the cdf's rounding limits any inverse)
    assert_allclose(invert_cdf(stats.expon.cdf, q, 0.0, 1.0, grow=True), stats.expon.ppf(q), rtol=1e-12)

    def step(x):  # continuous, with a jump of 0.3 at x = 1
        x = np.asarray(x, dtype=float)
        return np.where(x < 1.0, 0.5 * np.clip(x, 0, 1), np.minimum(0.8 + 0.1 * (x - 1.0), 1.0))

    for qi in (0.55, 0.7, 0.8):  # inside the jump: the jump point itself
        x = float(invert_cdf(step, qi, 0.0, 3.0))
        assert step(x) >= qi and x == pytest.approx(1.0, abs=1e-12)
    assert float(invert_cdf(step, 0.25, 0.0, 3.0)) == pytest.approx(0.5, rel=1e-12)
    assert invert_cdf(step, 0.0, 0.0, 3.0) == 0.0 and invert_cdf(step, 1.0, 0.0, 3.0) == np.inf
    assert invert_cdf(lambda x: 0.5 * np.minimum(x, 1.0), 0.9, 0.0, 2.0) == np.inf  # above cdf(hi)
    out = invert_cdf(stats.expon.cdf, [np.nan, -0.1, 1.5], 0.0, 1.0, grow=True)
    assert np.isnan(out).all()
