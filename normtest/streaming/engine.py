"""Running accumulators on an engine: what a worker does with a partition, how states merge.

An engine (dask, Spark) holds a list of *jobs*, ``(accumulator, columns)``
pairs that share the scans of the data, and for each pass: applies
:func:`fill` to every partition (on the workers), merges the returned states
pairwise in partition order with :func:`merge_states` (a fixed tree, so the
result does not depend on scheduling) and hands the merged states to
:func:`advance`, which starts the next pass. The states are ``.npz`` bytes.
"""

from __future__ import annotations


def n_passes(jobs) -> int:
    return max(acc.passes for acc, _ in jobs)


def active(acc, p):
    return acc._pass == p and p < acc.passes


def fill(jobs, part, p):
    """The states (bytes, or None for a job that is done) of one partition in pass `p` (0-based)."""
    out = []
    for acc, cols in jobs:
        if not active(acc, p):
            out.append(None)
            continue
        w = acc.spawn()
        w.update(part if cols is None else part[cols])
        out.append(w.to_bytes())
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
