"""The one-dimensional Epps–Pulley (BHEP) test of normality."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .rules import QuadratureRule, auto_rule, get_rule
from .._result import TestResult
from .._validate import DegenerateDataWarning, check_bool, check_float, vectorize_1d
from ..null import MonteCarlo, check_method, monte_carlo_null

__all__ = ["epps_pulley", "EppsPulleyResult"]

_CLOSED_FORM_MAX_N = 2048   # quadrature="exact": O(n^2) closed form up to here, ECF route beyond
_FAR_MAX = 512              # at most this many far points are handled pairwise
_PAIR_COST = 2.5            # cost of one pair term relative to one ECF node (measured, see docs)


@dataclass(frozen=True, repr=False, eq=False)
class EppsPulleyResult(TestResult):
    """Result of :func:`epps_pulley`: a `TestResult` plus the quadrature used.

    Attributes
    ----------
    quadrature : dict
        The rule actually used: ``rule`` ("exact", "auto", "lejepa", "paper" or
        "custom"), its scale, node count, step and aliasing period ``2*pi/step``,
        and for "auto"/"exact" on the ECF route the radius beyond which points
        were treated in closed form (``far_radius``) and how many were
        (``n_far``, per column).
    """

    quadrature: dict = None


# ---------------------------------------------------------------------------
# statistic cores (rows of Y are samples; Y is what the statistic sees)
# ---------------------------------------------------------------------------

def _standardize_rows(X):
    """(X - mean) / sd with the divisor-n sd; rows with sd == 0 give NaN rows and a flag."""
    mean = X.mean(axis=1, keepdims=True)
    Z = X - mean
    sd = np.sqrt(np.mean(Z * Z, axis=1, keepdims=True))
    # relative test for a constant row (rounding can leave a tiny sd)
    scale = np.maximum(np.abs(mean), np.max(np.abs(X), axis=1, keepdims=True))
    degenerate = (sd <= 1e-13 * scale).ravel() | (sd == 0).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        Y = Z / sd
    Y[degenerate] = np.nan
    return Y, degenerate


def _far_radius(A, beta, allow_far=True):
    """Radius R minimising the total work m K(R) + cost * #{|y| > R} over all rows.

    ``A`` holds |y| (m, n). The ECF sums cost ``n K(R)`` per row and every far
    point ``n`` pair terms, so R is chosen once for the whole batch (candidates:
    the largest values of each row, at most ``_FAR_MAX`` per row).
    """
    m, n = A.shape
    rmax = float(A.max()) if A.size else 0.0
    F = min(n - 1, _FAR_MAX)
    # below beta * R = 6 the period is set (or nearly) by its floor 10/beta'', so taking
    # points out saves at most a few nodes: not worth the search (the common, Gaussian case)
    if not allow_far or F <= 0 or A.size == 0 or rmax * beta <= 6.0:
        return rmax
    if n > F + 1:
        top = -np.partition(-A, F, axis=1)[:, :F + 1]
    else:
        top = A
    floor = float(top.min(axis=1).max())   # below this some row's list would be incomplete
    cand = np.sort(top.ravel())[::-1]
    cand = cand[cand >= floor]
    # candidate j: R = cand[j], far points = those strictly above it (j of them, ties aside)
    f_tot = np.arange(cand.size)
    b = float(beta)
    bp = b / np.sqrt(1.0 + b * b)
    bpp = b / np.sqrt(1.0 + 2.0 * b * b)
    period = np.maximum.reduce([2.0 * cand + 10.0 / b, cand + 10.0 / bp, np.full_like(cand, 10.0 / bpp)])
    K = np.ceil(9.0 * b * period / (2.0 * np.pi))
    cost = m * K + _PAIR_COST * f_tot
    return float(cand[int(np.argmin(cost))])


def _exact_ecf(Y, beta, allow_far=True):
    """Exact T_{n,beta} of each row by the ECF route (auto rule + far points in closed form).

    Points with ``|y| > R`` are removed from the ECF sums (their cos/sin are
    subtracted exactly) and their terms of the closed form are added directly:
    ``T = Q_near + (1/n) [2 sum_{near, far} G + sum_{far, far} G + h phi_beta(0) f^2]
    - 2 a0 sum_far g``, where ``Q_near`` is the auto rule's statistic of the near
    points with the full n (it carries the constant term and the near points'
    linear terms) and the ``h phi_beta(0) f^2`` term is the trapezoid's node at
    t = 0, where ``C_near(0) - n = -f`` no longer vanishes.
    Returns (T, rule, R, n_far per row).
    """
    from ._kernels import ecf_sums_rows, ep_pair_cross

    m, n = Y.shape
    A = np.abs(Y)
    R = _far_radius(A, beta, allow_far)
    rule = auto_rule(R, beta)
    C, S = ecf_sums_rows(Y, rule.nodes, step=rule.step)
    b2 = beta * beta
    a0 = (1.0 + b2) ** -0.5
    g = b2 / (1.0 + b2)
    corr = np.zeros(m)
    n_far = np.zeros(m, dtype=np.int64)
    far_rows = np.nonzero((A > R).any(axis=1))[0] if (m and allow_far) else []
    for r in far_rows:
        mask = A[r] > R
        yf = Y[r, mask]
        yn = Y[r, ~mask]
        n_far[r] = yf.size
        ang = rule.nodes[None, :] * yf[:, None]
        C[r] -= np.cos(ang).sum(axis=0)
        S[r] -= np.sin(ang).sum(axis=0)
        cross = ep_pair_cross(yn, yf, beta).sum()
        d = yf[:, None] - yf[None, :]
        ff = np.exp(-0.5 * b2 * d * d).sum()
        # the folded rule drops the node t = 0, where the near points' integrand is
        # (n_near - n)^2 = n_far^2 rather than 0: add its trapezoid term back
        t0 = rule.step * n_far[r] ** 2 / (beta * np.sqrt(2.0 * np.pi))
        corr[r] = (2.0 * cross + ff + t0) / n - 2.0 * a0 * np.exp(-0.5 * g * yf * yf).sum()
    T = rule.statistic(C, S, np.full(m, float(n))) + corr
    return T, rule, R, n_far


def _rule_stat(Y, rule: QuadratureRule):
    from ._kernels import ecf_sums_rows

    C, S = ecf_sums_rows(Y, rule.nodes, step=rule.lattice_step)
    return rule.statistic(C, S, np.full(Y.shape[0], float(Y.shape[1])))


def _statistic(Y, beta, kind, rule):
    """Statistic of each row; kind in {'exact', 'auto', 'rule'}. Returns (T, info)."""
    n = Y.shape[1]
    if kind == "exact" and n <= _CLOSED_FORM_MAX_N:
        from ._kernels import ep_closed_form

        return ep_closed_form(Y, beta), {"rule": "exact", "algorithm": "closed-form O(n^2)"}
    if kind in ("exact", "auto"):
        T, r, R, n_far = _exact_ecf(Y, beta)
        info = {"rule": kind, "algorithm": "ECF with auto rule, far points in closed form",
                **r.describe(), "far_radius": R, "n_far": n_far}
        info["rule"] = kind
        return T, info
    return _rule_stat(Y, rule), rule.describe()


def _mc_statistic(X, standardize, beta, kind, rule):
    """Statistic of simulated rows (the ECF route even for 'exact': equal to ~1e-10)."""
    if standardize:
        X, _ = _standardize_rows(X)
    if kind in ("exact", "auto"):
        # N(0, 1) samples: no far outliers, so skip the radius search
        return _exact_ecf(X, beta, allow_far=False)[0]
    return _rule_stat(X, rule)


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------

def _epps_pulley_iv(standardize, beta, quadrature, method):
    standardize = check_bool(standardize, "standardize")
    beta = check_float(beta, "beta", low=0.0, high=None)
    rule = None
    if isinstance(quadrature, str):
        if quadrature in ("exact", "auto"):
            kind = quadrature
        elif quadrature in ("lejepa", "paper"):
            kind = "rule"
            rule = get_rule(quadrature)
        else:
            raise ValueError(
                "`quadrature` must be 'auto', 'exact', 'lejepa', 'paper', a QuadratureRule or a "
                f"(nodes, weights) pair. Got {quadrature!r} instead."
            )
    elif isinstance(quadrature, (QuadratureRule, tuple, list)):
        kind = "rule"
        rule = get_rule(quadrature, beta)
    else:
        raise TypeError(
            "`quadrature` must be a str ('auto', 'exact', 'lejepa', 'paper'), a QuadratureRule or a "
            f"(nodes, weights) pair. Got {quadrature!r} instead."
        )
    method = check_method(method, allowed=("asymptotic", "table", "none"))
    if method == "table" and not (kind in ("exact", "auto") and beta == 1.0):
        raise ValueError("`method`='table' is available only for beta=1.0 with quadrature "
                         f"'auto' or 'exact'. Got beta={beta!r}, quadrature={quadrature!r} instead.")
    return standardize, beta, kind, rule, method


# ---------------------------------------------------------------------------
# public function
# ---------------------------------------------------------------------------

def epps_pulley(x, *, standardize=True, beta=1.0, quadrature="auto", method=None, axis=0,
                nan_policy="propagate", keepdims=False):
    r"""Epps–Pulley (BHEP) test of normality based on the empirical characteristic function.

    The statistic is Henze's

    .. math:: T_{n,\beta} = n \int |\psi_n(t) - e^{-t^2/2}|^2 \varphi_\beta(t)\,dt,

    with :math:`\psi_n` the empirical characteristic function of the
    (standardised) sample and :math:`\varphi_\beta` the N(0, beta^2) density.
    Large values reject normality.

    Parameters
    ----------
    x : array_like
        Sample(s). The test is applied to every 1-D slice along `axis`.
    standardize : bool, default True
        ``True``: composite null (normal with unknown mean and variance); the
        data are standardised with the sample mean and the divisor-n standard
        deviation (the classical Epps–Pulley/Henze convention). ``False``:
        simple null, the data are tested against N(0, 1) as given.
    beta : float, default 1.0
        Width of the Gaussian weight (Henze scale; Epps–Pulley is beta = 1).
        Ignored by the LeJEPA presets, which fix their own weight.
    quadrature : str, QuadratureRule or (nodes, weights), default "auto"
        How the integral is evaluated:

        - ``"auto"``: ECF sums with an equispaced rule sized to the data's range
          (period beyond twice the largest ``|y|``), far outliers in closed
          form; equals the exact statistic to about 1e-10 relative, O(n K).
        - ``"exact"``: the closed form (O(n^2), compensated) for
          ``n <= 2048``, the ``"auto"`` algorithm beyond.
        - ``"lejepa"``: LeJEPA's official rule (``linspace(0, 3, 17)``, folded
          trapezoid, weight ``exp(-t^2/2)``), on LeJEPA's scale
          (``sqrt(2 pi) T_{n,1}`` in the exact limit).
        - ``"paper"``: the LeJEPA paper's rule (``linspace(-5, 5, 17)``), same scale.
        - ``(nodes, weights)`` or a ``QuadratureRule``: effective weights
          (quadrature weight times weight function) at the nodes; negative
          nodes are folded onto ``|t|``.
    method : None, "asymptotic", "table", "none" or MonteCarlo, default None
        How the p-value is obtained. ``None``: for beta = 1 with "auto"/"exact",
        finite-n Monte-Carlo tables shipped with the package (n >= 5; error
        below 0.003 at the 10/5/1% points, see Notes); otherwise the limit law
        (``"asymptotic"``). A :class:`normtest.MonteCarlo` instance simulates
        the null of exactly the statistic computed, for any settings.
        ``"none"``: the statistic alone (``pvalue`` NaN, ``null`` None).
    axis : int or None, default 0
        Axis along which to test; ``None`` flattens.
    nan_policy : {"propagate", "omit", "raise"}, default "propagate"
        Handling of NaN in a slice.
    keepdims : bool, default False
        Keep the reduced axis with length 1.

    Returns
    -------
    EppsPulleyResult
        ``statistic``, ``pvalue``, ``n``, ``method``, ``null`` (the law used,
        with ``sf``/``cdf``/``ppf``), ``settings`` and ``quadrature`` (the rule
        and its aliasing period). Unpacks as ``(statistic, pvalue)``.

    Notes
    -----
    The exact statistic has the closed form (Baringhaus & Henze 1988)

    .. math:: T_{n,\beta} = \frac1n\sum_{j,k} e^{-\beta^2(Y_j-Y_k)^2/2}
              - \frac{2}{\sqrt{1+\beta^2}}\sum_j e^{-\beta^2 Y_j^2/(2(1+\beta^2))}
              + \frac{n}{\sqrt{1+2\beta^2}}.

    Null laws. In the limit the statistic is a weighted sum of independent
    chi-square(1) variables whose weights are the eigenvalues of the limit
    covariance operator (with the degree-1 and 2 Hermite directions projected
    out under the composite null); its tail is computed by Imhof's inversion.
    For any quadrature rule the law is that of the rule (a finite list of
    eigenvalues), so nulls always match the statistic computed. Limit upper
    10/5/1% points for beta = 1: 0.29138/0.37816/0.58575 (composite),
    0.90739/1.17830/1.83287 (simple). The default tables (``method`` "table")
    hold Monte-Carlo quantiles for n = 5 ... 1000 (2e5 replicates each) and are
    interpolated in 1/n towards the limit law.

    Monte Carlo: the statistic of ``n_resamples`` N(0, 1) samples (standardised
    as the data are), p = (b + 1)/(B + 1) (see :class:`normtest.MonteCarlo`).

    Examples
    --------
    >>> import numpy as np
    >>> import normtest
    >>> rng = np.random.default_rng(12345)
    >>> x = rng.normal(loc=3.0, scale=2.0, size=200)
    >>> res = normtest.epps_pulley(x)
    >>> print(round(res.statistic, 4), round(res.pvalue, 3), res.method)
    0.1572 0.301 table
    >>> res = normtest.epps_pulley(rng.exponential(size=200))
    >>> print(res.pvalue < 0.001)
    True

    LeJEPA's official rule on LeJEPA's scale (fully specified N(0, 1)):

    >>> res = normtest.epps_pulley(rng.standard_normal(1000), standardize=False, quadrature="lejepa")
    >>> print(round(res.statistic, 4), round(res.quadrature["period"], 2), res.method)
    2.7594 33.51 asymptotic
    """
    standardize, beta, kind, rule, method = _epps_pulley_iv(standardize, beta, quadrature, method)
    degenerate_seen = []
    infos = []

    def compute(data):
        m, n = data.shape
        if standardize:
            Y, degenerate = _standardize_rows(data)
        else:
            Y, degenerate = data, np.zeros(m, dtype=bool)
        if degenerate.any():
            degenerate_seen.append(int(degenerate.sum()))
        ok = ~degenerate
        T = np.full(m, np.nan)
        info = {}
        if ok.any():
            T_ok, info = _statistic(np.ascontiguousarray(Y[ok]), beta, kind, rule)
            T[ok] = T_ok
            if "n_far" in info:
                nf = np.zeros(m, dtype=np.int64)
                nf[ok] = info["n_far"]
                info["n_far"] = nf
        infos.append(info)
        pvalue, se, null, how = _pvalue(T, n, standardize, beta, kind, rule, method)
        out = {"statistic": T, "pvalue": pvalue, "_meta": {"null": null, "method": how}}
        if se is not None:
            out["pvalue_se"] = se
        return out

    min_n = 3 if standardize else 2
    res = vectorize_1d(x, axis=axis, nan_policy=nan_policy, min_n=min_n, compute=compute,
                       test="epps_pulley", keepdims=keepdims)
    if degenerate_seen:
        warnings.warn("epps_pulley: a sample has zero variance; its statistic and p-value are NaN.",
                      DegenerateDataWarning, stacklevel=2)
    metas = res["meta"]
    methods = sorted({m_["method"] for m_ in metas})
    how = methods[0] if len(methods) == 1 else "+".join(methods) if methods else _describe_method(method)
    nulls = [m_["null"] for m_ in metas]
    if len(nulls) == 1:
        null = nulls[0]
    elif not nulls:
        null = None
    else:
        null = np.empty(len(nulls), dtype=object)
        null[:] = nulls
    quad = _quadrature_record(kind, rule, infos, res)
    settings = {"beta": beta, "quadrature": quad.get("rule"), "axis": axis, "nan_policy": nan_policy}
    if isinstance(method, MonteCarlo):
        settings.update(method.settings())
    seed = None
    if isinstance(method, MonteCarlo) and nulls:
        seed = getattr(nulls[0], "seed", None)
    return EppsPulleyResult(
        statistic=res["statistic"], pvalue=res["pvalue"], n=res["n"], standardize=standardize,
        method=how, null=null, test="epps_pulley", settings=settings,
        pvalue_se=res.get("pvalue_se"), seed=seed, quadrature=quad,
    )


def _describe_method(method):
    if isinstance(method, MonteCarlo):
        return "monte-carlo"
    return method or "table"


def _quadrature_record(kind, rule, infos, res):
    if kind == "rule":
        return rule.describe()
    merged = {"rule": kind}
    for info in infos:
        if not info:
            continue
        for k, v in info.items():
            if k in ("n_far",):
                continue
            if k in ("n_nodes", "far_radius", "spread", "t_max") and k in merged:
                merged[k] = max(merged[k], v)
            elif k == "step" and k in merged:
                merged[k] = min(merged[k], v)
            else:
                merged[k] = v
        merged["rule"] = kind
    if "step" in merged:
        merged["period"] = 2.0 * np.pi / merged["step"]
    return merged


def _pvalue(T, n, standardize, beta, kind, rule, method):
    """p-values of one group of equal n. Returns (p, se, null, method string)."""
    from .laws import asymptotic_null, table_null

    if method == "none":  # the statistic alone
        return np.full(np.shape(T), np.nan), None, None, "none"
    if isinstance(method, MonteCarlo):
        key = ("epps_pulley", n, standardize, beta, kind if kind != "rule" else
               ("rule", rule.nodes.tobytes(), rule.weights.tobytes()))

        def simulate(size, gen):
            X = gen.standard_normal((size, n))
            return _mc_statistic(X, standardize, beta, "auto" if kind != "rule" else "rule", rule)

        params = {"test": "epps_pulley", "n": n, "standardize": standardize, "beta": beta,
                  "statistic": "exact" if kind != "rule" else rule.name}
        null = monte_carlo_null(key, simulate, method, values_per_resample=n, params=params)
        p = np.asarray(null.sf(T), dtype=float)
        return p, np.asarray(null.pvalue_se(T), dtype=float), null, "monte-carlo"
    default_ok = kind in ("exact", "auto") and beta == 1.0
    if method in (None, "table") and default_ok:
        null = table_null(n, standardize)
        if null is not None:
            return np.asarray(null.sf(T), dtype=float), None, null, "table"
        if method == "table":
            raise ValueError(f"No finite-n table covers n={n}.")
    null = asymptotic_null(beta, standardize, None if kind != "rule" else rule)
    p = np.asarray(null.sf(T), dtype=float)
    return p, None, null, "asymptotic"

