"""One-run comparison table for the sliced Epps–Pulley statistic (issue 4).

Run with the OpenBLAS tuning variables unset so the GEMM uses its fastest kernel:

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/compare_sliced.py [--quick]

Columns: median wall time of ``X @ A`` alone (float32 GEMM, the floor for any
projection method); normtest's statistic (streamed projection + ECF sums, the
same work the GEMM floor is compared with); normtest's full call including the
asymptotic p-value for fresh directions; a LeJEPA-style torch CPU
implementation that materialises the N x M x K array (measured at the same N,
or at a smaller N where it would not fit in memory — stated in the row);
peak extra memory (RSS growth over the data, measured in fresh subprocesses).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
from _timing import median_time as _median_time  # benchmarks/ is on sys.path when a script here runs

HERE = os.path.dirname(os.path.abspath(__file__))


def _data(N, D, M, seed=0):
    g = np.random.default_rng(seed)
    X = g.standard_normal((N, D), dtype=np.float32)
    A = g.standard_normal((D, M))
    A /= np.linalg.norm(A, axis=0)
    return X, A


def torch_lejepa_style(X, A, n_points=17):
    """LeJEPA-style: project, build the (N, M, K) array, cos/sin means, folded trapezoid."""
    import torch

    x = torch.from_numpy(X)
    a = torch.from_numpy(A.astype(np.float32))
    t = torch.linspace(0, 3, n_points, dtype=torch.float32)
    h = 3.0 / (n_points - 1)
    w = torch.full((n_points,), 2 * h)
    w[0] = w[-1] = h
    phi = torch.exp(-0.5 * t**2)
    with torch.no_grad():
        xt = (x @ a).unsqueeze(-1) * t                 # (N, M, K) materialised
        re = torch.cos(xt).mean(0)
        im = torch.sin(xt).mean(0)
        err = (re - phi) ** 2 + im**2
        stat = (err * w * phi).sum(-1) * x.shape[0]
    return float(stat.mean())


def torch_article_style(X, A, k=17):
    """The seed article's SIGReg (complex exp, plain trapezoid on linspace(-5, 5, 17))."""
    import torch

    x = torch.from_numpy(X)
    a = torch.from_numpy(A.astype(np.float32))
    t = torch.linspace(-5, 5, k, dtype=torch.float32)
    phi = torch.exp(-0.5 * t**2)
    with torch.no_grad():
        xt = (x @ a).unsqueeze(-1) * t
        ecf = torch.exp(-1j * xt).mean(dim=0)
        per = torch.trapz((ecf - phi).abs() ** 2 * phi, t, dim=1) * x.shape[0]
    return float(per.mean())


def normtest_statistic(X, A):
    from normtest.ecf.rules import lejepa_rule
    from normtest.ecf._stream import _projected_sums

    rule = lejepa_rule()
    C, S = _projected_sums(X, A, rule)
    return float(rule.statistic(C, S, np.full(A.shape[1], float(X.shape[0]))).mean())


def _child(kind, N, D, M):
    """Run one computation in this fresh process and print peak RSS growth (MB) as JSON."""
    import resource

    X, A = _data(N, D, M)
    if kind == "torch":
        import torch  # noqa: F401  (import cost outside the measurement)
        torch.set_num_threads(os.cpu_count() or 1)
    else:
        import normtest  # noqa: F401

        normtest_statistic(X[:256], A)  # compile and start the thread pool outside the measurement
    del resource

    def status(key):
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024

    with open("/proc/self/clear_refs", "w") as fh:  # reset the peak (VmHWM) to the current RSS
        fh.write("5")
    base = status("VmRSS")
    if kind == "gemm":
        _ = X @ A.astype(np.float32)
    elif kind == "normtest":
        normtest_statistic(X, A)
    elif kind == "torch":
        torch_lejepa_style(X, A)
    elif kind == "torch-article":
        torch_article_style(X, A)
    peak = status("VmHWM")
    print(json.dumps({"extra_mb": peak - base}))


def peak_extra_mb(kind, N, D, M):
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(N), str(D), str(M)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["extra_mb"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    ap.add_argument("--torch-n", type=int, default=25_000,
                    help="N for the torch reference (its N x M x K array must fit in memory)")
    ap.add_argument("--case", nargs=3, type=int, action="append", metavar=("N", "D", "M"),
                    help="run only these sizes (repeatable)")
    ap.add_argument("--no-full", action="store_true", help="skip the full call (statistic + p-value)")
    ap.add_argument("--child", nargs=4)
    args = ap.parse_args()
    if args.child:
        kind, N, D, M = args.child
        _child(kind, int(N), int(D), int(M))
        return
    import normtest
    from normtest.ecf._sliced_dispatch import _BLOCKS_CACHE, _LIMIT_CACHE

    cases = [(100_000, 512, 256), (100_000, 1024, 1024)]
    if args.quick:
        cases = [(10_000, 128, 64)]
    if args.case:
        cases = [tuple(c) for c in args.case]
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')} OPENBLAS_L2_SIZE="
          f"{os.environ.get('OPENBLAS_L2_SIZE')} cores={os.cpu_count()}")
    X0, A0 = _data(1000, 8, 8)
    normtest_statistic(X0, A0)  # JIT warm-up
    for N, D, M in cases:
        X, A = _data(N, D, M)
        A32 = A.astype(np.float32)
        gemm = _median_time(lambda: X @ A32, 5)
        ours = _median_time(lambda: normtest_statistic(X, A), 5)

        def full():
            _LIMIT_CACHE.clear()
            _BLOCKS_CACHE.clear()
            return normtest.sliced_epps_pulley(X, directions=A, quadrature="lejepa")
        full_t = res = None
        if not args.no_full:
            t0 = time.perf_counter()
            res = full()
            full_t = time.perf_counter() - t0
        print(f"\n(N, D, M) = ({N}, {D}, {M}), K = 16 nodes ('lejepa'), float32")
        print(f"  X @ A alone           {gemm * 1e3:9.1f} ms")
        print(f"  normtest statistic    {ours * 1e3:9.1f} ms   ratio to GEMM {ours / gemm:5.2f}")
        if res is not None:
            print(f"  normtest full call    {full_t * 1e3:9.1f} ms   (p-value {res.method}: fresh directions)")
        if M <= 256:
            tn = min(args.torch_n, N)
            Xt = X[:tn]
            torch_t = _median_time(lambda: torch_lejepa_style(Xt, A), 3)
            ours_t = _median_time(lambda: normtest_statistic(Xt, A), 5)
            ref = torch_lejepa_style(Xt, A)
            val = normtest_statistic(Xt, A)
            art_t = _median_time(lambda: torch_article_style(Xt, A), 3)
            print(f"  torch LeJEPA-style    {torch_t * 1e3:9.1f} ms at N={tn}; normtest {ours_t * 1e3:.1f} ms"
                  f" -> speed-up {torch_t / ours_t:6.1f}x (values {ref:.6f} vs {val:.6f})")
            print(f"  torch article-style   {art_t * 1e3:9.1f} ms at N={tn} (complex exp, 'paper' nodes)"
                  f" -> speed-up {art_t / ours_t:6.1f}x")
            mem_t = peak_extra_mb("torch", tn, D, M)
            mem_a = peak_extra_mb("torch-article", tn, D, M)
            mem_o = peak_extra_mb("normtest", tn, D, M)
            print(f"  peak extra RSS at N={tn}: torch {mem_t:8.1f} MB, article {mem_a:8.1f} MB, "
                  f"normtest {mem_o:6.1f} MB -> ratio 1/{mem_t / max(mem_o, 1e-3):.0f}")
        mem_g = peak_extra_mb("gemm", N, D, M)
        mem_o = peak_extra_mb("normtest", N, D, M)
        print(f"  peak extra RSS at N={N}: X @ A {mem_g:8.1f} MB, normtest {mem_o:6.1f} MB")


if __name__ == "__main__":
    main()
