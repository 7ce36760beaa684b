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
``T_{n,beta}`` (MATH.md §2) by a streamed O(n^2) double sum in numba.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._result import TestResult
from ._validate import (
    DegenerateDataWarning,
    SmallSampleWarning,
    as_float_sample,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_nan_policy,
    resolve_rng,
)
from .null import AnalyticNull, MonteCarlo, check_method, monte_carlo_null

__all__ = ["sliced_epps_pulley", "bhep", "henze_zirkler", "SlicedResult"]

_CHUNK_VALUES = 2**23  # projected values per row chunk (32 MB in float32): fewer BLAS/numba hand-overs
_COND_MAX = 1e12       # largest accepted condition number of the sample covariance
_MAX_EIGEN_SLICES = 512  # beyond this many slices the "mean" p-value uses a moment-matched gamma


@dataclass(frozen=True, repr=False, eq=False)
class SlicedResult(TestResult):
    """Result of :func:`sliced_epps_pulley` (a :class:`~normtest.TestResult`).

    Extra attributes
    ----------------
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
    """

    slice_statistics: Any = field(default=None, repr=False)
    columns: Any = field(default=None, repr=False)
    directions: Any = field(default=None, repr=False, metadata={"record": False})
    null_moments: Any = field(default=None, repr=False)
    quadrature: Any = field(default=None, repr=False)


# ---------------------------------------------------------------------------
# input handling
# ---------------------------------------------------------------------------

def _as_matrix(X, name="X"):
    """(N, D) floating array (float32 kept, other types to float64) and column names."""
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


def _drop_nan_rows(X, nan_policy, name="X"):
    """Return (X without NaN rows or None for 'propagate' with NaN)."""
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
    vals, vecs = np.linalg.eigh(cov)
    top = float(vals[-1]) if vals.size else 0.0
    if not top > 0 or vals[0] <= top / _COND_MAX:
        cond = np.inf if vals[0] <= 0 else top / vals[0]
        raise ValueError(
            f"`{name}` has a singular or near-singular sample covariance (condition number {cond:.3g}, "
            f"limit {_COND_MAX:.0e}): standardize=True needs N > D and linearly independent columns. "
            "Remove redundant columns or use standardize=False."
        )
    W = (vecs / np.sqrt(vals)) @ vecs.T
    return mean, W


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


def _row_chunk(n, width):
    return int(max(64, min(n, _CHUNK_VALUES // max(1, width))))


def _projected_sums(X, B, rule, *, offset=None, spread_only=False):
    """ECF sums (C, S) of the projections X @ B (streamed), optionally centring X first.

    Row chunks are projected with one BLAS call each, slice-major ``(M, chunk)`` so
    that every slice's values are contiguous for the ECF kernel. With more than one
    chunk the projections are produced by a helper thread while the (GIL-free)
    numba kernel consumes the previous chunk: BLAS and numba then overlap instead of
    handing the cores back and forth (OpenBLAS workers spin after each call and
    would otherwise slow the kernel down). At most two chunks exist at a time, and
    chunks are summed in order, so the result does not depend on timing.
    """
    from ._kernels import ecf_sums_rows

    n = X.shape[0]
    M = B.shape[1]
    nodes = np.asarray(rule.nodes, dtype=np.float64)
    step = _rule_step(rule)
    C = np.zeros((M, nodes.size))
    S = np.zeros((M, nodes.size))
    chunk = _row_chunk(n, max(M, X.shape[1]))
    Bc = B.astype(X.dtype) if offset is None else B

    def project(lo):
        block = X[lo:lo + chunk]
        if offset is not None:
            block = block.astype(np.float64) - offset
        return np.matmul(Bc.T, block.T)

    starts = range(0, n, chunk)
    if len(starts) == 1:
        ecf_sums_rows(project(0), nodes, step, out=(C, S))
        return C, S

    import queue
    import threading

    ready: "queue.Queue" = queue.Queue()
    slots = threading.Semaphore(2)  # chunks alive at once (being filled, or waiting/consumed)
    stop = threading.Event()

    def producer():
        try:
            for lo in starts:
                slots.acquire()
                if stop.is_set():
                    return
                ready.put(project(lo))
            ready.put(None)
        except BaseException as exc:  # handed to the consumer, re-raised there
            ready.put(exc)

    worker = threading.Thread(target=producer, name="normtest-projection", daemon=True)
    worker.start()
    try:
        while True:
            item = ready.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            ecf_sums_rows(item, nodes, step, out=(C, S))
            del item
            slots.release()
    finally:
        stop.set()
        slots.release()
        worker.join()
    return C, S


def _rule_step(rule):
    """`step` for ecf_sums when the nodes are exactly k * step, k = 1..K."""
    step = rule.step
    if step is None:
        return None
    K = rule.nodes.size
    if np.allclose(rule.nodes, step * np.arange(1, K + 1), rtol=1e-12, atol=0):
        return float(step)
    return None


def _max_row_norm(X, offset=None, W=None):
    n = X.shape[0]
    chunk = _row_chunk(n, X.shape[1])
    best = 0.0
    for lo in range(0, n, chunk):
        block = X[lo:lo + chunk].astype(np.float64)
        if offset is not None:
            block = (block - offset) @ W
        best = max(best, float(np.sqrt(np.max(np.einsum("ij,ij->i", block, block)))))
    return best


def _resolve_rule(quadrature, beta, spread):
    from ._quadrature import QuadratureRule, get_rule

    if isinstance(quadrature, str) and quadrature in ("lejepa", "paper") and beta != 1.0:
        raise ValueError(
            f"`beta` must be 1.0 with quadrature={quadrature!r}: the LeJEPA presets fix the weight "
            f"exp(-t^2/2). Got beta={beta} instead (use quadrature='auto' for another width)."
        )
    if isinstance(quadrature, str) and quadrature == "exact":
        raise ValueError("`quadrature='exact'` is not available for the sliced test; use 'auto' "
                         "(exact to ~1e-10) or directions='all'.")
    if not isinstance(quadrature, (str, QuadratureRule, tuple, list)):
        raise TypeError(
            "`quadrature` must be 'auto', 'lejepa', 'paper', 'gauss-hermite', a QuadratureRule or a "
            f"(nodes, weights) pair. Got {quadrature!r} instead."
        )
    return get_rule(quadrature, beta, spread=spread)


def _null_rule(rule, beta):
    """Rule used for null-law computations: 'auto' rules are replaced by a compact one.

    Against the weight N(0, beta^2) the null covariances are Gaussians in t of
    standard deviation at least ``sigma = beta / sqrt(1 + beta^2)`` (no data
    oscillation), so a trapezoid with step ``0.6 sigma`` truncated at
    ``9 beta`` integrates them as exactly as the data's rule does (null mean
    and variance within 1e-12 relative of the closed forms for beta in
    [0.5, 3]), with 22 nodes at beta = 1.
    """
    if rule.name == "auto":
        from ._quadrature import QuadratureRule

        h = 0.6 * beta / math.sqrt(1.0 + beta * beta)
        K = int(math.ceil(9.0 * beta / h))
        t = h * np.arange(1, K + 1, dtype=np.float64)
        omega = 2.0 * h * np.exp(-0.5 * (t / beta) ** 2) / (beta * math.sqrt(2.0 * math.pi))
        return QuadratureRule("auto-null", t, omega, "henze", beta, h)
    return rule


# ---------------------------------------------------------------------------
# null laws
# ---------------------------------------------------------------------------

_LIMIT_CACHE: "OrderedDict[tuple, tuple]" = OrderedDict()


def _gram_key(A):
    return hashlib.sha1(np.ascontiguousarray(A).tobytes()).hexdigest()


def _rule_key(rule):
    return (rule.name, rule.scale, rule.nodes.tobytes(), rule.weights.tobytes())


def _limit_null(A, rule, composite):
    from ._sliced_null import limit_null

    key = (_gram_key(A), _rule_key(rule), bool(composite))
    hit = _LIMIT_CACHE.get(key)
    if hit is None:
        hit = limit_null(A, rule, composite, params={"composite": bool(composite)})
        _LIMIT_CACHE[key] = hit
        while len(_LIMIT_CACHE) > 16:
            _LIMIT_CACHE.popitem(last=False)
    else:
        _LIMIT_CACHE.move_to_end(key)
    return hit


def _simulate_sliced(n, A, rule_for, reduce, composite, gram_factor, per_replicate=1):
    """``simulate(size, gen)`` for the Monte-Carlo null of a sliced statistic."""
    from ._kernels import ecf_sums

    D, M = A.shape

    def simulate(size, gen):
        out = np.empty(size)
        per = max(1, min(size, _CHUNK_VALUES // max(1, n * max(M, D))))
        done = 0
        while done < size:
            b = min(per, -(-(size - done) // per_replicate))
            if gram_factor is not None:  # simple null, M <= D: projections directly
                Z = gen.standard_normal((b, n, M))
                P = Z @ gram_factor.T
            else:
                Xs = gen.standard_normal((b, n, D))
                if composite:
                    Xs = Xs - Xs.mean(axis=1, keepdims=True)
                    cov = np.einsum("bij,bik->bjk", Xs, Xs) / n
                    vals, vecs = np.linalg.eigh(cov)
                    W = (vecs / np.sqrt(vals)[:, None, :]) @ np.swapaxes(vecs, 1, 2)
                    Xs = Xs @ W
                P = Xs @ A
            Pw = np.ascontiguousarray(np.swapaxes(P, 0, 1).reshape(n, b * M))
            rule = rule_for(P)
            C, S = ecf_sums(Pw, rule.nodes, _rule_step(rule))
            stats = rule.statistic(C.reshape(b, M, -1), S.reshape(b, M, -1), np.full((b, M), float(n)))
            vals_ = reduce(stats)
            take = min(vals_.size, size - done)
            out[done:done + take] = vals_[:take]
            done += take
        return out

    return simulate


def _sf_many(null, x, direct_max=24, grid=40):
    """``null.sf`` at many points: direct for a few, else monotone interpolation of log sf.

    Imhof's integral costs milliseconds per point; for M slices the law is
    evaluated on ``grid`` points spanning the values and ``log sf`` is
    interpolated by PCHIP (shape preserving), relative error about 1e-6.
    """
    x = np.asarray(x, dtype=np.float64)
    ok = np.isfinite(x)
    if ok.sum() <= direct_max:
        return np.asarray(null.sf(x))
    from scipy.interpolate import PchipInterpolator

    lo, hi = float(x[ok].min()), float(x[ok].max())
    pts = np.linspace(lo, hi, grid)
    logsf = np.log(np.maximum(np.asarray(null.sf(pts), dtype=np.float64), 1e-300))
    out = np.full(x.shape, np.nan)
    out[ok] = np.exp(PchipInterpolator(pts, logsf)(x[ok]))
    return np.clip(out, 0.0, 1.0)


def _gamma_null(mean, var, params):
    from scipy import stats

    k = mean * mean / var
    theta = var / mean
    dist = stats.gamma(k, scale=theta)
    return AnalyticNull("gamma-moments", sf=dist.sf, cdf=dist.cdf, ppf=dist.ppf,
                        support=(0.0, mean + 10 * math.sqrt(var)),
                        params={"mean": mean, "var": var, **params})


# ---------------------------------------------------------------------------
# public: sliced Epps–Pulley
# ---------------------------------------------------------------------------

def sliced_epps_pulley(X, *, n_slices=256, directions=None, rng=None, standardize=False, beta=1.0,
                       quadrature="auto", reduction="mean", method=None, nan_policy="propagate"):
    r"""Sliced multivariate Epps–Pulley test (SIGReg) of multivariate normality.

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
        projection (the sums are accumulated in float64).
    n_slices : int, default 256
        Number M of random directions (ignored when `directions` is given).
    directions : None, "all" or array_like of shape (D, M)
        ``None``: M directions ``g / ||g||`` with ``g ~ N(0, I_D)`` drawn from
        `rng` (uniform on the sphere). An array: user directions, one per
        column; they must be finite and non-zero and are **normalised to unit
        length** (a scaled direction would test N(0, c^2) instead).
        ``"all"``: the exact average of the statistic over uniformly
        distributed directions, a closed-form O(N^2) kernel statistic with the
        confluent hypergeometric kernel ``1F1(1/2; D/2; .)`` (MATH.md §6.2) on
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
        Width of the Gaussian weight N(0, beta^2) of the Henze-scale rules
        (``"auto"``, ``"gauss-hermite"``, ``directions="all"``). Must be 1
        with the LeJEPA presets.
    quadrature : str, QuadratureRule or (nodes, weights), default "auto"
        ``"auto"``: an equispaced rule on the Henze scale sized from
        ``max_j ||X_j||`` (a bound on every projection) so that every slice
        statistic equals the exact integral ``T_{N,beta}`` to about 1e-10.
        ``"lejepa"``: nodes ``linspace(0, 3, 17)``, folded trapezoid, weight
        ``exp(-t^2/2)``, times N (official LeJEPA ``EppsPulley``). ``"paper"``:
        ``linspace(-5, 5, 17)``, plain trapezoid (LeJEPA Algorithm 1). Or a
        custom rule. See ``docs/sliced.md`` for the scales.
    reduction : {"mean", "max", "none"}, default "mean"
        How slice statistics are combined; ``"none"`` returns all of them
        (statistic and pvalue of shape (M,)). ``result.slice_statistics``
        always holds them.
    method : None, "asymptotic" or MonteCarlo
        ``None``/``"asymptotic"``: for ``"mean"`` the limit law of the slice
        mean for *these* directions, ``sum_i lambda_i chi2_1`` with the
        eigenvalues of the joint covariance of all slices (Mehler's formula,
        MATH.md §6.4) evaluated by Imhof's method; when the covariance is too
        large for a dense eigensolve (M K > 2048) the 256 leading eigenvalues
        of each block come from Lanczos and the rest is a scaled chi-square
        with the exact remaining mean and variance (``method`` then reads
        ``"asymptotic-lanczos"``); beyond 512 slices a gamma law with the
        null mean and variance (``"gamma-moments"``, approximate in the far
        tail). For ``"max"`` a Bonferroni bound
        ``min(1, M p_1(max))`` from the one-slice law (conservative, method
        ``"asymptotic-bonferroni"``); for ``"none"`` each slice's own limit
        law. With ``directions="all"``: a gamma law with the exact finite-N
        mean and variance (simple null; ``"gamma-moments"``), Monte Carlo for
        the composite null. ``MonteCarlo(...)``: simulate the statistic under
        the null with the same directions and rule.
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
    direction cosines ``A^T A`` (MATH.md §6.3); both are in
    ``result.null_moments``. Under the composite null with the symmetric root
    the estimation effects remove exactly the Hermite components of degree 1
    and 2 of every slice feature, which gives the composite limit law.

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
    X, columns = _as_matrix(X)
    n_slices = check_int(n_slices, "n_slices", minimum=1)
    standardize = check_bool(standardize, "standardize")
    beta = check_float(beta, "beta", low=0.0)
    reduction = check_choice(reduction, "reduction", ("mean", "max", "none"))
    method = check_method(method, allowed=("asymptotic",))
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
    if isinstance(quadrature, str):
        check_choice(quadrature, "quadrature", ("auto", "lejepa", "paper", "gauss-hermite", "exact"))
    Xc = _drop_nan_rows(X, nan_policy)
    settings = {"n_slices": M, "directions": source, "beta": beta, "reduction": reduction, "dim": D}
    common = dict(standardize=standardize, test="sliced_epps_pulley", columns=columns, directions=A,
                  seed=seed if source == "random" else None)
    min_n = D + 2 if standardize else 2
    if Xc is None or Xc.shape[0] < min_n:
        if Xc is not None:
            warnings.warn(f"sliced_epps_pulley: a sample of size {Xc.shape[0]} is too small (the test needs "
                          f"n >= {min_n}); the result is NaN.", SmallSampleWarning, stacklevel=2)
        shape = (M,) if reduction == "none" else ()
        nanv = np.full(shape, np.nan)[()]
        return SlicedResult(statistic=nanv, pvalue=nanv, n=0 if Xc is None else Xc.shape[0],
                            method="none", settings=settings, slice_statistics=np.full(M, np.nan),
                            **common)
    n = Xc.shape[0]
    offset = W = None
    if standardize:
        offset, W = _whitener(Xc)
    if all_dirs:
        return _all_directions(Xc, offset, W, beta, method, gen, n, settings, common)

    spread = _max_row_norm(Xc, offset, W) if (isinstance(quadrature, str) and quadrature == "auto") else None
    rule = _resolve_rule(quadrature, beta, spread)
    B = A if W is None else W @ A
    C, S = _projected_sums(Xc, B, rule, offset=offset)
    slice_stats = rule.statistic(C, S, np.full(M, float(n)))
    stat = {"mean": lambda s: s.mean(axis=-1), "max": lambda s: s.max(axis=-1),
            "none": lambda s: s}[reduction](slice_stats)
    settings["quadrature"] = rule.describe()
    nrule = _null_rule(rule, beta)
    A_mom = A if reduction == "mean" else np.ones((1, 1))  # "max"/"none": one slice's moments
    if standardize:
        from ._sliced_null import limit_moments

        mom = dict(limit_moments(A_mom, nrule, True), kind="limit")
    else:
        from ._sliced_null import exact_moments

        mom = dict(exact_moments(A_mom, nrule, n), kind="exact")
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
                from ._quadrature import auto_rule

                return auto_rule(max(_s, float(np.abs(P).max())), _b)
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
        if reduction == "mean" and M <= _MAX_EIGEN_SLICES:
            null, label = _limit_null(A, nrule, standardize)
            pvalue = null.sf(stat)
        elif reduction == "mean":
            null = _gamma_null(mom["mean"], mom["var"], {"n": n, "moments": mom["kind"]})
            pvalue = null.sf(stat)
            label = "gamma-moments"
        else:
            null, _ = _limit_null(np.ones((1, 1)), nrule, standardize)
            if reduction == "none":
                pvalue = _sf_many(null, stat)
                label = "asymptotic"
            else:
                pvalue = min(1.0, M * float(null.sf(stat)))
                label = "asymptotic-bonferroni"
    return SlicedResult(statistic=stat, pvalue=np.asarray(pvalue)[()], n=n, method=label, null=null,
                        settings=settings, pvalue_se=pvalue_se, slice_statistics=slice_stats,
                        null_moments=mom, quadrature=rule.describe(), **common)


def _all_statistic(Y, beta):
    from ._mv_kernels import allslice_pair_rowsums, hyp1f1_half_neg_vec

    n, d = Y.shape
    b2 = beta * beta
    pair = float(np.sum(allslice_pair_rowsums(Y, b2, 0.5 * d)))
    sq = np.einsum("ij,ij->i", Y, Y)
    single = float(np.sum(hyp1f1_half_neg_vec(b2 / (2.0 * (1.0 + b2)) * sq, 0.5 * d)))
    return (n + 2.0 * pair) / n - 2.0 / math.sqrt(1.0 + b2) * single + n / math.sqrt(1.0 + 2.0 * b2)


def _all_directions(X, offset, W, beta, method, gen, n, settings, common):
    Y = np.ascontiguousarray(X, dtype=np.float64)
    if W is not None:
        Y = (Y - offset) @ W
    D = Y.shape[1]
    stat = _all_statistic(Y, beta)
    standardize = common["standardize"]
    settings["quadrature"] = None
    mom = None
    pvalue_se = None
    if not standardize:
        from ._sliced_null import allslice_moments

        mom = dict(allslice_moments(n, D, beta), kind="exact")
    if method is None and standardize:
        method = MonteCarlo()
    if isinstance(method, MonteCarlo):
        from ._mv_kernels import allslice_batch

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


# ---------------------------------------------------------------------------
# public: BHEP and Henze–Zirkler
# ---------------------------------------------------------------------------

def _bhep_value(Y, beta):
    from ._mv_kernels import bhep_pair_rowsums

    n, d = Y.shape
    b2 = beta * beta
    pair = float(np.sum(bhep_pair_rowsums(np.ascontiguousarray(Y, dtype=np.float64), b2)))
    sq = np.einsum("ij,ij->i", Y, Y)
    single = float(np.sum(np.exp(-b2 / (2.0 * (1.0 + b2)) * sq)))
    return ((n + 2.0 * pair) / n - 2.0 * (1.0 + b2) ** (-0.5 * d) * single
            + n * (1.0 + 2.0 * b2) ** (-0.5 * d))


def _hz_moments(d, beta):
    """Henze–Wagner limit mean and variance of T_{n,beta} under the composite null (MATH.md §4.2)."""
    b2 = beta * beta
    a = 1.0 + 2.0 * b2
    w = (1.0 + b2) * (1.0 + 3.0 * b2)
    mu = 1.0 - a ** (-d / 2) * (1.0 + d * b2 / a + d * (d + 2) * b2 * b2 / (2 * a * a))
    s2 = (2.0 * (1.0 + 4.0 * b2) ** (-d / 2)
          + 2.0 * a ** (-d) * (1.0 + 2.0 * d * b2**2 / a**2 + 3.0 * d * (d + 2) * b2**4 / (4.0 * a**4))
          - 4.0 * w ** (-d / 2) * (1.0 + 3.0 * d * b2**2 / (2.0 * w) + d * (d + 2) * b2**4 / (2.0 * w**2)))
    return mu, s2


def _simple_bhep_moments(n, d, beta):
    """Exact finite-n mean and variance of T_{n,beta} under N(0, I_d) (MATH.md §4.1)."""
    b2 = beta * beta
    c = (1.0 + 2.0 * b2) ** (-d / 2)
    sl2 = (1.0 + 4.0 * b2) ** (-d / 2) - 2.0 * ((1.0 + b2) * (1.0 + 3.0 * b2)) ** (-d / 2) + c * c
    var = 2.0 * (1.0 - 1.0 / n) * sl2 + 4.0 / n * (((1.0 + b2) * (1.0 + 3.0 * b2)) ** (-d / 2) - c * c)
    return 1.0 - c, var


def _lognormal_null(mu, s2, params):
    from scipy import stats

    sigma = math.sqrt(math.log1p(s2 / (mu * mu)))
    scale = mu / math.sqrt(1.0 + s2 / (mu * mu))
    dist = stats.lognorm(sigma, scale=scale)
    return AnalyticNull("lognormal", sf=dist.sf, cdf=dist.cdf, ppf=dist.ppf,
                        support=(0.0, mu + 10 * math.sqrt(s2)),
                        params={"mean": mu, "var": s2, **params})


def _bhep_impl(X, beta, standardize, method, nan_policy, test, beta_rule):
    X, columns = _as_matrix(X)
    standardize = check_bool(standardize, "standardize")
    method = check_method(method, allowed=("lognormal",))
    nan_policy = check_nan_policy(nan_policy)
    Xc = _drop_nan_rows(X, nan_policy)
    D = X.shape[1]
    min_n = D + 2 if standardize else 2
    if Xc is None or Xc.shape[0] < min_n:
        if Xc is not None:
            warnings.warn(f"{test}: a sample of size {Xc.shape[0]} is too small (the test needs "
                          f"n >= {min_n}); the result is NaN.", SmallSampleWarning, stacklevel=3)
        return TestResult(statistic=np.nan, pvalue=np.nan, n=0 if Xc is None else Xc.shape[0],
                          standardize=standardize, method="none", test=test,
                          settings={"beta": beta, "dim": D})
    n = Xc.shape[0]
    if beta_rule:
        beta = ((2 * D + 1) * n / 4.0) ** (1.0 / (D + 4)) / math.sqrt(2.0)
    Y = Xc.astype(np.float64)
    if standardize:
        try:
            offset, W = _whitener(Y)
        except ValueError:
            warnings.warn(f"{test}: the sample covariance is singular; the result is NaN.",
                          DegenerateDataWarning, stacklevel=3)
            return TestResult(statistic=np.nan, pvalue=np.nan, n=n, standardize=True, method="none",
                              test=test, settings={"beta": beta, "dim": D})
        Y = (Y - offset) @ W
    stat = _bhep_value(Y, beta)
    pvalue_se = None
    settings = {"beta": beta, "dim": D}
    if isinstance(method, MonteCarlo):
        from ._mv_kernels import bhep_batch

        def simulate(size, g, _n=n, _d=D, _b2=beta * beta, _std=standardize):
            Xs = _null_batch(g, size, _n, _d, _std)
            return bhep_batch(np.ascontiguousarray(Xs), _b2)

        null = monte_carlo_null((test, n, D, beta, standardize), simulate, method, values_per_resample=n * D,
                                params={"test": test, "n": n, "dim": D, "beta": beta})
        pvalue = null.sf(stat)
        pvalue_se = null.pvalue_se(stat)
        label = "monte-carlo"
    else:
        if standardize:
            mu, s2 = _hz_moments(D, beta)
            kind = "henze-wagner limit moments"
        else:
            mu, s2 = _simple_bhep_moments(n, D, beta)
            kind = "exact finite-n moments"
        null = _lognormal_null(mu, s2, {"n": n, "dim": D, "beta": beta, "moments": kind})
        pvalue = float(null.sf(stat))
        label = "lognormal"
    res = TestResult(statistic=stat, pvalue=np.asarray(pvalue)[()], n=n, standardize=standardize,
                     method=label, null=null, test=test, settings=settings, pvalue_se=pvalue_se)
    return res


def bhep(X, *, beta=1.0, standardize=True, method=None, nan_policy="propagate"):
    r"""BHEP test of multivariate normality (Baringhaus–Henze–Epps–Pulley).

    The exact statistic (MATH.md §2)

    .. math::

        T_{n,\beta} = \frac1n \sum_{j,k} e^{-\beta^2|Y_j-Y_k|^2/2}
        - 2(1+\beta^2)^{-d/2} \sum_j e^{-\beta^2|Y_j|^2/(2(1+\beta^2))}
        + n(1+2\beta^2)^{-d/2},

    ``n`` times the weighted L2 distance between the empirical characteristic
    function of the ``Y_j`` and that of N(0, I_d), weight N(0, beta^2 I_d).
    The double sum is streamed in numba (memory O(n), no n x n matrix).

    Parameters
    ----------
    X : array_like or pandas.DataFrame, shape (n, d)
        Sample, one observation per row (a 1-d array is d = 1).
    beta : float, default 1.0
        Width of the weight.
    standardize : bool, default True
        ``True``: H0 "normal, mean and covariance unknown"; ``Y_j`` are the
        data standardised by the sample mean and divisor-n covariance (any
        root gives the same value). ``False``: H0 N(0, I_d), ``Y_j = X_j``.
    method : None, "lognormal" or MonteCarlo
        ``None``/``"lognormal"``: a log-normal law with the Henze–Wagner
        limit mean and variance (composite; as R MVN and pingouin) or the
        exact finite-n mean and variance (simple null). ``MonteCarlo``: the
        statistic simulated under N(0, I_d).
    nan_policy : {"propagate", "omit", "raise"}
        Rows with NaN.

    Returns
    -------
    TestResult

    Examples
    --------
    >>> import numpy as np
    >>> import normtest
    >>> X = np.random.default_rng(0).standard_normal((200, 3))
    >>> res = normtest.bhep(X)
    >>> print(round(float(res.statistic), 4), round(float(res.pvalue), 3), res.method)
    0.4403 0.494 lognormal
    """
    beta = check_float(beta, "beta", low=0.0)
    return _bhep_impl(X, beta, standardize, method, nan_policy, "bhep", False)


def henze_zirkler(X, *, method=None, nan_policy="propagate"):
    r"""Henze–Zirkler test of multivariate normality.

    The BHEP statistic on standardised data (divisor-n covariance) with
    Henze and Zirkler's width ``beta = ((2d + 1) n / 4)^(1/(d+4)) / sqrt(2)``;
    p-value from the log-normal law with the Henze–Wagner moments (as R MVN
    ``hz`` and ``pingouin.multivariate_normality``) or Monte Carlo.

    Parameters
    ----------
    X : array_like or pandas.DataFrame, shape (n, d)
        Sample, one observation per row.
    method : None, "lognormal" or MonteCarlo
        As in :func:`bhep`.
    nan_policy : {"propagate", "omit", "raise"}
        Rows with NaN.

    Returns
    -------
    TestResult
        ``settings["beta"]`` holds the width used.

    Examples
    --------
    >>> import numpy as np
    >>> import normtest
    >>> X = np.random.default_rng(0).standard_normal((200, 3))
    >>> res = normtest.henze_zirkler(X)
    >>> print(round(float(res.statistic), 4), round(float(res.pvalue), 3))
    0.7396 0.564
    """
    return _bhep_impl(X, 1.0, True, method, nan_policy, "henze_zirkler", True)
