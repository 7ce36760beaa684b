"""The one place where the streaming tests reach into the in-memory ECF code.

Settings are validated, p-values dispatched and results assembled exactly as the
in-memory functions do (the same code, so the same numbers and records). When
the ECF core exposes its shared p-value dispatch and result assembly, only this
module changes.
"""

from __future__ import annotations

import numpy as np


def ep_settings(standardize, beta, quadrature, method):
    """Validated ``(standardize, beta, kind, rule, method)`` of the 1-D Epps–Pulley test."""
    from ..ecf.univariate import _epps_pulley_iv

    return _epps_pulley_iv(standardize, beta, quadrature, method)


def ep_pvalue(T, n, standardize, beta, kind, rule, method):
    """p-values of statistics sharing one n: ``(p, se or None, null, method string)``."""
    from ..ecf.univariate import _pvalue

    return _pvalue(T, n, standardize, beta, kind, rule, method)


def ep_result(T, n, *, one_d, standardize, beta, kind, rule, method, nan_policy, quadrature, groups):
    """The :class:`~normtest.ecf.univariate.EppsPulleyResult` of per-column statistics.

    ``groups`` maps each sample size to the columns of that size that get a
    p-value; the others keep NaN.
    """
    from ..ecf.univariate import EppsPulleyResult, _describe_method
    from ..null import MonteCarlo

    m = T.size
    p = np.full(m, np.nan)
    se = np.full(m, np.nan) if isinstance(method, MonteCarlo) else None
    nulls, hows = [], []
    for size, cols in sorted(groups.items()):
        pv, s, null, how = ep_pvalue(T[cols], int(size), standardize, beta, kind, rule, method)
        p[cols] = pv
        if se is not None and s is not None:
            se[cols] = s
        nulls.append(null)
        hows.append(how)
    methods = sorted(set(hows))
    how = methods[0] if len(methods) == 1 else "+".join(methods) if methods else _describe_method(method)
    if len(nulls) == 1:
        null = nulls[0]
    elif not nulls:
        null = None
    else:
        null = np.empty(len(nulls), dtype=object)
        null[:] = nulls
    settings = {"beta": beta, "quadrature": quadrature.get("rule"), "axis": 0, "nan_policy": nan_policy}
    seed = None
    if isinstance(method, MonteCarlo):
        settings.update(method.settings())
        seed = getattr(nulls[0], "seed", None) if nulls else None

    def out(a):
        return a[0] if one_d else a

    return EppsPulleyResult(
        statistic=out(T), pvalue=out(p), n=int(n[0]) if one_d else n, standardize=standardize,
        method=how, null=null, test="epps_pulley", settings=settings,
        pvalue_se=None if se is None else out(se), seed=seed, quadrature=quadrature,
    )


def sliced_rule(quadrature, beta, spread):
    """The quadrature rule of the sliced test (validated as the in-memory function does)."""
    from ..ecf.sliced import _resolve_rule

    return _resolve_rule(quadrature, beta, spread)
