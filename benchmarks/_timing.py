"""Timing helper shared by the one-run comparison scripts in this folder."""

import statistics
import time


def median_time(func, repeats):
    """Median wall time of `repeats` calls of `func()`, in seconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
