"""Size and power of the univariate tests: the tables of the docs' validation page.

Run from the repository root:

    python benchmarks/validation.py                 # writes docs/_generated/validation_tables.md
    python benchmarks/validation.py --reps 2000     # quicker, noisier
    NUMBA_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/validation.py --small-n
                                                    # only the small-n size table (prints it)

For each n in (20, 50, 100) it draws `reps` seeded samples from N(0, 1) and from
four alternatives, applies Epps–Pulley, Anderson–Darling, Cramér–von Mises (each
with its default p-value) and ``scipy.stats.shapiro``, and reports rejection
rates. Under H0 the rate estimates the size (it should be close to alpha); under
an alternative it estimates the power. The Monte-Carlo standard error of a rate r
is sqrt(r (1 - r) / reps).

Epps–Pulley decisions use the critical values of the null distribution that
``normtest.epps_pulley`` reports (``result.null.isf(alpha)``) and the closed-form
statistic computed here in bulk (one p-value per sample is needlessly slow for
10^5 samples): ``p <= alpha`` exactly when ``T >= isf(alpha)``. A spot check
against ``normtest.epps_pulley`` on a subset is printed in the page.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from scipy import stats

import normtest

NS = (20, 50, 100)
ALPHAS = (0.01, 0.05, 0.10)
SEED = 20261130

ALTERNATIVES = {
    "Student t, 4 df": lambda g, size: g.standard_t(4, size=size),
    "uniform": lambda g, size: g.uniform(size=size),
    "chi-square, 4 df (skewed)": lambda g, size: g.chisquare(4, size=size),
    "mixture 0.8 N(0,1) + 0.2 N(3,1)": lambda g, size: (g.normal(size=size)
                                                        + 3.0 * (g.random(size=size) < 0.2)),
}


def ep_statistic(X, standardize):
    """Closed-form Epps–Pulley T_{n,1} of each row (Henze's scale; divisor-n standardisation)."""
    X = np.asarray(X, dtype=float)
    n = X.shape[1]
    if standardize:
        X = (X - X.mean(axis=1, keepdims=True)) / X.std(axis=1, keepdims=True)
    out = np.empty(X.shape[0])
    for start in range(0, X.shape[0], 512):
        Y = X[start:start + 512]
        d = Y[:, :, None] - Y[:, None, :]
        pair = np.exp(-0.5 * d * d).sum(axis=(1, 2)) / n
        out[start:start + 512] = pair - np.sqrt(2.0) * np.exp(-0.25 * Y * Y).sum(axis=1) + n / np.sqrt(3.0)
    return out


def rejection_rates(name, X, standardize):
    """Rates of p <= alpha for each alpha in ALPHAS, and the p-value method used."""
    if name == "shapiro":
        p = stats.shapiro(X, axis=1).pvalue
        return [float(np.mean(p <= a)) for a in ALPHAS], "scipy (Royston)"
    if name == "epps_pulley":
        ref = normtest.epps_pulley(X[0], standardize=standardize)
        crit = np.asarray(ref.null.isf(np.asarray(ALPHAS)), dtype=float)
        T = ep_statistic(X, standardize)
        return [float(np.mean(T >= c)) for c in crit], ref.method
    res = getattr(normtest, name)(X, axis=1, standardize=standardize)
    return [float(np.mean(np.asarray(res.pvalue) <= a)) for a in ALPHAS], res.method


def ep_spot_check(rng, k):
    """Closed form vs normtest.epps_pulley on k samples per n: largest relative gap, decision agreement."""
    worst, agree, total = 0.0, 0, 0
    for n in NS:
        X = rng.standard_t(5, size=(k, n))
        for standardize in (True, False):
            res = normtest.epps_pulley(X, axis=1, standardize=standardize)
            T = ep_statistic(X, standardize)
            worst = max(worst, float(np.max(np.abs(T - res.statistic) / np.abs(res.statistic))))
            crit = float(normtest.epps_pulley(X[0], standardize=standardize).null.isf(0.05))
            agree += int(np.sum((T >= crit) == (np.asarray(res.pvalue) <= 0.05)))
            total += k
    return worst, agree, total


def _ep_sizes(n, reps, standardize, beta=1.0, quadrature="auto"):
    """(5%, 10%) sizes of epps_pulley's default law at n, from simulated statistics and its critical values."""
    from normtest.ecf.inference import check_args, null_statistic, pvalue

    std, beta, kind, rule, _ = check_args(standardize, beta, quadrature, None)
    X = np.random.default_rng([SEED, 7, n, int(std)]).standard_normal((reps, n))
    T = null_statistic(X, std, beta, kind, rule)
    res = pvalue(T[:1], n, standardize=std, beta=beta, kind=kind, rule=rule, method=None)
    if res.null is None:
        return None, res.method
    return [float(np.mean(T >= float(res.null.isf(a)))) for a in (0.05, 0.10)], res.method


def small_n_table(reps):
    """Sizes (5% / 10%, as multiples of alpha) of every default p-value at its smallest accepted n."""
    import warnings
    from normtest.ecf.laws import limit_min_n
    from normtest.ecf.rules import check_quadrature
    from normtest.multivariate.bhep import lognormal_min_n
    from normtest.multivariate.mardia import MIN_N as MARDIA_MIN_N

    rows = []

    def add(test, setting, n, rates, method, r):
        cells = "n/a" if rates is None else " / ".join(f"{x / a:.2f}" for x, a in zip(rates, (0.05, 0.10)))
        rows.append(f"| {test} | {setting} | {n} | `{method}` | {cells} | {r} |")

    for std in (True, False):
        null = "composite" if std else "simple"
        add("epps_pulley", f"{null}, beta = 1", 3, *_ep_sizes(3, reps, std), reps)
        for beta in (0.1, 0.5, 2.0, 5.0):
            n = limit_min_n(beta, std)
            if n < 10**6:
                add("epps_pulley", f"{null}, beta = {beta}", n, *_ep_sizes(n, reps, std, beta), reps)
        for q in ("lejepa", "paper"):
            n = limit_min_n(1.0, std, check_quadrature(q, 1.0)[1])
            add("epps_pulley", f"{null}, {q}", n, *_ep_sizes(n, reps, std, quadrature=q), reps)
        for name in ("anderson", "cramervonmises"):
            n = 8 if std else 2
            X = np.random.default_rng([SEED, 8, n, int(std)]).standard_normal((reps, n))
            res = getattr(normtest, name)(X, axis=1, standardize=std)
            p = np.asarray(res.pvalue)
            add(name, null, n, [float(np.mean(p <= a)) for a in (0.05, 0.10)], res.method, reps)
    mreps = max(reps // 10, 200)
    for d in (2, 5):
        for test, hz in (("henze_zirkler", True), ("bhep", False)):
            for std in ((True,) if hz else (True, False)):
                n = lognormal_min_n(d, std, hz)
                g = np.random.default_rng([SEED, 9, n, d, int(std)])
                func = getattr(normtest, test)
                kw = {} if hz else {"standardize": std}
                p = np.array([func(g.standard_normal((n, d)), **kw).pvalue for _ in range(mreps)])
                add(test, f"d = {d}" + ("" if hz else (", composite" if std else ", simple")), n,
                    [float(np.mean(p <= a)) for a in (0.05, 0.10)], "lognormal", mreps)
    g = np.random.default_rng([SEED, 10])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p = np.array([normtest.mardia(g.standard_normal((MARDIA_MIN_N, 2))).pvalue for _ in range(mreps)])
    add("mardia", "D = 2", MARDIA_MIN_N, [float(np.mean(p <= a)) for a in (0.05, 0.10)], "asymptotic", mreps)
    head = ["## Size at the smallest accepted n", "",
            "P(p <= alpha) / alpha for N(0, 1) (or N(0, I_d)) samples at each default p-value's smallest "
            "accepted n (the small-n rule: within 15 % at 5 % and 10 %).", "",
            "| test | setting | n | p-value | 5 % / 10 % | samples |", "|---|---|---|---|---|---|"]
    return head + rows + [""]


def fmt_rate(r):
    return f"{100 * r:.1f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=10000, help="samples per cell (default 10000)")
    parser.add_argument("--spot", type=int, default=40, help="samples per n for the EP spot check")
    parser.add_argument("--small-n", action="store_true", help="print only the small-n size table")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "docs", "_generated",
                                                      "validation_tables.md"))
    args = parser.parse_args(argv)
    reps = args.reps
    t0 = time.perf_counter()
    if args.small_n:
        print("\n".join(small_n_table(reps)))
        print(f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
        return
    names = {"epps_pulley": "Epps–Pulley", "anderson": "Anderson–Darling",
             "cramervonmises": "Cramér–von Mises",
             "shapiro": "Shapiro–Wilk (SciPy)"}
    lines = [
        f"<!-- generated by benchmarks/validation.py (normtest {normtest.__version__}, reps={reps}, "
        f"seed={SEED}); do not edit by hand -->",
        "",
    ]
    se5 = np.sqrt(0.05 * 0.95 / reps)
    methods = {}

    # --- size, composite null (the default question: normal with unknown mean and variance)
    for standardize in (True, False):
        title = ("Size, composite null (mean and variance estimated; `standardize=True`)" if standardize
                 else "Size, simple null (H0: exactly N(0, 1); `standardize=False`)")
        tests = list(names) if standardize else ["epps_pulley", "anderson", "cramervonmises"]
        lines += [f"## {title}", "",
                  "Rejection rate (%) of samples drawn from N(0, 1), at nominal 1 / 5 / 10 %.", "",
                  "| test | p-value | " + " | ".join(f"n = {n}" for n in NS) + " |",
                  "|---|---|" + "---|" * len(NS)]
        rows = {t: [] for t in tests}
        for i, n in enumerate(NS):
            g = np.random.default_rng([SEED, 0, n])
            X = g.standard_normal((reps, n))
            for t in tests:
                rates, method = rejection_rates(t, X, standardize)
                methods[(t, standardize)] = method
                rows[t].append(" / ".join(fmt_rate(r) for r in rates))
        for t in tests:
            lines.append(f"| {names[t]} | `{methods[(t, standardize)]}` | " + " | ".join(rows[t]) + " |")
        lines += ["", f"Monte-Carlo standard error at 5 %: {100 * se5:.2f} points ({reps} samples per cell).",
                  ""]

    # --- power at 5 %, composite null
    lines += ["## Power at alpha = 5 % (composite null)", "",
              "Rejection rate (%) of samples from each alternative.", "",
              "| alternative | n | " + " | ".join(names.values()) + " |",
              "|---|---|" + "---|" * len(names)]
    for j, (label, draw) in enumerate(ALTERNATIVES.items()):
        for n in NS:
            g = np.random.default_rng([SEED, j + 1, n])
            X = draw(g, (reps, n))
            cells = []
            for t in names:
                rates, _ = rejection_rates(t, X, True)
                cells.append(fmt_rate(rates[1]))
            lines.append(f"| {label} | {n} | " + " | ".join(cells) + " |")
    lines += ["", f"Standard error at most {100 * np.sqrt(0.25 / reps):.2f} points.", ""]

    worst, agree, total = ep_spot_check(np.random.default_rng([SEED, 99]), args.spot)
    elapsed = time.perf_counter() - t0
    lines += [
        f"Epps–Pulley spot check ({total} samples of t₅ data, both nulls): largest relative difference "
        "between "
        f"the closed-form statistic used here and `normtest.epps_pulley` {worst:.1e}; decisions at 5 % agree "
        f"on {agree} of {total}.",
        "",
    ]
    text = "\n".join(lines)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(text)
    print(f"wrote {os.path.abspath(args.out)} in {elapsed:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
