"""Effect size of the Epps–Pulley tests: the population distance the statistic estimates.

``T_{n,beta}/n -> Delta = int |phi_F(t) - exp(-t^2/2)|^2 phi_beta(t) dt`` (docs/theory.md §2),
with ``phi_F`` the characteristic function of the standardised population (composite
null) or of the population itself (simple null). Delta is 0 exactly under normality.

Estimator: ``(T - mu_0)/n`` clipped at 0, with ``mu_0`` the statistic's null mean
(exact at every n for the simple null, the limit mean for the composite null), so that
the estimate is unbiased to O(1/n) under H0 and its bias is O(1/n) beside Delta otherwise.

95% interval: ``raw ± 1.96 se`` clipped at 0, with
``se^2 = Var(IF)/n + Var_0(T)/n^2``. ``IF`` is the influence function of Delta (the
non-degenerate part of the V-statistic, plus the terms of the estimated mean and scale
under the composite null):

    IF(y) = 2 int [(C(t) - phi_0)(cos ty - C(t)) + S(t)(sin ty - S(t))] w(t) dt
            + A y + B (y^2 - 1)/2,
    A = -2 int t phi_0 S w dt,   B = 2 int t [(C - phi_0) P - S Q] w dt,

where ``C, S`` are the ECF's real and imaginary parts, ``P = mean(y sin ty)``,
``Q = mean(y cos ty)`` and ``w`` the N(0, beta^2) density (``A = B = 0`` for the simple
null). Its variance is estimated on an evenly strided subsample of at most 5 000 points;
``C, S`` come from all points (the equispaced rule of ``auto_rule``, exact for the points
within ``40/beta``; points beyond contribute nothing to the integrals there). The second
term is the degenerate part (the null variance of T, ``2 sum lambda^2`` in the limit), which
dominates when Delta is of order 1/n. Coverage, measured by simulation where Delta is known by
quadrature, is in docs/epps_pulley.md and tests/test_effect.py.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["ep_effect", "sliced_effect", "sliced_effect_stride", "population_distance"]

_Z95 = 1.959963984540054
_NEAR = 40.0          # |y| beyond near/beta: cos/sin terms of the IF integrals vanish (< e^-800)
_MAX_POINTS = 5_000   # subsample for the variance of the influence function
_CHUNK = 2_000_000    # values per (points x nodes) temporary


@functools.lru_cache(maxsize=32)
def _null_var(beta: float, standardize: bool) -> float:
    from .laws import exact_eigenvalues

    lam, _ = exact_eigenvalues(float(beta), bool(standardize))
    return float(2.0 * np.sum(lam * lam))


def ep_effect(Y, T, beta: float, standardize: bool):
    """Effect estimate and 95% interval for each row of ``Y`` (the data as the statistic saw it).

    Returns ``(effect, low, high)``, arrays of shape ``(m,)`` (NaN where ``T`` is NaN).
    """
    from ._kernels import ecf_sums_rows
    from .rules import auto_rule

    Y = np.asarray(Y, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    m, n = Y.shape
    out = np.full((3, m), np.nan)
    ok = np.isfinite(T) & np.isfinite(Y).all(axis=1)
    if ok.any():
        Yo = np.ascontiguousarray(Y[ok])
        A = np.abs(Yo)
        R = min(float(A.max()), _NEAR / beta)
        rule = auto_rule(max(R, 1e-3), beta)
        t = rule.nodes
        C, S = ecf_sums_rows(Yo, t, step=rule.step)
        for r in np.nonzero((A > R).any(axis=1))[0]:  # far points drop out of the integrals
            ang = t[None, :] * Yo[r, A[r] > R][:, None]
            C[r] -= np.cos(ang).sum(axis=0)
            S[r] -= np.sin(ang).sum(axis=0)
        out[:, ok] = ep_effect_sums(Yo[:, ::effect_stride(n)], C, S, rule, R, T[ok], n, beta, standardize)
    nan = np.isnan(T)
    out[:, ~ok & ~nan] = _interval((T[~ok & ~nan] - _mean0(beta, standardize)) / n, np.nan,
                                   _null_var(beta, standardize), n)
    return tuple(out)


def effect_stride(n):
    """Stride of the evenly strided subsample (at most 5 000 points) of the influence variance."""
    return max(1, -(-n // _MAX_POINTS))


def ep_effect_sums(Ys, C, S, rule, R, T, n, beta: float, standardize: bool):
    """:func:`ep_effect` from the ECF sums of the whole rows, computed elsewhere.

    ``Ys`` (m, ms): the strided subsample ``Y[:, ::effect_stride(n)]`` of the standardised
    rows; ``C, S`` (m, K): the sums of all n points with ``|y| <= R`` under `rule` (an
    ``auto_rule`` exact for them); ``T`` (m,): the statistics. Returns ``(effect, low, high)``.
    """
    raw = (np.asarray(T, dtype=np.float64) - _mean0(beta, standardize)) / n
    var_if = np.var(_influence(Ys, C / n, S / n, rule.nodes, rule.weights, R, standardize, rule.lattice_step),
                    axis=1)
    return _interval(raw, var_if, _null_var(beta, standardize), n)


def _mean0(beta, standardize):
    from .laws import exact_mean

    return exact_mean(float(beta), bool(standardize))


def _interval(raw, var_if, var0, n):
    se = np.sqrt(var_if / n + var0 / n**2)
    effect = np.where(np.isnan(raw), np.nan, np.maximum(raw, 0.0))
    return effect, np.maximum(raw - _Z95 * se, 0.0), np.maximum(raw + _Z95 * se, 0.0)


def sliced_effect(P, C, S, rule, stat, n, standardize, null_mean, null_var):
    """Effect of the sliced test (mean reduction, Henze scale): the mean distance over the slices.

    ``P`` holds the projections of (a strided subsample of) the data, one row per slice;
    ``C, S`` the full-data ECF sums per slice on `rule`. The influence function is the mean
    over slices of the one-dimensional ones (the whitening's rotation terms are left out).
    Returns ``(effect, low, high)`` as floats.
    """
    M = P.shape[0]
    stride = _points_stride(P.shape[1], M, rule.nodes.size)
    infl = _influence(np.asarray(P[:, ::stride], dtype=np.float64), C / n, S / n, rule.nodes, rule.weights,
                      np.inf, standardize, rule.lattice_step).mean(axis=0)
    raw = np.array([(float(stat) - null_mean) / n])
    out = _interval(raw, np.array([np.var(infl)]), null_var, n)
    return tuple(float(v[0]) for v in out)


def _points_stride(m, M, K):
    """Stride over `m` projected points that keeps what the sliced influence variance uses."""
    keep = max(200, min(m, _CHUNK // max(1, M * K) * 4))
    return max(1, -(-m // keep))


def sliced_effect_stride(n, M, K):
    """Row stride of the subsample :func:`sliced_effect` reads, for n rows, M slices, K nodes.

    ``X[::stride]`` are exactly the rows whose projections it uses (an evenly strided
    subsample of at most 5 000 rows, thinned to what the (slices x points x nodes)
    temporaries allow), so only those need projecting.
    """
    first = max(1, n // _MAX_POINTS)
    return first * _points_stride(-(-n // first), M, K)


def _influence(Ys, C, S, t, w, R, standardize, step=None):
    """The influence function of Delta at the points ``Ys`` (m, ms), per row's ECF ``C, S`` (m, K).

    With ``step`` (nodes ``t_k = k step``) the trigonometric sums come from the numba kernel
    ``trig_points`` (one sin/cos per point, the rotation for the other nodes); otherwise
    from (points x nodes) tables in chunks.
    """
    phi0 = np.exp(-0.5 * t * t)
    a = w * (C - phi0)                       # (m, K)
    b = w * S
    const = np.sum(a * C + b * S, axis=1)    # (m,)
    if step is not None:
        from ._kernels import trig_points

        trig, P, Q = trig_points(Ys, a, b, step, R, pq=standardize)
        return _influence_terms(Ys, trig, const, C, S, t, w, phi0, P, Q, R)
    out = np.empty(Ys.shape)
    rows = max(1, _CHUNK // max(1, Ys.shape[1] * t.size))
    for lo in range(0, Ys.shape[0], rows):
        y = Ys[lo:lo + rows]
        near = np.abs(y) <= R
        ang = y[:, :, None] * t[None, None, :]
        cos, sin = np.cos(ang), np.sin(ang)
        cos[~near] = 0.0
        sin[~near] = 0.0
        P = Q = None
        if standardize:
            yy = np.where(near, y, 0.0)
            P = np.einsum("rj,rjk->rk", yy, sin)
            Q = np.einsum("rj,rjk->rk", yy, cos)
        trig = np.einsum("rjk,rk->rj", cos, a[lo:lo + rows]) + np.einsum("rjk,rk->rj", sin, b[lo:lo + rows])
        sl = slice(lo, lo + rows)
        out[sl] = _influence_terms(y, trig, const[sl], C[sl], S[sl], t, w, phi0, P, Q, R)
    return out


def _influence_terms(y, trig, const, C, S, t, w, phi0, P, Q, R):
    """IF = 2 (trig - const) [+ A y + B (y^2 - 1)/2 with P, Q the sums of y sin, y cos (composite)]."""
    infl = 2.0 * (trig - const[:, None])
    if P is not None:
        P = P / y.shape[1]
        Q = Q / y.shape[1]
        A = -2.0 * np.sum(w * t * phi0 * S, axis=1)
        B = 2.0 * np.sum(w * t * ((C - phi0) * P - S * Q), axis=1)
        infl = infl + A[:, None] * y + 0.5 * B[:, None] * (y * y - 1.0)
    return infl


def population_distance(cf, beta: float = 1.0) -> float:
    """``int |cf(t) - exp(-t^2/2)|^2 phi_beta(t) dt`` by adaptive quadrature (for tests and docs).

    `cf` is the characteristic function of the (standardised) population, a callable
    returning complex values.

    Examples
    --------
    >>> import numpy as np
    >>> from normtest.ecf.effect import population_distance
    >>> laplace = lambda t: 1.0 / (1.0 + t * t / 2.0)   # unit-variance Laplace
    >>> print(f"{population_distance(laplace):.3e}")
    6.602e-03
    """
    from scipy import integrate

    def f(u):
        d = cf(u) - np.exp(-0.5 * u * u)
        return (d.real ** 2 + d.imag ** 2) * np.exp(-0.5 * (u / beta) ** 2) / (beta * np.sqrt(2.0 * np.pi))

    val, _ = integrate.quad(lambda u: f(u) + f(-u), 0.0, np.inf, epsabs=1e-15, epsrel=1e-10, limit=400)
    return float(val)
