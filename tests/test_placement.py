"""float32 projections of the sliced test: every row at a fixed place of a fixed-shape product.

The rounding of a float32 GEMM (OpenBLAS) depends on the call's shape, the row's place in it
and the BLAS thread count. The sliced test projects float32 rows in calls of ``_PLACE`` rows
at global row offsets, zero rows padding partial calls, on one BLAS thread, so the in-memory
function, the streaming accumulator fed in any batches and the engines project every row to
the same bits. These tests run under whatever BLAS kernels the machine selects (CI pins the
Haswell kernels, which show all three dependences without the placement).
"""

import functools

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import normtest
from normtest.ecf._stream import _PLACE, _placed_product, one_blas_thread
from normtest.streaming import SlicedEppsPulley, accumulate


def _bits_close(a, b, rtol):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=0)


def test_placed_product_gives_every_row_the_same_bits_whatever_the_cuts(rng):
    n, D, M = 3 * _PLACE + 77, 48, 40
    X = rng.standard_normal((n, D)).astype(np.float32)
    Bt = np.ascontiguousarray(rng.standard_normal((M, D)).astype(np.float32))
    with one_blas_thread():
        whole = _placed_product(Bt, X, 0, n, 0)
        for _ in range(10):
            cuts = [0, *np.sort(rng.choice(np.arange(1, n), 4, replace=False)), n]
            # each piece as a batch of its own, knowing where its first row sits in the data
            parts = [_placed_product(Bt, X[a:b], 0, b - a, a) for a, b in zip(cuts, cuts[1:])]
            np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole)
    ref = Bt.astype(np.float64) @ X.T.astype(np.float64)   # float32 rounding of the float64 value
    np.testing.assert_allclose(whole, ref, rtol=0, atol=2e-5 * np.abs(ref).max())


@pytest.mark.parametrize("n", [5, _PLACE + 3, 2500])
@pytest.mark.parametrize("quadrature", ["auto", "lejepa"])
def test_float32_stream_equals_the_in_memory_float32_call(n, quadrature, rng):
    X = rng.standard_normal((n, 7)).astype(np.float32)
    kw = dict(n_slices=12, rng=5, quadrature=quadrature)
    ref = normtest.sliced_epps_pulley(X, **kw)
    for k in range(3):
        cuts = np.sort(rng.choice(np.arange(1, n), min(n - 1, 2 + k), replace=False))
        batches = [X[:0], *np.split(X, cuts), X[:0]]   # empty batches too
        res = accumulate(SlicedEppsPulley(**kw), batches)
        _bits_close(res.slice_statistics, ref.slice_statistics, 1e-12)
        _bits_close(res.pvalue, ref.pvalue, 1e-10)
    # the float64 copy differs by the float32 rounding of the projections only
    _bits_close(normtest.sliced_epps_pulley(X.astype(np.float64), **kw).statistic, ref.statistic, 1e-4)


def test_float32_in_memory_result_does_not_depend_on_blas_threads(rng):
    X = rng.standard_normal((3000, 24)).astype(np.float32)
    with threadpool_limits(1):
        one = normtest.sliced_epps_pulley(X, n_slices=32, rng=2)
    with threadpool_limits(2):
        two = normtest.sliced_epps_pulley(X, n_slices=32, rng=2)
    assert one.statistic == two.statistic
    np.testing.assert_array_equal(one.slice_statistics, two.slice_statistics)


def _engine(acc, data, edges, n_rows, raw_pass1):
    """What an engine does: the rule from the first rows, copies per partition with offsets
    (pass 1: raw row offsets where `raw_pass1`, else none; pass 2: the pass-1 non-NaN counts)."""
    from normtest.streaming import engine

    acc.fix_rule(data[:acc.pilot_rows], n_rows=n_rows)
    offs = [np.array([e]) for e in edges[:-1]] if raw_pass1 else [None] * (len(edges) - 1)
    for p in range(acc.passes):
        if p:
            acc.next_pass()
            if not acc.needs_data:
                break
        raw = []
        for o, a, b in zip(offs, edges, edges[1:]):
            w = acc.spawn(offset=o)
            w.update(data[a:b])
            raw.append(w.to_bytes())
        if p == 0:
            offs = [o[0] for o in engine.offsets([engine.row_counts([(acc, None)], [r]) for r in raw])]
        acc = functools.reduce(lambda u, v: u.merge(v), [acc.from_bytes(r) for r in raw], acc.spawn())
    return acc, acc.result()


def test_engines_place_float32_rows_or_sum_them_again_in_pass_2(rng):
    X = rng.standard_normal((5000, 6)).astype(np.float32)
    Y = X.copy()
    Y[rng.choice(5000, 12, replace=False), 2] = np.nan
    Z = X.copy()
    Z[4321] *= 40   # beyond the first rows' spread: pass 1's maximum must see it (unplaced rows too)
    edges = [0, 1, 1700, 1701, 4000, 5000]
    for data, n_rows, raw_pass1, redo in (
            (X, 5000, True, False),   # raw offsets, no NaN: placed in pass 1, one read
            (X, None, False, True),   # offsets unknown in pass 1: summed again, placed, in pass 2
            (Z, None, False, True),   # the same, and the rule is the true maximum's
            (Y, 5000, True, True)):   # NaN rows shifted the raw offsets: summed again in pass 2
        ref = normtest.sliced_epps_pulley(data, n_slices=16, rng=3, nan_policy="omit")
        acc, res = _engine(SlicedEppsPulley(n_slices=16, rng=3, nan_policy="omit"), data, edges, n_rows,
                           raw_pass1)
        assert bool(acc._plan["redo"]) is redo
        if data is Z:   # both sized the rule from the true maximum (in memory: the guess failed too)
            np.testing.assert_allclose(res.quadrature["spread"], ref.quadrature["spread"], rtol=1e-6)
        _bits_close(res.slice_statistics, ref.slice_statistics, 1e-12)
        _bits_close(res.pvalue, ref.pvalue, 1e-10)
