"""CUDA check for normtest.torch: parity with CPU, then forward+backward time vs the projection matmul.

    python benchmarks/gpu_check.py                 # default size (65536, 1024, 1024)
    python benchmarks/gpu_check.py --n 16384 --d 512 --m 256 --repeat 20

Exits with status 0 and a message when CUDA is not available. Prints one table:

* parity rows: the same data and directions on CUDA and on CPU, float64 (goal: relative
  difference <= 1e-9) and float32 (absolute <= 1e-5), statistic and gradient w.r.t. x;
* timing rows (float32, CUDA events, median of --repeat after warm-up): x @ A alone (no grad),
  x @ A forward+backward (the matmul's own cost inside a loss), SIGReg forward+backward with
  fixed directions, with per-call random directions, and under bf16 autocast; the ratio column
  is each time over "x @ A alone" (goal for SIGReg: <= 2x); peak allocated memory per row.
"""

import argparse
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=65536)
    ap.add_argument("--d", type=int, default=1024)
    ap.add_argument("--m", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--device", default="cuda", help="'cpu' dry-runs the script itself (small sizes)")
    args = ap.parse_args()

    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("gpu_check: CUDA is not available on this machine; nothing to check.")
        return 0
    import normtest.torch as nt

    dev = torch.device(args.device)
    cuda = dev.type == "cuda"
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = False  # parity first: full float32 matmuls
    rows = []

    # ---------------------------------------------------------------- parity with CPU
    g = torch.Generator().manual_seed(0)
    xs = torch.randn(8192, 64, generator=g, dtype=torch.float64) * 1.2 + 0.1
    A = torch.randn(64, 128, generator=g, dtype=torch.float64)
    for dtype, tol_kind, tol in [(torch.float64, "rel", 1e-9), (torch.float32, "abs", 1e-5)]:
        for q, std in [("lejepa", False), ("paper", False), ("auto", False), ("lejepa", True)]:
            vals, grads = [], []
            for device in ("cpu", dev):
                x = xs.to(device=device, dtype=dtype).detach().clone().requires_grad_(True)
                v = nt.sliced_epps_pulley(x, directions=A.to(device), quadrature=q, standardize=std)
                v.backward()
                vals.append(float(v.detach().double().cpu()))
                grads.append(x.grad.detach().double().cpu())
            dv = abs(vals[1] - vals[0]) / (abs(vals[0]) if tol_kind == "rel" else 1.0)
            gscale = grads[0].abs().max() if tol_kind == "rel" else 1.0
            dg = float((grads[1] - grads[0]).abs().max() / gscale)
            ok = dv <= tol and dg <= max(tol, 1e-9 if dtype == torch.float64 else 1e-5)
            rows.append((f"parity {str(dtype)[6:]} {q}{' std' if std else ''}",
                         f"stat {tol_kind} diff {dv:.1e}, grad {dg:.1e}", "ok" if ok else "FAIL"))

    # ---------------------------------------------------------------- timing
    N, D, M = args.n, args.d, args.m
    x = torch.randn(N, D, device=dev, generator=torch.Generator(dev).manual_seed(1)).requires_grad_(True)
    A = nt.draw_directions(D, M, rng=0, device=dev)
    fixed = nt.SIGReg(directions=A).to(dev)
    fresh = nt.SIGReg(n_slices=M, seed=0).to(dev)

    def timed(fn):
        for _ in range(2):
            fn()
        if not cuda:  # dry run: wall clock, no memory statistics
            times = []
            for _ in range(args.repeat):
                x.grad = None
                t0 = time.perf_counter()
                fn()
                times.append(1e3 * (time.perf_counter() - t0))
            return statistics.median(times), float("nan")
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        times = []
        for _ in range(args.repeat):
            x.grad = None
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        return statistics.median(times), torch.cuda.max_memory_allocated() / 2**20

    def gemm():
        with torch.no_grad():
            return x @ A

    def gemm_fb():
        (x @ A).sum().backward()

    def sig_fixed():
        fixed(x).backward()

    def sig_fresh():
        fresh(x).backward()

    def sig_bf16():
        with torch.autocast(dev.type, dtype=torch.bfloat16):
            loss = fixed(x)
        loss.backward()

    base, mem = timed(gemm)
    rows.append((f"x @ A alone ({N}, {D}, {M})", f"{base:.2f} ms, peak {mem:.0f} MiB", "1.00x"))
    for name, fn in [("x @ A fwd+bwd", gemm_fb), ("SIGReg fwd+bwd, fixed dirs", sig_fixed),
                     ("SIGReg fwd+bwd, fresh dirs", sig_fresh), ("SIGReg fwd+bwd, bf16 autocast", sig_bf16)]:
        t, mem = timed(fn)
        rows.append((name, f"{t:.2f} ms, peak {mem:.0f} MiB", f"{t / base:.2f}x"))

    width = max(len(r[0]) for r in rows) + 2
    name = torch.cuda.get_device_name(dev) if cuda else "CPU (dry run)"
    print(f"normtest.torch on {name}, torch {torch.__version__}")
    print(f"{'check':<{width}}{'result':<44}{'status / ratio'}")
    for r in rows:
        print(f"{r[0]:<{width}}{r[1]:<44}{r[2]}")
    return 0 if all(r[2] != "FAIL" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
