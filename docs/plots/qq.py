import matplotlib.pyplot as plt
import numpy as np

from normtest.plotting import plot_qq

rng = np.random.default_rng(1)
samples = [("normal", rng.normal(size=100), "s"),
           ("Student t, 3 df", rng.standard_t(3, size=100), "s"),
           ("chi-square, 3 df (raw, line 'q')", rng.chisquare(3, size=100), "q")]
fig, axes = plt.subplots(1, 3, figsize=(10, 3.3))
for ax, (name, x, line) in zip(axes, samples):
    plot_qq(x, standardize=line == "s", line=line, ax=ax).set_title(name, fontsize=10)
fig.tight_layout()
