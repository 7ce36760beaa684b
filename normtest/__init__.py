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
from .edf.ecdf import ecdf, ECDFResult
from .edf.statistics import EDFResult, anderson, cramervonmises
from .ecf.univariate import EppsPulleyResult, epps_pulley
from .ecf.sliced import SlicedResult, sliced_epps_pulley
from .multivariate.bhep import bhep, henze_zirkler
from .multivariate.mardia import MardiaResult, mardia
from .classic import dagostino, jarque_bera, lilliefors, shapiro

import sys as _sys


def __getattr__(name):
    # `check` lives in normtest.frame, which imports pandas: load it on first use only.
    if name == "check":
        from .frame import check

        globals()["check"] = check
        return check
    raise AttributeError(f"module 'normtest' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"check"})


if "pandas" in _sys.modules:  # pandas already loaded: register the df.normtest accessor now (cheap)
    from . import frame as _frame  # noqa: F401

__all__ = [
    "__version__",
    "TestResult",
    "ECDFResult",
    "EDFResult",
    "EppsPulleyResult",
    "SlicedResult",
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
    "mardia",
    "MardiaResult",
    "shapiro",
    "dagostino",
    "jarque_bera",
    "lilliefors",
    "check",
]
