"""normtest.torch.SIGReg vs a LeJEPA-style implementation that materialises N x M x K.

Forward + backward of the sliced Epps–Pulley loss ("lejepa" rule, 17 nodes) with respect to
the embeddings x (N, D), float32, CPU. Each implementation runs in its own subprocess so that
peak RSS (ru_maxrss) is its own; we also report the RSS after setup (torch imported, x
allocated) and the peak increment over it. Times: median of `--repeat` runs (LeJEPA-style:
`--repeat-ref`, default 1: it needs ~13.5 GB at the default size — run it alone).

    python benchmarks/compare_torch.py                    # (1e5, 512, 256), both, table
    python benchmarks/compare_torch.py --n 20000 --repeat-ref 3
    python benchmarks/compare_torch.py --only normtest --threads 2

No GEMM-environment caveat: torch uses its own BLAS (the OPENBLAS_* variables do not apply),
but both sides do the same projection matmul, and we time it alone too.
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time


def _worker(args):
    import torch

    torch.set_num_threads(args.threads)
    import numpy as np

    import normtest.torch as nt
    from normtest.ecf.rules import get_rule

    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.n, args.d, generator=g).requires_grad_(True)
    loss_fn = nt.SIGReg(n_slices=args.m, quadrature="lejepa", seed=0)
    A = loss_fn.current_directions(args.d, "cpu")
    rule = get_rule("lejepa")
    t = torch.tensor(np.r_[0.0, rule.nodes], dtype=torch.float32)  # LeJEPA keeps the t = 0 node
    w = torch.tensor(np.r_[0.0, rule.weights], dtype=torch.float32)
    phi = torch.exp(-0.5 * t * t)

    def lejepa_style():
        p = x @ A  # (N, M)
        xt = p.unsqueeze(-1) * t  # (N, M, K)
        err = (torch.cos(xt).mean(0) - phi) ** 2 + torch.sin(xt).mean(0) ** 2
        return ((err @ w) * x.shape[0]).mean()

    def ours():
        return loss_fn(x)

    def gemm_only():
        with torch.no_grad():
            return x @ A

    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    fn = {"normtest": ours, "lejepa": lejepa_style, "gemm": gemm_only}[args.only]
    times, value = [], None
    for _ in range(args.repeat):
        x.grad = None
        if args.only == "normtest":
            loss_fn.step.zero_()
        t0 = time.perf_counter()
        out = fn()
        if args.only != "gemm":
            out.backward()
            value = float(out.detach())
        times.append(time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"impl": args.only, "median_s": statistics.median(times), "times": times,
                      "rss_setup_MB": base, "peak_MB": peak, "value": value}))


def _run(impl, args, repeat):
    cmd = [sys.executable, __file__, "--worker", "--only", impl, "--n", str(args.n), "--d", str(args.d),
           "--m", str(args.m), "--repeat", str(repeat), "--threads", str(args.threads)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        last = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else str(out.returncode)
        return {"impl": impl, "error": last}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=512)
    ap.add_argument("--m", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--repeat-ref", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", choices=["normtest", "lejepa", "gemm"], default=None)
    ap.add_argument("--worker", action="store_true")
    args = ap.parse_args()
    if args.worker:
        return _worker(args)
    impls = [args.only] if args.only else ["gemm", "normtest", "lejepa"]
    rows = {}
    for impl in impls:
        rows[impl] = _run(impl, args, args.repeat_ref if impl == "lejepa" else args.repeat)
        print(json.dumps(rows[impl]), flush=True)
    print(f"\n(N, D, M) = ({args.n}, {args.d}, {args.m}), K = 17 ('lejepa'), float32, CPU, "
          f"{args.threads} thread(s); forward + backward w.r.t. x")
    print(f"{'implementation':<16}{'median s':>10}{'peak RSS MB':>13}{'peak - setup MB':>17}")
    for impl, r in rows.items():
        if "error" in r:
            print(f"{impl:<16} failed: {r['error']}")
            continue
        extra = r["peak_MB"] - r["rss_setup_MB"]
        print(f"{impl:<16}{r['median_s']:>10.3f}{r['peak_MB']:>13.0f}{extra:>17.0f}")
    a, b = rows.get("normtest", {}), rows.get("lejepa", {})
    if "median_s" in a and "median_s" in b:
        print(f"speed-up {b['median_s'] / a['median_s']:.1f}x, peak RSS ratio "
              f"{b['peak_MB'] / a['peak_MB']:.1f}x, values {a['value']:.6f} vs {b['value']:.6f}")
    if "median_s" in a and "median_s" in rows.get("gemm", {}):
        print(f"normtest / projection matmul alone: {a['median_s'] / rows['gemm']['median_s']:.2f}x")


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
