"""Does the ECF kernel's last bit depend on where its input copy lands in memory?

The same 1000 x 4 block, the same plan, fed 400 times through ``EppsPulley.update``'s pass-2 kernel
call with the allocator's state perturbed between calls (random-sized arrays kept alive): how many
distinct sums come out, for the kernel reading a plain copy of the columns (``x.T`` copied by the
kernel's driver, wherever malloc puts it) and for the placed copy of
``normtest.streaming.univariate._placed_rows``. Measured (numba's cached build): plain 7-36
distinct-from-the-rest calls of 400 in every run, placed 0 of 400; with ``NORMTEST_NUMBA_CACHE=0`` (a
build that is never cached) plain gave 0 of 400 too.

Run: ``PYTHONPATH=. python benchmarks/kernel_placement.py``.
"""

from __future__ import annotations

import collections
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


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
    placed = uni._placed_rows
    for name, place in (("plain copy", lambda x: x.T), ("placed copy", placed)):
        uni._placed_rows = place
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
    uni._placed_rows = placed


if __name__ == "__main__":
    main()
