"""Streaming Epps–Pulley test, column by column: :class:`EppsPulley`."""

from __future__ import annotations

import warnings

import numpy as np

from .._validate import DegenerateDataWarning, SmallSampleWarning, check_nan_policy
from ..ecf.core import EcfSums
from ..null import MonteCarlo
from ..ecf.inference import check_args, epps_pulley_result, pvalue, quadrature_record
from ._base import Accumulator
from ._moments import column_moments, merge_moments, scaled_moments


class EppsPulley(Accumulator):
    """Epps–Pulley test of every column of data that arrive in batches.

    The keywords are those of :func:`normtest.epps_pulley` (the test runs along
    the rows, ``axis=0``); :meth:`result` gives the same
    :class:`~normtest.ecf.univariate.EppsPulleyResult`, equal to it to about
    1e-10 relative whatever the batching.

    Parameters
    ----------
    standardize, beta, quadrature, method
        As in :func:`normtest.epps_pulley`. ``"auto"`` and ``"exact"`` use an
        equispaced rule sized to the whole range of the data (exact to about
        1e-10; the in-memory function treats far outliers in closed form
        instead, which needs all pairs).
    nan_policy : {"propagate", "omit", "raise"}, default "propagate"
        NaN values are counted; ``"propagate"`` gives NaN for a column that
        has any, ``"omit"`` drops them, ``"raise"`` raises in :meth:`update`.

    Attributes
    ----------
    passes : int
        2 (moments, then the ECF sums of the standardised data), or 1 with
        ``standardize=False`` and a fixed rule (``"lejepa"``, ``"paper"``,
        custom).

    Notes
    -----
    Pass 1 merges per batch (count, mean, M2, min, max) of every column by the
    pairwise update of Chan, Golub & LeVeque; its result fixes the
    standardisation and the rule. Pass 2 adds the sums ``C_k, S_k, n``
    (:class:`~normtest.ecf.core.EcfSums`) of ``(x - mean) / sd``.
    The moments are those of :mod:`normtest._standardize` (power-of-two
    scale, centre kept as ``hi + lo``), so data times 1e-300 or 1e300, or
    shifted by 1e15 spreads, give the in-memory result to 1e-12. The effect
    size and its interval use the in-memory subsample (every
    ``ceil(n / 5000)``-th value of a column), placed by global position:
    copies for workers need :meth:`spawn` ``(offset=...)``, else the interval
    is NaN.

    Examples
    --------
    >>> import numpy as np
    >>> import normtest
    >>> from normtest.streaming import EppsPulley
    >>> x = np.random.default_rng(0).standard_normal(10_000)
    >>> batches = np.array_split(x, 7)
    >>> acc = EppsPulley()
    >>> for b in batches:          # pass 1: moments
    ...     acc.update(b)
    >>> acc.next_pass()
    >>> for b in batches:          # pass 2: the same batches again
    ...     acc.update(b)
    >>> res = acc.result()
    >>> ref = normtest.epps_pulley(x)
    >>> print(acc.passes, abs(res.statistic - ref.statistic) < 1e-9 * ref.statistic, res.method)
    2 True table

    Split the work: every worker fills a :meth:`spawn` copy and sends
    :meth:`to_bytes`; the driver merges the states in a fixed order.

    >>> parts = [acc.spawn() for _ in batches]
    >>> for part, b in zip(parts, batches):
    ...     part.update(b)
    >>> states = [p.to_bytes() for p in parts]
    >>> total = acc.spawn()
    >>> for s in states:
    ...     _ = total.merge(acc.from_bytes(s))
    >>> print(total.result().statistic == res.statistic)
    True
    """

    _name = "EppsPulley"

    def __init__(self, *, standardize=True, beta=1.0, quadrature="auto", method=None, nan_policy="propagate"):
        self.standardize, self.beta, self._kind, self._rule, self.method = check_args(
            standardize, beta, quadrature, method)
        self.quadrature = quadrature
        self.nan_policy = check_nan_policy(nan_policy)
        self._init_state()
        if self.passes == 1:
            self._plan = {"p": np.ones(1), "hi": np.zeros(1), "lo": np.zeros(1), "scale": np.ones(1),
                          "spread": np.array(0.0)}

    def _config(self):
        r = self._rule
        return ("EppsPulley", self.standardize, self.beta, self._kind, self.nan_policy,
                None if r is None else (r.nodes.tobytes(), r.weights.tobytes()))

    def _passes(self):
        return 1 if (not self.standardize and self._kind == "rule") else 2

    def _rule_of(self, plan):
        if self._kind == "rule":
            return self._rule
        from ..ecf.rules import auto_rule

        spread = float(plan["spread"])
        return auto_rule(spread if spread > 0 else 1.0, self.beta)

    def _plan_from(self, st):
        # pass 2 computes ((x / p - hi) - lo) / sd: normtest._standardize's steps, from merged moments
        cnt = st["cnt"]
        if self.standardize:
            p, hi, lo, sd, _, degenerate = scaled_moments(st)
            sd = np.where(degenerate | ~(sd > 0), 1.0, sd)
        else:
            p, hi, lo, sd = (np.ones_like(cnt), np.zeros_like(cnt), np.zeros_like(cnt), np.ones_like(cnt))
            degenerate = np.zeros(cnt.shape, dtype=bool)
        usable = (cnt > 0) & ~degenerate
        if self.nan_policy == "propagate":
            usable &= st["n_nan"] == 0
        with np.errstate(invalid="ignore"):
            reach = np.maximum(np.abs((st["max"] / p - hi) - lo), np.abs((st["min"] / p - hi) - lo)) / sd
        spread = float(np.max(reach[usable], initial=0.0))
        return {"p": p, "hi": hi, "lo": lo, "scale": sd, "spread": np.array(spread)}

    def _sample_step(self):
        # the strided subsample of ep_effect: every ceil(n / 5000)-th standardised value per column
        if self.passes != 2 or self._kind == "rule":
            return None
        from ..ecf.effect import _MAX_POINTS

        return np.maximum(1, -(-self._stats["cnt"].astype(np.int64) // _MAX_POINTS))

    def _update(self, x, mask):
        n_nan = mask.sum(axis=0).astype(np.float64)
        if self._pass == 0 and self.passes == 2:
            part = dict(column_moments(x, mask), n_nan=n_nan)
            self._stats = part if self._stats is None else merge_moments(self._stats, part)
            return
        from ..ecf._kernels import ecf_sums_rows

        rule = self._rule_of(self._plan)
        m, K = x.shape[1], rule.nodes.size
        C, S = np.zeros((m, K)), np.zeros((m, K))
        pl = self._plan

        def standard(v, j=slice(None)):   # ((x / p - hi) - lo) / sd, in float64
            return ((v / pl["p"][j] - pl["hi"][j]) - pl["lo"][j]) / pl["scale"][j]

        if not mask.any():
            if x.shape[0] and bool(np.all(pl["p"] >= 2.0**-1021)):
                # fused: the kernel standardises each value as it reads it (float32 stays float32)
                aff = (1.0 / pl["p"], pl["hi"], pl["lo"], 1.0 / pl["scale"])
                ecf_sums_rows(_placed_rows(x), rule.nodes, step=rule.lattice_step, out=(C, S), affine=aff)
            elif x.shape[0]:
                ecf_sums_rows(_placed_rows(standard(x)), rule.nodes, step=rule.lattice_step, out=(C, S))
        else:
            y = standard(x)
            for j in range(m):
                col = y[~mask[:, j], j]
                if col.size:
                    ecf_sums_rows(_placed_rows(col[:, None]), rule.nodes, step=rule.lattice_step,
                                  out=(C[j:j + 1], S[j:j + 1]))
        self._sample(x, ~mask if mask.any() else None, standard)
        part = {"C": C, "S": S, "n": (~mask).sum(axis=0).astype(np.float64), "n_nan": n_nan}
        self._sums = part if self._sums is None else self._merge_sums(self._sums, part)

    def result(self):
        """The :class:`~normtest.ecf.univariate.EppsPulleyResult` of all the data seen."""
        self._require_last_pass()
        m = self._width
        rule = self._rule_of(self._plan)
        sums = self._sums or {"C": np.zeros((m, rule.nodes.size)), "S": np.zeros((m, rule.nodes.size)),
                              "n": np.zeros(m), "n_nan": np.zeros(m)}
        cnt, n_nan = sums["n"], sums["n_nan"]
        st = self._stats
        if st is not None and not (np.array_equal(st["cnt"], cnt) and np.array_equal(st["n_nan"], n_nan)):
            raise ValueError("The batches of pass 2 differ from those of pass 1 (other counts of values); "
                             "feed the same data in both passes.")
        min_n = 3 if self.standardize else 2
        bad = np.zeros(m, dtype=bool) if self.nan_policy == "omit" else n_nan > 0
        small = ~bad & (cnt < min_n)
        degenerate = np.zeros(m, dtype=bool)
        if st is not None and self.standardize:
            degenerate = ~bad & ~small & scaled_moments(st)[5]
        ok = ~(bad | small | degenerate)
        T = np.full(m, np.nan)
        if ok.any():
            T[ok] = EcfSums(sums["C"][ok], sums["S"][ok], cnt[ok]).statistic(rule)
        if small.any():
            warnings.warn(f"epps_pulley: a sample of size {int(cnt[small].min())} is too small (the test needs "
                          f"n >= {min_n}); the result is NaN.", SmallSampleWarning, stacklevel=2)
        if degenerate.any():
            warnings.warn("epps_pulley: a sample has zero variance; its statistic and p-value are NaN.",
                          DegenerateDataWarning, stacklevel=2)
        n_report = (cnt if self.nan_policy == "omit" else cnt + n_nan).astype(np.int64)
        p = np.full(m, np.nan)
        se = np.full(m, np.nan) if isinstance(self.method, MonteCarlo) else None
        groups = []
        for size in sorted({int(c) for c in cnt[ok]}):
            cols = np.nonzero(ok & (cnt == size))[0]
            g = pvalue(T[cols], size, standardize=self.standardize, beta=self.beta, kind=self._kind,
                       rule=self._rule, method=self.method)
            p[cols] = g.pvalue
            if se is not None and g.se is not None:
                se[cols] = g.se
            groups.append(g)
        eff = np.full((3, m), np.nan)
        samples = self._sample_of(cnt) if self._kind != "rule" else None
        if samples is not None:
            from ..ecf.effect import ep_effect_sums

            for j in np.nonzero(ok)[0]:
                eff[:, j] = np.ravel(ep_effect_sums(np.asarray(samples[j], dtype=np.float64)[None, :],
                                                    sums["C"][j][None, :], sums["S"][j][None, :], rule, np.inf,
                                                    T[j:j + 1], cnt[j], self.beta, self.standardize))
        info = dict(rule.describe(), algorithm="streamed ECF sums, auto rule over the data's range")
        quad = quadrature_record(self._kind, rule, [info])

        def out(a):
            return a[0] if self._one_d else a

        return epps_pulley_result(out(T), out(p), int(n_report[0]) if self._one_d else n_report, groups,
                                  standardize=self.standardize, beta=self.beta, method=self.method,
                                  quadrature=quad, pvalue_se=None if se is None else out(se), axis=0,
                                  effect=out(eff[0]), effect_ci=(out(eff[1]), out(eff[2])),
                                  nan_policy=self.nan_policy)


def _placed_rows(x):
    """``x.T`` as a C-contiguous copy starting on a 64-byte boundary, with slack after it.

    The ECF kernel reads a C-contiguous copy of the columns either way. With the
    angle-addition kernel of version 0.1 and a plain copy, the build numba caches on
    disk rounded the last bit of a sum differently in a few per cent of calls with
    the same input, depending on the heap's state (``benchmarks/kernel_placement.py``:
    7-36 of 400 calls; with the driver's per-task scratch allocated before its task
    loop, 0 of 400). The Chebyshev kernel that replaced it gives 0 of 400 with a
    plain copy too (4 runs, 1 and 2 threads, fresh and cache-loaded builds); the
    placed copy is kept as a guard, since the cause inside the cached machine code
    was never pinned down: reruns on dask workers must stay bit-identical.
    """
    raw = np.empty(x.size + 64 // x.itemsize * 2, dtype=x.dtype)
    start = (-raw.ctypes.data % 64) // x.itemsize
    out = raw[start:start + x.size].reshape(x.shape[1], x.shape[0])
    out[...] = x.T
    return out

