"""Figures for normality checks (matplotlib, imported only when a figure is drawn).

One rule for every figure: each function here, ``result.plot()`` of a test
result (:func:`plot_null`) and ``normtest.ecdf(x).plot()`` draw on the Axes
given as ``ax=`` and, when ``ax`` is None, on a **new figure** (never on the
current axes of an earlier figure); they return the Axes they drew on.
``pyplot`` is used only to create that figure. Missing values in the data are
dropped. Extra keyword arguments go to the main matplotlib call of each
function (named in its docstring).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._validate import as_float_sample, check_float, check_int, check_bool

__all__ = ["plot_ecdf", "plot_qq", "plot_ecf", "plot_projections", "plot_null"]


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
    ax = new_axes(ax)
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


_QQ_LINES = ("45", "s", "r", "q", None)


def plot_qq(x, *, standardize=True, line="s", confidence_level=0.95, ax=None, **kwargs):
    """Normal Q–Q plot: ordered sample against N(0, 1) quantiles, a reference line and an envelope.

    Plotting positions are Filliben's (those of :func:`scipy.stats.probplot`).
    The axes keep the range of the points: the reference line is drawn across
    the whole Axes without stretching it (``Axes.axline``).

    Parameters
    ----------
    x : array_like
        One-dimensional sample.
    standardize : bool, default True
        Standardise by the sample mean and standard deviation (ddof=1) first.
    line : {"s", "45", "r", "q", None}, default "s"
        Reference line, as in ``statsmodels.graphics.gofplots.qqplot``:
        ``"s"`` standardised line (intercept the sample mean, slope its
        standard deviation with ddof=1; the line y = x for a standardised
        sample),
        ``"45"`` the line y = x, ``"r"`` the least-squares line of the
        ordered sample on the quantiles, ``"q"`` the line through the
        quartiles, ``None`` no line (and no envelope).
    confidence_level : float or None, default 0.95
        Level of a pointwise envelope around the line: where the i-th ordered
        value of a normal sample lying on the line falls with this
        probability (the Beta(i, n + 1 - i) law of the i-th uniform order
        statistic mapped through the line). Exact for a fully specified line
        (``"45"`` on unstandardised data); approximate when the line is
        estimated from the sample. ``None``: no envelope. Pointwise: about
        ``(1 - level) n`` points fall outside it even under the null.
    ax : matplotlib Axes, optional
        Where to draw; None draws on a new figure.
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
    >>> len(ax.lines), len(ax.collections)  # points, line; envelope
    (2, 1)
    """
    from scipy import stats

    if not (line is None or (isinstance(line, str) and line in _QQ_LINES)):
        raise ValueError(f"`line` must be one of {list(_QQ_LINES)}. Got {line!r} instead.")
    level = None if confidence_level is None else check_float(confidence_level, "confidence_level",
                                                              low=0.0, high=1.0)
    z = _sample(x, standardize)
    ax = new_axes(ax)
    osm, osr = stats.probplot(z, dist="norm", fit=False)
    kwargs.setdefault("marker", "o")
    kwargs.setdefault("linestyle", "none")
    kwargs.setdefault("markersize", 4)
    kwargs.setdefault("zorder", 3)
    ax.plot(osm, osr, **kwargs)
    if line is not None:
        a, b = _qq_line(line, osm, osr)
        ax.axline((0.0, a), slope=b, color="C3", linewidth=1, label=f"line {line!r}")
        if level is not None:
            lo, hi = qq_envelope(osr.size, level)
            ax.fill_between(osm, a + b * lo, a + b * hi, color="C3", alpha=0.15, linewidth=0,
                            label=f"{level:.0%} pointwise envelope")
    ax.set_xlabel("N(0, 1) quantile")
    ax.set_ylabel("ordered standardised sample" if standardize else "ordered sample")
    return ax


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


def _qq_line(line, osm, osr):
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


def plot_ecf(x, *, standardize=True, quadrature="auto", t_max=None, ax=None, **kwargs):
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
    quadrature : str, QuadratureRule, (nodes, weights) or None, default "auto"
        Rule whose nodes are marked, as in :func:`normtest.epps_pulley`,
        whose default is also ``"auto"``: the equispaced Henze-scale rule that
        ``epps_pulley`` sizes for this sample (far outliers go to its closed
        form, so the rule may cover less than the largest ``|x|``). ``None``
        or ``"exact"``: no markers.
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
        if isinstance(quadrature, str) and quadrature == "auto":  # the rule epps_pulley uses on x
            from .ecf.univariate import epps_pulley

            info = epps_pulley(x, standardize=False).quadrature
            nodes = info["step"] * np.arange(1, info["n_nodes"] + 1)
        else:
            nodes = np.asarray(get_rule(quadrature).nodes, dtype=float)
    if t_max is None:
        t_max = max(5.0, 1.05 * float(nodes.max())) if nodes is not None and nodes.size else 5.0
    t_max = check_float(t_max, "t_max", low=0.0)
    ax = new_axes(ax)
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
    kwargs.setdefault("label", r"$\mathrm{Re}\,\psi_n(t)$")
    ax.plot(t, re, **kwargs)
    ax.plot(t, im, color="C1", label=r"$\mathrm{Im}\,\psi_n(t)$")
    ax.plot(t, np.exp(-0.5 * t**2), color="C3", linestyle="--", label=r"$e^{-t^2/2}$")
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
    ax = new_axes(ax)
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
    analytic or tabulated one as its density. The upper tail beyond the
    observed statistic, whose probability is the p-value, is shaded.

    The density is the derivative of a smooth fit to the law's CDF: a
    least-squares cubic spline of ``probit(F)`` against ``log x`` with 8
    knots; its CDF is within 0.013 (Stephens' A² law), 0.007 (W²) and 0.003
    (Epps–Pulley table) of the law's, the largest gaps where the pieces of the
    approximation meet. Differentiating the CDF itself would draw
    the approximations, not the law: Stephens' formulas are pieced together
    at A* = 0.2, 0.34, 0.6 (W* = 0.0275, 0.051, 0.092) with small jumps, and
    the Epps–Pulley tables are interpolated in the quantile, so finite
    differences give spikes and steps there.

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
    ax = new_axes(ax)
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
        dens = null_density(null, grid)
        kwargs.setdefault("color", "0.3")
        kwargs.setdefault("label", "null density")
        ax.plot(grid, dens, **kwargs)
        if np.isfinite(stat):
            tail = (grid >= stat) & np.isfinite(dens)
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
