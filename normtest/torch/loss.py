"""SIGReg: the sliced Epps–Pulley statistic as a ``torch.nn`` loss (LeJEPA's regulariser).

Fresh directions per call come from a counter-based generator written in tensor
operations (a 32-bit integer hash of ``(seed, step, index)``, then Box–Muller), so the
whole forward is traceable by :func:`torch.compile` with ``fullgraph=True`` and the
directions of a given ``(seed, step)`` are the same on every device and rank.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .._validate import check_bool, check_choice, check_int
from .functional import (all_reduce_nograd, as_tensor, check_beta, check_distributed, compute_dtype,
                         needs_spread, out_dtype, prepare_directions, resolve_rule, sliced_core)

__all__ = ["SIGReg"]

_M32 = 0xFFFFFFFF


def _hash32(h):
    """A bijection of 32-bit words held in int64, with full avalanche.

    The xorshift-multiply hash ``[16 21f0aaad 15 735a2d97 15]`` of C. Wellons' hash
    prospector: both multipliers are below 2**31, so ``h * c`` (h < 2**32) never overflows.
    """
    h = h ^ (h >> 16)
    h = (h * 0x21F0AAAD) & _M32
    h = h ^ (h >> 15)
    h = (h * 0x735A2D97) & _M32
    return h ^ (h >> 15)


def _box_muller(u, v):
    """``sqrt(-2 log u) cos(2 pi v)``; a few thousand values go in slices that ATen runs on the
    calling thread (its transcendental functions split over threads from 2048 values on)."""
    if u.device.type != "cpu" or u.numel() > 2**15 or u.numel() <= 2048:
        return torch.sqrt(-2.0 * torch.log(u)) * torch.cos((2.0 * math.pi) * v)
    return torch.cat([_box_muller(u[i:i + 2048], v[i:i + 2048]) for i in range(0, u.numel(), 2048)])


def hashed_directions(seed: int, step, n_features: int, n_slices: int, device, dtype):
    """Unit directions (D, M) from the counter-based generator keyed by ``(seed, step)``.

    Entry ``e = d M + m`` is ``sqrt(-2 log u) cos(2 pi v)`` with ``u, v`` the hashes of the
    counters ``2e`` and ``2e + 1`` under the key, mapped to (0, 1); columns are normalised.
    `step` is an int64 tensor (a buffer): no host synchronisation, traceable.
    """
    step = step.to(device=device, dtype=torch.int64)
    lo, hi = seed & _M32, (seed >> 32) & _M32
    key = _hash32(hi ^ _hash32(lo ^ _hash32((step >> 32) ^ _hash32(step & _M32))))
    counter = torch.arange(2 * n_features * n_slices, device=device, dtype=torch.int64)
    words = _hash32(_hash32(counter) ^ key)
    fd = torch.float32 if torch.device(device).type == "mps" else torch.float64
    u = (words.to(fd) + 0.5) * 2.0**-32
    u = u.reshape(n_features, n_slices, 2)
    g = _box_muller(u[..., 0].reshape(-1), u[..., 1].reshape(-1)).reshape(n_features, n_slices)
    g = g / torch.linalg.vector_norm(g, dim=0, keepdim=True)
    return g.to(dtype)


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
        Directions at call ``s`` come from a counter-based generator keyed by ``(seed, s)``;
        the step ``s`` is a buffer (saved and restored with ``state_dict``), agreed across
        ranks (all-reduce MAX) before drawing, then incremented.
    directions : Tensor or array-like, shape (D, M), optional
        Fixed directions instead (a buffer; `n_slices` and `seed` are then ignored).
    distributed : bool or None
        Global-batch statistic across ranks (None: when a process group is initialised).

    Notes
    -----
    The generator is a 32-bit integer hash of ``(seed, step, index)`` evaluated with tensor
    operations on the input's device, followed by Box–Muller in float64: the same
    ``(seed, step)`` gives the same directions on every rank and device (CPU and CUDA agree
    to rounding), nothing synchronises with the host, and ``torch.compile(loss,
    fullgraph=True)`` traces the whole call.

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
        self.reduction = check_choice(reduction, "reduction", ("mean", "sum", "none"))
        self.beta = check_beta(beta)
        if needs_spread(quadrature):
            raise ValueError("`quadrature` must be a rule with fixed nodes for SIGReg ('lejepa', 'paper', "
                             "'gauss-hermite', a QuadratureRule or (nodes, weights)). Got 'auto' instead.")
        self.rule = resolve_rule(quadrature, self.beta)
        self.seed = check_int(seed, "seed", minimum=0)
        if distributed is not None:
            check_bool(distributed, "distributed")
        self.distributed = distributed
        self._lattice_step = self.rule.lattice_step  # a Python float (or None), fixed with the rule
        self.register_buffer("nodes", torch.tensor(np.array(self.rule.nodes), dtype=torch.float64))
        self.register_buffer("weights", torch.tensor(np.array(self.rule.weights), dtype=torch.float64))
        self.register_buffer("step", torch.zeros((), dtype=torch.int64))
        if directions is None:
            self.n_slices = check_int(n_slices, "n_slices", minimum=1)
            self.register_buffer("directions", None)
        else:
            A = as_tensor(directions, "directions", min_ndim=2)
            A = prepare_directions(A, A.shape[0], torch.float64, A.device)
            self.n_slices = int(A.shape[1])
            self.register_buffer("directions", A)

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
        return hashed_directions(self.seed, self.step, n_features, self.n_slices, torch.device(device), dtype)

    def forward(self, x):
        x = as_tensor(x, "x", min_ndim=2)
        distributed = check_distributed(self.distributed)
        cd = compute_dtype(x.dtype)
        N, D = x.shape[-2], x.shape[-1]
        if self.directions is not None and self.directions.shape[0] != D:
            raise ValueError(f"`x` must have {self.directions.shape[0]} features (the rows of the fixed "
                             f"directions). Got shape {tuple(x.shape)} instead.")
        if self.directions is None and distributed:
            with torch.no_grad():
                agreed = all_reduce_nograd(self.step.to(x.device), torch.distributed.ReduceOp.MAX)
                self.step.copy_(agreed.to(self.step.device))
        A = self.current_directions(D, x.device, cd)
        if self.directions is None:
            with torch.no_grad():
                self.step.add_(1)
        nodes = self.nodes.to(x.device)
        buffers = (nodes, self.weights.to(x.device), torch.exp(-0.5 * nodes * nodes))
        stat = sliced_core(x.reshape((-1, N, D)), A, False, None, self.beta, self.rule, distributed,
                           buffers=buffers, step=self._lattice_step)
        stat = stat.reshape(x.shape[:-2] + (A.shape[1],)).to(out_dtype(x.dtype))
        if self.reduction == "mean":
            return stat.mean()
        if self.reduction == "sum":
            return stat.sum()
        return stat
