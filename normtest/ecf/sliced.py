"""Multivariate normality: the sliced Epps–Pulley test (SIGReg) and BHEP/Henze–Zirkler.

``sliced_epps_pulley`` projects the rows of an (N, D) sample onto M unit
directions, computes the Epps–Pulley statistic of every projection from the
additive ECF sums ``(C, S, n)`` (streamed over row chunks: one BLAS call per
chunk, never an N x M x K array) and reduces over slices. With
``quadrature="paper"`` and the same directions its mean is the SIGReg loss of
LeJEPA's Algorithm 1; with ``"lejepa"`` the official package's
``SlicingUnivariateTest(EppsPulley())``. ``directions="all"`` replaces the
random directions by their exact average over the sphere (a ``1F1`` kernel).

``bhep`` and ``henze_zirkler`` compute the exact multivariate BHEP statistic
``T_{n,beta}`` (docs/theory.md §2) by a streamed O(n^2) double sum in numba.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._result import TestResult
from .._validate import (MAX_MAGNITUDE, SmallSampleWarning, check_beta, check_bool, check_choice, check_int,
                         check_magnitude, check_nan_policy, resolve_rng)
from ..null import MonteCarlo, check_method, monte_carlo_null
from .._matrix import _as_matrix, _drop_nan_rows, _whitener, _check_directions, _null_batch
from ._stream import _auto_sums, _projected_sums, _max_row_norm, _scan
from .rules import auto_rule, check_quadrature
from .sliced_laws import _null_rule, _simulate_sliced
from ._sliced_dispatch import (asymptotic_pvalue, null_moments, _gamma_null, _gram_key, _rule_key,
                               min_sample_size, small_sample_message, small_sample_method)

__all__ = ["sliced_epps_pulley", "SlicedResult", "sliced_pvalue", "min_sample_size"]

_NO_EXACT = ("`quadrature='exact'` is not available for the sliced test; use 'auto' "
             "(exact to ~1e-10) or directions='all'.")


@dataclass(frozen=True, repr=False, eq=False)
class SlicedResult(TestResult):
    """Result of :func:`sliced_epps_pulley` (a :class:`~normtest.TestResult`).

    Attributes
    ----------
    slice_statistics : ndarray, shape (M,)
        Epps–Pulley statistic of every slice (empty for ``directions="all"``).
    columns : list or None
        Column names of a DataFrame input.
    directions : ndarray, shape (D, M)
        The unit directions used (not written by ``to_dict``; reproduce them
        from ``seed``).
    null_moments : dict
        Null mean and variance of the statistic: exact at this n under the
        simple null (``standardize=False``), limit values otherwise.
    quadrature : dict
        Description of the quadrature rule.
    effect, effect_ci : float, (float, float)
        Mean over the slices of the population distance each slice's
        statistic estimates, with a 95% interval (``reduction="mean"`` on the
        Henze scale, else None; see :mod:`normtest.ecf.effect`).
    """

    slice_statistics: Any = field(default=None, repr=False)
    columns: Any = field(default=None, repr=False)
    directions: Any = field(default=None, repr=False, metadata={"record": False})
    null_moments: Any = field(default=None, repr=False)
    quadrature: Any = field(default=None, repr=False)
    effect: Any = None
    effect_ci: Any = None

    @property
    def hypothesis(self) -> str:
        """The null hypothesis tested, in words."""
        if self.standardize:
            return "multivariate normal with unknown mean and covariance (data whitened)"
        return "N(0, I): standard multivariate normal, zero mean and identity covariance"

    def __repr__(self) -> str:
        head, _, rest = super().__repr__().partition("\n")
        return f"{head}\n    H0: {self.hypothesis},\n{rest}"


# ---------------------------------------------------------------------------
# public: sliced Epps–Pulley
# ---------------------------------------------------------------------------

def sliced_epps_pulley(X, *, n_slices=256, directions=None, rng=None, standardize=False, beta=1.0,
                       quadrature="auto", reduction="mean", method=None, nan_policy="propagate"):
    r"""Sliced Epps–Pulley test (SIGReg); by default of H0: X ~ N(0, I_D), the standard normal.

    By default (``standardize=False``) the null hypothesis is SIGReg's
    target, the *standard* multivariate normal: zero mean and identity
    covariance. Data with other means, scales or correlations are rejected
    even when they are normal; ``standardize=True`` tests "multivariate
    normal with unknown mean and covariance" instead (what
    ``normtest.check(..., multivariate=True)`` uses). ``result.hypothesis``
    and the repr say which.

    Each row of `X` is projected onto M unit directions; every projection gets
    the one-dimensional Epps–Pulley statistic
    ``n * sum_k omega_k |psi_n(t_k) - exp(-t_k^2/2)|^2`` (a quadrature of the
    weighted ECF distance), and the slice statistics are reduced by their mean
    (the SIGReg loss of LeJEPA), their maximum, or returned as they are. By the
    Cramér–Wold theorem a law whose projections are all N(0, 1) is N(0, I_D).

    Parameters
    ----------
    X : array_like or pandas.DataFrame, shape (N, D)
        Sample: N observations (rows) of D variables. A 1-d array is one
        variable (D = 1). A DataFrame must have numeric columns; their names
        are recorded in ``result.columns``. float32 input stays float32 in the
        projection (the sums are accumulated in float64), each row computed
        at a fixed place of a fixed-shape product on one BLAS thread, so the
        result does not depend on the thread count and the streaming
        accumulators reproduce it whatever the batches. A masked array drops
        every row with a masked entry. With ``standardize=False`` values beyond
        1e150 raise ValueError, and data so far outside N(0, I) that the
        ``"auto"`` rule would need more than 32768 nodes raise ValueError too.
    n_slices : int, default 256
        Number M of random directions (ignored when `directions` is given).
    directions : None, "all" or array_like of shape (D, M)
        ``None``: M directions ``g / ||g||`` with ``g ~ N(0, I_D)`` drawn from
        `rng` (uniform on the sphere). An array: user directions, one per
        column; they must be finite and non-zero and are **normalised to unit
        length** (a scaled direction would test N(0, c^2) instead).
        ``"all"``: the exact average of the statistic over uniformly
        distributed directions, a closed-form O(N^2) kernel statistic with the
        confluent hypergeometric kernel ``1F1(1/2; D/2; .)`` (docs/theory.md §6.2) on
        the Henze scale: free of direction randomness, for small N.
    rng : None, int or numpy.random.Generator
        Randomness for the directions (and for Monte Carlo when
        ``method=MonteCarlo()`` has no ``rng`` of its own). An int seed, or
        ``result.seed`` fed back, reproduces the directions.
    standardize : bool, default False
        ``False``: H0 is N(0, I_D), SIGReg's isotropic target. ``True``: H0 is
        "normal with unknown mean and covariance"; the data are standardised
        by the sample mean and the divisor-N covariance through its symmetric
        inverse square root (so the test is affine invariant in law). A
        singular or near-singular covariance raises ValueError.
    beta : float, default 1.0
        Width (in [0.1, 10]) of the Gaussian weight N(0, beta^2) of the Henze-scale rules
        (``"auto"``, ``"gauss-hermite"``, ``directions="all"``). Must be 1
        with the LeJEPA presets.
    quadrature : str, QuadratureRule or (nodes, weights), default "auto"
        ``"auto"``: an equispaced rule on the Henze scale sized from the
        largest absolute projection (guessed from a row subsample, checked in the
        pass that sums, recomputed if exceeded) so that every slice
        statistic equals the exact integral ``T_{N,beta}`` to about 1e-10.
        ``"lejepa"``: nodes ``linspace(0, 3, 17)``, folded trapezoid, weight
        ``exp(-t^2/2)``, times N (official LeJEPA ``EppsPulley``). ``"paper"``:
        ``linspace(-5, 5, 17)``, plain trapezoid (LeJEPA Algorithm 1). Or a
        custom rule. See ``docs/sliced.md`` for the scales.
    reduction : {"mean", "max", "none"}, default "mean"
        How slice statistics are combined; ``"none"`` returns all of them
        (statistic and pvalue of shape (M,)). ``result.slice_statistics``
        always holds them.
    method : None, "asymptotic", "none" or MonteCarlo
        ``None``/``"asymptotic"``: for ``"mean"`` the limit law of the slice
        mean for *these* directions, ``sum_i lambda_i chi2_1`` over the
        eigenvalues of the joint covariance of all slices, written in the
        Hermite degree basis (Mehler's formula, docs/theory.md §6.4) and
        compressed onto the ``P`` leading components of the rule (``P`` =
        256 // M, at least 1; the rest enters as a scaled chi-square with its
        exact mean and variance), evaluated by Imhof's method. Measured error
        of the law against the exact spectrum: below 5e-5 at the 10/5/1%
        points for ``P >= 2``, below 1e-3 for ``P = 1`` (``null.describe()``
        gives ``components`` and ``law_error``; docs/sliced.md). Beyond 2048
        slices a gamma law with the null mean and variance
        (``"gamma-moments"``, approximate in the far tail). For ``"max"`` a
        Bonferroni bound ``min(1, M p_1(max))`` from the one-slice law
        (conservative, method ``"asymptotic-bonferroni"``); for ``"none"``
        each slice's own limit law. With ``directions="all"``: a gamma law
        with the exact finite-N mean and variance (simple null;
        ``"gamma-moments"``), Monte Carlo for the composite null.
        ``MonteCarlo(...)``: simulate the statistic under the null with the
        same directions and rule (exact at this N). ``"none"``: the statistic
        alone (``pvalue`` NaN, ``null`` None; ``slice_statistics`` kept).
    nan_policy : {"propagate", "omit", "raise"}
        Rows with NaN: give a NaN result, are dropped, or raise.

    Returns
    -------
    SlicedResult
        ``statistic``, ``pvalue`` (unpacks as a pair), ``slice_statistics``,
        ``directions``, ``null_moments``, ``method``, ``null``, ``seed``...

    Notes
    -----
    Under the simple null the exact finite-N mean of every slice statistic is
    ``sum_k omega_k (1 - exp(-t_k^2))`` (``1 - (1 + 2 beta^2)^(-1/2)`` for the
    exact integral) and the exact variance of the slice mean follows from the
    direction cosines ``A^T A`` (docs/theory.md §6.3); both are in
    ``result.null_moments``. Under the composite null with the symmetric root
    the estimation effects remove exactly the Hermite components of degree 1
    and 2 of every slice feature, which gives the composite limit law.

    Small samples: the limit law from n = 3 (simple) / max(6 D + 50, 7 D)
    (composite null), where it is calibrated (docs/sliced.md). Below, the
    default is an exact 999-resample Monte-Carlo p-value (drawn from `rng`;
    ``settings["method_reason"]`` says why) where its estimated cost is at most
    0.5 s, else a NaN p-value and a SmallSampleWarning naming
    ``method=MonteCarlo()`` (exact from n = 2 / D + 2; ``"asymptotic"``
    forces the limit law).

    The Monte-Carlo null depends on the directions only through ``A^T A``;
    when ``M <= D`` (simple null) the projections are simulated directly as
    ``N(0, A^T A)`` rows, O(N M^2) instead of O(N D M) per replicate. With
    ``reduction="none"`` the simulated slices are pooled (they share one
    marginal law), so ``n_resamples`` values come from about
    ``n_resamples / M`` simulated samples.

    Examples
    --------
    >>> import numpy as np
    >>> import normtest
    >>> X = np.random.default_rng(0).standard_normal((500, 8))
    >>> res = normtest.sliced_epps_pulley(X, n_slices=16, rng=1)
    >>> print(round(float(res.statistic), 4), round(float(res.pvalue), 3), res.method)
    0.3692 0.606 asymptotic

    The SIGReg value of LeJEPA's paper (Algorithm 1) on the same directions:

    >>> res = normtest.sliced_epps_pulley(X, n_slices=16, rng=1, quadrature="paper")
    >>> print(round(float(res.statistic), 4), round(float(res.pvalue), 3))
    0.9254 0.606
    """
    X, columns = _as_matrix(X, copy=False)
    sq, nan_row, n_inf = _scan(X)  # one pass: infinities, NaN rows, row norms (no copy of X)
    if n_inf:
        raise ValueError("`X` must not contain infinite values.")
    n_slices = check_int(n_slices, "n_slices", minimum=1)
    standardize = check_bool(standardize, "standardize")
    beta = check_beta(beta)
    reduction = check_choice(reduction, "reduction", ("mean", "max", "none"))
    method = check_method(method, allowed=("asymptotic", "none"))
    nan_policy = check_nan_policy(nan_policy)
    all_dirs = isinstance(directions, str)
    if all_dirs and directions != "all":
        raise ValueError(f"`directions` must be None, 'all' or a (D, M) array. Got {directions!r} instead.")
    gen, seed = resolve_rng(rng)
    D = X.shape[1]
    if all_dirs:
        if reduction != "mean":
            raise ValueError(f"`reduction` must be 'mean' with directions='all'. Got {reduction!r} instead.")
        if not (isinstance(quadrature, str) and quadrature == "auto"):
            raise ValueError("`quadrature` does not apply to directions='all' (an exact kernel statistic); "
                             f"leave it at 'auto'. Got {quadrature!r} instead.")
        A, source = None, "all"
    else:
        A, source = _check_directions(directions, D, n_slices, gen)
    M = 0 if A is None else A.shape[1]
    kind, rule = check_quadrature(quadrature, beta, exact_error=_NO_EXACT, preset_beta=True)
    Xc = _drop_nan_rows(X, nan_policy, bad=nan_row)
    if not standardize:  # the row norms bound every value: look closer only when they are large
        finite = sq[~nan_row]
        if finite.size and not np.sqrt(finite.max()) <= MAX_MAGNITUDE:
            check_magnitude(X, "X", "N(0, I)")
    settings = {"n_slices": M, "directions": source, "beta": beta, "reduction": reduction, "dim": D}
    common = dict(standardize=standardize, test="sliced_epps_pulley", columns=columns, directions=A,
                  seed=seed if source == "random" else None)
    min_n = min_sample_size(D, standardize, "none")  # the statistic needs this much
    if Xc is None or Xc.shape[0] < min_n:
        if Xc is not None:
            warnings.warn(small_sample_message(Xc.shape[0], D, standardize, "none"),
                          SmallSampleWarning, stacklevel=2)
        return nan_result(0 if Xc is None else Xc.shape[0], M, reduction, settings, common)
    n = Xc.shape[0]
    offset = W = None
    if standardize:
        offset, W = _whitener(Xc)
    if all_dirs:
        method = small_sample_method(method, n, D, 0, 0, standardize, settings, all_dirs=True)
        return _all_directions(Xc, offset, W, beta, method, gen, n, settings, common)

    spread = None
    B = A if W is None else W @ A
    if kind == "auto":
        bound = _max_row_norm(Xc, offset, W) if W is not None else float(np.sqrt(np.max(sq[~nan_row])))
        C, S, spread, rule = _auto_sums(Xc, B, offset, bound, lambda s: auto_rule(s, beta))
    else:
        C, S = _projected_sums(Xc, B, rule, offset=offset)
    method = small_sample_method(method, n, D, M, rule.nodes.size, standardize, settings)
    P = None
    if reduction == "mean" and rule.scale == "henze":  # a row subsample for the effect's interval
        from .effect import sliced_effect_stride

        sub = Xc[::sliced_effect_stride(n, M, rule.nodes.size)].astype(np.float64)
        P = (((sub - offset) if offset is not None else sub) @ B).T
    return result_from_sums(C, S, n, A, rule, spread=spread, beta=beta, reduction=reduction, method=method,
                            gen=gen, settings=settings, common=common, projections=P)


def nan_result(n, M, reduction, settings, common):
    """The all-NaN :class:`SlicedResult` of a sample too small (or NaN under "propagate")."""
    nanv = np.full((M,) if reduction == "none" else (), np.nan)[()]
    return SlicedResult(statistic=nanv, pvalue=nanv, n=n, method="none", settings=settings,
                        slice_statistics=np.full(M, np.nan), **common)


def result_from_sums(C, S, n, A, rule, *, spread, beta, reduction, method, gen, settings, common,
                     projections=None):
    """The :class:`SlicedResult` of the projections' ECF sums (in memory or streamed).

    ``C, S`` of shape (M, K) are the sums of the n (whitened) projections onto the
    unit directions ``A`` (D, M) under `rule` (``spread`` sized it for "auto");
    `gen` is the generator left after drawing the directions (Monte Carlo uses it
    when ``method.rng`` is None); `settings` and `common` as built by
    :func:`sliced_epps_pulley`. Reduction, null moments, p-value and the record
    live here once for every engine. ``projections`` (M, m): the projections of a
    row subsample, for the effect size's interval (no effect without them).
    """
    standardize = common["standardize"]
    M = A.shape[1]
    slice_stats = rule.statistic(C, S, np.full(M, float(n)))
    settings.update(quadrature=rule.describe(), **method.settings() if isinstance(method, MonteCarlo) else {})
    stat, pvalue, pvalue_se, null, label, mom = sliced_pvalue(
        slice_stats, n, A, rule, beta=beta, spread=spread, standardize=standardize, reduction=reduction,
        method=method, gen=gen)
    effect = effect_ci = None
    if (projections is not None and mom is not None and reduction == "mean" and rule.scale == "henze"
            and np.isfinite(stat)):
        from .effect import sliced_effect

        eff = sliced_effect(projections, C, S, rule, stat, n, standardize, mom["mean"], mom["var"])
        effect, effect_ci = eff[0], eff[1:]
    return SlicedResult(statistic=stat, pvalue=np.asarray(pvalue)[()], n=n, method=label, null=null,
                        settings=settings, pvalue_se=pvalue_se, slice_statistics=slice_stats,
                        null_moments=mom, quadrature=rule.describe(), effect=effect, effect_ci=effect_ci,
                        **common)


def _all_directions(X, offset, W, beta, method, gen, n, settings, common):
    Y = np.ascontiguousarray(X, dtype=np.float64)
    if W is not None:
        Y = (Y - offset) @ W
    D = Y.shape[1]
    from ..multivariate._kernels import kernel_statistic

    stat = kernel_statistic(Y, beta, "all")
    standardize = common["standardize"]
    settings["quadrature"] = None
    if method == "none":  # the statistic alone
        return SlicedResult(statistic=stat, pvalue=np.nan, n=n, method="none", settings=settings,
                            slice_statistics=np.empty(0), **common)
    mom = None
    pvalue_se = None
    if not standardize:
        from .sliced_laws import allslice_moments

        mom = dict(allslice_moments(n, D, beta), kind="exact")
    if method is None and standardize:
        method = MonteCarlo()
    if isinstance(method, MonteCarlo):
        from ..multivariate._kernels import allslice_batch

        def simulate(size, g, _n=n, _d=D, _b2=beta * beta, _std=standardize):
            Xs = _null_batch(g, size, _n, _d, _std)
            return allslice_batch(np.ascontiguousarray(Xs), _b2, 0.5 * _d)

        override = gen if method.rng is None else None
        null = monte_carlo_null(("sliced_epps_pulley_all", n, D, beta, standardize), simulate, method,
                                values_per_resample=n * D, params={"test": "sliced_epps_pulley", "n": n,
                                                                   "directions": "all"},
                                rng_override=override)
        pvalue = null.sf(stat)
        pvalue_se = null.pvalue_se(stat)
        label = "monte-carlo"
    else:
        null = _gamma_null(mom["mean"], mom["var"], {"n": n, "dim": D, "beta": beta})
        pvalue = float(null.sf(stat))
        label = "gamma-moments"
    return SlicedResult(statistic=stat, pvalue=np.asarray(pvalue)[()], n=n, method=label, null=null,
                        settings=settings, pvalue_se=pvalue_se, slice_statistics=np.empty(0),
                        null_moments=mom, quadrature=None, **common)


def sliced_pvalue(slice_stats, n, A, rule, **kwargs):
    """The one p-value dispatch of the sliced test, from the slice statistics (any engine).

    Parameters
    ----------
    slice_stats : ndarray, shape (M,)
        The statistic of every slice under `rule` (``rule.statistic`` of the slice sums).
    n : int
        Sample size. A : ndarray, shape (D, M): the unit directions.
    rule : QuadratureRule
        The rule the statistics were computed with (for ``"auto"``, with its `spread`).
    beta, spread, standardize, reduction, method, gen
        As validated by :func:`sliced_epps_pulley` (`gen`: the Generator of `rng`, used by
        Monte Carlo when ``method.rng`` is None).

    Returns
    -------
    statistic, pvalue, pvalue_se, null, method_label, null_moments
    """
    from threadpoolctl import threadpool_limits

    # one BLAS thread: LAPACK's eigen-solves differ with the thread count in the last bits, and
    # the law (so every p-value) must be the same on any thread count, machine or dask worker
    with threadpool_limits(limits=1, user_api="blas"):
        return _sliced_pvalue(slice_stats, n, A, rule, **kwargs)


def _sliced_pvalue(slice_stats, n, A, rule, *, beta, spread, standardize, reduction, method, gen):
    M = A.shape[1]
    D = A.shape[0]
    stat = {"mean": lambda s: s.mean(axis=-1), "max": lambda s: s.max(axis=-1),
            "none": lambda s: s}[reduction](slice_stats)
    nrule = _null_rule(rule, beta)
    if method == "none":  # the statistic alone
        return stat, np.full(np.shape(stat), np.nan)[()], None, None, "none", None
    A_mom = A if reduction == "mean" else np.ones((1, 1))  # "max"/"none": one slice's moments
    mom = null_moments(A_mom, nrule, standardize, n)
    pvalue_se = None
    if isinstance(method, MonteCarlo):
        factor = None
        if not standardize and M <= D:
            gram = A.T @ A
            try:
                factor = np.linalg.cholesky(gram)
            except np.linalg.LinAlgError:
                vals, vecs = np.linalg.eigh(gram)
                factor = vecs * np.sqrt(np.clip(vals, 0, None))
        if rule.name == "auto":
            def rule_for(P, _b=beta, _s=spread):
                return auto_rule(max(_s, float(P.max()), -float(P.min())), _b)  # no |P| temporary
        else:
            def rule_for(P, _r=rule):
                return _r
        red = {"mean": lambda s: s.mean(axis=-1), "max": lambda s: s.max(axis=-1),
               "none": lambda s: s.reshape(-1)}[reduction]
        key = ("sliced_epps_pulley", n, D, _gram_key(A), _rule_key(rule) if rule.name != "auto" else "auto",
               beta, reduction, standardize)
        override = gen if method.rng is None else None
        sim = _simulate_sliced(n, A, rule_for, red, standardize, factor, M if reduction == "none" else 1)
        null = monte_carlo_null(key, sim, method,
                                values_per_resample=n * max(M, D),
                                params={"test": "sliced_epps_pulley", "n": n},
                                rng_override=override)
        pvalue = null.sf(stat)
        pvalue_se = null.pvalue_se(stat)
        label = "monte-carlo"
    else:
        pvalue, null, label = asymptotic_pvalue(stat, A, nrule, standardize, reduction, mom, n)
    return stat, pvalue, pvalue_se, null, label, mom
