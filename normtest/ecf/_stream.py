"""Streaming engine: ECF sums of the projections X @ B, row chunk by row chunk."""

from __future__ import annotations


import numpy as np

from .._matrix import _CHUNK_VALUES


def _row_chunk(n, width):
    return int(max(64, min(n, _CHUNK_VALUES // max(1, width))))


def _projected_sums(X, B, rule, *, offset=None):
    """ECF sums (C, S) of the projections X @ B (streamed), optionally centring X first.

    Row chunks are projected with one BLAS call each, slice-major ``(M, chunk)`` so
    that every slice's values are contiguous for the ECF kernel. With more than one
    chunk the projections are produced by a helper thread while the (GIL-free)
    numba kernel consumes the previous chunk: BLAS and numba then overlap instead of
    handing the cores back and forth (OpenBLAS workers spin after each call and
    would otherwise slow the kernel down). At most two chunks exist at a time, and
    chunks are summed in order, so the result does not depend on timing.
    """
    from ._kernels import ecf_sums_rows

    n = X.shape[0]
    M = B.shape[1]
    nodes = np.asarray(rule.nodes, dtype=np.float64)
    step = rule.lattice_step
    C = np.zeros((M, nodes.size))
    S = np.zeros((M, nodes.size))
    chunk = _row_chunk(n, max(M, X.shape[1]))
    Bc = B.astype(X.dtype) if offset is None else B

    def project(lo):
        block = X[lo:lo + chunk]
        if offset is not None:
            block = block.astype(np.float64) - offset
        return np.matmul(Bc.T, block.T)

    starts = range(0, n, chunk)
    if len(starts) == 1:
        ecf_sums_rows(project(0), nodes, step, out=(C, S))
        return C, S

    import queue
    import threading

    ready: "queue.Queue" = queue.Queue()
    slots = threading.Semaphore(2)  # chunks alive at once (being filled, or waiting/consumed)
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
            ecf_sums_rows(item, nodes, step, out=(C, S))
            del item
            slots.release()
    finally:
        stop.set()
        slots.release()
        worker.join()
    return C, S



def _max_row_norm(X, offset=None, W=None):
    n = X.shape[0]
    chunk = _row_chunk(n, X.shape[1])
    best = 0.0
    for lo in range(0, n, chunk):
        block = X[lo:lo + chunk].astype(np.float64)
        if offset is not None:
            block = (block - offset) @ W
        best = max(best, float(np.sqrt(np.max(np.einsum("ij,ij->i", block, block)))))
    return best


