import matplotlib.pyplot as plt
import numpy as np

from normtest.plotting import plot_projections

rng = np.random.default_rng(3)
X = rng.standard_normal((2000, 16))
X[:, 0] = rng.choice([-1.5, 1.5], size=2000) + 0.5 * rng.standard_normal(2000)  # one bimodal coordinate
fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5), sharey=True)
plot_projections(X, 3, rng=0, bins=30, ax=a).set_title("random directions")
plot_projections(X, np.eye(16)[:, :1], bins=30, ax=b).set_title("the first coordinate")
fig.tight_layout()
