"""Differentiable Epps–Pulley statistics for PyTorch: functions and the SIGReg loss.

Imported only on demand (``import normtest.torch``); ``import normtest`` never
imports torch. Everything here computes the same numbers as the NumPy functions
:func:`normtest.epps_pulley` and :func:`normtest.sliced_epps_pulley` (same
presets, defaults and directions), but as tensors that carry gradients, on any
device, and — under :mod:`torch.distributed` — for the *global* batch.

Design (see ``docs/training.md`` and docs/theory.md §7–8)
-------------------------------------------------
Every statistic is a function of the additive sums ``C_mk = sum_j cos(t_k p_jm)``,
``S_mk = sum_j sin(t_k p_jm)`` and ``n`` (``p = x @ A`` the projections). Two
layers:

* rows -> sums: the custom autograd function :class:`_EcfSums`. Its forward
  streams row chunks (projecting each chunk with one matmul) and keeps only the
  M x K sums; its backward streams the chunks again and recomputes cos/sin from
  the saved inputs, ``dL/dp_jm = sum_k t_k [G^S_mk cos(t_k p_jm) - G^C_mk sin(t_k p_jm)]``.
  Nothing of size N x M x K (nor N x M) is ever stored. For equispaced nodes
  ``t_k = m_k h`` (every preset) one complex exponential ``exp(i h p)`` per
  projection replaces K sin/cos pairs: the forward builds its powers by
  repeated multiplication, the backward evaluates the polynomial
  ``sum_k u_k z^(m_k)`` by Horner's rule.
* sums -> statistic, all-reduces and reductions: ordinary autograd. Under
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

import math
import numbers

import numpy as np
import torch
from torch import nn

from ..ecf.rules import QuadratureRule, get_rule

__all__ = ["epps_pulley", "sliced_epps_pulley", "SIGReg", "ecf_sums", "statistic_from_sums",
           "draw_directions"]

# Chunk sizes, in elements of the largest per-chunk array: (B, rows, M) for equispaced nodes
# (two complex buffers; 2**16 keeps them in a CPU core's L2 cache), (B, rows, M, K) otherwise.
# On CUDA big chunks amortise kernel launches (2**24 complex64 = 128 MiB).
_CHUNK_ELEMENTS_CPU = 2**16
_CHUNK_ELEMENTS_CUDA = 2**24
# Equispaced nodes are treated with the power recurrence only up to this multiple of h.
_MAX_POWER = 512


def _got(value) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"Got {text} instead."


# --------------------------------------------------------------------------------------------
# node lattice
# --------------------------------------------------------------------------------------------
class _Nodes:
    """Nodes of a rule in the form the kernels need (device-independent, float64)."""

    def __init__(self, nodes: np.ndarray):
        nodes = np.asarray(nodes, dtype=np.float64)
        self.nodes = nodes
        self.step = None
        self.powers = None
        if nodes.size:
            h = float(nodes[0]) if nodes.size == 1 else float(np.min(np.diff(np.concatenate([[0.0], nodes]))))
            if h > 0:
                m = nodes / h
                mr = np.rint(m)
                if np.all(mr >= 1) and np.max(mr) <= _MAX_POWER and np.allclose(m, mr, rtol=0, atol=1e-9):
                    self.step = h
                    self.powers = mr.astype(np.int64)

    @property
    def kmax(self) -> int:
        return int(self.powers.max())


def _chunk_rows(n_rows: int, B: int, M: int, K: int, lattice: bool, device) -> int:
    if device.type == "cuda":
        budget = _CHUNK_ELEMENTS_CUDA
    else:  # the direct path's (B, rows, M, K) arrays are streamed once: L3-sized chunks
        budget = _CHUNK_ELEMENTS_CPU if lattice else 16 * _CHUNK_ELEMENTS_CPU
    per_row = B * M * (1 if lattice else K)
    return max(1, min(n_rows, budget // max(per_row, 1)))


def _compute_dtype(dtype):
    return torch.float64 if dtype == torch.float64 else torch.float32


def _complex_dtype(dtype):
    return torch.complex128 if dtype == torch.float64 else torch.complex64


def _acc_dtype(device):
    return torch.float32 if device.type == "mps" else torch.float64


def _project(xc, A, scale, shift, cd):
    """Projections of a row chunk: ``(xc @ A) * scale - shift`` in the compute dtype."""
    p = xc.to(cd)
    if A is not None:
        p = torch.matmul(p, A)
    if scale is not None:
        p = p * scale
    if shift is not None:
        p = p - shift
    return p


def _power_index(nd: _Nodes, device):
    return None if nd.powers is None else torch.tensor(nd.powers - 1, device=device)


def _unit_complex(theta, out=None):
    """exp(i theta) written straight into a complex buffer (cheaper than torch.polar)."""
    if out is None:
        out = torch.empty(theta.shape, dtype=_complex_dtype(theta.dtype), device=theta.device)
    parts = torch.view_as_real(out)
    torch.cos(theta, out=parts[..., 0])
    torch.sin(theta, out=parts[..., 1])
    return out


def _chunk_sums(p, nd: _Nodes, t, sel):
    """(C, S) of one chunk of projections p (B, c, M): each (B, M, K), compute dtype."""
    if nd.step is not None:
        # w = z**k for k = 1..kmax by repeated multiplication (z = exp(i h p)), summing each
        # power over the rows at once: two chunk-sized buffers, cache-resident
        B, _, M = p.shape
        z = _unit_complex(p * nd.step)
        w = z.clone()
        wr = torch.view_as_real(w)  # summing the real view is much faster than a complex sum
        out = torch.empty((nd.kmax, B, M, 2), dtype=p.dtype, device=p.device)
        torch.sum(wr, dim=1, out=out[0])
        for k in range(1, nd.kmax):
            w.mul_(z)
            torch.sum(wr, dim=1, out=out[k])
        s = out.index_select(0, sel).permute(1, 2, 0, 3)  # (B, M, K, 2)
        return s[..., 0], s[..., 1]
    arg = p.unsqueeze(-1) * t  # (B, c, M, K)
    return torch.cos(arg).sum(dim=1), torch.sin(arg).sum(dim=1)


def _chunk_grad(p, nd: _Nodes, t, gC, gS, sel):
    """dL/dp for one chunk (B, c, M) given upstream gradients gC, gS (B, M, K), compute dtype."""
    if nd.step is not None:
        kmax = nd.kmax
        # coefficients u_j of z**j: t_k (gS + i gC) at j = m_k
        u = torch.zeros((kmax,) + tuple(gC.shape[:-1]), dtype=_complex_dtype(p.dtype), device=p.device)
        coef = torch.complex(gS * t, gC * t).permute(2, 0, 1)  # (K, B, M)
        u.index_copy_(0, sel, coef)
        u = u.unsqueeze(2)  # (kmax, B, 1, M)
        z = _unit_complex(p * nd.step)
        acc = u[kmax - 1].expand_as(z).clone()
        for j in range(kmax - 2, -1, -1):
            acc.mul_(z).add_(u[j])
        acc.mul_(z)
        return acc.real.contiguous()
    arg = p.unsqueeze(-1) * t
    return (torch.cos(arg) * (gS * t).unsqueeze(1)).sum(-1) - (torch.sin(arg) * (gC * t).unsqueeze(1)).sum(-1)


class _EcfSums(torch.autograd.Function):
    """Rows -> (C, S) with a streaming, recomputing backward (docs/theory.md §7, second layer).

    Inputs: x (B, N, D); A (D, M) or (B, D, M) or None (then M = D, p = x); scale and shift
    broadcastable to (B, 1, M) or None. p = (x @ A) * scale - shift. Outputs C, S: (B, M, K)
    in the accumulation dtype (float64 except on MPS).
    """

    @staticmethod
    def forward(ctx, x, A, scale, shift, nd, t_cd):
        B, N, _ = x.shape
        cd = t_cd.dtype
        M = x.shape[2] if A is None else A.shape[-1]
        K = nd.nodes.size
        acc = _acc_dtype(x.device)
        C = torch.zeros((B, M, K), dtype=acc, device=x.device)
        S = torch.zeros_like(C)
        rows = _chunk_rows(N, B, M, K, nd.step is not None, x.device)
        sel = _power_index(nd, x.device)
        with torch.autocast(device_type=x.device.type, enabled=False), torch.no_grad():
            for lo in range(0, N, rows):
                p = _project(x[:, lo:lo + rows], A, scale, shift, cd)
                c, s = _chunk_sums(p, nd, t_cd, sel)
                C += c.to(acc)
                S += s.to(acc)
        ctx.save_for_backward(x, A, scale, shift, t_cd)
        ctx.nd = nd
        ctx.rows = rows
        return C, S

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gC, gS):
        x, A, scale, shift, t_cd = ctx.saved_tensors
        nd = ctx.nd
        cd = t_cd.dtype
        need_x, need_A, need_scale, need_shift = ctx.needs_input_grad[:4]
        B, N, _ = x.shape
        gC = gC.to(cd)
        gS = gS.to(cd)
        gx = torch.empty_like(x) if need_x else None
        gA = torch.zeros_like(A, dtype=cd) if need_A else None
        gscale = torch.zeros(torch.broadcast_shapes(scale.shape, (B, 1, 1)), dtype=cd,
                             device=x.device) if need_scale else None
        gshift = torch.zeros(torch.broadcast_shapes(shift.shape, (B, 1, 1)), dtype=cd,
                             device=x.device) if need_shift else None
        rows = ctx.rows
        sel = _power_index(nd, x.device)
        with torch.autocast(device_type=x.device.type, enabled=False):
            for lo in range(0, N, rows):
                xc = x[:, lo:lo + rows].to(cd)
                q = xc if A is None else torch.matmul(xc, A)  # before the affine map
                p = q
                if scale is not None:
                    p = p * scale
                if shift is not None:
                    p = p - shift
                G = _chunk_grad(p, nd, t_cd, gC, gS, sel)  # dL/dp (B, c, M)
                if need_shift:
                    gshift -= G.sum(dim=1, keepdim=True)
                if need_scale:
                    gscale += (G * q).sum(dim=1, keepdim=True)
                if scale is not None:
                    G = G * scale
                if need_x:
                    gxc = G if A is None else torch.matmul(G, A.transpose(-1, -2))
                    gx[:, lo:lo + rows] = gxc.to(x.dtype)
                if need_A:
                    gAc = torch.matmul(xc.transpose(-1, -2), G)  # (B, D, M)
                    gA += gAc.sum(0) if A.dim() == 2 else gAc
        if need_A:
            gA = gA.to(A.dtype)
        if need_scale:
            gscale = _sum_to(gscale, scale.shape).to(scale.dtype)
        if need_shift:
            gshift = _sum_to(gshift, shift.shape).to(shift.dtype)
        return gx, gA, gscale, gshift, None, None


def _sum_to(g, shape):
    """Reduce a broadcast gradient back to `shape`."""
    shape = tuple(shape)
    while g.dim() > len(shape):
        g = g.sum(0)
    for i, s in enumerate(shape):
        if s == 1 and g.shape[i] != 1:
            g = g.sum(i, keepdim=True)
    return g


def _node_tensor(nd: _Nodes, dtype, device):
    return torch.tensor(np.array(nd.nodes), dtype=dtype, device=device)


def ecf_sums(x, nodes, directions=None):
    """Differentiable ECF sums ``C, S`` of the rows of `x` (or of their projections).

    Parameters
    ----------
    x : Tensor, shape ``(*, N, D)``
        Observations along dimension -2.
    nodes : array-like, shape (K,)
        Nodes ``t_k`` (float64 values; equispaced nodes ``m_k h`` use the power recurrence).
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
    x = _as_tensor(x, "x", min_ndim=2)
    nd = _Nodes(np.asarray(nodes, dtype=np.float64).ravel())
    if nd.nodes.size == 0 or not np.all(np.isfinite(nd.nodes)):
        raise ValueError(f"`nodes` must be a non-empty 1-d array of finite numbers. {_got(nodes)}")
    cd = _compute_dtype(x.dtype)
    batch = x.shape[:-2]
    xb = x.reshape((-1,) + tuple(x.shape[-2:]))
    A = None
    if directions is not None:
        A = _as_tensor(directions, "directions", min_ndim=2).to(device=x.device, dtype=cd)
    C, S = _EcfSums.apply(xb, A, None, None, nd, _node_tensor(nd, cd, x.device))
    return C.reshape(batch + C.shape[1:]), S.reshape(batch + S.shape[1:])


def statistic_from_sums(C, S, n, rule: QuadratureRule):
    """``Q = sum_k omega_k [(C_k - n phi_k)^2 + S_k^2] / n`` over the last axis (ordinary autograd).

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
    w = torch.tensor(np.array(rule.weights), dtype=C.dtype, device=C.device)
    phi = torch.as_tensor(np.exp(-0.5 * rule.nodes**2), dtype=C.dtype, device=C.device)
    n = torch.as_tensor(n, dtype=C.dtype, device=C.device)
    nn_ = n.unsqueeze(-1) if n.dim() else n
    dc = C - nn_ * phi
    return (w * (dc * dc + S * S)).sum(-1) / n


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------
def _as_tensor(x, name, min_ndim=1):
    if isinstance(x, torch.Tensor):
        t = x
    else:
        if hasattr(x, "dtype") and getattr(x.dtype, "kind", "f") in "bcOUS":
            raise TypeError(f"`{name}` must hold real numbers. Got dtype {x.dtype} instead.")
        try:
            t = torch.as_tensor(np.asarray(x, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"`{name}` must be a real floating tensor or array-like. {_got(x)}") from exc
    if not t.is_floating_point():
        if t.dtype in (torch.complex64, torch.complex128) or t.dtype == torch.bool:
            raise TypeError(f"`{name}` must be a real floating tensor. Got dtype {t.dtype} instead.")
        t = t.to(torch.get_default_dtype())
    if t.dim() < min_ndim:
        raise ValueError(f"`{name}` must have at least {min_ndim} dimension(s). Got shape "
                         f"{tuple(t.shape)} instead.")
    if t.numel() == 0:
        raise ValueError(f"`{name}` must not be empty. Got shape {tuple(t.shape)} instead.")
    return t


def _check_choice(value, name, choices):
    if not isinstance(value, str):
        raise TypeError(f"`{name}` must be a str, one of {sorted(choices)}. {_got(value)}")
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {sorted(choices)}. {_got(value)}")
    return value


def _check_bool(value, name):
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"`{name}` must be a bool (True or False). {_got(value)}")


def _check_beta(beta):
    if isinstance(beta, (bool, np.bool_)) or not isinstance(beta, numbers.Real):
        raise TypeError(f"`beta` must be a real number. {_got(beta)}")
    from .._validate import check_beta

    return check_beta(beta)


def _check_int(value, name, minimum):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int. {_got(value)}")
    if int(value) < minimum:
        raise ValueError(f"`{name}` must be an int >= {minimum}. {_got(value)}")
    return int(value)


def _check_distributed(distributed):
    if distributed is None:
        return _dist_active()
    return _check_bool(distributed, "distributed")


def _dist_active() -> bool:
    dist = torch.distributed
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


# --------------------------------------------------------------------------------------------
# rules (mirroring the NumPy path, including the data-dependent "auto" rule)
# --------------------------------------------------------------------------------------------
def _needs_spread(quadrature) -> bool:
    return isinstance(quadrature, str) and quadrature == "auto"


def _rule(quadrature, beta, spread=None) -> QuadratureRule:
    if quadrature == "exact":
        raise ValueError("`quadrature` must be a quadrature rule in normtest.torch: 'exact' (the O(n^2) "
                         "closed form) is available in normtest.epps_pulley only. Got 'exact' instead.")
    return get_rule(quadrature, beta, spread=spread)


# --------------------------------------------------------------------------------------------
# distributed helpers
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


def _all_reduce_nograd(t, op):
    t = t.detach().clone()
    torch.distributed.all_reduce(t, op=op)
    return t


def _global_count(n_local: int, device, distributed: bool):
    n = torch.tensor(float(n_local), dtype=torch.float64 if device.type != "mps" else torch.float32,
                     device=device)
    if distributed:
        n = _all_reduce_nograd(n, torch.distributed.ReduceOp.SUM)
    return n


def _sums_to_statistic(C, S, n, rule, distributed, weights=None, nodes=None):
    if distributed:
        K = C.shape[-1]
        both = _all_reduce_sum(torch.cat([C, S], dim=-1))
        C, S = both[..., :K], both[..., K:]
    if weights is None:
        return statistic_from_sums(C, S, n, rule)
    w = weights.to(C.dtype)
    phi = torch.exp(-0.5 * nodes.to(C.dtype) ** 2)
    dc = C - n * phi
    return (w * (dc * dc + S * S)).sum(-1) / n


def _out_dtype(dtype):
    return torch.float64 if dtype == torch.float64 else torch.float32


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
    x = _as_tensor(x, "x", min_ndim=1)
    standardize = _check_bool(standardize, "standardize")
    beta = _check_beta(beta)
    distributed = _check_distributed(distributed)
    if dim is None:
        dim = -1 if x.dim() == 1 else -2
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, numbers.Integral):
        raise TypeError(f"`dim` must be an int or None. {_got(dim)}")
    if not -x.dim() <= int(dim) < x.dim():
        raise ValueError(f"`dim` must be in the range [{-x.dim()}, {x.dim() - 1}]. {_got(dim)}")
    if not _needs_spread(quadrature):
        rule = _rule(quadrature, beta)  # validate early
    xm = torch.movedim(x, int(dim), -1)  # (..., N)
    batch = xm.shape[:-1]
    N = xm.shape[-1]
    xb = xm.reshape(-1, N).transpose(0, 1).unsqueeze(0)  # (1, N, B): columns are "slices"
    cd = _compute_dtype(x.dtype)
    n = _global_count(N, x.device, distributed)
    scale = shift = None
    degenerate = None
    if standardize:
        from .._standardize import standardize as _standardize

        if float(n) < 2:
            raise ValueError(f"`x` must have at least 2 observations along `dim` with standardize=True. "
                             f"Got {int(n)} instead.")
        sdt = _acc_dtype(x.device)  # normtest._standardize's algorithm in float64, centred before the cast
        with torch.autocast(device_type=x.device.type, enabled=False):
            z, _, _, degenerate = _standardize(
                xb.to(sdt), axis=1, n=n.to(sdt),
                reduce_sum=_all_reduce_sum if distributed else None,
                reduce_max=(lambda v: _all_reduce_nograd(v, torch.distributed.ReduceOp.MAX)) if distributed
                else None)
            xb = z.to(cd)
    if _needs_spread(quadrature):
        # one rule for all columns, sized by the largest |y|: "auto" is exact (1e-10) for every
        # column within its spread, so this equals the per-column exact statistic of the NumPy path
        with torch.no_grad():
            y = xb.to(cd) if scale is None else xb.to(cd) * scale - shift
            spread = y.abs().amax() if y.numel() else torch.zeros((), dtype=cd, device=x.device)
            if distributed:
                spread = _all_reduce_nograd(spread, torch.distributed.ReduceOp.MAX)
        rule = _rule(quadrature, beta, spread=float(spread))
    stat = _column_stat(xb, scale, shift, rule, cd, n, distributed)
    if degenerate is not None and bool(degenerate.any()):
        import warnings

        from .._validate import DegenerateDataWarning

        stat = torch.where(degenerate.reshape(stat.shape), torch.full_like(stat, float("nan")), stat)
        warnings.warn("epps_pulley: a column has zero variance (all values equal); with standardize=True "
                      "its statistic is NaN.", DegenerateDataWarning, stacklevel=2)
    return stat.reshape(batch).to(_out_dtype(x.dtype))


def _column_stat(xb, scale, shift, rule, cd, n, distributed):
    nd = _Nodes(rule.nodes)
    C, S = _EcfSums.apply(xb, None, scale, shift, nd, _node_tensor(nd, cd, xb.device))
    return _sums_to_statistic(C, S, n, rule, distributed)  # (1, B)


# --------------------------------------------------------------------------------------------
# sliced Epps–Pulley
# --------------------------------------------------------------------------------------------
def draw_directions(n_features, n_slices, rng=None, *, dtype=torch.float32, device=None):
    """Unit directions (D, M): Gaussian columns normalised.

    A numpy ``rng`` (None, int or Generator) draws exactly what
    :func:`normtest.sliced_epps_pulley` draws for the same seed; a
    :class:`torch.Generator` draws with torch on its device.
    """
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


def _prepare_directions(directions, D, cd, device):
    A = _as_tensor(directions, "directions", min_ndim=2)
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
    x = _as_tensor(x, "x", min_ndim=2)
    standardize = _check_bool(standardize, "standardize")
    beta = _check_beta(beta)
    reduction = _check_choice(reduction, "reduction", ("mean", "sum", "max", "none"))
    distributed = _check_distributed(distributed)
    if not _needs_spread(quadrature):
        rule = _rule(quadrature, beta)
    N, D = x.shape[-2], x.shape[-1]
    cd = _compute_dtype(x.dtype)
    if directions is None:
        n_slices = _check_int(n_slices, "n_slices", 1)
        if rng is not None and not isinstance(rng, (torch.Generator, np.random.Generator, numbers.Integral,
                                                     np.random.SeedSequence)):
            raise TypeError("`rng` must be None, an int seed, a numpy.random.Generator or a "
                            f"torch.Generator. {_got(rng)}")
        A = draw_directions(D, n_slices, rng, dtype=torch.float64, device=x.device)
        A = (A / torch.linalg.vector_norm(A, dim=0, keepdim=True)).to(cd)
    else:
        A = _prepare_directions(directions, D, cd, x.device)
    xb = x.reshape((-1, N, D))
    stat = _sliced_core(xb, A, standardize, quadrature, beta, None if _needs_spread(quadrature) else rule,
                        cd, distributed)
    stat = stat.reshape(x.shape[:-2] + (A.shape[1],))
    stat = _reduce(stat, reduction)
    return stat.to(_out_dtype(x.dtype))


def _reduce(stat, reduction):
    if reduction == "mean":
        return stat.mean(-1)
    if reduction == "sum":
        return stat.sum(-1)
    if reduction == "max":
        return stat.amax(-1)
    return stat


def _sliced_core(xb, A, standardize, quadrature, beta, rule, cd, distributed, buffers=None):
    """Per-slice statistics (B, M) for x (B, N, D) and unit directions A (D, M) in dtype cd."""
    B, N, D = xb.shape
    n = _global_count(N, xb.device, distributed)
    Aeff, shift = A, None
    if standardize:
        # mean, covariance and its inverse root in the accumulation dtype (float64): a float32
        # whitening would cost ~1e-4 in the statistic
        sd = _acc_dtype(xb.device)
        with torch.autocast(device_type=xb.device.type, enabled=False):
            from .._standardize import pow2_scale

            # normtest._standardize: one power of two per sample (exact; the symmetric root
            # commutes with it), two-pass centring, and the centred values go to the ECF sums
            # (a float32 cast after centring keeps offsets like 1e6 exact)
            big = xb.detach().abs().to(sd).amax(dim=(1, 2), keepdim=True)
            if distributed:
                big = _all_reduce_nograd(big, torch.distributed.ReduceOp.MAX)
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
            R = _InvSqrtPSD.apply(cov)  # (B, D, D)
            Aeff = torch.matmul(R, A.to(sd)).to(cd)  # (B, D, M)
            xb = xc.to(cd)
    if rule is None:  # data-dependent rule: spread = max_j ||Y_j||, no gradient, global
        with torch.no_grad():
            y = xb.to(cd) if not standardize else torch.matmul(xc, R)
            spread = torch.linalg.vector_norm(y, dim=-1).amax()
            if distributed:
                spread = _all_reduce_nograd(spread, torch.distributed.ReduceOp.MAX)
        rule = _rule(quadrature, beta, spread=float(spread))
    nd = _Nodes(rule.nodes) if buffers is None else buffers[0]
    C, S = _EcfSums.apply(xb, Aeff, None, shift, nd, _node_tensor(nd, cd, xb.device))
    if buffers is None:
        return _sums_to_statistic(C, S, n, rule, distributed)
    return _sums_to_statistic(C, S, n, rule, distributed, weights=buffers[2], nodes=buffers[1])


class _InvSqrtPSD(torch.autograd.Function):
    """Symmetric inverse square root of SPD matrices with a stable backward.

    With S = V diag(l) V^T and r = l^(-1/2): dR = V [K o (V^T dS V)] V^T,
    K_ij = -r_i^2 r_j^2 / (r_i + r_j) (from dR R + R dR = -S^-1 dS S^-1); no 1/(l_i - l_j)
    terms, so repeated eigenvalues (white data) are harmless.
    """

    @staticmethod
    def forward(ctx, S):
        lam, V = torch.linalg.eigh(S)
        top = lam.amax(dim=-1, keepdim=True)
        if bool(((lam <= 1e3 * torch.finfo(S.dtype).eps * top) | (top <= 0)).any()):
            raise ValueError("`x` has a singular or near-singular covariance matrix: cannot standardize "
                             "(use standardize=False or remove collinear features).")
        r = lam.rsqrt()
        R = (V * r.unsqueeze(-2)) @ V.transpose(-1, -2)
        ctx.save_for_backward(V, r)
        return R

    @staticmethod
    def backward(ctx, gR):
        V, r = ctx.saved_tensors
        g = 0.5 * (gR + gR.transpose(-1, -2))
        r2 = r * r
        Kmat = -(r2.unsqueeze(-1) * r2.unsqueeze(-2)) / (r.unsqueeze(-1) + r.unsqueeze(-2))
        inner = V.transpose(-1, -2) @ g @ V
        return V @ (Kmat * inner) @ V.transpose(-1, -2)


# --------------------------------------------------------------------------------------------
# SIGReg module
# --------------------------------------------------------------------------------------------
_SEED_MIX = 0x9E3779B97F4A7C15  # golden-ratio constant: spreads (seed, step) over the 64-bit seed space


def _step_seed(seed: int, step: int) -> int:
    return (seed * _SEED_MIX + step) % (2**63 - 1)


class SIGReg(nn.Module):
    r"""Sketched isotropic Gaussian regularisation (LeJEPA) as a ``torch.nn`` loss.

    The sliced Epps–Pulley statistic of the batch against N(0, I), with fresh random
    directions per call; minimising it pushes embeddings towards an isotropic Gaussian.

    Parameters
    ----------
    n_slices : int, default 256
        Number of random directions per call.
    quadrature : str, QuadratureRule or (nodes, weights), default "lejepa"
        "lejepa" (official LeJEPA code: ``linspace(0, 3, 17)``, folded trapezoid),
        "paper" (LeJEPA Algorithm 1), or any rule with fixed nodes. Nodes and weights are
        buffers (they follow ``.to(device)`` and live in ``state_dict``).
    reduction : {"mean", "sum", "none"}, default "mean"
        "mean"/"sum" over slices and leading batch dimensions (a scalar loss); "none"
        returns the per-slice statistics, shape ``(*, M)``.
    beta : float, default 1.0
        Weight width for Henze-scale rules ("gauss-hermite").
    seed : int, default 0
        Directions at call ``s`` come from a generator seeded by ``(seed, s)``; the step
        ``s`` is a buffer (saved and restored with ``state_dict``), agreed across ranks
        (all-reduce MAX) before drawing, then incremented.
    directions : Tensor or array-like, shape (D, M), optional
        Fixed directions instead (a buffer; `n_slices` and `seed` are then ignored).
    distributed : bool or None
        Global-batch statistic across ranks (None: when a process group is initialised).

    Notes
    -----
    Random directions are drawn on the input's device type with :class:`torch.Generator`,
    so the same (seed, step) gives the same directions on every rank of one device type
    (CPU and CUDA streams differ).

    Examples
    --------
    >>> import torch
    >>> from normtest.torch import SIGReg
    >>> loss_fn = SIGReg(n_slices=64, seed=0)
    >>> z = torch.randn(512, 16, generator=torch.Generator().manual_seed(0), requires_grad=True)
    >>> loss = loss_fn(z)
    >>> loss.backward()
    >>> print(loss.shape, int(loss_fn.step), z.grad.shape)
    torch.Size([]) 1 torch.Size([512, 16])
    """

    def __init__(self, n_slices=256, quadrature="lejepa", reduction="mean", beta=1.0, seed=0, directions=None,
                 distributed=None):
        super().__init__()
        self.reduction = _check_choice(reduction, "reduction", ("mean", "sum", "none"))
        self.beta = _check_beta(beta)
        if _needs_spread(quadrature):
            raise ValueError("`quadrature` must be a rule with fixed nodes for SIGReg ('lejepa', 'paper', "
                             "'gauss-hermite', a QuadratureRule or (nodes, weights)). Got 'auto' instead.")
        self.rule = _rule(quadrature, self.beta)
        self.seed = _check_int(seed, "seed", 0)
        if distributed is not None:
            _check_bool(distributed, "distributed")
        self.distributed = distributed
        self.register_buffer("nodes", torch.tensor(np.array(self.rule.nodes), dtype=torch.float64))
        self.register_buffer("weights", torch.tensor(np.array(self.rule.weights), dtype=torch.float64))
        self.register_buffer("step", torch.zeros((), dtype=torch.int64))
        if directions is None:
            self.n_slices = _check_int(n_slices, "n_slices", 1)
            self.register_buffer("directions", None)
        else:
            A = _as_tensor(directions, "directions", min_ndim=2)
            A = _prepare_directions(A, A.shape[0], torch.float64, A.device)
            self.n_slices = int(A.shape[1])
            self.register_buffer("directions", A)
        self._nd = _Nodes(self.rule.nodes)

    def _apply(self, fn, *args, **kwargs):
        # .half()/.to(dtype) on a whole model must not round the rule or the fixed directions:
        # they follow the device and stay float64
        saved = {k: self._buffers[k] for k in ("nodes", "weights", "directions")
                 if self._buffers.get(k) is not None}
        super()._apply(fn, *args, **kwargs)
        for name, old in saved.items():
            new = self._buffers[name]
            if new.dtype != torch.float64:
                self._buffers[name] = old.to(device=new.device)
        return self

    def extra_repr(self) -> str:
        fixed = ", fixed directions" if self.directions is not None else f", seed={self.seed}"
        return (f"n_slices={self.n_slices}, quadrature={self.rule.name!r}, reduction={self.reduction!r}"
                f"{fixed}")

    def current_directions(self, n_features, device, dtype=torch.float32):
        """Directions the next call will use (does not advance the step)."""
        if self.directions is not None:
            return self.directions.to(device=device, dtype=dtype)
        gdev = torch.device(device)
        g = torch.Generator(device=gdev)
        g.manual_seed(_step_seed(self.seed, int(self.step)))
        A = torch.randn((n_features, self.n_slices), generator=g, device=gdev, dtype=torch.float32)
        A = A / torch.linalg.vector_norm(A, dim=0, keepdim=True)
        return A.to(dtype)

    def forward(self, x):
        x = _as_tensor(x, "x", min_ndim=2)
        distributed = _check_distributed(self.distributed)
        cd = _compute_dtype(x.dtype)
        if self.directions is None and distributed:
            with torch.no_grad():
                agreed = _all_reduce_nograd(self.step.to(x.device), torch.distributed.ReduceOp.MAX)
                self.step.copy_(agreed.to(self.step.device))
        A = self.current_directions(x.shape[-1], x.device, cd)
        if self.directions is None:
            with torch.no_grad():
                self.step += 1
        N, D = x.shape[-2], x.shape[-1]
        if self.directions is not None and self.directions.shape[0] != D:
            raise ValueError(f"`x` must have {self.directions.shape[0]} features (the rows of the fixed "
                             f"directions). Got shape {tuple(x.shape)} instead.")
        xb = x.reshape((-1, N, D))
        stat = _sliced_core(xb, A, False, None, self.beta, self.rule, cd, distributed,
                            buffers=(self._nd, self.nodes, self.weights))
        stat = stat.reshape(x.shape[:-2] + (A.shape[1],)).to(_out_dtype(x.dtype))
        if self.reduction == "mean":
            return stat.mean()
        if self.reduction == "sum":
            return stat.sum()
        return stat
