import matplotlib.pyplot as plt
import numpy as np

from normtest.plotting import plot_ecf

x = np.random.default_rng(2).standard_t(3, size=300)
fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
plot_ecf(x, ax=a).set_title("t(3) sample, the default rule \"auto\" (as epps_pulley)", fontsize=9)
plot_ecf(x, quadrature="paper", ax=b).set_title("the same, nodes of the LeJEPA paper's rule", fontsize=9)
fig.tight_layout()
