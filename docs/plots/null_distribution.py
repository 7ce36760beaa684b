import matplotlib.pyplot as plt
import numpy as np

import normtest

rng = np.random.default_rng(4)
x = rng.standard_t(5, size=60)
fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
normtest.cramervonmises(x / np.sqrt(5 / 3), standardize=False).plot(ax=a)   # analytic law, H0: N(0, 1)
normtest.anderson(x, method=normtest.MonteCarlo(n_resamples=4999, rng=0)).plot(ax=b)  # simulated law
fig.tight_layout()
