"""numba kernels (private). Imported lazily by the public modules.

Shared numba settings live here once: ``FASTMATH`` enables every LLVM fast-math
flag except ``nnan``/``ninf`` (so NaN/inf checks stay valid), and ``CACHE``
keeps numba's on-disk cache on unless ``NORMTEST_NUMBA_CACHE=0`` (see
``normtest/_numba.py`` for where it is written and what invalidates it).

ECF sums
--------
``ecf_sums(P, nodes)`` (observations in rows) and ``ecf_sums_rows(X, nodes)``
(observations along the last axis) return ``C[j, k] = sum_i cos(t_k x_ij)`` and
``S[j, k] = sum_i sin(t_k x_ij)`` in float64 whatever the input dtype. They never
build an ``n x K`` array: each value is read once and its K cosines/sines are
added into a per-task accumulator of length K.

Determinism. The work is split into tasks whose boundaries depend only on the
array shape, never on the number of threads: with 8 or more columns (slices,
replicates) a task is one column; otherwise a task is a fixed block of
``_ROW_BLOCK`` observations whose partial sums are stored separately and added
afterwards in block order. No two threads ever add into one accumulator, so the
result is bit-identical for ``NUMBA_NUM_THREADS=1, 2, ...`` (tested). One caveat:
a build loaded from numba's on-disk cache can differ from a freshly compiled one in
the last bit (measured: the parallel closed form, the pair sums, the serial column
driver, 4e-16 relative); loaded builds agree with each other across thread counts.

Equispaced nodes. With ``step`` given the nodes are ``t_k = k * step``
(k = 1..K) and ``cos/sin(t_k x)`` follow from one ``cos/sin(step * x)`` by the
angle-addition recurrence; it is re-anchored with a direct evaluation every
``_REANCHOR`` nodes, which bounds the rounding drift to about
``_REANCHOR * 1e-16`` per term.

Threading layer. numba's default layer order picks TBB if installed, else
OpenMP, else its own 'workqueue'. The kernels here are coarse-grained (a few
parallel regions per call, each task thousands of transcendental evaluations),
so the layer's scheduling cost is invisible; the measured concern is idle
spinning of GNU OpenMP workers (``OMP_WAIT_POLICY``/``GOMP_SPINCOUNT``) stealing
cores from a following BLAS call. See ``docs/epps_pulley.md`` for measurements;
we do not force a layer (a library should not), and recommend
``NUMBA_THREADING_LAYER=workqueue`` when numba and a threaded BLAS alternate in
tight loops.
"""

from __future__ import annotations

import types

import numba  # noqa: F401  (this module is the numba boundary)
import numpy as np
from numba import njit, prange

from .._numba import CACHE, FASTMATH, FASTMATH_STRICT

_ROW_BLOCK = 4096  # observations per task when parallelising over rows
_MIN_COLS_PARALLEL = 8  # from this many columns on, a task is one column
_REANCHOR = 32  # direct cos/sin every this many recurrence steps

__all__ = ["FASTMATH", "FASTMATH_STRICT", "CACHE", "ecf_sums", "ecf_sums_rows", "ep_closed_form", "ep_pair_cross"]


# ---------------------------------------------------------------------------
# ECF sums
# ---------------------------------------------------------------------------

@njit(cache=CACHE, fastmath=FASTMATH)
def _load(X, col, i, transposed):
    if transposed:
        return np.float64(X[col, i])
    return np.float64(X[i, col])


_SINCOS_MAX = 1.0e5  # |angle| up to which the polynomial sin/cos is used (else libm)

# pi/2 split into three parts of 33, 33 and 53 bits (fdlibm's pio2_1, pio2_2, pio2_3):
# k * _PIO2_1 and k * _PIO2_2 are exact for |k| < 2**20, so the reduced argument
# r = a - k pi/2 carries an absolute error ~1e-21 for |a| <= _SINCOS_MAX.
_PIO2_1 = 1.57079632673412561417e+00
_PIO2_2 = 6.07710050630396597660e-11
_PIO2_3 = 2.02226624871116645580e-21
_TWO_OVER_PI = 6.36619772367581382433e-01


@njit(cache=CACHE, fastmath=FASTMATH_STRICT, inline="always")
def _sincos_poly(a):
    """(cos a, sin a) without branches or libm calls, vectorisable; |a| <= _SINCOS_MAX.

    Cody-Waite reduction to r in [-pi/4, pi/4] and Taylor polynomials of degree
    15 (sin) and 16 (cos), whose truncation error there is below 2e-17: about one
    ulp overall, like libm.
    """
    k = np.floor(a * _TWO_OVER_PI + 0.5)
    r = ((a - k * _PIO2_1) - k * _PIO2_2) - k * _PIO2_3
    r2 = r * r
    sp = r + r * r2 * (-1.6666666666666666e-01 + r2 * (8.3333333333333333e-03 + r2 * (
        -1.9841269841269841e-04 + r2 * (2.7557319223985891e-06 + r2 * (-2.5052108385441719e-08 + r2 * (
            1.6059043836821615e-10 + r2 * (-7.6471637318198165e-13)))))))
    cp = 1.0 + r2 * (-0.5 + r2 * (4.1666666666666667e-02 + r2 * (-1.3888888888888889e-03 + r2 * (
        2.4801587301587302e-05 + r2 * (-2.7557319223985891e-07 + r2 * (2.0876756987868099e-09 + r2 * (
            -1.1470745597729725e-11 + r2 * 4.7794773323873853e-14)))))))
    q = np.int64(k) & 3
    odd = (q & 1) == 1
    sn = cp if odd else sp
    cs = sp if odd else cp
    sign_s = 1.0 - 2.0 * ((q >> 1) & 1)
    sign_c = 1.0 - 2.0 * (((q + 1) >> 1) & 1)
    return sign_c * cs, sign_s * sn


@njit(cache=CACHE, fastmath=FASTMATH)
def _accumulate(X, col, lo, hi, transposed, nodes, step, use_step, accC, accS):
    """Add cos/sin(t_k x) for the values X[lo:hi, col] (or X[col, lo:hi]) into accC/accS.

    Equispaced nodes run the recurrence on 4 values at once (independent
    dependency chains); the 4 lane values are added per node in a fixed order,
    so the result depends on nothing but the data.
    """
    K = nodes.shape[0]
    i = lo
    if use_step:
        # four independent recurrences in scalar registers: instruction-level parallelism;
        # the anchors use the branch-free polynomial sin/cos (both at once, no libm call)
        # while every angle is within its range, libm otherwise
        big = _SINCOS_MAX / (K + 1.0)
        while i + 4 <= hi:
            a0 = step * _load(X, col, i, transposed)
            a1 = step * _load(X, col, i + 1, transposed)
            a2 = step * _load(X, col, i + 2, transposed)
            a3 = step * _load(X, col, i + 3, transposed)
            poly = max(max(abs(a0), abs(a1)), max(abs(a2), abs(a3))) <= big
            if poly:
                p0, q0 = _sincos_poly(a0)
                p1, q1 = _sincos_poly(a1)
                p2, q2 = _sincos_poly(a2)
                p3, q3 = _sincos_poly(a3)
            else:
                p0, q0 = np.cos(a0), np.sin(a0)
                p1, q1 = np.cos(a1), np.sin(a1)
                p2, q2 = np.cos(a2), np.sin(a2)
                p3, q3 = np.cos(a3), np.sin(a3)
            c0, s0, c1, s1, c2, s2, c3, s3 = p0, q0, p1, q1, p2, q2, p3, q3
            for k0 in range(0, K, _REANCHOR):
                if k0 > 0:  # re-anchor: direct evaluation at node k0 + 1
                    mlt = k0 + 1.0
                    if poly:
                        c0, s0 = _sincos_poly(mlt * a0)
                        c1, s1 = _sincos_poly(mlt * a1)
                        c2, s2 = _sincos_poly(mlt * a2)
                        c3, s3 = _sincos_poly(mlt * a3)
                    else:
                        c0, s0 = np.cos(mlt * a0), np.sin(mlt * a0)
                        c1, s1 = np.cos(mlt * a1), np.sin(mlt * a1)
                        c2, s2 = np.cos(mlt * a2), np.sin(mlt * a2)
                        c3, s3 = np.cos(mlt * a3), np.sin(mlt * a3)
                accC[k0] += (c0 + c1) + (c2 + c3)
                accS[k0] += (s0 + s1) + (s2 + s3)
                for k in range(k0 + 1, min(K, k0 + _REANCHOR)):
                    c0, s0 = c0 * p0 - s0 * q0, s0 * p0 + c0 * q0
                    c1, s1 = c1 * p1 - s1 * q1, s1 * p1 + c1 * q1
                    c2, s2 = c2 * p2 - s2 * q2, s2 * p2 + c2 * q2
                    c3, s3 = c3 * p3 - s3 * q3, s3 * p3 + c3 * q3
                    accC[k] += (c0 + c1) + (c2 + c3)
                    accS[k] += (s0 + s1) + (s2 + s3)
            i += 4
    for i2 in range(i, hi):
        x = _load(X, col, i2, transposed)
        if use_step:
            a = step * x
            cc1 = np.cos(a)
            ss1 = np.sin(a)
            cc = cc1
            sv = ss1
            accC[0] += cc
            accS[0] += sv
            for k in range(1, K):
                if k % _REANCHOR == 0:
                    b = (k + 1) * a
                    cc = np.cos(b)
                    sv = np.sin(b)
                else:
                    cn = cc * cc1 - sv * ss1
                    sv = sv * cc1 + cc * ss1
                    cc = cn
                accC[k] += cc
                accS[k] += sv
        else:
            for k in range(K):
                b = nodes[k] * x
                accC[k] += np.cos(b)
                accS[k] += np.sin(b)


def _ecf_by_column_py(X, transposed, nodes, step, use_step, C, S):
    m = C.shape[0]
    K = nodes.shape[0]
    n = X.shape[1] if transposed else X.shape[0]
    for j in prange(m):
        accC = np.zeros(K)
        accS = np.zeros(K)
        # fixed row blocks inside a column: pairwise-like accuracy, thread-count free
        for lo in range(0, n, _ROW_BLOCK):
            hi = min(n, lo + _ROW_BLOCK)
            bC = np.zeros(K)
            bS = np.zeros(K)
            _accumulate(X, j, lo, hi, transposed, nodes, step, use_step, bC, bS)
            for k in range(K):
                accC[k] += bC[k]
                accS[k] += bS[k]
        for k in range(K):
            C[j, k] += accC[k]
            S[j, k] += accS[k]


def _ecf_by_block_py(X, transposed, nodes, step, use_step, C, S):
    m = C.shape[0]
    K = nodes.shape[0]
    n = X.shape[1] if transposed else X.shape[0]
    nb = (n + _ROW_BLOCK - 1) // _ROW_BLOCK
    partC = np.zeros((nb, m, K))
    partS = np.zeros((nb, m, K))
    for task in prange(nb * m):
        b = task // m
        j = task - b * m
        lo = b * _ROW_BLOCK
        hi = min(n, lo + _ROW_BLOCK)
        _accumulate(X, j, lo, hi, transposed, nodes, step, use_step, partC[b, j], partS[b, j])
    for j in range(m):
        for k in range(K):
            sc = 0.0
            ss = 0.0
            for b in range(nb):
                sc += partC[b, j, k]
                ss += partS[b, j, k]
            C[j, k] += sc
            S[j, k] += ss


def _twin(func, suffix):
    """A copy of `func` under another name, so numba's on-disk cache keeps the builds apart."""
    twin = types.FunctionType(func.__code__, func.__globals__, func.__name__ + suffix,
                              func.__defaults__, func.__closure__)
    twin.__qualname__ = func.__qualname__ + suffix
    return twin


# Each driver is compiled twice from one body: parallel (prange) and serial (prange acts as
# range), with the same task partition. The serial build serves small inputs, where starting a
# parallel region costs more than the work (and, with GNU OpenMP on a busy machine, can stall
# for milliseconds: see module notes). Which build runs depends only on the shapes, never on
# the thread count, so results stay bit-identical across thread counts.
_ecf_by_column = njit(parallel=True, nogil=True, cache=CACHE, fastmath=FASTMATH)(_ecf_by_column_py)
_ecf_by_block = njit(parallel=True, nogil=True, cache=CACHE, fastmath=FASTMATH)(_ecf_by_block_py)
_ecf_by_column_serial = njit(nogil=True, cache=CACHE, fastmath=FASTMATH)(_twin(_ecf_by_column_py, "_serial"))
_ecf_by_block_serial = njit(nogil=True, cache=CACHE, fastmath=FASTMATH)(_twin(_ecf_by_block_py, "_serial"))
_SERIAL_WORK = 2_000_000  # n * m * K below which the serial driver is used


def _prepare_nodes(nodes, step):
    nodes = np.ascontiguousarray(nodes, dtype=np.float64).reshape(-1)
    if step is None:
        return nodes, 0.0, False
    step = float(step)
    return nodes, step, True


def _run(X, transposed, nodes, step, out):
    # one compiled specialisation per dtype: C-contiguous float32 or float64
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    X = np.ascontiguousarray(X)
    nodes, stepf, use_step = _prepare_nodes(nodes, step)
    m = X.shape[0] if transposed else X.shape[1]
    K = nodes.shape[0]
    if out is None:
        C = np.zeros((m, K))
        S = np.zeros((m, K))
    else:
        C, S = out
        if C.shape != (m, K) or S.shape != (m, K) or C.dtype != np.float64 or S.dtype != np.float64:
            raise ValueError(f"`out` must be two float64 arrays of shape {(m, K)}.")
    if K == 0 or m == 0:
        return C, S
    n = X.shape[1] if transposed else X.shape[0]
    serial = n * m * K < _SERIAL_WORK
    if m >= _MIN_COLS_PARALLEL:
        (_ecf_by_column_serial if serial else _ecf_by_column)(X, transposed, nodes, stepf, use_step, C, S)
    else:
        (_ecf_by_block_serial if serial else _ecf_by_block)(X, transposed, nodes, stepf, use_step, C, S)
    return C, S


def ecf_sums(P, nodes, step=None, out=None):
    """ECF sums of the columns of ``P``: observations in rows, slices in columns.

    Parameters
    ----------
    P : ndarray, shape (n, m), float32 or float64
        ``n`` observations (rows) of ``m`` variables or projections (columns).
        Other dtypes are converted to float64 and a non-C-contiguous array is
        copied once (one compiled kernel per dtype).
    nodes : ndarray, shape (K,)
        Nodes ``t_k`` (float64). With `step` given they must equal ``k * step``
        for k = 1..K (only ``len(nodes)`` is used then).
    step : float or None
        Spacing of equispaced nodes ``t_k = k * step``: enables the
        angle-addition recurrence (one sin/cos per value instead of K).
    out : (C, S) or None
        Two float64 arrays of shape (m, K) to *add into* in place (stream row
        chunks through the same accumulators); they are also returned.

    Returns
    -------
    C, S : ndarray, shape (m, K), float64
        ``C[j, k] = sum_i cos(t_k P[i, j])``, ``S[j, k] = sum_i sin(t_k P[i, j])``.

    Notes
    -----
    Deterministic: bit-identical on any number of threads (see module notes).
    Accumulates in float64 whatever the input dtype; memory O(m K) plus, for
    fewer than 8 columns, O(m K n / 4096) partial sums.

    Examples
    --------
    >>> import numpy as np
    >>> from normtest.ecf._kernels import ecf_sums
    >>> P = np.array([[0.0, 1.0], [1.0, 2.0]])
    >>> C, S = ecf_sums(P, np.array([0.5, 1.0]), step=0.5)
    >>> print(np.round(C, 6))
    [[1.877583 1.540302]
     [1.417885 0.124155]]
    """
    P = np.asarray(P)
    if P.ndim != 2:
        raise ValueError(f"`P` must be a 2-d array (n, m). Got shape {P.shape} instead.")
    return _run(P, False, nodes, step, out)


def ecf_sums_rows(X, nodes, step=None, out=None):
    """ECF sums of the rows of ``X`` (shape (m, n)): the (m, n) layout of `ecf_sums`.

    Same contract as :func:`ecf_sums` with observations along the last axis
    (the layout of ``vectorize_1d`` cores and of Monte-Carlo batches); returns
    ``(C, S)`` of shape (m, K).
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"`X` must be a 2-d array (m, n). Got shape {X.shape} instead.")
    return _run(X, True, nodes, step, out)


# ---------------------------------------------------------------------------
# Closed-form (O(n^2)) Epps–Pulley statistic, the reference for moderate n
# ---------------------------------------------------------------------------

def _ep_closed_rows_py(Y, beta, out):
    """T_{n,beta} of each row of Y via the centred kernel h (docs/theory.md §4.1).

    T = (1/n) [sum_j h(y_j, y_j) + 2 sum_{j<k} h(y_j, y_k)] with
    h(x, y) = exp(-b2 (x-y)^2 / 2) - a(x) - a(y) + c: each term is O(1), so the
    O(n)-sized cancellations of the raw three-term formula never form. Row sums
    use Kahan compensation and are combined in a fixed order.
    """
    m, n = Y.shape
    b2 = beta * beta
    g = b2 / (1.0 + b2)
    ca = 1.0 / np.sqrt(1.0 + b2)
    c = 1.0 / np.sqrt(1.0 + 2.0 * b2)
    for r in range(m):
        a = np.empty(n)
        for j in range(n):
            a[j] = ca * np.exp(-0.5 * g * Y[r, j] * Y[r, j])
        rows = np.empty(n)
        for j in prange(n):
            yj = Y[r, j]
            s = 1.0 - 2.0 * a[j] + c  # diagonal term h(y_j, y_j)
            comp = 0.0
            for k in range(j + 1, n):
                d = yj - Y[r, k]
                term = 2.0 * (np.exp(-0.5 * b2 * d * d) - a[j] - a[k] + c)
                yk = term - comp
                t = s + yk
                comp = (t - s) - yk
                s = t
            rows[j] = s
        # pairwise combination in a fixed order
        width = n
        while width > 1:
            half = (width + 1) // 2
            for j in range(width // 2):
                rows[j] = rows[2 * j] + rows[2 * j + 1]
            if width % 2 == 1:
                rows[half - 1] = rows[width - 1]
            width = half
        out[r] = rows[0] / n


_ep_closed_rows = njit(parallel=True, cache=CACHE, fastmath=FASTMATH)(_ep_closed_rows_py)
_ep_closed_rows_serial = njit(cache=CACHE, fastmath=FASTMATH)(_twin(_ep_closed_rows_py, "_serial"))


def ep_closed_form(Y, beta=1.0):
    """Exact Epps–Pulley/BHEP statistic T_{n,beta} of each row of ``Y`` (m, n) in O(n^2).

    The reference implementation (docs/theory.md §2, centred-kernel form with
    compensated summation). ``Y`` is the data the statistic sees (already
    standardised for the composite null).
    """
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y[None, :]
    out = np.empty(Y.shape[0])
    m, n = Y.shape
    kernel = _ep_closed_rows_serial if m * n * n < 2 * _SERIAL_WORK else _ep_closed_rows
    kernel(Y, float(beta), out)
    return out


def _pair_cross_py(near, far, beta, out):
    b2 = beta * beta
    nf = far.shape[0]
    nn = near.shape[0]
    for f in prange(nf):
        yf = far[f]
        s = 0.0
        for lo in range(0, nn, _ROW_BLOCK):
            hi = min(nn, lo + _ROW_BLOCK)
            bs = 0.0
            for i in range(lo, hi):
                d = near[i] - yf
                bs += np.exp(-0.5 * b2 * d * d)
            s += bs
        out[f] = s


_pair_cross = njit(parallel=True, cache=CACHE, fastmath=FASTMATH)(_pair_cross_py)
_pair_cross_serial = njit(cache=CACHE, fastmath=FASTMATH)(_twin(_pair_cross_py, "_serial"))


def ep_pair_cross(near, far, beta=1.0):
    """``out[f] = sum_i exp(-beta^2 (near_i - far_f)^2 / 2)`` for each far point (deterministic)."""
    near = np.ascontiguousarray(near, dtype=np.float64)
    far = np.ascontiguousarray(far, dtype=np.float64)
    out = np.empty(far.shape[0])
    if far.shape[0]:
        serial = near.shape[0] * far.shape[0] < _SERIAL_WORK
        (_pair_cross_serial if serial else _pair_cross)(near, far, float(beta), out)
    return out
