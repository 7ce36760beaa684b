"""Pieces of the figures of :mod:`normtest.plotting` (private): axes, Q–Q lines and envelope, null densities.

matplotlib is imported only inside :func:`new_axes`, when a new figure is needed.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._validate import as_float_sample, check_bool


def new_axes(ax, caller="normtest.plotting"):
    """`ax`, or the Axes of a new pyplot figure when `ax` is None (the rule of every normtest plot)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:  # pragma: no cover - matplotlib is installed in the test environment
        raise ImportError(
            f"{caller} needs matplotlib: pip install 'normtest[plot]' (or matplotlib)"
        ) from exc
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
        return ax
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"`ax` must be None or a matplotlib Axes. Got {type(ax).__name__} instead.")
    return ax


def sample(x, standardize, name="x", ddof=1):
    """The non-missing values of a 1-d `x`, standardised (the tests' algorithm) when `standardize`."""
    from ._standardize import standardize as _standardize

    x = as_float_sample(x, name).ravel()
    x = x[~np.isnan(x)]
    if x.size < 2:
        raise ValueError(f"`{name}` must have at least 2 non-missing values. Got {x.size} instead.")
    if check_bool(standardize, "standardize"):
        x, _, _, degenerate = _standardize(x, axis=0, ddof=ddof)
        if degenerate.any():
            raise ValueError(f"`{name}` must not be constant when `standardize` is True.")
    return x


def qq_envelope(n, confidence_level=0.95):
    """Pointwise N(0, 1) quantiles ``(low, high)`` of the i-th of n ordered values, i = 1..n.

    The i-th order statistic of n uniforms is Beta(i, n + 1 - i); its
    central `confidence_level` interval mapped through the normal quantile.
    """
    from scipy import stats

    i = np.arange(1, n + 1)
    tail = (1.0 - confidence_level) / 2.0
    return (special.ndtri(stats.beta.ppf(tail, i, n + 1 - i)),
            special.ndtri(stats.beta.ppf(1.0 - tail, i, n + 1 - i)))


def qq_line(line, osm, osr):
    """(intercept, slope) of a Q–Q reference line."""
    if line == "45":
        return 0.0, 1.0
    if line == "s":
        return float(osr.mean()), float(osr.std(ddof=1))
    if line == "r":
        slope, intercept = np.polyfit(osm, osr, 1)
        return float(intercept), float(slope)
    q25, q75 = np.percentile(osr, [25, 75])  # "q": through the quartiles
    z25, z75 = special.ndtri([0.25, 0.75])
    slope = (q75 - q25) / (z75 - z25)
    return float(q25 - slope * z25), float(slope)


def null_density(null, grid, knots=8):
    """Density of an analytic `null` on `grid` (> 0): derivative of a smooth fit to its CDF.

    Fits ``probit(F(x))`` by a least-squares cubic spline in ``log x`` over
    the range where ``1e-7 < F < 1 - 1e-9`` (NaN outside it, 0 below a
    statistic of 0); see :func:`plot_null` for why.
    """
    from scipy.interpolate import make_lsq_spline

    grid = np.asarray(grid, dtype=float)
    top = float(np.max(grid))
    lo = max(float(np.min(grid[grid > 0])) if np.any(grid > 0) else top * 1e-3, top * 1e-4)
    xs = np.geomspace(lo, top, 800)
    F = np.maximum.accumulate(np.clip(np.asarray(null.cdf(xs), dtype=float), 0.0, 1.0))
    keep = (F > 1e-7) & (F < 1.0 - 1e-9)
    out = np.full(grid.shape, np.nan)
    out[grid <= 0] = 0.0
    if keep.sum() < 4 * knots:
        return out
    u, zf = np.log(xs[keep]), special.ndtri(F[keep])
    inner = np.quantile(u, np.linspace(0.0, 1.0, knots + 2)[1:-1])
    t = np.r_[[u[0]] * 4, inner, [u[-1]] * 4]
    spl = make_lsq_spline(u, zf, t, k=3)
    inside = (grid >= xs[keep][0]) & (grid <= xs[keep][-1])
    lg = np.log(grid[inside])
    slope = np.maximum(spl.derivative()(lg), 0.0)
    out[inside] = np.exp(-0.5 * spl(lg) ** 2) / np.sqrt(2.0 * np.pi) * slope / grid[inside]
    return out


def null_range(null):
    """Plot range of an analytic null: from its lower end to its 99.9% quantile."""
    try:
        lo = float(null.ppf(0.0005))
        hi = float(null.ppf(0.999))
    except (NotImplementedError, ValueError, ArithmeticError):
        lo, hi = float("nan"), float("nan")
    if not np.isfinite(lo):
        lo = 0.0
    if not (np.isfinite(hi) and hi > lo):
        hi = lo + 1.0
    return lo, hi


def projections(X, directions, standardize, rng):
    """``X @ A`` for the complete rows of `X` (whitened when `standardize`) and unit directions `A`."""
    from ._validate import check_int, check_rng

    X = as_float_sample(X, "X")
    if X.ndim != 2:
        raise ValueError(f"`X` must be a 2-D array of shape (N, D). Got {X.ndim} dimension(s) instead.")
    X = X[~np.isnan(X).any(axis=1)]
    n, d = X.shape
    if n < 2:
        raise ValueError(f"`X` must have at least 2 complete rows. Got {n} instead.")
    if isinstance(directions, (int, np.integer)) and not isinstance(directions, (bool, np.bool_)):
        m = check_int(directions, "directions", minimum=1, maximum=64)  # histograms on one Axes
        A = check_rng(rng).standard_normal((d, m))
    else:
        A = as_float_sample(directions, "directions")
        if A.ndim == 1:
            A = A[:, None]
        if A.ndim != 2 or A.shape[0] != d:
            raise ValueError(f"`directions` must have shape (D, M) with D = {d}. "
                             f"Got shape {A.shape} instead.")
    if A.shape[1] > 64:
        raise ValueError(f"`directions` must have at most 64 columns (one histogram each). "
                         f"Got {A.shape[1]} instead.")
    big = np.max(np.abs(A), axis=0)  # max-abs first: norms of 1e200 columns overflow
    if not np.all(np.isfinite(big) & (big > 0)):
        raise ValueError("`directions` must be finite and non-zero.")
    A = (A / big) / np.linalg.norm(A / big, axis=0)
    if check_bool(standardize, "standardize"):
        from ._matrix import _whitener

        centre, W = _whitener(X)  # the shared helper: column-scaled, two-pass centred
        X = (X - centre) @ W
    return X @ A
