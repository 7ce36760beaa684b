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

from ._figures import new_axes, null_density, null_range, projections, qq_envelope, qq_line
from ._figures import sample as _sample
from ._validate import check_float, check_int

__all__ = ["plot_ecdf", "plot_qq", "plot_ecf", "plot_projections", "plot_null", "draw_ecdf"]


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
        a, b = qq_line(line, osm, osr)
        ax.axline((0.0, a), slope=b, color="C3", linewidth=1, label=f"line {line!r}")
        if level is not None:
            lo, hi = qq_envelope(osr.size, level)
            ax.fill_between(osm, a + b * lo, a + b * hi, color="C3", alpha=0.15, linewidth=0,
                            label=f"{level:.0%} pointwise envelope")
    ax.set_xlabel("N(0, 1) quantile")
    ax.set_ylabel("ordered standardised sample" if standardize else "ordered sample")
    return ax


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

    x = _sample(x, standardize, ddof=0)  # as epps_pulley standardises
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
        uniformly at random from `rng`; at most 64.
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
    P = projections(X, directions, standardize, rng)
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
        lo, top = null_range(null)
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


def draw_ecdf(result, *, ax=None, band="dkw", confidence_level=0.95, **kwargs):
    """Draw an :class:`~normtest.ECDFResult` as a step function (``ECDFResult.plot``), with a band.

    Parameters
    ----------
    result : ECDFResult
    ax : matplotlib Axes, optional
        Where to draw; ``None`` draws on a new figure (the rule of every normtest plot).
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
    ax = new_axes(ax, "ECDFResult.plot")
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
