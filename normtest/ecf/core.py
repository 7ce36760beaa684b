"""The ECF core: additive sums ``(C, S, n)`` and the one formula that turns them into a statistic.

Every Epps–Pulley-type statistic in the package — the 1-D test, every slice of the
sliced test, the Monte-Carlo nulls, dask blocks, torch ranks — is a function of

    C_k = sum_i cos(t_k x_i),   S_k = sum_i sin(t_k x_i),   n,

which are *additive*: the sums of a concatenation are the sums of the parts. The
statistic (docs/theory.md §3) is

    Q = (1/n) sum_k omega_k [(C_k - n phi_k)^2 + S_k^2],   phi_k = exp(-t_k^2 / 2).

:func:`statistic` is written once over the array API (``array_api_compat``), so
NumPy, torch (autograd flows through it) and dask arrays go through the same lines.

:func:`standardize_rows` and :func:`rows_statistic` take rows of samples to
statistics in memory. The p-value and the result object built from the sums live
one layer up, in :mod:`normtest.ecf.inference`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["EcfSums", "statistic", "standardize_rows", "rows_statistic"]


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
