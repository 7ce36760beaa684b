"""Rows -> ECF sums for torch: the custom autograd function and its chunk kernels (private).

The first of the two layers of docs/theory.md §7: from observations ``x`` (B, N, D) and
directions ``A`` to the additive sums ``C_mk = sum_j cos(t_k p_jm)``, ``S_mk = sum_j
sin(t_k p_jm)`` with ``p = (x @ A) * scale - shift``. The second layer (sums -> statistic,
all-reduces) is ordinary autograd in :mod:`normtest.torch.functional`.

Work plan (chosen from a memory budget, never from the thread count)
--------------------------------------------------------------------
A chunk of ``c`` rows is turned into one complex feature array ``W`` of shape (K, B, M, c),
``W_k = exp(i t_k p)``, in a handful of whole-array operations: for lattice nodes
``t_k = k h`` (every preset, ``QuadratureRule.lattice_step``) ``W_1 = exp(i h p)`` and the
powers follow by repeated *doubling*, ``W_{n+1..n+m} = W_{1..m} * W_n`` (ceil(log2 K)
multiplications, each a single broadcast op); other nodes take ``cos``/``sin`` of
``t_k p`` directly. The forward sums ``W`` over the rows (one reduction), the backward
forms ``dL/dp = Re sum_k t_k (G^S_k + i G^C_k) W_k`` (one product and one reduction).

* Small problems (the whole ``W`` within ``_WHOLE_BYTES``): one chunk, and ``W`` is kept for
  the backward. A forward + backward is then about ten large tensor operations, so torch's
  intra-op threads synchronise ten times per step, not hundreds (what made small problems
  slow on a busy machine, where every hand-off waits for a descheduled thread).
* Large problems stream row chunks of ``_CHUNK_BYTES`` and keep only the M x K sums; the
  backward streams them again and recomputes ``W`` from the saved inputs. Nothing of size
  N x M x K (nor N x M) is stored.

Under :func:`torch.compile` the same sums are written as plain tensor expressions
(:func:`_sums_plain`) that Inductor fuses into reductions (no custom function, no chunk
loop in the graph).

Precision: projection and features in float32 (float64 for float64 input, autocast off);
per-chunk sums of at most ``_MAX_CHUNK_ROWS`` rows are added into float64 accumulators
(float32 on MPS).
"""

from __future__ import annotations

import math

import numpy as np
import torch

_WHOLE_BYTES = 2**27          # 128 MiB: whole feature array kept for the backward up to this
_CHUNK_BYTES_CPU = 2**23      # 8 MiB streaming chunks on CPU (cache-friendly, large ops)
_CHUNK_BYTES_CUDA = 2**28     # 256 MiB on accelerators (amortises kernel launches)
_MAX_CHUNK_ROWS = 2**16       # rows summed in float32 before the float64 accumulation


def compute_dtype(dtype):
    return torch.float64 if dtype == torch.float64 else torch.float32


def acc_dtype(device):
    return torch.float32 if device.type == "mps" else torch.float64


def _complex_dtype(dtype):
    return torch.complex128 if dtype == torch.float64 else torch.complex64


def plan_rows(n_rows: int, per_row: int, itemsize: int, device) -> tuple[int, bool]:
    """Rows per chunk and whether the single chunk's features are kept for the backward.

    `per_row` is the number of complex features one row produces (K * B * M), `itemsize`
    the bytes of one complex value.
    """
    row_bytes = max(per_row, 1) * itemsize
    if n_rows * row_bytes <= _WHOLE_BYTES and n_rows <= _MAX_CHUNK_ROWS:
        return max(n_rows, 1), True
    budget = _CHUNK_BYTES_CPU if device.type == "cpu" else _CHUNK_BYTES_CUDA
    return max(1, min(n_rows, _MAX_CHUNK_ROWS, budget // row_bytes)), False


def _project_t(xc, A, scale_t, shift_t, cd):
    """Projections of a row chunk, transposed: (B, M, c); also the pre-affine values."""
    xc = xc.to(cd)
    if A is None:
        q = xc.mT
    elif A.dim() == 2 and xc.shape[0] == 1:  # one plain GEMM, not a batched one
        q = torch.matmul(A.mT, xc[0].mT).unsqueeze(0)
    else:
        q = torch.matmul(A.mT, xc.mT)
    p = q
    if scale_t is not None:
        p = p * scale_t
    if shift_t is not None:
        p = p - shift_t
    return p, q


def _unit_complex(theta, out):
    """exp(i theta) written straight into a complex buffer: one operation."""
    return torch.polar(torch.ones((), dtype=theta.dtype, device=theta.device).expand_as(theta), theta,
                       out=out)


def features(p, t, step, scaled=False):
    """``W_k = exp(i t_k p)`` for projections p (B, M, c): complex, shape (K, B, M, c).

    ``scaled``: for lattice nodes, p already holds ``h p`` (the step folded into the directions).
    """
    K = t.shape[0]
    W = torch.empty((K,) + tuple(p.shape), dtype=_complex_dtype(p.dtype), device=p.device)
    if step is None:
        return _unit_complex(t.reshape(K, 1, 1, 1) * p, W)
    _unit_complex(p if scaled else p * step, W[0])
    n = 1
    while n < K:  # W_{n+1..n+m} = W_{1..m} * W_n: ceil(log2 K) whole-array products
        m = min(n, K - n)
        torch.mul(W[:m], W[n - 1:n], out=W[n:n + m])
        n += m
    return W


def _chunk_sums(W):
    """(C, S) of one chunk's features, each (B, M, K) in the compute dtype."""
    s = torch.view_as_real(W).sum(dim=-2)  # (K, B, M, 2): the real view sums fastest
    return s[..., 0].permute(1, 2, 0), s[..., 1].permute(1, 2, 0)


def _chunk_grad(W, u):
    """``dL/dp = Re sum_k u_k W_k`` (B, M, c) with u (K, B, M) = t_k (G^S + i G^C)."""
    return (W * u.unsqueeze(-1)).sum(dim=0).real


class EcfSums(torch.autograd.Function):
    """Rows -> (C, S) with a recomputing (large) or feature-keeping (small) backward.

    Inputs: x (B, N, D); A (D, M) or (B, D, M) or None (then M = D, p = x); scale and shift
    of shape (B, 1, M) (broadcastable) or None; t the nodes (K,) in the compute dtype;
    step the lattice step h (nodes exactly k h, k = 1..K) or None. Outputs C, S: (B, M, K)
    in the accumulation dtype.
    """

    @staticmethod
    def forward(ctx, x, A, scale, shift, t, step):
        B, N, _ = x.shape
        cd = t.dtype
        M = x.shape[2] if A is None else A.shape[-1]
        K = t.shape[0]
        acc = acc_dtype(x.device)
        rows, keep = plan_rows(N, K * B * M, 2 * t.element_size(), x.device)
        scale_t = None if scale is None else scale.mT
        shift_t = None if shift is None else shift.mT
        C = S = None
        kept = None
        fold = step is not None and A is not None  # project straight onto h p: one op fewer a chunk
        with torch.autocast(device_type=x.device.type, enabled=False), torch.no_grad():
            Af, shift_f = (A * step, None if shift_t is None else shift_t * step) if fold else (A, shift_t)
            for lo in range(0, N, rows):
                p, _ = _project_t(x[:, lo:lo + rows], Af, scale_t, shift_f, cd)
                W = features(p, t, step, scaled=fold)
                c, s = _chunk_sums(W)
                C = c.to(acc) if C is None else C + c
                S = s.to(acc) if S is None else S + s
                if keep:
                    kept = W
        if C is None:  # no rows
            C = torch.zeros((B, M, K), dtype=acc, device=x.device)
            S = torch.zeros_like(C)
        ctx.save_for_backward(x, A, scale, shift, t)
        ctx.step, ctx.rows, ctx.kept = step, rows, kept
        return C, S

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gC, gS):
        x, A, scale, shift, t = ctx.saved_tensors
        step, rows, kept = ctx.step, ctx.rows, ctx.kept
        cd = t.dtype
        need_x, need_A, need_scale, need_shift = ctx.needs_input_grad[:4]
        B, N, _ = x.shape
        u = torch.complex(gS.to(cd) * t, gC.to(cd) * t).permute(2, 0, 1)  # (K, B, M)
        scale_t = None if scale is None else scale.mT
        shift_t = None if shift is None else shift.mT
        gx = torch.empty_like(x) if need_x and rows < N else None
        gA = gscale = gshift = None
        with torch.autocast(device_type=x.device.type, enabled=False):
            for lo in range(0, N, rows):
                xc = x[:, lo:lo + rows]
                if kept is None or need_scale:  # the kept features need no projection
                    p, q = _project_t(xc, A, scale_t, shift_t, cd)
                W = kept if kept is not None else features(p, t, step)
                G = _chunk_grad(W, u)  # dL/dp, transposed: (B, M, c)
                if need_shift:
                    g = -G.sum(dim=-1, keepdim=True)
                    gshift = g if gshift is None else gshift + g
                if need_scale:
                    g = (G * q).sum(dim=-1, keepdim=True)
                    gscale = g if gscale is None else gscale + g
                if scale_t is not None:
                    G = G * scale_t
                if need_x:
                    gxc = (G.mT if A is None else torch.matmul(G.mT, A.mT)).to(x.dtype)
                    if gx is None:
                        gx = gxc
                    else:
                        gx[:, lo:lo + rows] = gxc
                if need_A:
                    g = torch.matmul(xc.to(cd).mT, G.mT)  # (B, D, M)
                    g = g.sum(0) if A.dim() == 2 else g
                    gA = g if gA is None else gA + g
        if need_A:
            gA = gA.to(A.dtype)
        if need_scale:
            gscale = _sum_to(gscale.mT, scale.shape).to(scale.dtype)
        if need_shift:
            gshift = _sum_to(gshift.mT, shift.shape).to(shift.dtype)
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


def _sums_plain(x, A, scale, shift, t):
    """The same sums as plain tensor expressions (for torch.compile: Inductor fuses them)."""
    cd = t.dtype
    acc = acc_dtype(x.device)
    with torch.autocast(device_type=x.device.type, enabled=False):
        p = x.to(cd) if A is None else torch.matmul(x.to(cd), A)
        if scale is not None:
            p = p * scale
        if shift is not None:
            p = p - shift
        arg = p.unsqueeze(-1) * t  # (B, N, M, K): fused away by the compiler
        return torch.cos(arg).to(acc).sum(1), torch.sin(arg).to(acc).sum(1)


def ecf_sums_rows(x, A, scale, shift, t, step):
    """(C, S) of x (B, N, D) projected on A: the custom function, or plain ops when compiling."""
    if torch.compiler.is_compiling():
        return _sums_plain(x, A, scale, shift, t)
    return EcfSums.apply(x, A, scale, shift, t, step)


class InvSqrtPSD(torch.autograd.Function):
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


def lattice_step(nodes) -> float | None:
    """``h`` when the nodes are exactly ``h k`` for k = 1..K (``QuadratureRule.lattice_step``)."""
    from ..ecf.rules import QuadratureRule

    if len(nodes) == 0 or not nodes[0] > 0 or not math.isfinite(nodes[0]):
        return None
    nodes = np.array(nodes, dtype=np.float64)  # a copy: the rule freezes its arrays
    probe = QuadratureRule("custom", nodes, np.zeros_like(nodes), "custom", None, float(nodes[0]))
    return probe.lattice_step
