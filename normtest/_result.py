"""Result objects: one frozen dataclass family for every test.

Every result unpacks as ``statistic, pvalue = result`` (so pandera-style
checks accept our functions unchanged), records how the p-value was obtained
(`method`), the null distribution that was actually used (`null`), the sample
size(s) and every seed-independent setting needed to regenerate it.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

__all__ = ["TestResult", "to_builtin", "PVALUE_FLOOR"]

#: Smallest p-value ever reported: a law whose tail underflows below it reports this
#: value flagged as an upper bound (``pvalue_upper_bound``), never a bare 0.
PVALUE_FLOOR = float(np.finfo(np.float64).tiny)


def to_builtin(value: Any) -> Any:
    """Convert numpy scalars/arrays (recursively) to JSON-friendly Python objects."""
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return [to_builtin(v) for v in value.tolist()]
        return to_builtin(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float):
        return value
    if isinstance(value, Mapping):
        return {str(k): to_builtin(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_builtin(v) for v in value]
    if hasattr(value, "to_dict"):
        return to_builtin(value.to_dict())
    return value


def _fmt(value) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{float(value):.6g}"
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=6, threshold=8, edgeitems=3):
            return np.array2string(value, separator=", ")
    return repr(value)


@dataclass(frozen=True, repr=False, eq=False)
class TestResult:
    """Outcome of a normality test.

    Attributes
    ----------
    statistic : float or ndarray
        The test statistic (an array when the test was vectorised over `axis`).
    pvalue : float or ndarray
        Upper-tail p-value: the probability under the null of a statistic at
        least as large as the one observed.
    n : int or ndarray
        Sample size(s) after NaN handling.
    standardize : bool
        ``True`` when the null is "normal with unknown parameters" (estimated
        from the data); ``False`` when it is the fully specified standard normal.
    method : str
        How the p-value was obtained, e.g. ``"asymptotic"``, ``"monte-carlo"``.
    null : object or None
        The null distribution actually used, with ``sf``, ``cdf`` and ``ppf``
        methods (for vectorised input with differing n: an object array).
    test : str
        Name of the test.
    settings : dict
        Seed-independent settings that, with the data, reproduce the result.
    pvalue_se : float, ndarray or None
        Monte-Carlo standard error of `pvalue` (``None`` for analytic p-values).
    seed : int or None
        Entropy of the random stream that drove any randomness (Monte Carlo,
        random directions), when known; feed it back as ``rng`` to reproduce.
    pvalue_upper_bound : bool or ndarray of bool
        ``True`` where `pvalue` is only an upper bound on the p-value (read
        "p < pvalue"): a Monte-Carlo p-value with no simulated statistic at
        least as large as the observed one (``1 / (B + 1)``), a tabulated or
        fitted formula beyond its range, or a tail below ``PVALUE_FLOOR``
        (the smallest positive double). Set by the tests where they know it
        and, for the first and last case, always derived here.
    """

    __test__ = False  # keep pytest from collecting this class

    statistic: Any
    pvalue: Any
    n: Any
    standardize: bool
    method: str
    null: Any = None
    test: str = ""
    settings: Mapping[str, Any] = field(default_factory=dict)
    pvalue_se: Any = None
    seed: Any = None
    pvalue_upper_bound: Any = False

    def __post_init__(self):
        object.__setattr__(self, "pvalue", _floored(self.pvalue))
        object.__setattr__(self, "pvalue_upper_bound", _upper_bound_flags(self))

    def __iter__(self):
        yield self.statistic
        yield self.pvalue

    def __len__(self):
        return 2

    def __getitem__(self, index):
        return (self.statistic, self.pvalue)[index]

    def _extra_fields(self):
        base = {f.name for f in dataclasses.fields(TestResult)}
        return [f for f in dataclasses.fields(self) if f.name not in base]

    def to_dict(self) -> dict:
        """JSON-ready record: numbers, settings, the method and the null's description."""
        from ._version import __version__

        out = {
            "test": self.test,
            "statistic": to_builtin(self.statistic),
            "pvalue": to_builtin(self.pvalue),
            "n": to_builtin(self.n),
            "standardize": bool(self.standardize),
            "method": self.method,
            "pvalue_se": to_builtin(self.pvalue_se),
            "seed": to_builtin(self.seed),
            "pvalue_upper_bound": to_builtin(self.pvalue_upper_bound),
            "settings": to_builtin(dict(self.settings)),
            "null": _describe_null(self.null),
            "version": __version__,
        }
        for f in self._extra_fields():
            if f.metadata.get("record", True):
                out[f.name] = to_builtin(getattr(self, f.name))
        return out

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def plot(self, ax=None, **kwargs):
        """Draw the null distribution with the observed statistic marked.

        See :func:`normtest.plotting.plot_null` (matplotlib, imported here).
        Returns the matplotlib Axes.
        """
        from .plotting import plot_null

        return plot_null(self, ax=ax, **kwargs)

    def __repr__(self) -> str:
        name = type(self).__name__
        parts = [
            f"statistic={_fmt(self.statistic)}",
            f"pvalue={_fmt(self.pvalue)}",
            f"n={_fmt(self.n)}",
            f"standardize={self.standardize}",
            f"method={self.method!r}",
        ]
        if self.pvalue_se is not None:
            parts.append(f"pvalue_se={_fmt(self.pvalue_se)}")
        if np.any(self.pvalue_upper_bound):
            parts.append(f"pvalue_upper_bound={_fmt(self.pvalue_upper_bound)}")
        for f in self._extra_fields():
            if f.repr:
                parts.append(f"{f.name}={_fmt(getattr(self, f.name))}")
        inner = ",\n    ".join(parts)
        return f"{name}({self.test}:\n    {inner})"


def _floored(p) -> Any:
    """`p` with an underflowed 0 (a law's tail, e.g. a library's chi-square) raised to PVALUE_FLOOR."""
    if isinstance(p, np.ndarray):
        return np.where(p == 0.0, PVALUE_FLOOR, p) if p.dtype.kind == "f" and (p == 0.0).any() else p
    if isinstance(p, (float, np.floating)) and p == 0.0:
        return type(p)(PVALUE_FLOOR)
    return p


def _upper_bound_flags(res) -> Any:
    """`pvalue_upper_bound` as given, or-ed with what the p-value itself shows.

    A Monte-Carlo p-value equal to ``1/(B + 1)`` (no exceedance) and a p-value at
    :data:`PVALUE_FLOOR` (an underflowed tail) are bounds whatever the test said.
    """
    try:
        p = np.asarray(res.pvalue, dtype=np.float64)
    except (TypeError, ValueError):
        return res.pvalue_upper_bound
    flag = np.broadcast_to(np.asarray(res.pvalue_upper_bound, dtype=bool), p.shape).copy()
    with np.errstate(invalid="ignore"):
        flag |= p <= PVALUE_FLOOR * (1.0 + 1e-9)
        B = (res.settings or {}).get("n_resamples") if isinstance(res.settings, Mapping) else None
        if B and "monte-carlo" in str(res.method):
            flag |= np.abs(p * (B + 1.0) - 1.0) <= 1e-9
    flag &= ~np.isnan(p)
    return bool(flag) if flag.ndim == 0 else flag


def _describe_null(null):
    if null is None:
        return None
    if isinstance(null, np.ndarray):
        return [_describe_null(v) for v in null.ravel().tolist()]
    describe = getattr(null, "describe", None)
    if callable(describe):
        return to_builtin(describe())
    return repr(null)
