"""Figures for normality checks (matplotlib, imported only when a figure is drawn).

Every function takes ``ax=None`` and returns the matplotlib Axes it drew on;
``pyplot`` is used only to create a new figure when no `ax` is given. Missing
values in the data are dropped. Extra keyword arguments go to the main
matplotlib call of each function (named in its docstring).

``result.plot()`` of a test result draws :func:`plot_null`.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._validate import as_float_sample, check_float, check_int, check_bool

__all__ = ["plot_ecdf", "plot_qq", "plot_ecf", "plot_projections", "plot_null", "draw_ecdf"]


def _axes(ax, current=False):
    """`ax`, else a new figure's Axes (or pyplot's current Axes with `current`)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:  # pragma: no cover - matplotlib is installed in the test environment
        raise ImportError(
            "normtest.plotting needs matplotlib: pip install 'normtest[plot]' (or matplotlib)"
        ) from exc
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca() if current else plt.subplots()[1]
    return ax


def _sample(x, standardize, name="x"):
    x = as_float_sample(x, name).ravel()
    x = x[~np.isnan(x)]
    if x.size < 2:
        raise ValueError(f"`{name}` must have at least 2 non-missing values. Got {x.size} instead.")
    if check_bool(standardize, "standardize"):
        sd = x.std(ddof=1)
        if not sd > 0:
            raise ValueError(f"`{name}` must not be constant when `standardize` is True.")
        x = (x - x.mean()) / sd
    return x


def plot_ecdf(x, *, standardize=True, confidence_level=0.95, ax=None, **kwargs):
    """ECDF of the sample against the standard normal CDF, with the DKW band.

    Parameters
    ----------
    x : array_like
        One-dimensional sample.
    standardize : bool, default True
        Standardise by the sample mean and standard deviation (ddof=1) first.
        (The band is then conservative: it ignores the estimation.)
    confidence_level : float, default 0.95
        Level of the simultaneous Dvoretzky–Kiefer–Wolfowitz band
        ``F_n ± sqrt(log(2/alpha) / (2n))``.
    ax : matplotlib Axes, optional
    **kwargs
        Passed to ``ax.step`` for the ECDF.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from normtest.plotting import plot_ecdf
    >>> ax = plot_ecdf(np.random.default_rng(0).normal(size=100))
    >>> ax.get_xlabel()
    'standardised value'
    """
    from .edf.ecdf import ecdf

    level = check_float(confidence_level, "confidence_level", low=0.0, high=1.0)
    e = ecdf(_sample(x, standardize))
    band = e.confidence_band(level, kind="dkw")
    ax = _axes(ax)
    z, f, n = e.support, e.probabilities, e.n
    ax.fill_between(band.support, band.low, band.high, step="post", alpha=0.25, color="C0", linewidth=0,
                    label=f"{level:.0%} DKW band")
    kwargs.setdefault("where", "post")
    kwargs.setdefault("color", "C0")
    kwargs.setdefault("label", f"ECDF (n = {n})")
    ax.step(z, f, **kwargs)
    pad = 0.1 * (z[-1] - z[0]) + 1e-9
    grid = np.linspace(min(z[0], -3.0) - pad, max(z[-1], 3.0) + pad, 400)
    ax.plot(grid, special.ndtr(grid), color="C3", label="N(0, 1) CDF")
    ax.set_xlabel("standardised value" if standardize else "value")
    ax.set_ylabel("probability")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="upper left")
    return ax


def plot_qq(x, *, standardize=True, ax=None, **kwargs):
    """Normal Q–Q plot: ordered sample against N(0, 1) quantiles, with the line y = x.

    Plotting positions are Filliben's (those of :func:`scipy.stats.probplot`).

    Parameters
    ----------
    x : array_like
        One-dimensional sample.
    standardize : bool, default True
        Standardise by the sample mean and standard deviation (ddof=1) first.
    ax : matplotlib Axes, optional
    **kwargs
        Passed to ``ax.plot`` for the points.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from normtest.plotting import plot_qq
    >>> ax = plot_qq(np.random.default_rng(0).exponential(size=50))
    >>> len(ax.lines)
    2
    """
    from scipy import stats

    z = _sample(x, standardize)
    ax = _axes(ax)
    osm, osr = stats.probplot(z, dist="norm", fit=False)
    kwargs.setdefault("marker", "o")
    kwargs.setdefault("linestyle", "none")
    kwargs.setdefault("markersize", 4)
    ax.plot(osm, osr, **kwargs)
    lim = np.array([min(osm[0], osr[0]), max(osm[-1], osr[-1])])
    ax.plot(lim, lim, color="C3", linewidth=1)
    ax.set_xlabel("N(0, 1) quantile")
    ax.set_ylabel("ordered standardised sample" if standardize else "ordered sample")
    return ax


def plot_ecf(x, *, standardize=True, quadrature="lejepa", t_max=None, ax=None, **kwargs):
    """Real and imaginary parts of the empirical characteristic function against e^(−t²/2).

    The Epps–Pulley statistics integrate the squared gap between the two
    curves (weighted); the nodes of the quadrature rule are marked on the
    target curve, so what a rule can and cannot see is visible.

    Parameters
    ----------
    x : array_like
        One-dimensional sample.
    standardize : bool, default True
        Standardise by the sample mean and the divisor-n standard deviation
        first (the Epps–Pulley convention).
    quadrature : str, QuadratureRule, (nodes, weights) or None, default "lejepa"
        Rule whose nodes are marked (``None`` or ``"exact"``: no markers).
    t_max : float, optional
        Right end of the plotted range (default: beyond the last node, at least 5).
    ax : matplotlib Axes, optional
    **kwargs
        Passed to ``ax.plot`` for the real part.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from normtest.plotting import plot_ecf
    >>> ax = plot_ecf(np.random.default_rng(0).standard_t(3, size=200), quadrature="paper")
    >>> ax.get_xlabel()
    't'
    """
    from .ecf.rules import get_rule

    x = as_float_sample(x, "x").ravel()
    x = x[~np.isnan(x)]
    if x.size < 2:
        raise ValueError(f"`x` must have at least 2 non-missing values. Got {x.size} instead.")
    if check_bool(standardize, "standardize"):
        sd = x.std()
        if not sd > 0:
            raise ValueError("`x` must not be constant when `standardize` is True.")
        x = (x - x.mean()) / sd
    nodes = None
    if quadrature is not None and not (isinstance(quadrature, str) and quadrature == "exact"):
        nodes = np.asarray(get_rule(quadrature).nodes, dtype=float)
    if t_max is None:
        t_max = max(5.0, 1.05 * float(nodes.max())) if nodes is not None and nodes.size else 5.0
    t_max = check_float(t_max, "t_max", low=0.0)
    ax = _axes(ax)
    t = np.linspace(0.0, t_max, 400)
    re = np.zeros_like(t)
    im = np.zeros_like(t)
    for start in range(0, x.size, 4096):  # bounded memory: 4096 x 400 at a time
        arg = np.multiply.outer(x[start:start + 4096], t)
        re += np.cos(arg).sum(axis=0)
        im += np.sin(arg).sum(axis=0)
    re /= x.size
    im /= x.size
    kwargs.setdefault("color", "C0")
    kwargs.setdefault("label", "Re ψ_n(t)")
    ax.plot(t, re, **kwargs)
    ax.plot(t, im, color="C1", label="Im ψ_n(t)")
    ax.plot(t, np.exp(-0.5 * t**2), color="C3", linestyle="--", label="exp(−t²/2)")
    if nodes is not None and nodes.size:
        shown = nodes[nodes <= t_max]
        ax.plot(shown, np.exp(-0.5 * shown**2), linestyle="none", marker="|", markersize=12, color="k",
                label=f"nodes ({nodes.size})")
    ax.axhline(0.0, color="0.7", linewidth=0.8)
    ax.set_xlabel("t")
    ax.set_ylabel("characteristic function")
    ax.legend(loc="upper right")
    return ax


def plot_projections(X, directions=4, *, standardize=False, rng=None, bins="auto", ax=None, **kwargs):
    """Histograms of multivariate data projected on a few directions, against N(0, 1).

    Under the sliced test's null N(0, I) every projection on a unit vector is
    N(0, 1) (Cramér–Wold: the projections together determine the law).

    Parameters
    ----------
    X : array_like, shape (N, D)
        Data; rows with missing values are dropped.
    directions : int or array_like of shape (D, M), default 4
        Directions (columns, normalised to unit length), or how many to draw
        uniformly at random from `rng`.
    standardize : bool, default False
        Whiten by the sample mean and covariance first (the composite null).
    rng : None, int or numpy.random.Generator
        Seed for drawn directions.
    bins : int or str, default "auto"
        Histogram bins (as ``numpy.histogram``).
    ax : matplotlib Axes, optional
        All projections are drawn on this one Axes as step histograms.
    **kwargs
        Passed to each ``ax.hist`` call.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from normtest.plotting import plot_projections
    >>> X = np.random.default_rng(0).standard_normal((500, 8))
    >>> ax = plot_projections(X, 3, rng=0)
    >>> len(ax.patches)
    3
    """
    from ._validate import check_rng

    X = as_float_sample(X, "X")
    if X.ndim != 2:
        raise ValueError(f"`X` must be a 2-D array of shape (N, D). Got {X.ndim} dimension(s) instead.")
    X = X[~np.isnan(X).any(axis=1)]
    n, d = X.shape
    if n < 2:
        raise ValueError(f"`X` must have at least 2 complete rows. Got {n} instead.")
    if isinstance(directions, (int, np.integer)) and not isinstance(directions, (bool, np.bool_)):
        m = check_int(directions, "directions", minimum=1)
        A = check_rng(rng).standard_normal((d, m))
    else:
        A = as_float_sample(directions, "directions")
        if A.ndim == 1:
            A = A[:, None]
        if A.ndim != 2 or A.shape[0] != d:
            raise ValueError(f"`directions` must have shape (D, M) with D = {d}. "
                             f"Got shape {A.shape} instead.")
    norms = np.linalg.norm(A, axis=0)
    if not np.all(np.isfinite(norms) & (norms > 0)):
        raise ValueError("`directions` must be finite and non-zero.")
    A = A / norms
    if check_bool(standardize, "standardize"):
        Xc = X - X.mean(axis=0)
        cov = Xc.T @ Xc / n
        w, V = np.linalg.eigh(cov)
        if not w.min() > 1e-12 * max(w.max(), 1e-300):
            raise ValueError("`X` has a singular covariance matrix; cannot standardize.")
        X = Xc @ (V / np.sqrt(w)) @ V.T
    P = X @ A
    ax = _axes(ax)
    kwargs.setdefault("histtype", "step")
    kwargs.setdefault("density", True)
    for j in range(P.shape[1]):
        ax.hist(P[:, j], bins=bins, label=f"direction {j + 1}", **kwargs)
    lim = max(4.0, float(np.abs(P).max()))
    grid = np.linspace(-lim, lim, 400)
    ax.plot(grid, np.exp(-0.5 * grid**2) / np.sqrt(2 * np.pi), color="k", linestyle="--", label="N(0, 1)")
    ax.set_xlabel("projection")
    ax.set_ylabel("density")
    ax.legend(loc="upper right")
    return ax


def plot_null(result, *, ax=None, bins=60, **kwargs):
    """Null distribution of a test statistic with the observed value marked.

    A Monte-Carlo null is drawn as a histogram of its simulated statistics; an
    analytic or tabulated one as its density (the derivative of its CDF). The
    upper tail beyond the observed statistic, whose probability is the
    p-value, is shaded.

    Parameters
    ----------
    result : TestResult
        A result of one test on one sample (scalar statistic), with its null.
    ax : matplotlib Axes, optional
    bins : int, default 60
        Histogram bins for a Monte-Carlo null.
    **kwargs
        Passed to ``ax.hist`` (Monte-Carlo null) or ``ax.plot`` (density).

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import normtest
    >>> res = normtest.anderson(np.random.default_rng(0).normal(size=50))
    >>> ax = res.plot()
    >>> ax.get_xlabel()
    'statistic'
    """
    stat = np.asarray(getattr(result, "statistic", np.nan), dtype=float)
    null = getattr(result, "null", None)
    if stat.size != 1 or null is None or isinstance(null, np.ndarray):
        raise ValueError("`result` must be the result of one test on one sample, with its null distribution.")
    stat = float(stat)
    bins = check_int(bins, "bins", minimum=1)
    ax = _axes(ax)
    sample = getattr(null, "sample", None)
    if sample is not None:
        kwargs.setdefault("density", True)
        kwargs.setdefault("color", "0.6")
        kwargs.setdefault("label", f"null ({sample.size} simulated)")
        _, edges, patches = ax.hist(sample, bins=bins, **kwargs)
        if np.isfinite(stat):  # the bars beyond the observed statistic make up the p-value
            for patch, left in zip(patches, edges[:-1]):
                if left >= stat:
                    patch.set_facecolor("C3")
                    patch.set_alpha(0.5)
        top = float(np.quantile(sample, 0.999))
        lo = float(sample.min())
    else:
        lo, top = _null_range(null)
    hi = max(top, stat * 1.05 if np.isfinite(stat) else top)
    if sample is None:
        grid = np.linspace(lo, hi, 600)
        dens = np.gradient(np.asarray(null.cdf(grid), dtype=float), grid)
        kwargs.setdefault("color", "0.3")
        kwargs.setdefault("label", "null density")
        ax.plot(grid, dens, **kwargs)
        if np.isfinite(stat):
            tail = grid >= stat
            ax.fill_between(grid[tail], 0, dens[tail], color="C3", alpha=0.3)
    if np.isfinite(stat):
        ax.axvline(stat, color="C3", label=f"observed {stat:.4g} (p = {float(result.pvalue):.3g})")
    ax.set_xlim(lo, hi)
    ax.set_xlabel("statistic")
    ax.set_ylabel("density")
    title = getattr(result, "test", "") or type(result).__name__
    ax.set_title(f"{title}: null distribution ({getattr(result, 'method', '')})")
    ax.legend(loc="upper right")
    return ax


def _null_range(null):
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


def draw_ecdf(result, *, ax=None, band="dkw", confidence_level=0.95, **kwargs):
    """Draw an :class:`~normtest.ECDFResult` as a step function (``ECDFResult.plot``), with a band.

    Parameters
    ----------
    result : ECDFResult
    ax : matplotlib Axes, optional
        ``None`` uses ``matplotlib.pyplot.gca()``.
    band : {"dkw", "pointwise"} or None, default "dkw"
        Band to shade (see ``ECDFResult.confidence_band``), or None for none.
    confidence_level : float, default 0.95
    **kwargs
        Passed to the one ``Axes.step`` call that draws F_n.

    Returns
    -------
    ax : matplotlib Axes

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import normtest
    >>> from normtest.plotting import draw_ecdf
    >>> ax = draw_ecdf(normtest.ecdf(np.random.default_rng(0).normal(size=50)), band="pointwise")
    >>> ax.get_ylabel()
    'cumulative probability'
    """
    if band is not None:
        band = result.confidence_band(confidence_level, kind=band)
    ax = _axes(ax, current=True)
    x = result.support
    if x.size:
        span = x[-1] - x[0]
        pad = 0.05 * span if span > 0 else 0.5
        xs = np.concatenate([[x[0] - pad], x, [x[-1] + pad]])
        ys = np.concatenate([[0.0], result.probabilities, [result.probabilities[-1]]])
    else:  # pragma: no cover - an ECDF always has at least one point
        xs = ys = np.array([])
    if band is not None and x.size:
        xb = np.concatenate([x, [xs[-1]]])
        ax.fill_between(xb, np.append(band.low, band.low[-1]), np.append(band.high, band.high[-1]),
                        step="post", alpha=0.25, linewidth=0,
                        label=f"{100 * band.confidence_level:g}% {band.kind} band")
    kwargs.setdefault("label", "ECDF")
    ax.step(xs, ys, where="post", **kwargs)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("cumulative probability")
    return ax
