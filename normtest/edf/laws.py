"""Null laws of the EDF statistics (private).

Simple hypothesis (known N(0, 1)):

* Cramér–von Mises W²: the limit law V(x) of Anderson & Darling (1952) as a
  series of Bessel K_{1/4} terms, and the finite-n law V_n(x) = V(x) + ψ₁(x)/n of
  Csörgő & Faraway (1996, eqs. 1.8–1.10), valid on the support [1/(12n), n/3].
* Anderson–Darling A²: the limit law as the series of Anderson & Darling (1952),
  each term's integral evaluated by Gauss–Legendre quadrature after the change of
  variable w = tan θ (15 digits, like Marsaglia & Marsaglia's ADinf), and their
  finite-n correction ``errfix`` (2004).

Far tails (simple hypothesis). Both limit laws are weighted sums of chi-square(1)
variables with known weights, λ_k = 1/(k²π²) for W² and 1/(k(k+1)) for A²
(Anderson & Darling 1952); where the series' ``1 − cdf`` loses relative accuracy
(limit p below 1e-6) the tail is computed from the first 60 weights (the rest
through their exact sum and sum of squares, ``z Σλ + z² Σλ²`` in the cumulant) along the saddlepoint contour of
:mod:`normtest._sumchi2` (relative error ~1e-9). The finite-n laws are carried
beyond their own p = 1e-3 point x₀ by the relative factor they have there:
``sf_n(x) = sf_∞(x) · sf_n(x₀)/sf_∞(x₀)``. Marsaglia's ``errfix`` does not vanish
at cdf = 1 (its rounded coefficients leave −6e-4/n), which held A² p-values at
about 6e-4/n; for W², ψ₁/n overshoots and gave p = 0 at small n. Measured against
4e6 simulated samples (n = 3 ... 20) the continuation is within 15% for A²
down to p = 1e-5 and conservative for W² (at n = 10, 1.6× the true p at 1e-4).

Composite hypothesis (mean and sd estimated, divisor n − 1): Stephens' modified
statistics and their piecewise p-value formulas (D'Agostino & Stephens 1986,
Table 4.9), held at their last value beyond the formulas' range as R nortest does;
there the p-value is only an upper bound (:func:`stephens_beyond` says where).

Every law is exposed as an :class:`normtest.null.AnalyticNull` whose ``ppf``
inverts the very ``cdf`` it reports (vectorised bisection), so critical values
and p-values never disagree.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from scipy.special import gammaln, kve

from .._cache import memoize
from .._result import PVALUE_FLOOR
from ..null import AnalyticNull, invert_cdf

__all__ = [
    "cvm_cdf",
    "cvm_sf",
    "ad_cdf",
    "ad_sf",
    "stephens_sf",
    "cvm_null",
    "ad_null",
    "stephens_null",
    "composite_limit_null",
    "stephens_beyond",
]

_CHUNK = 4096


def _chunked(func, x, *args):
    """Apply an elementwise ``func`` over flat chunks (bounds temporary memory)."""
    x = np.asarray(x, dtype=float)
    flat = x.reshape(-1)
    out = np.empty_like(flat)
    for start in range(0, flat.size, _CHUNK):
        out[start:start + _CHUNK] = func(flat[start:start + _CHUNK], *args)
    return out.reshape(x.shape)


def _scalarize(a):
    a = np.asarray(a, dtype=float)
    return a[()] if a.ndim == 0 else a


# ---------------------------------------------------------------------------
# Cramér–von Mises, simple hypothesis
# ---------------------------------------------------------------------------

_CVM_XMAX = 25.0  # V(x) = 1 to double precision beyond (1 - V ~ exp(-pi^2 x / 2))


def _exp_neg_kv(nu, z):
    """e^{-z} K_nu(z), computed without overflow/underflow clashes."""
    return np.exp(-2.0 * z) * kve(nu, z)


def _n_terms(xmax: float) -> int:
    # the k-th term carries exp(-(4k+1)^2 / (8x)); stop once it is below e^-45
    return int(min(40, max(3, math.ceil((math.sqrt(360.0 * xmax) - 1.0) / 4.0) + 2)))


def _cvm_inf_core(x):
    """V(x) for 0 < x <= _CVM_XMAX (1-D array)."""
    k = np.arange(_n_terms(float(x.max())))[None, :]
    xx = x[:, None]
    q = (4 * k + 1) ** 2 / (16.0 * xx)
    coef = np.exp(gammaln(k + 0.5) - gammaln(k + 1.0) - 0.5 * math.log(math.pi))
    terms = coef * np.sqrt(4 * k + 1) * _exp_neg_kv(0.25, q)
    return terms.sum(axis=1) / (math.pi * np.sqrt(x))


def _e2(y):
    """e^{-y^2/4} (y/2)^{3/2} [K_{1/4} + K_{3/4}](y^2/4) / sqrt(pi)."""
    z = 0.25 * y * y
    return (0.5 * y) ** 1.5 * (_exp_neg_kv(0.25, z) + _exp_neg_kv(0.75, z)) / math.sqrt(math.pi)


def _e3(y):
    """e^{-y^2/4} (y/2)^{5/2} [2K_{1/4} + 3K_{3/4} - K_{5/4}](y^2/4) / sqrt(pi)."""
    z = 0.25 * y * y
    comb = 2.0 * _exp_neg_kv(0.25, z) + 3.0 * _exp_neg_kv(0.75, z) - _exp_neg_kv(1.25, z)
    return (0.5 * y) ** 2.5 * comb / math.sqrt(math.pi)


def _cvm_psi1_core(x):
    """ψ₁(x) − V(x)/12 of Csörgő & Faraway (1996, eq. 1.10), 1-D array."""
    k = np.arange(_n_terms(float(x.max())))[None, :].astype(float)
    xx = x[:, None]
    s = 2.0 * np.sqrt(xx)
    x34 = xx ** 0.75
    x54 = xx ** 1.25
    g_half = np.exp(gammaln(k + 0.5))       # Γ(k + 1/2)
    g_3half = np.exp(gammaln(k + 1.5))      # Γ(k + 3/2)
    m = 2.0 * k + 1.0
    a_k = (
        g_half * m * _e2((4 * k + 3) / s) / (9.0 * x34)
        + g_half * _e3((4 * k + 1) / s) / (72.0 * x54)
        + g_3half * 2.0 * (m + 2.0) * _e3((4 * k + 5) / s) / (12.0 * x54)
        + g_half * 7.0 * m * (_e2((4 * k + 1) / s) + _e2((4 * k + 5) / s)) / (144.0 * x34)
    )
    return -(a_k * np.exp(-gammaln(k + 1.0))).sum(axis=1) / math.pi


def _cvm_cdf_flat(x, n):
    out = np.zeros_like(x)
    if n is None:
        inside = (x > 0) & (x <= _CVM_XMAX)
        out[x > _CVM_XMAX] = 1.0
        if inside.any():
            out[inside] = _cvm_inf_core(x[inside])
    else:
        upper = min(n / 3.0, _CVM_XMAX)
        inside = (x > 1.0 / (12.0 * n)) & (x < upper)
        out[x >= upper] = 1.0
        if inside.any():
            xi = x[inside]
            v = _cvm_inf_core(xi)
            out[inside] = v * (1.0 + 1.0 / (12.0 * n)) + _cvm_psi1_core(xi) / n
    out[np.isnan(x)] = np.nan
    return np.clip(out, 0.0, 1.0)


def _cvm_cdf_series(x, n=None):
    return _scalarize(_chunked(_cvm_cdf_flat, x, n))


def cvm_cdf(x, n=None):
    """P(W² <= x): the Csörgő–Faraway finite-n law, or the limit when ``n`` is None (1 − :func:`cvm_sf`)."""
    return _scalarize(1.0 - np.asarray(cvm_sf(x, n)))


def cvm_sf(x, n=None):
    """P(W² > x): 1 − :func:`cvm_cdf`, and in the far tail the accurate limit tail (module notes)."""
    x = np.asarray(x, dtype=float)
    top = np.inf if n is None else n / 3.0
    return _scalarize(_tailed_sf("cramervonmises", x, n, 1.0 - np.asarray(_cvm_cdf_series(x, n)), top))


# ---------------------------------------------------------------------------
# Far tails of the simple-hypothesis laws (sum of chi-square(1) with known weights)
# ---------------------------------------------------------------------------

_TAIL_K = 60            # weights kept; the rest enter through their sum and sum of squares
_TAIL_BELOW = 1e-6      # limit p below which the series' 1 - cdf is replaced
_FINITE_FROM = 1e-3     # limit p beyond which a finite-n law is carried by its relative factor


@functools.lru_cache(maxsize=2)
def _limit_weights(test):
    k = np.arange(1, _TAIL_K + 1, dtype=float)
    if test == "cramervonmises":
        lam, trace, sq = 1.0 / (k * k * math.pi ** 2), 1.0 / 6.0, 1.0 / 90.0
    else:
        lam, trace, sq = 1.0 / (k * (k + 1.0)), 1.0, math.pi ** 2 / 3.0 - 3.0
    return lam, trace - float(lam.sum()), sq - float(np.sum(lam * lam))


def _limit_tail(test, x):
    from .._sumchi2 import sum_chi2_sf

    lam, tail, tail2 = _limit_weights(test)
    return np.asarray(sum_chi2_sf(x, lam, tail, tail2), dtype=float)


@functools.lru_cache(maxsize=256)
def _finite_switch(test, n):
    """(x₀, sf_n(x₀)/sf_∞(x₀)) with the finite-n law's sf_n(x₀) = _FINITE_FROM, or None."""
    series = _cvm_cdf_series if test == "cramervonmises" else _ad_cdf_series
    cdf = functools.partial(series, n=n)
    hi = min(n / 3.0, _CVM_XMAX) if test == "cramervonmises" else _AD_XMAX
    if float(cdf(hi)) < 1.0 - _FINITE_FROM:
        return None
    x0 = float(invert_cdf(cdf, 1.0 - _FINITE_FROM, 0.0, hi))
    limit = 1.0 - float(series(x0))
    return x0, (1.0 - float(cdf(x0))) / limit


def _tailed_sf(test, x, n, sf_series, top):
    """Replace the far tail of ``sf_series`` (the 1 − cdf of the series at x)."""
    shape = x.shape
    x = x.reshape(-1)
    sf = np.clip(np.asarray(sf_series, dtype=float), 0.0, 1.0).reshape(-1)
    if x.size == 0:
        return sf.reshape(shape)
    switch = None if n is None else _finite_switch(test, int(n))
    series = _cvm_cdf_series if test == "cramervonmises" else _ad_cdf_series
    limit = sf if n is None else np.clip(1.0 - np.asarray(series(x)), 0.0, 1.0).reshape(-1)
    with np.errstate(invalid="ignore"):
        far = limit < _TAIL_BELOW
        carried = (x > switch[0]) & (x < top) if switch is not None else np.zeros(x.shape, bool)
    tail = np.asarray(limit, dtype=float).copy()
    if far.any():
        tail[far] = _limit_tail(test, x[far])
    if n is None:
        out = tail
    else:
        out = sf.copy()
        if np.any(carried):  # a floored limit tail stays at the floor (the result flags it as a bound)
            out[carried] = np.where(tail[carried] > PVALUE_FLOOR, switch[1] * tail[carried], PVALUE_FLOOR)
        out[x >= top] = PVALUE_FLOOR  # the support's end, reached only through rounding: never a bare 0
    out = np.where(np.isnan(x), np.nan, out)
    return np.clip(out, 0.0, 1.0).reshape(shape)


# ---------------------------------------------------------------------------
# Anderson–Darling, simple hypothesis
# ---------------------------------------------------------------------------

_AD_XMIN = 0.02  # P(A² <= 0.02) < 1e-50
_AD_XMAX = 60.0  # 1 - P(A² <= 60) < 1e-24


@memoize(1)
def _gl_theta(k: int = 160):
    nodes, weights = np.polynomial.legendre.leggauss(k)
    half = 0.25 * math.pi
    return half * (nodes + 1.0), half * weights  # on [0, pi/2]


def _ad_inf_core(z):
    """P(A² <= z) by the Anderson–Darling series, 1-D array inside (_AD_XMIN, _AD_XMAX)."""
    theta, wq = _gl_theta()
    cos2 = np.cos(theta) ** 2
    tan2 = np.tan(theta) ** 2
    sec2 = 1.0 / cos2
    zmax = float(z.max())
    # term j carries exp(-(4j+1)^2 pi^2 / (8 z)) against a growth of at most exp(z/8)
    jmax = int(math.ceil((math.sqrt(8.0 * zmax * (45.0 + zmax / 8.0)) / math.pi - 1.0) / 4.0)) + 1
    total = np.zeros_like(z)
    a = z / 8.0
    for j in range(jmax + 1):
        c = (4 * j + 1) ** 2 * math.pi ** 2 / 8.0
        b = c / z  # coefficient of w^2
        # ∫_0^∞ exp(a/(1+w²) − b w²) dw = ½√(π/b) + ∫_0^{π/2} (e^{a cos²θ} − 1) e^{−b tan²θ} sec²θ dθ
        inner = np.expm1(a[:, None] * cos2) * np.exp(-b[:, None] * tan2) * sec2
        integral = 0.5 * np.sqrt(math.pi / b) + inner @ wq
        # C(-1/2, j) = (-1)^j Γ(j + 1/2) / (√π j!)
        binom = (-1) ** j * math.exp(math.lgamma(j + 0.5) - math.lgamma(j + 1.0)) / math.sqrt(math.pi)
        total += binom * (4 * j + 1) * np.exp(-b) * integral
    return math.sqrt(2.0 * math.pi) / z * total


def _ad_inf_flat(z):
    out = np.zeros_like(z)
    out[z >= _AD_XMAX] = 1.0
    inside = (z > _AD_XMIN) & (z < _AD_XMAX)
    if inside.any():
        out[inside] = _ad_inf_core(z[inside])
    out[np.isnan(z)] = np.nan
    return np.clip(out, 0.0, 1.0)


def _errfix(n, x):
    """Marsaglia & Marsaglia (2004) finite-n correction to the limit cdf value ``x``."""
    c = 0.01265 + 0.1757 / n
    out = np.zeros_like(x)
    low = x < c
    mid = (x >= c) & (x <= 0.8)
    high = x > 0.8
    v = x[low] / c
    out[low] = np.sqrt(v) * (1 - v) * (49 * v - 102) * (0.0037 / n ** 2 + 0.00078 / n + 0.00006) / n
    v = (x[mid] - c) / (0.8 - c)
    poly = -0.00022633 + v * (6.54034 + v * (-14.6538 + v * (14.458 + v * (-8.259 + v * 1.91864))))
    out[mid] = (0.04213 + 0.01365 / n) / n * poly
    y = x[high]
    poly = -130.2137 + y * (745.2337 + y * (-1705.091 + y * (1950.646 + y * (-1116.360 + y * 255.7844))))
    out[high] = poly / n
    return out


def _ad_cdf_flat(z, n):
    x = _ad_inf_flat(z)
    if n is not None:
        fin = np.isfinite(x) & (x > 0) & (x < 1)
        x = x.copy()
        x[fin] = x[fin] + _errfix(float(n), x[fin])
    return np.clip(x, 0.0, 1.0)


def _ad_cdf_series(z, n=None):
    return _scalarize(_chunked(_ad_cdf_flat, z, n))


def ad_cdf(z, n=None):
    """P(A² <= z): the limit law (``n`` None) or Marsaglia's finite-n correction of it (1 − :func:`ad_sf`)."""
    return _scalarize(1.0 - np.asarray(ad_sf(z, n)))


def ad_sf(z, n=None):
    """P(A² > z): 1 − :func:`ad_cdf`, and in the far tail the accurate limit tail (module notes)."""
    z = np.asarray(z, dtype=float)
    return _scalarize(_tailed_sf("anderson", z, n, 1.0 - np.asarray(_ad_cdf_series(z, n)), np.inf))


# ---------------------------------------------------------------------------
# Composite hypothesis: Stephens' modified statistics (Table 4.9)
# ---------------------------------------------------------------------------

# (upper end of range, "1 - exp" form?, c0, c1, c2): p = exp(c0 + c1 s + c2 s^2) or 1 - exp(...)
_STEPHENS = {
    "anderson": (
        (0.2, True, -13.436, 101.14, -223.73),
        (0.34, True, -8.318, 42.796, -59.938),
        (0.6, False, 0.9177, -4.279, -1.38),
        (10.0, False, 1.2937, -5.709, 0.0186),
    ),
    "cramervonmises": (
        (0.0275, True, -13.953, 775.5, -12542.61),
        (0.051, True, -5.903, 179.546, -1515.29),
        (0.092, False, 0.886, -31.62, 10.897),
        (1.1, False, 1.111, -34.242, 12.832),
    ),
}


def stephens_modify(test: str, stat, n):
    """Stephens' modified statistic: A* = A²(1 + 0.75/n + 2.25/n²), W* = W²(1 + 0.5/n)."""
    stat = np.asarray(stat, dtype=float)
    if test == "anderson":
        return stat * (1.0 + 0.75 / n + 2.25 / n ** 2)
    return stat * (1.0 + 0.5 / n)


def _stephens_sf_modified(test: str, s):
    s = np.asarray(s, dtype=float)
    pieces = _STEPHENS[test]
    top = pieces[-1][0]
    s_c = np.minimum(s, top)  # beyond the last range the p-value is held (R nortest)
    p = np.full(s.shape, np.nan)
    done = np.isnan(s)
    for upper, one_minus, c0, c1, c2 in pieces:
        sel = ~done & (s_c < upper) if upper != top else ~done
        val = np.exp(c0 + s_c[sel] * (c1 + c2 * s_c[sel]))
        p[sel] = 1.0 - val if one_minus else val
        done = done | sel
    return np.clip(p, 0.0, 1.0)


def _stephens_sf_scalar(test: str, s: float) -> float:
    pieces = _STEPHENS[test]
    s = min(s, pieces[-1][0])
    for upper, one_minus, c0, c1, c2 in pieces:
        if s < upper or upper == pieces[-1][0]:
            val = math.exp(c0 + s * (c1 + c2 * s))
            return min(max(1.0 - val if one_minus else val, 0.0), 1.0)
    raise AssertionError("unreachable")


def stephens_beyond(test: str, stat, n):
    """Where Stephens' formula is held (beyond its range): there ``stephens_sf`` is an upper bound."""
    s = np.asarray(stephens_modify(test, stat, n), dtype=float)
    with np.errstate(invalid="ignore"):
        out = s > _STEPHENS[test][-1][0]
    return out[()] if out.ndim == 0 else out


def stephens_sf(test: str, stat, n):
    """Stephens' p-value for the composite statistic ``stat`` (A² or W²) at sample size ``n``."""
    if isinstance(stat, float) or (isinstance(stat, np.ndarray) and stat.shape == ()):
        s = float(stephens_modify(test, float(stat), n))
        if not math.isnan(s):
            return np.float64(_stephens_sf_scalar(test, s))
    return _scalarize(_stephens_sf_modified(test, stephens_modify(test, stat, n)))


# ---------------------------------------------------------------------------
# Null objects (module-level functions and partials only: results holding them pickle)
# ---------------------------------------------------------------------------

def _stephens_cdf(test, n, x):
    return _scalarize(1.0 - np.asarray(stephens_sf(test, x, n)))


@memoize(256)
def cvm_null(n, asymptotic: bool = False) -> AnalyticNull:
    """The simple-hypothesis W² law: Csörgő–Faraway at ``n``, or the limit."""
    nn = None if asymptotic else int(n)
    hi = _CVM_XMAX if nn is None else min(nn / 3.0, _CVM_XMAX)
    lo = 0.0 if nn is None else 1.0 / (12.0 * nn)
    cdf = functools.partial(cvm_cdf, n=nn)
    sf = functools.partial(cvm_sf, n=nn)
    name = "cvm-limit" if nn is None else "cvm-csorgo-faraway"
    return AnalyticNull(
        name, sf=sf, cdf=cdf, ppf=functools.partial(invert_cdf, cdf, lo=lo, hi=hi), support=(lo, hi),
        params={"n": None if nn is None else nn, "hypothesis": "simple"},
    )


@memoize(256)
def ad_null(n, asymptotic: bool = False) -> AnalyticNull:
    """The simple-hypothesis A² law: the limit with Marsaglia's errfix at ``n``, or the limit."""
    nn = None if asymptotic else int(n)
    cdf = functools.partial(ad_cdf, n=nn)
    sf = functools.partial(ad_sf, n=nn)
    name = "ad-limit" if nn is None else "ad-marsaglia"
    return AnalyticNull(
        name, sf=sf, cdf=cdf, ppf=functools.partial(invert_cdf, cdf, lo=0.0, hi=_AD_XMAX),
        support=(0.0, _AD_XMAX), params={"n": nn, "hypothesis": "simple"},
    )


@memoize(256)
def stephens_null(test: str, n: int) -> AnalyticNull:
    """Stephens' composite law of A² or W² at sample size ``n`` (as a law of the unmodified statistic)."""
    n = int(n)
    factor = float(stephens_modify(test, 1.0, n))
    top = _STEPHENS[test][-1][0] / factor  # beyond it the formula's p-value is held constant
    cdf = functools.partial(_stephens_cdf, test, n)
    return AnalyticNull(
        f"{'ad' if test == 'anderson' else 'cvm'}-stephens",
        sf=functools.partial(stephens_sf, test, n=n), cdf=cdf,
        ppf=functools.partial(invert_cdf, cdf, lo=0.0, hi=top), support=(0.0, top),
        params={"n": n, "hypothesis": "composite", "ddof": 1},
    )

from .durbin import composite_limit_null, durbin_eigenvalues  # noqa: E402,F401 (re-exported)
