"""Passes over the data that are not ECF sums (private numba kernels).

``row_scan``: infinities, NaN rows and squared row norms of an (N, D) sample in
one pass (the sliced test's input check and its auto rule's bound).
``row_moments``: the package's standardisation (``normtest._standardize``: a
power-of-two scale, corrected two-pass centring) of the rows of an (m, n) sample
in two passes, for the 1-D test's fused path. Tasks are fixed blocks, so results
do not depend on the thread count.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._numba import CACHE, FASTMATH

__all__ = ["row_scan", "row_moments"]


# ---------------------------------------------------------------------------
# One pass over an (N, D) sample: NaN rows, infinities, squared row norms
# ---------------------------------------------------------------------------

@njit(parallel=True, nogil=True, cache=CACHE, fastmath=FASTMATH)
def _row_scan(X, sq, nan_row):
    N, D = X.shape
    n_inf = 0
    for i in prange(N):
        acc = 0.0
        bad = 0
        inf = 0
        for j in range(D):
            v = np.float64(X[i, j])
            acc += v * v
            bad += 0 if v == v else 1
            inf += 1 if abs(v) == np.inf else 0
        sq[i] = acc
        nan_row[i] = bad > 0
        n_inf += inf
    return n_inf


def row_scan(X):
    """``(sq, nan_row, n_inf)``: squared norm (float64) and NaN flag of every row, #infinities.

    One parallel pass over a C-contiguous float32/float64 (N, D) array, no
    temporary of its size (the multivariate tests' input check, NaN rows and the
    auto rule's ``max_j ||X_j||`` together).
    """
    X = np.ascontiguousarray(X)
    sq = np.empty(X.shape[0])
    nan_row = np.empty(X.shape[0], dtype=np.bool_)
    n_inf = _row_scan(X, sq, nan_row) if X.size else 0
    return sq, nan_row, int(n_inf)


# ---------------------------------------------------------------------------
# Moments of the rows of an (m, n) sample in two fused passes (the 1-D standardisation)
# ---------------------------------------------------------------------------

_MOMENT_BLOCK = 1 << 16  # values per task of the moment passes


@njit(parallel=True, nogil=True, cache=CACHE, fastmath=FASTMATH)
def _moment_pass(X, stage, centre, part):
    """Per (row, block) task. stage 0: max|x|, min, max, sum x; stage 1: sum d, sum d^2.

    ``d = x / p - m`` with ``centre[j] = (1 / p, m)`` (p a power of two: exact).
    """
    m, n = X.shape
    nb = (n + _MOMENT_BLOCK - 1) // _MOMENT_BLOCK
    for task in prange(m * nb):
        j = task // nb
        b = task - j * nb
        lo = b * _MOMENT_BLOCK
        hi = min(n, lo + _MOMENT_BLOCK)
        if stage == 0:
            amax = 0.0
            mn = np.inf
            mx = -np.inf
            tot = 0.0
            for i in range(lo, hi):
                v = np.float64(X[j, i])
                amax = max(amax, abs(v))
                mn = min(mn, v)
                mx = max(mx, v)
                tot += v
            part[j, b, 0] = amax
            part[j, b, 1] = mn
            part[j, b, 2] = mx
            part[j, b, 3] = tot
        else:
            ip = centre[j, 0]
            mu = centre[j, 1]
            sd = 0.0
            s2 = 0.0
            for i in range(lo, hi):
                d = np.float64(X[j, i]) * ip - mu
                sd += d
                s2 += d * d
            part[j, b, 0] = sd
            part[j, b, 1] = s2


def row_moments(X):
    """Centre and scale of every row of ``X`` (m, n) by the package's standardisation.

    The steps of ``normtest._standardize`` in two passes over the data: ``p``,
    the power of two above ``max|x|`` (dividing by it is exact); the pilot mean
    ``m`` of ``u = x / p``; the correction ``c = mean(u - m)`` and
    ``s^2 = mean((u - m - c)^2)`` (from the sums of ``d = u - m`` and ``d^2``).
    Returns a dict of arrays of shape (m,): ``inv_p``, ``m``, ``c``, ``s`` and
    ``umin``, ``umax`` (the extremes of ``u``), and ``ok`` (False where the sum
    overflowed; such rows need the unfused algorithm).
    """
    X = np.ascontiguousarray(X)
    m, n = X.shape
    nb = (n + _MOMENT_BLOCK - 1) // _MOMENT_BLOCK
    part = np.zeros((m, nb, 4))
    centre = np.zeros((m, 2))
    _moment_pass(X, 0, centre, part)
    amax = part[:, :, 0].max(axis=1)
    _, e = np.frexp(np.where(amax > 0, amax, 1.0))
    # 1/p as a float: 2**1022 at most (for subnormal data u = x / p is then below 0.5, still exact)
    inv_p = np.ldexp(1.0, -np.maximum(e, -1022))
    tot = part[:, :, 3].sum(axis=1)
    umin = part[:, :, 1].min(axis=1) * inv_p
    umax = part[:, :, 2].max(axis=1) * inv_p
    mu = tot * inv_p / n
    centre[:, 0] = inv_p
    centre[:, 1] = mu
    _moment_pass(X, 1, centre, part)
    c = part[:, :, 0].sum(axis=1) / n
    ss = np.maximum(part[:, :, 1].sum(axis=1) - n * c * c, 0.0)
    return {"inv_p": inv_p, "m": mu, "c": c, "s": np.sqrt(ss / n), "umin": umin, "umax": umax,
            "ok": np.isfinite(tot)}
