"""Quadrature rules for Epps–Pulley-type statistics over ECF sums.

A rule is a set of nodes ``t_k`` and *effective* weights ``omega_k`` (the
quadrature weight times the weight function at ``t_k``). From the additive sums
``C_k = sum_i cos(t_k x_i)``, ``S_k = sum_i sin(t_k x_i)`` and ``n`` the statistic
of one sample (or slice) is

    Q = (1/n) * sum_k omega_k * [(C_k - n*phi_k)**2 + S_k**2],   phi_k = exp(-t_k**2 / 2),

that is ``n * sum_k omega_k |psi_n(t_k) - exp(-t_k^2/2)|^2``. Because
``psi_n(-t)`` is the complex conjugate of ``psi_n(t)`` the integrand is even in
``t``, so every rule is stored *folded* onto ``t >= 0`` (the weight of ``-t`` is
added to that of ``t``); a node at ``t = 0`` contributes nothing and is dropped.

Two scales are in use (see the docs' conventions table):

* ``"henze"``: weight = the N(0, beta^2) density; ``Q -> T_{n,beta}`` (Henze's
  convention, factor n included) as the rule is refined.
* ``"lejepa"``: weight ``exp(-t^2/2)`` unnormalised (LeJEPA/SIGReg code);
  ``Q -> sqrt(2*pi) * T_{n,1}``.

Presets
-------
``"lejepa"``  nodes ``linspace(0, 3, 17)``, trapezoid folded for symmetry
              (``h`` at both ends, ``2h`` inside), times ``exp(-t^2/2)`` (the
              official LeJEPA ``EppsPulley`` defaults). Aliasing period 2*pi/h = 33.51.
``"paper"``   nodes ``linspace(-5, 5, 17)``, plain trapezoid, times
              ``exp(-t^2/2)`` (LeJEPA paper, Algorithm 1). Period 10.05.
``"auto"``    (Henze scale) an equispaced trapezoid rule sized from an upper
              bound ``spread`` on ``|x_i|``, exact to ~1e-10 relative for such
              data: see :func:`auto_rule`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["QuadratureRule", "get_rule", "check_quadrature", "lejepa_rule", "paper_rule", "trapezoid_rule",
           "gauss_hermite_rule", "custom_rule", "auto_rule", "auto_rule_size", "PRESETS", "QUADRATURE_NAMES"]


@dataclass(frozen=True, eq=False)
class QuadratureRule:
    """Folded nodes ``t_k > 0`` with effective weights ``omega_k`` and metadata.

    Attributes
    ----------
    name : str
        Preset name or ``"custom"``.
    nodes, weights : ndarray
        Folded nodes (strictly positive, increasing) and effective weights.
    scale : str
        ``"henze"`` or ``"lejepa"`` (or ``"custom"``).
    beta : float or None
        Width of the Gaussian weight the rule integrates against (None if custom).
    step : float or None
        Node spacing for equispaced rules (None otherwise).
    """

    name: str
    nodes: np.ndarray
    weights: np.ndarray
    scale: str
    beta: float | None = None
    step: float | None = None
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        for arr in (self.nodes, self.weights):
            arr.setflags(write=False)

    @property
    def period(self) -> float | None:
        """Aliasing period 2*pi/h of an equispaced rule: the rule cannot see shifts by it."""
        return None if self.step is None else 2.0 * np.pi / self.step

    @property
    def lattice_step(self) -> float | None:
        """``h`` when the nodes are exactly ``h * k`` for ``k = 1..K`` (to 1e-12), else None.

        The ECF kernels then build every node's cos/sin from one angle by the
        lattice recurrence; this property is the one place that decides it.
        """
        step = self.step
        if step is None:
            return None
        k = np.arange(1, self.nodes.size + 1)
        if np.allclose(self.nodes, step * k, rtol=1e-12, atol=0):
            return float(step)
        return None

    @property
    def target(self) -> np.ndarray:
        """The N(0, 1) characteristic function at the nodes, exp(-t^2/2)."""
        return np.exp(-0.5 * self.nodes**2)

    def statistic(self, C, S, n):
        """Q from sums ``C, S`` (shape ``(..., K)``) and sample size(s) ``n`` (shape ``(...)``)."""
        from .core import statistic

        return statistic(C, S, n, self.weights, self.target)

    def null_mean(self) -> float:
        """Exact finite-n null mean under N(0, 1): sum_k omega_k (1 - exp(-t_k^2))."""
        return float(np.sum(self.weights * -np.expm1(-self.nodes**2)))

    def describe(self) -> dict:
        out = {"rule": self.name, "scale": self.scale, "n_nodes": int(self.nodes.size)}
        if self.beta is not None:
            out["beta"] = self.beta
        if self.step is not None:
            out["step"] = self.step
            out["period"] = self.period
        if self.name == "custom":
            out["nodes"] = self.nodes.tolist()
            out["weights"] = self.weights.tolist()
        out.update(self.info)
        return out


def _fold(nodes, weights):
    nodes = np.abs(np.asarray(nodes, dtype=np.float64))
    weights = np.asarray(weights, dtype=np.float64)
    keep = nodes > 0
    nodes, weights = nodes[keep], weights[keep]
    uniq, inv = np.unique(nodes, return_inverse=True)
    w = np.zeros(uniq.size)
    np.add.at(w, inv, weights)
    return uniq, w


def trapezoid_rule(lo: float, hi: float, k: int, *, weight="lejepa", beta: float = 1.0, name="trapezoid"):
    """Plain trapezoid on ``linspace(lo, hi, k)`` times the weight function, folded."""
    t = np.linspace(lo, hi, k)
    h = t[1] - t[0]
    w = np.full(k, h)
    w[0] = w[-1] = h / 2
    if weight == "lejepa":
        omega = w * np.exp(-0.5 * t**2)
        scale = "lejepa"
    else:
        omega = w * np.exp(-0.5 * (t / beta) ** 2) / (beta * np.sqrt(2 * np.pi))
        scale = "henze"
    nodes, weights = _fold(t, omega)
    return QuadratureRule(name, nodes, weights, scale, beta if scale == "henze" else 1.0, float(h))


def lejepa_rule() -> QuadratureRule:
    """Official LeJEPA rule: ``linspace(0, 3, 17)``, weights h, 2h, ..., 2h, h, times exp(-t^2/2)."""
    t = np.linspace(0.0, 3.0, 17)
    h = t[1] - t[0]
    w = np.full(17, 2 * h)
    w[0] = w[-1] = h
    nodes, weights = _fold(t, w * np.exp(-0.5 * t**2))
    return QuadratureRule("lejepa", nodes, weights, "lejepa", 1.0, float(h))


def paper_rule() -> QuadratureRule:
    """LeJEPA paper (Algorithm 1) rule: plain trapezoid on ``linspace(-5, 5, 17)`` times exp(-t^2/2)."""
    return trapezoid_rule(-5.0, 5.0, 17, weight="lejepa", name="paper")


def gauss_hermite_rule(k: int = 64, beta: float = 1.0, name: str = "gauss-hermite") -> QuadratureRule:
    """Gauss–Hermite rule for the N(0, beta^2) weight (Henze scale), folded."""
    x, w = np.polynomial.hermite_e.hermegauss(2 * k)
    w = w / np.sqrt(2 * np.pi)
    nodes, weights = _fold(beta * x, w)
    return QuadratureRule(name, nodes, weights, "henze", float(beta), None, {"gh_order": 2 * k})


def custom_rule(nodes, weights) -> QuadratureRule:
    """User rule: effective weights ``omega`` (quadrature weight x weight function) at ``nodes``."""
    try:
        t = np.asarray(nodes, dtype=np.float64)
        w = np.asarray(weights, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError("`quadrature` nodes and weights must be 1-d arrays of real numbers.") from exc
    if t.ndim != 1 or w.ndim != 1 or t.size != w.size or t.size == 0:
        raise ValueError(
            "`quadrature` must be (nodes, weights): two non-empty 1-d arrays of equal length. "
            f"Got shapes {t.shape} and {w.shape} instead."
        )
    if not (np.isfinite(t).all() and np.isfinite(w).all()):
        raise ValueError("`quadrature` nodes and weights must be finite.")
    if (w < 0).any():
        raise ValueError("`quadrature` weights must be non-negative.")
    nodes_f, weights_f = _fold(t, w)
    if nodes_f.size == 0:
        raise ValueError("`quadrature` needs at least one non-zero node.")
    if not (weights_f > 0).any():
        raise ValueError("`quadrature` weights must not all be zero (at the non-zero nodes): such a rule "
                         "gives the statistic 0 for every sample.")
    step = None
    if nodes_f.size >= 2:
        d = np.diff(nodes_f)
        if np.allclose(d, d[0], rtol=1e-9, atol=0) and np.isclose(
            nodes_f[0] / d[0], np.round(nodes_f[0] / d[0]), rtol=0, atol=1e-9
        ):
            step = float(d[0])
    return QuadratureRule("custom", nodes_f, weights_f, "custom", None, step)


# Margin (in units of the Gaussian kernel's width) by which the aliasing period
# must exceed the data's range, and the truncation point in units of beta.
_AUTO_MARGIN = 10.0   # aliased kernel terms are below exp(-_AUTO_MARGIN**2 / 2) = 2e-22
_AUTO_TMAX = 9.0      # dropped weight 2 * Phi(-9) = 2.3e-19
#: most nodes an "auto" rule may have (the work is n K per sample): data needing more lie
#: far outside N(0, 1) on the scale of the weight (|y| beyond ~1e4 / beta)
AUTO_MAX_NODES = 2**15


def auto_rule_size(spread: float, beta: float = 1.0) -> tuple[float, int]:
    """Step ``h`` and node count ``K`` of :func:`auto_rule` (cheap: no arrays)."""
    s = float(spread)
    b = float(beta)
    bp = b / np.sqrt(1.0 + b * b)          # width of the cross term's kernel
    bpp = b / np.sqrt(1.0 + 2.0 * b * b)   # width of the constant term's kernel
    period = max(2.0 * s + _AUTO_MARGIN / b, s + _AUTO_MARGIN / bp, _AUTO_MARGIN / bpp)
    h = 2.0 * np.pi / period
    K = int(np.ceil(_AUTO_TMAX * b / h))
    return h, K


def auto_rule(spread: float, beta: float = 1.0) -> QuadratureRule:
    """Equispaced trapezoid rule on the Henze scale that is exact for data within ``spread``.

    For data with ``max|x_i| <= spread`` the rule's statistic
    ``Q = (1/n) sum_k omega_k [(C_k - n phi_k)^2 + S_k^2]`` equals the exact
    ``T_{n,beta}`` (docs/theory.md §2) to about 1e-10 relative or better.

    Parameters
    ----------
    spread : float
        Upper bound on ``|x_i|`` of every sample the rule will see (after
        standardisation for the composite null; for projections, any bound on
        all of them such as ``max_j ||X_j||_2``).
    beta : float, default 1.0
        Width of the N(0, beta^2) weight.

    Returns
    -------
    QuadratureRule
        ``name="auto"``, ``scale="henze"``, nodes ``t_k = k h`` (k = 1..K) and
        weights ``omega_k = 2 h phi_beta(t_k)`` (the plain trapezoid on the
        whole line, folded; the node ``t = 0`` contributes nothing).

    Notes
    -----
    By Poisson summation the infinite trapezoid sum with step ``h`` is the
    exact integral with each Gaussian kernel ``G(u)`` replaced by its
    periodisation ``sum_m G(u - m P)``, ``P = 2 pi / h`` (docs/theory.md §3). The three
    kernels of the closed form are ``exp(-beta^2 u^2 / 2)`` at pair differences
    (``|u| <= 2 spread``), ``exp(-beta'^2 u^2 / 2)`` with
    ``beta'^2 = beta^2 / (1 + beta^2)`` at the values (``|u| <= spread``) and
    ``exp(-beta''^2 u^2 / 2)``, ``beta''^2 = beta^2 / (1 + 2 beta^2)``, at 0. The
    period is chosen so that the nearest alias of each lies at least
    ``10 / width`` away: every aliased term is below ``exp(-50) = 2e-22`` of the
    kernel's peak. The sum is truncated at ``t_max = 9 beta``, dropping weight
    ``2 Phi(-9) = 2.3e-19``. Both errors stay far below 1e-10 relative even with
    the ``O(n)`` bound on the number of affected terms at ``n = 10^6``. The node
    count is ``K = ceil(9 beta / h)`` with ``h = 2 pi / P`` and
    ``P = max(2 spread + 10/beta, spread + 10/beta', 10/beta'')``: about 29
    nodes for N(0, 1) data at ``n = 10^6`` (spread 5), growing linearly with the
    spread. The work is bounded: a rule of more than ``AUTO_MAX_NODES`` (32768)
    nodes, i.e. ``beta * spread`` beyond about 1e4, raises ValueError. (For heavy-tailed data the public function keeps the few far points
    out of the ECF sums and adds their pair terms in closed form; see
    ``normtest.epps_pulley``.)

    Examples
    --------
    >>> from normtest.ecf.rules import auto_rule
    >>> rule = auto_rule(5.0)
    >>> print(rule.nodes.size, round(rule.period, 3))
    29 20.0
    """
    s = float(spread)
    b = float(beta)
    if np.isnan(s) or s < 0:
        raise ValueError(f"`spread` must be a float >= 0. Got {spread!r} instead.")
    if not np.isfinite(b) or b <= 0:
        raise ValueError(f"`beta` must be a finite float > 0. Got {beta!r} instead.")
    h, K = auto_rule_size(s, b) if np.isfinite(s) else (0.0, np.inf)
    if K > AUTO_MAX_NODES:
        raise ValueError(
            f"quadrature='auto' would need {K:.3g} nodes (limit {AUTO_MAX_NODES}) for beta={b:g} and data "
            f"of magnitude up to {s:.3g}: the values are far outside N(0, 1) on the scale of the weight. "
            "Standardize them (standardize=True), rescale them, or pass a fixed rule such as "
            "quadrature='lejepa'."
        )
    t = h * np.arange(1, K + 1, dtype=np.float64)
    omega = 2.0 * h * np.exp(-0.5 * (t / b) ** 2) / (b * np.sqrt(2.0 * np.pi))
    return QuadratureRule("auto", t, omega, "henze", b, float(h),
                          {"spread": s, "t_max": float(t[-1])})


PRESETS = ("lejepa", "paper")
#: Every accepted ``quadrature=`` string, in the order messages list them. ``"exact"``
#: is not a rule (the closed form, or the ``"auto"`` rule with far points in closed
#: form); functions without it reject it with their own hint (see `check_quadrature`).
QUADRATURE_NAMES = ("auto", "exact", "lejepa", "paper", "gauss-hermite")


def _invalid(quadrature) -> Exception:
    """The one message for a ``quadrature=`` that is not accepted (ValueError or TypeError)."""
    names = ", ".join(repr(q) for q in QUADRATURE_NAMES)
    if isinstance(quadrature, str):
        return ValueError(f"`quadrature` must be one of {names}, a QuadratureRule or a (nodes, weights) "
                          f"pair. Got {quadrature!r} instead.")
    return TypeError(f"`quadrature` must be a str (one of {names}), a QuadratureRule or a (nodes, "
                     f"weights) pair. Got {quadrature!r} instead.")


def check_quadrature(quadrature, beta: float = 1.0, *, exact_error: str | None = None,
                     preset_beta: bool = False):
    """Validate a ``quadrature=`` argument: the one resolver every function and backend uses.

    Parameters
    ----------
    quadrature : str, QuadratureRule or (nodes, weights)
        A name of :data:`QUADRATURE_NAMES`, a rule, or effective weights at nodes.
    beta : float
        Width of the N(0, beta^2) weight (used by ``"gauss-hermite"`` and custom pairs;
        validated by the caller).
    exact_error : str, optional
        When given, ``"exact"`` is not available and this is the ValueError's message.
    preset_beta : bool, default False
        ``True``: the LeJEPA presets raise ValueError unless ``beta == 1`` (they fix the
        weight ``exp(-t^2/2)``); ``False``: `beta` is ignored by them.

    Returns
    -------
    kind : {"exact", "auto", "rule"}
    rule : QuadratureRule or None
        The resolved rule for ``kind == "rule"``; None for ``"exact"``/``"auto"``,
        whose rule depends on the data (``get_rule("auto", beta, spread=...)``).

    Examples
    --------
    >>> from normtest.ecf.rules import check_quadrature
    >>> kind, rule = check_quadrature("gauss-hermite", 1.0)
    >>> print(kind, rule.name, rule.nodes.size)
    rule gauss-hermite 64
    """
    if isinstance(quadrature, str):
        if quadrature not in QUADRATURE_NAMES:
            raise _invalid(quadrature)
        if quadrature == "exact" and exact_error is not None:
            raise ValueError(exact_error)
        if quadrature in ("exact", "auto"):
            return quadrature, None
        if quadrature in PRESETS and preset_beta and beta != 1.0:
            raise ValueError(
                f"`beta` must be 1.0 with quadrature={quadrature!r}: the LeJEPA presets fix the weight "
                f"exp(-t^2/2). Got beta={beta} instead (use quadrature='auto' for another width)."
            )
        return "rule", get_rule(quadrature, beta)
    if isinstance(quadrature, (QuadratureRule, tuple, list)):
        return "rule", get_rule(quadrature, beta)
    raise _invalid(quadrature)


def get_rule(quadrature, beta: float = 1.0, *, spread: float | None = None) -> QuadratureRule:
    """Resolve a ``quadrature=`` argument (preset name, QuadratureRule or (nodes, weights)).

    ``"auto"`` needs ``spread`` (an upper bound on ``|x_i|``) and returns
    :func:`auto_rule`; ``"lejepa"``/``"paper"`` are the LeJEPA presets (LeJEPA
    scale, `beta` ignored); ``"gauss-hermite"`` a Gauss–Hermite rule for the
    N(0, beta^2) weight. ``"exact"`` is not a rule: validate arguments with
    :func:`check_quadrature`, which handles it.
    """
    if isinstance(quadrature, QuadratureRule):
        return quadrature
    if isinstance(quadrature, str):
        if quadrature == "auto":
            if spread is None:
                raise ValueError("`spread` is required with quadrature='auto'.")
            return auto_rule(spread, beta)
        if quadrature == "lejepa":
            return lejepa_rule()
        if quadrature == "paper":
            return paper_rule()
        if quadrature == "gauss-hermite":
            return gauss_hermite_rule(beta=beta)
        raise _invalid(quadrature)
    if isinstance(quadrature, (tuple, list)) and len(quadrature) == 2:
        return custom_rule(*quadrature)
    raise _invalid(quadrature)
