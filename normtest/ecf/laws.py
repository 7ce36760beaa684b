"""Null laws of the Epps–Pulley statistic: limit eigenvalues, finite-n moments, shipped tables.

Limit law (docs/theory.md §3, §4). Under H0, ``sqrt(n) (Re psi_n(t) - e^{-t^2/2}, Im psi_n(t))``
tends to a Gaussian process with cosine and sine parts uncorrelated:

    Sigma^C(s, t) = [e^{-(s-t)^2/2} + e^{-(s+t)^2/2}]/2 - e^{-(s^2+t^2)/2}
    Sigma^S(s, t) = [e^{-(s-t)^2/2} - e^{-(s+t)^2/2}]/2

With estimated mean and scale (composite null) the process is projected off the
Hermite directions of degree 1 (sine part) and 2 (cosine part); since
``<cos(t.), He_2/sqrt 2> = -t^2 e^{-t^2/2}/sqrt 2`` and ``<sin(t.), He_1> = t e^{-t^2/2}``,

    Sigma^C_comp = Sigma^C - (s^2 t^2 / 2) e^{-(s^2+t^2)/2},   Sigma^S_comp = Sigma^S - s t e^{-(s^2+t^2)/2}.

For a rule with nodes ``t_k`` and effective weights ``omega_k`` the statistic
tends to ``sum lambda chi2_1`` over the eigenvalues of ``D^1/2 Sigma D^1/2``
(both blocks, ``D = diag(omega)``): a finite list, exact for that rule. The exact
statistic's operator is the same with the integral against the N(0, beta^2)
weight; a folded Gauss–Hermite rule with 160 nodes discretises it (spectral
convergence; the missing trace, below 1e-12, is added back as ``tail``). The
trace reproduces ``1 - (1+2 beta^2)^{-1/2}`` (simple) and the Henze–Wagner mean
(composite), and the eigenvalues the lists of docs/theory.md §4.1 (tested).

Finite n. Default settings (beta = 1, exact statistic) ship Monte-Carlo quantile
tables for both nulls (``data/ep_tables.npz``, built by
``benchmarks/make_ep_tables.py``), interpolated linearly in 1/n towards the
limit law's quantiles and, between levels, linearly in the normal score of p.
"""

from __future__ import annotations

import os

import numpy as np
from scipy import special

from .._cache import BoundedCache, memoize
from ..null import NullDistribution

__all__ = ["covariances", "rule_eigenvalues", "exact_eigenvalues", "asymptotic_null",
           "simple_moments", "composite_moments", "rule_moments", "table_null", "TableNull",
           "limit_min_n"]

_GH_NODES = 160  # folded Gauss–Hermite nodes for the exact statistic's operator


def covariances(nodes, standardize: bool):
    """(Sigma^C, Sigma^S) at the nodes (limit covariance of sqrt(n) times the ECF error)."""
    s = np.asarray(nodes, dtype=np.float64)[:, None]
    t = s.T
    em = np.exp(-0.5 * (s - t) ** 2)
    ep = np.exp(-0.5 * (s + t) ** 2)
    e0 = np.exp(-0.5 * (s * s + t * t))
    SC = 0.5 * (em + ep) - e0
    SS = 0.5 * (em - ep)
    if standardize:
        SC = SC - 0.5 * (s * s) * (t * t) * e0
        SS = SS - s * t * e0
    return SC, SS


def rule_eigenvalues(nodes, weights, standardize: bool) -> np.ndarray:
    """Eigenvalues (descending, > 0) of the limit law of a rule's statistic."""
    w = np.sqrt(np.asarray(weights, dtype=np.float64))
    SC, SS = covariances(nodes, standardize)
    lam = np.concatenate([np.linalg.eigvalsh(w[:, None] * SC * w[None, :]),
                          np.linalg.eigvalsh(w[:, None] * SS * w[None, :])])
    lam = np.sort(lam)[::-1]
    keep = lam > 1e-15 * max(lam[0], 1e-300)
    return lam[keep]


def _gh_rule(beta: float, k: int = _GH_NODES):
    from scipy.special import roots_hermitenorm  # O(k) for large k; numpy's hermegauss is an eigensolve

    x, w = roots_hermitenorm(2 * k)
    w = w / np.sqrt(2.0 * np.pi)
    pos = x > 0
    return beta * x[pos], 2.0 * w[pos]


def simple_moments(n: int, d: int = 1, beta: float = 1.0):
    """Exact finite-n mean and variance of T_{n,beta} under N(0, I_d) (docs/theory.md §4.1).

    The 1-D Epps–Pulley statistic is ``d = 1``; BHEP's simple null uses any `d`.
    """
    b2 = beta * beta
    c = (1.0 + 2.0 * b2) ** (-d / 2)
    sl2 = (1.0 + 4.0 * b2) ** (-d / 2) - 2.0 * ((1.0 + b2) * (1.0 + 3.0 * b2)) ** (-d / 2) + c * c
    var = 2.0 * (1.0 - 1.0 / n) * sl2 + 4.0 / n * (((1.0 + b2) * (1.0 + 3.0 * b2)) ** (-d / 2) - c * c)
    return 1.0 - c, var


def composite_moments(d: int = 1, beta: float = 1.0):
    """Henze–Wagner limit mean and variance of T_{n,beta} under the composite null (docs/theory.md §4.2)."""
    b2 = beta * beta
    a = 1.0 + 2.0 * b2
    w = (1.0 + b2) * (1.0 + 3.0 * b2)
    mu = 1.0 - a ** (-d / 2) * (1.0 + d * b2 / a + d * (d + 2) * b2 * b2 / (2 * a * a))
    s2 = (2.0 * (1.0 + 4.0 * b2) ** (-d / 2)
          + 2.0 * a ** (-d) * (1.0 + 2.0 * d * b2**2 / a**2 + 3.0 * d * (d + 2) * b2**4 / (4.0 * a**4))
          - 4.0 * w ** (-d / 2) * (1.0 + 3.0 * d * b2**2 / (2.0 * w) + d * (d + 2) * b2**4 / (2.0 * w**2)))
    return mu, s2


def exact_mean(beta: float, standardize: bool) -> float:
    """Limit mean (= trace) of T_{n,beta}, d = 1: exact at every n for the simple null."""
    return (composite_moments(1, beta) if standardize else simple_moments(2, 1, beta))[0]


@memoize(32)
def exact_eigenvalues(beta: float, standardize: bool):
    """(eigenvalues, tail) of the exact statistic's limit law (Gauss–Hermite discretisation)."""
    nodes, weights = _gh_rule(beta)
    lam = rule_eigenvalues(nodes, weights, standardize)
    lam = lam[lam > 1e-14]
    tail = max(0.0, exact_mean(beta, standardize) - float(lam.sum()))
    lam.setflags(write=False)
    return lam, tail


_ASYM_CACHE = BoundedCache(max_entries=64)


def asymptotic_null(beta: float, standardize: bool, rule=None):
    """The limit law ``sum lambda chi2_1 (+ tail)`` for the exact statistic or a rule."""
    if rule is None:
        key = ("exact", float(beta), bool(standardize))
    else:
        key = (rule.name, rule.nodes.tobytes(), rule.weights.tobytes(), bool(standardize))
    return _ASYM_CACHE.get_or_make(key, lambda: _asymptotic_null(beta, standardize, rule))


def _asymptotic_null(beta, standardize, rule):
    from .._sumchi2 import SumChi2Null

    if rule is None:
        lam, tail = exact_eigenvalues(float(beta), bool(standardize))
        params = {"test": "epps_pulley", "statistic": "exact", "beta": float(beta),
                  "standardize": bool(standardize)}
    else:
        lam = rule_eigenvalues(rule.nodes, rule.weights, standardize)
        tail = 0.0
        params = {"test": "epps_pulley", "statistic": rule.name, "standardize": bool(standardize)}
    return SumChi2Null(lam, tail, name="asymptotic-sum-chi2", params=params)


# Smallest n from which the limit law is the default p-value where no table applies (the
# small-n rule stated in normtest.classic): the first n of (3, 5, 10, 20, 30, 50, 100, 200, 500,
# 1000, 2000) at which the 5% and 10% tests reject within 15% of their level, measured on 2e4
# seeded N(0, 1) samples per cell (1e4 for beta = 10) by `benchmarks/validation.py --small-n`.
# Between grid points of beta the larger neighbour is used; custom rules take the largest value
# measured for beta <= 5 (they are not measured one by one). NEVER: not calibrated at any n
# measured (simple null, beta = 10: 0.85 x alpha at n = 2000; the limit law itself is off there).
NEVER = 2**62
_MIN_N_BETA = (0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0, 10.0)
_MIN_N_LIMIT = {True: (100, 100, 50, 30, 20, 20, 10, 5, 20, 100),
                False: (3, 3, 3, 3, 3, 3, 5, 10, 10, NEVER)}
_MIN_N_PRESET = {"lejepa": {True: 20, False: 3}, "paper": {True: 20, False: 3}}
_MIN_N_CUSTOM = {True: 100, False: 10}


def limit_min_n(beta: float, standardize: bool, rule=None) -> int:
    """Smallest n at which the limit law of `rule` (None: the exact statistic at `beta`) is calibrated.

    :data:`NEVER` where it is not calibrated at any n measured.

    Examples
    --------
    >>> from normtest.ecf.laws import limit_min_n
    >>> limit_min_n(0.5, True), limit_min_n(0.5, False)
    (30, 3)
    """
    standardize = bool(standardize)
    if rule is not None:
        if rule.name in _MIN_N_PRESET:
            return _MIN_N_PRESET[rule.name][standardize]
        if rule.name != "gauss-hermite":
            return _MIN_N_CUSTOM[standardize]
        beta = rule.beta  # a Gauss–Hermite rule approximates the exact statistic at its beta
    grid = np.asarray(_MIN_N_BETA)
    table = _MIN_N_LIMIT[standardize]
    i = int(np.searchsorted(grid, float(beta), side="left"))
    if i < grid.size and grid[i] == float(beta):
        return table[i]
    return max(table[max(i - 1, 0)], table[min(i, grid.size - 1)])


def rule_moments(rule, n: int):
    """Exact finite-n mean and variance of a rule's statistic under the simple null.

    Q is a degenerate V-statistic with kernel
    ``h(x, y) = sum_k omega_k [cos t_k(x-y) - phi_k cos t_k x - phi_k cos t_k y + phi_k^2]``:
    ``E Q = sum omega_k (1 - phi_k^2)`` and
    ``Var Q = 2 (1 - 1/n) E h(X,Y)^2 + Var h(X,X) / n`` with
    ``E h(X,Y)^2 = tr((D Sigma^C)^2) + tr((D Sigma^S)^2)`` and
    ``Var h(X,X) = 4 (omega phi)' Sigma^C (omega phi)``.
    """
    t = rule.nodes
    om = rule.weights
    phi = np.exp(-0.5 * t * t)
    SC, SS = covariances(t, False)
    DC = om[:, None] * SC
    DS = om[:, None] * SS
    sum_l2 = float(np.trace(DC @ DC) + np.trace(DS @ DS))
    v = om * phi
    var_diag = 4.0 * float(v @ SC @ v)
    return float(np.sum(om * (1.0 - phi * phi))), 2.0 * (1.0 - 1.0 / n) * sum_l2 + var_diag / n


# ---------------------------------------------------------------------------
# Shipped finite-n tables (default settings: beta = 1, exact statistic)
# ---------------------------------------------------------------------------

_TABLE_FILE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "data", "ep_tables.npz")


@memoize(1)
def _load_tables():
    if not os.path.exists(_TABLE_FILE):
        return None
    with np.load(_TABLE_FILE) as f:
        return {k: f[k] for k in f.files}


class TableNull(NullDistribution):
    """Finite-n null of T_{n,1} from shipped Monte-Carlo quantile tables.

    ``sf`` interpolates the upper-tail quantiles ``q_n(p)`` (tabulated for a grid
    of n and p, plus the limit law at n = inf) linearly in 1/n, then the normal
    score ``Phi^{-1}(1 - p)`` linearly in the statistic. Beyond the tabulated p
    range the limit law is used on a statistic rescaled to match the table at
    its edge, so ``sf`` stays continuous and monotone.
    """

    name = "table"

    def __init__(self, n: int, standardize: bool, p_grid, quantiles, limit, info, limit_edges=None):
        self.n = int(n)
        self.standardize = bool(standardize)
        self.p_grid = p_grid              # decreasing upper-tail probabilities
        self.q = quantiles                # increasing statistic values
        self.limit = limit
        self.info = info
        self._z = special.ndtri(1.0 - p_grid)  # increasing normal scores
        if limit_edges is None:
            limit_edges = (float(limit.isf(p_grid[0])), float(limit.isf(p_grid[-1])))
        self._q0_inf, self._q1_inf = limit_edges  # limit-law quantiles at the table's p range ends

    def sf(self, x):
        x = np.asarray(x, dtype=np.float64)
        z = np.interp(x, self.q, self._z)
        p = np.atleast_1d(special.ndtr(-z)).astype(np.float64)
        x = np.broadcast_to(x, p.shape) if x.ndim == 0 else x
        hi = np.atleast_1d(x > self.q[-1])
        lo = np.atleast_1d(x < self.q[0])
        x = np.atleast_1d(x)
        if hi.any():
            p[hi] = self.limit.sf(x[hi] * (self._q1_inf / self.q[-1]))
        if lo.any():
            p[lo] = self.limit.sf(x[lo] * (self._q0_inf / self.q[0]))
        p = np.where(np.isnan(x), np.nan, np.clip(p, 0.0, 1.0)).reshape(np.shape(z))
        return p[()] if p.ndim == 0 else p

    def cdf(self, x):
        p = 1.0 - np.asarray(self.sf(x))
        return p[()] if p.ndim == 0 else p

    def ppf(self, q):
        q = np.asarray(q, dtype=np.float64)
        z = special.ndtri(q)
        out = np.interp(z, self._z, self.q, left=np.nan, right=np.nan)
        # outside the table: the limit law's quantile, rescaled as in `sf`
        lo_mask = q < 1.0 - self.p_grid[0]
        hi_mask = q > 1.0 - self.p_grid[-1]
        if lo_mask.any() or hi_mask.any():
            lim = np.asarray(self.limit.ppf(np.clip(q, 0.0, 1.0)), dtype=np.float64)
            out = np.where(lo_mask, lim * (self.q[0] / self._q0_inf), out)
            out = np.where(hi_mask, lim * (self.q[-1] / self._q1_inf), out)
        return out[()] if out.ndim == 0 else out

    def describe(self):
        return {"kind": "table", "n": self.n, "standardize": self.standardize, **self.info}


_TABLE_NULLS = BoundedCache(max_entries=256)


def table_null(n: int, standardize: bool):
    """TableNull for the default settings at sample size n, or None if no table covers it."""
    tabs = _load_tables()
    if tabs is None:
        return None
    key = (int(n), bool(standardize))
    hit = _TABLE_NULLS.get(key)
    if hit is not None:
        return hit
    ns = tabs["n"].astype(np.float64)
    if n < ns[0]:
        return None
    p_grid = tabs["p"]
    Q = tabs["q_composite" if standardize else "q_simple"]  # (len(ns), len(p))
    limit = asymptotic_null(1.0, standardize)
    q_inf = tabs["qinf_composite" if standardize else "qinf_simple"]
    x = 1.0 / ns
    xn = 1.0 / n
    if xn <= x[-1]:
        # between the largest tabulated n and the limit: linear in 1/n
        wgt = xn / x[-1]
        q = wgt * Q[-1] + (1.0 - wgt) * q_inf
    else:
        i = int(np.searchsorted(-x, -xn))  # x decreasing
        i = min(max(i, 1), len(x) - 1)
        wgt = (xn - x[i]) / (x[i - 1] - x[i])
        q = wgt * Q[i - 1] + (1.0 - wgt) * Q[i]
    q = np.maximum.accumulate(q)
    info = {"source": "normtest/data/ep_tables.npz", "n_resamples": int(tabs["n_resamples"]),
            "n_min": int(ns[0]), "n_max": int(ns[-1])}
    null = TableNull(n, standardize, p_grid, q, limit, info, (float(q_inf[0]), float(q_inf[-1])))
    _TABLE_NULLS.put(key, null)
    return null
