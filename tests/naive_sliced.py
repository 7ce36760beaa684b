"""Slow, obviously correct references for the multivariate statistics.

Each function follows a published description line by line, materialising
whatever it needs (N x M x K arrays, N x N matrices); only for small inputs.
"""

import numpy as np
from scipy import special


def sigreg_article(X, A, k=17):
    """SIGReg of the seed article / LeJEPA Algorithm 1, in numpy float64, given directions A (D, M).

    t = linspace(-5, 5, k); ecf = mean_j exp(-i t p_j); err = |ecf - exp(-t^2/2)|^2;
    per slice trapz(err * exp(-t^2/2), t) * N; mean over slices.
    """
    X = np.asarray(X, dtype=np.float64)
    N = X.shape[0]
    A = np.asarray(A, dtype=np.float64)
    A = A / np.linalg.norm(A, axis=0)
    proj = X @ A                                  # (N, M)
    t = np.linspace(-5.0, 5.0, k)
    phi = np.exp(-0.5 * t**2)
    xt = proj[:, :, None] * t                     # (N, M, k)
    ecf = np.exp(-1j * xt).mean(axis=0)           # (M, k)
    diff_sq = np.abs(ecf - phi) ** 2
    per_direction = np.trapezoid(diff_sq * phi, t, axis=1) * N
    return per_direction.mean(), per_direction


def lejepa_slicing_ep(X, A, n_points=17, t_max=3.0):
    """Official LeJEPA ``SlicingUnivariateTest(EppsPulley())`` convention, from docs/theory.md §3.

    Nodes t_k = k h, k = 0..n_points-1, h = t_max/(n_points-1); weights h at both ends and
    2h inside (trapezoid on [0, t_max] doubled by symmetry); integrand
    |ecf(t) - exp(-t^2/2)|^2 exp(-t^2/2); times N; mean over slices.
    """
    X = np.asarray(X, dtype=np.float64)
    N = X.shape[0]
    A = np.asarray(A, dtype=np.float64)
    A = A / np.linalg.norm(A, axis=0)
    proj = X @ A
    t = np.linspace(0.0, t_max, n_points)
    h = t[1] - t[0]
    w = np.full(n_points, 2 * h)
    w[0] = w[-1] = h
    phi = np.exp(-0.5 * t**2)
    per = []
    for m in range(proj.shape[1]):
        p = proj[:, m]
        re = np.cos(np.outer(p, t)).mean(axis=0)
        im = np.sin(np.outer(p, t)).mean(axis=0)
        per.append(N * np.sum(w * phi * ((re - phi) ** 2 + im**2)))
    per = np.array(per)
    return per.mean(), per


def exact_T(p, beta=1.0):
    """Closed-form T_{n,beta} of a 1-d sample p (docs/theory.md §2, d = 1), O(n^2)."""
    p = np.asarray(p, dtype=np.float64)
    n = p.size
    b2 = beta * beta
    diff = p[:, None] - p[None, :]
    return (np.exp(-0.5 * b2 * diff**2).sum() / n
            - 2.0 / np.sqrt(1 + b2) * np.exp(-b2 * p**2 / (2 * (1 + b2))).sum()
            + n / np.sqrt(1 + 2 * b2))


def bhep_naive(X, beta=1.0, standardize=True):
    """Multivariate BHEP T_{n,beta} with an explicit n x n matrix (divisor-n covariance)."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    if standardize:
        Z = X - X.mean(axis=0)
        S = Z.T @ Z / n
        L = np.linalg.cholesky(np.linalg.inv(S))   # any root: Y_j^T Y_k is root-free
        Y = Z @ L
    else:
        Y = X
    b2 = beta * beta
    D2 = ((Y[:, None, :] - Y[None, :, :]) ** 2).sum(axis=2)
    r2 = (Y**2).sum(axis=1)
    return (np.exp(-0.5 * b2 * D2).sum() / n
            - 2 * (1 + b2) ** (-d / 2) * np.exp(-b2 * r2 / (2 * (1 + b2))).sum()
            + n * (1 + 2 * b2) ** (-d / 2))


def allslice_naive(X, beta=1.0):
    """All-directions statistic of docs/theory.md §6.2 with scipy's hyp1f1 and an n x n matrix."""
    X = np.asarray(X, dtype=np.float64)
    n, d = X.shape
    b2 = beta * beta
    D2 = ((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2)
    r2 = (X**2).sum(axis=1)
    return (special.hyp1f1(0.5, d / 2, -b2 * D2 / 2).sum() / n
            - 2 / np.sqrt(1 + b2) * special.hyp1f1(0.5, d / 2, -b2 * r2 / (2 * (1 + b2))).sum()
            + n / np.sqrt(1 + 2 * b2))


def symmetric_standardize(X):
    """Sample mean and symmetric inverse square root of the divisor-n covariance."""
    X = np.asarray(X, dtype=np.float64)
    Z = X - X.mean(axis=0)
    S = Z.T @ Z / X.shape[0]
    vals, vecs = np.linalg.eigh(S)
    return Z @ (vecs @ np.diag(vals**-0.5) @ vecs.T)


def sliced_limit_spectrum(A, t, w, composite=False):
    """Eigenvalues of the limit law of the slice mean, from the dense (M K) covariance blocks.

    The covariances of the cosine and sine features of slices a, b (correlation rho)
    are written out with exponentials (docs/theory.md §6.4):
    Cov(cos sU, cos tU') = [e^{-(s^2+t^2-2 rho s t)/2} + e^{-(s^2+t^2+2 rho s t)/2}]/2 - e^{-(s^2+t^2)/2},
    Cov(sin sU, sin tU') = [e^{-(s^2+t^2-2 rho s t)/2} - e^{-(s^2+t^2+2 rho s t)/2}]/2;
    the composite null removes the Hermite degrees 1 and 2, i.e. subtracts
    e^{-(s^2+t^2)/2} rho s t (sine) and e^{-(s^2+t^2)/2} (rho s t)^2 / 2 (cosine).
    Weighted by omega / M and eigen-decomposed densely, one matrix per block.
    """
    A = np.asarray(A, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    M, K = A.shape[1], t.size
    rho = (A.T @ A)[:, :, None, None]
    s_, t_ = t[None, None, :, None], t[None, None, None, :]
    base = np.exp(-(s_**2 + t_**2) / 2)
    ep = np.exp(-(s_**2 + t_**2 - 2 * rho * s_ * t_) / 2)
    em = np.exp(-(s_**2 + t_**2 + 2 * rho * s_ * t_) / 2)
    cc = (ep + em) / 2 - base
    ss = (ep - em) / 2
    if composite:
        cc = cc - base * (rho * s_ * t_) ** 2 / 2
        ss = ss - base * rho * s_ * t_
    sw = np.sqrt(w / M)
    lam = []
    for C in (cc, ss):
        C = C * sw[None, None, :, None] * sw[None, None, None, :]
        lam.append(np.linalg.eigvalsh(C.transpose(0, 2, 1, 3).reshape(M * K, M * K)))
    lam = np.sort(np.concatenate(lam))[::-1]
    return lam[lam > 1e-14 * lam[0]]
