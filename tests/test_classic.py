"""normtest.classic: SciPy/statsmodels tests wrapped into normtest results, and their n ranges."""

import warnings

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

import normtest
from normtest.classic import MIN_N

FUNCS = {"shapiro": normtest.shapiro, "dagostino": normtest.dagostino,
         "jarque_bera": normtest.jarque_bera, "lilliefors": normtest.lilliefors}


def _reference(name, x):
    if name == "lilliefors":
        from statsmodels.stats.diagnostic import lilliefors

        return lilliefors(x, dist="norm", pvalmethod="table")
    if name == "jarque_bera":  # statsmodels as an independent peer of SciPy's
        from statsmodels.stats.stattools import jarque_bera

        return jarque_bera(x)[:2]
    return {"shapiro": stats.shapiro, "dagostino": stats.normaltest}[name](x)


@pytest.mark.parametrize("name", FUNCS)
@pytest.mark.parametrize("kind", ["normal", "expo"])
def test_values_are_the_libraries(name, kind, rng):
    n = max(MIN_N[name], 60)
    x = rng.normal(size=n) if kind == "normal" else rng.exponential(size=n)
    res = FUNCS[name](x)
    ref = _reference(name, x)
    assert_allclose([res.statistic, res.pvalue], [ref[0], ref[1]], rtol=1e-10)
    assert res.test == name and res.standardize is True and isinstance(res, normtest.TestResult)
    stat, p = res
    assert p == res.pvalue and "library" in res.to_dict()["settings"]


@pytest.mark.parametrize("name", FUNCS)
def test_axis_nan_policy_and_small_n(name, rng):
    n = MIN_N[name]
    x = rng.normal(size=(n + 5, 3))
    x[0, 1] = np.nan
    res = FUNCS[name](x, nan_policy="omit")
    assert res.statistic.shape == (3,)
    assert_allclose(res.pvalue[1], FUNCS[name](x[1:, 1]).pvalue)
    assert np.isnan(FUNCS[name](x).pvalue[1])  # propagate
    with pytest.warns(normtest.SmallSampleWarning, match=f"n >= {n}"):
        small = FUNCS[name](rng.normal(size=n - 1))
    assert np.isnan(small.pvalue)
    with pytest.raises(ValueError, match="`standardize` must be True"):
        FUNCS[name](x[:, 0], standardize=False)


@pytest.mark.parametrize("name, reps", [("shapiro", 20000), ("dagostino", 20000), ("jarque_bera", 20000),
                                        ("lilliefors", 4000)])
def test_calibrated_at_smallest_accepted_n(name, reps):
    # the rule of every normtest test: at the smallest accepted n the 5% and 10% tests
    # reject within 15% of 5% and 10% of normal samples
    x = np.random.default_rng(4000 + MIN_N[name]).normal(size=(reps, MIN_N[name]))
    p = FUNCS[name](x, axis=1).pvalue
    for alpha in (0.05, 0.10):
        assert abs(np.mean(p <= alpha) / alpha - 1) < 0.15


def test_shapiro_large_n_warning_passed_on(rng):
    with pytest.warns(UserWarning, match="5000"):
        normtest.shapiro(rng.normal(size=6000))


def test_lilliefors_floor_is_an_upper_bound(rng):
    res = normtest.lilliefors(rng.exponential(size=(300, 2)))
    assert_allclose(res.pvalue, 0.001, rtol=1e-6)
    assert np.all(res.pvalue_upper_bound)


@pytest.mark.parametrize("name", FUNCS)
def test_in_check(name, rng):
    df = pd.DataFrame({"a": rng.normal(size=600), "b": rng.exponential(size=600)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = normtest.check(df, tests=[name, "anderson"])
    rows = table[table["test"] == name]
    assert len(rows) == 2
    assert_allclose(rows["pvalue"].to_numpy(), [FUNCS[name](df[c]).pvalue for c in ("a", "b")])
