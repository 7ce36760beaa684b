"""Slow, obviously correct references for the torch backend (docs/theory.md §3, §7).

Two kinds:
* NumPy float64 loops straight from the formulas (values);
* plain-autograd torch versions that materialise the N x M x K array, as the
  LeJEPA reference code does (gradients, and the memory/speed baseline).
"""

import numpy as np


def rule_arrays(rule):
    return np.array(rule.nodes, dtype=np.float64), np.array(rule.weights, dtype=np.float64)


def quad_stat_1d(y, nodes, weights):
    """Q = n * sum_k omega_k [(Cbar_k - phi_k)^2 + Sbar_k^2] for one sample y (float64 loop over nodes)."""
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    q = 0.0
    for t, w in zip(nodes, weights):
        cbar = np.mean(np.cos(t * y))
        sbar = np.mean(np.sin(t * y))
        q += w * ((cbar - np.exp(-0.5 * t * t)) ** 2 + sbar**2)
    return n * q


def standardize_1d(y):
    y = np.asarray(y, dtype=np.float64)
    return (y - y.mean()) / np.sqrt(np.mean((y - y.mean()) ** 2))


def whiten(X):
    """(X - mean) S^(-1/2), S the divisor-n covariance, symmetric root by eigendecomposition."""
    X = np.asarray(X, dtype=np.float64)
    Xc = X - X.mean(axis=0)
    S = Xc.T @ Xc / X.shape[0]
    lam, V = np.linalg.eigh(S)
    return Xc @ (V / np.sqrt(lam)) @ V.T


def sliced_stats(X, A, nodes, weights, standardize=False):
    """Per-slice statistics of X (N, D) along the unit columns of A (D, M)."""
    X = np.asarray(X, dtype=np.float64)
    if standardize:
        X = whiten(X)
    A = np.asarray(A, dtype=np.float64)
    A = A / np.linalg.norm(A, axis=0)
    P = X @ A
    return np.array([quad_stat_1d(P[:, m], nodes, weights) for m in range(P.shape[1])])


def exact_simple_1d(y, beta=1.0):
    """Closed-form T_{n,beta} (docs/theory.md §2), d = 1, O(n^2)."""
    y = np.asarray(y, dtype=np.float64)
    n = y.size
    b2 = beta * beta
    d = y[:, None] - y[None, :]
    return (np.exp(-b2 * d * d / 2).sum() / n
            - 2 / np.sqrt(1 + b2) * np.exp(-b2 * y * y / (2 * (1 + b2))).sum()
            + n / np.sqrt(1 + 2 * b2))


def torch_materialised(x, A, nodes, weights):
    """LeJEPA-style plain autograd: builds the (..., N, M, K) array. Per-slice statistics (..., M)."""
    import torch

    t = torch.as_tensor(np.array(nodes), dtype=x.dtype, device=x.device)
    w = torch.as_tensor(np.array(weights), dtype=x.dtype, device=x.device)
    p = x @ A
    xt = p.unsqueeze(-1) * t
    cmean = torch.cos(xt).mean(dim=-3)
    smean = torch.sin(xt).mean(dim=-3)
    err = (cmean - torch.exp(-0.5 * t * t)) ** 2 + smean**2
    return (err @ w) * x.shape[-2]
