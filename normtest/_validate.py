"""Input coercion and checks shared by every public function.

All messages follow one voice: "`name` must be <what>. Got <value> instead."
Nothing here mutates what the caller passed: arrays are copied before any
in-place work by the callers that need it.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

__all__ = [
    "SmallSampleWarning",
    "DegenerateDataWarning",
    "check_bool",
    "check_choice",
    "check_int",
    "check_float",
    "check_rng",
    "check_beta",
    "check_magnitude",
    "MAX_MAGNITUDE",
    "BETA_RANGE",
    "resolve_rng",
    "check_nan_policy",
    "check_axis",
    "as_float_sample",
    "all_finite",
    "NotAllFinite",
    "vectorize_1d",
]


class SmallSampleWarning(RuntimeWarning):
    """A sample (or slice along `axis`) is too small for the test: the result is NaN."""


class DegenerateDataWarning(RuntimeWarning):
    """A sample has zero variance (or a singular covariance): the result is NaN."""


def _got(value) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"Got {text} instead."


def check_bool(value, name: str) -> bool:
    """Return `value` if it is a bool (or numpy bool), else raise TypeError."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"`{name}` must be a bool (True or False). {_got(value)}")


def check_choice(value, name: str, choices) -> str:
    """Return `value` if it is one of the string `choices`."""
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a str, one of {sorted(choices)}. {_got(value)}")
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {sorted(choices)}. {_got(value)}")
    return value


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None,
              allow_none: bool = False):
    """Return `value` as a Python int, checking type and range."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int{' or None' if allow_none else ''}. {_got(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}. {_got(value)}")
    if maximum is not None and value > maximum:
        raise ValueError(f"`{name}` must be an int <= {maximum}. {_got(value)}")
    return value


def check_float(value, name: str, *, low: float | None = None, high: float | None = None,
                low_open: bool = True, high_open: bool = True, allow_none: bool = False):
    """Return `value` as a finite Python float inside the stated interval."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number. {_got(value)}")
    value = float(value)
    lo_ok = low is None or (value > low if low_open else value >= low)
    hi_ok = high is None or (value < high if high_open else value <= high)
    if not np.isfinite(value) or not (lo_ok and hi_ok):
        lb = "(" if low_open else "["
        hb = ")" if high_open else "]"
        interval = f"{lb}{'-inf' if low is None else low}, {'inf' if high is None else high}{hb}"
        raise ValueError(f"`{name}` must be a finite float in the interval {interval}. {_got(value)}")
    return value


#: accepted widths of the Gaussian weight N(0, beta^2) of the ECF tests. Outside it the tests
#: have no power left (beta -> 0: every kernel is 1; beta -> inf: only the diagonal survives)
#: and their null laws underflow or overflow; Henze-Zirkler's width stays within it for any
#: realistic n and d.
BETA_RANGE = (0.1, 10.0)


def check_beta(beta, name: str = "beta") -> float:
    """`beta` as a float in the closed interval :data:`BETA_RANGE`."""
    return check_float(beta, name, low=BETA_RANGE[0], high=BETA_RANGE[1], low_open=False, high_open=False)


#: largest |value| a test with ``standardize=False`` accepts: its square (in the Gaussian
#: kernels, log Phi) must not overflow float64
MAX_MAGNITUDE = 1e150


def check_magnitude(arr, name: str = "x", target: str = "N(0, 1)"):
    """ValueError if the finite values of `arr` reach :data:`MAX_MAGNITUDE` (``standardize=False``)."""
    big = float(np.nanmax(np.abs(arr), initial=0.0)) if np.size(arr) else 0.0
    if big > MAX_MAGNITUDE:
        raise ValueError(
            f"`{name}` has values up to {big:.3g}; with standardize=False they are tested against "
            f"{target} as given, and squares of values beyond {MAX_MAGNITUDE:.0e} overflow the "
            "computation. Rescale the data or use standardize=True."
        )


def check_rng(rng, name: str = "rng") -> np.random.Generator:
    """SPEC 7: `rng` may be None, an int seed, a SeedSequence or a Generator."""
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)) and not isinstance(
        rng, (bool, np.bool_)
    ):
        if isinstance(rng, numbers.Integral) and int(rng) < 0:
            raise ValueError(f"`{name}` must be a non-negative int seed. {_got(rng)}")
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(
        f"`{name}` must be None, an int seed or a numpy.random.Generator. {_got(rng)}"
    )


def resolve_rng(rng, name: str = "rng"):
    """Return ``(generator, seed)``; `seed` reproduces the stream when fed back as `rng`.

    For ``rng=None`` fresh OS entropy is drawn and recorded; for an int it is the
    int; for a caller's Generator (whose history we cannot know) it is None.
    """
    if rng is None:
        seed = int(np.random.SeedSequence().entropy)
        return np.random.default_rng(seed), seed
    gen = check_rng(rng, name)
    if isinstance(rng, np.random.Generator):
        return gen, None
    if isinstance(rng, np.random.SeedSequence):
        return gen, rng.entropy if rng.spawn_key == () else None
    return gen, int(rng)


def check_nan_policy(nan_policy) -> str:
    return check_choice(nan_policy, "nan_policy", ("propagate", "omit", "raise"))


def check_axis(axis, ndim: int, name: str = "axis") -> int | None:
    """Normalise `axis` (None flattens) against an array of `ndim` dimensions."""
    if axis is None:
        return None
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"`{name}` must be an int or None. {_got(axis)}")
    axis = int(axis)
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"`{name}` must be in the range [{-ndim}, {ndim - 1}] for an input with {ndim} "
            f"dimension(s). {_got(axis)}"
        )
    return axis % ndim


def _masked_parts(x):
    """``(data, mask)`` of a ``numpy.ma.MaskedArray``, else ``(x, None)``."""
    if isinstance(x, np.ma.MaskedArray):
        return np.ma.getdata(x), np.ma.getmaskarray(x)
    return x, None


def as_float_sample(x, name: str = "x", *, dtype=np.float64, min_ndim: int = 1,
                    return_mask: bool = False, copy: bool = True):
    """Coerce array-like numeric data to a floating array without touching the input.

    Strings, objects, complex and bool data raise TypeError; 0-d input raises
    ValueError; infinite values raise ValueError (NaN is left for `nan_policy`).
    Torch tensors are accepted (moved to host memory).

    Masked arrays (``numpy.ma``) follow SciPy's convention: masked entries are
    left out. With ``return_mask=True`` the result is ``(array, mask)`` (masked
    entries set to NaN, ``mask`` None for plain input) for callers that omit
    them along an axis; otherwise 1-d masked input is compressed and N-d masked
    input raises TypeError (which entries to drop would be ambiguous).

    ``copy=False``: the input itself is returned when it already has the dtype
    (and no masked entry), for callers that only read it.
    """
    return _as_float(x, name, dtype, min_ndim, return_mask, copy)[0]


def _as_float(x, name, dtype, min_ndim, return_mask, copy, check_finite=True):
    """:func:`as_float_sample` and whether the values are all finite (no NaN, no inf); with
    ``check_finite=False`` (and no masked entry) that is assumed, not read."""
    if hasattr(x, "detach") and hasattr(x, "cpu") and type(x).__module__.startswith("torch"):
        x = x.detach().cpu().numpy()
    elif hasattr(x, "get") and type(x).__module__.startswith("cupy"):
        x = x.get()
    x, mask = _masked_parts(x)
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"`{name}` must be array-like of real numbers. {_got(x)}") from exc
    kind = arr.dtype.kind
    if kind == "b":
        raise TypeError(f"`{name}` must hold real numbers, not booleans (dtype {arr.dtype}).")
    if kind == "c":
        raise TypeError(f"`{name}` must hold real numbers, not complex values (dtype {arr.dtype}).")
    if kind not in "iuf":
        raise TypeError(f"`{name}` must hold real numbers. Got an array of dtype {arr.dtype} instead.")
    if arr.ndim < min_ndim:
        raise ValueError(
            f"`{name}` must have at least {min_ndim} dimension(s). Got a {arr.ndim}-d array instead."
        )
    if mask is not None and not mask.any():
        mask = None
    copy = copy or mask is not None  # masked entries are overwritten below
    if dtype is not None:
        arr = arr.astype(dtype, copy=copy)
    else:
        arr = arr.astype(np.result_type(arr.dtype, np.float32), copy=copy)
    if mask is not None:
        if return_mask:
            arr[mask] = np.nan
        elif arr.ndim == 1:
            arr = arr[~mask]
        else:
            raise TypeError(
                f"`{name}` must not be a masked array with masked entries here (shape {arr.shape}): "
                "pass `x.compressed()` or `x.filled(np.nan)` with nan_policy='omit'."
            )
    finite = all_finite(arr) if check_finite or mask is not None else True
    if not finite and np.isinf(arr).any():
        raise ValueError(f"`{name}` must not contain infinite values.")
    return ((arr, mask) if return_mask else arr), finite


def all_finite(arr) -> bool:
    """True if a float array holds no NaN and no infinity, in one read and no temporary.

    The sum propagates both (inf - inf is NaN); False may also mean an overflowing sum
    of finite values, so it only selects the cheap path and callers check the rest.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(np.add.reduce(arr, axis=None))) if arr.size else True


class NotAllFinite(Exception):
    """Raised by a `compute` of ``vectorize_1d(..., lazy_finite=True)`` that met a NaN or an inf."""


def vectorize_1d(x, *, axis, nan_policy, min_n: int, compute, name: str = "x", test: str = "test",
                 keepdims: bool = False, copy: bool = True, lazy_finite: bool = False):
    """Apply a last-axis core to every 1-D slice of `x` along `axis`.

    Parameters
    ----------
    compute : callable
        ``compute(data)`` with ``data`` a C-contiguous float64 array of shape
        ``(m, n)`` (m slices, all of size n >= `min_n`, no NaN). It returns a
        dict of equal-length 1-D arrays (at least ``statistic`` and ``pvalue``)
        plus optional non-array entries (e.g. ``null``) under the key ``"_meta"``.
    copy : bool, default True
        ``False`` for a `compute` that only reads ``data``: it may then be the
        caller's array itself (C-contiguous float64 input along the last axis).
    lazy_finite : bool, default False
        ``True`` for a `compute` that detects NaN/inf itself (e.g. from its sums) and
        then raises :class:`NotAllFinite`: the input is not read for finiteness first,
        and where `compute` raises, everything is redone the checked way (NaN policy,
        the infinity error).

    Returns
    -------
    out : dict
        Arrays reshaped to the batch shape (scalars for 1-D input), ``n``
        (per slice sample size) and ``meta``: a list of the ``_meta`` dicts of
        each group of equal n.
    """
    args = (x, axis, nan_policy, min_n, compute, name, test, keepdims, copy)
    if lazy_finite:
        try:
            return _vectorize_1d(*args, check_finite=False)
        except NotAllFinite:
            pass
    return _vectorize_1d(*args, check_finite=True)


def _vectorize_1d(x, axis, nan_policy, min_n, compute, name, test, keepdims, copy, check_finite):
    (arr, mask), finite = _as_float(x, name, np.float64, 1, True, copy, check_finite)
    nan_policy = check_nan_policy(nan_policy)
    keepdims = check_bool(keepdims, "keepdims")
    ax = check_axis(axis, arr.ndim)
    in_ndim = arr.ndim
    if ax is None:
        arr = arr.reshape(-1)
        ax = 0
    moved = np.moveaxis(arr, ax, -1)
    batch_shape = moved.shape[:-1]
    # explicit row count: reshape(-1, 0) is ambiguous for an empty sample axis
    rows_shape = (int(np.prod(batch_shape, dtype=np.int64)), moved.shape[-1])
    data = np.ascontiguousarray(moved.reshape(rows_shape))
    m, n_full = data.shape
    if n_full == 0 and m <= 1:
        raise ValueError(f"`{name}` must not be empty.")

    # masked entries (numpy.ma) are always left out; nan_policy acts on the NaN of the rest
    masked = None
    if mask is not None:
        masked = np.ascontiguousarray(np.moveaxis(mask.reshape(-1) if axis is None else mask, ax, -1)
                                      .reshape(rows_shape))
    if masked is None and finite:  # the common case: no NaN, no mask, no (m, n) temporary
        nan_mask = None
        has_nan = np.zeros(m, dtype=bool)
    else:
        nan_mask = np.isnan(data) if masked is None else np.isnan(data) & ~masked
        has_nan = nan_mask.any(axis=1)
    if has_nan.any() and nan_policy == "raise":
        raise ValueError(f"`{name}` contains NaN and nan_policy='raise'.")
    if masked is not None:
        nan_mask = nan_mask | masked if nan_policy == "omit" else masked
    dropping = (nan_policy == "omit" or masked is not None) and nan_mask is not None

    counts = np.full(m, n_full, dtype=np.int64)
    if dropping:
        counts = n_full - nan_mask.sum(axis=1)
    groups: dict[int, list[int]] = {}
    for i in range(m):
        if nan_policy == "propagate" and has_nan[i]:
            continue
        groups.setdefault(int(counts[i]), []).append(i)

    results: dict[str, np.ndarray] = {}
    metas = []
    small = []
    for n, rows in sorted(groups.items()):
        if n < min_n:
            small.append(n)
            continue
        rows = np.asarray(rows)
        if dropping and nan_mask[rows].any():
            sub = np.empty((len(rows), n))
            for j, r in enumerate(rows):
                sub[j] = data[r][~nan_mask[r]]
        else:
            sub = data if len(rows) == m else data[rows]
        out = compute(np.ascontiguousarray(sub))
        meta = out.pop("_meta", {})
        meta = dict(meta, n=n, rows=rows)
        metas.append(meta)
        for key, val in out.items():
            val = np.asarray(val)
            if key not in results:
                results[key] = np.full(m, np.nan, dtype=np.result_type(val.dtype, np.float64))
            results[key][rows] = val
    if small:
        warnings.warn(
            f"{test}: a sample of size {min(small)} is too small (the test needs n >= {min_n}); "
            "the result is NaN.",
            SmallSampleWarning,
            stacklevel=3,
        )
    for key in ("statistic", "pvalue"):
        results.setdefault(key, np.full(m, np.nan))
    shape = batch_shape
    if keepdims:  # the reduced axis stays where it was, with length one (as scipy.stats)
        shape = (1,) * in_ndim if axis is None else shape[:ax] + (1,) + shape[ax:]
    final = {}
    for key, val in results.items():
        val = val.reshape(shape)
        final[key] = val[()] if val.ndim == 0 else val
    n_out = counts.reshape(shape)
    final["n"] = int(n_out) if n_out.ndim == 0 else n_out
    final["meta"] = metas
    return final
