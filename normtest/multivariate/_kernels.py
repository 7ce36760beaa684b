"""numba kernels for the multivariate statistics (private; imported lazily).

* BHEP / Henze–Zirkler: the O(n^2) double sum of docs/theory.md §2, streamed row by
  row (no n x n matrix: memory O(n)), pairs ``j < k`` only.
* The all-directions sliced statistic (docs/theory.md §6.2): the same double sum with
  the kernel ``1F1(1/2; d/2; -beta^2 |x_j - x_k|^2 / 2)``.

Determinism: every parallel loop writes one output slot per iteration (a row
sum, or one replicate's statistic) and the final reduction is serial, so the
value does not depend on the number of threads. Rows ``i`` and ``n - 1 - i``
share an iteration to balance the triangular loop.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .._numba import CACHE as _CACHE, FASTMATH as _FASTMATH

# 40-point Gauss–Legendre rule on [0, 1] (for the 1F1 integral representation)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(40)
_GL_X = 0.5 * (_GL_X + 1.0)
_GL_W = 0.5 * _GL_W


@njit(cache=_CACHE, fastmath=_FASTMATH)
def _sqdist(Y, j, k):
    s = 0.0
    for c in range(Y.shape[1]):
        d = Y[j, c] - Y[k, c]
        s += d * d
    return s


@njit(cache=_CACHE, fastmath=_FASTMATH, parallel=True)
def bhep_pair_rowsums(Y, beta2):
    """Row sums ``r_j = sum_{k > j} exp(-beta2 |Y_j - Y_k|^2 / 2)`` (float64, shape (n,))."""
    n = Y.shape[0]
    out = np.zeros(n)
    half = (n + 1) // 2
    for i in prange(half):
        out[i] = _bhep_row(Y, i, beta2)
        j = n - 1 - i
        if j != i:
            out[j] = _bhep_row(Y, j, beta2)
    return out


@njit(cache=_CACHE, fastmath=_FASTMATH)
def _bhep_row(Y, j, beta2):
    s = 0.0
    for k in range(j + 1, Y.shape[0]):
        s += math.exp(-0.5 * beta2 * _sqdist(Y, j, k))
    return s


@njit(cache=_CACHE, fastmath=_FASTMATH)
def _bhep_one(Y, beta2):
    """T_{n,beta} of one (already standardised) sample, serial."""
    n, d = Y.shape
    pair = 0.0
    for j in range(n):
        s = 0.0
        for k in range(j + 1, n):
            s += math.exp(-0.5 * beta2 * _sqdist(Y, j, k))
        pair += s
    c1 = beta2 / (2.0 * (1.0 + beta2))
    single = 0.0
    for j in range(n):
        r = 0.0
        for c in range(d):
            r += Y[j, c] * Y[j, c]
        single += math.exp(-c1 * r)
    return ((n + 2.0 * pair) / n - 2.0 * (1.0 + beta2) ** (-0.5 * d) * single
            + n * (1.0 + 2.0 * beta2) ** (-0.5 * d))


@njit(cache=_CACHE, fastmath=_FASTMATH, parallel=True)
def bhep_batch(Ys, beta2):
    """T_{n,beta} for each sample ``Ys[b]`` (shape (B, n, d)); one replicate per iteration."""
    B = Ys.shape[0]
    out = np.empty(B)
    for b in prange(B):
        out[b] = _bhep_one(Ys[b], beta2)
    return out


@njit(cache=_CACHE, fastmath=_FASTMATH)
def hyp1f1_half_neg(z, b):
    """Kummer's ``1F1(1/2; b; -z)`` for ``z >= 0`` and ``b >= 1/2`` (relative error ~1e-14).

    * ``b == 1/2``: ``exp(-z)``.
    * ``s = z + b - 3/2 < 200``: Kummer's transformation
      ``exp(-z) 1F1(b - 1/2; b; z)``, a series of positive terms (no cancellation).
    * otherwise the Beta-integral ``2 G(b)/(G(1/2) G(b - 1/2)) int_0^1 exp(-z u^2) (1 - u^2)^(b - 3/2) du``,
      whose integrand is below ``exp(-49)`` of its peak beyond ``U = 7 / sqrt(s)``:
      40-point Gauss–Legendre on ``[0, U]`` (``U < 1/2``, far from the endpoint singularity).
    """
    if b == 0.5:
        return math.exp(-z)
    s = z + b - 1.5
    if s < 200.0:
        term = 1.0
        total = 1.0
        a = b - 0.5
        k = 0
        while True:
            term *= (a + k) / (b + k) * z / (k + 1.0)
            total += term
            k += 1
            if term < 1e-17 * total and k > z:
                break
            if k > 100000:
                break
        return math.exp(-z) * total
    upper = 7.0 / math.sqrt(s)
    acc = 0.0
    for i in range(_GL_X.shape[0]):
        u = upper * _GL_X[i]
        u2 = u * u
        acc += _GL_W[i] * math.exp(-z * u2 + (b - 1.5) * math.log1p(-u2))
    acc *= upper
    lognorm = math.log(2.0) + math.lgamma(b) - math.lgamma(0.5) - math.lgamma(b - 0.5)
    return math.exp(lognorm) * acc


@njit(cache=_CACHE, fastmath=_FASTMATH, parallel=True)
def allslice_pair_rowsums(X, beta2, b):
    """Row sums ``r_j = sum_{k > j} 1F1(1/2; b; -beta2 |X_j - X_k|^2 / 2)``."""
    n = X.shape[0]
    out = np.zeros(n)
    half = (n + 1) // 2
    for i in prange(half):
        out[i] = _allslice_row(X, i, beta2, b)
        j = n - 1 - i
        if j != i:
            out[j] = _allslice_row(X, j, beta2, b)
    return out


@njit(cache=_CACHE, fastmath=_FASTMATH)
def _allslice_row(X, j, beta2, b):
    s = 0.0
    for k in range(j + 1, X.shape[0]):
        s += hyp1f1_half_neg(0.5 * beta2 * _sqdist(X, j, k), b)
    return s


@njit(cache=_CACHE, fastmath=_FASTMATH)
def _allslice_one(X, beta2, b):
    n, d = X.shape
    pair = 0.0
    for j in range(n):
        s = 0.0
        for k in range(j + 1, n):
            s += hyp1f1_half_neg(0.5 * beta2 * _sqdist(X, j, k), b)
        pair += s
    c1 = beta2 / (2.0 * (1.0 + beta2))
    single = 0.0
    for j in range(n):
        r = 0.0
        for c in range(d):
            r += X[j, c] * X[j, c]
        single += hyp1f1_half_neg(c1 * r, b)
    return ((n + 2.0 * pair) / n - 2.0 / math.sqrt(1.0 + beta2) * single
            + n / math.sqrt(1.0 + 2.0 * beta2))


@njit(cache=_CACHE, fastmath=_FASTMATH, parallel=True)
def allslice_batch(Xs, beta2, b):
    """All-directions statistic (Henze scale) for each sample ``Xs[r]``."""
    B = Xs.shape[0]
    out = np.empty(B)
    for r in prange(B):
        out[r] = _allslice_one(Xs[r], beta2, b)
    return out


@njit(cache=_CACHE, fastmath=_FASTMATH)
def hyp1f1_half_neg_vec(z, b):
    out = np.empty(z.shape[0])
    for i in range(z.shape[0]):
        out[i] = hyp1f1_half_neg(z[i], b)
    return out

