"""normtest: tests of normality, from a one-line call to a training loss.

EDF tests (ECDF with bands, Cramér–von Mises, Anderson–Darling), ECF tests
(Epps–Pulley and the sliced multivariate Epps–Pulley test, the SIGReg
regulariser of LeJEPA) and the multivariate BHEP/Henze–Zirkler test, with
p-values for both the fully specified and the estimated-parameter normal null.

Optional backends live in submodules imported on demand:
``normtest.torch`` (differentiable, GPU, distributed), ``normtest.plotting``
(matplotlib) and ``normtest.dask`` (out-of-core sums).
"""

from ._version import __version__
from ._result import TestResult
from ._validate import DegenerateDataWarning, SmallSampleWarning
from .null import MonteCarlo, clear_null_cache
from .ecdf import ecdf, ECDFResult
from .edf import anderson, cramervonmises
from .epps_pulley import epps_pulley
from .sliced import bhep, henze_zirkler, sliced_epps_pulley
from .frame import check

__all__ = [
    "__version__",
    "TestResult",
    "ECDFResult",
    "MonteCarlo",
    "SmallSampleWarning",
    "DegenerateDataWarning",
    "clear_null_cache",
    "ecdf",
    "cramervonmises",
    "anderson",
    "epps_pulley",
    "sliced_epps_pulley",
    "bhep",
    "henze_zirkler",
    "check",
]
