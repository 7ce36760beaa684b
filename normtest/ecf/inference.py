"""The one path from ECF sums to a 1-D Epps–Pulley result, shared by every engine.

In memory (:func:`normtest.epps_pulley`), dask, streaming accumulators and Spark all
end the same way: validate the arguments once (:func:`check_args`), turn the sums of
each sample into a statistic (:func:`normtest.ecf.core.statistic`), get p-values from
the one dispatch (:func:`pvalue`: the shipped finite-n table, the limit law of the
statistic actually computed, or Monte Carlo with :func:`null_statistic` as the
simulator) and build the one result object (:func:`epps_pulley_result` with
:func:`quadrature_record`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .._result import TestResult
from .._validate import SmallSampleWarning, check_beta, check_bool
from ..null import MonteCarlo, check_method, monte_carlo_null
from .core import rows_statistic, standardize_rows
from .laws import NEVER, asymptotic_null, limit_min_n, table_null
from .rules import auto_rule, check_quadrature

__all__ = ["check_args", "null_statistic", "PValue", "pvalue", "quadrature_record",
           "EppsPulleyResult", "epps_pulley_result"]


# ---------------------------------------------------------------------------
# the one argument check
# ---------------------------------------------------------------------------

def check_args(standardize, beta, quadrature, method):
    """Validate the arguments of the 1-D Epps–Pulley test (every engine).

    Returns ``(standardize, beta, kind, rule, method)`` with ``kind, rule`` from
    :func:`normtest.ecf.rules.check_quadrature` and `method` from
    ``normtest.null.check_method``.
    """
    standardize = check_bool(standardize, "standardize")
    beta = check_beta(beta)
    kind, rule = check_quadrature(quadrature, beta)
    method = check_method(method, allowed=("asymptotic", "table", "none"))
    if method == "table" and not (kind in ("exact", "auto") and beta == 1.0):
        raise ValueError("`method`='table' is available only for beta=1.0 with quadrature "
                         f"'auto' or 'exact'. Got beta={beta!r}, quadrature={quadrature!r} instead.")
    return standardize, beta, kind, rule, method


# ---------------------------------------------------------------------------
# the one p-value dispatch
# ---------------------------------------------------------------------------

def null_statistic(X, standardize, beta, kind, rule):
    """Statistic of simulated N(0, 1) rows (standardised first if `standardize`).

    The exact statistic (`kind` "exact"/"auto") by the auto rule over the batch's range
    (no far outliers to treat apart; equal to it to ~1e-10), else `rule`'s statistic.
    """
    if standardize:
        X, _ = standardize_rows(X)
    if kind in ("exact", "auto"):
        rule = auto_rule(float(np.abs(X).max()) if X.size else 0.0, beta)
    return rows_statistic(X, rule)


class PValue(NamedTuple):
    """p-values of one group of samples of equal n, and how they were obtained."""

    pvalue: np.ndarray
    se: np.ndarray | None      # Monte-Carlo standard error (None for analytic laws)
    null: Any                  # the law used (sf/cdf/ppf)
    method: str                # "table", "asymptotic", "monte-carlo" or "none"


def pvalue(T, n: int, *, standardize: bool, beta: float, kind: str, rule, method) -> PValue:
    """p-values of 1-D Epps–Pulley statistics `T` of samples of size `n`.

    Parameters
    ----------
    T : array_like
        Statistics (NaN allowed) of samples of size `n`.
    n : int
        Their sample size.
    standardize, beta
        As in :func:`normtest.epps_pulley` (validated).
    kind, rule
        From :func:`normtest.ecf.rules.check_quadrature`: ``"exact"``/``"auto"`` (the
        exact statistic, rule None) or ``"rule"`` with its QuadratureRule.
    method : None, "asymptotic", "table", "none" or MonteCarlo
        Validated by ``normtest.null.check_method``. None: the shipped finite-n table
        where it applies (beta = 1, exact statistic), else the limit law, which below
        :func:`~normtest.ecf.laws.limit_min_n` gives NaN and a SmallSampleWarning (not
        calibrated there). "none": no p-value (NaN, null None).

    Returns
    -------
    PValue
        ``(pvalue, se, null, method)``.

    Examples
    --------
    >>> from normtest.ecf.inference import pvalue
    >>> res = pvalue([0.2913], 1000, standardize=True, beta=1.0, kind="auto", rule=None,
    ...              method="asymptotic")
    >>> print(round(float(res.pvalue[0]), 2), res.method)
    0.1 asymptotic
    """
    if method == "none":  # the statistic alone
        return PValue(np.full(np.shape(T), np.nan), None, None, "none")
    if isinstance(method, MonteCarlo):
        exact = kind != "rule"
        key = ("epps_pulley", n, standardize, beta, kind if exact else
               ("rule", rule.nodes.tobytes(), rule.weights.tobytes()))

        def simulate(size, gen):
            return null_statistic(gen.standard_normal((size, n)), standardize, beta, kind, rule)

        params = {"test": "epps_pulley", "n": n, "standardize": standardize, "beta": beta,
                  "statistic": "exact" if exact else rule.name}
        null = monte_carlo_null(key, simulate, method, values_per_resample=n, params=params)
        p = np.asarray(null.sf(T), dtype=float)
        return PValue(p, np.asarray(null.pvalue_se(T), dtype=float), null, "monte-carlo")
    if method in (None, "table") and kind in ("exact", "auto") and beta == 1.0:
        null = table_null(n, standardize)
        if null is not None:
            return PValue(np.asarray(null.sf(T), dtype=float), None, null, "table")
        if method == "table":
            raise ValueError(f"No finite-n table covers n={n}.")
    rule = None if kind != "rule" else rule
    need = limit_min_n(beta, standardize, rule)
    if method is None and n < need:
        # the small-n rule (normtest.classic): no uncalibrated default p-value
        where = "at no n measured" if need == NEVER else f"from n = {need} on"
        warnings.warn(f"epps_pulley: the limit law is calibrated for these settings {where}; at n = {n} "
                      "the p-value is NaN (use method=normtest.MonteCarlo(), or method='asymptotic' to "
                      "force the limit law).", SmallSampleWarning, stacklevel=2)
        return PValue(np.full(np.shape(T), np.nan), None, None, "none")
    null = asymptotic_null(beta, standardize, rule)
    return PValue(np.asarray(null.sf(T), dtype=float), None, null, "asymptotic")


# ---------------------------------------------------------------------------
# the one result assembly
# ---------------------------------------------------------------------------

@dataclass(frozen=True, repr=False, eq=False)
class EppsPulleyResult(TestResult):
    """Result of :func:`normtest.epps_pulley`: a `TestResult` plus the quadrature used.

    Attributes
    ----------
    quadrature : dict
        The rule actually used: ``rule`` ("exact", "auto", "lejepa", "paper",
        "gauss-hermite" or "custom"), its scale, node count, step and aliasing period
        ``2*pi/step``, and for "auto"/"exact" on the ECF route the radius beyond which
        points were treated in closed form (``far_radius``).
    effect : float or ndarray
        Estimated population distance ``int |phi_F(t) - exp(-t^2/2)|^2 phi_beta(t) dt``
        that ``T/n`` estimates (0 under normality): ``(T - mu_0)/n`` clipped at 0
        (see :mod:`normtest.ecf.effect`); NaN for the LeJEPA/custom rules.
    effect_ci : tuple (low, high)
        Its 95% confidence interval (influence-function standard error plus the
        null variance; coverage checked by simulation, docs/epps_pulley.md).
    """

    quadrature: dict = None
    effect: Any = None
    effect_ci: Any = None


def quadrature_record(kind: str, rule, infos=()) -> dict:
    """``result.quadrature``: the rule's description, or for "exact"/"auto" the merge of the
    data-dependent rules' descriptions of every group (largest node count, radius and spread,
    smallest step)."""
    if kind == "rule":
        return rule.describe()
    merged = {"rule": kind}
    for info in infos:
        if not info:
            continue
        for k, v in info.items():
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


def epps_pulley_result(statistic, pvalue, n, groups, *, standardize, beta, method, quadrature,
                       pvalue_se=None, effect=None, effect_ci=None, **settings):
    """Assemble the :class:`EppsPulleyResult` of any engine.

    Parameters
    ----------
    statistic, pvalue, n, pvalue_se
        Final arrays (or scalars) in the caller's output shape.
    groups : sequence of PValue
        What :func:`pvalue` returned for every group of equal n (in order).
    standardize, beta, method
        The validated arguments (`method` is the argument, not the label).
    quadrature : dict
        From :func:`quadrature_record`.
    **settings
        Extra seed-independent settings recorded after ``beta`` and ``quadrature``
        (``axis``, ``nan_policy``, ``backend``...).
    """
    labels = sorted({g.method for g in groups})
    if len(labels) == 1:
        how = labels[0]
    elif labels:
        how = "+".join(labels)
    else:
        how = "monte-carlo" if isinstance(method, MonteCarlo) else (method or "table")
    nulls = [g.null for g in groups]
    if len(nulls) == 1:
        null = nulls[0]
    elif not nulls:
        null = None
    else:
        null = np.empty(len(nulls), dtype=object)
        null[:] = nulls
    record = {"beta": beta, "quadrature": quadrature.get("rule"), **settings}
    seed = None
    if isinstance(method, MonteCarlo):
        record.update(method.settings())
        if nulls:
            seed = getattr(nulls[0], "seed", None)
    return EppsPulleyResult(statistic=statistic, pvalue=pvalue, n=n, standardize=standardize,
                            method=how, null=null, test="epps_pulley", settings=record,
                            pvalue_se=pvalue_se, seed=seed, quadrature=quadrature, effect=effect,
                            effect_ci=None if effect_ci is None else
                            tuple(float(v) if np.ndim(v) == 0 and v is not None else v for v in effect_ci))
