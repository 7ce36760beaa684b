"""Running accumulators on an engine: what a worker does with a partition, how states merge.

An engine (dask, Spark) holds a list of *jobs*, ``(accumulator, columns)``
pairs that share the scans of the data, and for each pass: applies
:func:`fill` to every partition (on the workers), merges the returned states
pairwise in partition order with :func:`merge_states` (a fixed tree, so the
result does not depend on scheduling) and hands the merged states to
:func:`advance`, which starts the next pass. The states are ``.npz`` bytes.
"""

from __future__ import annotations

import sys

import numpy as np


def n_passes(jobs) -> int:
    return max(acc.passes for acc, _ in jobs)


def active(acc, p):
    """Whether `acc` reads the data in pass `p` (a pass with nothing to do is skipped)."""
    return acc._pass == p and p < acc.passes and acc.needs_data


def pilot_rows(jobs) -> int:
    """How many of the data's first rows the jobs need (:meth:`SlicedEppsPulley.fix_rule`) before pass 1."""
    return max((getattr(acc, "pilot_rows", 0) for acc, _ in jobs), default=0)


def head_rows(head, block, need):
    """The first `need` rows of the data: `head` (rows so far, or None) extended by the next `block`."""
    block = np.asarray(block)
    if head is not None and head.shape[0] >= need:
        return head
    rows = block[: need - (0 if head is None else head.shape[0])]
    return rows if head is None else np.concatenate([head, rows])


def fix_rules(jobs, head, n_rows=None):
    """The jobs with their rules sized from the data's first rows `head` (copies; see :func:`pilot_rows`).

    `n_rows`: the data's row count where known beforehand (then pass 1 also takes the effect's rows).
    """
    import copy

    out = []
    for acc, cols in jobs:
        if getattr(acc, "pilot_rows", 0):
            acc = copy.copy(acc)
            acc.fix_rule(head if cols is None else head[cols], n_rows=n_rows)
        out.append((acc, cols))
    return out


def fill(jobs, part, p, offsets=None):
    """The states (bytes, or None for a job that is done) of one partition in pass `p` (0-based).

    `offsets`: per job, the non-NaN rows (values per column) before this partition, from
    :func:`offsets` (the effect size's subsample needs them in the last of two passes).
    """
    release_arrow_memory()
    out = []
    for k, (acc, cols) in enumerate(jobs):
        if not active(acc, p):
            out.append(None)
            continue
        w = acc.spawn(offset=None if offsets is None else offsets[k])
        w.update(part if cols is None else part[cols])
        out.append(w.to_bytes())
    release_arrow_memory()   # again after the work: a worker paused for its memory resumes only if it drops
    return out


def row_counts(jobs, states):
    """Per job: the non-NaN counts of one partition's pass-1 state (None where there are none)."""
    out = []
    for (acc, _), state in zip(jobs, states):
        st = None if state is None or acc.passes != 2 else acc.from_bytes(state)._stats
        out.append(None if st is None else np.atleast_1d(st["cnt"])[: 1 if acc._row_wise else None])
    return out


def offsets(counts):
    """Exclusive running sums of :func:`row_counts` over the partitions in order: each one's offsets."""
    out, run = [], None
    for part in counts:
        if run is None:
            run = [None if c is None else np.zeros_like(c) for c in part]
        out.append([None if r is None else r.copy() for r in run])
        run = [r if c is None else (c.copy() if r is None else r + c) for r, c in zip(run, part)]
    return out


def merge_states(jobs, a, b):
    """Merge two lists of states of the same jobs (a before b)."""
    return [x if y is None else (y if x is None else acc.from_bytes(x).merge(acc.from_bytes(y)).to_bytes())
            for (acc, _), x, y in zip(jobs, a, b)]


def advance(jobs, states, p):
    """The jobs after pass `p`: merged states loaded, and the next pass started where there is one."""
    out = []
    for (acc, cols), state in zip(jobs, states):
        if state is None or not active(acc, p):
            out.append((acc, cols))
            continue
        merged = acc.spawn().merge(acc.from_bytes(state))
        if p + 1 < merged.passes:
            merged.next_pass()
        out.append((merged, cols))
    return out


def name_columns(acc, names):
    """Record the column names the engine's arrays lost (``result.columns`` of the sliced test)."""
    acc._columns = list(names)


def release_arrow_memory():
    """Hand the memory pyarrow's pool keeps after a Parquet decode back to the OS, where pyarrow is loaded.

    Its allocator (mimalloc or jemalloc) keeps freed pages: measured ~300 MB resident after decoding
    one 77 MB file of 128 float32 columns, which a dask worker counts against its memory limit (and
    spills or pauses for). ``release_unused`` returns them (529 -> 236 MB there).
    """
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        try:
            pa.default_memory_pool().release_unused()
        except Exception:  # noqa: BLE001, S110 - an older pyarrow or another pool: nothing to release
            pass

