"""asv benchmarks: ECF kernels and the Epps–Pulley test."""

import numpy as np


class ECFSums:
    params = ([10**4, 10**6], [1, 64], [True, False])
    param_names = ["n", "m", "equispaced"]

    def setup(self, n, m, equispaced):
        from normtest.ecf._kernels import ecf_sums

        self.ecf_sums = ecf_sums
        rng = np.random.default_rng(0)
        self.P = rng.standard_normal((n if m == 1 else n // 100, m))
        self.step = 0.3
        self.nodes = self.step * np.arange(1, 33)
        ecf_sums(self.P[:10], self.nodes, step=self.step if equispaced else None)  # JIT warm-up

    def time_ecf_sums(self, n, m, equispaced):
        self.ecf_sums(self.P, self.nodes, step=self.step if equispaced else None)


class EppsPulley:
    params = ([100, 10**4, 10**6], ["auto", "exact", "lejepa"])
    param_names = ["n", "quadrature"]

    def setup(self, n, quadrature):
        import normtest

        if quadrature == "exact" and n > 10**5:
            raise NotImplementedError  # skipped: covered by auto at this n
        self.ep = normtest.epps_pulley
        self.x = np.random.default_rng(1).standard_t(5, size=n)
        self.ep(self.x[:50], quadrature=quadrature)

    def time_statistic_and_pvalue(self, n, quadrature):
        self.ep(self.x, quadrature=quadrature)


class EppsPulleyMonteCarlo:
    params = [30, 1000]
    param_names = ["n"]

    def setup(self, n):
        import normtest

        self.normtest = normtest
        self.x = np.random.default_rng(2).standard_normal(n)
        normtest.epps_pulley(self.x, method=normtest.MonteCarlo(99, rng=0))
        self.seed = 1

    def time_monte_carlo_9999(self, n):
        self.seed += 1  # fresh stream: the null is simulated, not taken from the cache
        self.normtest.epps_pulley(self.x, method=self.normtest.MonteCarlo(9999, rng=self.seed))

    def peakmem_monte_carlo_9999(self, n):
        self.normtest.epps_pulley(self.x, method=self.normtest.MonteCarlo(9999, rng=12345))


def track_compile_seconds():
    """Wall time of the first call (numba compilation of the ECF kernels) in a fresh process."""
    import subprocess
    import sys
    import time

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import numpy as np, normtest; normtest.epps_pulley(np.arange(20.0))"],
                   check=True)
    return time.perf_counter() - t0
