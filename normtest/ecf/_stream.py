"""Streaming engine: ECF sums of the projections X @ B, tile of rows by tile of rows.

Memory is independent of N: a tile of rows is projected with one BLAS call into
a slice-major ``(M, rows)`` buffer of about ``_CHUNK_VALUES`` values (16 MB in
float32, within the last-level cache) and consumed by the ECF kernel at once; at
most one tile per worker (two with the "overlap" pipeline) exists at a time. Nothing of the size of X (no copy, no mask, no float64
version) is formed on the default path: the input checks, the NaN rows and the
auto rule's bound ``max_j ||X_j||`` come from one pass (:func:`_scan`).
"""

from __future__ import annotations

import os

import numpy as np

_CHUNK_VALUES = 1 << 22  # projected values per tile (16 MB in float32)
# How tiles are processed (measured in benchmarks/ecf_engine.py):
# "workers" (default): one worker thread per core, each projecting a tile with single-threaded
#   BLAS and summing it with the serial (GIL-free) kernel: no thread pool ever waits for or
#   spins against the other; "overlap": a helper thread runs multi-threaded GEMMs while the
#   parallel kernel consumes the previous tile; "serial": project, then sum, in one thread.
_PIPELINE = os.environ.get("NORMTEST_SLICED_PIPELINE", "workers")


_PLACE = 256  # rows per float32 GEMM call: every row at a fixed place of a fixed-shape call


def _row_tile(n, width):
    """Rows per tile: about _CHUNK_VALUES values, a multiple of ``_PLACE`` rows."""
    rows = max(_PLACE, (_CHUNK_VALUES // max(1, width)) // _PLACE * _PLACE)
    return int(min(n, rows))


_BLAS = []  # a cached threadpoolctl controller (building one costs ~0.2 ms, using it ~3 us)


def one_blas_thread():
    """A context pinning BLAS to one thread (threadpoolctl), for the placed float32 products."""
    if not _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


def _placed_product(Bt, X, lo, hi, pos):
    """``Bt @ X[lo:hi].T`` (float32) with every row computed where its global index puts it.

    The rounding of a float32 product (OpenBLAS, some kernels) depends on the shape of the
    call, on the row's place in it and on the BLAS thread count, so that data cut at other
    rows (batches, partitions) would project differently. Here row ``g = pos + i`` of the
    data (``X[i]``; ``pos`` the global index of ``X[0]``) is always computed in the call of
    the ``_PLACE`` rows ``[g - g % _PLACE, ...)``, at place ``g % _PLACE``, zero rows filling
    the places of rows outside ``[lo, hi)``; the caller pins BLAS to one thread
    (:func:`one_blas_thread`). A row's projection is then the same bits whatever the cuts
    (measured: no row differs over random cuts, OpenBLAS Haswell and SkylakeX kernels).
    """
    M, D = Bt.shape
    out = np.empty((M, hi - lo), dtype=X.dtype)
    g0, g1 = pos + lo, pos + hi
    pad = None
    # every call writes the same (M, _PLACE) buffer: a fresh 256 KB array per call costs an mmap,
    # its page faults and a munmap where malloc's thresholds are fixed (dask workers set
    # MALLOC_TRIM_THRESHOLD_): measured 1.9x the GEMM time there
    buf = np.empty((M, _PLACE), dtype=X.dtype)
    for a in range(g0 - g0 % _PLACE, g1, _PLACE):
        s, e = max(a, g0), min(a + _PLACE, g1)
        if s == a and e == a + _PLACE:
            block = X[s - pos:e - pos]
        else:   # a partial call: the rows at their places, zeros around them
            pad = np.zeros((_PLACE, D), dtype=X.dtype) if pad is None else pad
            pad[:] = 0
            pad[s - a:e - a] = X[s - pos:e - pos]
            block = pad
        np.matmul(Bt, block.T, out=buf)
        out[:, s - g0:e - g0] = buf[:, s - a:e - a]
    return out


def _scan(X):
    """``(sq, nan_row, n_inf)`` of an (N, D) float array in one pass (see ``_passes.row_scan``)."""
    from ._passes import row_scan

    return row_scan(X)


def _projected_sums(X, B, rule, *, offset=None, zmax=None, pos=0):
    """ECF sums (C, S) of the projections X @ B, tile by tile, optionally centring X first.

    Each tile is projected slice-major, ``B.T @ tile.T`` of shape ``(M, rows)``,
    so that every slice's values are contiguous for the kernel, in X's dtype
    (float32 stays float32; the sums are float64). Tiles are summed in order,
    so the result depends on the shapes only, never on timing or threads.
    ``zmax`` (float64, shape (M,)) receives the largest ``|projection|`` of every
    slice, read by the kernel in the same pass. float32 rows (no centring) are
    projected in place-fixed calls (:func:`_placed_product`, ``pos`` the global index
    of ``X[0]``), so the streaming accumulators, fed the rows in any batches, project
    every row to the same bits as this in-memory pass.
    """
    from ._kernels import ecf_sums_rows

    n = X.shape[0]
    M = B.shape[1]
    nodes = np.asarray(rule.nodes, dtype=np.float64)
    step = rule.lattice_step
    C = np.zeros((M, nodes.size))
    S = np.zeros((M, nodes.size))
    rows = _row_tile(n, max(M, X.shape[1]))
    Bt = np.ascontiguousarray((B if offset is not None else B.astype(X.dtype)).T)

    placed = offset is None and X.dtype == np.float32

    def project(lo):
        if placed:
            with one_blas_thread():
                return _placed_product(Bt, X, lo, min(lo + rows, n), pos)
        block = X[lo:lo + rows]
        if offset is not None:
            block = block.astype(np.float64) - offset
        return np.matmul(Bt, block.T)

    starts = range(0, n, rows)
    if len(starts) == 1 or _PIPELINE == "serial":
        for lo in starts:
            ecf_sums_rows(project(lo), nodes, step, out=(C, S), zmax=zmax)
        return C, S
    if _PIPELINE == "workers":
        done = _by_workers(project, starts, nodes, step, C, S, zmax)
        if done:
            return C, S

    import queue
    import threading

    ready: "queue.Queue" = queue.Queue()
    slots = threading.Semaphore(2)  # tiles alive at once (being filled, or waiting/consumed)
    stop = threading.Event()

    def producer():
        try:
            for lo in starts:
                slots.acquire()
                if stop.is_set():
                    return
                ready.put(project(lo))
            ready.put(None)
        except BaseException as exc:  # handed to the consumer, re-raised there
            ready.put(exc)

    worker = threading.Thread(target=producer, name="normtest-projection", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            ecf_sums_rows(item, nodes, step, out=(C, S), zmax=zmax)
            del item
            slots.release()
    finally:
        stop.set()
        slots.release()
        worker.join()
    return C, S


def _by_workers(project, starts, nodes, step, C, S, zmax=None):
    """Tiles on one worker per core (single-threaded BLAS + serial kernel), summed in tile order.

    Every tile's sums are computed alone into zeroed arrays and added to (C, S)
    in tile order, so the result is the same for any number of workers. At
    most ``2 * workers`` tiles are in flight. Returns False when threadpoolctl
    (needed to pin BLAS to one thread meanwhile) is not installed.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional dependency
        return False
    import collections
    from concurrent.futures import wait

    import numba

    from ._kernels import ecf_sums_rows

    K = nodes.size

    def tile(lo):
        P = project(lo)
        out = (np.zeros((P.shape[0], K)), np.zeros((P.shape[0], K)))
        z = None if zmax is None else np.zeros(P.shape[0])
        return ecf_sums_rows(P, nodes, step, out=out, serial=True, zmax=z) + (z,)

    workers = max(1, min(numba.get_num_threads(), len(starts)))
    pool = _worker_pool(workers)
    with threadpool_limits(limits=1, user_api="blas"):
        pending = collections.deque()
        todo = iter(starts)
        try:
            for lo in todo:
                pending.append(pool.submit(tile, lo))
                if len(pending) >= 2 * workers:
                    break
            while pending:
                Ct, St, zt = pending.popleft().result()
                C += Ct
                S += St
                if zmax is not None:
                    np.maximum(zmax, zt, out=zmax)
                for lo in todo:
                    pending.append(pool.submit(tile, lo))
                    break
        finally:
            for fut in pending:
                fut.cancel()
            wait(pending)  # on an error: no tile of this call keeps running after it
    return True


_POOLS: dict = {}


def _worker_pool(workers):
    """A thread pool of `workers` threads, kept for later calls (starting threads costs ms).

    Keyed by process id too: a forked child has none of its parent's threads.
    """
    from concurrent.futures import ThreadPoolExecutor

    key = (os.getpid(), workers)
    pool = _POOLS.get(key)
    if pool is None:
        pool = _POOLS.setdefault(key, ThreadPoolExecutor(workers, thread_name_prefix="normtest-tile"))
    return pool


def _projected_max(X, B, zmax):
    """``zmax`` (M,) raised to the largest ``|projection|`` of every slice of ``X @ B``, tile by tile
    (no ECF sums: for rows whose sums are computed later)."""
    Bt = np.ascontiguousarray(B.astype(X.dtype).T)
    rows = _row_tile(X.shape[0], max(B.shape[1], X.shape[1]))
    with one_blas_thread():   # the maximum can size the rule: the same bits on any thread count
        for lo in range(0, X.shape[0], rows):
            np.maximum(zmax, np.abs(np.matmul(Bt, X[lo:lo + rows].T)).max(axis=1), out=zmax)
    return zmax


def _max_row_norm(X, offset=None, W=None):
    """``max_j ||(X_j - offset) @ W||`` (or of X_j), tile by tile."""
    n = X.shape[0]
    rows = _row_tile(n, X.shape[1])
    best = 0.0
    for lo in range(0, n, rows):
        block = X[lo:lo + rows].astype(np.float64)
        if offset is not None:
            block = (block - offset) @ W
        best = max(best, float(np.sqrt(np.max(np.einsum("ij,ij->i", block, block)))))
    return best



_PILOT_ROWS = 2048  # rows whose projections size the sliced "auto" rule


def _pilot_spread(X, B, offset, bound, n=None):
    """A spread for the sliced "auto" rule: the largest ``|projection|`` expected over all rows.

    The largest ``|projection|`` of an evenly strided subsample of rows, extrapolated to all
    ``n M`` values as the maximum of Gaussian values grows (``sqrt(log(2 n M))``), with a
    10% + 0.5 margin, and never above the bound ``max_j ||X_j||``. It is a guess, checked
    afterwards (:func:`_auto_sums`): the rule is exact for the data only where it holds.
    ``n``: the rows the spread must cover when ``X`` is only the first of them (streaming).
    """
    M = B.shape[1]
    n = X.shape[0] if n is None else n
    step = max(1, X.shape[0] // _PILOT_ROWS)
    sub = X[::step]
    if offset is not None:
        sub = sub.astype(np.float64) - offset
    with one_blas_thread():   # the guess (hence the rule) must not depend on BLAS threads either
        P = sub @ B.astype(sub.dtype)
    top = float(max(P.max(), -P.min())) if P.size else 0.0
    if n <= sub.shape[0]:
        return min(bound, top)
    grow = np.sqrt(np.log(2.0 * n * M) / np.log(2.0 * sub.shape[0] * M))
    return min(bound, 1.1 * grow * top + 0.5)


def _auto_sums(X, B, offset, bound, auto_rule):
    """Sums of the sliced test under its "auto" rule: ``(C, S, spread, rule)``.

    The rule is sized from :func:`_pilot_spread`, far below the bound ``max_j ||X_j||``
    for data near N(0, I) in many dimensions (3x fewer nodes at D = 512), and the kernel
    reports the largest ``|projection|`` of every slice in the same pass. Where it exceeds
    the guessed spread (data whose extremes the subsample missed) the sums are computed
    again under the rule of the observed maximum, so the rule always holds every value
    and the statistic keeps the accuracy of :func:`~normtest.ecf.rules.auto_rule` (passed in as
    ``auto_rule(spread)``, with the caller's beta).
    """
    spread = _pilot_spread(X, B, offset, bound)
    rule = auto_rule(spread)
    if spread >= bound:  # the bound itself: nothing to check
        C, S = _projected_sums(X, B, rule, offset=offset)
        return C, S, spread, rule
    zmax = np.zeros(B.shape[1])
    C, S = _projected_sums(X, B, rule, offset=offset, zmax=zmax)
    top = float(zmax.max()) if zmax.size else 0.0
    if top > spread:
        spread = top
        rule = auto_rule(spread)
        C, S = _projected_sums(X, B, rule, offset=offset)
    return C, S, spread, rule
