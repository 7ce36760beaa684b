"""Regression tests from the fresh-eyes audit of the public surface (peer values, awkward inputs)."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose

import normtest

CLASSIC = {"shapiro": normtest.shapiro, "dagostino": normtest.dagostino,
           "jarque_bera": normtest.jarque_bera, "lilliefors": normtest.lilliefors}


@pytest.mark.parametrize("name", CLASSIC)
@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e200])
def test_classic_tests_are_scale_invariant(name, scale):
    # the libraries' moments underflow / overflow at these scales: Shapiro gave W = 1, p = 1,
    # D'Agostino and Jarque-Bera NaN, Lilliefors D = 0.5 with p = 0.001 flagged as a bound
    x = np.random.default_rng(3).normal(size=600)
    ref = CLASSIC[name](x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = CLASSIC[name](scale * x)
    assert_allclose([res.statistic, res.pvalue], [ref.statistic, ref.pvalue], rtol=1e-9)


@pytest.mark.parametrize("name", CLASSIC)
def test_classic_tests_keep_precision_under_an_offset(name):
    # 1e12 + noise: the values themselves are exact once rounded; the reference is the library on
    # the exactly subtracted values (the offset cost D'Agostino's K² 4.8e-4 relative before)
    x = 1e12 + np.random.default_rng(4).normal(size=600)
    ref = CLASSIC[name](x - 1e12)
    res = CLASSIC[name](x)
    assert_allclose([res.statistic, res.pvalue], [ref.statistic, ref.pvalue], rtol=1e-6)


@pytest.mark.parametrize("name", CLASSIC)
@pytest.mark.parametrize("value", [3.0, 0.1])
def test_classic_tests_constant_data_are_nan(name, value):
    # constant data: Shapiro gave W = 1, p = 1; D'Agostino gave K² = 899, p = 6e-196 for 0.1
    # (rounding noise read as data); Lilliefors D = 0.84, p = 0.001
    x = np.full((600, 2), value)
    x[:, 1] = np.random.default_rng(5).normal(size=600)
    with pytest.warns(normtest.DegenerateDataWarning, match=name):
        res = CLASSIC[name](x)
    assert np.isnan(res.statistic[0]) and np.isnan(res.pvalue[0])
    assert_allclose(res.pvalue[1], CLASSIC[name](x[:, 1]).pvalue, rtol=1e-12)


def test_torch_nan_input_propagates_with_the_auto_rule():
    # quadrature="auto" (the default) sized its rule from max|y| = NaN and raised "`spread` must be a
    # float >= 0. Got nan" (a parameter the caller never passed); with standardize=True the sliced
    # test failed inside torch.linalg.eigh. Now NaN rows give NaN and the others are unchanged.
    torch = pytest.importorskip("torch")
    import normtest.torch as ntt

    g = torch.Generator().manual_seed(1)
    X = torch.randn(2, 40, 3, generator=g, dtype=torch.float64)
    clean = X[1:].clone()
    for bad in (float("nan"), float("inf")):
        X[0, 0, 0] = bad
        for standardize in (False, True):
            out = ntt.sliced_epps_pulley(X, n_slices=8, rng=0, standardize=standardize)
            ref = ntt.sliced_epps_pulley(clean, n_slices=8, rng=0, standardize=standardize)
            assert torch.isnan(out[0]) and torch.allclose(out[1:], ref, rtol=1e-12)
        x = torch.randn(40, 2, generator=g, dtype=torch.float64)
        x[0, 0] = bad
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # NaN is not "zero variance": no DegenerateDataWarning
            out = ntt.epps_pulley(x)
        assert torch.isnan(out[0]) and torch.allclose(out[1], ntt.epps_pulley(x[:, 1].clone()), rtol=1e-12)
        out = ntt.epps_pulley(x, standardize=False)
        assert torch.isnan(out[0]) and torch.isfinite(out[1])


def test_torch_helpers_name_bad_arguments():
    torch = pytest.importorskip("torch")
    import normtest.torch as ntt

    with pytest.raises(ValueError, match="`n_features` must be an int >= 1"):
        ntt.draw_directions(0, 4)  # returned an empty (0, 4) tensor
    with pytest.raises(TypeError, match="`n_slices` must be an int"):
        ntt.draw_directions(8, "a")  # raw TypeError from numpy
    x = torch.randn(10, 3, dtype=torch.float64)
    with pytest.raises(TypeError, match="`nodes`"):
        ntt.ecf_sums(x, "a")  # "could not convert string to float"
    with pytest.raises(ValueError, match=r"`directions` must have shape \(D, M\) = \(3, M\)"):
        ntt.ecf_sums(x, [0.5, 1.0], directions=torch.ones(4, 2))  # raw matmul shape error


@pytest.mark.parametrize("q", ["a", 1j, [[1.0], [1.0, 2.0]], True])
def test_ecdf_evaluate_names_bad_points(q):
    # "could not convert string to float: 'a'" from numpy; True was read as 1.0
    res = normtest.ecdf([3.0, 1.0, 2.0, 2.0])
    with pytest.raises(TypeError, match="`q` must"):
        res.evaluate(q)
    assert_allclose(res.evaluate([0.5, 1, 2.5, np.inf]), [0.0, 0.25, 0.75, 1.0])


@pytest.mark.parametrize("test", ["anderson", "cramervonmises"])
@pytest.mark.parametrize("standardize", [True, False])
def test_edf_results_pickle(test, standardize):
    # the default nulls held closures: pickle (multiprocessing, concurrent.futures) failed with
    # "Can't pickle local object 'stephens_null.<locals>.sf'"
    import pickle

    x = np.random.default_rng(6).normal(size=40)
    res = getattr(normtest, test)(x, standardize=standardize)
    back = pickle.loads(pickle.dumps(res))
    assert back.pvalue == res.pvalue and back.statistic == res.statistic
    assert_allclose(back.null.sf(res.statistic), res.pvalue, rtol=1e-15)
    assert_allclose(back.null.ppf(0.95), res.null.ppf(0.95), rtol=1e-12)


def test_anderson_critical_values_follow_the_batch_shape():
    # one shared null gave shape (5,) for a (3,) batch, but (3, 5) once the slices' n differed;
    # with no null at all (every slice too small) it raised AttributeError on None.ppf
    X = np.random.default_rng(7).normal(size=(50, 3))
    same = normtest.anderson(X).critical_values
    X[0, 1] = np.nan
    mixed = normtest.anderson(X, nan_policy="omit").critical_values
    assert same.shape == mixed.shape == (3, 5)
    assert_allclose(same[0], mixed[0])
    assert_allclose(same[0], normtest.anderson(X[:, 0]).critical_values)
    with pytest.warns(normtest.SmallSampleWarning):
        small = normtest.anderson(X[:5])
    assert small.critical_values.shape == (3, 5) and np.isnan(small.critical_values).all()


def test_check_names_multiindex_columns():
    # pandas' own "Names should be list-like for a MultiIndex" came out of check
    import pandas as pd

    df = pd.DataFrame(np.random.default_rng(8).normal(size=(30, 2)),
                      columns=pd.MultiIndex.from_tuples([("a", 1), ("a", 2)]))
    with pytest.raises(ValueError, match="`df` must have flat column labels"):
        normtest.check(df)
    df.columns = ["_".join(map(str, c)) for c in df.columns]
    assert list(normtest.check(df, rng=0).index.unique()) == ["a_1", "a_2"]


@pytest.mark.parametrize("name", ["plot_ecdf", "plot_qq", "plot_ecf"])
def test_plots_standardise_like_the_tests(name):
    # the plots standardised with x.std(): at scale 1e-300 the variance underflowed and a
    # normal sample was refused as "constant"; now the tests' algorithm (scale-free) is used
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from normtest import plotting

    x = np.random.default_rng(9).normal(size=80)
    ref = getattr(plotting, name)(x)
    tiny = getattr(plotting, name)(1e-300 * x)
    assert_allclose(tiny.lines[0].get_ydata(), ref.lines[0].get_ydata(), rtol=1e-12)
    with pytest.raises(ValueError, match="must not be constant"):
        getattr(plotting, name)(np.full(20, 0.1))
    plt.close("all")



def test_underflowed_pvalues_are_the_floor_and_flagged():
    # "never a bare 0": bhep / henze_zirkler / mardia (and SciPy's normaltest) returned p = 0.0;
    # the finite-n EDF laws carried a floored limit tail by their factor to an unflagged 3.9e-308
    # (anderson, n = 2) and CvM gave 0.0 at the support's end n/3
    from normtest._result import PVALUE_FLOOR

    X = np.random.default_rng(0).exponential(size=(2000, 4)) ** 3
    for res in (normtest.bhep(X), normtest.henze_zirkler(X), normtest.mardia(X),
                normtest.dagostino(X[:, 0])):
        assert res.pvalue == PVALUE_FLOOR and res.pvalue_upper_bound
    for n in (2, 3, 8):
        far = np.full(n, 30.0) + 1e-3 * np.arange(n)
        for test in (normtest.anderson, normtest.cramervonmises):
            res = test(far, standardize=False)
            assert res.pvalue == PVALUE_FLOOR and res.pvalue_upper_bound, (test, n, res.pvalue)


def test_mardia_parts_are_floored_and_huge_slice_counts_refused():
    from normtest._result import PVALUE_FLOOR

    X = np.random.default_rng(0).exponential(size=(2000, 4)) ** 3
    res = normtest.mardia(X)
    assert res.skewness_pvalue == PVALUE_FLOOR and res.kurtosis_pvalue == PVALUE_FLOOR
    assert res.pvalue == PVALUE_FLOOR and res.pvalue_upper_bound
    with pytest.raises(ValueError, match="n_slices"):   # 30 GiB of directions: refused before drawing
        normtest.sliced_epps_pulley(np.zeros((10, 4)), n_slices=10**9)


def test_plots_name_a_bad_ax():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from normtest import plotting

    x = np.random.default_rng(0).normal(size=50)
    for name in ("plot_ecdf", "plot_qq", "plot_ecf"):
        with pytest.raises(TypeError, match="`ax` must be None or a matplotlib Axes"):
            getattr(plotting, name)(x, ax=3)
    plt.close("all")
