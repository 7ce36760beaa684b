"""Standardisation that cannot overflow, underflow or cancel: the one algorithm every test uses.

Every ``standardize=True`` path (the EDF tests, the 1-D Epps–Pulley test, the
whitening of the multivariate tests, their Monte-Carlo simulators, the torch
and dask back ends) centres and scales with the algorithm below, so the tests
are affine invariant to rounding for scales from 1e-300 to 1e300 and shifts up
to 1e15 times the spread. A fused single-kernel version (numba) must
reproduce exactly these steps, per sample ``x_1..x_n`` (no NaN):

1. **Scale by a power of two first.** ``p = 2**e`` with ``e`` the exponent of
   ``max_i |x_i|`` (``frexp``); ``u_i = x_i / p`` is exact (a power of two)
   and ``|u_i| < 1``, so no later sum or square can overflow, and the squares
   of deviations cannot underflow unless the sample is degenerate (step 4).
2. **Pilot mean, then corrected two-pass centring.** ``m = sum(u) / n``,
   ``d_i = u_i - m``, ``c = sum(d) / n``, ``d_i <- d_i - c`` (Chan, Golub &
   LeVeque's corrected two-pass algorithm): the centre is accurate to about
   ``eps * spread`` however large the shift, because the ``d_i`` are exact
   differences of nearby numbers.
3. **Variance from the centred values.** ``s = sqrt(sum(d_i^2) / (n - ddof))``
   and ``z_i = d_i / s``; in the caller's units the mean is ``(m + c) p`` and
   the standard deviation ``s p``.
4. **Degenerate means degenerate.** A sample is constant when
   ``max(u) - min(u) <= 4 eps max|u|`` (its values agree to a few units in
   the last place, or are all zero). A relative spread of 1e-14 (~50 ulps)
   is data, not a constant.

:func:`standardize` is written over the array API (``array_api_compat``), so
NumPy, torch and dask arrays go through the same lines; NumPy input is computed
in float64.
"""

from __future__ import annotations

import numpy as np

__all__ = ["standardize", "DEGENERATE_ULPS", "pow2_scale", "Centre", "column_moments", "inv_sqrt_psd",
           "polar_factor"]

#: a sample whose range is at most this many ``eps * max|x|`` is constant (step 4)
DEGENERATE_ULPS = 4.0


def _xp(x):
    if isinstance(x, np.ndarray):
        return np
    from array_api_compat import array_namespace

    return array_namespace(x)


def pow2_scale(maxabs, xp=np):
    """A power of two ``2**e`` with ``maxabs / 2**e`` in ``[0.5, 1)`` (2 where ``maxabs == 0``).

    Dividing by it is exact (it only changes the exponent), so scaling does not
    round. Written with ``log2``/``floor`` (no ``frexp`` in the array API) and
    corrected by one step where ``log2`` rounded across a power of two. ``e`` is
    capped at 1023 (``2**1024`` is not a float): values beyond ``2**1023`` scale
    into ``[1, 2)``.
    """
    safe = xp.where(maxabs > 0, maxabs, xp.ones_like(maxabs))
    e = xp.clip(xp.floor(xp.log2(safe)) + 1.0, -1074.0, 1023.0)
    too_small = (safe / _pow2(e, xp)) >= 1.0
    e = xp.where(too_small & (e < 1023.0), e + 1.0, e)
    return _pow2(e, xp)


def _pow2(e, xp):
    # 2**e as two halves: pow(2, -1074) or pow(2, 1023) in one step may be inexact or overflow
    half = xp.floor(e / 2.0)
    two = 2.0 * xp.ones_like(e)
    return xp.pow(two, half) * xp.pow(two, e - half)


def standardize(x, *, axis=-1, ddof=0, n=None, reduce_sum=None, reduce_max=None, presorted=False):
    """Centre and scale every sample along `axis` (the module's algorithm, steps 1–4).

    Parameters
    ----------
    x : array (NumPy, torch, dask, ...)
        Finite values (no NaN); float64 is used for NumPy input, other
        namespaces keep the floating dtype of `x`.
    axis : int, default -1
        The sample axis.
    ddof : int, default 0
        Divisor ``n - ddof`` of the variance.
    n, reduce_sum, reduce_max : optional
        For samples split over processes (torch DDP): the global sample size
        and the all-reduces applied to every partial sum and maximum (the
        identity by default).
    presorted : bool, default False
        NumPy only: the samples are sorted along `axis` (the EDF tests), so the
        extremes are read at the ends instead of in extra passes.

    Returns
    -------
    z : array, the shape of `x`
        Standardised values; rows of degenerate samples are 0.
    mean, sd : array, `x`'s shape with `axis` kept (length 1)
        Sample mean and standard deviation in the caller's units (``sd`` may
        be ``inf`` for spreads beyond the float range, ``z`` never is).
    degenerate : array of bool, `x`'s shape with `axis` kept
        True for (numerically) constant samples (step 4).

    Examples
    --------
    >>> import numpy as np
    >>> from normtest._standardize import standardize
    >>> x = np.array([1.0, 2.0, 4.0, 5.0])
    >>> z, mean, sd, deg = standardize(1e300 * x)
    >>> print(np.round(z, 4), bool(deg[0]))
    [-1.2649 -0.6325  0.6325  1.2649] False
    >>> bool(standardize(1e8 + 1e-6 * x)[3][0]), bool(standardize(np.full(5, 0.1))[3][0])
    (False, True)
    """
    xp = _xp(x)
    if xp is np and reduce_sum is None and reduce_max is None and n is None:
        return _standardize_numpy(np.asarray(x, dtype=np.float64), axis, ddof, presorted)
    if xp is np:
        x = np.asarray(x, dtype=np.float64)
    rsum = reduce_sum or (lambda v: v)
    rmax = reduce_max or (lambda v: v)
    if n is None:
        n = x.shape[axis]
    # the scale is a constant (z does not depend on it): no gradient flows through it
    xc = x.detach() if hasattr(x, "detach") else x
    maxabs = rmax(xp.max(xp.abs(xc), axis=axis, keepdims=True))
    p = pow2_scale(maxabs, xp)
    u = x / p
    m = rsum(xp.sum(u, axis=axis, keepdims=True)) / n
    d = u - m
    c = rsum(xp.sum(d, axis=axis, keepdims=True)) / n
    d = d - c
    ss = rsum(xp.sum(d * d, axis=axis, keepdims=True))
    s = xp.sqrt(ss / ((n - ddof) if not isinstance(n, int) else max(n - ddof, 1)))
    eps = float(xp.finfo(u.dtype).eps)
    uc = xc / p
    span = rmax(xp.max(uc, axis=axis, keepdims=True)) + rmax(xp.max(-uc, axis=axis, keepdims=True))
    degenerate = (span <= DEGENERATE_ULPS * eps * (maxabs / p)) | ~(s > 0)
    safe = xp.where(degenerate, xp.ones_like(s), s)
    z = xp.where(degenerate, xp.zeros_like(d), d / safe)
    with np.errstate(over="ignore"):
        mean = (m + c) * p
        sd = s * p
    return z, mean, sd, degenerate


_EPS = float(np.finfo(np.float64).eps)


def _standardize_numpy(x, axis, ddof, presorted=False):
    """The same steps as :func:`standardize`, for NumPy float64 with fewer temporaries.

    (``frexp`` instead of ``log2``, in-place updates, extremes at the ends of sorted
    samples; identical results.)
    """
    n = x.shape[axis]
    if presorted:
        lo = np.take(x, [0], axis=axis)
        hi = np.take(x, [n - 1], axis=axis)
        maxabs = np.maximum(np.abs(lo), np.abs(hi))
    else:
        maxabs = np.max(np.abs(x), axis=axis, keepdims=True)
    _, e = np.frexp(np.where(maxabs > 0, maxabs, 1.0))
    p = np.ldexp(1.0, np.minimum(e, 1023))
    d = x / p
    if presorted:
        span = hi / p - lo / p
    else:
        span = np.max(d, axis=axis, keepdims=True) - np.min(d, axis=axis, keepdims=True)
    m = np.sum(d, axis=axis, keepdims=True) / n
    d -= m
    c = np.sum(d, axis=axis, keepdims=True) / n
    d -= c
    s = np.sqrt(np.sum(d * d, axis=axis, keepdims=True) / max(n - ddof, 1))
    degenerate = (span <= DEGENERATE_ULPS * _EPS * (maxabs / p)) | ~(s > 0)
    if degenerate.any():
        s = np.where(degenerate, 1.0, s)
        d = np.where(degenerate, 0.0, d)
    d /= s
    with np.errstate(over="ignore"):
        return d, (m + c) * p, s * p, degenerate


class Centre:
    """A column centre kept as two floats, ``hi + lo``: ``block - centre`` is ``(block - hi) - lo``.

    ``hi`` is the pilot mean (a float near the data, so ``x - hi`` is exact) and
    ``lo`` the correction of step 2: a shift of 1e15 times the spread costs no
    accuracy. NumPy defers ``ndarray - Centre`` to :meth:`__rsub__`
    (``__array_ufunc__ = None``), so streaming code written for a plain mean works.
    """

    __array_ufunc__ = None

    def __init__(self, hi, lo):
        self.hi = np.asarray(hi, dtype=np.float64)
        self.lo = np.asarray(lo, dtype=np.float64)

    def __rsub__(self, block):
        return (np.asarray(block, dtype=np.float64) - self.hi) - self.lo

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.hi + self.lo, dtype=dtype)

    def __matmul__(self, other):
        return np.asarray(self) @ other


def column_moments(X, chunk_rows=None):
    """Steps 1–3 for the columns of an (N, D) array, streamed over row chunks.

    Returns ``(centre, p, cov_u, degenerate)``: the :class:`Centre`, the
    power-of-two column scales ``p``, the divisor-N covariance of ``(X - centre) / p``
    and a mask of (numerically) constant columns.
    """
    N, D = X.shape
    step = N if chunk_rows is None else max(1, int(chunk_rows))
    maxabs = np.zeros(D)
    for lo in range(0, N, step):
        maxabs = np.maximum(maxabs, np.max(np.abs(X[lo:lo + step]), axis=0))
    p = pow2_scale(maxabs)
    total = np.zeros(D)
    hi_u = np.full(D, -np.inf)
    lo_u = np.full(D, np.inf)
    for lo in range(0, N, step):
        U = X[lo:lo + step].astype(np.float64) / p
        total += U.sum(axis=0)
        hi_u = np.maximum(hi_u, U.max(axis=0))
        lo_u = np.minimum(lo_u, U.min(axis=0))
    m = total / N
    dsum = np.zeros(D)
    gram = np.zeros((D, D))
    for lo in range(0, N, step):
        Dv = X[lo:lo + step].astype(np.float64) / p - m
        dsum += Dv.sum(axis=0)
        gram += Dv.T @ Dv
    c = dsum / N
    cov_u = (gram - N * np.outer(c, c)) / N
    eps = np.finfo(np.float64).eps
    degenerate = (hi_u - lo_u <= DEGENERATE_ULPS * eps * (maxabs / p)) | ~(np.diag(cov_u) > 0)
    return Centre(m * p, c * p), p, cov_u, degenerate


def inv_sqrt_psd(S):
    """Symmetric inverse square root of SPD matrices ``S`` (..., D, D) and their eigenvalues."""
    vals, vecs = np.linalg.eigh(S)
    with np.errstate(invalid="ignore", divide="ignore"):
        root = (vecs / np.sqrt(vals)[..., None, :]) @ np.swapaxes(vecs, -1, -2)
    return root, vals


def polar_factor(A, tol=None, max_iter=60):
    """Orthogonal polar factor of a square matrix by the scaled Newton iteration.

    ``X <- (mu X + X^-T / mu) / 2`` with Higham's (1,inf)-norm scaling: accurate
    for row-graded matrices (rows of very different sizes), where an SVD is
    accurate only normwise. Norm products are formed in logs (no overflow).
    """
    X = np.array(A, dtype=np.float64)
    tol = 8 * X.shape[0] * np.finfo(np.float64).eps if tol is None else tol
    for it in range(max_iter):
        Xi = np.linalg.inv(X).T
        if it < 10:
            lognum = np.log(np.linalg.norm(Xi, 1)) + np.log(np.linalg.norm(Xi, np.inf))
            logden = np.log(np.linalg.norm(X, 1)) + np.log(np.linalg.norm(X, np.inf))
            mu = float(np.exp(0.25 * (lognum - logden)))
        else:
            mu = 1.0
        Xn = 0.5 * (mu * X + Xi / mu)
        diff = np.linalg.norm(Xn - X, 1) / np.linalg.norm(Xn, 1)
        X = Xn
        if diff <= tol and it >= 1:
            break
    return X
