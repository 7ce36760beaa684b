"""normtest.torch.SIGReg against the ten-line SIGReg of the "SIGReg explained" article, in one run.

Three tables, all with torch's default settings (no thread count is set anywhere):

1. forward + backward w.r.t. the embeddings x (N, D), float32, CPU, at five (N, D, M) sizes:
   the article's SIGReg (17 nodes on [-5, 5], complex exponentials, plain autograd),
   normtest's SIGReg with its default "lejepa" rule (17 nodes on [0, 3]) and with the
   "paper" rule (the article's nodes), and the projection matmul ``x @ A`` alone. Each row
   runs in its own subprocess (peak RSS is its own); times are medians of the repeats.
2. the article's 10-D toy training (10 -> 64 -> 64 -> 10 MLP, 1000 uniform inputs on
   [-5, 5]^10, Adam lr 0.01, 300 full-batch steps), alone and with a second CPU-bound
   process running.
3. torch.compile(SIGReg, fullgraph=True) vs eager at (16384, 512, 1024): values, gradients
   and forward + backward times.

    python benchmarks/compare_torch.py                          # everything (a few minutes alone)
    python benchmarks/compare_torch.py --quick                  # the three small sizes + training
    python benchmarks/compare_torch.py --sizes 1000,10,256 --skip training,compile
    python benchmarks/compare_torch.py --skip sizes,compile --epochs 100

On a shared machine quote the ratios (each measured in the same run), not the seconds.
"""

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

SIZES = [(256, 10, 256), (1000, 10, 256), (4096, 128, 256), (16384, 512, 1024), (100_000, 512, 256)]
QUICK = SIZES[:3]
IMPLS = ["article", "normtest", "normtest-paper", "gemm"]


def article_sigreg(x, num_slices=256, k=17, A=None):
    """The article's SIGReg, as printed there (optionally with given directions A)."""
    import torch

    N, D = x.shape
    if A is None:
        A = torch.randn(D, num_slices, device=x.device)
        A /= A.norm(dim=0)
    X_proj = x @ A
    t = torch.linspace(-5, 5, k, device=x.device)
    phi_normal = torch.exp(-0.5 * t**2)
    X_t = X_proj.unsqueeze(-1) * t
    ecf = torch.exp(-1j * X_t).mean(dim=0)
    diff_sq = (ecf - phi_normal).abs() ** 2
    per_direction_T = torch.trapz(diff_sq * phi_normal, t, dim=1) * N
    return per_direction_T.mean()


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ------------------------------------------------------------------------------------------
# workers (each in its own process)
# ------------------------------------------------------------------------------------------
def _work_size(impl, n, d, m, repeat):
    import torch

    import normtest.torch as nt

    x = torch.randn(n, d, generator=torch.Generator().manual_seed(0)).requires_grad_(True)
    A = torch.randn(d, m, generator=torch.Generator().manual_seed(1))
    A /= A.norm(dim=0)
    if impl == "article":
        def fn():
            return article_sigreg(x, m)
    elif impl == "gemm":
        def fn():
            with torch.no_grad():
                return x @ A
    else:
        fn = nt.SIGReg(n_slices=m, quadrature="paper" if impl == "normtest-paper" else "lejepa")
        fn = (lambda f: lambda: f(x))(fn)
    base = _rss_mb()
    times = []
    for _ in range(repeat):
        x.grad = None
        t0 = time.perf_counter()
        out = fn()
        if impl != "gemm":
            out.backward()
        times.append(time.perf_counter() - t0)
    # parity: the article's value and normtest's "paper" value with the same directions
    value = None
    if impl in ("article", "normtest-paper") and n * m * 17 <= 5e7:
        with torch.no_grad():
            value = float(article_sigreg(x, m, A=A) if impl == "article"
                          else nt.SIGReg(directions=A, quadrature="paper")(x))
    return {"median_s": statistics.median(times), "times": times, "extra_MB": _rss_mb() - base,
            "value": value}


def _work_train(impl, epochs, busy):
    import torch

    import normtest.torch as nt

    torch.manual_seed(0)
    X = torch.rand(1000, 10, generator=torch.Generator().manual_seed(0)) * 10 - 5
    model = torch.nn.Sequential(torch.nn.Linear(10, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64),
                                torch.nn.ReLU(), torch.nn.Linear(64, 10))
    loss_fn = {"article": article_sigreg, "normtest": nt.SIGReg(n_slices=256),
               "normtest-paper": nt.SIGReg(n_slices=256, quadrature="paper")}[impl]
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        t0 = time.perf_counter()
        for _ in range(epochs):
            opt.zero_grad()
            loss = loss_fn(model(X))
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - t0
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
    return {"seconds": seconds, "final_loss": float(loss)}


def _work_compile(n, d, m, repeat):
    import torch

    import normtest.torch as nt

    x = torch.randn(n, d, generator=torch.Generator().manual_seed(0))
    eager = nt.SIGReg(n_slices=m, seed=0)
    compiled_mod = nt.SIGReg(n_slices=m, seed=0)
    compiled = torch.compile(compiled_mod, fullgraph=True)
    out = {}
    t0 = time.perf_counter()
    xc = x.clone().requires_grad_(True)
    vc = compiled(xc)
    vc.backward()
    out["compile_s"] = time.perf_counter() - t0
    xe = x.clone().requires_grad_(True)
    ve = eager(xe)
    ve.backward()
    out["value_rel_diff"] = abs(float(vc) - float(ve)) / abs(float(ve))
    out["grad_max_diff"] = float((xc.grad - xe.grad).abs().max())
    out["grad_scale"] = float(xe.grad.abs().max())
    for name, fn in [("eager_s", eager), ("compiled_s", compiled)]:
        times = []
        for _ in range(repeat):
            xr = x.clone().requires_grad_(True)
            t0 = time.perf_counter()
            fn(xr).backward()
            times.append(time.perf_counter() - t0)
        out[name] = statistics.median(times)
    return out


# ------------------------------------------------------------------------------------------
# driver
# ------------------------------------------------------------------------------------------
def _run(args_list, timeout=3600):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(args_list)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return {"error": lines[-1] if lines else f"exit status {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt_s(s):
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def _cells(rows, impls, key):
    """One table row: each time, with its ratio to the article's from the same run."""
    ref = rows["article"].get(key)
    cells = []
    for impl in impls:
        r = rows[impl]
        if "error" in r:
            cells.append(f"{'failed':>22}")
            continue
        ratio = "" if ref is None or impl == "article" else f" ({r[key] / ref:.2f}x)"
        cells.append(f"{_fmt_s(r[key]) + ratio:>22}")
    return "".join(cells)


def _sizes_table(sizes, repeat, results):
    print("forward + backward w.r.t. x, float32, CPU, torch default threads; "
          "ratio = time / the article's (same run)", flush=True)
    head = f"{'(N, D, M)':<20}" + "".join(f"{name:>22}" for name in IMPLS)
    print(head)
    for (n, d, m) in sizes:
        work = n * m * 17
        rows = {}
        for impl in IMPLS:
            rep = 1 if (impl == "article" and work > 1e8) else repeat
            rows[impl] = _run(["size", impl, n, d, m, rep])
        results[("size", (n, d, m))] = rows
        print(f"{str((n, d, m)):<20}" + _cells(rows, IMPLS, "median_s"), flush=True)
        mem = "  peak RSS increase: " + ", ".join(
            f"{impl} {rows[impl]['extra_MB']:.0f} MB" for impl in IMPLS if "extra_MB" in rows[impl])
        va, vp = rows["article"].get("value"), rows["normtest-paper"].get("value")
        if va is not None and vp is not None:
            mem += f"; same directions: article {va:.6f}, normtest 'paper' {vp:.6f}"
        for impl in IMPLS:
            if "error" in rows[impl]:
                mem += f"; {impl} failed: {rows[impl]['error']}"
        print(mem, flush=True)


def _training_table(epochs, results):
    print(f"\ntoy training: 10-64-64-10 MLP, 1000 inputs on [-5, 5]^10, Adam lr 0.01, {epochs} steps, "
          "default threads", flush=True)
    print(f"{'setting':<34}" + "".join(f"{name:>22}" for name in IMPLS[:3]))
    for busy in (False, True):
        rows = {impl: _run(["train", impl, epochs, busy]) for impl in IMPLS[:3]}
        results[("train", busy)] = rows
        label = "with a second CPU-bound process" if busy else "alone"
        print(f"{label:<34}" + _cells(rows, IMPLS[:3], "seconds"), flush=True)


def _compile_table(n, d, m, repeat, results):
    print(f"\ntorch.compile(SIGReg, fullgraph=True) vs eager at ({n}, {d}, {m}), float32, CPU", flush=True)
    r = _run(["compile", n, d, m, repeat])
    results[("compile", (n, d, m))] = r
    if "error" in r:
        print(f"  failed: {r['error']}")
        return
    print(f"  value rel. diff {r['value_rel_diff']:.1e}, grad max abs diff {r['grad_max_diff']:.1e} "
          f"(grad scale {r['grad_scale']:.1e}); first call (compile) {r['compile_s']:.1f} s")
    print(f"  eager {_fmt_s(r['eager_s'])}, compiled {_fmt_s(r['compiled_s'])} "
          f"({r['compiled_s'] / r['eager_s']:.2f}x eager)", flush=True)


def _ratio(rows, impl, key):
    a, b = rows.get("article", {}), rows.get(impl, {})
    return b[key] / a[key] if key in a and key in b else None


def _goals_table(results):
    """The issue's goals, each with the figure measured in this run and whether it is met."""
    lines = []

    def add(goal, ratio, limit, ge=False):
        if ratio is None:
            lines.append(f"{goal:<66}{'not measured':>16}")
            return
        ok = ratio >= limit if ge else ratio <= limit
        lines.append(f"{goal:<66}{ratio:>14.2f}x  {'met' if ok else 'NOT met'}")

    for key, rows in results.items():
        if key[0] == "size":
            for impl in IMPLS[1:3]:
                add(f"{impl} <= article at {key[1]}", _ratio(rows, impl, "median_s"), 1.0)
            if key[1] == (100000, 512, 256):
                r = _ratio(rows, "normtest", "median_s")
                add("article / normtest (lejepa) >= 10 at (100000, 512, 256)", None if r is None else 1 / r,
                    10.0, ge=True)
        elif key[0] == "train":
            limit = 1.0 if key[1] else 0.5
            where = "with a CPU-bound process" if key[1] else "alone"
            for impl in IMPLS[1:3]:
                add(f"training {where}: {impl} <= {limit} x article", _ratio(rows, impl, "seconds"), limit)
        elif key[0] == "compile" and "error" not in rows:
            add(f"compiled / eager <= 1 at {key[1]}", rows["compiled_s"] / rows["eager_s"], 1.0)
    print("\ngoals of the issue (ratios from this run)")
    print("\n".join(lines), flush=True)


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        job = json.loads(sys.argv[2])
        kind, rest = job[0], job[1:]
        res = {"size": _work_size, "train": _work_train, "compile": _work_compile}[kind](*rest)
        print(json.dumps(res))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="*", default=None, help="N,D,M triples (default: the five sizes)")
    ap.add_argument("--quick", action="store_true", help="only the three small sizes")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: sizes, training, compile")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--compile-size", default="16384,512,1024")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    sizes = QUICK if args.quick else SIZES
    if args.sizes:
        sizes = [tuple(int(float(v)) for v in s.split(",")) for s in args.sizes]
    import torch

    print(f"torch {torch.__version__}, {torch.get_num_threads()} intra-op threads (default), "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n", flush=True)
    results = {}
    if "sizes" not in skip:
        _sizes_table(sizes, args.repeat, results)
    if "training" not in skip:
        _training_table(args.epochs, results)
    if "compile" not in skip and not args.quick:
        n, d, m = (int(float(v)) for v in args.compile_size.split(","))
        _compile_table(n, d, m, max(1, math.ceil(args.repeat / 2)), results)
    _goals_table(results)


if __name__ == "__main__":
    main()
