"""asv benchmarks: the sliced Epps–Pulley statistic, its null laws, BHEP/Henze–Zirkler.

Data are built (seeded) in ``setup`` with a JIT warm-up call so ``time_*`` never
measures compilation; ``track_*`` measures compile time, ``peakmem_*`` memory.
The projection GEMM is BLAS: compare runs with the same OpenBLAS settings.
"""

import numpy as np


def _directions(D, M, seed=1):
    A = np.random.default_rng(seed).standard_normal((D, M))
    return A / np.linalg.norm(A, axis=0)


class SlicedStatistic:
    """Streamed projection + ECF sums (the SIGReg value), no p-value."""

    params = ([10**4, 10**5], [64, 512], [64, 256], ["lejepa", "auto"])
    param_names = ["n", "d", "n_slices", "quadrature"]

    def setup(self, n, d, n_slices, quadrature):
        from normtest.ecf.rules import get_rule
        from normtest.ecf._stream import _max_row_norm, _projected_sums

        self.X = np.random.default_rng(0).standard_normal((n, d), dtype=np.float32)
        self.A = _directions(d, n_slices)
        spread = _max_row_norm(self.X) if quadrature == "auto" else None
        self.rule = get_rule(quadrature, 1.0, spread=spread)
        self.sums = _projected_sums
        self.sums(self.X[:100], self.A, self.rule)  # JIT warm-up

    def time_statistic(self, n, d, n_slices, quadrature):
        C, S = self.sums(self.X, self.A, self.rule)
        self.rule.statistic(C, S, np.full(C.shape[0], float(self.X.shape[0])))

    def time_gemm_floor(self, n, d, n_slices, quadrature):
        self.X @ self.A.astype(np.float32)

    def peakmem_statistic(self, n, d, n_slices, quadrature):
        self.sums(self.X, self.A, self.rule)


class SlicedNull:
    """Asymptotic null of the slice mean for fresh directions (compressed Mehler law)."""

    params = ([8, 64, 256], ["lejepa", "auto"])
    param_names = ["n_slices", "quadrature"]

    def setup(self, n_slices, quadrature):
        import normtest
        from normtest.ecf._sliced_dispatch import _LIMIT_CACHE

        self.f = normtest.sliced_epps_pulley
        self.cache = _LIMIT_CACHE
        self.X = np.random.default_rng(0).standard_normal((1000, 32))
        self.A = _directions(32, n_slices)
        self.f(self.X[:50, :2], n_slices=2, rng=0)  # warm-up

    def time_pvalue(self, n_slices, quadrature):
        self.cache.clear()
        self.f(self.X, directions=self.A, quadrature=quadrature)


class SlicedMonteCarlo:
    params = ([100, 1000], [4, 64])
    param_names = ["n", "n_slices"]

    def setup(self, n, n_slices):
        import normtest

        self.normtest = normtest
        self.X = np.random.default_rng(0).standard_normal((n, 16))
        self.A = _directions(16, n_slices)
        normtest.sliced_epps_pulley(self.X[:20], directions=self.A, quadrature="lejepa",
                                    method=normtest.MonteCarlo(9, rng=0))

    def time_monte_carlo_999(self, n, n_slices):
        self.normtest.clear_null_cache()
        self.normtest.sliced_epps_pulley(self.X, directions=self.A, quadrature="lejepa",
                                         method=self.normtest.MonteCarlo(999, rng=0))


class AllDirections:
    params = [100, 1000]
    param_names = ["n"]

    def setup(self, n):
        import normtest

        self.f = normtest.sliced_epps_pulley
        self.X = np.random.default_rng(0).standard_normal((n, 8))
        self.f(self.X[:10], directions="all")

    def time_all_directions(self, n):
        self.f(self.X, directions="all")


class HenzeZirkler:
    params = [100, 2000, 20000]
    param_names = ["n"]

    def setup(self, n):
        import normtest

        self.f = normtest.henze_zirkler
        self.X = np.random.default_rng(0).standard_normal((n, 5))
        self.f(self.X[:20])

    def time_henze_zirkler(self, n):
        self.f(self.X)

    def peakmem_henze_zirkler(self, n):
        self.f(self.X)


def track_compile_bhep():
    """Seconds to compile the BHEP row-sum kernel (fresh dispatcher)."""
    import time

    from normtest.multivariate import _kernels as _mv_kernels

    kernel = _mv_kernels.pair_rowsums.py_func
    from numba import njit

    fresh = njit(parallel=True)(kernel)
    t = time.perf_counter()
    try:
        fresh(np.zeros((4, 2)), 1.0, _mv_kernels.gauss_kernel, 1.0)
    except Exception:  # helpers are jitted dispatchers; compile failure would show in tests
        return float("nan")
    return time.perf_counter() - t


track_compile_bhep.unit = "seconds"
