"""Moments of columns merged stably: the streamed form of :mod:`normtest._standardize`."""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------------------
# moments of columns, merged stably: the streamed form of normtest._standardize
# ---------------------------------------------------------------------------
# A block's moments are those of normtest._standardize steps 1-3, kept in units of the
# column's power-of-two scale 2**exp (exp from max|x|, so |u| < 1 and nothing squared
# overflows or underflows): the centre as hi + lo (pilot mean, two-pass correction: a
# shift of 1e15 spreads costs no digits) and M2 of the centred values. Merging rescales
# both states to the larger exponent (exact: a power of two) and combines them by Chan,
# Golub & LeVeque's pairwise update, with the centre kept as hi + lo.

_NO_EXP = -4096   # the exponent of a column with no values (any real one is larger)
_STATS = ("cnt", "exp", "mean", "mean_lo", "m2", "min", "max")


def column_moments(x, mask=None, *, comoments=False):
    """Moments of the columns of ``x`` (b, m), entries where ``mask`` is True left out.

    Returns a dict: ``cnt`` (m,), ``exp`` (m,) the scale exponents, ``mean`` + ``mean_lo``
    the centre in units of ``2**exp``, ``m2`` the sum of squared deviations in those units
    (the (m, m) co-moment matrix with ``comoments=True``; needs ``mask`` None), ``min`` and
    ``max`` in the data's units.
    """
    ok = None if mask is None or not mask.any() else ~mask
    b = x.shape[0]
    if ok is None:
        cnt = np.full(x.shape[1], float(b))
        mn, mx = x.min(axis=0, initial=np.inf), x.max(axis=0, initial=-np.inf)
    else:
        cnt = ok.sum(axis=0).astype(np.float64)
        mn = np.where(ok, x, np.inf).min(axis=0, initial=np.inf)
        mx = np.where(ok, x, -np.inf).max(axis=0, initial=-np.inf)
    mn, mx = mn.astype(np.float64), mx.astype(np.float64)
    has = cnt > 0
    maxabs = np.where(has, np.maximum(np.abs(mn), np.abs(mx)), 0.0)
    e = np.minimum(np.frexp(np.where(maxabs > 0, maxabs, 1.0))[1], 1023)
    u = x / np.ldexp(1.0, e)
    safe = np.maximum(cnt, 1.0)
    if ok is not None:
        u = np.where(ok, u, 0.0)
    m = u.sum(axis=0) / safe
    u -= m
    if ok is not None:
        u = np.where(ok, u, 0.0)
    c = u.sum(axis=0) / safe
    u -= c
    if ok is not None:
        u = np.where(ok, u, 0.0)
    m2 = u.T @ u if comoments else np.einsum("ij,ij->j", u, u)
    return {"cnt": cnt, "exp": np.where(has, e, _NO_EXP).astype(np.float64), "mean": m, "mean_lo": c,
            "m2": m2, "min": mn, "max": mx}


def _two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def merge_moments(a, b):
    """Chan, Golub & LeVeque's pairwise update of two :func:`column_moments` states.

    Both are rescaled to the larger exponent first (exact); the centre stays ``hi + lo``.
    Further entries: counts (``n_...``) add up, the others are maxima (row norms).
    """
    if "exp" not in a:   # counts and maxima only (the sliced test's standardize=False pass 1)
        return {k: a[k] + b[k] if k == "cnt" or k.startswith("n_") else np.maximum(a[k], b[k]) for k in a}
    e = np.maximum(a["exp"], b["exp"])
    sa, sb = (a["exp"] - e).astype(np.int64), (b["exp"] - e).astype(np.int64)
    na, nb = a["cnt"], b["cnt"]
    n = na + nb
    ha, la, hb, lb = (np.ldexp(a["mean"], sa), np.ldexp(a["mean_lo"], sa), np.ldexp(b["mean"], sb),
                      np.ldexp(b["mean_lo"], sb))
    two = np.ndim(a["m2"]) == 2
    pair = (lambda s: s[:, None] + s[None, :]) if two else (lambda s: 2 * s)
    m2a, m2b = np.ldexp(a["m2"], pair(sa)), np.ldexp(b["m2"], pair(sb))
    delta = (hb - ha) + (lb - la)
    hi, lo = _two_sum(ha, la + delta * (nb / np.maximum(n, 1.0)))
    # an empty side contributes nothing: keep the other's hi/lo split as it is
    hi = np.where(na > 0, np.where(nb > 0, hi, ha), hb)
    lo = np.where(na > 0, np.where(nb > 0, lo, la), lb)
    w = na * nb / np.maximum(n, 1.0)
    m2 = m2a + m2b + (np.outer(delta, delta) if two else delta * delta) * w
    out = {"cnt": n, "exp": e, "mean": hi, "mean_lo": lo, "m2": m2, "min": np.minimum(a["min"], b["min"]),
           "max": np.maximum(a["max"], b["max"])}
    for key in a:
        if key not in out:
            out[key] = a[key] + b[key] if key.startswith("n_") else np.maximum(a[key], b[key])
    return out


def scaled_moments(st):
    """From merged moments: ``p`` (the powers of two), centre ``hi + lo`` and ``sd`` in
    units of ``p``, the divisor-n covariance in those units, and the degenerate columns
    (range within a few ulps of ``max|x|``: normtest._standardize step 4)."""
    from .._standardize import DEGENERATE_ULPS

    cnt = st["cnt"]
    p = np.ldexp(1.0, np.where(st["exp"] > _NO_EXP, st["exp"], 0).astype(np.int64))
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = st["m2"] / cnt
        sd = np.sqrt(np.diag(cov) if np.ndim(cov) == 2 else cov)
        span = st["max"] / p - st["min"] / p
        top = np.maximum(np.abs(st["max"]), np.abs(st["min"])) / p
    degenerate = (cnt > 0) & ((span <= DEGENERATE_ULPS * np.finfo(np.float64).eps * top) | ~(sd > 0))
    return p, st["mean"], st["mean_lo"], sd, cov, degenerate
