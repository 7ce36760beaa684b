"""Null distributions and the Monte-Carlo engine.

Every test reports the null distribution it used as an object with ``sf``,
``cdf`` and ``ppf`` (and ``critical_value(alpha)``), whether that law is
analytic, an approximation, a shipped table or a Monte-Carlo sample.

Monte-Carlo nulls of normality tests depend only on the sample size and the
test's settings (the composite statistics are affine invariant, the simple ones
are computed on data already mapped to N(0, 1)), so the engine simulates once per
``(test, n, settings, random stream)`` and reuses the sample across columns and
calls. A cached entry also stores the generator state reached after the
simulation, so a reused null leaves a caller's Generator exactly where a fresh
simulation would have.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ._cache import BoundedCache, clear_all
from ._progress import progress_bar
from ._validate import check_bool, check_int, check_rng

__all__ = [
    "MonteCarlo",
    "NullDistribution",
    "AnalyticNull",
    "MonteCarloNull",
    "monte_carlo_null",
    "clear_null_cache",
]


class MonteCarlo:
    """Monte-Carlo p-values: simulate the test statistic under the null.

    Parameters
    ----------
    n_resamples : int, default 9999
        Number of samples drawn from the null distribution.
    batch : int or None
        Number of null samples simulated per vectorised batch (memory/speed
        trade-off). ``None`` picks a batch that keeps about 32 MB in flight.
    rng : None, int or numpy.random.Generator
        Source of randomness. An int seed makes the p-value reproducible; the
        simulated null is then cached and reused by later calls with the same
        seed, test, n and settings.
    progress : bool, default False
        Show a progress bar (requires ``tqdm``), updated once per batch.

    Notes
    -----
    With ``b`` the number of simulated statistics at least as large as the
    observed one, the p-value is ``(b + 1) / (B + 1)`` with ``B = n_resamples``:
    the observed sample is counted as one more draw from the null, so the
    p-value is never 0 and the test has exactly its nominal size. Its
    Monte-Carlo standard error ``sqrt(p (1 - p) / B)`` is reported.
    """

    def __init__(self, n_resamples: int = 9999, batch: int | None = None, rng=None, progress: bool = False):
        self.n_resamples = check_int(n_resamples, "n_resamples", minimum=1)
        self.batch = check_int(batch, "batch", minimum=1, allow_none=True)
        if rng is not None and not isinstance(rng, np.random.Generator):
            check_rng(rng)  # validate eagerly
        self.rng = rng
        self.progress = check_bool(progress, "progress")

    def settings(self) -> dict:
        return {"n_resamples": self.n_resamples, "batch": self.batch}

    def __repr__(self) -> str:
        return f"MonteCarlo(n_resamples={self.n_resamples}, batch={self.batch}, rng={self.rng!r})"


def check_method(method, allowed=("asymptotic",)):
    """Validate a ``method=`` argument: None, a MonteCarlo or one of `allowed` strings."""
    if method is None or isinstance(method, MonteCarlo):
        return method
    if isinstance(method, str):
        if method == "monte-carlo":
            return MonteCarlo()
        if method in allowed:
            return method
        raise ValueError(
            f"`method` must be None, a normtest.MonteCarlo instance or one of "
            f"{sorted(set(allowed) | {'monte-carlo'})}. Got {method!r} instead."
        )
    raise TypeError(
        f"`method` must be None, a normtest.MonteCarlo instance or a str. Got {method!r} instead."
    )


class NullDistribution:
    """Base class: a univariate law of a test statistic under the null."""

    name = "null"

    def sf(self, x):
        return 1.0 - np.asarray(self.cdf(x))

    def cdf(self, x):
        return 1.0 - np.asarray(self.sf(x))

    def ppf(self, q):
        raise NotImplementedError

    def isf(self, q):
        return self.ppf(1.0 - np.asarray(q, dtype=float))

    def critical_value(self, alpha):
        """Upper-tail critical value: reject at level `alpha` when the statistic exceeds it."""
        return self.isf(alpha)

    def describe(self) -> dict:
        return {"kind": self.name}

    def __repr__(self):
        items = ", ".join(f"{k}={v!r}" for k, v in self.describe().items() if k != "kind")
        return f"{type(self).__name__}({items})"


def invert_cdf(cdf, q, lo, hi, *, grow=False, xtol=1e-300, rtol=1e-13, max_iter=200):
    """``inf{x >= lo : cdf(x) >= q}`` of a monotone `cdf`: the one ppf inverter of the package.

    Chandrupatla's bracketing method on ``cdf(x) - q`` (inverse quadratic interpolation
    when it is safe, bisection otherwise; the method of ``scipy.optimize.elementwise``),
    vectorised over `q`, returning the bracket's upper end: ``cdf(ppf(q)) >= q`` always
    holds and a jump of the cdf is found at the jump.

    Parameters
    ----------
    cdf : callable
        Monotone non-decreasing, vectorised over an array argument (one call per
        iteration serves every `q`: laws such as Imhof's cost milliseconds a point).
    q : array_like
        Probabilities. 0 gives `lo`, 1 gives +inf, NaN or values outside [0, 1] give NaN.
    lo, hi : float
        Lower end of the support and an upper bracket.
    grow : bool, default False
        ``False``: `hi` is the end of the support, and ``q > cdf(hi)`` gives +inf.
        ``True``: `hi` is only a first bracket, doubled away from `lo` (up to 1e12) until
        ``cdf(hi) >= q``.
    xtol, rtol : float
        The answer is within ``xtol + rtol |x|`` above the generalised inverse.

    Examples
    --------
    >>> import numpy as np
    >>> from normtest.null import invert_cdf
    >>> print(np.round(invert_cdf(lambda x: 1 - np.exp(-x), [0.0, 0.5, 1.0], 0.0, 1.0, grow=True), 6))
    [0.       0.693147      inf]
    """
    def F(x):
        return np.asarray(cdf(x), dtype=float).reshape(np.shape(x))

    q = np.asarray(q, dtype=float)
    flat_q = q.reshape(-1)
    out = np.full(flat_q.shape, np.nan)
    lo, hi = float(lo), float(hi)
    valid = (flat_q >= 0.0) & (flat_q <= 1.0)
    out[valid & (flat_q == 0.0)] = lo
    out[valid & (flat_q == 1.0)] = np.inf
    idx = np.flatnonzero(valid & (flat_q > 0.0) & (flat_q < 1.0))
    qq = flat_q[idx]
    b = np.full(idx.shape, hi)
    fb = F(b) - qq
    while grow and (fb < 0).any() and (b - lo < 1e12).any():
        more = (fb < 0) & (b - lo < 1e12)
        b[more] = lo + 2.0 * (b[more] - lo)
        fb[more] = F(b[more]) - qq[more]
    out[idx[fb < 0]] = np.inf
    fa = F(np.full(idx.shape, lo)) - qq
    out[idx[(fb >= 0) & (fa >= 0)]] = lo
    work = (fb >= 0) & (fa < 0)
    idx, qq, b, fb, fa = idx[work], qq[work], b[work], fb[work], fa[work]
    # Chandrupatla (1997): a = newest point, [a, b] brackets the crossing, c = the point dropped
    a, b_ = np.full(idx.shape, lo), b
    fa, fb_ = fa, fb
    c, fc = a.copy(), fa.copy()
    t = np.full(idx.shape, 0.5)
    act = np.ones(idx.shape, dtype=bool)
    res = b.copy()
    for _ in range(max_iter):
        if not act.any():
            break
        xt = a + t * (b_ - a)
        ft = np.zeros(idx.shape)
        ft[act] = F(xt[act]) - qq[act]
        same = (ft >= 0) == (fa >= 0)
        c = np.where(act, np.where(same, a, b_), c)
        fc = np.where(act, np.where(same, fa, fb_), fc)
        b_ = np.where(act & ~same, a, b_)
        fb_ = np.where(act & ~same, fa, fb_)
        a = np.where(act, xt, a)
        fa = np.where(act, ft, fa)
        upper = np.where(fa >= 0, a, b_)              # the bracket end with cdf >= q
        tol = 0.5 * (xtol + rtol * np.abs(upper))
        with np.errstate(invalid="ignore", divide="ignore"):
            tlim = tol / np.abs(b_ - a)
            done = act & ((tlim > 0.5) | (fa == 0))
            res = np.where(done, upper, res)
            act &= ~done
            xi = (a - b_) / (c - b_)
            phi = (fa - fb_) / (fc - fb_)
            iqi = (phi * phi < xi) & ((1 - phi) ** 2 < 1 - xi)
            t_iqi = fa / (fb_ - fa) * fc / (fb_ - fc) + (c - a) / (b_ - a) * fa / (fc - fa) * fb_ / (fc - fb_)
        t = np.clip(np.where(iqi, t_iqi, 0.5), tlim, 1 - tlim)
        t = np.where(np.isfinite(t), t, 0.5)
    res = np.where(act, np.where(fa >= 0, a, b_), res)
    b = res
    out[idx] = b
    out = out.reshape(q.shape)
    return out[()] if out.ndim == 0 else out


class AnalyticNull(NullDistribution):
    """A null given by functions (analytic law, series, approximation or table).

    Parameters
    ----------
    name : str
        Short label (e.g. ``"cvm-csorgo-faraway"``).
    sf, cdf : callable
        At least one of them; vectorised over an array argument.
    ppf : callable, optional
        Quantile function; if omitted it is found by root finding on ``cdf``.
    support : (float, float)
        Lower bound and a starting upper bracket for root finding.
    params : dict
        Parameters that identify the law (n, settings) for `describe`.
    """

    def __init__(self, name, *, sf=None, cdf=None, ppf=None, support=(0.0, 1.0), params=None):
        if sf is None and cdf is None:
            raise ValueError("AnalyticNull needs `sf` or `cdf`.")
        self.name = name
        self._sf = sf
        self._cdf = cdf
        self._ppf = ppf
        self.support = support
        self.params = dict(params or {})

    def sf(self, x):
        if self._sf is not None:
            return self._sf(x)
        return 1.0 - np.asarray(self._cdf(x))

    def cdf(self, x):
        if self._cdf is not None:
            return self._cdf(x)
        return 1.0 - np.asarray(self._sf(x))

    def ppf(self, q):
        if self._ppf is not None:
            return self._ppf(q)
        return invert_cdf(self.cdf, q, *self.support, grow=True)

    def describe(self):
        return {"kind": self.name, **self.params}


class MonteCarloNull(NullDistribution):
    """Null law represented by a simulated sample of the statistic.

    ``sf(x)`` is the Monte-Carlo p-value ``(#{T_b >= x} + 1) / (B + 1)``;
    ``cdf(x)`` the empirical cdf ``#{T_b <= x} / B``; ``ppf`` the empirical
    quantile. ``sample`` holds the sorted simulated statistics.
    """

    name = "monte-carlo"

    def __init__(self, sample, *, params=None, seed=None):
        sample = np.sort(np.asarray(sample, dtype=float).ravel())
        sample.setflags(write=False)
        self.sample = sample
        self.n_resamples = sample.size
        self.params = dict(params or {})
        self.seed = seed

    def _ge_count(self, x):
        x = np.asarray(x, dtype=float)
        # tolerance for ties that differ only by rounding (as scipy's monte_carlo_test)
        tol = 1e-12 * np.maximum(np.abs(x), 1.0) * 16
        return self.sample.size - np.searchsorted(self.sample, x - tol, side="left")

    def sf(self, x):
        x = np.asarray(x, dtype=float)
        p = (self._ge_count(x) + 1.0) / (self.n_resamples + 1.0)
        p = np.where(np.isnan(x), np.nan, p)
        return p[()] if p.ndim == 0 else p

    def pvalue_se(self, x):
        p = np.asarray(self.sf(x))
        return np.sqrt(p * (1 - p) / self.n_resamples)

    def cdf(self, x):
        x = np.asarray(x, dtype=float)
        c = np.searchsorted(self.sample, x, side="right") / self.n_resamples
        c = np.where(np.isnan(x), np.nan, c)
        return c[()] if c.ndim == 0 else c

    def ppf(self, q):
        q = np.asarray(q, dtype=float)
        return np.quantile(self.sample, q, method="inverted_cdf") if q.size else q

    def describe(self):
        return {"kind": self.name, "n_resamples": int(self.n_resamples), **self.params, "seed": self.seed}


# ---------------------------------------------------------------------------
# Monte-Carlo engine with a cache of simulated nulls
# ---------------------------------------------------------------------------

# (null, generator state after the simulation) per key, bounded by the samples' bytes
_CACHE = BoundedCache(max_bytes=256 * 2**20, sizeof=lambda entry: entry[0].sample.nbytes)


def clear_null_cache() -> None:
    """Forget every cached null distribution (simulated, limit laws, tables): all of the package's caches."""
    clear_all()


def _state_key(gen: np.random.Generator):
    state = gen.bit_generator.state
    return repr(state)


def default_batch(n_values_per_resample: int, target_values: int = 2**22) -> int:
    return max(1, min(100_000, target_values // max(1, n_values_per_resample)))


def monte_carlo_null(key: tuple, simulate: Callable[[int, np.random.Generator], np.ndarray],
                     method: MonteCarlo, *, values_per_resample: int, params=None,
                     rng_override=None) -> MonteCarloNull:
    """Simulate (or fetch from cache) the null sample of a statistic.

    Parameters
    ----------
    key : tuple
        Hashable identity of the null law: test name, n and every setting the
        statistic's null depends on.
    simulate : callable
        ``simulate(size, gen)`` returns `size` independent statistics under the
        null, drawing all randomness from the Generator `gen` (numpy, single
        stream, so the result is the same on any thread count).
    method : MonteCarlo
        Settings: n_resamples, batch, rng, progress.
    values_per_resample : int
        Approximate memory per simulated statistic (used to size batches).
    rng_override : Generator, optional
        Use this generator instead of ``method.rng`` (lets a vectorised call
        share one stream across columns with different n).
    """
    gen = rng_override if rng_override is not None else check_rng(method.rng)
    B = method.n_resamples
    batch = method.batch or default_batch(values_per_resample)
    full_key = (key, B, batch, _state_key(gen))
    hit = _CACHE.get(full_key)
    if hit is not None:
        null, end_state = hit
        gen.bit_generator.state = end_state
        return null

    seed = _seed_of(gen) if rng_override is None and not isinstance(method.rng, np.random.Generator) else None
    out = np.empty(B)
    with progress_bar(method.progress, total=B, desc=f"{key[0]} null", unit="resample") as bar:
        done = 0
        while done < B:
            size = min(batch, B - done)
            out[done:done + size] = simulate(size, gen)
            done += size
            bar.update(size)
    null = MonteCarloNull(out, params=dict(params or {}), seed=seed)
    _CACHE.put(full_key, (null, gen.bit_generator.state))
    return null


def _seed_of(gen: np.random.Generator):
    """The entropy of a generator's seed sequence when available (for records)."""
    seq = getattr(gen.bit_generator, "seed_seq", None)
    if seq is None:
        seq = getattr(gen.bit_generator, "_seed_seq", None)
    entropy = getattr(seq, "entropy", None)
    if isinstance(entropy, (int, np.integer)):
        return int(entropy)
    return None
