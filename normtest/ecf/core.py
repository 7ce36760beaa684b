"""The ECF core: additive sums ``(C, S, n)`` and the one formula that turns them into a statistic.

Every Epps–Pulley-type statistic in the package — the 1-D test, every slice of the
sliced test, the Monte-Carlo nulls, dask blocks, torch ranks — is a function of

    C_k = sum_i cos(t_k x_i),   S_k = sum_i sin(t_k x_i),   n,

which are *additive*: the sums of a concatenation are the sums of the parts. The
statistic (docs/theory.md §3) is

    Q = (1/n) sum_k omega_k [(C_k - n phi_k)^2 + S_k^2],   phi_k = exp(-t_k^2 / 2).

:func:`statistic` is written once over the array API (``array_api_compat``), so
NumPy, torch (autograd flows through it) and dask arrays go through the same lines.

The rest of the module is the one path from sums to a 1-D Epps–Pulley result that
every engine shares (in-memory, dask, streaming, Spark): :func:`pvalue` (the one
p-value dispatch: shipped table, limit law or Monte Carlo), :func:`quadrature_record`
and :func:`epps_pulley_result` (the one result assembly).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .._result import TestResult

__all__ = ["EcfSums", "statistic", "standardize_rows", "rows_statistic", "null_statistic", "check_args",
           "PValue", "pvalue",
           "quadrature_record", "epps_pulley_result", "EppsPulleyResult"]


def _namespace(*arrays):
    from array_api_compat import array_namespace

    return array_namespace(*arrays)


def statistic(C, S, n, weights, target):
    """``Q = sum_k w_k [(C_k - n phi_k)^2 + S_k^2] / n`` over the last axis.

    Parameters
    ----------
    C, S : array, shape ``(..., K)``
        The cosine and sine sums (NumPy, torch or dask; NumPy input is computed in
        float64, other namespaces keep the dtype of `C`).
    n : int, float or array, shape ``(...)``
        Sample size of each set of sums.
    weights, target : array-like, shape ``(K,)``
        Effective quadrature weights ``omega_k`` and ``phi_k = exp(-t_k^2/2)``.

    Returns
    -------
    array, shape ``(...)``

    Examples
    --------
    >>> import numpy as np
    >>> from normtest.ecf.core import statistic
    >>> from normtest.ecf.rules import get_rule
    >>> rule = get_rule("lejepa")
    >>> C = np.full(rule.nodes.size, 90.0)
    >>> print(round(float(statistic(C, 0 * C, 100, rule.weights, rule.target)), 4))
    27.9718
    """
    if isinstance(C, np.ndarray) or np.isscalar(C):
        C = np.asarray(C, dtype=np.float64)
        S = np.asarray(S, dtype=np.float64)
        n = np.asarray(n, dtype=np.float64)
        dc = C - n[..., None] * target
        return np.sum(weights * (dc * dc + S * S), axis=-1) / n
    xp = _namespace(C, S)
    from array_api_compat import device

    dev = device(C)
    w = xp.asarray(weights, dtype=C.dtype, device=dev)
    phi = xp.asarray(target, dtype=C.dtype, device=dev)
    n = xp.asarray(n, dtype=C.dtype, device=dev)
    nn = n[..., None] if n.ndim else n
    dc = C - nn * phi
    return xp.sum(w * (dc * dc + S * S), axis=-1) / n


@dataclass(frozen=True, eq=False)
class EcfSums:
    """Additive ECF sums of one or many samples (slices, columns): the unit that travels.

    ``a + b`` (or ``a.merge(b)``) is the sums of the two samples together, so
    row chunks, threads, ranks, dask blocks and Spark partitions combine the same
    way. Only the nodes must agree, and that is the caller's contract.

    Attributes
    ----------
    C, S : array, shape ``(..., K)``
        Cosine and sine sums at the K nodes.
    n : array or float, shape ``(...)``
        Number of observations behind each set of sums.
    """

    C: Any
    S: Any
    n: Any

    def __post_init__(self):
        if tuple(self.C.shape) != tuple(self.S.shape):
            raise ValueError(f"`C` and `S` must have the same shape. Got {tuple(self.C.shape)} "
                             f"and {tuple(self.S.shape)} instead.")

    @classmethod
    def zeros(cls, shape, n_nodes: int) -> "EcfSums":
        """Empty (float64 NumPy) sums for ``shape`` samples of ``n_nodes`` nodes."""
        shape = tuple(np.atleast_1d(shape)) if not isinstance(shape, tuple) else shape
        return cls(np.zeros(shape + (n_nodes,)), np.zeros(shape + (n_nodes,)), np.zeros(shape))

    def __add__(self, other: "EcfSums") -> "EcfSums":
        if not isinstance(other, EcfSums):
            return NotImplemented
        if tuple(self.C.shape) != tuple(other.C.shape):
            raise ValueError(f"cannot merge sums of shapes {tuple(self.C.shape)} and "
                             f"{tuple(other.C.shape)}: both must be of the same samples and nodes.")
        return EcfSums(self.C + other.C, self.S + other.S, self.n + other.n)

    merge = __add__

    def statistic(self, rule):
        """The statistic of every sample under the quadrature `rule`."""
        return statistic(self.C, self.S, self.n, rule.weights, rule.target)

    def to_dict(self) -> dict:
        """A plain dict of NumPy arrays (for pickling, ``np.savez`` or Arrow)."""
        return {"C": np.asarray(self.C), "S": np.asarray(self.S), "n": np.asarray(self.n)}

    @classmethod
    def from_dict(cls, state) -> "EcfSums":
        """Inverse of :meth:`to_dict`."""
        return cls(np.asarray(state["C"], dtype=np.float64), np.asarray(state["S"], dtype=np.float64),
                   np.asarray(state["n"], dtype=np.float64))


# ---------------------------------------------------------------------------
# rows of samples -> statistic (the in-memory engine and the Monte-Carlo nulls)
# ---------------------------------------------------------------------------

def standardize_rows(X):
    """(X - mean) / sd of every row, divisor-n sd; rows with sd == 0 give NaN rows and a flag.

    Returns ``(Y, degenerate)``. The composite null's standardisation (docs/theory.md §1).
    """
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


def rows_statistic(Y, rule):
    """The statistic under `rule` of every row of ``Y`` (shape ``(m, n)``), from its ECF sums."""
    from ._kernels import ecf_sums_rows

    C, S = ecf_sums_rows(Y, rule.nodes, step=rule.lattice_step)
    return rule.statistic(C, S, np.full(Y.shape[0], float(Y.shape[1])))


def null_statistic(X, standardize, beta, kind, rule):
    """Statistic of simulated N(0, 1) rows (standardised first if `standardize`).

    The exact statistic (`kind` "exact"/"auto") by the auto rule over the batch's range
    (no far outliers to treat apart; equal to it to ~1e-10), else `rule`'s statistic.
    """
    if standardize:
        X, _ = standardize_rows(X)
    if kind in ("exact", "auto"):
        from .rules import auto_rule

        rule = auto_rule(float(np.abs(X).max()) if X.size else 0.0, beta)
    return rows_statistic(X, rule)


# ---------------------------------------------------------------------------
# the one argument check and the one p-value dispatch
# ---------------------------------------------------------------------------

def check_args(standardize, beta, quadrature, method):
    """Validate the arguments of the 1-D Epps–Pulley test (every engine).

    Returns ``(standardize, beta, kind, rule, method)`` with ``kind, rule`` from
    :func:`normtest.ecf.rules.check_quadrature` and `method` from
    ``normtest.null.check_method``.
    """
    from .._validate import check_bool, check_float
    from ..null import check_method
    from .rules import check_quadrature

    standardize = check_bool(standardize, "standardize")
    beta = check_float(beta, "beta", low=0.0, high=None)
    kind, rule = check_quadrature(quadrature, beta)
    method = check_method(method, allowed=("asymptotic", "table"))
    if method == "table" and not (kind in ("exact", "auto") and beta == 1.0):
        raise ValueError("`method`='table' is available only for beta=1.0 with quadrature "
                         f"'auto' or 'exact'. Got beta={beta!r}, quadrature={quadrature!r} instead.")
    return standardize, beta, kind, rule, method


class PValue(NamedTuple):
    """p-values of one group of samples of equal n, and how they were obtained."""

    pvalue: np.ndarray
    se: np.ndarray | None      # Monte-Carlo standard error (None for analytic laws)
    null: Any                  # the law used (sf/cdf/ppf)
    method: str                # "table", "asymptotic" or "monte-carlo"


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
    method : None, "asymptotic", "table" or MonteCarlo
        Validated by ``normtest.null.check_method``. None: the shipped finite-n table
        where it applies (beta = 1, exact statistic), else the limit law.

    Returns
    -------
    PValue
        ``(pvalue, se, null, method)``.

    Examples
    --------
    >>> from normtest.ecf.core import pvalue
    >>> res = pvalue([0.2913], 1000, standardize=True, beta=1.0, kind="auto", rule=None,
    ...              method="asymptotic")
    >>> print(round(float(res.pvalue[0]), 2), res.method)
    0.1 asymptotic
    """
    from ..null import MonteCarlo, monte_carlo_null
    from .laws import asymptotic_null, table_null

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
    null = asymptotic_null(beta, standardize, None if kind != "rule" else rule)
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
    """

    quadrature: dict = None


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
                       pvalue_se=None, **settings):
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
    from ..null import MonteCarlo

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
                            pvalue_se=pvalue_se, seed=seed, quadrature=quadrature)
