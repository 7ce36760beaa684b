"""Passes over the data that are not ECF sums (private numba kernels).

``row_scan``: infinities, NaN rows and squared row norms of an (N, D) sample in
one pass (the sliced test's input check and its auto rule's bound).
``row_moments``: the package's standardisation (``normtest._standardize``: a
power-of-two scale, corrected two-pass centring) of the rows of an (m, n) sample
in one pass (two for rows it does not serve), for the 1-D test's fused path. Tasks are fixed blocks, so results
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
# Moments of the rows of an (m, n) sample in one fused pass (the 1-D standardisation)
# ---------------------------------------------------------------------------

_MOMENT_BLOCK = 1 << 16  # values per task of the moment passes
_PILOT = 256             # values of the strided subsample whose mean is the shift of the one pass
_SIGN = 0x7FFFFFFFFFFFFFFF
# the one pass is used for 2**-450 <= max|x| <= 2**450 and a standard deviation above 2**-450:
# no sum or square of the shifted values can overflow, and no square that matters underflows
_RANGE = 2.0 ** 450


@njit(parallel=True, nogil=True, cache=CACHE, fastmath=FASTMATH)
def _moment_pass(X, stage, centre, part, keys):
    """Per (row, block) task.

    stage 0: the bits of max|x|, the order-preserving integer keys of min x and max x (integer
    reductions vectorise, float min/max do not without ``nnan``), and sum e, sum e^2 of the
    shifted values ``e = x - centre[j, 1]``. stage 1: sum d, sum d^2 of ``d = x / p - m``
    with ``centre[j] = (1 / p, m)`` (p a power of two: exact).
    """
    m, n = X.shape
    nb = (n + _MOMENT_BLOCK - 1) // _MOMENT_BLOCK
    for task in prange(m * nb):
        j = task // nb
        b = task - j * nb
        lo = b * _MOMENT_BLOCK
        hi = min(n, lo + _MOMENT_BLOCK)
        ip = centre[j, 0]
        mu = centre[j, 1]
        x = X[j, lo:hi]
        sd = 0.0
        s2 = 0.0
        if stage == 0:
            amax = 0
            kmin = _SIGN
            kmax = -_SIGN - 1
            for i in range(hi - lo):
                v = np.float64(x[i])
                bits = np.int64(np.float64(v).view(np.int64))
                key = bits ^ ((bits >> 63) & _SIGN)  # signed-integer order = float order
                amax = max(amax, bits & _SIGN)
                kmin = min(kmin, key)
                kmax = max(kmax, key)
                e = v - mu
                sd += e
                s2 += e * e
            keys[j, b, 0] = amax
            keys[j, b, 1] = kmin
            keys[j, b, 2] = kmax
        else:
            for i in range(hi - lo):
                d = np.float64(x[i]) * ip - mu
                sd += d
                s2 += d * d
        part[j, b, 0] = sd
        part[j, b, 1] = s2


def _key_value(k):
    """Floats of the order-preserving keys (the inverse of the map in `_moment_pass`)."""
    k = np.asarray(k, dtype=np.int64)
    return (k ^ ((k >> 63) & _SIGN)).view(np.float64)


def row_moments(X):
    """Centre and scale of every row of ``X`` (m, n) by the package's standardisation.

    The steps of ``normtest._standardize`` fused into passes over the data: ``p``,
    the power of two above ``max|x|`` (dividing by it is exact); a pilot centre
    ``m`` of ``u = x / p``; the correction ``c = mean(u - m)`` and
    ``s^2 = mean((u - m - c)^2)`` (from the sums of ``d = u - m`` and ``d^2``).
    ``_standardize`` takes ``m = mean(u)`` (a first pass) and the centred sums in a
    second; here one pass reads ``max|x|``, the extremes and the sums of
    ``e = x - x0`` with ``x0`` the mean of a strided subsample of the row, so that
    ``m = x0 / p`` and ``d = e / p`` (scaling by ``p`` is exact). The correction
    formula keeps the two-pass accuracy while the pilot is within one standard
    deviation of the mean (``c^2 <= s^2``: ``s^2`` loses at most a factor 2 to
    cancellation) and the data are within ``2**+-450`` (no square over- or
    underflows); other rows (sorted or trending data, extreme scales) get the
    second pass with ``m = mean(u)``, as in ``_standardize``.
    Returns a dict of arrays of shape (m,): ``inv_p``, ``m``, ``c``, ``s`` and
    ``umin``, ``umax`` (the extremes of ``u``), and ``ok`` (False where the sum
    overflowed or is not finite, e.g. NaN or inf; such rows need the unfused algorithm).
    """
    X = np.ascontiguousarray(X)
    m, n = X.shape
    nb = (n + _MOMENT_BLOCK - 1) // _MOMENT_BLOCK
    part = np.zeros((m, nb, 2))
    keys = np.zeros((m, nb, 3), dtype=np.int64)
    centre = np.zeros((m, 2))
    with np.errstate(over="ignore", invalid="ignore"):
        centre[:, 1] = X[:, ::max(1, n // _PILOT)].mean(axis=1, dtype=np.float64)
    x0 = centre[:, 1].copy()
    _moment_pass(X, 0, centre, part, keys)
    amax = _key_value(keys[:, :, 0].max(axis=1))  # non-negative: its key is its bits
    _, e = np.frexp(np.where(amax > 0, amax, 1.0))
    # 1/p as a float: 2**1022 at most (for subnormal data u = x / p is then below 0.5, still exact)
    inv_p = np.ldexp(1.0, -np.maximum(e, -1022))
    umin = _key_value(keys[:, :, 1].min(axis=1)) * inv_p
    umax = _key_value(keys[:, :, 2].max(axis=1)) * inv_p
    with np.errstate(over="ignore", invalid="ignore"):
        ce = part[:, :, 0].sum(axis=1) / n
        var = part[:, :, 1].sum(axis=1) / n - ce * ce
        ok = np.isfinite(ce) & np.isfinite(x0)
        one = ok & np.isfinite(var) & (amax <= _RANGE) & (amax >= 1.0 / _RANGE) & (var >= _RANGE ** -2) & (ce * ce <= var)
        mu = np.where(one, x0 * inv_p, (x0 + ce) * inv_p)
    c = np.where(one, ce * inv_p, 0.0)
    s = np.where(one, np.sqrt(np.maximum(var, 0.0)) * inv_p, 0.0)
    two = ok & ~one
    if two.any():  # the second pass of `_standardize` for the rows the one pass does not serve
        rows = np.nonzero(two)[0]
        centre2 = np.stack([inv_p[rows], mu[rows]], axis=1)
        part2 = np.zeros((rows.size, nb, 2))
        _moment_pass(np.ascontiguousarray(X[rows]), 1, centre2, part2, keys[rows])
        c2 = part2[:, :, 0].sum(axis=1) / n
        c[rows] = c2
        s[rows] = np.sqrt(np.maximum(part2[:, :, 1].sum(axis=1) - n * c2 * c2, 0.0) / n)
    return {"inv_p": inv_p, "m": mu, "c": c, "s": s, "umin": umin, "umax": umax, "ok": ok}
