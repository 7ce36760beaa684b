"""normtest.dask: block sums reduce to the in-memory numbers, whatever the chunking."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
from dask.delayed import Delayed  # noqa: E402

import normtest  # noqa: E402
import normtest.dask as ntd  # noqa: E402


@pytest.mark.parametrize("standardize", [True, False])
@pytest.mark.parametrize("quadrature", ["auto", "lejepa", "paper", "exact"])
def test_matches_in_memory(standardize, quadrature, rng):
    x = rng.standard_t(6, size=3000) * 1.3 + 0.2
    ref = normtest.epps_pulley(x, standardize=standardize, quadrature=quadrature)
    lazy = ntd.epps_pulley(da.from_array(x, chunks=700), standardize=standardize, quadrature=quadrature)
    assert isinstance(lazy, Delayed)
    res = lazy.compute()
    np.testing.assert_allclose(res.statistic, ref.statistic, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.pvalue, ref.pvalue, rtol=1e-7, atol=1e-12)
    assert res.method == ref.method and res.n == ref.n == 3000


def test_chunking_does_not_matter(rng):
    x = rng.standard_normal(5000)
    vals = [ntd.epps_pulley(da.from_array(x, chunks=c)).compute().statistic for c in (5000, 1234, 300)]
    np.testing.assert_allclose(vals, vals[0], rtol=1e-12)


def test_columns_and_nan_policy(rng):
    X = rng.standard_normal((400, 3))
    X[5, 1] = np.nan
    lazy = ntd.epps_pulley(da.from_array(X, chunks=(100, 3)), nan_policy="omit").compute()
    ref = normtest.epps_pulley(X, nan_policy="omit")
    np.testing.assert_allclose(lazy.statistic, ref.statistic, rtol=1e-9)
    np.testing.assert_array_equal(lazy.n, [400, 399, 400])
    prop = ntd.epps_pulley(da.from_array(X, chunks=(100, 3))).compute()
    assert np.isnan(prop.statistic[1]) and np.isfinite(prop.statistic[[0, 2]]).all()


def test_monte_carlo_matches(rng):
    x = rng.standard_normal(200)
    mc = normtest.MonteCarlo(n_resamples=199, rng=3)
    res = ntd.epps_pulley(da.from_array(x, chunks=50), method=mc).compute()
    ref = normtest.epps_pulley(x, method=normtest.MonteCarlo(n_resamples=199, rng=3))
    assert res.pvalue == ref.pvalue and res.method == "monte-carlo"


def test_ecf_sums_against_direct(rng):
    x = rng.standard_normal(1000)
    t = np.array([0.3, 1.1, 2.0])
    C, S = ntd.ecf_sums(da.from_array(x, chunks=128), t).compute()
    np.testing.assert_allclose(C[0], np.cos(np.outer(x, t)).sum(0), rtol=1e-12)
    np.testing.assert_allclose(S[0], np.sin(np.outer(x, t)).sum(0), rtol=1e-10, atol=1e-10)


def test_bad_input():
    with pytest.raises(ValueError, match="nan_policy"):
        ntd.epps_pulley(np.ones(10), nan_policy="raise")
    with pytest.raises(ValueError, match="x"):
        ntd.epps_pulley(da.zeros((2, 2, 2)))
    with pytest.raises(TypeError, match="x"):
        ntd.epps_pulley(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="nodes"):
        ntd.ecf_sums(np.ones(10), [])
