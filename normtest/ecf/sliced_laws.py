"""Null laws of sliced Epps–Pulley statistics (docs/theory.md §6.3–§6.4).

Under the simple null X ~ N(0, I_d) the projections ``U_m = a_m^T X`` are jointly
normal with unit variances and correlations ``rho = A^T A``. For one quadrature
rule (folded nodes ``t_k``, effective weights ``omega_k``) each slice statistic is
the V-statistic ``Q_m = n^-1 sum_{i,j} h_m(X_i, X_j)`` with the degenerate kernel

    h_m(x, y) = sum_k omega_k [(cos t_k u - phi_k)(cos t_k v - phi_k) + sin t_k u sin t_k v],
    u = a_m^T x, v = a_m^T y, phi_k = exp(-t_k^2 / 2).

Degree basis. ``cos(t u) - phi(t)`` and ``sin(t u)`` expand in the normalised
Hermite polynomials ``eta_j = He_j / sqrt(j!)`` with coefficients
``+-exp(-t^2/2) t^j / sqrt(j!)`` (even j >= 2 for the cosine, odd j for the sine),
and Mehler's formula ``E[eta_j(U_a) eta_l(U_b)] = delta_jl rho_ab^j`` makes the
weighted covariance of one parity block

    T = W^(1/2) Sigma W^(1/2) = M^-1 sum_j (rho^{o j}) (x) g_j g_j^T,
    g_j[k] = sqrt(omega_k) exp(-t_k^2/2) t_k^j / sqrt(j!)          (K-vectors),

``rho^{o j}`` the Hadamard power. Only the Gram matrix ``G_jl = g_j . g_l`` of the
rule enters the spectrum. Its eigenvalues ``mu_p`` (the one-slice limit
eigenvalues) fall geometrically (about 7x per step at beta = 1), so ``T`` is
compressed onto the ``P`` leading eigenvectors of ``G``: an ``M P`` dense matrix
whose entries are polynomials in ``rho`` (evaluated by Horner's rule), with the
exact eigenvalues for ``P`` = all. The omitted part has exactly known mean
``sum_{p > P} mu_p`` and variance ``2 (tr T^2 - sum lambda^2)``, with

    tr T^2 = M^-2 sum_{j,l} G_jl^2 (M + S_{j+l}),   S_s = sum_{a != b} rho_ab^s,

and is entered as a scaled chi-square (docs/sliced.md gives the measured accuracy).

* Exact finite-n moments (simple null): ``E Qbar = sum_k omega_k (1 - exp(-t_k^2))``
  and ``Var Qbar = 2 (1 - 1/n) tr T^2 + Var hbar(X, X) / n`` (both parities in ``T``).
* Composite null (sample mean and the *symmetric* inverse square root of the
  divisor-n covariance): the estimation effects are exactly the projections of
  each feature onto the Hermite chaoses of degree 1 and 2 (Stein's identity), and
  ``He_j(a^T x)`` lies in the degree-j chaos, so the composite limit drops
  ``j = 1`` and ``j = 2`` (a Cholesky root would not give this).
"""

from __future__ import annotations

import math

import numpy as np

from .._matrix import _CHUNK_VALUES
from .._sumchi2 import SumChi2Null

__all__ = ["feature_cov", "degree_factors", "exact_moments", "limit_moments", "limit_eigenvalues",
           "limit_null", "allslice_moments", "COMPRESSED_DIM"]

#: largest compressed dimension M * P solved densely (P = the number of rule-space components kept,
#: at least 1): P = 256 // M (all of them for a few slices; 4 at 64 slices, 2 at 128, 1 from 256 on;
#: docs/sliced.md gives the accuracy and the cost).
COMPRESSED_DIM = 256

def _series(x, jmin, parity, terms=14):
    """sum_{j >= jmin, j = parity mod 2} x^j / j! for |x| < 1.5 (power series)."""
    j0 = jmin if jmin % 2 == parity else jmin + 1
    out = np.zeros_like(x)
    fact = 1.0
    for j in range(1, j0 + 1):
        fact *= j
    term = x ** j0 / fact
    j = j0
    for _ in range(terms):
        out += term
        term = term * x * x / ((j + 1) * (j + 2))
        j += 2
    return out


def _hyp_tail(x, jmin, parity):
    """sum over j >= jmin with j % 2 == parity of x^j/j! (cosh or sinh less its first terms), no cancellation.

    ``parity`` 0: even j, ``jmin`` in {2, 4}; 1: odd j, ``jmin`` in {1, 3}.
    """
    x = np.asarray(x, dtype=np.float64)
    out = np.empty_like(x)
    small = np.abs(x) < 1.5
    out[small] = _series(x[small], jmin, parity)
    xb = x[~small]
    if parity == 0:
        val = np.cosh(xb) - 1.0
        if jmin >= 4:
            val = val - 0.5 * xb * xb
    else:
        val = np.sinh(xb)
        if jmin >= 3:
            val = val - xb
    out[~small] = val
    return out


def feature_cov(rho, s, t, composite=False):
    """Covariances of the cosine and sine features for correlations `rho`.

    ``rho`` any shape; returns ``(SigC, SigS)`` of shape ``rho.shape + (len(s), len(t))``.
    """
    rho = np.asarray(rho, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    x = rho[..., None, None] * (s[:, None] * t[None, :])
    logenv = -0.5 * (s[:, None] ** 2 + t[None, :] ** 2)
    env = np.exp(logenv)
    jc, js = (4, 3) if composite else (2, 1)
    SC = env * _hyp_tail(np.clip(x, -1.5, 1.5), jc, 0)
    SS = env * _hyp_tail(np.clip(x, -1.5, 1.5), js, 1)
    big = np.abs(x) >= 1.5
    if big.any():  # exp(logenv -+ x) never overflows: |x| <= (s^2 + t^2) / 2
        le = np.broadcast_to(logenv, x.shape)[big]
        xb = x[big]
        ep, em = np.exp(le + xb), np.exp(le - xb)
        e0 = np.exp(le)
        SC[big] = 0.5 * (ep + em) - e0 * (1.0 + (0.5 * xb * xb if composite else 0.0))
        SS[big] = 0.5 * (ep - em) - (e0 * xb if composite else 0.0)
    return SC, SS


def _weights(rule):
    return np.asarray(rule.nodes, dtype=np.float64), np.asarray(rule.weights, dtype=np.float64)


_J0 = {(0, False): 2, (1, False): 1, (0, True): 4, (1, True): 3}


def degree_factors(rule, parity, composite=False):
    """Hermite degrees ``js`` and factors ``g`` (J, K) of one parity block of `rule`.

    ``g[i, k] = sqrt(omega_k) exp(-t_k^2 / 2) t_k^j / sqrt(j!)``, ``j = js[i]``; even
    degrees (parity 0) for the cosine features, odd ones for the sine features,
    from 2 / 1 (simple) or 4 / 3 (composite). The list stops where ``|g_j|^2`` has
    fallen below 1e-17 of its largest value past the peak ``j ~ t^2``.
    """
    t, w = _weights(rule)
    env = np.sqrt(w) * np.exp(-0.5 * t * t)
    logt = np.log(t)
    gs, js = [], []
    j = _J0[(parity, bool(composite))]
    biggest = 0.0
    while j <= 2000:
        g = env * np.exp(j * logt - 0.5 * math.lgamma(j + 1.0))
        size = float(g @ g)
        biggest = max(biggest, size)
        if size < 1e-17 * biggest and j > 2 * float(np.max(t * t)) + 4:
            break
        gs.append(g)
        js.append(j)
        j += 2
    return np.array(js), np.array(gs)


def _power_sums(gram, smax):
    """``S[i] = sum_{a != b} rho_ab^(2 i)`` for ``i = 0 .. smax // 2`` (``S[0]`` unused, 0).

    Pairs whose powers have fallen below 1e-22 are dropped as the powers grow.
    """
    M = gram.shape[0]
    out = np.zeros(smax // 2 + 1)
    if M < 2:
        return out
    r2 = np.square(gram[np.triu(np.ones((M, M), dtype=bool), 1)])
    p = r2.copy()
    for i in range(1, smax // 2 + 1):
        out[i] = 2.0 * float(p.sum())
        p *= r2
        if i % 2 == 0:
            keep = p > 1e-22
            if not keep.all():
                p, r2 = p[keep], r2[keep]
            if p.size == 0:
                break
    return out


class _Blocks:
    """Degree factors, rule Gram matrices and power sums of ``rho`` for one (A, rule, null)."""

    def __init__(self, A, rule, composite=False, gram=None):
        self.gram = A.T @ A if gram is None else gram
        self.M = self.gram.shape[0]
        self.composite = bool(composite)
        self.parts = [degree_factors(rule, parity, composite) for parity in (0, 1)]
        smax = 2 * max(int(js.max()) for js, _ in self.parts)
        self.S = _power_sums(self.gram, smax)

    def pair_sum(self, js_a, js_b, C):
        """``sum_{a, b slices} sum_{i, l} C[i, l] rho_ab^(j_i + j_l)`` (same parity, even powers)."""
        idx = (js_a[:, None] + js_b[None, :]) // 2
        return float(np.sum(C * (self.M + self.S[idx])))

    def trace_sq(self):
        """``tr T^2`` summed over both parity blocks."""
        out = 0.0
        for js, g in self.parts:
            G = g @ g.T
            out += self.pair_sum(js, js, G * G)
        return out / (self.M * self.M)


def exact_moments(A, rule, n, blocks=None):
    """Exact finite-n mean and variance of the slice-mean statistic under N(0, I) (simple null).

    ``A`` (D, M) unit directions; ``blocks`` a precomputed ``_Blocks(A, rule)``.
    """
    t, w = _weights(rule)
    M = A.shape[1]
    blocks = _Blocks(A, rule) if blocks is None else blocks
    mean = float(np.sum(w * -np.expm1(-t * t)))
    eh2 = blocks.trace_sq()
    js, g = blocks.parts[0]                      # Var h(X, X): cosine degrees, weighted by phi
    d = (g @ (np.sqrt(w) * np.exp(-0.5 * t * t))) ** 2
    var_diag = 4.0 * float(np.sum(d * (M + blocks.S[js // 2]))) / (M * M)
    var = 2.0 * (1.0 - 1.0 / n) * eh2 + var_diag / n
    return {"mean": mean, "var": float(var), "limit_var": float(2.0 * eh2)}


def limit_moments(A, rule, composite=False, blocks=None):
    """Mean tr(W Sigma) and variance 2 tr((W Sigma)^2) of the limit law (``A`` (D, M) directions)."""
    t, w = _weights(rule)
    SC0, SS0 = feature_cov(np.ones(1), t, t, composite)
    mean = float(np.sum(w * (np.diag(SC0[0]) + np.diag(SS0[0]))))
    blocks = _Blocks(A, rule, composite) if blocks is None else blocks
    return {"mean": mean, "var": float(2.0 * blocks.trace_sq())}


def _compressed_block(gram, S, js, g, P):
    """Eigenvalues of one parity block of ``T`` compressed onto ``P`` rule-space components.

    ``S`` the power sums of ``rho`` (:func:`_power_sums`).
    Returns ``(lam, mu, P)``: the eigenvalues, all eigenvalues ``mu`` of ``G = g g^T``
    and the number of components used.
    """
    M = gram.shape[0]
    mu, V = np.linalg.eigh(g @ g.T)
    mu, V = np.clip(mu[::-1], 0.0, None), V[:, ::-1]
    P = max(1, min(P, int(np.sum(mu > 1e-15 * mu[0]))))
    Wc = V[:, :P] * np.sqrt(mu[:P])                          # (J, P)
    coef = Wc[:, :, None] * Wc[:, None, :]                    # (J, P, P): w_j w_j^T
    # degree j off the diagonal moves every eigenvalue by at most ||rho^{o j} - I||_F |w_j|^2 / M
    # (Weyl); the tail of these bounds from js[nc] on stays below 1e-10 mu_1 / M: those degrees act
    # on the diagonal only
    bound = np.sqrt(S[js]) * np.einsum("jpp->j", coef) / M
    tail = np.cumsum(bound[::-1])[::-1]
    nc = int(np.sum(tail > 1e-10 * mu[0] / M))
    H = np.zeros((M, M, P, P))
    if nc:
        Hv = H.reshape(M, M, P * P)
        cv = coef.reshape(js.size, P * P)
        if P == 1:  # plain 2-d arrays: Horner's rule in rho^2, in place
            Hv, cv = H.reshape(M, M), cv[:, 0]
            r2 = gram * gram
        else:
            r2 = (gram * gram)[:, :, None]
        Hv += cv[nc - 1]
        for i in range(nc - 2, -1, -1):
            Hv *= r2
            Hv += cv[i]
        for _ in range(int(js[0]) // 2):                     # times rho^j0 (j0 = 1 .. 4)
            Hv *= r2
        if js[0] % 2:
            Hv *= gram.reshape(r2.shape)
    idx = np.arange(M)
    H[idx, idx] += coef[nc:].sum(axis=0)
    T = H.reshape(M, M) if P == 1 else H.transpose(0, 2, 1, 3).reshape(M * P, M * P)
    lam = np.linalg.eigvalsh(T / M)
    return lam, mu, P


def limit_eigenvalues(A, rule, composite=False, components=None, blocks=None):
    """Eigenvalues of the limit law, compressed (see the module notes).

    ``A`` (D, M) unit directions; ``components`` the number ``P`` of rule-space
    components per parity (default: as many as ``M P <= COMPRESSED_DIM`` allows, at
    least 1; ``components=10**6`` gives the exact spectrum). Returns
    ``(lambdas, rem_mean, rem_sq, P)`` with the omitted part's exact mean and sum of
    squared eigenvalues (``2 rem_sq`` its variance).
    """
    blocks = _Blocks(A, rule, composite) if blocks is None else blocks
    M = blocks.M
    if components is None:
        components = max(1, COMPRESSED_DIM // M)
    lams, rem_mean, used = [], 0.0, components
    for js, g in blocks.parts:
        lam, mu, P = _compressed_block(blocks.gram, blocks.S, js, g, components)
        lams.append(lam)
        rem_mean += float(mu[P:].sum())
        used = min(used, P)
    lam = np.sort(np.concatenate(lams))[::-1]
    lam = lam[lam > 1e-15 * max(lam[0], 1e-300)]
    rem_sq = max(blocks.trace_sq() - float(np.sum(lam * lam)), 0.0)
    return lam, rem_mean, rem_sq, used


def limit_null(A, rule, composite=False, components=None, params=None, blocks=None):
    """The limit law as a :class:`SumChi2Null` (compressed Mehler spectrum + scaled chi-square).

    Returns ``(null, "asymptotic")``.

    The omitted eigenvalues (mean ``rem_mean``, sum of squares ``rem_sq``) are
    replaced by ``m = max(1, floor(nu))`` equal weights ``c = sqrt(rem_sq / m)``,
    ``nu = rem_mean^2 / rem_sq`` (a scaled chi-square), plus the leftover mean as a
    shift: mean and variance of the law stay exact.
    """
    lam, rem_mean, rem_sq, P = limit_eigenvalues(A, rule, composite, components, blocks)
    tail = rem_mean
    if rem_mean > 1e-14 * lam.sum() and rem_sq > 0:
        m = max(1, int(np.floor(rem_mean * rem_mean / rem_sq)))
        c = math.sqrt(rem_sq / m)
        lam = np.concatenate([lam, np.full(m, c)])
        tail = rem_mean - m * c
    p = {"law": "mehler", "components": int(P), **(params or {})}
    return SumChi2Null(lam, tail=tail, name="sum-chi2", params=p), "asymptotic"


def _rho_law_nodes(d, k=48):
    """Nodes/weights of the law of rho = u^T v, u, v independent uniform on S^(d-1)."""
    if d == 1:
        return np.array([-1.0, 1.0]), np.array([0.5, 0.5])
    from scipy.special import roots_jacobi

    alpha = 0.5 * (d - 3)
    x, w = roots_jacobi(k, alpha, alpha)
    return x, w / w.sum()


def allslice_moments(n, d, beta):
    """Exact finite-n mean and variance of the all-directions statistic (Henze scale, simple null)."""
    b2 = beta * beta
    a = 1.0 + 2.0 * b2
    rho, w = _rho_law_nodes(d)
    r2 = rho * rho
    C = (a * a - 4 * b2 * b2 * r2) ** -0.5 - 2.0 * (a * a - b2 * b2 * r2) ** -0.5 + 1.0 / a
    g = (a * a - b2 * b2 * r2) ** -0.5 - 1.0 / a
    limit_var = 2.0 * float(w @ C)
    var = (1.0 - 1.0 / n) * limit_var + 4.0 / n * float(w @ g)
    return {"mean": float(1.0 - a ** -0.5), "var": float(var), "limit_var": limit_var}


def _null_rule(rule, beta):
    """Rule used for null-law computations: 'auto' rules are replaced by a compact one.

    Against the weight N(0, beta^2) the null covariances are Gaussians in t of
    standard deviation at least ``sigma = beta / sqrt(1 + beta^2)`` (no data
    oscillation), so a trapezoid with step ``0.6 sigma`` truncated at
    ``9 beta`` integrates them as exactly as the data's rule does (null mean
    and variance within 1e-12 relative of the closed forms for beta in
    [0.5, 3]), with 22 nodes at beta = 1.
    """
    if rule.name == "auto":
        from .rules import QuadratureRule

        h = 0.6 * beta / math.sqrt(1.0 + beta * beta)
        K = int(math.ceil(9.0 * beta / h))
        t = h * np.arange(1, K + 1, dtype=np.float64)
        omega = 2.0 * h * np.exp(-0.5 * (t / beta) ** 2) / (beta * math.sqrt(2.0 * math.pi))
        return QuadratureRule("auto-null", t, omega, "henze", beta, h)
    return rule


def _simulate_sliced(n, A, rule_for, reduce, composite, gram_factor, per_replicate=1):
    """``simulate(size, gen)`` for the Monte-Carlo null of a sliced statistic."""
    from ._kernels import ecf_sums_rows

    D, M = A.shape

    def simulate(size, gen):
        out = np.empty(size)
        per = max(1, min(size, _CHUNK_VALUES // max(1, n * max(M, D))))
        done = 0
        while done < size:
            b = min(per, -(-(size - done) // per_replicate))
            # projections slice-major, (M, b n) by one 2-d GEMM: every simulated slice is a
            # contiguous run of n values for the kernel (row j * b + r: slice j, replicate r)
            if gram_factor is not None:  # simple null, M <= D: projections directly
                Z = gen.standard_normal((b, n, M))
                P = gram_factor @ Z.reshape(b * n, M).T
            else:
                Xs = gen.standard_normal((b, n, D))
                if composite:  # whitened by the symmetric inverse root, folded into the directions
                    Xs = Xs - Xs.mean(axis=1, keepdims=True)
                    cov = np.swapaxes(Xs, 1, 2) @ Xs / n  # batched GEMM (einsum's loop is ~15x slower)
                    vals, vecs = np.linalg.eigh(cov)
                    WA = (vecs / np.sqrt(vals)[:, None, :]) @ (np.swapaxes(vecs, 1, 2) @ A)  # (b, D, M)
                    P = np.swapaxes(np.swapaxes(WA, 1, 2) @ np.swapaxes(Xs, 1, 2), 0, 1).reshape(M, b * n)
                else:
                    P = A.T @ Xs.reshape(b * n, D).T
            rule = rule_for(P)
            C, S = ecf_sums_rows(P.reshape(M * b, n), rule.nodes, rule.lattice_step)
            C = np.swapaxes(C.reshape(M, b, -1), 0, 1)
            S = np.swapaxes(S.reshape(M, b, -1), 0, 1)
            stats = rule.statistic(C.reshape(b, M, -1), S.reshape(b, M, -1), np.full((b, M), float(n)))
            vals_ = reduce(stats)
            take = min(vals_.size, size - done)
            out[done:done + take] = vals_[:take]
            done += take
        return out

    return simulate
