"""Matrix input for the multivariate tests: coercion, NaN rows, whitening, directions."""

from __future__ import annotations


import numpy as np

from ._validate import (
    as_float_sample,
)

_CHUNK_VALUES = 2**23  # values per row chunk (32 MB in float32)
_MAX_DIRECTION_VALUES = 2**27  # random directions drawn at most (1 GiB in float64)
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
        # by position (duplicate names are allowed); nullable dtypes (Int64, Float64) have a kind too
        bad = [c for c, dt in zip(X.columns, X.dtypes) if getattr(dt, "kind", "O") not in "iuf"]
        if bad:
            raise TypeError(
                f"`{name}` must have numeric columns only. Got non-numeric column(s) {bad[:5]!r} instead."
            )
        columns = [str(c) for c in X.columns]
        f32 = len(X.dtypes) > 0 and all(dt == np.float32 for dt in X.dtypes)
        X = X.to_numpy(dtype=np.float32 if f32 else np.float64, na_value=np.nan)  # pandas NA -> NaN
    if isinstance(X, np.ma.MaskedArray):  # masked entries left out: a row with one is dropped
        mask = np.ma.getmaskarray(X)
        data = np.ma.getdata(X)
        if data.ndim == 2:
            X = data[~mask.any(axis=1)]
        elif data.ndim == 1:
            X = data[~mask]
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


def _whitener(X, name="X", root="symmetric"):
    """Centre and whitening matrix of the rows of `X`: ``Y = (X - centre) @ W``.

    ``centre`` is a :class:`normtest._standardize.Centre` (``X - centre`` works on any
    row block). ``root="symmetric"``: ``W`` is the symmetric inverse square root of the
    divisor-n covariance. ``root="correlation"``: ``W = diag(1/sd) R^(-1/2)`` with ``R``
    the correlation matrix (any root gives the same BHEP statistic). Both are computed
    from the column-scaled data (docs/theory.md §2; ``normtest._standardize``): columns
    are scaled by powers of two, centred in two passes, and singularity is judged on the
    correlation matrix, so the units of each column (metres next to nanometres, data
    times 1e-200 or 1e200) change nothing but rounding. When the column spreads differ
    by more than a factor 16 the symmetric root is the correlation root times the
    orthogonal polar factor (Newton iteration), which stays accurate where an eigen
    decomposition of the covariance itself would not (condition number up to 1e30).
    """
    from ._standardize import column_moments

    d = X.shape[1]
    return whitener_from_moments(*column_moments(X, chunk_rows=max(1, _CHUNK_VALUES // max(1, d))), name, root)


def whitener_from_moments(centre, p, cov_u, degenerate, name="X", root="symmetric"):
    """:func:`_whitener` from the column moments (``normtest._standardize.column_moments``'s
    output, or the same merged over streamed batches): ``(centre, W)``."""
    from ._standardize import inv_sqrt_psd, polar_factor

    if degenerate.any():
        cols = np.nonzero(degenerate)[0][:5].tolist()
        raise ValueError(
            f"`{name}` has constant column(s) {cols}, so its sample covariance is singular: "
            "standardize=True needs every column to vary. Remove the constant columns or use "
            "standardize=False."
        )
    sd_u = np.sqrt(np.diag(cov_u))
    R = cov_u / np.outer(sd_u, sd_u)
    G, vals = inv_sqrt_psd(R)
    top = float(vals[-1])
    if not vals[0] > top / _COND_MAX:
        cond = np.inf if vals[0] <= 0 else top / vals[0]
        raise ValueError(
            f"`{name}` has a singular or near-singular sample covariance (condition number of the "
            f"correlation matrix {cond:.3g}, limit {_COND_MAX:.0e}): standardize=True needs N > D and "
            "linearly independent columns. Remove redundant columns or use standardize=False."
        )
    logsd = np.log(sd_u) + np.log(p)
    if root == "correlation":
        return centre, G * np.exp(-logsd)[:, None]
    if float(logsd.max() - logsd.min()) <= np.log(16.0):
        g = float(p.max())
        Wg, _ = inv_sqrt_psd(cov_u * np.outer(p / g, p / g))
        return centre, Wg / g
    # W0 = diag(1/sd) R^(-1/2) whitens; the symmetric root is W0 U^T, U the polar factor of W0
    mid = 0.5 * (logsd.max() + logsd.min())
    W0 = G * np.exp(mid - logsd)[:, None]          # W0 up to the scalar exp(mid): same polar factor
    U = polar_factor(W0)
    W = (W0 @ U.T) * np.exp(-mid)
    return centre, W


def _check_directions(directions, D, n_slices, gen):
    """Unit directions (D, M) float64 and a label."""
    if directions is None:
        if D * n_slices > _MAX_DIRECTION_VALUES:
            raise ValueError(
                f"`n_slices` must keep the (D, n_slices) directions within {_MAX_DIRECTION_VALUES:.3g} values "
                f"({_MAX_DIRECTION_VALUES * 8 / 2**30:.0f} GiB in float64). Got n_slices={n_slices} with "
                f"D={D} ({D * n_slices * 8 / 2**30:.3g} GiB) instead.")
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
    # scale each column by its largest magnitude first: norms of 1e200 or 1e-200 columns
    # neither overflow nor underflow
    big = np.max(np.abs(A), axis=0)
    if (big == 0).any():
        raise ValueError(
            "`directions` must have non-zero columns. "
            f"Got zero column(s) {np.nonzero(big == 0)[0][:5].tolist()} instead."
        )
    A = A / big
    return A / np.linalg.norm(A, axis=0), "user"


def _null_batch(gen, size, n, d, standardize):
    """`size` N(0, I_d) samples of n rows, whitened (divisor n, symmetric root) if asked."""
    Xs = gen.standard_normal((size, n, d))
    if standardize:  # N(0, I) draws: no scale or offset to guard against, one batched root
        from ._standardize import inv_sqrt_psd

        Xs = Xs - Xs.mean(axis=1, keepdims=True)
        root, _ = inv_sqrt_psd(np.einsum("bij,bik->bjk", Xs, Xs) / n)
        Xs = Xs @ root
    return Xs

