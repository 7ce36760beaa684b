"""Differentiable Epps–Pulley statistics for PyTorch: the functions.

Imported only on demand (``import normtest.torch``); ``import normtest`` never
imports torch. Everything here computes the same numbers as the NumPy functions
:func:`normtest.epps_pulley` and :func:`normtest.sliced_epps_pulley` (same
presets, defaults and directions), but as tensors that carry gradients, on any
device, and — under :mod:`torch.distributed` — for the *global* batch.

Design (see ``docs/training.md`` and docs/theory.md §7–8)
---------------------------------------------------------
Every statistic is a function of the additive sums ``C_mk = sum_j cos(t_k p_jm)``,
``S_mk = sum_j sin(t_k p_jm)`` and ``n`` (``p = x @ A`` the projections). Two
layers:

* rows -> sums: :mod:`normtest.torch._autograd` (a custom autograd function whose
  work plan comes from a memory budget: a few whole-array operations for small
  problems, streamed row chunks with a recomputing backward for large ones;
  plain tensor expressions under :func:`torch.compile`).
* sums -> statistic: the one formula :func:`normtest.ecf.core.statistic` (array API;
  ordinary autograd flows through it), after the all-reduces. Under
  ``torch.distributed`` the sums go through the autograd-aware
  ``torch.distributed.nn.functional.all_reduce`` (SUM; its *return value* is
  used) and ``n`` through a plain all-reduce, so uneven per-rank batches give
  the statistic of the concatenated batch and DDP's gradient averaging gives
  its exact gradient.

Precision: the projection and the cos/sin run in float32 for float16/bfloat16/
float32 input (autocast is switched off inside) and in float64 for float64
input; per-chunk sums are added into float64 accumulators and the statistic is
formed in float64, then returned as float32 (float64 for float64 input).
"""

from __future__ import annotations

import numbers

import array_api_compat.torch as _xp
import numpy as np
import torch

from .._validate import _got, check_beta, check_bool, check_choice, check_int
from ..ecf.core import statistic as _statistic
from ..ecf.rules import QuadratureRule
from ._checks import as_tensor, check_distributed, finite_amax, needs_spread, resolve_rule  # noqa: F401
from ._autograd import InvSqrtPSD, acc_dtype, compute_dtype, ecf_sums_rows, lattice_step

__all__ = ["epps_pulley", "sliced_epps_pulley", "ecf_sums", "statistic_from_sums", "draw_directions"]


# --------------------------------------------------------------------------------------------
# input, rules, distributed helpers
# --------------------------------------------------------------------------------------------
def _all_reduce_sum(t):
    """Autograd-aware SUM all-reduce; the *returned* tensor holds the result.

    torch 2.13 marks ``torch.distributed.nn.functional.all_reduce`` deprecated in favour of the
    private ``torch.distributed._functional_collectives``; it is still the documented autograd
    all-reduce (backward: all-reduce of the gradient), so we keep it and silence that notice.
    """
    import warnings

    from torch.distributed.nn.functional import all_reduce

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*all_reduce is deprecated.*", category=FutureWarning)
        return all_reduce(t, op=torch.distributed.ReduceOp.SUM)


def all_reduce_nograd(t, op):
    t = t.detach().clone()
    torch.distributed.all_reduce(t, op=op)
    return t


def _global_count(n_local: int, device, distributed: bool):
    n = torch.tensor(float(n_local), dtype=acc_dtype(device), device=device)
    if distributed:
        n = all_reduce_nograd(n, torch.distributed.ReduceOp.SUM)
    return n


def _node_tensors(rule, dtype, device):
    """Nodes, weights and target of a rule as tensors (SIGReg passes its buffers instead)."""
    return tuple(torch.as_tensor(np.array(a), dtype=dtype, device=device)
                 for a in (rule.nodes, rule.weights, rule.target))


def _statistic_of(xb, A, scale, shift, n, nodes, weights, target, step, distributed):
    """Rows -> sums -> (all-reduce) -> the one statistic formula: (B, M)."""
    C, S = ecf_sums_rows(xb, A, scale, shift, nodes.to(compute_dtype(xb.dtype)), step)
    if distributed:
        K = C.shape[-1]
        both = _all_reduce_sum(torch.cat([C, S], dim=-1))
        C, S = both[..., :K], both[..., K:]
    return _statistic(C, S, n, weights.to(C.dtype), target.to(C.dtype), xp=_xp)


def out_dtype(dtype):
    return torch.float64 if dtype == torch.float64 else torch.float32


# --------------------------------------------------------------------------------------------
# sums and the statistic from sums
# --------------------------------------------------------------------------------------------
def ecf_sums(x, nodes, directions=None):
    """Differentiable ECF sums ``C, S`` of the rows of `x` (or of their projections).

    Parameters
    ----------
    x : Tensor, shape ``(*, N, D)``
        Observations along dimension -2.
    nodes : array-like, shape (K,)
        Nodes ``t_k`` (float64 values; nodes exactly ``k h``, k = 1..K, use the power recurrence).
    directions : Tensor or None, shape (D, M)
        Project the rows on these columns first (``p = x @ directions``); None uses
        the columns of `x` themselves.

    Returns
    -------
    C, S : Tensor, shape ``(*, M, K)``
        ``sum_j cos(t_k p_jm)`` and ``sum_j sin(t_k p_jm)``, float64 (float32 on MPS).

    Examples
    --------
    >>> import torch
    >>> from normtest.torch import ecf_sums
    >>> x = torch.tensor([[0.0], [1.0], [-1.0]], dtype=torch.float64)
    >>> C, S = ecf_sums(x, [0.5, 1.0])
    >>> print(C.numpy().round(4), S.numpy().round(4))
    [[2.7552 2.0806]] [[0. 0.]]
    """
    x = as_tensor(x, "x", min_ndim=2)
    try:
        t64 = np.asarray(nodes, dtype=np.float64).ravel()
    except (TypeError, ValueError) as exc:
        raise TypeError(f"`nodes` must be a non-empty 1-d array of finite numbers. {_got(nodes)}") from exc
    if t64.size == 0 or not np.all(np.isfinite(t64)):
        raise ValueError(f"`nodes` must be a non-empty 1-d array of finite numbers. {_got(nodes)}")
    cd = compute_dtype(x.dtype)
    batch = x.shape[:-2]
    xb = x.reshape((-1,) + tuple(x.shape[-2:]))
    A = None
    if directions is not None:
        A = as_tensor(directions, "directions", min_ndim=2).to(device=x.device, dtype=cd)
        if A.dim() != 2 or A.shape[0] != x.shape[-1]:
            raise ValueError(f"`directions` must have shape (D, M) = ({x.shape[-1]}, M). Got shape "
                             f"{tuple(A.shape)} instead.")
    t = torch.as_tensor(t64, dtype=cd, device=x.device)
    C, S = ecf_sums_rows(xb, A, None, None, t, lattice_step(t64))
    return C.reshape(batch + C.shape[1:]), S.reshape(batch + S.shape[1:])


def statistic_from_sums(C, S, n, rule: QuadratureRule):
    """``Q = sum_k omega_k [(C_k - n phi_k)^2 + S_k^2] / n`` over the last axis (ordinary autograd).

    The one formula of :func:`normtest.ecf.core.statistic`, on tensors.

    Examples
    --------
    >>> import torch
    >>> from normtest.ecf.rules import get_rule
    >>> from normtest.torch import statistic_from_sums
    >>> rule = get_rule("lejepa")
    >>> K = rule.nodes.size
    >>> C = torch.full((K,), 90.0, dtype=torch.float64)
    >>> q = statistic_from_sums(C, torch.zeros(K, dtype=torch.float64), 100, rule)
    >>> print(round(float(q), 4), round(float(rule.statistic(C.numpy(), 0 * C.numpy(), 100)), 4))
    27.9718 27.9718
    """
    _, w, phi = _node_tensors(rule, C.dtype, C.device)
    return _statistic(C, S, torch.as_tensor(n, dtype=C.dtype, device=C.device), w, phi, xp=_xp)


# --------------------------------------------------------------------------------------------
# one-dimensional Epps–Pulley
# --------------------------------------------------------------------------------------------
def epps_pulley(x, *, standardize=True, beta=1.0, quadrature="auto", dim=None, distributed=None):
    r"""Differentiable Epps–Pulley statistic of each column, the torch twin of :func:`normtest.epps_pulley`.

    Parameters
    ----------
    x : Tensor, shape ``(*, N, D)`` or ``(N,)``
        Samples along `dim` (default -2 for 2-d and larger input, -1 for 1-d input):
        one statistic per column and batch element, like LeJEPA's univariate tests.
    standardize : bool, default True
        Standardise each column by its mean and divisor-n standard deviation (the
        classical Epps–Pulley/Henze convention, H0 "some normal"); False tests N(0, 1).
        Gradients flow through the standardisation.
    beta : float, default 1.0
        Width of the Gaussian weight (Henze-scale rules).
    quadrature : str, QuadratureRule or (nodes, weights), default "auto"
        As in :func:`normtest.epps_pulley` ("auto", "lejepa", "paper", "gauss-hermite",
        a rule or a pair); "exact" is not available here.
    dim : int or None
        Sample dimension.
    distributed : bool or None
        Compute the statistic of the global batch across :mod:`torch.distributed`
        ranks (sums, counts, mean and variance all-reduced). None: when a process
        group with more than one rank is initialised.

    Returns
    -------
    statistic : Tensor, shape ``(*, D)`` (or 0-d)
        float32, or float64 for float64 input. NaN input propagates.

    Examples
    --------
    >>> import numpy as np, torch
    >>> import normtest.torch as nt
    >>> x = torch.as_tensor(np.random.default_rng(0).standard_normal(200))
    >>> stat = nt.epps_pulley(x, quadrature="lejepa", standardize=False)
    >>> print(round(float(stat), 4))
    0.2841
    """
    x = as_tensor(x, "x", min_ndim=1)
    standardize = check_bool(standardize, "standardize")
    beta = check_beta(beta)
    distributed = check_distributed(distributed)
    if dim is None:
        dim = -1 if x.dim() == 1 else -2
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"`dim` must be an int or None. {_got(dim)}")
    if not -x.dim() <= int(dim) < x.dim():
        raise ValueError(f"`dim` must be in the range [{-x.dim()}, {x.dim() - 1}]. {_got(dim)}")
    if not needs_spread(quadrature):
        rule = resolve_rule(quadrature, beta)  # validate early
    xm = torch.movedim(x, int(dim), -1)  # (..., N)
    batch = xm.shape[:-1]
    N = xm.shape[-1]
    xb = xm.reshape(-1, N).transpose(0, 1).unsqueeze(0)  # (1, N, B): columns are "slices"
    cd = compute_dtype(x.dtype)
    n = _global_count(N, x.device, distributed)
    scale = shift = None
    degenerate = None
    if standardize:
        from .._standardize import standardize as _standardize

        if float(n) < 2:
            raise ValueError(f"`x` must have at least 2 observations along `dim` with standardize=True. "
                             f"Got {int(n)} instead.")
        sdt = acc_dtype(x.device)  # normtest._standardize's algorithm in float64, centred before the cast
        with torch.autocast(device_type=x.device.type, enabled=False):
            z, centre, _, degenerate = _standardize(
                xb.to(sdt), axis=1, n=n.to(sdt),
                reduce_sum=_all_reduce_sum if distributed else None,
                reduce_max=(lambda v: all_reduce_nograd(v, torch.distributed.ReduceOp.MAX)) if distributed
                else None)
            xb = z.to(cd)
    if needs_spread(quadrature):
        # one rule for all columns, sized by the largest |y|: "auto" is exact (1e-10) for every
        # column within its spread, so this equals the per-column exact statistic of the NumPy path
        with torch.no_grad():
            y = xb.to(cd) if scale is None else xb.to(cd) * scale - shift
            spread = finite_amax(y.abs())
            if distributed:
                spread = all_reduce_nograd(spread, torch.distributed.ReduceOp.MAX)
        rule = resolve_rule(quadrature, beta, spread=float(spread))
    nodes, w, phi = _node_tensors(rule, torch.float64, x.device)
    stat = _statistic_of(xb, None, scale, shift, n, nodes, w, phi, rule.lattice_step, distributed)
    if degenerate is not None and bool(degenerate.any()):
        stat = torch.where(degenerate.reshape(stat.shape), torch.full_like(stat, float("nan")), stat)
    if degenerate is not None and bool((degenerate & torch.isfinite(centre)).any()):  # NaN input: no warning
        import warnings

        from .._validate import DegenerateDataWarning

        warnings.warn("epps_pulley: a column has zero variance (all values equal); with standardize=True "
                      "its statistic is NaN.", DegenerateDataWarning, stacklevel=2)
    return stat.reshape(batch).to(out_dtype(x.dtype))


# --------------------------------------------------------------------------------------------
# sliced Epps–Pulley
# --------------------------------------------------------------------------------------------
def draw_directions(n_features, n_slices, rng=None, *, dtype=torch.float32, device=None):
    """Unit directions (D, M): Gaussian columns normalised.

    A numpy ``rng`` (None, int or Generator) draws exactly what
    :func:`normtest.sliced_epps_pulley` draws for the same seed; a
    :class:`torch.Generator` draws with torch on its device.
    """
    n_features = check_int(n_features, "n_features", minimum=1)
    n_slices = check_int(n_slices, "n_slices", minimum=1)
    if isinstance(rng, torch.Generator):
        g = torch.randn((n_features, n_slices), generator=rng, device=rng.device, dtype=torch.float64
                        if dtype == torch.float64 else torch.float32)
        g = g / torch.linalg.vector_norm(g, dim=0, keepdim=True)
        return g.to(device=device or rng.device, dtype=dtype)
    from .._validate import check_rng

    gen = check_rng(rng)
    a = gen.standard_normal((n_features, n_slices))
    a /= np.linalg.norm(a, axis=0, keepdims=True)
    return torch.as_tensor(a, dtype=dtype, device=device)


def prepare_directions(directions, D, cd, device):
    A = as_tensor(directions, "directions", min_ndim=2)
    if A.dim() != 2 or A.shape[0] != D or A.shape[1] < 1:
        raise ValueError(f"`directions` must have shape (D, M) = ({D}, M) with M >= 1. Got shape "
                         f"{tuple(A.shape)} instead.")
    A = A.detach().to(device=device, dtype=torch.float64)
    if not torch.isfinite(A).all():
        raise ValueError("`directions` must be finite.")
    big = A.abs().amax(dim=0, keepdim=True)  # max-abs first: norms of 1e200 columns overflow
    if (big == 0).any():
        raise ValueError("`directions` must not contain a zero column.")
    A = A / big
    return (A / torch.linalg.vector_norm(A, dim=0, keepdim=True)).to(cd)


def sliced_epps_pulley(x, n_slices=256, *, directions=None, rng=None, standardize=False, beta=1.0,
                       quadrature="auto", reduction="mean", distributed=None):
    r"""Differentiable sliced Epps–Pulley statistic, the torch twin of :func:`normtest.sliced_epps_pulley`.

    Parameters
    ----------
    x : Tensor, shape ``(*, N, D)``
        Observations in rows; leading dimensions are independent batch elements
        (one statistic each), as in LeJEPA's ``SlicingUnivariateTest``.
    n_slices : int, default 256
        Number of random directions M (ignored when `directions` is given).
    directions : Tensor or array-like, shape (D, M), optional
        Explicit directions (columns normalised here; used without gradient).
    rng : None, int, numpy Generator or torch.Generator
        Seed for the directions: a numpy seed draws the same directions as the NumPy
        function; a torch Generator draws with torch on its device.
    standardize : bool, default False
        False: H0 is N(0, I) (SIGReg's target). True: centre by the mean and whiten by the
        symmetric inverse square root of the divisor-n covariance (differentiable, with a
        stable backward).
    beta : float, default 1.0
    quadrature : str, QuadratureRule or (nodes, weights), default "auto"
    reduction : {"mean", "sum", "max", "none"}, default "mean"
        Over slices: "none" returns the per-slice statistics ``(*, M)``.
    distributed : bool or None
        Statistic of the global batch across ranks (None: when initialised). Directions
        must then be identical on every rank (pass `directions` or the same seed).

    Returns
    -------
    statistic : Tensor, shape ``(*)`` or ``(*, M)``

    Examples
    --------
    >>> import numpy as np, torch
    >>> import normtest.torch as nt
    >>> x = torch.as_tensor(np.random.default_rng(0).standard_normal((500, 8)))
    >>> stat = nt.sliced_epps_pulley(x, n_slices=16, rng=1, quadrature="lejepa")
    >>> print(round(float(stat), 4))
    0.9179
    """
    x = as_tensor(x, "x", min_ndim=2)
    standardize = check_bool(standardize, "standardize")
    beta = check_beta(beta)
    reduction = check_choice(reduction, "reduction", ("mean", "sum", "max", "none"))
    distributed = check_distributed(distributed)
    rule = None if needs_spread(quadrature) else resolve_rule(quadrature, beta)
    N, D = x.shape[-2], x.shape[-1]
    cd = compute_dtype(x.dtype)
    if directions is None:
        n_slices = check_int(n_slices, "n_slices", minimum=1)
        if rng is not None and not isinstance(rng, (torch.Generator, np.random.Generator, numbers.Integral,
                                                     np.random.SeedSequence)):
            raise TypeError("`rng` must be None, an int seed, a numpy.random.Generator or a "
                            f"torch.Generator. {_got(rng)}")
        A = draw_directions(D, n_slices, rng, dtype=torch.float64, device=x.device)
        A = (A / torch.linalg.vector_norm(A, dim=0, keepdim=True)).to(cd)
    else:
        A = prepare_directions(directions, D, cd, x.device)
    xb = x.reshape((-1, N, D))
    stat = sliced_core(xb, A, standardize, quadrature, beta, rule, distributed)
    stat = stat.reshape(x.shape[:-2] + (A.shape[1],))
    if reduction == "mean":
        stat = stat.mean(-1)
    elif reduction == "sum":
        stat = stat.sum(-1)
    elif reduction == "max":
        stat = stat.amax(-1)
    return stat.to(out_dtype(x.dtype))


def sliced_core(xb, A, standardize, quadrature, beta, rule, distributed, buffers=None, step=None):
    """Per-slice statistics (B, M) for x (B, N, D) and unit directions A (D, M) (compute dtype).

    `buffers` = (nodes, weights, target) tensors of `rule` and `step` its lattice step (SIGReg
    passes its buffers and cached step: nothing NumPy inside a compiled graph), else built here.
    """
    B, N, D = xb.shape
    cd = A.dtype
    n = _global_count(N, xb.device, distributed)
    Aeff, shift = A, None
    if standardize:
        # mean, covariance and its inverse root in the accumulation dtype (float64): a float32
        # whitening would cost ~1e-4 in the statistic
        sd = acc_dtype(xb.device)
        with torch.autocast(device_type=xb.device.type, enabled=False):
            from .._standardize import pow2_scale

            # normtest._standardize: one power of two per sample (exact; the symmetric root
            # commutes with it), two-pass centring, and the centred values go to the ECF sums
            # (a float32 cast after centring keeps offsets like 1e6 exact)
            big = xb.detach().abs().to(sd).amax(dim=(1, 2), keepdim=True)
            if distributed:
                big = all_reduce_nograd(big, torch.distributed.ReduceOp.MAX)
            xs = xb.to(sd) / pow2_scale(big, torch)
            total = xs.sum(dim=1, keepdim=True)
            if distributed:
                total = _all_reduce_sum(total)
            mean = total / n.to(sd)  # (B, 1, D)
            xc = xs - mean
            corr = xc.sum(dim=1, keepdim=True)
            if distributed:
                corr = _all_reduce_sum(corr)
            xc = xc - corr / n.to(sd)
            cov = torch.matmul(xc.transpose(-1, -2), xc)
            if distributed:
                cov = _all_reduce_sum(cov)
            cov = cov / n.to(sd)
            R = InvSqrtPSD.apply(cov)  # (B, D, D)
            Aeff = torch.matmul(R, A.to(sd)).to(cd)  # (B, D, M)
            xb = xc.to(cd)
    if rule is None:  # data-dependent rule: spread = max_j ||Y_j||, no gradient, global
        with torch.no_grad():
            y = xb.to(cd) if not standardize else torch.matmul(xc, R)
            spread = finite_amax(torch.linalg.vector_norm(y, dim=-1))
            if distributed:
                spread = all_reduce_nograd(spread, torch.distributed.ReduceOp.MAX)
        rule = resolve_rule(quadrature, beta, spread=float(spread))
    if buffers is None:
        buffers, step = _node_tensors(rule, torch.float64, xb.device), rule.lattice_step
    return _statistic_of(xb, Aeff, None, shift, n, *buffers, step, distributed)
