import numpy as np

from normtest.plotting import plot_ecf

x = np.random.default_rng(2).standard_t(3, size=300)
ax = plot_ecf(x, quadrature="paper")
ax.set_title("t(3) sample, nodes of the LeJEPA paper's rule")
