"""Side-by-side timings of the EDF tests: normtest vs SciPy and statsmodels, measured in one run.

    python benchmarks/compare_edf.py            # full table (n = 1e2 ... 1e6, Monte Carlo at n = 1000)
    python benchmarks/compare_edf.py --quick    # fewer repeats, for a smoke test

Every number is the median wall time of several calls on the same data (seeded); ratios are
"other / normtest" (> 1: normtest faster). The Monte-Carlo rows compare a p-value from 9999
simulated null statistics at n = 1000: "cold" is a fresh seed each call (the null is simulated;
numba compilation is done beforehand), "warm" repeats a seed whose null is cached.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from _timing import median_time  # benchmarks/ is on sys.path when a script here runs


def fmt(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.3f} s "


def statistic_table(sizes, quick):
    import normtest
    from scipy import stats
    from statsmodels.stats.diagnostic import normal_ad

    rows = []
    for n in sizes:
        x = np.random.default_rng(n).normal(size=n)
        reps = max(3, min(200, int(2e6 // n))) if not quick else 3
        cases = [
            ("CvM simple (stat + p)", lambda: normtest.cramervonmises(x, standardize=False),
             [("scipy.stats.cramervonmises", lambda: stats.cramervonmises(x, "norm"))]),
            ("AD composite (stat + p)", lambda: normtest.anderson(x),
             [("scipy.stats.anderson", lambda: stats.anderson(x, "norm", method="interpolate")),
              ("statsmodels normal_ad", lambda: normal_ad(x))]),
        ]
        for name, ours, others in cases:
            ours()  # warm-up
            t_ours = median_time(ours, reps)
            for other_name, other in others:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    other()
                    t_other = median_time(other, reps)
                rows.append((name, n, t_ours, other_name, t_other))
    return rows


def monte_carlo_table(quick):
    import normtest
    from scipy import stats

    n, B = 1000, 9999
    x = np.random.default_rng(1).normal(size=n)
    # compile the numba kernels for both nulls (not part of any timing)
    normtest.anderson(x[:10], method=normtest.MonteCarlo(n_resamples=10, rng=0))
    normtest.anderson(x[:10], standardize=False, method=normtest.MonteCarlo(n_resamples=10, rng=0))
    reps_cold = 2 if quick else 5
    reps_scipy = 1 if quick else 3
    rows = []
    for standardize, label, kw in [(True, "AD composite", {}),
                                   (False, "AD simple", {"known_params": {"loc": 0, "scale": 1}})]:
        seeds = iter(range(100, 1000))

        def cold():
            normtest.clear_null_cache()
            return normtest.anderson(x, standardize=standardize,
                                     method=normtest.MonteCarlo(n_resamples=B, rng=next(seeds)))

        t_cold = median_time(cold, reps_cold)
        warm_method = normtest.MonteCarlo(n_resamples=B, rng=7)
        ours = normtest.anderson(x, standardize=standardize, method=warm_method)
        t_warm = median_time(lambda: normtest.anderson(x, standardize=standardize,
                                                       method=normtest.MonteCarlo(n_resamples=B, rng=7)), 20)
        sp = None

        def scipy_call():
            nonlocal sp
            sp = stats.goodness_of_fit(stats.norm, x, statistic="ad", n_mc_samples=B, rng=3, **kw)

        t_scipy = median_time(scipy_call, reps_scipy)
        rows.append((label, t_cold, t_warm, t_scipy, ours.pvalue, ours.pvalue_se, sp.pvalue))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few repeats (smoke test)")
    parser.add_argument("--max-n", type=float, default=1e6)
    args = parser.parse_args(argv)
    sizes = [int(10 ** k) for k in range(2, 7) if 10 ** k <= args.max_n]

    import numba
    import scipy
    import statsmodels

    print(f"numpy {np.__version__}, scipy {scipy.__version__}, statsmodels {statsmodels.__version__}, "
          f"numba {numba.__version__}, threads {numba.get_num_threads()}")
    print()
    print(f"{'statistic + p-value':26s} {'n':>8s} {'normtest':>11s}   {'other':28s} "
          f"{'other time':>11s} {'ratio':>7s}")
    for name, n, t_ours, other_name, t_other in statistic_table(sizes, args.quick):
        print(f"{name:26s} {n:8d} {fmt(t_ours)}   {other_name:28s} {fmt(t_other)} {t_other / t_ours:7.1f}")
    print()
    print("Monte-Carlo p-value, n = 1000, 9999 resamples, "
          "vs scipy.stats.goodness_of_fit(stats.norm, x, 'ad')")
    print(f"{'null':14s} {'cold':>11s} {'warm':>11s} {'scipy':>11s} {'cold x':>7s} {'warm x':>9s}   "
          f"{'p (normtest ± se)':>20s} {'p scipy':>8s}")
    for label, t_cold, t_warm, t_scipy, p, se, p_sp in monte_carlo_table(args.quick):
        print(f"{label:14s} {fmt(t_cold)} {fmt(t_warm)} {fmt(t_scipy)} {t_scipy / t_cold:7.1f} "
              f"{t_scipy / t_warm:9.0f}   {p:11.4f} ± {se:.4f} {p_sp:8.4f}")


if __name__ == "__main__":
    main()
