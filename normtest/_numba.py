"""Numba settings shared by every kernel module: one fastmath set, one cache switch.

``FASTMATH`` enables every LLVM fast-math flag except ``nnan``/``ninf`` (NaN and
infinity must survive the kernels so that ``nan_policy`` can see them).
``FASTMATH_STRICT`` also drops re-association and approximate functions, for code
whose result depends on the evaluation order (Cody–Waite argument reduction).

``CACHE`` turns numba's on-disk cache on (the default, as stumpy, pynndescent and
UMAP do): the first process compiles the kernels and writes them next to their
source (``__pycache__``), every later process loads them in a fraction of a second.
``NORMTEST_NUMBA_CACHE=0`` turns it off. numba looks for a writable place in the
order ``NUMBA_CACHE_DIR``, the package's ``__pycache__``, the user cache directory
(``~/.cache/numba``); for a read-only installation set ``NUMBA_CACHE_DIR`` to a
writable directory. Where numba finds none, ``CACHE`` is False (compiling in
every process) instead of failing at import.

What a build means here. numba keys a cached kernel on the content of its own
source file, its bytecode and the CPU. The kernel modules import nothing from
normtest but this module, so after editing the flag sets below delete the
caches (``*.nbi``/``*.nbc`` under ``normtest/**/__pycache__`` or
``NUMBA_CACHE_DIR``) or run with ``NORMTEST_NUMBA_CACHE=0``. Results are
bit-identical across thread counts and runs within one build; a build loaded
from the cache may differ from a freshly compiled one in the last bits
(measured: 1 ulp in a few kernels), because numba re-optimises inlined callees
and fast-math allows re-association. ``tests/test_kernels.py`` checks both.

Known gap: a kernel that takes another jitted function as an argument (the
multivariate pair sums ``pair_rowsums``/``statistic_batch``) is compiled in every
process, because numba's cache key holds the address of that function's type.
"""

from __future__ import annotations

import os

__all__ = ["FASTMATH", "FASTMATH_STRICT", "CACHE", "cache_available"]

FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
# The same set less re-association and approximate functions: for code whose result
# depends on evaluation order (Cody-Waite argument reduction in the polynomial sin/cos),
# which "reassoc" would be allowed to fold into a single, inaccurate product.
FASTMATH_STRICT = {"nsz", "arcp", "contract"}

_KERNEL_FILES = ("ecf/_kernels.py", "ecf/_sincos.py", "ecf/_passes.py", "edf/_kernels.py",
                 "multivariate/_kernels.py")


def cache_available() -> bool:
    """True when numba can write a cache for every kernel module (same search as numba's own).

    numba raises at decoration time when no cache location is writable; this
    asks its locators first, for a stand-in function in each kernel file.
    """
    try:
        from numba.core.caching import FunctionCache
    except ImportError:  # pragma: no cover - numba is a dependency
        return False
    here = os.path.dirname(os.path.abspath(__file__))

    def probe():  # pragma: no cover - never called, only located
        pass

    for rel in _KERNEL_FILES:
        path = os.path.join(here, *rel.split("/"))
        if not os.path.exists(path):
            continue
        try:
            FunctionCache(type(probe)(probe.__code__.replace(co_filename=path), {}))
        except Exception:  # RuntimeError "no locator available", or an OSError
            return False
    return True


CACHE = os.environ.get("NORMTEST_NUMBA_CACHE", "1") != "0" and cache_available()
