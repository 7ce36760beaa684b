"""Matrix input for the multivariate tests: coercion, NaN rows, whitening, directions."""

from __future__ import annotations


import numpy as np

from ._validate import (
    as_float_sample,
)

_CHUNK_VALUES = 2**23  # values per row chunk (32 MB in float32)
_COND_MAX = 1e12       # largest accepted condition number of the sample covariance


def _as_matrix(X, name="X", copy=True):
    """(N, D) floating array (float32 kept, other types to float64) and column names.

    ``copy=False``: a float32/float64 ndarray is returned as it is (no copy and
    no check for infinities: the caller checks them in its own pass and never
    writes into the array).
    """
    if not copy and type(X) is np.ndarray and X.dtype in (np.float32, np.float64) and X.ndim in (1, 2):
        arr = X[:, None] if X.ndim == 1 else X
        if arr.shape[1] == 0 or arr.shape[0] == 0:
            raise ValueError(f"`{name}` must not be empty. Got shape {arr.shape} instead.")
        return arr, None
    columns = None
    if type(X).__module__.startswith("pandas") and hasattr(X, "columns"):
        bad = [c for c in X.columns if X[c].dtype.kind not in "iuf"]
        if bad:
            raise TypeError(
                f"`{name}` must have numeric columns only. Got non-numeric column(s) {bad[:5]!r} instead."
            )
        columns = [str(c) for c in X.columns]
        X = X.to_numpy()
    arr = as_float_sample(X, name, dtype=None)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"`{name}` must be a 2-d array (N, D). Got an array of shape {arr.shape} instead.")
    if arr.shape[1] == 0 or arr.shape[0] == 0:
        raise ValueError(f"`{name}` must not be empty. Got shape {arr.shape} instead.")
    return arr, columns


def _drop_nan_rows(X, nan_policy, name="X", bad=None):
    """Return (X without NaN rows or None for 'propagate' with NaN); `bad`: a known NaN-row mask."""
    if bad is None:
        bad = np.isnan(X).any(axis=1)
    if not bad.any():
        return X
    if nan_policy == "raise":
        raise ValueError(f"`{name}` contains NaN and nan_policy='raise'.")
    if nan_policy == "propagate":
        return None
    return np.ascontiguousarray(X[~bad])


def _whitener(X, name="X"):
    """Sample mean and the symmetric inverse square root of the divisor-n covariance."""
    n = X.shape[0]
    mean = X.mean(axis=0, dtype=np.float64)
    cov = np.zeros((X.shape[1], X.shape[1]))
    step = max(1, _CHUNK_VALUES // max(1, X.shape[1]))
    for lo in range(0, n, step):
        Z = X[lo:lo + step].astype(np.float64) - mean
        cov += Z.T @ Z
    cov /= n
    return mean, whitener_from_cov(cov, name)


def whitener_from_cov(cov, name="X"):
    """Symmetric inverse square root of a covariance matrix; ValueError when (near-)singular."""
    vals, vecs = np.linalg.eigh(cov)
    top = float(vals[-1]) if vals.size else 0.0
    if not top > 0 or vals[0] <= top / _COND_MAX:
        cond = np.inf if vals[0] <= 0 else top / vals[0]
        raise ValueError(
            f"`{name}` has a singular or near-singular sample covariance (condition number {cond:.3g}, "
            f"limit {_COND_MAX:.0e}): standardize=True needs N > D and linearly independent columns. "
            "Remove redundant columns or use standardize=False."
        )
    return (vecs / np.sqrt(vals)) @ vecs.T


def _check_directions(directions, D, n_slices, gen):
    """Unit directions (D, M) float64 and a label."""
    if directions is None:
        A = gen.standard_normal((D, n_slices))
        norms = np.linalg.norm(A, axis=0)
        return A / norms, "random"
    try:
        A = np.asarray(directions, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            "`directions` must be None, 'all' or a (D, M) array of real numbers. "
            f"Got {type(directions).__name__} instead."
        ) from exc
    if A.ndim == 1 and D == 1:
        A = A[None, :]
    if A.ndim != 2 or A.shape[0] != D or A.shape[1] == 0:
        raise ValueError(
            f"`directions` must have shape (D, M) = ({D}, M) with M >= 1 (one column per direction). "
            f"Got shape {A.shape} instead."
        )
    if not np.isfinite(A).all():
        raise ValueError("`directions` must be finite.")
    norms = np.linalg.norm(A, axis=0)
    if (norms == 0).any():
        raise ValueError(
            "`directions` must have non-zero columns. "
            f"Got zero column(s) {np.nonzero(norms == 0)[0][:5].tolist()} instead."
        )
    return A / norms, "user"


def _null_batch(gen, size, n, d, standardize):
    """`size` N(0, I_d) samples of n rows, whitened (divisor n, symmetric root) if asked."""
    Xs = gen.standard_normal((size, n, d))
    if standardize:
        Xs = Xs - Xs.mean(axis=1, keepdims=True)
        cov = np.einsum("bij,bik->bjk", Xs, Xs) / n
        vals, vecs = np.linalg.eigh(cov)
        Xs = Xs @ ((vecs / np.sqrt(vals)[:, None, :]) @ np.swapaxes(vecs, 1, 2))
    return Xs

