"""The ECF engine against its anchors, in one run: prints the table of issue 10.

Run from the repository root (GEMM ratios with the BLAS defaults, not the test settings):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/ecf_engine.py

Every figure is a median of repeats measured in this run; ratios are against
anchors timed in the same run (``scipy.stats.anderson`` for the 1-D test, the
``X @ A`` GEMM for the sliced test), so they hold on a loaded machine better than
absolute times. Peak memory is measured in a fresh subprocess (peak RSS).

Flop convention for the kernel row: one projected value x and one node k cost
8 flops, the angle-addition rotation ``(c, s) <- (c p - s q, s p + c q)`` (4
multiplications, 2 additions) plus the two accumulations; the per-value
polynomial sin/cos is overhead, not counted. The kernel now does that work with
the Chebyshev recurrence (2 fused multiply-adds + 2 accumulations = 6 flops), so the
figure is a GFLOP/s *equivalent* (the issue's unit), 4/3 of the flops executed. The f64 peak is
``cores x GHz x 8 lanes (AVX-512; 4 with AVX2 only) x 2 FMA pipes x 2 flops``,
with the clock from /proc/cpuinfo (the nominal clock: a boosting core makes the
percentage an upper bound).
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import median_time  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import normtest  # noqa: E402
from normtest.ecf import _stream  # noqa: E402
from normtest.ecf._kernels import ecf_sums_rows  # noqa: E402
from normtest.ecf.rules import auto_rule, get_rule  # noqa: E402

ROWS = []


def row(case, measured, goal):
    ROWS.append((case, measured, goal))
    print(f"  {case}: {measured}   (goal {goal})", flush=True)


def cpu_peak():
    flags, mhz = "", 0.0
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("flags") and not flags:
                flags = line
            if line.startswith("cpu MHz") and not mhz:
                mhz = float(line.split(":")[1])
    lanes = 8 if " avx512f" in flags else 4 if " avx2" in flags else 2
    import numba

    cores = numba.get_num_threads()
    return cores * mhz / 1e3 * lanes * 2 * 2, cores, mhz, lanes


def blas_info():
    try:
        from threadpoolctl import threadpool_info

        return "; ".join(f"{i['internal_api']} {i.get('version')} {i.get('architecture')} "
                         f"{i['num_threads']} threads" for i in threadpool_info() if i["user_api"] == "blas")
    except ImportError:
        return "threadpoolctl not installed"


def one_d():
    import scipy.stats as st

    x = np.random.default_rng(0).standard_normal(1_000_000)
    normtest.epps_pulley(x[:5000])
    normtest.epps_pulley(x)
    kw = {"method": "interpolate"} if "method" in inspect.signature(st.anderson).parameters else {}
    import numba

    t_ad = median_time(lambda: st.anderson(x, "norm", **kw), repeats=7)
    t_ep = median_time(lambda: normtest.epps_pulley(x), repeats=21)
    saved = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        t_1 = median_time(lambda: normtest.epps_pulley(x), repeats=21)
    finally:
        numba.set_num_threads(saved)
    row("epps_pulley(x) n=1e6, default rule, with p", f"{t_ad / t_ep:.1f}x faster than anderson "
        f"({t_ep * 1e3:.2f} ms vs {t_ad * 1e3:.1f} ms, {numba.get_num_threads()} numba threads; "
        f"1 numba thread {t_ad / t_1:.1f}x, {t_1 * 1e3:.2f} ms)", ">= 25x")
    parts = []
    for threads, t_call in ((saved, t_ep), (1, t_1)):
        numba.set_num_threads(threads)
        try:
            parts.append(f"{threads} thread(s): " + one_d_profile(x, t_call))
        finally:
            numba.set_num_threads(saved)
    row("  1-D profile (medians of the call's parts alone)", " | ".join(parts), "")


def one_d_profile(x, t_call):
    """Medians of the call's two data passes alone: the moment pass and the ECF sums."""
    from normtest.ecf._passes import row_moments
    from normtest.ecf.univariate import _fused_exact

    X = x[None, :]
    rule, R, (C, S, affine) = _fused_exact(X, 1.0)[1:]
    t_mom = median_time(lambda: row_moments(X), repeats=15)
    t_sums = median_time(lambda: ecf_sums_rows(X, rule.nodes, rule.step, affine=affine), repeats=15)
    rest = t_call - t_mom - t_sums
    return (f"moment pass {t_mom * 1e3:.2f} ms, ECF sums (K={rule.nodes.size}) {t_sums * 1e3:.2f} ms, "
            f"rest (validation, effect, p-value, Python) {rest * 1e3:.2f} ms")


def sliced(N, D, M, quads, goal, repeats=3):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D), dtype=np.float32)
    A = rng.standard_normal((D, M))
    A = (A / np.linalg.norm(A, axis=0)).astype(np.float32)
    for q in quads:
        normtest.sliced_epps_pulley(X[:4096], n_slices=M, rng=0, quadrature=q)
    t_gemm = median_time(lambda: X @ A, repeats=repeats)
    out = {}
    for q in quads:
        last = []
        t = median_time(lambda: last.append(normtest.sliced_epps_pulley(X, n_slices=M, rng=0, quadrature=q)),
                        repeats=repeats)
        K = last[-1].quadrature["n_nodes"]
        out[q] = t
        row(f"sliced ({N:.0e}, {D}, {M}) float32, {q} (K={K})",
            f"{t / t_gemm:.2f}x GEMM ({t * 1e3:.0f} ms vs {t_gemm * 1e3:.0f} ms)", goal)
    return X, A, t_gemm


def pipelines(X, M, t_gemm):
    saved = _stream._PIPELINE
    try:
        parts = []
        for mode in ("workers", "overlap", "serial"):
            _stream._PIPELINE = mode
            t = median_time(lambda: normtest.sliced_epps_pulley(X, n_slices=M, rng=0, quadrature="lejepa"),
                            repeats=3)
            parts.append(f"{mode} {t / t_gemm:.2f}x")
    finally:
        _stream._PIPELINE = saved
    row("  hand-over (lejepa, same case): pipeline", ", ".join(parts), "pick the best (default: workers)")


_MEM_SCRIPT = r"""
import sys, numpy as np
sys.path.insert(0, {root!r})
import normtest


def status(key):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1]) / 1024.0


def extra(X):
    # peak RSS of the call above the RSS just before it (clear_refs 5 resets the high-water mark)
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    before = status("VmRSS")
    normtest.sliced_epps_pulley(X, n_slices={M}, rng=0)
    return status("VmHWM") - before


X = np.random.default_rng(0).standard_normal(({N}, {D}), dtype=np.float32)
normtest.sliced_epps_pulley(X[:2000], n_slices={M}, rng=0)
small = extra(X[:2000])
big = extra(X)
print(big - small, big, small)
"""


def peak_extra(N, D, M):
    """Peak RSS of the default call at N rows minus that at 2000 rows, above the RSS before it (MB)."""
    out = subprocess.run([sys.executable, "-c", _MEM_SCRIPT.format(root=ROOT, N=N, D=D, M=M)],
                         capture_output=True, text=True, timeout=600)
    if out.returncode:
        print(out.stderr[-2000:])
        return float("nan")
    return float(out.stdout.strip().splitlines()[-1].split()[0])


def monte_carlo():
    X = np.random.default_rng(0).standard_normal((1000, 32))
    normtest.sliced_epps_pulley(X, n_slices=256, rng=0, method=normtest.MonteCarlo(9, rng=1))
    t = median_time(lambda: normtest.sliced_epps_pulley(X, n_slices=256, rng=0,
                                                         method=normtest.MonteCarlo(999, rng=1)), repeats=1)
    row("sliced MonteCarlo(999) at (1000, 32, 256)", f"{t:.2f} s", "<= 2 s")


def kernel():
    import numba

    peak, cores, mhz, lanes = cpu_peak()
    rng = np.random.default_rng(0)
    P = rng.standard_normal((256, 100_000)).astype(np.float32)
    parts = []
    for name, rule in (("lejepa", get_rule("lejepa")), ("auto s=26", auto_rule(26.0))):
        ecf_sums_rows(P[:8, :5000], rule.nodes, rule.lattice_step)
        K = rule.nodes.size
        t = median_time(lambda: ecf_sums_rows(P, rule.nodes, rule.lattice_step), repeats=5)
        gf = 8.0 * P.size * K / t / 1e9
        saved = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            t1 = median_time(lambda: ecf_sums_rows(P, rule.nodes, rule.lattice_step), repeats=3)
        finally:
            numba.set_num_threads(saved)
        gf1 = 8.0 * P.size * K / t1 / 1e9
        parts.append(f"{name} K={K}: {gf:.0f} GFLOP/s = {100 * gf / peak:.0f}% of {peak:.0f} "
                     f"({cores} cores); 1 thread {gf1:.0f} = {100 * gf1 * cores / peak:.0f}% of one core, "
                     f"{t1 / (P.size * K) * 1e9:.3f} ns/value/node")
    row("ECF kernel alone, GFLOP/s-equivalent vs f64 peak "
        f"({mhz:.0f} MHz x {lanes} lanes x 2 FMA x 2)", " | ".join(parts), ">= 40%")


def main():
    t0 = time.perf_counter()
    print(f"normtest {normtest.__file__}")
    print(f"BLAS: {blas_info()}; OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')}, "
          f"OPENBLAS_L2_SIZE={os.environ.get('OPENBLAS_L2_SIZE')}; pipeline={_stream._PIPELINE}")
    try:
        print(f"load average before: {os.getloadavg()}")
    except OSError:
        pass
    kernel()
    one_d()
    X, _, t_gemm = sliced(100_000, 512, 256, ("lejepa", "auto"), "<= 1.3x GEMM")
    pipelines(X, 256, t_gemm)
    del X
    sliced(100_000, 1024, 1024, ("lejepa", "auto"), "<= 1.2x GEMM", repeats=1)
    extra = peak_extra(100_000, 1024, 1024)
    row("  peak memory, default call (1e5, 1024, 1024) float32, extra over N=2e3", f"{extra:.0f} MB",
        "<= 128 MB")
    extra = peak_extra(200_000, 256, 256)
    row("peak memory, default call, float32 (2e5, 256), n_slices=256: extra over N=2e3", f"{extra:.0f} MB",
        "<= 64 MB")
    monte_carlo()
    print()
    print("| case | measured | goal |")
    print("|---|---|---|")
    for case, measured, goal in ROWS:
        print(f"| {case} | {measured} | {goal} |")
    try:
        print(f"\nload average after: {os.getloadavg()}; total {time.perf_counter() - t0:.0f} s")
    except OSError:
        pass


if __name__ == "__main__":
    main()
