"""The usual tests of normality, from the libraries that implement them (wrapped, not re-implemented).

Each function runs the library's own test on every 1-D slice and returns a
:class:`normtest.TestResult`, so the results print, unpack, serialise and enter
:func:`normtest.check` like normtest's own tests. The libraries are imported on
first use (SciPy always; statsmodels for Lilliefors).

Each slice is standardised first (normtest's own centring and scaling; all four
statistics are location-scale invariant), so the libraries see values of order
one: data at scales 1e-300 ... 1e300 or offsets like 1e12 + noise give the same
results as the standardised data, and a constant slice gives NaN with a
:class:`normtest.DegenerateDataWarning`.

Sample sizes follow the rule of every normtest test: the default p-value is
given only where it is calibrated — at the smallest accepted n a seeded
simulation in the test-suite checks that the 5% and 10% tests reject within 15%
of 5% and 10% of normal samples; smaller slices give NaN and a
:class:`normtest.SmallSampleWarning`. Where the library itself says its p-value
is approximate (Shapiro–Wilk above n = 5000) its warning is passed on.
``method=normtest.MonteCarlo()`` (normtest's own tests) is exact at any n and
reaches below those minima.

The same rule holds for normtest's own tests (measured by
``benchmarks/validation.py --small-n``; 2e4 seeded samples per cell):
``epps_pulley`` from n = 3 with its finite-n tables (beta = 1, exact
statistic), elsewhere from :func:`normtest.ecf.laws.limit_min_n` (e.g. 20 for
the LeJEPA presets under the composite null, 3 under the simple null);
``anderson`` / ``cramervonmises`` from n = 2 (simple null) and n = 8
(Stephens, composite); ``henze_zirkler`` from n = max(20, 10 d), ``bhep`` from
max(50, 20 d) (composite) or 10 (simple); ``mardia`` from n = max(100, 20 d).

==============  ================================  ===========  ==============================
function        library                           accepted n   note
==============  ================================  ===========  ==============================
shapiro         ``scipy.stats.shapiro``           3 ... any    p approximate above n = 5000
dagostino       ``scipy.stats.normaltest``        n >= 20      kurtosis test valid from n = 20
jarque_bera     ``scipy.stats.jarque_bera``       n >= 500     chi2(2) limit; at n = 100 the
                                                               1% test rejects 2.2% of the time
lilliefors      ``statsmodels...lilliefors``      n >= 5       table p clipped at 0.001 (then
                                                               flagged as an upper bound)
==============  ================================  ===========  ==============================
"""

from __future__ import annotations

import warnings

import numpy as np

from ._result import TestResult
from ._standardize import standardize as _standardize
from ._validate import DegenerateDataWarning, vectorize_1d

__all__ = ["shapiro", "dagostino", "jarque_bera", "lilliefors"]

# smallest n with a calibrated p-value (measured sizes in the docstrings; tests/test_classic.py)
MIN_N = {"shapiro": 3, "dagostino": 20, "jarque_bera": 500, "lilliefors": 5}
_LILLIEFORS_FLOOR = 0.001  # statsmodels' table p-values are clipped here


def _scipy_test(name):
    from scipy import stats

    return {"shapiro": stats.shapiro, "dagostino": stats.normaltest, "jarque_bera": stats.jarque_bera}[name]


def _row_results(name, data):
    """(statistic, pvalue) of every row of `data` by the library's function.

    The four statistics are location-scale invariant, so each row is first standardised by
    normtest's own algorithm (:mod:`normtest._standardize`): the libraries then see values of
    order one, whatever the data's scale (1e-300 ... 1e300) or offset (1e12 + noise), where
    their moments would underflow, overflow or cancel. Constant rows are NaN (and warned).
    """
    data, _, _, degenerate = _standardize(data, axis=1, ddof=1)
    degenerate = degenerate.ravel()
    if degenerate.any():
        warnings.warn(f"{name}: a sample has zero variance (all values equal); its statistic and "
                      "p-value are NaN.", DegenerateDataWarning, stacklevel=6)
        stat = np.full(data.shape[0], np.nan)
        p = np.full(data.shape[0], np.nan)
        if not degenerate.all():
            stat[~degenerate], p[~degenerate] = _row_results(name, data[~degenerate])
        return stat, p
    stat = np.empty(data.shape[0])
    p = np.empty(data.shape[0])
    if name == "lilliefors":
        from statsmodels.stats.diagnostic import lilliefors as sm_lilliefors

        for i, row in enumerate(data):
            stat[i], p[i] = sm_lilliefors(row, dist="norm", pvalmethod="table")
        return stat, p
    func = _scipy_test(name)
    res = func(data, axis=1)
    return np.asarray(res.statistic, dtype=float), np.asarray(res.pvalue, dtype=float)


def _library(name):
    if name == "lilliefors":
        import statsmodels

        return "statsmodels.stats.diagnostic.lilliefors", f"statsmodels {statsmodels.__version__}"
    import scipy

    func = {"shapiro": "shapiro", "dagostino": "normaltest", "jarque_bera": "jarque_bera"}[name]
    return f"scipy.stats.{func}", f"scipy {scipy.__version__}"


def _run(name, x, axis, nan_policy, keepdims, standardize, method):
    if method is not None:
        raise ValueError(f"`method` must be None for {name}: the p-value is the library's own "
                         f"({_library(name)[0]}). Got {method!r} instead.")
    if standardize is not True:
        raise ValueError(f"`standardize` must be True for {name}: it tests normality with unknown mean and "
                         f"variance only (for a fully specified N(0, 1) use anderson, cramervonmises or "
                         f"epps_pulley with standardize=False). Got {standardize!r} instead.")

    def compute(data):
        stat, p = _row_results(name, data)
        out = {"statistic": stat, "pvalue": p}
        if name == "lilliefors":
            out["bound"] = p <= _LILLIEFORS_FLOOR * (1 + 1e-9)
        return out

    out = vectorize_1d(x, axis=axis, nan_policy=nan_policy, min_n=MIN_N[name], compute=compute,
                       test=name, keepdims=keepdims)
    method, library = _library(name)
    bound = np.asarray(out.get("bound", 0.0), dtype=float) == 1.0
    return TestResult(statistic=out["statistic"], pvalue=out["pvalue"], n=out["n"], standardize=True,
                      method=method, null=None, test=name,
                      settings={"library": library, "axis": axis, "nan_policy": nan_policy},
                      pvalue_upper_bound=bound[()])


_PARAMS = """
    Parameters
    ----------
    x : array_like
        Sample(s); the test runs on every 1-D slice along `axis`.
    axis : int or None, default 0
        Axis holding the sample; ``None`` flattens.
    nan_policy : {"propagate", "omit", "raise"}, default "propagate"
        NaN handling per slice.
    keepdims : bool, default False
        Keep the reduced axis with length one.
    standardize : True
        Only the composite null (unknown mean and variance) exists for this
        test; accepted so that :func:`normtest.check` can pass it.
    method : None
        The library's p-value (the only one); anything else raises ValueError
        (``check(..., n_resamples=...)`` then notes the test as failed).

    Returns
    -------
    TestResult
        ``statistic``, ``pvalue``, ``n``; ``method`` names the library function."""


def shapiro(x, *, axis=0, nan_policy="propagate", keepdims=False, standardize=True, method=None):
    """Shapiro–Wilk test of normality (``scipy.stats.shapiro``, Royston's algorithm AS R94).
    {params}

    Notes
    -----
    Accepted n >= 3. SciPy warns that the p-value "may not be accurate" above
    n = 5000 (Royston's approximation was fitted up to there); the warning is
    passed on. Seeded calibration: tests/test_classic.py.

    Examples
    --------
    >>> import numpy as np
    >>> import normtest
    >>> x = np.random.default_rng(1).normal(size=50)
    >>> res = normtest.shapiro(x)
    >>> print(round(res.statistic, 4), round(res.pvalue, 4), res.method)
    0.9734 0.3158 scipy.stats.shapiro
    """
    return _run("shapiro", x, axis, nan_policy, keepdims, standardize, method)


def dagostino(x, *, axis=0, nan_policy="propagate", keepdims=False, standardize=True, method=None):
    """D'Agostino–Pearson K² omnibus test of skewness and kurtosis (``scipy.stats.normaltest``).
    {params}

    Notes
    -----
    Accepted n >= 20: SciPy's kurtosis test is "only valid for n >= 20" (it
    warns below and refuses n < 8). K² is compared with chi-square(2); measured
    on 20000 normal samples of n = 20 the 5% and 10% tests reject 5.6% and 9.4%
    of the time, the 1% test 2.0%.

    The data reach SciPy standardised (as for every test of this module). One
    visible consequence: for a sample whose skewness is exactly zero in SciPy's
    arithmetic (an arithmetic sequence such as a column of years), SciPy's
    ``skewtest`` replaces its Y = 0 by 1 and reports a skewness z of about 1
    instead of 0; after standardising, the skewness is ~1e-17 and z ~ 0, so
    K² can be lower than ``scipy.stats.normaltest``'s by about z² (e.g. 33.63
    vs 34.67 for the 100 years 1871–1970).

    Examples
    --------
    >>> import numpy as np
    >>> import normtest
    >>> res = normtest.dagostino(np.random.default_rng(1).normal(size=50))
    >>> print(round(res.statistic, 4), round(res.pvalue, 4))
    4.0929 0.1292
    """
    return _run("dagostino", x, axis, nan_policy, keepdims, standardize, method)


def jarque_bera(x, *, axis=0, nan_policy="propagate", keepdims=False, standardize=True, method=None):
    """Jarque–Bera test (``scipy.stats.jarque_bera``; same values as statsmodels' ``jarque_bera``).
    {params}

    Notes
    -----
    The p-value is the chi-square(2) limit, slow to arrive: measured on 4000
    normal samples, the 1% test rejects 2.2% of the time at n = 100 and 1.7% at
    n = 500, the 5% test 4.4% at n = 100 and 4.8% at n = 500. Accepted n >= 500
    (where the 5% and 10% sizes are within 10%); below it use
    :func:`shapiro` or :func:`normtest.epps_pulley`.

    Examples
    --------
    >>> import numpy as np
    >>> import normtest
    >>> res = normtest.jarque_bera(np.random.default_rng(1).normal(size=1000))
    >>> print(round(res.statistic, 4), round(res.pvalue, 4))
    1.3813 0.5012
    """
    return _run("jarque_bera", x, axis, nan_policy, keepdims, standardize, method)


def lilliefors(x, *, axis=0, nan_policy="propagate", keepdims=False, standardize=True, method=None):
    """Lilliefors (Kolmogorov–Smirnov with estimated mean and variance; statsmodels).
    {params}

    Notes
    -----
    ``statsmodels.stats.diagnostic.lilliefors(x, dist="norm", pvalmethod="table")``:
    p-values from the Dallal–Wilkinson approximation and tables, clipped below at
    0.001; such a p-value is reported with ``pvalue_upper_bound=True``
    ("p < 0.001"). Accepted n >= 5.

    Examples
    --------
    >>> import numpy as np
    >>> import normtest
    >>> res = normtest.lilliefors(np.random.default_rng(1).exponential(size=200))
    >>> print(round(res.statistic, 4), round(res.pvalue, 6), res.pvalue_upper_bound)
    0.1706 0.001 True
    """
    return _run("lilliefors", x, axis, nan_policy, keepdims, standardize, method)


for _f in (shapiro, dagostino, jarque_bera, lilliefors):
    _f.__doc__ = _f.__doc__.replace("    {params}", "\n" + _PARAMS.strip("\n"))
del _f
