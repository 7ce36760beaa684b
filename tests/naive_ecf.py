"""Slow, obviously correct references for the ECF kernels and the Epps–Pulley statistic."""

import math

import numpy as np


def naive_ecf_sums(P, nodes):
    """C[j, k] = sum_i cos(t_k P[i, j]): one node and column at a time, math.fsum (exactly rounded sums)."""
    P = np.asarray(P, dtype=np.float64)
    n, m = P.shape
    C = np.empty((m, len(nodes)))
    S = np.empty((m, len(nodes)))
    for j in range(m):
        for k, t in enumerate(nodes):
            C[j, k] = math.fsum(np.cos(t * P[:, j]))
            S[j, k] = math.fsum(np.sin(t * P[:, j]))
    return C, S


def naive_ep_statistic(y, beta=1.0):
    """T_{n,beta} by the three-term closed form of docs/theory.md §2 with math.fsum (O(n^2) memory)."""
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    b2 = beta * beta
    d = y[:, None] - y[None, :]
    pair = math.fsum(np.exp(-0.5 * b2 * d * d).ravel())
    lin = math.fsum(np.exp(-0.5 * b2 * y * y / (1 + b2)))
    return pair / n - 2.0 * lin / math.sqrt(1 + b2) + n / math.sqrt(1 + 2 * b2)


def mpmath_ep_statistic(y, beta=1.0, dps=40):
    """T_{n,beta} in mpmath at `dps` digits (the high-precision reference)."""
    import mpmath

    with mpmath.workdps(dps):
        ys = [mpmath.mpf(float(v)) for v in y]
        n = len(ys)
        b2 = mpmath.mpf(beta) ** 2
        pair = mpmath.mpf(0)
        for i in range(n):
            for k in range(i + 1, n):
                pair += mpmath.exp(-b2 * (ys[i] - ys[k]) ** 2 / 2)
        pair = 2 * pair + n
        lin = mpmath.fsum(mpmath.exp(-b2 * v * v / (2 * (1 + b2))) for v in ys)
        T = pair / n - 2 * lin / mpmath.sqrt(1 + b2) + n / mpmath.sqrt(1 + 2 * b2)
        return float(T)


def naive_rule_statistic(y, nodes, weights):
    """n sum_k omega_k |psi_n(t_k) - exp(-t_k^2/2)|^2 with a complex ECF (unfolded nodes allowed)."""
    y = np.asarray(y, dtype=np.float64)
    t = np.asarray(nodes, dtype=np.float64)
    psi = np.exp(1j * t[:, None] * y[None, :]).mean(axis=1)
    return y.size * float(np.sum(np.asarray(weights) * np.abs(psi - np.exp(-t * t / 2)) ** 2))


def standardize(x):
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean()) / x.std()


def mpmath_ep_statistic_tied(x, beta=1.0, dps=40):
    """T_{n,beta} of the standardised sample x (many ties) in mpmath, from its distinct values and counts."""
    import mpmath

    vals, cnt = np.unique(np.asarray(x, dtype=np.float64), return_counts=True)
    with mpmath.workdps(dps):
        n = int(cnt.sum())
        cnt = [int(c) for c in cnt]
        mean = mpmath.fsum(mpmath.mpf(float(v)) * c for v, c in zip(vals, cnt)) / n
        sd = mpmath.sqrt(mpmath.fsum(c * (mpmath.mpf(float(v)) - mean) ** 2 for v, c in zip(vals, cnt)) / n)
        y = [(mpmath.mpf(float(v)) - mean) / sd for v in vals]
        b2 = mpmath.mpf(beta) ** 2
        pair = mpmath.fsum(ci * cj * mpmath.exp(-b2 * (yi - yj) ** 2 / 2)
                           for yi, ci in zip(y, cnt) for yj, cj in zip(y, cnt))
        lin = mpmath.fsum(c * mpmath.exp(-b2 * v * v / (2 * (1 + b2))) for v, c in zip(y, cnt))
        return float(pair / n - 2 * lin / mpmath.sqrt(1 + b2) + n / mpmath.sqrt(1 + 2 * b2))
