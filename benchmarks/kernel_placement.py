"""Does the ECF kernel's last bit depend on where its input copy lands in memory?

The same 1000 x 4 block, the same plan, fed 400 times through ``EppsPulley.update``'s pass-2 kernel
call with the allocator's state perturbed between calls (random-sized arrays kept alive): how many
distinct sums come out, for the kernel reading a plain copy of the columns (``x.T`` copied by the
kernel's driver, wherever malloc puts it) and for the placed copy of
``normtest.streaming.univariate._placed_rows``. Measured (numba's cached build): plain 7-36
distinct-from-the-rest calls of 400 in every run, placed 0 of 400; with ``NORMTEST_NUMBA_CACHE=0`` (a
build that is never cached) plain gave 0 of 400 too.

The third case points at the cause: the same by-block driver with its per-task scratch
(``buf = np.empty((5, TILE))`` inside the task loop of ``normtest.ecf._kernels``) allocated once before
the loop, also cached: 0 of 400 calls off, equal to the majority (and to the never-cached build) bit for
bit, with the plain copy. The calls that differ do so only in the block's last row and at nodes past the
first rotation block of 8: the rotation state carried in that scratch.

Those figures are for the angle-addition kernel of version 0.1. With the Chebyshev-recurrence kernel
that replaced it, all three cases give 0 of 400 (four runs: the first compiling, the others loading the
cache; 1 and 2 numba threads).

Run: ``PYTHONPATH=. python benchmarks/kernel_placement.py`` (twice: the first run writes the caches).
"""

from __future__ import annotations

import collections
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


def _scratch_first_driver():
    """The serial by-block driver with one scratch array for all tasks (cached like the real one)."""
    from numba import njit

    from normtest._numba import FASTMATH
    from normtest.ecf import _kernels, _sincos
    from normtest.ecf._kernels import _ROW_BLOCK
    from normtest.ecf._sincos import TILE, task_sums

    rows = getattr(_kernels, "BUF_ROWS", getattr(_sincos, "BUF_ROWS", 5))   # the scratch's rows

    @njit(nogil=True, cache=True, fastmath=FASTMATH)
    def by_block(X, aff, nodes, step, use_step, C, S, Z):
        m, n = X.shape
        K = nodes.shape[0]
        nb = (n + _ROW_BLOCK - 1) // _ROW_BLOCK
        partC = np.zeros((nb, m, K))
        partS = np.zeros((nb, m, K))
        partZ = np.zeros((nb, m), dtype=np.int64)
        bufs = np.empty((nb * m, rows, TILE))
        for task in range(nb * m):
            b = task // m
            j = task - b * m
            lo = b * _ROW_BLOCK
            hi = min(n, lo + _ROW_BLOCK)
            partZ[b, j] = task_sums(X[j], lo, hi, aff[j], nodes, step, use_step, bufs[task], partC[b, j],
                                    partS[b, j])
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

    return by_block


def main(calls=400):
    import normtest.streaming.univariate as uni
    from normtest.streaming import EppsPulley, engine

    X = np.random.default_rng(5).standard_normal((4000, 4))
    blocks = np.array_split(X, 4)
    jobs = [(EppsPulley(), None)]
    states = [engine.fill(jobs, b, 0) for b in blocks]
    merged = states[0]
    for s in states[1:]:
        merged = engine.merge_states(jobs, merged, s)
    acc = engine.advance(jobs, merged, 0)[0][0]
    import normtest.ecf._kernels as kernels

    placed, driver = uni._placed_rows, kernels._ecf_by_block_serial
    cases = (("plain copy", lambda x: x.T, driver), ("placed copy", placed, driver),
             ("plain copy, scratch allocated before the task loop", lambda x: x.T, _scratch_first_driver()))
    for name, place, drv in cases:
        uni._placed_rows, kernels._ecf_by_block_serial = place, drv
        rng = np.random.default_rng(0)
        seen = collections.Counter()
        for t in range(calls):
            junk = [rng.standard_normal(int(rng.integers(1, 20000))) for _ in range(int(rng.integers(0, 6)))]
            if t % 3 == 0:
                junk = []
            w = acc.spawn()
            w.update(blocks[1])
            seen[w._sums["C"].tobytes()] += 1
            del junk
        counts = sorted(seen.values(), reverse=True)
        print(f"{name}: {len(counts)} distinct result(s) in {calls} calls; calls off the majority: "
              f"{calls - counts[0]}")
    uni._placed_rows, kernels._ecf_by_block_serial = placed, driver


if __name__ == "__main__":
    main()
