"""Epps–Pulley timings and accuracy, measured in one run (medians of repeated calls).

    python benchmarks/compare_ep.py            # full table
    python benchmarks/compare_ep.py --quick    # fewer repeats

Rows:
1. statistic at n = 1e6 (default quadrature "auto", composite) vs ``scipy.stats.anderson`` at n = 1e6;
2. quadrature="exact" at n = 1e4 and 1e5 (t3 data: heavy tails, far points) and the O(n^2)
   closed-form kernel at n = 1e4 (its relative difference is printed);
3. default p-value (shipped table) vs a Monte-Carlo p-value with 9999 resamples at n = 1000
   (cold: fresh seed, null simulated; numba compiled beforehand), and |p_table - p_MC|;
4. calibration of the default p-value: max |P(p <= alpha) - alpha| over alpha = 10/5/1% and
   n = 10 ... 1000 (both nulls), from a fresh seeded simulation.
No GEMM is involved, so OPENBLAS_* settings do not matter here.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from _timing import median_time  # benchmarks/ is on sys.path when a script here runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--calib-resamples", type=int, default=50_000)
    args = ap.parse_args()
    reps = 3 if args.quick else 7
    import scipy.stats as st

    import normtest
    from normtest.ecf.laws import table_null
    from normtest.ecf._kernels import ep_closed_form
    from normtest.ecf.inference import null_statistic as _mc_statistic

    rng = np.random.default_rng(2026)
    x6 = rng.standard_normal(10**6)
    normtest.epps_pulley(x6[:1000])  # compile
    t_ep = median_time(lambda: normtest.epps_pulley(x6), reps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            f_ad = lambda: st.anderson(x6, dist="norm", method="interpolate")  # noqa: E731
            f_ad()
        except TypeError:
            f_ad = lambda: st.anderson(x6, dist="norm")  # noqa: E731
        t_ad = median_time(f_ad, reps)
    print(f"{'what':58s} {'time':>10s}  note")
    print(f"{'epps_pulley n=1e6 (auto, composite, table p)':58s} {t_ep * 1e3:8.1f}ms")
    print(f"{'scipy.stats.anderson n=1e6':58s} {t_ad * 1e3:8.1f}ms  ratio anderson/ep = {t_ad / t_ep:.1f}x")

    for n in (10**4, 10**5):
        x = rng.standard_t(3, size=n)
        res = normtest.epps_pulley(x, quadrature="exact")
        t = median_time(lambda: normtest.epps_pulley(x, quadrature="exact"), reps)
        q = res.quadrature
        print(f"{'exact n=%d (t3; K=%d nodes, %d far points)' % (n, q['n_nodes'], int(np.sum(q.get('n_far', 0)))):58s}"
              f" {t * 1e3:8.1f}ms")
        if n == 10**4:
            y = (x - x.mean()) / x.std()
            ep_closed_form(y[:100])
            tc = median_time(lambda: ep_closed_form(y), 1 if args.quick else 3)
            ref = ep_closed_form(y)[0]
            print(f"{'closed-form O(n^2) kernel n=1e4':58s} {tc * 1e3:8.1f}ms  "
                  f"rel. diff ECF vs closed form = {abs(res.statistic - ref) / ref:.1e}")

    n = 1000
    x = rng.standard_normal(n)
    t_tab = median_time(lambda: normtest.epps_pulley(x), reps)
    p_tab = normtest.epps_pulley(x).pvalue
    seeds = iter(range(10**6, 10**6 + 100))
    t_mc = median_time(lambda: normtest.epps_pulley(x, method=normtest.MonteCarlo(9999, rng=next(seeds))),
                       1 if args.quick else 3)
    p_mc = [normtest.epps_pulley(x, method=normtest.MonteCarlo(9999, rng=s)).pvalue for s in range(3)]
    print(f"{'default p-value n=1000 (table)':58s} {t_tab * 1e3:8.2f}ms  p = {p_tab:.4f}")
    print(f"{'MonteCarlo(9999) p-value n=1000 (cold)':58s} {t_mc * 1e3:8.1f}ms  ratio MC/table = "
          f"{t_mc / t_tab:.0f}x; p_MC = {np.round(p_mc, 4)} (|diff| max {np.max(np.abs(np.array(p_mc) - p_tab)):.4f})")

    B = args.calib_resamples
    gen = np.random.default_rng(777)
    worst = 0.0
    print(f"\ncalibration of the default p-value (fresh simulation, B={B} per n): P(p <= a) - a")
    for std in (True, False):
        for n in (10, 15, 23, 37, 60, 100, 180, 300, 500, 1000):
            stats = _mc_statistic(gen.standard_normal((B, n)), std, 1.0, "auto", None)
            crit = table_null(n, std).isf([0.10, 0.05, 0.01])
            err = [np.mean(stats >= c) - a for c, a in zip(crit, (0.10, 0.05, 0.01))]
            worst = max(worst, max(abs(e) for e in err))
            print(f"  {'composite' if std else 'simple':9s} n={n:5d}: " + "  ".join(f"{e:+.4f}" for e in err))
    print(f"max |error| = {worst:.4f} (MC standard error at 10%: {np.sqrt(0.09 / B):.4f})")


if __name__ == "__main__":
    main()
