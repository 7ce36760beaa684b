"""Coverage of the 95% effect-size interval of epps_pulley (docs/epps_pulley.md table).

Run: python benchmarks/effect_coverage.py [reps=400]  (about 45 s of CPU)
"""
import numpy as np, normtest, time, sys
from normtest.ecf.effect import population_distance
S3 = np.sqrt(3.0)
cases = {
 ("laplace", True): (lambda g, n: g.laplace(size=n), lambda t: 1/(1+t*t/2)),
 ("uniform", True): (lambda g, n: g.uniform(size=n), lambda t: np.sinc(S3*t/np.pi)),
 ("expon", True): (lambda g, n: g.exponential(size=n), lambda t: np.exp(-1j*t)/(1-1j*t)),
 ("normal", True): (lambda g, n: g.normal(size=n), lambda t: np.exp(-t*t/2)),
 ("shift0.3", False): (lambda g, n: g.normal(0.3, 1, size=n), lambda t: np.exp(0.3j*t - t*t/2)),
 ("laplace", False): (lambda g, n: g.laplace(scale=1/np.sqrt(2), size=n), lambda t: 1/(1+t*t/2)),
}
reps = int(sys.argv[1]) if len(sys.argv) > 1 else 400
for (name, st), (draw, cf) in cases.items():
    truth = population_distance(cf)
    for n in (50, 200, 1000):
        g = np.random.default_rng(hash((name, st, n)) % 2**32)
        X = np.stack([draw(g, n) for _ in range(reps)], axis=1)
        r = normtest.epps_pulley(X, standardize=st)
        lo, hi = r.effect_ci
        cov = np.mean((lo <= truth) & (truth <= hi))
        print(f"{name:9s} std={st!s:5s} n={n:5d} Delta={truth:.3e} mean_est={np.mean(r.effect):.3e} coverage={cov:.3f} mean_width={np.mean(hi-lo):.2e}", flush=True)
