"""Vectorisable ECF tile kernels (private): polynomial sin/cos, rotation blocks, fallbacks.

One *tile* is at most ``TILE`` consecutive values of one sample (slice, column,
row block). For equispaced nodes ``t_k = k h`` a tile is processed in two kinds
of branch-free loops that LLVM turns into packed SIMD code (AVX2/AVX-512):

1. the *anchor pass*: ``a_i = h z_i`` with ``z_i = ((x_i pre - hi) - lo) scale`` (the
   standardisation fused in; ``aff = (1, 0, 0, 1)`` otherwise) and one polynomial
   ``(cos a_i, sin a_i)`` per value (Cody–Waite reduction, minimax polynomials,
   no libm call, no branch), stored in small tile buffers; it also counts the
   values whose largest angle ``K |a_i|`` leaves the polynomial's range;
2. *rotation blocks* of ``BLOCK`` nodes: the angle-addition rotation
   ``(c, s) <- (c p - s q, s p + c q)`` walks from node k to node k + 1, and
   every node of the block has **one scalar float64 accumulator pair**, so
   the loop body (generated from source text for each block size and compiled
   once) keeps all of them in registers and LLVM's reduction vectoriser makes
   them SIMD lanes. The rotation state is carried from block to block in the
   tile buffers and re-anchored by a direct polynomial evaluation every
   ``REANCHOR`` nodes (rounding drift below ``REANCHOR`` ulps per term).

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
BLOCK = 8        # nodes per rotation block: 16 accumulators + 2 x 4 state values in registers
REANCHOR = 64    # direct evaluation every this many nodes (a multiple of BLOCK)
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
    """buf rows: a = step z, p, q = cos/sin(a), c, s = p, q. Returns (#|a| > lim, max |a|).

    ``max |a|`` as the int64 bit pattern of the float (for non-negative floats the
    order of the patterns is that of the values): an integer max reduction
    vectorises, a float one does not without the ``nnan`` flag.
    """
    a = buf[0]
    p = buf[1]
    q = buf[2]
    c = buf[3]
    s = buf[4]
    pre = aff[0]
    hi = aff[1]
    low = aff[2]
    scale = aff[3]
    bits = a.view(np.int64)
    bad = 0
    amax = 0
    for i in range(n):
        ai = step * standard_value(x[lo + i], pre, hi, low, scale)
        ci, si = sincos_poly(ai)
        a[i] = ai
        amax = max(amax, bits[i] & _ABS_BITS)
        p[i] = ci
        q[i] = si
        c[i] = ci
        s[i] = si
        bad += 0 if abs(ai) <= lim else 1
    return bad, amax


@njit(cache=CACHE, fastmath=FASTMATH, nogil=True)
def reanchor(buf, n, mult):
    """State (c, s) = cos/sin(mult * a) by direct evaluation."""
    a = buf[0]
    c = buf[3]
    s = buf[4]
    for i in range(n):
        ci, si = sincos_poly(mult * a[i])
        c[i] = ci
        s[i] = si


def _block_source(size):
    """Source of the rotation block for `size` nodes (one accumulator pair per node).

    The tile is walked as two halves in one loop (values i and i + n/2): two
    independent rotation chains per iteration, so the chain latency of the
    block (``size`` dependent rotations) is hidden without unrolling by hand.
    """
    lines = [f"def _block_{size}(buf, n, accC, accS, k0):",
             "    p = buf[1]", "    q = buf[2]", "    c = buf[3]", "    s = buf[4]", "    h = n // 2"]
    lines += [f"    C{b} = 0.0\n    S{b} = 0.0" for b in range(size)]

    def body(halves):
        out = []
        for v in range(halves):
            j = "i" if v == 0 else "i + h"
            out += [f"        p{v} = p[{j}]", f"        q{v} = q[{j}]", f"        c{v} = c[{j}]",
                    f"        s{v} = s[{j}]"]
        for b in range(size):
            out.append(f"        C{b} += " + " + ".join(f"c{v}" for v in range(halves)))
            out.append(f"        S{b} += " + " + ".join(f"s{v}" for v in range(halves)))
            for v in range(halves):
                out.append(f"        c{v}, s{v} = c{v} * p{v} - s{v} * q{v}, s{v} * p{v} + c{v} * q{v}")
        for v in range(halves):
            j = "i" if v == 0 else "i + h"
            out += [f"        c[{j}] = c{v}", f"        s[{j}] = s{v}"]
        return out

    lines.append("    for i in range(h):")
    lines += body(2)
    lines.append("    for i in range(2 * h, n):")
    lines += body(1)
    lines += [f"    accC[k0 + {b}] += C{b}\n    accS[k0 + {b}] += S{b}" for b in range(size)]
    return "\n".join(lines) + "\n"


def _build_blocks():
    funcs = {}
    for size in range(1, BLOCK + 1):
        namespace = {"np": np}
        exec(compile(_block_source(size), f"<normtest ecf block {size}>", "exec"), namespace)
        funcs[size] = njit(fastmath=FASTMATH, nogil=True)(namespace[f"_block_{size}"])
    # dispatch on the block size: a generated if-chain (numba cannot index a tuple of functions)
    src = ["def run_block(size, buf, n, accC, accS, k0):"]
    for size in range(BLOCK, 0, -1):
        src.append(f"    {'if' if size == BLOCK else 'elif'} size == {size}:")
        src.append(f"        _block_{size}(buf, n, accC, accS, k0)")
    namespace = {f"_block_{size}": f for size, f in funcs.items()}
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
        if k0 > 0 and k0 % REANCHOR == 0:
            reanchor(buf, n, k0 + 1.0)
        size = min(BLOCK, K - k0)
        run_block(size, buf, n, accC, accS, k0)
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
    bad = 0
    amax = 0
    for i in range(n):
        ai = standard_value(x[lo + i], aff[0], aff[1], aff[2], aff[3])
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
    for k in range(nodes.shape[0]):
        t = nodes[k]
        cs = 0.0
        ss = 0.0
        for i in range(n):
            b = t * standard_value(x[lo + i], aff[0], aff[1], aff[2], aff[3])
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
