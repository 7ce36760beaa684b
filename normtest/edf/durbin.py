"""The n = ∞ law of the composite (estimated-parameter) A² and W²: Durbin's covariance + Imhof."""

from __future__ import annotations

import math

import numpy as np

from .._cache import memoize

__all__ = ["durbin_eigenvalues", "composite_limit_null"]

# ---------------------------------------------------------------------------
# Composite hypothesis, n = ∞: eigenvalues of Durbin's covariance + Imhof
# ---------------------------------------------------------------------------

_DURBIN_NODES = 400
_DURBIN_KEEP = 100


@memoize(2)
def durbin_eigenvalues(test: str, nodes: int = _DURBIN_NODES):
    """Eigenvalues (descending) and trace of the composite limit operator (docs/theory.md §5).

    K(s, t) = min(s, t) − st − g₁(s)g₁(t) − g₂(s)g₂(t)/2, g₁ = φ∘Φ⁻¹, g₂ = Φ⁻¹·φ∘Φ⁻¹ (Durbin 1973),
    weighted by 1/√(s(1−s)t(1−t)) for A²; Nyström on Gauss–Legendre nodes in (0, 1).
    """
    from scipy.special import ndtri

    x, w = np.polynomial.legendre.leggauss(nodes)
    s = 0.5 * (x + 1.0)
    w = 0.5 * w
    q = ndtri(s)
    g1 = np.exp(-0.5 * q * q) / math.sqrt(2.0 * math.pi)
    g2 = q * g1
    kern = np.minimum.outer(s, s) - np.outer(s, s) - np.outer(g1, g1) - 0.5 * np.outer(g2, g2)
    if test == "anderson":
        d = 1.0 / np.sqrt(s * (1.0 - s))
        kern *= np.outer(d, d)
    sw = np.sqrt(w)
    lam = np.linalg.eigvalsh(sw[:, None] * kern * sw[None, :])[::-1]
    trace = float(np.sum(w * np.diag(kern)))
    return lam, trace


@memoize(2)
def composite_limit_null(test: str):
    """The n = ∞ law of the composite A² or W²: Σ λ_k χ²₁ over Durbin's eigenvalues (Imhof).

    The largest 100 eigenvalues are kept and the rest of the trace is added as a constant
    (docs/theory.md §4.3). Reproduces the published asymptotic points (A² 0.631/0.752/0.873/1.035,
    W² 0.1035/0.1260/0.1486/0.1788 at 10/5/2.5/1%) to all digits given.
    """
    from .._sumchi2 import SumChi2Null

    lam, trace = durbin_eigenvalues(test)
    keep = lam[:_DURBIN_KEEP]
    return SumChi2Null(
        keep, tail=trace - float(keep.sum()),
        name=f"{'ad' if test == 'anderson' else 'cvm'}-composite-limit",
        params={"n": None, "hypothesis": "composite", "nodes": _DURBIN_NODES, "eigenvalues": _DURBIN_KEEP},
    )
