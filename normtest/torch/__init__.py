"""Differentiable Epps–Pulley statistics for PyTorch: functions and the SIGReg loss.

Imported only on demand (``import normtest.torch``); ``import normtest`` never imports torch.
``functional`` holds the functions, ``loss`` the SIGReg module, ``_autograd`` the custom
autograd functions and their chunk kernels.
"""

from .functional import draw_directions, ecf_sums, epps_pulley, sliced_epps_pulley, statistic_from_sums
from .loss import SIGReg

__all__ = ["epps_pulley", "sliced_epps_pulley", "SIGReg", "ecf_sums", "statistic_from_sums",
           "draw_directions"]
