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

Inside a task the values are processed in tiles by the vectorised kernels of
``_sincos.py``: with ``step`` given (nodes ``t_k = k * step``) one polynomial
``cos/sin(step * x)`` per value and the Chebyshev recurrence for the other
nodes, accumulators in registers; otherwise one polynomial sin/cos per value and
node; libm for the rare tile with a value out of the polynomial's range.

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
from ._sincos import BUF_ROWS, SINCOS_MAX, TILE, sincos_poly, task_sums

_ROW_BLOCK = 4096  # observations per task when parallelising over rows
_MIN_COLS_PARALLEL = 8  # from this many columns on, a task is one column

__all__ = ["FASTMATH", "FASTMATH_STRICT", "CACHE", "ecf_sums", "ecf_sums_rows", "ep_closed_form",
           "ep_pair_cross"]


# ---------------------------------------------------------------------------
# ECF sums: drivers over tasks (the tile kernels are in _sincos.py)
# ---------------------------------------------------------------------------

def _ecf_by_column_py(X, aff, nodes, step, use_step, C, S, Z):
    m, n = X.shape
    K = nodes.shape[0]
    for j in prange(m):
        buf = np.empty((BUF_ROWS, TILE))
        accC = np.zeros(K)
        accS = np.zeros(K)
        bC = np.empty(K)
        bS = np.empty(K)
        x = X[j]
        zmax = Z[j]  # bits of the largest |a| (see _sincos.task_sums)
        # fixed row blocks inside a column: pairwise-like accuracy, thread-count free
        for lo in range(0, n, _ROW_BLOCK):
            hi = min(n, lo + _ROW_BLOCK)
            bC[:] = 0.0
            bS[:] = 0.0
            zb = task_sums(x, lo, hi, aff[j], nodes, step, use_step, buf, bC, bS)
            zmax = max(zmax, zb)
            for k in range(K):
                accC[k] += bC[k]
                accS[k] += bS[k]
        for k in range(K):
            C[j, k] += accC[k]
            S[j, k] += accS[k]
        Z[j] = zmax


def _ecf_by_block_py(X, aff, nodes, step, use_step, C, S, Z):
    m, n = X.shape
    K = nodes.shape[0]
    nb = (n + _ROW_BLOCK - 1) // _ROW_BLOCK
    partC = np.zeros((nb, m, K))
    partS = np.zeros((nb, m, K))
    partZ = np.zeros((nb, m), dtype=np.int64)
    for task in prange(nb * m):
        b = task // m
        j = task - b * m
        lo = b * _ROW_BLOCK
        hi = min(n, lo + _ROW_BLOCK)
        buf = np.empty((BUF_ROWS, TILE))
        x = X[j]
        partZ[b, j] = task_sums(x, lo, hi, aff[j], nodes, step, use_step, buf, partC[b, j], partS[b, j])
    for j in range(m):
        zmax = Z[j]
        for b in range(nb):
            zmax = max(zmax, partZ[b, j])
        Z[j] = zmax
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


_TRANSPOSE_VALUES = 1 << 21  # values per transposed chunk of the (n, m) layout (16 MB in float64)


def _check_out(out, m, K):
    if out is None:
        return np.zeros((m, K)), np.zeros((m, K))
    C, S = out
    if C.shape != (m, K) or S.shape != (m, K) or C.dtype != np.float64 or S.dtype != np.float64:
        raise ValueError(f"`out` must be two float64 arrays of shape {(m, K)}.")
    return C, S


def _run_rows(X, nodes, stepf, use_step, C, S, affine=None, serial=False, zmax=None):
    """The drivers on a C-contiguous (m, n) float32/float64 array (rows are samples)."""
    m, n = X.shape
    K = nodes.shape[0]
    if K == 0 or m == 0 or n == 0:
        return
    Z = np.zeros(m, dtype=np.int64)  # bits of max |a| per row
    aff = np.empty((m, 4))
    aff[:] = (1.0, 0.0, 0.0, 1.0)
    if affine is not None:
        for col, v in enumerate(affine):
            aff[:, col] = v
    serial = serial or n * m * K < _SERIAL_WORK
    if m >= _MIN_COLS_PARALLEL:
        (_ecf_by_column_serial if serial else _ecf_by_column)(X, aff, nodes, stepf, use_step, C, S, Z)
    else:
        (_ecf_by_block_serial if serial else _ecf_by_block)(X, aff, nodes, stepf, use_step, C, S, Z)
    if zmax is not None:
        z = Z.view(np.float64) / (stepf if use_step else 1.0)
        np.maximum(zmax, np.where(np.isnan(z), np.inf, z), out=zmax)


def _run(X, transposed, nodes, step, out, affine=None, serial=False, zmax=None):
    # one compiled specialisation per dtype: C-contiguous float32 or float64 rows
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    nodes, stepf, use_step = _prepare_nodes(nodes, step)
    m = X.shape[0] if transposed else X.shape[1]
    C, S = _check_out(out, m, nodes.shape[0])
    if zmax is not None and (zmax.shape != (m,) or zmax.dtype != np.float64):
        raise ValueError(f"`zmax` must be a float64 array of shape {(m,)}.")
    if transposed or m == 1:
        rows = X if transposed else X.T
        _run_rows(np.ascontiguousarray(rows), nodes, stepf, use_step, C, S, affine, serial, zmax)
        return C, S
    # (n, m) layout: transpose chunks of whole row blocks, so every sample stays contiguous
    n = X.shape[0]
    chunk = max(_ROW_BLOCK, (_TRANSPOSE_VALUES // max(1, m)) // _ROW_BLOCK * _ROW_BLOCK)
    for lo in range(0, n, chunk):
        _run_rows(np.ascontiguousarray(X[lo:lo + chunk].T), nodes, stepf, use_step, C, S, affine, serial,
                  zmax)
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
        three-term recurrence (one sin/cos per value instead of K).
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


def ecf_sums_rows(X, nodes, step=None, out=None, *, affine=None, serial=False, zmax=None):
    """ECF sums of the rows of ``X`` (shape (m, n)): the (m, n) layout of `ecf_sums`.

    Same contract as :func:`ecf_sums` with observations along the last axis
    (the layout of ``vectorize_1d`` cores and of Monte-Carlo batches); returns
    ``(C, S)`` of shape (m, K). ``affine=(pre, hi, lo, scale)`` (scalars or
    shape (m,)) makes them the sums of ``((X[j] pre - hi) - lo) scale`` without
    forming those values (the fused standardisation of the 1-D test). ``serial=True`` runs in the calling thread
    (same result: the task partition does not change). ``zmax``: a float64 array of shape (m,)
    that receives ``max(zmax[j], max_i |z_ij|)``, the largest magnitude summed in each row (read
    in the same pass: what the sliced "auto" rule checks its spread against).
    """
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"`X` must be a 2-d array (m, n). Got shape {X.shape} instead.")
    return _run(X, True, nodes, step, out, affine, serial, zmax)


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


# ---------------------------------------------------------------------------
# Trigonometric sums at points: the influence function of the effect size
# ---------------------------------------------------------------------------

def _trig_points_py(Y, a, b, step, R, pq, out, P, Q):
    m, ms = Y.shape
    K = a.shape[1]
    for r in prange(m):
        buf = np.empty((5, TILE))  # rotation state c, s; step rotation p, q; the point y (0 if far)
        c, s, p, q, yy = buf[0], buf[1], buf[2], buf[3], buf[4]
        for t0 in range(0, ms, TILE):
            n = min(TILE, ms - t0)
            acc = out[r, t0:t0 + n]
            yt = Y[r, t0:t0 + n]  # indexed by the loop counter: contiguous loads
            bad = 0
            for i in range(n):  # vectorised: polynomial sin/cos, out-of-range points counted
                y = yt[i]
                near = abs(y) <= R  # far points (and NaN) drop out: state 0 stays 0
                yv = y if near else 0.0
                ci, si = sincos_poly(step * yv)
                bad += 0 if abs(step * yv) <= SINCOS_MAX else 1
                w = 1.0 if near else 0.0
                p[i] = ci
                q[i] = si
                c[i] = ci * w
                s[i] = si * w
                yy[i] = yv
                acc[i] = 0.0
            if bad > 0:  # rare: libm for the whole tile
                for i in range(n):
                    ci = np.cos(step * yy[i])
                    si = np.sin(step * yy[i])
                    w = 1.0 if abs(yt[i]) <= R else 0.0
                    p[i] = ci
                    q[i] = si
                    c[i] = ci * w
                    s[i] = si * w
            for k in range(K):
                ak = a[r, k]
                bk = b[r, k]
                sp = 0.0
                sq = 0.0
                for i in range(n):  # independent points: a vectorised loop
                    ci = c[i]
                    si = s[i]
                    acc[i] += ak * ci + bk * si
                    sp += yy[i] * si
                    sq += yy[i] * ci
                    c[i] = ci * p[i] - si * q[i]
                    s[i] = si * p[i] + ci * q[i]
                if pq:
                    P[r, k] += sp
                    Q[r, k] += sq


_trig_points = njit(parallel=True, nogil=True, cache=CACHE, fastmath=FASTMATH)(_trig_points_py)
_trig_points_serial = njit(nogil=True, cache=CACHE, fastmath=FASTMATH)(_twin(_trig_points_py, "_serial"))


def trig_points(Y, a, b, step, R=np.inf, pq=False):
    """``sum_k a[r, k] cos(t_k y) + b[r, k] sin(t_k y)`` at every point y of row r, t_k = k step.

    ``Y`` (m, ms), ``a, b`` (m, K). Points with ``|y| > R`` give 0 and are left out of
    ``P[r, k] = sum_j y sin(t_k y)``, ``Q[r, k] = sum_j y cos(t_k y)``, computed with
    ``pq=True``. One polynomial sin/cos per point (libm for a tile out of its range) and the
    angle-addition rotation for the other
    nodes (error ~k ulp), points in tiles (a vectorised loop over the tile per node). Rows
    are tasks: deterministic on any thread count. Returns
    ``(out, P, Q)`` (P, Q None without `pq`).
    """
    Y, a, b = (np.ascontiguousarray(v, dtype=np.float64) for v in (Y, a, b))
    m, ms = Y.shape
    K = a.shape[1]
    out = np.empty((m, ms))
    P = np.zeros((m, K) if pq else (0, 0))
    Q = np.zeros_like(P)
    # an effect is <= 1e7 node-values: serial (busy machine, load 8: 11 ms parallel, 2 ms serial)
    serial = m < _MIN_COLS_PARALLEL or m * ms * K < 25 * _SERIAL_WORK
    (_trig_points_serial if serial else _trig_points)(Y, a, b, float(step), float(R), bool(pq), out, P, Q)
    return out, (P if pq else None), (Q if pq else None)
