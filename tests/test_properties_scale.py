"""Property tests for the guarantees of issue 15, for every public test.

- scale invariance over the whole float range (1e-300 ... 1e300) and shift
  invariance up to 1e15 times the spread, with ``standardize=True``, to 1e-12
  relative (the tests are affine invariant; the standardisation must not
  overflow, underflow or cancel);
- masked arrays equal their compressed data (SciPy's convention);
- permuting the observations changes nothing but rounding.

Samples come from seeded normal draws (fast, never degenerate by accident);
hypothesis chooses the seed, size, scale exponent and shift.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import normtest

HYP = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow],
               derandomize=True)
TOL = dict(rtol=1e-12, atol=1e-12)

UNIVARIATE = {
    "anderson": normtest.anderson,
    "cramervonmises": normtest.cramervonmises,
    "epps_pulley": normtest.epps_pulley,
}


def _sliced(X, **kw):
    from normtest.ecf.sliced import min_sample_size

    n, D = np.asarray(X).shape
    if n < min_sample_size(D, kw.get("standardize", False)):  # no default p below it: an exact one
        kw.setdefault("method", normtest.MonteCarlo(99, rng=0))
    A = np.random.default_rng(99).standard_normal((D, 6))
    return normtest.sliced_epps_pulley(X, directions=A / np.linalg.norm(A, axis=0), **kw)


MULTIVARIATE = {
    "sliced_epps_pulley": lambda X, **kw: _sliced(X, standardize=True, **kw),
    "bhep": normtest.bhep,
    "henze_zirkler": normtest.henze_zirkler,
}

seeds = st.integers(0, 2**32 - 1)
exponents = st.integers(-300, 300)


def _fits(e, *factors):
    """True when 10**e times the factors stays well inside the float range (checked in logs)."""
    return e + sum(np.log10(max(abs(float(f)), 1e-300)) for f in factors) < 306


def _close(a, b):
    np.testing.assert_allclose(np.asarray(a.statistic), np.asarray(b.statistic), **TOL)
    np.testing.assert_allclose(np.asarray(a.pvalue), np.asarray(b.pvalue), **TOL)


@pytest.mark.parametrize("name", sorted(UNIVARIATE))
@HYP
@given(seed=seeds, n=st.integers(10, 120), e=exponents, sign=st.sampled_from([1.0, -1.0]))
def test_univariate_scale_invariance(name, seed, n, e, sign):
    x = np.random.default_rng(seed).standard_normal(n)
    if not _fits(e, np.abs(x).max()):
        return
    scale = sign * 10.0 ** e
    test = UNIVARIATE[name]
    # x * scale rounds each value by 1/2 ulp: the statistic moves by ~1e-16, far below TOL
    _close(test(x * scale), test(x))


@pytest.mark.parametrize("name", sorted(UNIVARIATE))
@HYP
@given(seed=seeds, n=st.integers(10, 120), e=exponents, shift=st.floats(-1e15, 1e15))
def test_univariate_shift_invariance(name, seed, n, e, shift):
    scale = 10.0 ** e
    x = np.random.default_rng(seed).standard_normal(n) * scale
    if not _fits(e, abs(shift) + np.abs(x / scale).max()):
        return
    a = shift * scale
    y = a + x            # the data as stored (rounded to the grid of |a|)
    exact = y - a        # the same sample shifted back: exact where y and a are close (Sterbenz)
    if np.ptp(exact) == 0:
        return
    test = UNIVARIATE[name]
    _close(test(y), test(exact))


@pytest.mark.parametrize("name", sorted(UNIVARIATE))
@HYP
@given(seed=seeds, n=st.integers(12, 80), k=st.integers(1, 10), nan=st.booleans())
def test_univariate_masked_equals_compressed(name, seed, n, k, nan):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n + k)
    mask = np.zeros(n + k, dtype=bool)
    mask[rng.choice(n + k, k, replace=False)] = True
    x[mask] = 1e6 * rng.standard_normal(k)  # what the mask hides must not matter
    if nan:
        x[mask] = np.nan
    test = UNIVARIATE[name]
    xm = np.ma.masked_array(x, mask=mask)
    _close(test(xm), test(x[~mask]))
    _close(test(xm, nan_policy="omit"), test(x[~mask]))


@pytest.mark.parametrize("name", sorted(UNIVARIATE))
@HYP
@given(seed=seeds, n=st.integers(10, 150), std=st.booleans())
def test_univariate_permutation_invariance(name, seed, n, std):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) * 2.0 + 0.5
    test = UNIVARIATE[name]
    _close(test(rng.permutation(x), standardize=std), test(x, standardize=std))


@pytest.mark.parametrize("name", sorted(MULTIVARIATE))
@HYP
@given(seed=seeds, n=st.integers(60, 90), d=st.integers(1, 3), e=exponents,
       shift=st.floats(-1e15, 1e15))  # n >= bhep's smallest n with a default p-value (max(50, 20 d))
def test_multivariate_scale_and_shift_invariance(name, seed, n, d, e, shift):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) @ (np.eye(d) + 0.3 * rng.standard_normal((d, d)))
    if not _fits(e, np.abs(X).max() * (1 + abs(shift))):
        return
    scale = 10.0 ** e
    test = MULTIVARIATE[name]
    Y = X * scale + shift * scale
    exact = Y - shift * scale
    if (np.ptp(exact, axis=0) == 0).any():
        return
    _close(test(Y), test(exact))
    _close(test(X * scale), test(X))


@pytest.mark.parametrize("name", ["bhep", "henze_zirkler"])
@HYP
@given(seed=seeds, n=st.integers(60, 90), e=st.lists(st.integers(-150, 150), min_size=3, max_size=3))
def test_bhep_column_units_invariance(name, seed, n, e):
    # root-free statistics: columns in metres, nanometres, light years give the same value
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)) @ (np.eye(3) + 0.3 * rng.standard_normal((3, 3)))
    units = 10.0 ** np.asarray(e, dtype=float)
    test = MULTIVARIATE[name]
    np.testing.assert_allclose(test(X * units).statistic, test(X).statistic, rtol=1e-10)


@pytest.mark.parametrize("name", sorted(MULTIVARIATE))
@HYP
@given(seed=seeds, n=st.integers(64, 90), k=st.integers(1, 5))  # n >= every default p-value's minimum at D = 2
def test_multivariate_masked_rows_and_permutation(name, seed, n, k):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n + k, 2))
    mask = np.zeros_like(X, dtype=bool)
    rows = rng.choice(n + k, k, replace=False)
    mask[rows, rng.integers(0, 2, k)] = True
    X[mask] = 1e6
    test = MULTIVARIATE[name]
    keep = ~mask.any(axis=1)
    _close(test(np.ma.masked_array(X, mask=mask)), test(X[keep]))
    _close(test(rng.permutation(X[keep])), test(X[keep]))


@HYP
@given(seed=seeds, n=st.integers(20, 80), e=exponents)
def test_torch_scale_invariance(seed, n, e):
    torch = pytest.importorskip("torch")
    import normtest.torch as nt

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2))
    if not _fits(e, np.abs(x).max() * 4):
        return
    scale = 10.0 ** e
    np.testing.assert_allclose(nt.epps_pulley(torch.tensor(x * scale)).numpy(),
                               nt.epps_pulley(torch.tensor(x)).numpy(), **TOL)
    A = np.eye(2)
    np.testing.assert_allclose(
        float(nt.sliced_epps_pulley(torch.tensor(x * scale + 3 * scale), directions=A, standardize=True)),
        float(nt.sliced_epps_pulley(torch.tensor(x), directions=A, standardize=True)), **TOL)


@settings(max_examples=5, deadline=None, derandomize=True)
@given(seed=seeds, n=st.integers(20, 80), e=exponents, shift=st.floats(-1e15, 1e15))
def test_dask_scale_and_shift_invariance(seed, n, e, shift):
    da = pytest.importorskip("dask.array")
    import normtest.dask as nd

    scale = 10.0 ** e
    x = np.random.default_rng(seed).standard_normal(n) * scale
    if not _fits(e, abs(shift) + np.abs(x / scale).max()):
        return
    a = shift * scale
    y = a + x
    ref = normtest.epps_pulley(y - a)
    got = nd.epps_pulley(da.from_array(y, chunks=max(5, n // 3))).compute()
    _close(got, ref)


@settings(max_examples=5, deadline=None, derandomize=True)
@given(seed=seeds, n=st.integers(70, 120), e=exponents, shift=st.floats(-1e15, 1e15))  # n >= the composite minimum at D = 3
def test_streamed_sliced_scale_and_shift_invariance(seed, n, e, shift):
    # the accumulators dask and Spark run: merged pass-1 moments keep the powers of two and hi + lo
    from normtest.streaming import SlicedEppsPulley, accumulate

    scale = 10.0 ** e
    X = np.random.default_rng(seed).standard_normal((n, 3)) * [1.0, 3.0, 0.5]
    if not _fits(e, abs(shift) + 3 * np.abs(X).max()):
        return
    a = shift * scale
    Y = a + X * scale
    A = np.random.default_rng(99).standard_normal((3, 5))
    ref = normtest.sliced_epps_pulley(Y - a, directions=A, standardize=True)
    got = accumulate(SlicedEppsPulley(directions=A, standardize=True), np.array_split(Y, 4))
    _close(got, ref)
