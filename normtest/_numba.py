"""Numba settings shared by every kernel module: one fastmath set, one cache switch.

``FASTMATH`` enables every LLVM fast-math flag except ``nnan``/``ninf`` (NaN and
infinity must survive the kernels so that ``nan_policy`` can see them).
``FASTMATH_STRICT`` also drops re-association and approximate functions, for code
whose result depends on the evaluation order (Cody–Waite argument reduction).
``CACHE`` turns numba's on-disk cache on when ``NORMTEST_NUMBA_CACHE=1``.
"""

from __future__ import annotations

import os

__all__ = ["FASTMATH", "FASTMATH_STRICT", "CACHE"]

FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
# The same set less re-association and approximate functions: for code whose result
# depends on evaluation order (Cody-Waite argument reduction in the polynomial sin/cos),
# which "reassoc" would be allowed to fold into a single, inaccurate product.
FASTMATH_STRICT = {"nsz", "arcp", "contract"}
CACHE = os.environ.get("NORMTEST_NUMBA_CACHE", "0") == "1"
