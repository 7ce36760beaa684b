"""EDF tests of normality: Cramér–von Mises and Anderson–Darling.

Both statistics are sums over the sorted probability-integral transforms
u_(i) = Φ(z_(i)), where z is the data itself (``standardize=False``: the null is
the fully specified N(0, 1)) or the data standardised by its mean and standard
deviation with divisor n − 1 (``standardize=True``: the null is "normal with
unknown mean and variance"). Logarithms of u and 1 − u come from
``scipy.special.log_ndtr`` at z and −z, never from log(1 − Φ(z)).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr, ndtr

from .._result import TestResult
from .._validate import (DegenerateDataWarning, check_axis, check_bool, check_magnitude, check_nan_policy, resolve_rng,
                        vectorize_1d)
from ..null import MonteCarlo, check_method

__all__ = ["anderson", "cramervonmises", "EDFResult"]

# smallest n per null and p-value method; documented in each docstring. Stephens' formulas
# need n >= 8 (as R nortest); the composite statistic itself (and its Monte-Carlo null) n >= 3.
_MIN_N_SIMPLE = 2
_MIN_N_STEPHENS = 8
_MIN_N_COMPOSITE_MC = 3

_METHOD_NAMES = {("cramervonmises", False): "csorgo-faraway", ("anderson", False): "marsaglia",
                 ("cramervonmises", True): "stephens", ("anderson", True): "stephens"}


@dataclass(frozen=True, repr=False, eq=False)
class EDFResult(TestResult):
    """Result of :func:`cramervonmises` or :func:`anderson` (a :class:`normtest.TestResult`).

    Unpacks as ``statistic, pvalue = result``. ``null`` is the law the p-value
    was read from (``sf``, ``cdf``, ``ppf``, ``critical_value``): the
    Csörgő–Faraway or corrected Marsaglia law at this n, their n = ∞ limits,
    Stephens' approximation at this n, or the simulated Monte-Carlo sample.

    For scripts written against ``scipy.stats.anderson``, ``critical_values``
    holds the statistic's upper ``significance_level`` percent points
    (15, 10, 5, 2.5, 1) of that same null (so ``statistic > critical_values[i]``
    exactly when ``pvalue < significance_level[i] / 100``); SciPy's own values
    come from Stephens' table and agree to about 1%.
    """

    __test__ = False

    @property
    def significance_level(self) -> np.ndarray:
        """Levels (in percent, as SciPy) of `critical_values`: 15, 10, 5, 2.5, 1."""
        return _SCIPY_LEVELS.copy()

    @property
    def critical_values(self) -> np.ndarray:
        """Upper percent points of `null` at `significance_level`, shape ``statistic.shape + (5,)``."""
        q, nulls = 1.0 - _SCIPY_LEVELS / 100.0, self.null
        if not isinstance(nulls, np.ndarray):  # one null shared by every slice (None: no slice computed)
            crit = np.full(q.shape, np.nan) if nulls is None else np.asarray(nulls.ppf(q), dtype=float)
            return np.broadcast_to(crit, np.shape(self.statistic) + q.shape).copy()
        out = np.full(nulls.shape + q.shape, np.nan)
        for idx in np.ndindex(nulls.shape):
            if nulls[idx] is not None:
                out[idx] = np.asarray(nulls[idx].ppf(q), dtype=float)
        return out


_SCIPY_LEVELS = np.array([15.0, 10.0, 5.0, 2.5, 1.0])


# ---------------------------------------------------------------------------
# Statistics on rows (data: float64 (m, n), no NaN)
# ---------------------------------------------------------------------------

def _sorted_z(data: np.ndarray, standardize: bool):
    """Sorted (and, if asked, standardised) rows, plus a mask of degenerate rows."""
    z = np.sort(data, axis=1)
    degenerate = np.zeros(z.shape[0], dtype=bool)
    if not standardize:
        check_magnitude(z)
    else:
        from .._standardize import standardize as _standardize

        # scaled before squaring, centred in two passes; constant = equal to a few ulps
        z, _, _, deg = _standardize(z, axis=1, ddof=1, presorted=True)
        degenerate = deg.ravel()
    return z, degenerate


def _cvm_rows(z: np.ndarray) -> np.ndarray:
    n = z.shape[1]
    u = ndtr(z)
    u -= (2.0 * np.arange(1, n + 1) - 1.0) / (2.0 * n)
    return np.einsum("ij,ij->i", u, u) + 1.0 / (12.0 * n)


def _ad_rows(z: np.ndarray) -> np.ndarray:
    n = z.shape[1]
    i = np.arange(1, n + 1, dtype=float)
    # Σ (2i−1) log u_(i) + Σ (2(n−i)+1) log(1 − u_(i))  (the second is the usual reversed sum);
    # einsum, not a BLAS matrix-vector product: no BLAS threads (slow when cores are busy)
    s = np.einsum("ij,j->i", log_ndtr(z), 2.0 * i - 1.0)
    s += np.einsum("ij,j->i", log_ndtr(-z), 2.0 * (n - i) + 1.0)
    return -n - s / n


_STAT_ROWS = {"cramervonmises": _cvm_rows, "anderson": _ad_rows}


def _statistic_rows(data, test, standardize):
    z, degenerate = _sorted_z(data, standardize)
    stat = _STAT_ROWS[test](z)
    if degenerate.any():
        stat[degenerate] = np.nan
        warnings.warn(
            f"{test}: a sample has zero variance (all values equal); with standardize=True the "
            "statistic is undefined and the result is NaN.",
            DegenerateDataWarning,
            stacklevel=5,
        )
    return stat


# ---------------------------------------------------------------------------
# Null laws
# ---------------------------------------------------------------------------

def _analytic_null(test, n, standardize, asymptotic):
    from . import laws as dist

    if standardize:
        return dist.composite_limit_null(test) if asymptotic else dist.stephens_null(test, n)
    if test == "cramervonmises":
        return dist.cvm_null(n, asymptotic)
    return dist.ad_null(n, asymptotic)


def _edf_simulator(test, n, standardize):
    from ._kernels import simulate_edf

    def simulate(size, gen):
        expo = gen.standard_exponential((size, n + 1))
        return simulate_edf(expo, test, standardize)

    return simulate


def _mc_null(test, n, standardize, method: MonteCarlo, gen):
    from ..null import monte_carlo_null

    return monte_carlo_null(
        ("edf", test, int(n), bool(standardize)),
        _edf_simulator(test, int(n), bool(standardize)),
        method,
        values_per_resample=n + 1,
        params={"test": test, "n": int(n), "standardize": bool(standardize)},
        rng_override=gen,
    )


def _collect_nulls(metas, shape):
    """One null if every computed slice shares it, else an object array (None where not computed)."""
    nulls = [m["null"] for m in metas]
    if len(nulls) == 1:
        return nulls[0]
    if not nulls:
        return None
    size = int(np.prod(shape)) if shape else 1
    arr = np.empty(size, dtype=object)
    for m in metas:
        for r in m["rows"]:
            arr[r] = m["null"]
    return arr.reshape(shape) if shape else arr[0]


# ---------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------

def _edf_iv(test, standardize, method):
    standardize = check_bool(standardize, "standardize")
    method = check_method(method, allowed=("asymptotic",))
    return standardize, method


def _one_sample_fast_path(x, axis, nan_policy, keepdims, min_n, compute):
    """The common call (one finite 1-D sample, large enough) without the batching machinery.

    Validates exactly as :func:`vectorize_1d` and returns its output layout, or None to
    defer to it (NaN present, too small, keepdims, several slices).
    """
    if type(x) is not np.ndarray or x.ndim != 1 or x.dtype != np.float64 or keepdims is not False:
        return None
    check_nan_policy(nan_policy)
    check_axis(axis, 1)
    n = x.shape[0]
    if n < min_n or np.isnan(x).any():
        return None
    if np.isinf(x).any():
        return None  # vectorize_1d raises the standard error
    out = compute(x[None, :])
    meta = out.pop("_meta", {})
    final = {key: np.asarray(val)[0] for key, val in out.items()}
    final["n"] = n
    final["meta"] = [dict(meta, n=n, rows=np.array([0]))]
    return final


def _edf_test(test, x, standardize, method, axis, nan_policy, keepdims):
    standardize, method = _edf_iv(test, standardize, method)
    mc = method if isinstance(method, MonteCarlo) else None
    gen, seed = resolve_rng(mc.rng) if mc is not None else (None, None)

    def compute(data):
        n = data.shape[1]
        stat = _statistic_rows(data, test, standardize)
        if mc is not None:
            null = _mc_null(test, n, standardize, mc, gen)
            return {"statistic": stat, "pvalue": null.sf(stat), "pvalue_se": null.pvalue_se(stat),
                    "_meta": {"null": null}}
        null = _analytic_null(test, n, standardize, method == "asymptotic")
        out = {"statistic": stat, "pvalue": null.sf(stat), "_meta": {"null": null}}
        if standardize and method != "asymptotic":
            from .laws import stephens_beyond

            out["bound"] = stephens_beyond(test, stat, n)  # the formula is held: p is an upper bound
        return out

    if not standardize:
        min_n = _MIN_N_SIMPLE
    else:
        min_n = _MIN_N_COMPOSITE_MC if mc is not None else _MIN_N_STEPHENS
    out = _one_sample_fast_path(x, axis, nan_policy, keepdims, min_n, compute)
    if out is None:
        out = vectorize_1d(x, axis=axis, nan_policy=nan_policy, min_n=min_n, compute=compute,
                           test=test, keepdims=keepdims)
    shape = np.shape(out["statistic"])
    if mc is not None:
        method_name = "monte-carlo"
        settings = {"ddof": 1 if standardize else None, **mc.settings()}
        pvalue_se = out.get("pvalue_se", np.full(shape, np.nan)[()])
    else:
        method_name = "asymptotic" if method == "asymptotic" else _METHOD_NAMES[(test, standardize)]
        settings = {"ddof": 1 if standardize else None}
        pvalue_se = None
    bound = np.asarray(out.get("bound", 0.0), dtype=float) == 1.0  # NaN where not computed
    return EDFResult(
        statistic=out["statistic"], pvalue=out["pvalue"], n=out["n"], standardize=standardize,
        method=method_name, null=_collect_nulls(out["meta"], shape), test=test, settings=settings,
        pvalue_se=pvalue_se, seed=seed, pvalue_upper_bound=bound[()],
    )


_COMMON_PARAMS = """
    x : array_like
        Sample(s). Integer, float32 and float64 data, lists, pandas Series and
        torch tensors are accepted; the input is never modified. Masked arrays
        (``numpy.ma``) follow SciPy's convention: masked entries are left out
        (whatever `nan_policy` says; it applies to the NaN that are not masked).
        With ``standardize=True`` the result does not depend on the data's
        scale (1e-300 to 1e300) or offset (up to 1e15 times the spread) beyond
        rounding; a sample is constant only when its values agree to a few
        units in the last place. With ``standardize=False`` values beyond
        1e150 raise ValueError (their squares overflow).
    standardize : bool, default True
        ``True``: H0 is "normal with unknown mean and variance"; the data are
        standardised by the sample mean and the standard deviation with divisor
        n − 1 and the default p-value comes from Stephens' modified statistic
        (D'Agostino & Stephens 1986, Table 4.9; as R ``nortest``).
        ``False``: H0 is the fully specified N(0, 1); test other known
        parameters by passing ``(x - loc) / scale``.
    method : None, "asymptotic", "monte-carlo" or normtest.MonteCarlo
        How the p-value is obtained. ``None``: the default analytic law (see
        Notes). ``"asymptotic"``: the n = ∞ law (with ``standardize=True``,
        the exact limit law of the estimated-parameter statistic from the
        eigenvalues of Durbin's covariance and Imhof's formula; about 30 ms
        per p-value).
        A :class:`normtest.MonteCarlo` instance (or ``"monte-carlo"`` for its
        defaults): simulate the null at this n; the p-value is
        ``(b + 1) / (B + 1)`` and its standard error is reported. Simulated
        nulls are cached per (test, n, standardize, seed) and reused.
    axis : int or None, default 0
        Axis of `x` holding the sample; the test is vectorised over the other
        axes. ``None`` flattens `x`.
    nan_policy : {"propagate", "omit", "raise"}, default "propagate"
        NaN handling per slice: a NaN result, drop the NaNs, or raise ValueError.
    keepdims : bool, default False
        Keep the reduced axis with length one."""


def cramervonmises(x, *, standardize=True, method=None, axis=0, nan_policy="propagate", keepdims=False):
    r"""Cramér–von Mises test of normality.

    W² = 1/(12n) + Σ_i (u_(i) − (2i − 1)/(2n))², with u_(i) = Φ(z_(i)) the
    sorted probability-integral transforms of the (standardised) data.

    Parameters
    ----------{params}

    Returns
    -------
    result : EDFResult
        ``statistic`` (W²), ``pvalue``, ``n``, ``standardize``, ``method``,
        ``null`` (an object with ``sf``/``cdf``/``ppf``) and, for Monte Carlo,
        ``pvalue_se`` and ``seed``.

    Notes
    -----
    Default p-values (``result.method``):

    - ``standardize=False``: ``"csorgo-faraway"``, the finite-n law
      V(x) + ψ₁(x)/n of Csörgő & Faraway (1996), the same law as
      ``scipy.stats.cramervonmises(x, "norm")`` and R ``goftest::cvm.test``.
      ``method="asymptotic"`` uses the limit V(x) (Anderson & Darling 1952).
    - ``standardize=True``: ``"stephens"``, p from W* = W²(1 + 0.5/n) by
      Stephens' piecewise formulas, as R ``nortest::cvm.test`` (held at
      7.4e-10 beyond W* = 1.1: there ``pvalue_upper_bound`` is True and the
      p-value reads "p < 7.4e-10"). ``method="asymptotic"``: the exact n = ∞ law
      (Durbin's covariance eigenvalues + Imhof).

    Minimum sample size: n >= 2 with ``standardize=False``; with
    ``standardize=True``, n >= 8 for the analytic p-values (as R ``nortest``;
    below it Stephens' formulas lose their size) and n >= 3 with Monte Carlo. Smaller
    slices give NaN and a :class:`normtest.SmallSampleWarning`. Constant data with
    ``standardize=True`` give NaN and a :class:`normtest.DegenerateDataWarning`.

    References
    ----------
    Csörgő, S. and Faraway, J. J. (1996). The exact and asymptotic distributions
    of Cramér–von Mises statistics. J. R. Statist. Soc. B 58, 221–234.

    Stephens, M. A. (1986). Tests based on EDF statistics. In D'Agostino, R. B.
    and Stephens, M. A. (eds.), Goodness-of-Fit Techniques. Marcel Dekker.

    Examples
    --------
    >>> import numpy as np
    >>> import normtest
    >>> x = np.random.default_rng(1).normal(size=50)
    >>> res = normtest.cramervonmises(x)
    >>> print(round(res.statistic, 4), round(res.pvalue, 4), res.method)
    0.0665 0.305 stephens
    >>> stat, p = normtest.cramervonmises(x, standardize=False)
    >>> print(round(stat, 4), round(p, 4))
    0.132 0.4508
    >>> res = normtest.cramervonmises(x, method=normtest.MonteCarlo(n_resamples=999, rng=1))
    >>> print(res.method, round(res.pvalue, 3), round(res.pvalue_se, 3))
    monte-carlo 0.304 0.015
    """
    return _edf_test("cramervonmises", x, standardize, method, axis, nan_policy, keepdims)


def anderson(x, dist="norm", *, standardize=True, method=None, axis=0, nan_policy="propagate",
             keepdims=False):
    r"""Anderson–Darling test of normality.

    A² = −n − n⁻¹ Σ_i (2i − 1) [log u_(i) + log(1 − u_(n+1−i))], with
    u_(i) = Φ(z_(i)); both logarithms come from ``log_ndtr`` (at z and −z), so
    far-tail observations keep full precision.

    Parameters
    ----------
    x : array_like
        Sample(s). Integer, float32 and float64 data, lists, pandas Series and
        torch tensors are accepted; the input is never modified.
    dist : {"norm"}, default "norm"
        Accepted for ``scipy.stats.anderson(x, dist="norm")`` scripts; normtest
        tests normality only, so any other value raises ValueError.{params}

    Returns
    -------
    result : EDFResult
        ``statistic`` (A²), ``pvalue``, ``n``, ``standardize``, ``method``,
        ``null`` (an object with ``sf``/``cdf``/``ppf``) and, for Monte Carlo,
        ``pvalue_se`` and ``seed``; ``pvalue_upper_bound`` is True where
        Stephens' formula is held beyond its range (A* > 10: p < 3.7e-24) or a
        Monte-Carlo p-value had no exceedance. Like SciPy's ``AndersonResult``
        it has ``critical_values`` at ``significance_level`` = 15, 10, 5, 2.5,
        1 (percent), read from the same null as the p-value.

    Notes
    -----
    Default p-values (``result.method``):

    - ``standardize=False``: ``"marsaglia"``, the exact limit law (the
      Anderson–Darling series, evaluated to ~15 digits) plus the finite-n
      correction ``errfix`` of Marsaglia & Marsaglia (2004), as R
      ``goftest::ad.test``. ``method="asymptotic"`` uses the limit law alone.
    - ``standardize=True``: ``"stephens"``, p from A* = A²(1 + 0.75/n + 2.25/n²)
      by Stephens' piecewise formulas, as R ``nortest::ad.test`` and
      statsmodels ``normal_ad`` (held at 3.7e-24 beyond A* = 10, flagged by
      ``pvalue_upper_bound``). The statistic
      equals ``scipy.stats.anderson(x, "norm").statistic`` and statsmodels'.
      ``method="asymptotic"``: the exact n = ∞ law (Durbin's covariance
      eigenvalues + Imhof).

    Minimum sample size: n >= 2 with ``standardize=False``; with
    ``standardize=True``, n >= 8 for the analytic p-values (as R ``nortest``;
    below it Stephens' formulas lose their size) and n >= 3 with Monte Carlo. Smaller
    slices give NaN and a :class:`normtest.SmallSampleWarning`. Constant data with
    ``standardize=True`` give NaN and a :class:`normtest.DegenerateDataWarning`.

    References
    ----------
    Anderson, T. W. and Darling, D. A. (1952). Asymptotic theory of certain
    goodness of fit criteria based on stochastic processes. Ann. Math. Statist.
    23, 193–212.

    Marsaglia, G. and Marsaglia, J. (2004). Evaluating the Anderson–Darling
    distribution. J. Statist. Software 9(2).

    Examples
    --------
    >>> import numpy as np
    >>> import normtest
    >>> x = np.random.default_rng(1).normal(size=50)
    >>> res = normtest.anderson(x)
    >>> print(round(res.statistic, 4), round(res.pvalue, 4), res.method)
    0.4499 0.2655 stephens
    >>> print(round(float(res.null.critical_value(0.05)), 3))  # Stephens' 5% point at n = 50
    0.741
    >>> res = normtest.anderson(x, standardize=False)
    >>> print(round(res.statistic, 4), round(res.pvalue, 4), res.method)
    0.8141 0.4703 marsaglia

    Migrating from ``scipy.stats.anderson(x, "norm")``:

    >>> res = normtest.anderson(x, "norm")
    >>> print(res.significance_level, res.critical_values.round(3))
    [15.  10.   5.   2.5  1. ] [0.549 0.621 0.741 0.862 1.021]
    """
    _check_dist(dist)
    return _edf_test("anderson", x, standardize, method, axis, nan_policy, keepdims)


def _check_dist(dist):
    if not isinstance(dist, str):
        raise TypeError(f"`dist` must be the string 'norm'. Got {dist!r} instead.")
    if dist != "norm":
        raise ValueError(f"`dist` must be 'norm' (normtest tests normality only; for other families use "
                         f"scipy.stats.anderson). Got {dist!r} instead.")


cramervonmises.__doc__ = cramervonmises.__doc__.replace("{params}", _COMMON_PARAMS)
anderson.__doc__ = anderson.__doc__.replace("{params}", _COMMON_PARAMS[_COMMON_PARAMS.index("\n    standardize"):])
