"""Empirical distribution function with simultaneous (DKW) and pointwise bands."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from .._validate import as_float_sample, check_choice, check_float, check_nan_policy

__all__ = ["ecdf", "ECDFResult", "ECDFBand"]


@dataclass(frozen=True, repr=False)
class ECDFBand:
    """A confidence band for the ECDF, as two right-continuous step functions.

    Attributes
    ----------
    support : ndarray
        The jump points (sorted unique data values); the band is constant between them.
    low, high : ndarray
        Lower and upper limits on ``[support[i], support[i + 1])``.
    kind : str
        ``"dkw"`` (simultaneous) or ``"pointwise"`` (Wilson score intervals).
    confidence_level : float
        Nominal coverage.
    """

    support: np.ndarray
    low: np.ndarray
    high: np.ndarray
    kind: str
    confidence_level: float

    def __repr__(self):
        return (f"ECDFBand(kind={self.kind!r}, confidence_level={self.confidence_level}, "
                f"n_steps={self.support.size})")


class ECDFResult:
    """The empirical cumulative distribution function F_n(x) = #{x_j <= x} / n of a sample.

    Attributes
    ----------
    support : ndarray
        Sorted unique observed values (the jump points).
    probabilities : ndarray
        F_n at each point of `support` (NaN when the sample held NaN and
        ``nan_policy="propagate"``).
    n : int
        Sample size (after omitting NaN, if asked).
    """

    def __init__(self, sorted_data: np.ndarray, undefined: bool = False):
        self._sorted = sorted_data
        self._sorted.setflags(write=False)
        self.n = int(sorted_data.size)
        support, counts = np.unique(sorted_data, return_counts=True)
        probs = np.cumsum(counts) / self.n
        if undefined:
            probs = np.full(probs.shape, np.nan)
        support.setflags(write=False)
        probs.setflags(write=False)
        self.support = support
        self.probabilities = probs
        self._undefined = undefined

    def __repr__(self):
        return f"ECDFResult(n={self.n}, n_steps={self.support.size})"

    def evaluate(self, q):
        """F_n(q): the right-continuous step function at the points `q` (NaN at NaN)."""
        try:
            q = np.asarray(q)
        except (TypeError, ValueError) as exc:  # ragged lists and the like
            raise TypeError(f"`q` must be array-like of real numbers. Got {q!r} instead.") from exc
        if q.dtype.kind not in "iuf":
            raise TypeError(f"`q` must hold real numbers. Got an array of dtype {q.dtype} instead.")
        q = q.astype(float)
        out = np.searchsorted(self._sorted, q, side="right") / self.n
        out = np.where(np.isnan(q) | self._undefined, np.nan, out)
        return out[()] if out.ndim == 0 else out

    def confidence_band(self, confidence_level=0.95, kind="dkw"):
        """Confidence band for the true cdf F.

        Parameters
        ----------
        confidence_level : float, default 0.95
            Nominal coverage, in the open interval (0, 1).
        kind : {"dkw", "pointwise"}, default "dkw"
            ``"dkw"``: the simultaneous band F_n ± ε, ε = √(log(2/α)/(2n)),
            clipped to [0, 1], which covers the whole of F with probability at
            least 1 − α (Dvoretzky–Kiefer–Wolfowitz inequality with Massart's
            constant; valid for α <= 1). ``"pointwise"``: at each x separately,
            the Wilson score interval for the binomial proportion F(x), with
            coverage close to 1 − α at each x (not simultaneously).

        Returns
        -------
        band : ECDFBand
        """
        level = check_float(confidence_level, "confidence_level", low=0.0, high=1.0)
        kind = check_choice(kind, "kind", ("dkw", "pointwise"))
        alpha = 1.0 - level
        p = np.asarray(self.probabilities, dtype=float)
        n = self.n
        if kind == "dkw":
            eps = np.sqrt(np.log(2.0 / alpha) / (2.0 * n))
            low = np.clip(p - eps, 0.0, 1.0)
            high = np.clip(p + eps, 0.0, 1.0)
        else:
            z = float(ndtri(1.0 - alpha / 2.0))
            z2n = z * z / n
            centre = (p + z2n / 2.0) / (1.0 + z2n)
            half = z / (1.0 + z2n) * np.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
            low = np.clip(centre - half, 0.0, 1.0)
            high = np.clip(centre + half, 0.0, 1.0)
        return ECDFBand(self.support, low, high, kind, level)

    def plot(self, ax=None, band="dkw", confidence_level=0.95, **kwargs):
        """Draw the ECDF as a step function, optionally with a confidence band.

        Parameters
        ----------
        ax : matplotlib Axes, optional
            Where to draw; ``None`` draws on a new figure (the rule of every
            normtest plot, see :mod:`normtest.plotting`).
        band : {"dkw", "pointwise"} or None, default "dkw"
            Band to shade (see :meth:`confidence_band`), or None for none.
        confidence_level : float, default 0.95
        **kwargs
            Passed to the one ``Axes.step`` call that draws F_n.

        Returns
        -------
        ax : matplotlib Axes

        See Also
        --------
        normtest.plotting.draw_ecdf : the drawing itself.
        """
        from ..plotting import draw_ecdf  # matplotlib lives in the plotting layer

        return draw_ecdf(self, ax=ax, band=band, confidence_level=confidence_level, **kwargs)


def ecdf(x, *, nan_policy="propagate"):
    """Empirical cumulative distribution function of a one-dimensional sample.

    Parameters
    ----------
    x : array_like, 1-D
        The sample (lists, integer/float arrays, pandas Series accepted; never modified).
    nan_policy : {"propagate", "omit", "raise"}, default "propagate"
        ``"propagate"``: with any NaN the ECDF is undefined and its
        probabilities, values and bands are NaN; ``"omit"``: NaNs are dropped;
        ``"raise"``: ValueError.

    Returns
    -------
    result : ECDFResult
        ``support`` (sorted unique values), ``probabilities``, ``n``,
        ``evaluate(q)``, ``confidence_band(confidence_level, kind)`` and
        ``plot(ax=None, band="dkw")``.

    Notes
    -----
    The DKW band F_n ± √(log(2/α)/(2n)) holds simultaneously for all x with
    probability at least 1 − α (Dvoretzky, Kiefer & Wolfowitz 1956; Massart
    1990). The pointwise band uses the Wilson score interval at each jump.

    Examples
    --------
    >>> import numpy as np
    >>> import normtest
    >>> res = normtest.ecdf([3.0, 1.0, 2.0, 2.0])
    >>> res.support, res.probabilities
    (array([1., 2., 3.]), array([0.25, 0.75, 1.  ]))
    >>> res.evaluate([0.5, 1.0, 2.5])
    array([0.  , 0.25, 0.75])
    >>> band = normtest.ecdf(np.random.default_rng(0).normal(size=100)).confidence_band(0.95)
    >>> print(round(float(band.high[0] - band.low[0]), 4))  # DKW band: the 0.1358 margin, clipped at 0
    0.1458
    """
    nan_policy = check_nan_policy(nan_policy)
    arr = as_float_sample(x, "x")
    if arr.ndim != 1:
        raise ValueError(f"`x` must be one-dimensional. Got an array of shape {arr.shape} instead.")
    if arr.size == 0:
        raise ValueError("`x` must not be empty.")
    nan = np.isnan(arr)
    undefined = False
    if nan.any():
        if nan_policy == "raise":
            raise ValueError("`x` contains NaN and nan_policy='raise'.")
        if nan_policy == "omit":
            arr = arr[~nan]
            if arr.size == 0:
                raise ValueError("`x` must hold at least one non-NaN value with nan_policy='omit'.")
        else:
            arr = arr[~nan]
            undefined = True
            if arr.size == 0:
                arr = np.array([np.nan])
    arr.sort()
    return ECDFResult(arr, undefined=undefined)
