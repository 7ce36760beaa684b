"""Slow, obviously correct reference implementations of the EDF statistics.

Pure Python loops over one sample at a time, with the normal cdf from
``math.erfc``; no vectorisation, no shared code with ``normtest``. Every fast
path in normtest is compared with these.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate


def phi_cdf(z):
    """Standard normal cdf."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def log_phi_cdf(z):
    """log Φ(z) (tests keep |z| moderate, where this is accurate)."""
    return math.log(phi_cdf(z))


def _prepared(x, standardize):
    values = sorted(float(v) for v in x)
    n = len(values)
    if standardize:
        mean = sum(values) / n
        var = sum((v - mean) ** 2 for v in values) / (n - 1)
        sd = math.sqrt(var)
        values = [(v - mean) / sd for v in values]
    return values


def cramervonmises(x, standardize=True):
    """W² = 1/(12n) + Σ (Φ(z_(i)) − (2i−1)/(2n))²."""
    z = _prepared(x, standardize)
    n = len(z)
    total = 1.0 / (12 * n)
    for i, zi in enumerate(z, start=1):
        total += (phi_cdf(zi) - (2 * i - 1) / (2 * n)) ** 2
    return total


def anderson(x, standardize=True):
    """A² = −n − (1/n) Σ (2i−1) [log Φ(z_(i)) + log(1 − Φ(z_(n+1−i)))], with 1 − Φ(z) = Φ(−z)."""
    z = _prepared(x, standardize)
    n = len(z)
    total = 0.0
    for i in range(1, n + 1):
        u_i = phi_cdf(z[i - 1])
        one_minus_u_rev = phi_cdf(-z[n - i])
        total += (2 * i - 1) * (math.log(u_i) + math.log(one_minus_u_rev))
    return -n - total / n


def ecdf_value(x, q):
    """#{x_j <= q} / n by counting."""
    return sum(1 for v in x if v <= q) / len(x)


def stephens_pvalue(test, stat, n):
    """Stephens' Table 4.9 formulas, written out branch by branch (R nortest's ad.test/cvm.test)."""
    if test == "anderson":
        a = stat * (1 + 0.75 / n + 2.25 / n ** 2)
        if a < 0.2:
            return 1 - math.exp(-13.436 + 101.14 * a - 223.73 * a ** 2)
        if a < 0.34:
            return 1 - math.exp(-8.318 + 42.796 * a - 59.938 * a ** 2)
        if a < 0.6:
            return math.exp(0.9177 - 4.279 * a - 1.38 * a ** 2)
        if a < 10:
            return math.exp(1.2937 - 5.709 * a + 0.0186 * a ** 2)
        return math.exp(1.2937 - 5.709 * 10 + 0.0186 * 100)
    w = stat * (1 + 0.5 / n)
    if w < 0.0275:
        return 1 - math.exp(-13.953 + 775.5 * w - 12542.61 * w ** 2)
    if w < 0.051:
        return 1 - math.exp(-5.903 + 179.546 * w - 1515.29 * w ** 2)
    if w < 0.092:
        return math.exp(0.886 - 31.62 * w + 10.897 * w ** 2)
    if w < 1.1:
        return math.exp(1.111 - 34.242 * w + 12.832 * w ** 2)
    return math.exp(1.111 - 34.242 * 1.1 + 12.832 * 1.21)


def imhof_cdf(x, lambdas, omitted_mass=0.0):
    """P(Σ λ_k χ²_1 <= x) by Imhof's (1961) integral, with the truncation shift of docs/theory.md §4.3."""
    lam = np.asarray(lambdas, dtype=float)
    x = x - omitted_mass

    def integrand(u):
        theta = 0.5 * np.sum(np.arctan(lam * u)) - 0.5 * x * u
        rho = np.prod((1.0 + (lam * u) ** 2) ** 0.25)
        return math.sin(theta) / (u * rho)

    value, _ = integrate.quad(integrand, 0.0, np.inf, limit=2000, epsabs=1e-12, epsrel=1e-10)
    return 0.5 - value / math.pi


def ad_limit_cdf_imhof(z, k=400):
    """Limit law of the simple-case A²: λ_k = 1/(k(k+1)); omitted mass Σ_{j>k} λ_j = 1/(k+1)."""
    j = np.arange(1, k + 1)
    return imhof_cdf(z, 1.0 / (j * (j + 1.0)), omitted_mass=1.0 / (k + 1))


def cvm_limit_cdf_imhof(x, k=400):
    """Limit law of the simple-case W²: λ_k = 1/(π²k²); omitted mass 1/6 − Σ_{j<=k} λ_j."""
    j = np.arange(1, k + 1)
    lam = 1.0 / (math.pi ** 2 * j ** 2)
    return imhof_cdf(x, lam, omitted_mass=1.0 / 6.0 - lam.sum())


def adinf_marsaglia_quick(z):
    """Marsaglia & Marsaglia's (2004) short approximation ``adinf`` (max error about 2e-6)."""
    if z < 2:
        return math.exp(-1.2337141 / z) / math.sqrt(z) * (
            2.00012 + (0.247105 - (0.0649821 - (0.0347962 - (0.011672 - 0.00168691 * z) * z) * z) * z) * z)
    return math.exp(-math.exp(1.0776 - (2.30695 - (0.43424 - (0.082433 - (0.008056 - 0.0003146 * z) * z) * z)
                                        * z) * z))
