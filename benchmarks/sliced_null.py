"""Cost and accuracy of the sliced Epps–Pulley null law, in one run.

Timing table: wall time of ``sliced_epps_pulley`` with ``method="none"`` (the
statistic alone), of the default call (statistic, p-value and effect interval)
and of the p-value alone (``sliced_pvalue``), fresh directions per call (no law
cache hit), and of the default call with the same directions again (cache hit),
median of ``--repeats`` warm calls, with the issue's goals marked.

Accuracy table: for each (N, D, M), null (simple / composite) and rule (auto /
lejepa), ``--reps`` statistics simulated under H0 with the package's exact
Monte-Carlo simulator (seeded; the directions are seeded too), and the rates
``P(p <= alpha) = P(T >= law.isf(alpha))`` of the default law at alpha =
10/5/1%, with the Monte-Carlo standard error ``sqrt(alpha (1 - alpha) / reps)``.
Also printed, where the spectrum fits a dense solve: the compressed law's tail
probabilities at the exact spectrum's 10/5/1% points, minus alpha.

References are built incrementally: the replicates are simulated in seeded
chunks of up to ``CHUNK`` (chunk i of a row from ``[seed, N, D, M, null, i]``) and
cached as .npy files under ``--cache`` (default ``~/.cache/normtest/sliced_null``),
so a later run with a larger ``--reps`` simulates only the missing chunks and
a run with the same ``--reps`` reads them back (``--no-cache`` disables it).
Both rules of a row share the chunks' samples (one stream, two rules).

    python benchmarks/sliced_null.py                    # both tables, 2000 replicates
    python benchmarks/sliced_null.py --reps 100000      # the issue's reference size (incremental)
    python benchmarks/sliced_null.py --skip-timing --case 50 4 16 --reps 200000
    python benchmarks/sliced_null.py --reps 200000 --cached-only   # both tables, from the cached references
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import median_time  # noqa: E402

CASES = [(50, 4, 16), (200, 16, 64), (1000, 32, 256), (2000, 256, 256), (500, 64, 1024)]
ALPHAS = (0.10, 0.05, 0.01)
CHUNK = 5000
DEFAULT_CACHE = os.path.join(os.path.expanduser("~"), ".cache", "normtest", "sliced_null")


def _directions(D, M, seed):
    A = np.random.default_rng(seed).standard_normal((D, M))
    return A / np.linalg.norm(A, axis=0)


def _pvalue_only(X, M, seed, std):
    """Time of the p-value alone (``sliced_pvalue`` on the slice statistics, fresh directions)."""
    import normtest
    from normtest.ecf.sliced import min_sample_size, sliced_pvalue

    res = normtest.sliced_epps_pulley(X, n_slices=M, rng=seed, standardize=std, method="none")
    A, rule = res.directions, None
    from normtest.ecf.rules import auto_rule

    rule = auto_rule(res.quadrature["spread"], 1.0)
    n = max(res.n, min_sample_size(X.shape[1], std))  # the law does not depend on n
    t0 = time.perf_counter()
    sliced_pvalue(res.slice_statistics, n, A, rule, beta=1.0, spread=res.quadrature["spread"], standardize=std,
                  reduction="mean", method=None, gen=None)
    return time.perf_counter() - t0


def timing(repeats, big):
    import warnings

    import normtest
    from normtest.ecf.sliced import min_sample_size

    f = normtest.sliced_epps_pulley
    rows = []
    cases = [(1000, 32, 256), (1000, 64, 1024), (1000, 512, 1024), (2500, 2048, 1024)]
    if big:
        cases.append((100_000, 512, 256))
    f(np.random.default_rng(0).standard_normal((100, 4)), n_slices=4, rng=0)  # JIT warm-up
    for N, D, M in cases:
        X = np.random.default_rng(1).standard_normal((N, D))
        for std in (False, True):
            seeds = iter(range(10_000))
            reps = repeats if N * D < 5_000_000 else 1
            t_none = median_time(lambda: f(X, n_slices=M, rng=next(seeds), standardize=std, method="none"), reps)
            t_p = float(np.median([_pvalue_only(X, M, next(seeds), std) for _ in range(max(reps, 3))]))
            t_full = t_warm = np.nan
            if N >= min_sample_size(D, std):  # the default call gives a p-value
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    t_full = median_time(lambda: f(X, n_slices=M, rng=next(seeds), standardize=std), reps)
                    t_warm = median_time(lambda: f(X, n_slices=M, rng=7, standardize=std), reps)
            rows.append((N, D, M, std, t_none, t_full, t_p, t_warm))
    S = np.random.default_rng(2).standard_normal((1024, 1024))
    S = S + S.T
    anchor = median_time(lambda: np.linalg.eigvalsh(S), repeats)
    print("\nTiming (s, median of warm calls). 'default call' = statistic + p-value + effect interval with fresh"
          " directions;\n'p-value' = sliced_pvalue alone (fresh directions, no law cache hit); 'added' = default"
          " call / statistic - 1;\n'cached' = the default call with the same directions again. '-': the default"
          " p-value needs n >= max(6 D + 50, 7 D) (composite).")
    print(f"anchor: numpy.linalg.eigvalsh of a 1024 x 1024 matrix = {anchor:.3f} s")
    print(f"{'N':>7} {'D':>5} {'M':>5} {'null':>9} {'statistic':>10} {'default call':>13} {'p-value':>8}"
          f" {'added':>7} {'cached':>7}  goal")
    for N, D, M, std, tn, tf, tp, tw in rows:
        if (N, D, M) == (1000, 32, 256):
            goal = f"default call <= 0.1 s: {'met' if tf <= 0.1 else 'NOT met'}"
        elif N >= 50_000:
            goal = f"added <= 20%: {'met' if tf / tn - 1 <= 0.2 else 'NOT met'}"
        else:
            goal = f"p-value <= 0.5 s: {'met' if tp <= 0.5 else 'NOT met'}"
        fmt = (lambda v: f"{v:.3f}" if np.isfinite(v) else "-")
        print(f"{N:>7} {D:>5} {M:>5} {'composite' if std else 'simple':>9} {tn:>10.3f} {fmt(tf):>13}"
              f" {tp:>8.3f} {fmt(tf / tn - 1):>7} {fmt(tw):>7}  {goal}")


def _simulator(N, A, rname, standardize):
    from normtest.ecf.rules import auto_rule, lejepa_rule
    from normtest.ecf.sliced_laws import _simulate_sliced

    if rname == "auto":
        def rule_for(P):
            return auto_rule(float(np.abs(P).max()), 1.0)
    else:
        rule = lejepa_rule()

        def rule_for(P):
            return rule
    factor = None
    if not standardize and A.shape[1] <= A.shape[0]:
        factor = np.linalg.cholesky(A.T @ A)
    return _simulate_sliced(N, A, rule_for, lambda s: s.mean(axis=-1), standardize, factor)


def _law(N, A, rname, standardize):
    from normtest.ecf._sliced_dispatch import asymptotic_pvalue, null_moments
    from normtest.ecf.rules import auto_rule, lejepa_rule
    from normtest.ecf.sliced_laws import _null_rule

    rule = auto_rule(6.0, 1.0) if rname == "auto" else lejepa_rule()
    nrule = _null_rule(rule, 1.0)
    mom = null_moments(A, nrule, standardize, N)
    t0 = time.perf_counter()
    _, law, _ = asymptotic_pvalue(np.nan, A, nrule, standardize, "mean", mom, N)
    return law, nrule, time.perf_counter() - t0


def _replicates(N, D, M, A, rname, std, reps, seed, cache, cached_only=False):
    """``reps`` H0 statistics of one row, read from / added to the chunk cache (``cached_only``:
    the cached chunks only, up to the first missing one)."""
    out = []
    for i in range(-(-reps // CHUNK)):
        size = min(CHUNK, reps - i * CHUNK)
        path = None if cache is None else os.path.join(
            cache, f"N{N}_D{D}_M{M}_{'comp' if std else 'simple'}_{rname}_seed{seed}_chunk{i}.npy")
        if path is not None and os.path.exists(path):
            vals = np.load(path)
            if vals.size >= size:
                out.append(vals[:size])
                continue
        if cached_only and out:
            break
        gen = np.random.default_rng([seed, N, D, M, int(std), i])
        vals = _simulator(N, A, rname, std)(size, gen)  # a short chunk is redone in full when more are asked
        if path is not None:
            os.makedirs(cache, exist_ok=True)
            np.save(path, vals)
        out.append(vals[:size])
    return np.concatenate(out)


def accuracy(cases, reps, seed, exact_max, cache, cached_only=False):
    from normtest.ecf.sliced import min_sample_size
    from normtest.ecf.sliced_laws import limit_null

    print(f"\nAccuracy: P(p <= alpha) - alpha for alpha = {ALPHAS}, {reps} H0 replicates per row"
          f"{' (or as many as are cached)' if cached_only else ''}; MC SE = sqrt(a (1 - a) / reps) "
          f"({', '.join(f'{np.sqrt(a * (1 - a) / reps):.4f}' for a in ALPHAS)} at {reps}); "
          f"cache: {cache or 'off'}. The default p-value below the minimum n is Monte Carlo, not this law.")
    print(f"{'N':>5} {'D':>4} {'M':>5} {'null':>9} {'rule':>6} {'P':>2} {'reps':>7}"
          f" {'P(p<=a) - a (vs MC)':>22}"
          f" {'in SE':>15} {'compressed vs exact spectrum':>30} {'law s':>6} {'sim s':>6}")
    worst = 0.0
    for N, D, M in cases:
        A = _directions(D, M, seed)
        for std in (False, True):
            for rname in ("auto", "lejepa"):
                law, nrule, tlaw = _law(N, A, rname, std)
                t0 = time.perf_counter()
                sims = _replicates(N, D, M, A, rname, std, reps, seed, cache, cached_only)
                tsim = time.perf_counter() - t0
                crit = np.asarray(law.isf(np.array(ALPHAS)))
                dev = [float(np.mean(sims >= c)) - a for c, a in zip(crit, ALPHAS)]
                se = np.sqrt(np.array(ALPHAS) * (1 - np.array(ALPHAS)) / sims.size)
                below = N < min_sample_size(D, std)  # the default p-value is Monte Carlo there
                if not below:
                    worst = max(worst, max(abs(d) / max(0.003, 2 * s) for d, s in zip(dev, se)))
                comp = ""
                if M * nrule.nodes.size <= exact_max:
                    exact, _ = limit_null(A, nrule, std, components=10**6)
                    xs = exact.isf(np.array(ALPHAS))
                    comp = " ".join(f"{float(law.sf(x)) - a:+.5f}" for x, a in zip(xs, ALPHAS))
                print(f"{N:>5} {D:>4} {M:>5} {'composite' if std else 'simple':>9} {rname:>6}"
                      f" {law.params['components']:>2} {sims.size:>7} {' '.join(f'{d:+.4f}' for d in dev):>22}"
                      f" {' '.join(f'{d / s:+.1f}' for d, s in zip(dev, se)):>15}"
                      f" {comp:>30} {tlaw:>6.3f} {tsim:>6.0f}{'  below min n: default p Monte Carlo' if below else ''}",
                      flush=True)
    print(f"worst |deviation| / max(0.003, 2 SE) over the rows with a default p-value = {worst:.2f} (goal: <= 1)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=2000, help="H0 replicates per accuracy row")
    ap.add_argument("--repeats", type=int, default=5, help="timed calls per timing row")
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--case", nargs=3, type=int, action="append", metavar=("N", "D", "M"))
    ap.add_argument("--exact-max", type=int, default=3000,
                    help="compare with the exact spectrum when M * K is at most this")
    ap.add_argument("--no-big", action="store_true", help="do not time (1e5, 512, 256)")
    ap.add_argument("--cache", default=DEFAULT_CACHE, help="folder of the cached H0 replicates")
    ap.add_argument("--no-cache", action="store_true", help="simulate every replicate afresh, keep none")
    ap.add_argument("--cached-only", action="store_true",
                    help="accuracy from the cached replicates only (up to --reps per row; at least one chunk)")
    ap.add_argument("--skip-timing", action="store_true")
    ap.add_argument("--skip-accuracy", action="store_true")
    args = ap.parse_args()
    print(f"cores={os.cpu_count()} OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    if not args.skip_timing:
        timing(args.repeats, not args.no_big)
    if not args.skip_accuracy:
        accuracy([tuple(c) for c in args.case] if args.case else CASES, args.reps, args.seed, args.exact_max,
                 None if args.no_cache else args.cache, args.cached_only)


if __name__ == "__main__":
    main()
