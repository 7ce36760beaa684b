"""GPU check for normtest.torch: parity with the CPU, then eager and compiled timings, in one command.

    python benchmarks/gpu_check.py                  # CUDA; about 2-4 minutes on one GPU
    python benchmarks/gpu_check.py --device cpu --small   # dry run of the script itself (CPU, tiny sizes)

Without CUDA (and without ``--device cpu``) it exits with status 2 and says so. Prints:

* parity: the same data and directions on the device and on the CPU, float64 (goal: relative
  difference <= 1e-9) and float32 (absolute <= 1e-5), statistic and gradient w.r.t. x; and
  ``torch.compile(SIGReg, fullgraph=True)`` against eager on the device (<= 1e-6 float32);
* timing, forward + backward w.r.t. x (CUDA events, median of --repeat after warm-up) at
  (N, D, M) = (4096, 1024, 1024) and (65536, 1024, 1024), 17 nodes, float32 and bf16 autocast:
  the projection ``x @ A`` alone (no grad; the ratio column's unit), ``x @ A`` forward +
  backward, SIGReg eager (fixed and fresh directions), SIGReg compiled, and the seed
  article's ten-line SIGReg (complex exponentials, plain autograd); peak memory per row.
  Goal for SIGReg: <= 2x the matmul.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_torch import article_sigreg  # noqa: E402  (the ten-line reference)


def _parity(nt, torch, dev, small):
    rows = []
    g = torch.Generator().manual_seed(0)
    n, d, m = (512, 16, 32) if small else (8192, 64, 128)
    xs = torch.randn(n, d, generator=g, dtype=torch.float64) * 1.2 + 0.1
    A = torch.randn(d, m, generator=g, dtype=torch.float64)
    for dtype, kind, tol in [(torch.float64, "rel", 1e-9), (torch.float32, "abs", 1e-5)]:
        for q, std in [("lejepa", False), ("paper", False), ("auto", False), ("lejepa", True)]:
            vals, grads = [], []
            for device in ("cpu", dev):
                x = xs.to(device=device, dtype=dtype).detach().clone().requires_grad_(True)
                v = nt.sliced_epps_pulley(x, directions=A.to(device), quadrature=q, standardize=std)
                v.backward()
                vals.append(float(v.detach().double().cpu()))
                grads.append(x.grad.detach().double().cpu())
            dv = abs(vals[1] - vals[0]) / (abs(vals[0]) if kind == "rel" else 1.0)
            gscale = float(grads[0].abs().max()) if kind == "rel" else 1.0
            dg = float((grads[1] - grads[0]).abs().max()) / gscale
            rows.append((f"parity {str(dtype)[6:]} {q}{' std' if std else ''}",
                         f"stat {kind} diff {dv:.1e}, grad {dg:.1e}", "ok" if max(dv, dg) <= tol else "FAIL"))
    # compiled vs eager on the device, float32
    x = xs.to(device=dev, dtype=torch.float32)
    eager, comp = nt.SIGReg(n_slices=m, seed=3), nt.SIGReg(n_slices=m, seed=3)
    fn = torch.compile(comp, fullgraph=True)
    xe, xc = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    ve, vc = eager(xe), fn(xc)
    ve.backward()
    vc.backward()
    dv = abs(float(vc.detach()) - float(ve.detach())) / abs(float(ve.detach()))
    dg = float((xc.grad - xe.grad).abs().max())
    rows.append(("parity compiled vs eager float32", f"stat rel diff {dv:.1e}, grad abs {dg:.1e}",
                 "ok" if dv <= 1e-6 and dg <= 1e-6 else "FAIL"))
    return rows


def _timings(nt, torch, dev, N, D, M, repeat):
    cuda = dev.type == "cuda"
    x = torch.randn(N, D, device=dev, generator=torch.Generator(dev).manual_seed(1)).requires_grad_(True)
    A = nt.draw_directions(D, M, rng=0, device=dev)
    fixed = nt.SIGReg(directions=A).to(dev)
    fresh = nt.SIGReg(n_slices=M, seed=0).to(dev)
    compiled = torch.compile(nt.SIGReg(directions=A).to(dev), fullgraph=True)

    def timed(fn):
        for _ in range(2):  # warm-up (and compilation)
            x.grad = None
            fn()
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        times = []
        for _ in range(repeat):
            x.grad = None
            if cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end))
            else:
                t0 = time.perf_counter()
                fn()
                times.append(1e3 * (time.perf_counter() - t0))
        mem = torch.cuda.max_memory_allocated() / 2**20 if cuda else float("nan")
        return statistics.median(times), mem

    def gemm():
        with torch.no_grad():
            return x @ A

    def bf16(loss_fn):
        def run():
            with torch.autocast(dev.type, dtype=torch.bfloat16):
                loss = loss_fn(x)
            loss.backward()
        return run

    cases = [("x @ A fwd+bwd", lambda: (x @ A).sum().backward()),
             ("SIGReg eager, fixed dirs", lambda: fixed(x).backward()),
             ("SIGReg eager, fresh dirs", lambda: fresh(x).backward()),
             ("SIGReg compiled", lambda: compiled(x).backward()),
             ("SIGReg eager, bf16 autocast", bf16(fixed)),
             ("SIGReg compiled, bf16 autocast", bf16(compiled)),
             ("article SIGReg (LeJEPA-style)", lambda: article_sigreg(x, M, A=A).backward()),
             ("article SIGReg, bf16 autocast", bf16(lambda z: article_sigreg(z, M, A=A)))]
    base, mem = timed(gemm)
    rows = [(f"({N}, {D}, {M}) x @ A alone", f"{base:.2f} ms, peak {mem:.0f} MiB", "1.00x")]
    for name, fn in cases:
        try:
            t, mem = timed(fn)
            rows.append((f"  {name}", f"{t:.2f} ms, peak {mem:.0f} MiB", f"{t / base:.2f}x"))
        except (RuntimeError, MemoryError) as exc:  # e.g. out of memory for the article's code
            rows.append((f"  {name}", f"failed: {str(exc).splitlines()[0][:40]}", "-"))
            if cuda:
                torch.cuda.empty_cache()
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--small", action="store_true", help="tiny sizes (a dry run of the script on CPU)")
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()

    import torch

    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        print("gpu_check: CUDA is not available on this machine. Run it where a GPU is, or use "
              "`--device cpu --small` to dry-run the script.", file=sys.stderr)
        return 2
    import normtest.torch as nt

    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False  # parity first: full float32 matmuls
    t0 = time.perf_counter()
    rows = _parity(nt, torch, dev, args.small)
    sizes = [(1024, 64, 64), (4096, 64, 128)] if args.small else [(4096, 1024, 1024), (65536, 1024, 1024)]
    for N, D, M in sizes:
        rows += _timings(nt, torch, dev, N, D, M, 3 if args.small else args.repeat)
    width = max(len(r[0]) for r in rows) + 2
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU (dry run)"
    print(f"normtest.torch on {name}, torch {torch.__version__}, {time.perf_counter() - t0:.0f} s")
    print(f"{'check':<{width}}{'result':<44}{'status / ratio to x @ A'}")
    for r in rows:
        print(f"{r[0]:<{width}}{r[1]:<44}{r[2]}")
    return 0 if all(r[2] != "FAIL" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
