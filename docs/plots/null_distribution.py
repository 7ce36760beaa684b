import matplotlib.pyplot as plt
import numpy as np

import normtest

rng = np.random.default_rng(4)
x = rng.standard_t(5, size=60)
fig, (a, b, c) = plt.subplots(1, 3, figsize=(12, 3.6))
normtest.cramervonmises(x / np.sqrt(5 / 3), standardize=False).plot(ax=a)   # analytic law, H0: N(0, 1)
normtest.anderson(x).plot(ax=b)                                              # Stephens' formula
normtest.anderson(x, method=normtest.MonteCarlo(n_resamples=4999, rng=0)).plot(ax=c)  # simulated law
for ax in (a, b, c):
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7)
fig.tight_layout()
