"""EDF tests: statistic + analytic p-value across n, Monte-Carlo nulls, and the peers.

Layout after SciPy's ``benchmarks/benchmarks/stats.py``: parametrised classes, data built
in ``setup`` (seeded), a JIT warm-up call in ``setup`` so ``time_*`` never measures
compilation; compile time itself is a ``track_*`` benchmark.
"""


import numpy as np

try:
    import normtest
except ImportError:  # asv imports the module during discovery in other environments
    normtest = None


class EDFStatistic:
    params = [[100, 1_000, 10_000, 100_000, 1_000_000], ["anderson", "cramervonmises"], [True, False]]
    param_names = ["n", "test", "standardize"]

    def setup(self, n, test, standardize):
        self.x = np.random.default_rng(n).normal(size=n)
        self.func = getattr(normtest, test)
        self.func(self.x[:20], standardize=standardize)

    def time_test(self, n, test, standardize):
        self.func(self.x, standardize=standardize)


class EDFPeers:
    """The peers on the same data, so asv shows both in one history."""

    params = [[100, 10_000, 1_000_000], ["scipy_cvm", "scipy_anderson", "statsmodels_normal_ad"]]
    param_names = ["n", "peer"]

    def setup(self, n, peer):
        from scipy import stats
        from statsmodels.stats.diagnostic import normal_ad

        self.x = np.random.default_rng(n).normal(size=n)
        self.call = {
            "scipy_cvm": lambda: stats.cramervonmises(self.x, "norm"),
            "scipy_anderson": lambda: stats.anderson(self.x, "norm", method="interpolate"),
            "statsmodels_normal_ad": lambda: normal_ad(self.x),
        }[peer]

    def time_peer(self, n, peer):
        self.call()


class EDFVectorised:
    params = [[10, 100], ["anderson", "cramervonmises"]]
    param_names = ["n", "test"]

    def setup(self, n, test):
        self.x = np.random.default_rng(0).normal(size=(10_000, n))
        self.func = getattr(normtest, test)
        self.func(self.x[:2], axis=1)

    def time_rows(self, n, test):
        self.func(self.x, axis=1)


class EDFMonteCarlo:
    params = [[100, 1000], ["anderson", "cramervonmises"], [True, False]]
    param_names = ["n", "test", "standardize"]
    timeout = 300

    def setup(self, n, test, standardize):
        self.x = np.random.default_rng(1).normal(size=n)
        self.func = getattr(normtest, test)
        self.func(self.x[:10], standardize=standardize, method=normtest.MonteCarlo(n_resamples=10, rng=0))
        self.seed = 1000

    def time_cold(self, n, test, standardize):
        # a fresh seed: the null is simulated (9999 resamples)
        self.seed += 1
        self.func(self.x, standardize=standardize, method=normtest.MonteCarlo(rng=self.seed))

    def time_warm(self, n, test, standardize):
        # the same seed: the cached null is reused
        self.func(self.x, standardize=standardize, method=normtest.MonteCarlo(rng=7))

    def peakmem_cold(self, n, test, standardize):
        normtest.clear_null_cache()
        self.func(self.x, standardize=standardize, method=normtest.MonteCarlo(rng=11))


class EDFCompile:
    """Seconds to compile the Monte-Carlo kernel in a fresh process (numba cache off)."""

    timeout = 300

    def track_compile_seconds(self):
        import subprocess
        import sys

        code = ("import time, numpy as np; from normtest.edf._kernels import simulate_edf; "
                "e = np.ones((2, 5)); t = time.perf_counter(); simulate_edf(e, 'anderson', True); "
                "print(time.perf_counter() - t)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**__import__("os").environ, "NORMTEST_NUMBA_CACHE": "0"})
        return float(out.stdout.strip())

    track_compile_seconds.unit = "seconds"


class GoodnessOfFitPeer:
    """scipy.stats.goodness_of_fit at n = 1000, 9999 resamples (the Monte-Carlo peer)."""

    params = [[True, False]]
    param_names = ["standardize"]
    timeout = 300

    def setup(self, standardize):
        self.x = np.random.default_rng(1).normal(size=1000)

    def time_goodness_of_fit(self, standardize):
        from scipy import stats

        kw = {} if standardize else {"known_params": {"loc": 0, "scale": 1}}
        stats.goodness_of_fit(stats.norm, self.x, statistic="ad", n_mc_samples=9999, rng=3, **kw)
