"""Vectorisable ECF tile kernels (private): polynomial sin/cos, recurrence blocks, fallbacks.

One *tile* is at most ``TILE`` consecutive values of one sample (slice, column,
row block). For equispaced nodes ``t_k = k h`` a tile is processed in two kinds
of branch-free loops that LLVM turns into packed SIMD code (AVX2/AVX-512):

1. the *anchor pass*: ``a_i = h z_i`` with ``z_i = ((x_i pre - hi) - lo) scale`` (the
   standardisation fused in; ``aff = (1, 0, 0, 1)`` otherwise) and one polynomial
   ``(cos a_i, sin a_i)`` per value (Cody–Waite reduction, minimax polynomials,
   no libm call, no branch), stored in small tile buffers; it also counts the
   values whose largest angle ``K |a_i|`` leaves the polynomial's range;
2. *recurrence blocks* of ``BLOCK`` nodes: the Chebyshev three-term recurrence
   ``c_{k+1} = 2 cos(a) c_k - c_{k-1}`` (the same for ``s``) walks from node k to
   node k + 1 in two fused multiply-adds, and every node of the block has **one
   scalar float64 accumulator pair**, so the loop body (generated from source text
   for each block size and compiled once) keeps all of them in registers and
   LLVM's reduction vectoriser makes them SIMD lanes. The state is carried from
   block to block in the tile buffers and re-anchored by a direct polynomial
   evaluation every ``REANCHOR`` nodes (error below ~(REANCHOR + BLOCK)^2 ulp per
   term, zero mean; see :func:`_block_source`).

Arbitrary (non-lattice) nodes use one polynomial sin/cos per value and node (a
vectorised loop per node). A tile with a value out of range (``K |a| > 1e5``,
``inf``) is redone with libm ``cos``/``sin`` by the caller: the hot loops never
test a value. NaN propagates through the polynomial like through libm.

Fast-math: the tile loops are compiled with ``FASTMATH`` (re-association lets
the reductions vectorise); the polynomial is a separate function compiled with
``FASTMATH_STRICT`` so that the Cody–Waite steps keep their order. numba emits
it as a call and LLVM inlines it while keeping the per-instruction flags
(checked in tests/test_kernels.py by reading the generated assembly).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._numba import CACHE, FASTMATH, FASTMATH_STRICT

TILE = 1024      # values per tile: 5 float64 buffers = 40 KB, within L1
BLOCK = 8        # nodes per recurrence block: 16 accumulators + 5 state values in registers
REANCHOR = 32    # direct evaluation every this many nodes (a multiple of BLOCK; the error grows ~k^2)
BUF_ROWS = 6     # rows of the tile buffer: a, t, c0, s0, c, s
SINCOS_MAX = 1.0e5  # |angle| up to which the polynomial is used (Cody-Waite exact for |k| < 2**20)
_ABS_BITS = 0x7FFFFFFFFFFFFFFF  # the bits of |v| of a float64 v (sign bit cleared)

# pi/2 in three parts of 33, 33 and 53 bits (fdlibm's pio2_1, pio2_2, pio2_3)
_PIO2_1 = 1.57079632673412561417e+00
_PIO2_2 = 6.07710050630396597660e-11
_PIO2_3 = 2.02226624871116645580e-21
_TWO_OVER_PI = 6.36619772367581382433e-01
# fdlibm's minimax coefficients of __kernel_sin / __kernel_cos on [-pi/4, pi/4] (error < 2**-58)
_S1, _S2, _S3 = -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04
_S4, _S5, _S6 = 2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10
_C1, _C2, _C3 = 4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05
_C4, _C5, _C6 = -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11


@njit(cache=CACHE, fastmath=FASTMATH_STRICT)
def sincos_poly(a):
    """(cos a, sin a) without branches or libm calls; accurate to ~1 ulp for |a| <= SINCOS_MAX."""
    k = np.floor(a * _TWO_OVER_PI + 0.5)
    r = ((a - k * _PIO2_1) - k * _PIO2_2) - k * _PIO2_3
    z = r * r
    sp = r + r * z * (_S1 + z * (_S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))))
    cp = (1.0 - 0.5 * z) + z * z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6)))))
    q = np.int64(k) & 3
    odd = (q & 1) == 1
    sn = cp if odd else sp
    cs = sp if odd else cp
    sign_s = 1.0 - 2.0 * ((q >> 1) & 1)
    sign_c = 1.0 - 2.0 * (((q + 1) >> 1) & 1)
    return sign_c * cs, sign_s * sn


@njit(cache=CACHE, fastmath=FASTMATH_STRICT)
def standard_value(x, pre, hi, low, scale):
    """((x pre - hi) - lo) scale in this order (strict flags: no re-association of the centring)."""
    return ((np.float64(x) * pre - hi) - low) * scale


@njit(cache=CACHE, fastmath=FASTMATH, nogil=True)
def anchor_pass(x, lo, n, aff, step, lim, buf):
    """buf rows: a = step z, t = 2 cos a, (c, s) = cos/sin a: the recurrence at node 1 (its
    previous node, t = 0, is the constant (1, 0), see :func:`_block_source`). Returns
    (#|a| > lim, max |a|).

    ``max |a|`` as the int64 bit pattern of the float (for non-negative floats the
    order of the patterns is that of the values): an integer max reduction
    vectorises, a float one does not without the ``nnan`` flag.
    """
    a = buf[0]
    t = buf[1]
    c = buf[4]
    s = buf[5]
    pre = aff[0]
    hi = aff[1]
    low = aff[2]
    scale = aff[3]
    bits = a.view(np.int64)
    xs = x[lo:lo + n]  # a slice indexed by the loop counter: contiguous loads (x[lo + i] gathers)
    bad = 0
    amax = 0
    for i in range(n):
        ai = step * standard_value(xs[i], pre, hi, low, scale)
        ci, si = sincos_poly(ai)
        a[i] = ai
        amax = max(amax, bits[i] & _ABS_BITS)
        t[i] = 2.0 * ci
        c[i] = ci
        s[i] = si
        bad += 0 if abs(ai) <= lim else 1
    return bad, amax


@njit(cache=CACHE, fastmath=FASTMATH, nogil=True)
def reanchor(buf, n, k):
    """The recurrence state at node k + 1 afresh: (c, s) = cos/sin((k + 1) a) by direct
    evaluation and the previous node (c0, s0) rotated back from it by one step a, so that the
    pair is consistent (an inconsistent pair grows linearly along the recurrence)."""
    a = buf[0]
    c0 = buf[2]
    s0 = buf[3]
    c = buf[4]
    s = buf[5]
    for i in range(n):
        ci, si = sincos_poly((k + 1.0) * a[i])
        p, q = sincos_poly(a[i])
        c[i] = ci
        s[i] = si
        c0[i] = ci * p + si * q
        s0[i] = si * p - ci * q


def _block_source(size, first):
    """Source of the recurrence block for `size` nodes (one accumulator pair per node).

    Per node ``C += c, S += s`` and the Chebyshev step ``(c0, c) <- (c, t c - c0)``, the same
    for s (``t = 2 cos a``): two fused multiply-adds per node and value (the angle-addition
    rotation takes four operations and twice the latency). The `first` block of a tile starts
    from the node t = 0, ``(c0, s0) = (1, 0)``, without reading it. Rounding: a perturbation of
    the state grows at most linearly along the recurrence and the rounding of ``t`` moves the
    angle by up to ``ulp / |sin a|``, so the error of node k is below ~k^2 ulp (measured 450 ulp
    at 32 nodes, zero mean); :func:`tile_lattice` re-anchors every ``REANCHOR`` nodes.
    """
    lines = [f"def _block_{size}_{int(first)}(buf, n, accC, accS, k0):",
             "    tt = buf[1]", "    cc0 = buf[2]", "    ss0 = buf[3]", "    cc = buf[4]", "    ss = buf[5]"]
    lines += [f"    C{b} = 0.0\n    S{b} = 0.0" for b in range(size)]
    lines += ["    for i in range(n):", "        t = tt[i]", "        c = cc[i]", "        s = ss[i]"]
    lines += ["        c0 = 1.0", "        s0 = 0.0"] if first else ["        c0 = cc0[i]", "        s0 = ss0[i]"]
    for b in range(size):
        lines += [f"        C{b} += c", f"        S{b} += s", "        c0, c = c, t * c - c0",
                  "        s0, s = s, t * s - s0"]
    lines += ["        cc0[i] = c0", "        ss0[i] = s0", "        cc[i] = c", "        ss[i] = s"]
    lines += [f"    accC[k0 + {b}] += C{b}\n    accS[k0 + {b}] += S{b}" for b in range(size)]
    return "\n".join(lines) + "\n"


def _build_blocks():
    funcs = {}
    for size in range(1, BLOCK + 1):
        for first in (False, True):
            name = f"_block_{size}_{int(first)}"
            namespace = {"np": np}
            exec(compile(_block_source(size, first), f"<normtest ecf {name}>", "exec"), namespace)
            funcs[size, first] = njit(fastmath=FASTMATH, nogil=True)(namespace[name])
    # dispatch on the block size: a generated if-chain (numba cannot index a tuple of functions)
    src = ["def run_block(size, first, buf, n, accC, accS, k0):"]
    for size in range(BLOCK, 0, -1):
        src.append(f"    {'if' if size == BLOCK else 'elif'} size == {size}:")
        src.append(f"        if first:\n            _block_{size}_1(buf, n, accC, accS, k0)")
        src.append(f"        else:\n            _block_{size}_0(buf, n, accC, accS, k0)")
    namespace = {f"_block_{size}_{int(first)}": f for (size, first), f in funcs.items()}
    exec(compile("\n".join(src) + "\n", "<normtest ecf block dispatch>", "exec"), namespace)
    return funcs, njit(fastmath=FASTMATH, nogil=True)(namespace["run_block"])


BLOCKS, run_block = _build_blocks()


@njit(cache=CACHE, fastmath=FASTMATH, nogil=True)
def tile_lattice(x, lo, n, aff, step, K, buf, accC, accS):
    """Add the sums of nodes k h (k = 1..K) of one tile. Returns (False if out of range: nothing
    added; the bits of max |h z| of the tile, see :func:`anchor_pass`)."""
    lim = SINCOS_MAX / max(K, 1)
    bad, amax = anchor_pass(x, lo, n, aff, step, lim, buf)
    if bad > 0:
        return False, amax
    k0 = 0
    while k0 < K:
        # fresh state every REANCHOR nodes, unless only a last partial stretch is left
        if k0 > 0 and k0 % REANCHOR == 0 and K - k0 > BLOCK:
            reanchor(buf, n, float(k0))
        size = min(BLOCK, K - k0)
        run_block(size, k0 == 0, buf, n, accC, accS, k0)
        k0 += size
    return True, amax


@njit(cache=CACHE, fastmath=FASTMATH, nogil=True)
def tile_nodes(x, lo, n, aff, nodes, buf, accC, accS):
    """Arbitrary nodes: one polynomial sin/cos per value and node. Returns (ok, bits of max |z|)
    as :func:`tile_lattice`."""
    a = buf[0]
    bits = a.view(np.int64)
    tmax = 0.0
    for k in range(nodes.shape[0]):
        tmax = max(tmax, abs(nodes[k]))
    lim = SINCOS_MAX / max(tmax, 1e-300)
    xs = x[lo:lo + n]
    bad = 0
    amax = 0
    for i in range(n):
        ai = standard_value(xs[i], aff[0], aff[1], aff[2], aff[3])
        a[i] = ai
        amax = max(amax, bits[i] & _ABS_BITS)
        bad += 0 if abs(ai) <= lim else 1
    if bad > 0:
        return False, amax
    for k in range(nodes.shape[0]):
        t = nodes[k]
        cs = 0.0
        ss = 0.0
        for i in range(n):
            ci, si = sincos_poly(t * a[i])
            cs += ci
            ss += si
        accC[k] += cs
        accS[k] += ss
    return True, amax


@njit(cache=CACHE, fastmath=FASTMATH, nogil=True)
def tile_libm(x, lo, n, aff, nodes, accC, accS):
    """The rare out-of-range tile: libm cos/sin at every value and node."""
    xs = x[lo:lo + n]
    for k in range(nodes.shape[0]):
        t = nodes[k]
        cs = 0.0
        ss = 0.0
        for i in range(n):
            b = t * standard_value(xs[i], aff[0], aff[1], aff[2], aff[3])
            cs += np.cos(b)
            ss += np.sin(b)
        accC[k] += cs
        accS[k] += ss


@njit(cache=CACHE, fastmath=FASTMATH, nogil=True)
def task_sums(x, lo, hi, aff, nodes, step, use_step, buf, accC, accS):
    """Sums of the values x[lo:hi] (any 1-d layout) tile by tile into accC/accS.

    Returns the int64 bits of the largest ``|a|`` seen (``a = step z`` with `use_step`, else
    ``a = z``; NaN sorts above every number).
    """
    K = nodes.shape[0]
    amax = 0
    for t0 in range(lo, hi, TILE):
        n = min(TILE, hi - t0)
        if use_step:
            ok, bits = tile_lattice(x, t0, n, aff, step, K, buf, accC, accS)
        else:
            ok, bits = tile_nodes(x, t0, n, aff, nodes, buf, accC, accS)
        amax = max(amax, bits)
        if not ok:
            tile_libm(x, t0, n, aff, nodes, accC, accS)
    return amax
