"""Rows -> ECF sums for torch: the custom autograd function and its chunk kernels (private).

The first of the two layers of docs/theory.md §7: from observations ``x`` (B, N, D) and
directions ``A`` to the additive sums ``C_mk = sum_j cos(t_k p_jm)``, ``S_mk = sum_j
sin(t_k p_jm)`` with ``p = (x @ A) * scale - shift``. The second layer (sums -> statistic,
all-reduces) is ordinary autograd in :mod:`normtest.torch.functional`.

Work plan: chosen from the problem's size, never from the thread count
----------------------------------------------------------------------
Let ``z = exp(i h p)``. For lattice nodes ``t_k = k h`` (every preset; the rule's
``lattice_step``) ``exp(i t_k p) = z**k``: the forward builds the powers by repeated
multiplication, summing each over the rows, and keeps only the M x K sums; the backward
recomputes ``z`` from the saved inputs and evaluates ``sum_k u_k z**k``,
``u_k = t_k (G^S_k + i G^C_k)``, by Horner's rule. Other nodes take cos/sin of ``t_k p``.
Nothing of size N x M x K (nor N x M) is stored.

Rows go in two levels: *blocks* projected by one GEMM (and, in the backward, one GEMM for
``dL/dx``), split into *chunks* for the elementwise work. On CPU the chunk size is the point:

* a small problem (``N B M K <= _SERIAL_WORK``) uses chunks below torch's parallel grain
  size (``_SERIAL_CHUNK`` complex values): every elementwise operation runs on the calling
  thread, so the loss never waits for an intra-op thread hand-off. Such hand-offs cost
  microseconds on an idle machine but up to a scheduler time slice when another process
  holds the cores, which is what made small problems slow (hundreds per step);
* a large problem uses chunks of ``_PARALLEL_CHUNK`` values, large enough that the threads
  pay off, still cache-sized.

On CUDA blocks and chunks are large (``_CHUNK_ELEMENTS_CUDA``), amortising kernel launches.

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

_MAX_CHUNK_ROWS = 2**16       # rows summed in float32 before the float64 accumulation
_SERIAL_WORK = 2**25          # N B M K up to this: serial chunks on CPU (tens of ms of work)
_SERIAL_CHUNK = 2**13         # complex values a chunk: 2**14 floats, below ATen's grain (32768)
_VML_GRAIN = 2048             # ATen's (smaller) grain for cos, sin, exp, log, ...
_PARALLEL_CHUNK = 2**17       # complex values a chunk for large problems (1 MiB, cache-sized)
_BLOCK_ELEMENTS = 2**20       # projections per GEMM block on CPU
_CHUNK_ELEMENTS_CUDA = 2**24  # projections per block and chunk on accelerators


def compute_dtype(dtype):
    return torch.float64 if dtype == torch.float64 else torch.float32


def acc_dtype(device):
    return torch.float32 if device.type == "mps" else torch.float64


def _complex_dtype(dtype):
    return torch.complex128 if dtype == torch.float64 else torch.complex64


def plan_rows(n_rows: int, B: int, M: int, K: int, lattice: bool, device) -> tuple[int, int]:
    """``(block rows, chunk rows)``: GEMM blocks, split into elementwise chunks."""
    per_row = B * M * (1 if lattice else K)  # values a row puts in a chunk's largest buffer
    if device.type != "cpu":
        rows = max(1, min(n_rows, _MAX_CHUNK_ROWS, _CHUNK_ELEMENTS_CUDA // per_row))
        return rows, rows
    serial = n_rows * B * M * K <= _SERIAL_WORK
    chunk = max(1, min(n_rows, _MAX_CHUNK_ROWS, (_SERIAL_CHUNK if serial else _PARALLEL_CHUNK) // per_row))
    return max(chunk, min(n_rows, _BLOCK_ELEMENTS // (B * M))), chunk


def _project(xc, A, scale, shift, cd):
    """Projections of a row chunk (B, c, M) in the compute dtype, and the pre-affine values."""
    xc = xc.to(cd)
    if A is None:
        q = xc
    elif A.dim() == 2 and xc.shape[0] == 1:  # one plain GEMM, not a batched one
        q = torch.matmul(xc[0], A).unsqueeze(0)
    else:
        q = torch.matmul(xc, A)
    p = q
    if scale is not None:
        p = p * scale
    if shift is not None:
        p = p - shift
    return p, q


def _cos_sin(theta, out_c, out_s, serial):
    """cos/sin of theta into the given (same-shape) outputs.

    ATen splits these transcendental functions over threads from ``_VML_GRAIN`` values on (a
    far smaller grain than for arithmetic): with ``serial`` they go in slices of that size.
    """
    if not serial or theta.numel() <= _VML_GRAIN:
        torch.cos(theta, out=out_c)
        torch.sin(theta, out=out_s)
        return
    th, oc, os_ = theta.reshape(-1), out_c.view(-1), out_s.view(-1)
    for i in range(0, th.numel(), _VML_GRAIN):
        torch.cos(th[i:i + _VML_GRAIN], out=oc[i:i + _VML_GRAIN])
        torch.sin(th[i:i + _VML_GRAIN], out=os_[i:i + _VML_GRAIN])


def _unit_complex(theta, serial):
    """exp(i theta) written straight into a complex buffer (torch.polar is several times slower)."""
    out = torch.empty(theta.shape, dtype=_complex_dtype(theta.dtype), device=theta.device)
    parts = torch.view_as_real(out)
    _cos_sin(theta, parts[..., 0], parts[..., 1], serial)
    return out


def _direct_cos_sin(p, t, serial):
    arg = p.unsqueeze(-1) * t  # (B, c, M, K)
    c, s = torch.empty_like(arg), torch.empty_like(arg)
    _cos_sin(arg, c, s, serial)
    return c, s


def _chunk_sums(z, t, serial):
    """(C, S) of one chunk, each (B, M, K): z = exp(i h p) (lattice) or, for other nodes, p."""
    if not z.is_complex():
        c, s = _direct_cos_sin(z, t, serial)
        return c.sum(dim=1), s.sum(dim=1)
    K = t.shape[0]
    B, _, M = z.shape
    w = z.clone()
    wr = torch.view_as_real(w)  # summing the real view is much faster than a complex sum
    out = torch.empty((K, B, M, 2), dtype=wr.dtype, device=z.device)
    torch.sum(wr, dim=1, out=out[0])
    for k in range(1, K):  # the powers z**k in two cache-resident buffers
        w.mul_(z)
        torch.sum(wr, dim=1, out=out[k])
    s = out.permute(1, 2, 0, 3)
    return s[..., 0], s[..., 1]


def _chunk_grad(z, t, u, serial):
    """dL/dp (B, c, M) of one chunk (z as in `_chunk_sums`); u (K, B, 1, M) = t_k (G^S + i G^C)."""
    if not z.is_complex():
        c, s = _direct_cos_sin(z, t, serial)
        ur, ui = u.real.permute(1, 2, 3, 0), u.imag.permute(1, 2, 3, 0)  # (B, 1, M, K)
        return (c * ur).sum(-1) - (s * ui).sum(-1)
    acc = u[-1].expand_as(z).clone()  # Horner: sum_k u_k z**k = z (u_1 + z (u_2 + ...))
    for k in range(u.shape[0] - 2, -1, -1):
        acc.mul_(z).add_(u[k])
    acc.mul_(z)
    return acc.real


class EcfSums(torch.autograd.Function):
    """Rows -> (C, S) with a streaming, recomputing backward (blocks and chunks per ``plan_rows``).

    Inputs: x (B, N, D); A (D, M) or (B, D, M) or None (then M = D, p = x); scale and shift
    broadcastable to (B, 1, M) or None; t the nodes (K,) in the compute dtype; step the
    lattice step h (nodes exactly k h, k = 1..K) or None. Outputs C, S: (B, M, K) in the
    accumulation dtype.
    """

    @staticmethod
    def forward(ctx, x, A, scale, shift, t, step):
        B, N, _ = x.shape
        cd = t.dtype
        M = x.shape[2] if A is None else A.shape[-1]
        K = t.shape[0]
        acc = acc_dtype(x.device)
        block, chunk = plan_rows(N, B, M, K, step is not None, x.device)
        serial = x.device.type == "cpu" and N * B * M * K <= _SERIAL_WORK
        C = torch.zeros((B, M, K), dtype=acc, device=x.device)
        S = torch.zeros_like(C)
        with torch.autocast(device_type=x.device.type, enabled=False), torch.no_grad():
            # lattice: project straight onto theta = h p (the step folded into A and shift)
            fold = step is not None and A is not None
            Af = A * step if fold else A
            shift_f = shift * step if fold and shift is not None else shift
            for lo in range(0, N, block):
                theta, _ = _project(x[:, lo:lo + block], Af, scale, shift_f, cd)
                if step is not None:
                    z = _unit_complex(theta if fold else theta * step, serial)
                else:
                    z = theta
                for a in range(0, z.shape[1], chunk):
                    c, s = _chunk_sums(z[:, a:a + chunk], t, serial)
                    C += c
                    S += s
        # a small problem keeps z (N x M values, one block): its backward needs no GEMM to redo it
        ctx.kept = z if serial and block >= N and N > 0 else None
        ctx.save_for_backward(x, A, scale, shift, t)
        ctx.step, ctx.block, ctx.chunk, ctx.serial = step, block, chunk, serial
        return C, S

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gC, gS):
        x, A, scale, shift, t = ctx.saved_tensors
        step, block, chunk, serial = ctx.step, ctx.block, ctx.chunk, ctx.serial
        cd = t.dtype
        need_x, need_A, need_scale, need_shift = ctx.needs_input_grad[:4]
        B, N, _ = x.shape
        u = torch.complex(gS.to(cd) * t, gC.to(cd) * t).permute(2, 0, 1).unsqueeze(2)  # (K, B, 1, M)
        gx = torch.empty_like(x) if need_x and block < N else None
        gA = gscale = gshift = None
        with torch.autocast(device_type=x.device.type, enabled=False):
            for lo in range(0, N, block):
                xc = x[:, lo:lo + block]
                if ctx.kept is not None and not need_scale:
                    p = q = None
                    z = ctx.kept
                else:
                    p, q = _project(xc, A, scale, shift, cd)
                    z = p if step is None else _unit_complex(p * step, serial)
                G = torch.empty(z.shape, dtype=cd, device=z.device)  # dL/dp (B, rows, M)
                for a in range(0, z.shape[1], chunk):
                    G[:, a:a + chunk] = _chunk_grad(z[:, a:a + chunk], t, u, serial)
                if need_shift:
                    g = -G.sum(dim=1, keepdim=True)
                    gshift = g if gshift is None else gshift + g
                if need_scale:
                    g = (G * q).sum(dim=1, keepdim=True)
                    gscale = g if gscale is None else gscale + g
                if scale is not None:
                    G = G * scale
                if need_x:
                    gxc = (G if A is None else torch.matmul(G, A.transpose(-1, -2))).to(x.dtype)
                    if gx is None:
                        gx = gxc
                    else:
                        gx[:, lo:lo + block] = gxc
                if need_A:
                    g = torch.matmul(xc.to(cd).transpose(-1, -2), G)  # (B, D, M)
                    g = g.sum(0) if A.dim() == 2 else g
                    gA = g if gA is None else gA + g
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
        # NaN/inf data give a non-finite S: its root is NaN (NaN input propagates), not eigh's error
        bad = ~torch.isfinite(S).all(dim=-1).all(dim=-1)
        if bool(bad.any()):
            eye = torch.eye(S.shape[-1], dtype=S.dtype, device=S.device)
            S = torch.where(bad[..., None, None], eye, S)
        lam, V = torch.linalg.eigh(S)
        top = lam.amax(dim=-1, keepdim=True)
        if bool(((lam <= 1e3 * torch.finfo(S.dtype).eps * top) | (top <= 0)).any()):
            raise ValueError("`x` has a singular or near-singular covariance matrix: cannot standardize "
                             "(use standardize=False or remove collinear features).")
        r = torch.where(bad[..., None], torch.nan, lam.rsqrt())
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
