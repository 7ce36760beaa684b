"""Build normtest/data/ep_tables.npz: finite-n null quantiles of the Epps–Pulley statistic.

Default settings only (beta = 1, exact statistic T_{n,1}), both nulls:
``q_composite[i, j]`` / ``q_simple[i, j]`` is the upper-``p[j]`` quantile of T at
``n[i]``, estimated from ``n_resamples`` seeded Monte-Carlo replicates (standard
normal samples; composite: standardised with mean and divisor-n sd, the
statistic is affine invariant so this is the null law). ``qinf_*`` are the limit
law's quantiles (eigenvalues + Imhof) at the same ``p``.

Run once (about 5-10 min on 2 busy cores):

    python benchmarks/make_ep_tables.py [--resamples 200000]

Smoothing: for n >= 10 the raw Monte-Carlo quantiles of each upper-tail level (p <= 0.5) are replaced by a
least-squares fit ``q(x) = q_inf + a1 x + a2 x^2 + a3 x^3`` in x = 1/n (anchored at the
exact limit), which averages the Monte-Carlo noise over the 18 sample sizes; residuals of
the fit alternate in sign at the noise level (see ``--smooth-only`` output). Raw quantiles
are kept as ``q_*_raw``. ``--smooth-only`` re-applies the smoothing to an existing file.

The p-value code (normtest/_ep_null.py) interpolates in 1/n and in the normal
score of p; tests spot-check the table against a fresh Monte-Carlo run.
"""

import argparse
import os
import time

import numpy as np
from scipy import special

from normtest.ecf.laws import asymptotic_null
from normtest.ecf.inference import null_statistic as _mc_statistic

N_GRID = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 20, 25, 30, 40, 50, 65, 80, 100, 130, 170,
          220, 300, 400, 550, 750, 1000]
P_GRID = np.unique(np.round(np.concatenate([
    np.geomspace(5e-4, 0.02, 21), np.linspace(0.02, 0.5, 49), 1 - np.geomspace(5e-4, 0.5, 25)]), 10))[::-1]


def limit_quantiles(standardize, p):
    null = asymptotic_null(1.0, standardize)
    lo, hi = float(null.isf(p.max())), float(null.isf(p.min()))
    xs = np.linspace(lo * 0.98, hi * 1.02, 240)
    sf = null.sf(xs)
    z = special.ndtri(1 - sf)
    return np.interp(special.ndtri(1 - p), z, xs)


SMOOTH_MIN_N = 10
SMOOTH_DEGREE = 3


def smooth(ns, Q, qinf):
    """Fit q(1/n) - q_inf by a cubic without constant term, per level, over n >= SMOOTH_MIN_N."""
    ns = np.asarray(ns)
    sel = ns >= SMOOTH_MIN_N
    x = 1.0 / ns[sel]
    V = np.stack([x**k for k in range(1, SMOOTH_DEGREE + 1)], axis=1)
    coef, *_ = np.linalg.lstsq(V, Q[sel] - qinf[None, :], rcond=None)
    out = Q.copy()
    upper = P_GRID <= 0.5  # upper tail only: near T = 0 the fit is poor and p ~ 1 needs no smoothing
    fit = qinf[None, :] + V @ coef
    out[np.ix_(sel, upper)] = fit[:, upper]
    resid = (Q[sel][:, upper] - fit[:, upper]) / Q[sel][:, upper]
    # quantiles must increase as p decreases
    out = np.maximum.accumulate(out, axis=1)
    return out, float(np.max(np.abs(resid)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--resamples", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=20261130)
    ap.add_argument("--smooth-only", action="store_true")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "normtest", "data",
                                                  "ep_tables.npz"))
    args = ap.parse_args()
    if args.smooth_only:
        with np.load(args.out) as f:
            out = {k: f[k] for k in f.files}
        for name in ("composite", "simple"):
            raw = out.get(f"q_{name}_raw", out[f"q_{name}"])
            out[f"q_{name}_raw"] = raw
            out[f"q_{name}"], worst = smooth(out["n"], raw, out[f"qinf_{name}"])
            print(f"{name}: max relative residual of the fit {worst:.4f}")
        np.savez_compressed(args.out, **out)
        return
    B = args.resamples
    out = {"n": np.array(N_GRID), "p": P_GRID, "n_resamples": np.array(B), "seed": np.array(args.seed)}
    seqs = np.random.SeedSequence(args.seed).spawn(2 * len(N_GRID))
    for s_idx, standardize in enumerate((True, False)):
        Q = np.empty((len(N_GRID), P_GRID.size))
        for i, n in enumerate(N_GRID):
            t0 = time.time()
            gen = np.random.default_rng(seqs[s_idx * len(N_GRID) + i])
            batch = max(1000, 4_000_000 // n)
            stats = np.empty(B)
            done = 0
            while done < B:
                size = min(batch, B - done)
                stats[done:done + size] = _mc_statistic(gen.standard_normal((size, n)), standardize, 1.0,
                                                        "auto", None)
                done += size
            Q[i] = np.quantile(stats, 1 - P_GRID)
            print(f"standardize={standardize} n={n}: {time.time() - t0:.1f}s "
                  f"q(.1,.05,.01)={np.quantile(stats, [.9, .95, .99]).round(5)}", flush=True)
        name = "composite" if standardize else "simple"
        out[f"qinf_{name}"] = limit_quantiles(standardize, P_GRID)
        out[f"q_{name}_raw"] = Q
        out[f"q_{name}"], worst = smooth(out["n"], Q, out[f"qinf_{name}"])
        print(f"{name}: max relative residual of the smoothing fit {worst:.4f}")
    np.savez_compressed(args.out, **out)
    print("wrote", os.path.abspath(args.out))


if __name__ == "__main__":
    main()
