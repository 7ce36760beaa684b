"""Streaming accumulators: normality tests of data that arrive in batches or live on many machines.

Every Epps–Pulley-type statistic is a function of additive sums, so a test can
be split over batches, processes or cluster partitions and merged exactly. The
protocol, shared by every engine (:mod:`normtest.dask`, :mod:`normtest.spark`):

- ``acc = EppsPulley(...)`` / ``SlicedEppsPulley(...)`` with the keywords of
  the in-memory function;
- ``acc.update(batch)`` adds rows; ``acc.merge(other)`` adds another state of
  the same test and pass (merge in a fixed order for bit-identical results);
- ``acc.passes`` is 1 or 2. With 2, pass 1 collects moments (counts, means,
  (co)variances merged stably, ranges or row norms for the ``"auto"`` rule);
  after it ``acc.next_pass()`` fixes the standardisation and the rule, and the
  batches are fed again for the ECF sums (unless ``acc.needs_data`` is False:
  nothing is left to do). The sliced default (``standardize=False``,
  ``"auto"``) sums in pass 1 under a rule sized from the data's first rows:
  an engine hands them to ``acc.fix_rule(head)`` before spawning copies
  (``acc.pilot_rows`` says how many; 0 when none are needed);
- ``acc.spawn()`` is an empty copy at the same pass (one per worker);
  ``acc.to_bytes()`` / ``acc.from_bytes(data)`` (or ``to_dict`` /
  ``from_dict``) carry a compact state of NumPy arrays;
- ``acc.result()`` returns the result object of the in-memory call.

:func:`accumulate` runs all passes over a re-iterable source of batches.
"""

from ._base import accumulate
from .sliced import SlicedEppsPulley
from .univariate import EppsPulley

__all__ = ["EppsPulley", "SlicedEppsPulley", "accumulate"]
