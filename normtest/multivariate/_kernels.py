"""numba kernels for the multivariate statistics (private; imported lazily).

One pair-sum kernel, parameterised by its kernel function ``kernel(z, b)`` (a numba
function passed as an argument, compiled once per kernel):

* BHEP / Henze–Zirkler (docs/theory.md §2): ``exp(-z)`` at ``z = beta^2 |x_j - x_k|^2 / 2``;
* the all-directions sliced statistic (docs/theory.md §6.2): ``1F1(1/2; d/2; -z)``.

The double sum is streamed row by row (no n x n matrix: memory O(n)), pairs ``j < k``
only; :func:`kernel_statistic` is the statistic of one sample, :func:`statistic_batch`
that of many (Monte-Carlo replicates).

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


@njit(cache=_CACHE, fastmath=_FASTMATH)
def gauss_kernel(z, b):
    """BHEP's kernel ``exp(-z)`` at ``z = beta^2 |u|^2 / 2`` (`b` unused: same signature as 1F1)."""
    return math.exp(-z)


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


@njit(cache=_CACHE, fastmath=_FASTMATH)
def _pair_row(Y, j, beta2, kernel, b):
    s = 0.0
    for k in range(j + 1, Y.shape[0]):
        s += kernel(0.5 * beta2 * _sqdist(Y, j, k), b)
    return s


@njit(cache=_CACHE, fastmath=_FASTMATH, parallel=True)
def pair_rowsums(Y, beta2, kernel, b):
    """Row sums ``r_j = sum_{k > j} kernel(beta2 |Y_j - Y_k|^2 / 2, b)`` (float64, shape (n,))."""
    n = Y.shape[0]
    out = np.zeros(n)
    half = (n + 1) // 2
    for i in prange(half):
        out[i] = _pair_row(Y, i, beta2, kernel, b)
        j = n - 1 - i
        if j != i:
            out[j] = _pair_row(Y, j, beta2, kernel, b)
    return out


@njit(cache=_CACHE)
def combine(n, pair, single, c_single, c_const):
    """The closed form of docs/theory.md §2 / §6.2 from its three parts:
    ``(n + 2 pair) / n - 2 c_single single + n c_const`` (strict IEEE: no fused or re-associated
    operations, so the value is the same from Python and from the batch kernel)."""
    return (n + 2.0 * pair) / n - 2.0 * c_single * single + n * c_const


@njit(cache=_CACHE, fastmath=_FASTMATH)
def _statistic_one(Y, beta2, kernel, b, c_single, c_const):
    """The statistic of one (already standardised) sample, serial."""
    n, d = Y.shape
    pair = 0.0
    for j in range(n):
        pair += _pair_row(Y, j, beta2, kernel, b)
    c1 = beta2 / (2.0 * (1.0 + beta2))
    single = 0.0
    for j in range(n):
        r = 0.0
        for c in range(d):
            r += Y[j, c] * Y[j, c]
        single += kernel(c1 * r, b)
    return combine(n, pair, single, c_single, c_const)


@njit(cache=_CACHE, fastmath=_FASTMATH, parallel=True)
def statistic_batch(Ys, beta2, kernel, b, c_single, c_const):
    """The statistic of each sample ``Ys[r]`` (shape (B, n, d)); one replicate per iteration."""
    B = Ys.shape[0]
    out = np.empty(B)
    for r in prange(B):
        out[r] = _statistic_one(Ys[r], beta2, kernel, b, c_single, c_const)
    return out


@njit(cache=_CACHE, fastmath=_FASTMATH)
def hyp1f1_half_neg_vec(z, b):
    out = np.empty(z.shape[0])
    for i in range(z.shape[0]):
        out[i] = hyp1f1_half_neg(z[i], b)
    return out


# ---------------------------------------------------------------------------
# the two statistics (Python entry points)
# ---------------------------------------------------------------------------

def kernel_of(kind, d, beta2):
    """``(kernel, b, c_single, c_const)`` of BHEP (``kind="bhep"``, docs/theory.md §2) or of the
    all-directions sliced statistic (``kind="all"``, §6.2) in dimension `d`."""
    if kind == "bhep":
        return gauss_kernel, 0.5 * d, (1.0 + beta2) ** (-0.5 * d), (1.0 + 2.0 * beta2) ** (-0.5 * d)
    return hyp1f1_half_neg, 0.5 * d, 1.0 / math.sqrt(1.0 + beta2), 1.0 / math.sqrt(1.0 + 2.0 * beta2)


def kernel_statistic(Y, beta, kind):
    """The statistic of one sample ``Y`` (n, d), row sums in parallel (memory O(n))."""
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    n, d = Y.shape
    b2 = beta * beta
    kernel, b, c_single, c_const = kernel_of(kind, d, b2)
    pair = float(np.sum(pair_rowsums(Y, b2, kernel, b)))
    z = b2 / (2.0 * (1.0 + b2)) * np.einsum("ij,ij->i", Y, Y)
    single = float(np.sum(np.exp(-z) if kind == "bhep" else hyp1f1_half_neg_vec(z, b)))
    return combine(n, pair, single, c_single, c_const)


def bhep_batch(Ys, beta2):
    """BHEP's T_{n,beta} of each sample ``Ys[r]`` (shape (B, n, d))."""
    return statistic_batch(Ys, beta2, *kernel_of("bhep", Ys.shape[2], beta2))


def allslice_batch(Xs, beta2, b):
    """All-directions statistic (Henze scale) of each sample ``Xs[r]`` (``b = d / 2``)."""
    kernel, _, c_single, c_const = kernel_of("all", Xs.shape[2], beta2)
    return statistic_batch(Xs, beta2, kernel, b, c_single, c_const)
