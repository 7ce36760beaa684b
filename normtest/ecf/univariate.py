"""The one-dimensional Epps–Pulley (BHEP) test of normality."""

from __future__ import annotations

import warnings

import numpy as np

from .core import rows_statistic, standardize_rows
from .inference import EppsPulleyResult, check_args, epps_pulley_result, pvalue, quadrature_record
from .rules import AUTO_MAX_NODES, auto_rule, auto_rule_size
from .._validate import DegenerateDataWarning, NotAllFinite, all_finite, check_magnitude, vectorize_1d

__all__ = ["epps_pulley", "EppsPulleyResult"]

_CLOSED_FORM_MAX_N = 2048   # quadrature="exact": O(n^2) closed form up to here, ECF route beyond
_FAR_MAX = 512              # at most this many far points are handled pairwise
_PAIR_COST = 2.5            # cost of one pair term relative to one ECF node (measured, see docs)


# ---------------------------------------------------------------------------
# statistic cores (rows of Y are samples; Y is what the statistic sees)
# ---------------------------------------------------------------------------

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


def _exact_ecf(Y, beta, allow_far=True, R=None):
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
    if R is None:
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


# ---------------------------------------------------------------------------
# The 1-D test's fused path: standardisation and sums without forming (x - mean) / sd
# ---------------------------------------------------------------------------

_FAR_BETA_R = 6.0  # beyond beta * max|z| = 6 the far-point search may pay (see _far_radius)


def _fused_exact(data, beta, allow_far=True):
    """Exact statistic (auto rule) of the standardised rows of ``data`` in two reads of it.

    Pass 1 is :func:`~normtest.ecf._passes.row_moments` (the package's
    standardisation: power-of-two scale, corrected centre; a second pass for the rows
    it does not serve in one); pass 2 sums
    ``z = ((x / p - m) - c) / s`` inside the ECF kernel. Returns ``(T, rule, R, (C, S,
    affine))`` with ``R = max |z|`` (the sums and the standardisation, for the effect), or None where this path does not apply and the caller
    takes the general one: a (nearly) constant row, an overflowing sum, or (with
    `allow_far`) ``beta * R > 6``, where far points may be treated apart.
    """
    from ._kernels import ecf_sums_rows
    from ._passes import row_moments

    m, n = data.shape
    mom = row_moments(data)
    if not mom["ok"].all():  # NaN, inf or an overflowing sum
        return None
    s, mu, c = mom["s"], mom["m"], mom["c"]
    umin, umax = mom["umin"], mom["umax"]
    span_ok = (umax - umin) > 1e-12 * np.maximum(np.abs(umin), np.abs(umax))
    if not (span_ok.all() and (s > 0).all()):
        return None
    R = float(np.max(np.maximum(np.abs(((umax - mu) - c) / s), np.abs(((umin - mu) - c) / s))))
    if allow_far and beta * R > _FAR_BETA_R:
        return None
    rule = auto_rule(R, beta)
    affine = (mom["inv_p"], mu, c, 1.0 / s)
    C, S = ecf_sums_rows(data, rule.nodes, rule.step, affine=affine)
    return rule.statistic(C, S, np.full(m, float(n))), rule, R, (C, S, affine)


def _statistic(Y, beta, kind, rule):
    """Statistic of each row; kind in {'exact', 'auto', 'rule'}. Returns (T, info)."""
    n = Y.shape[1]
    if kind == "exact" and n <= _CLOSED_FORM_MAX_N:
        from ._kernels import ep_closed_form

        return ep_closed_form(Y, beta), {"rule": "exact", "algorithm": "closed-form O(n^2)"}
    if kind in ("exact", "auto"):
        R = _far_radius(np.abs(Y), beta)
        if auto_rule_size(R, beta)[1] > AUTO_MAX_NODES and n <= _CLOSED_FORM_MAX_N:
            # data far outside N(0, 1) (standardize=False): the closed form is exact and
            # bounded (O(n^2)), an ECF rule would need an unbounded number of nodes
            from ._kernels import ep_closed_form

            return ep_closed_form(Y, beta), {"rule": kind, "algorithm": "closed-form O(n^2)"}
        T, r, R, n_far = _exact_ecf(Y, beta, R=R)
        info = {"rule": kind, "algorithm": "ECF with auto rule, far points in closed form",
                **r.describe(), "far_radius": R}
        info["rule"] = kind
        return T, info
    return rows_statistic(Y, rule), rule.describe()


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
        Masked arrays: masked entries are left out (SciPy's convention;
        `nan_policy` applies to the NaN that are not masked). With
        ``standardize=False`` values beyond 1e150 raise ValueError.
    standardize : bool, default True
        ``True``: composite null (normal with unknown mean and variance); the
        data are standardised with the sample mean and the divisor-n standard
        deviation (the classical Epps–Pulley/Henze convention). ``False``:
        simple null, the data are tested against N(0, 1) as given.
    beta : float, default 1.0
        Width of the Gaussian weight (Henze scale; Epps–Pulley is beta = 1),
        in [0.1, 10].
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
        - ``"gauss-hermite"``: a 128-point Gauss–Hermite rule for the
          N(0, beta^2) weight (64 folded nodes, Henze scale), as in
          :func:`normtest.sliced_epps_pulley` and the torch backend.
        - ``(nodes, weights)`` or a ``QuadratureRule``: effective weights
          (quadrature weight times weight function) at the nodes; negative
          nodes are folded onto ``|t|``.
    method : None, "asymptotic", "table", "none" or MonteCarlo, default None
        How the p-value is obtained. ``None``: for beta = 1 with "auto"/"exact",
        finite-n Monte-Carlo tables shipped with the package (n >= 3; error
        below 0.003 at the 10/5/1% points, see Notes); otherwise the limit law
        (``"asymptotic"``) from the n where it is calibrated
        (:func:`normtest.ecf.laws.limit_min_n`: e.g. 20 for the LeJEPA presets
        under the composite null, 3 under the simple null), NaN and a
        :class:`normtest.SmallSampleWarning` below. A :class:`normtest.MonteCarlo` instance simulates
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
    hold Monte-Carlo quantiles for n = 3 ... 1000 (2e5 replicates each) and are
    interpolated in 1/n towards the limit law. Minimum sample size: n >= 3 (the
    tables' first row; with ``standardize=False`` n = 2 is accepted by Monte
    Carlo and ``method="asymptotic"``); smaller slices give NaN and a
    :class:`normtest.SmallSampleWarning`.

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
    standardize, beta, kind, rule, method = check_args(standardize, beta, quadrature, method)
    degenerate_seen = []
    infos = []
    groups = []

    def compute(data):
        m, n = data.shape
        fused = None
        if standardize and (kind == "auto" or (kind == "exact" and n > _CLOSED_FORM_MAX_N)):
            fused = _fused_exact(data, beta)  # two reads of the data, no (m, n) temporary
        if fused is None and not all_finite(data):
            raise NotAllFinite  # not yet checked (lazy_finite): vectorize_1d redoes it the checked way
        eff = np.full((3, m), np.nan)
        if fused is not None:
            T, r, R, (C, S, (pre, hi, lo, scale)) = fused
            info = {"rule": kind, "algorithm": "ECF with auto rule, far points in closed form",
                    **r.describe(), "far_radius": R}
            info["rule"] = kind
            ok = np.isfinite(T)
            if ok.any():  # the effect from the statistic's sums and a standardised subsample
                from .effect import effect_stride, ep_effect_sums

                col = (ok, None)
                Ys = ((data[:, ::effect_stride(n)][ok] * pre[col] - hi[col]) - lo[col]) * scale[col]
                eff[:, ok] = ep_effect_sums(Ys, C[ok], S[ok], r, R, T[ok], n, beta, standardize)
        else:
            if standardize:
                Y, degenerate = standardize_rows(data)
            else:
                check_magnitude(data)
                Y, degenerate = data, np.zeros(m, dtype=bool)
            if degenerate.any():
                degenerate_seen.append(int(degenerate.sum()))
            ok = ~degenerate
            T = np.full(m, np.nan)
            info = {}
            if ok.any():
                T_ok, info = _statistic(np.ascontiguousarray(Y[ok]), beta, kind, rule)
                T[ok] = T_ok
                if kind != "rule":
                    from .effect import ep_effect

                    eff[:, ok] = ep_effect(Y[ok], T_ok, beta, standardize)
        infos.append(info)
        res = pvalue(T, n, standardize=standardize, beta=beta, kind=kind, rule=rule, method=method)
        groups.append(res)
        out = {"statistic": T, "pvalue": res.pvalue, "effect": eff[0], "effect_low": eff[1],
               "effect_high": eff[2]}
        if res.se is not None:
            out["pvalue_se"] = res.se
        return out

    # the shipped tables start at n = 3 (both nulls): below it only Monte Carlo or an explicit limit law
    min_n = 3 if standardize or method in (None, "table") else 2
    res = vectorize_1d(x, axis=axis, nan_policy=nan_policy, min_n=min_n, compute=compute,
                       test="epps_pulley", keepdims=keepdims, copy=False,  # compute only reads
                       lazy_finite=True)  # the fused sums are not finite where the data are not
    if degenerate_seen:
        warnings.warn("epps_pulley: a sample has zero variance; its statistic and p-value are NaN.",
                      DegenerateDataWarning, stacklevel=2)
    return epps_pulley_result(res["statistic"], res["pvalue"], res["n"], groups, standardize=standardize,
                              beta=beta, method=method, quadrature=quadrature_record(kind, rule, infos),
                              pvalue_se=res.get("pvalue_se"), effect=res.get("effect"),
                              effect_ci=(res.get("effect_low"), res.get("effect_high")),
                              axis=axis, nan_policy=nan_policy)
