import matplotlib.pyplot as plt
import numpy as np

from normtest.plotting import plot_qq

rng = np.random.default_rng(1)
samples = [("normal", rng.normal(size=100)),
           ("Student t, 3 df", rng.standard_t(3, size=100)),
           ("chi-square, 3 df", rng.chisquare(3, size=100))]
fig, axes = plt.subplots(1, 3, figsize=(10, 3.3))
for ax, (name, x) in zip(axes, samples):
    plot_qq(x, ax=ax).set_title(name)
fig.tight_layout()
