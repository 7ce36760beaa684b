import matplotlib.pyplot as plt
import numpy as np

from normtest.plotting import plot_ecdf

rng = np.random.default_rng(0)
fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
plot_ecdf(rng.normal(size=80), ax=a).set_title("normal sample")
plot_ecdf(rng.exponential(size=80), ax=b).set_title("exponential sample")
fig.tight_layout()
