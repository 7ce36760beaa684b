"""Streaming sliced Epps–Pulley test (SIGReg) of rows that arrive in batches: :class:`SlicedEppsPulley`."""

from __future__ import annotations

import warnings

import numpy as np

from .._validate import (
    SmallSampleWarning,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_nan_policy,
    resolve_rng,
)
from ..ecf._stream import _PILOT_ROWS
from ..ecf.rules import auto_rule, check_quadrature
from ..null import check_method
from ._base import Accumulator
from ._moments import column_moments, merge_moments, scaled_moments

_PILOT_N = 1e10   # rows the first-rows pilot of the "auto" rule is extrapolated to (see fix_rule)


class SlicedEppsPulley(Accumulator):
    """Sliced multivariate Epps–Pulley test of an (N, D) sample fed in row batches.

    The keywords are those of :func:`normtest.sliced_epps_pulley`;
    :meth:`result` gives the same :class:`~normtest.ecf.sliced.SlicedResult`
    (equal to about 1e-10 relative whatever the batching). The directions are
    drawn from the seed when the dimension is first seen, so every copy of the
    accumulator (every worker) uses the same ones; a ``numpy.random.Generator``
    as `rng` gives up one seed for all of them.

    Parameters
    ----------
    n_slices, directions, rng, standardize, beta, quadrature, reduction, method, nan_policy
        As in :func:`normtest.sliced_epps_pulley` (``directions="all"``, a
        pair-sum statistic, is not additive and is not offered). Rows with a
        NaN are counted; ``"propagate"`` makes the result NaN, ``"omit"``
        drops them, ``"raise"`` raises in :meth:`update`.

    Notes
    -----
    ``passes`` is 1 for ``standardize=False`` with a fixed rule (``"lejepa"``,
    ``"paper"``, ``"gauss-hermite"``, custom). With ``standardize=False`` and
    ``"auto"`` (the default) the rule is sized from the data's first 2048 rows
    (:meth:`fix_rule`; fed in-process the accumulator takes them itself) and
    pass 1 computes the ECF sums and the largest ``|projection|``; pass 2 only
    counts the rows and takes the effect's row subsample, or sums everything
    again under the rule of the true maximum where the first rows' guess was
    exceeded. Where pass 1 could take the subsample too (the row count given to
    :meth:`fix_rule`), :attr:`needs_data` is False after :meth:`next_pass` and
    pass 2 is skipped. With ``standardize=True`` pass 1 merges the
    count, mean and co-moment matrix (Chan, Golub & LeVeque), the
    per-coordinate range and the largest row norm; pass 2 adds the ECF sums
    of the whitened projections. With ``standardize=True`` and ``"auto"``
    the rule is sized from a bound on the whitened row norms (the smaller of
    ``||W||_2 (max ||x|| + ||mean||)`` and the bounding-box bound), which can
    exceed the in-memory function's exact maximum: more nodes, the same
    statistic to about 1e-10.

    ``result.effect`` / ``effect_ci`` use the in-memory row subsample (every
    ``n // 5000``-th non-NaN row) in two-pass settings; copies for workers
    need :meth:`spawn` ``(offset=...)``, else (and in one-pass settings)
    they are None.

    float32 batches are projected in float32 like the in-memory function's,
    every row in the product of the 256 rows its global index falls in, at its
    place there (the rounding of a float32 product depends on the call's shape,
    the row's place and the BLAS threads: measured with OpenBLAS), so the result
    equals the in-memory one to about 1e-13 whatever the cuts. That needs the
    rows' global index: fed in order it is counted here; copies get it from
    :meth:`spawn` ``(offset=...)``. Where pass 1 cannot place the rows (no
    offsets: it then takes only their largest projection), or placed them by
    raw row offsets that NaN rows shifted, pass 2 sums them, placed by the
    pass-1 counts; the one-pass settings project unplaced rows in float64 (the
    in-memory float32 value to about 1e-7).

    Examples
    --------
    Accumulate a validation set's embeddings batch by batch (here NumPy; torch
    tensors are accepted as they are, see the cluster page of the docs):

    >>> import numpy as np
    >>> import normtest
    >>> from normtest.streaming import SlicedEppsPulley, accumulate
    >>> X = np.random.default_rng(0).standard_normal((3000, 16))
    >>> batches = np.array_split(X, 5)
    >>> res = accumulate(SlicedEppsPulley(n_slices=32, rng=7), batches)
    >>> ref = normtest.sliced_epps_pulley(X, n_slices=32, rng=7)
    >>> print(np.isclose(res.statistic, ref.statistic, rtol=1e-9, atol=0),
    ...       np.isclose(res.pvalue, ref.pvalue, rtol=1e-9, atol=0))
    True True
    """

    _name = "SlicedEppsPulley"

    def __init__(self, *, n_slices=256, directions=None, rng=None, standardize=False, beta=1.0,
                 quadrature="auto", reduction="mean", method=None, nan_policy="propagate"):
        self.n_slices = check_int(n_slices, "n_slices", minimum=1)
        self.standardize = check_bool(standardize, "standardize")
        self.beta = check_float(beta, "beta", low=0.0)
        self.reduction = check_choice(reduction, "reduction", ("mean", "max", "none"))
        self.method = check_method(method, allowed=("asymptotic",))
        self.nan_policy = check_nan_policy(nan_policy)
        if isinstance(directions, str):
            raise ValueError("`directions` must be None or a (D, M) array for the streaming test: "
                             "directions='all' is a pair-sum statistic, not a sum over rows. "
                             f"Got {directions!r} instead.")
        kind, self._rule = check_quadrature(quadrature, self.beta, preset_beta=True, exact_error=(
            "`quadrature='exact'` is not available for the sliced test; use 'auto' (exact to ~1e-10)."))
        self._auto = kind == "auto"
        # standardize=False with "auto": the rule is sized from the data's first rows (fix_rule),
        # the sums come in pass 1, pass 2 is light (the effect's rows; all again only if the guess failed)
        self._pilot = self._auto and not self.standardize
        gen, seed = resolve_rng(rng)
        self.seed = int(gen.integers(0, 2**63)) if seed is None else seed
        self.directions = None if directions is None else np.array(directions, dtype=np.float64)
        self.quadrature = quadrature
        self._init_state()

    # -- settings -----------------------------------------------------------
    def _config(self):
        d = None if self.directions is None else self.directions.tobytes()
        r = None if self._auto else (self._rule.nodes.tobytes(), self._rule.weights.tobytes())
        return ("SlicedEppsPulley", self.n_slices, d, self.seed, self.standardize, self.beta, self._auto, r,
                self.reduction, self.nan_policy)

    def _passes(self):
        return 1 if (not self.standardize and not self._auto) else 2

    def _init_state(self):
        super()._init_state()
        self._head = []   # pilot mode, before the rule is fixed: the batches seen so far
        # global index of the next non-NaN row (None: unknown), which places float32 rows in
        # their products (ecf._stream._placed_product); _at_raw: set from an engine's raw row
        # offset in pass 1 (right only where no row before had a NaN)
        self._at, self._at_raw = 0, False

    @property
    def pilot_rows(self) -> int:
        """Rows of the data's head :meth:`fix_rule` wants before copies are spawned (0: none)."""
        return _PILOT_ROWS if self._pilot and self._pass == 0 and self._plan is None else 0

    def fix_rule(self, head, n_rows=None):
        """Size the ``"auto"`` rule (``standardize=False``) from the data's first rows, before pass 1.

        `head`: the first :attr:`pilot_rows` rows of the data in order (all of them if there are
        fewer). Engines call it on the driver before spawning copies, so every copy uses the same
        rule whatever the partitioning; fed in-process, the accumulator takes them from its
        first batches itself. The spread is the largest ``|projection|`` of the head's non-NaN
        rows, extrapolated to ``1e10`` rows as the maximum of Gaussian values grows (the
        in-memory function's pilot); pass 1 records the true maximum, and where it is exceeded
        pass 2 computes the sums again under the rule of the true maximum.

        `n_rows`: the number of rows of the data, where known beforehand (a dask array's
        chunks, Parquet metadata). Pass 1 then also collects the effect size's row subsample
        (copies need :meth:`spawn` ``(offset=...)``, their first row's index), and when the
        data have exactly that many rows and no NaN, pass 2 has nothing to do
        (:attr:`needs_data` is False): one read of the data in all.
        """
        from ..ecf._stream import _pilot_spread

        if not self.pilot_rows:
            raise RuntimeError("fix_rule() is for standardize=False with the 'auto' rule, before any pass-1 "
                               "data and before spawning copies.")
        x = self._coerce(head)
        x = x[:_PILOT_ROWS]
        complete = x.shape[0] < _PILOT_ROWS   # the whole data: its maximum is exact
        ok = x[~np.isnan(x).any(axis=1)].astype(np.float64)
        A = self._directions(self._width)[0]
        spread = _pilot_spread(ok, A, None, np.inf, n=None if complete else _PILOT_N) if ok.shape[0] else 1.0
        self._plan = {"B": A, "offset": None, "spread": np.array(float(spread) if spread > 0 else 1.0),
                      "n_rows": np.array(-1.0 if n_rows is None else float(n_rows))}
        self._start_sample(np.zeros(1))

    def _flush_head(self):
        """In-process pilot: fix the rule from the batches buffered so far, then sum them."""
        head, self._head = self._head, []
        if self._plan is None and head:
            self.fix_rule(np.concatenate([x for x, _ in head])[:_PILOT_ROWS])
        for x, mask in head:
            self._update(x, mask)

    def spawn(self, offset=None):
        if self._pilot and self._pass == 0 and (self._plan is None or self._head):
            raise RuntimeError("SlicedEppsPulley(standardize=False, quadrature='auto') sizes its rule from the "
                               f"data's first rows: call fix_rule(first_rows) with the first {_PILOT_ROWS} rows "
                               "in order before spawning copies.")
        new = super().spawn(offset)
        new._head = []
        new._at = None if offset is None else int(np.asarray(offset, dtype=np.float64).reshape(-1)[0])
        new._at_raw = offset is not None and self._pass == 0
        if offset is not None and self._pilot and self._pass == 0:   # the effect's rows in pass 1 (n_rows known)
            new._start_sample(np.array(offset, dtype=np.float64).reshape(-1))
        return new

    @property
    def needs_data(self) -> bool:
        if self._pilot and self._pass == 1 and not bool(self._plan["redo"]):
            # the guess held: pass 2 only collects the effect's rows, unless pass 1 did (n_rows known)
            return self._sub is not None and not bool(self._plan["early"])
        return True

    def next_pass(self):
        early = None
        if self._pilot and self._pass == 0:
            self._flush_head()
            if self._sums is None:
                raise ValueError(f"{self._name}: no batch was seen in pass 1; `update` it with the data first.")
            n = int(self._stats["cnt"][0])
            if (self._sub is not None and int(self._plan["n_rows"]) == n and not int(self._stats["n_nan"])
                    and self._sample_of([n]) is not None):
                early = self._sub   # pass 1 collected the effect's rows (n_rows known and right)
        super().next_pass()
        self._at = None if self._at is None else 0   # fed again from the first row (in-process)
        if self._pilot:   # the pass-1 sums live in the plan now; pass 2 adds only counts (and the effect's rows)
            self._sums = None
            if early is not None and not bool(self._plan["redo"]):
                self._sub, self._row0 = early, None
                self._plan["early"] = np.array(True)

    def _directions(self, D):
        """(A, source, generator after the draw): the same on every copy."""
        from .._matrix import _check_directions

        gen = np.random.default_rng(self.seed)
        A, source = _check_directions(self.directions, D, self.n_slices, gen)
        return A, source, gen

    def _rule_of(self, plan):
        return auto_rule(float(plan["spread"]), self.beta) if self._auto else self._rule

    def _on_width(self, D):
        if self.passes == 1 and self._plan is None:   # one pass: the projections need only D
            self._plan = {"B": self._directions(D)[0], "offset": None, "spread": np.array(0.0)}

    def _plan_from(self, st):
        from .._matrix import whitener_from_moments
        from .._standardize import Centre

        D = self._width
        A, _, _ = self._directions(D)
        if self._pilot:
            su, spread = self._sums, float(self._plan["spread"])
            top = float(su["zmax"].max(initial=0.0))
            if top > spread:   # the first rows' guess missed the extremes: all sums again, rule of the true max
                return {"B": A, "offset": None, "spread": np.array(top), "redo": np.array(True)}
            if (float(su["raw_at"]) and float(su["n_nan"])) or float(su["unplaced"]):
                # float32 rows placed by raw row offsets that NaN rows shifted, or not placed at all
                # (offsets unknown): all sums again in pass 2, placed by the pass-1 counts of
                # non-NaN rows (the engines pass them), as in memory
                return {"B": A, "offset": None, "spread": np.array(spread), "redo": np.array(True)}
            return {"B": A, "offset": None, "spread": np.array(spread), "redo": np.array(False),
                    "early": np.array(False), **{"sums_" + k: su[k] for k in ("C", "S", "n", "n_nan")}}
        spread = float(st["max_norm"])
        if not self.standardize:
            return {"B": A, "offset": None, "spread": np.array(spread)}
        p, hi, lo, sd_u, cov_u, degenerate = scaled_moments(st)
        centre = Centre(hi * p, lo * p)
        if float(st["cnt"][0]) < D + 2:   # too small: result() says so; any plan will do meanwhile
            # (not the raw row norms' spread: far from the origin its rule would need millions of nodes)
            return {"B": A, "offset": centre, "spread": np.array(1.0)}
        try:
            _, W = whitener_from_moments(centre, p, cov_u, degenerate)
        except ValueError as exc:   # constant or collinear columns: result() raises it, as in memory
            return {"B": A, "offset": centre, "spread": np.array(1.0), "error": np.array(str(exc))}
        with np.errstate(over="ignore", invalid="ignore"):
            reach = np.maximum(np.abs((st["max"] / p - hi) - lo), np.abs((st["min"] / p - hi) - lo)) / sd_u
            box = np.linalg.norm(W * (sd_u * p), 2) * np.linalg.norm(reach)
            ball = np.linalg.norm(W, 2) * (spread + np.linalg.norm(np.asarray(centre)))
        bound = min(box, ball) if np.isfinite(ball) else box
        return {"B": W @ A, "offset": centre, "spread": np.array(float(bound))}

    # -- the effect's row subsample: every (n // 5000)-th row, as in memory ---
    _row_wise = True

    def _sample_step(self):
        if self._pilot and self._pass == 0:   # pass 1 samples only when the row count is known beforehand
            n = -1 if self._plan is None else int(self._plan.get("n_rows", -1))
            if n < 0 or self.reduction != "mean" or self._rule_of(self._plan).scale != "henze":
                return None
            return max(1, n // 5000)
        if self.passes != 2 or self.reduction != "mean" or self._rule_of(self._plan).scale != "henze":
            return None
        return max(1, int(self._stats["cnt"][0]) // 5000)

    def _sample_shape(self):
        return (self._width,)

    # -- data ---------------------------------------------------------------
    def _update(self, x, mask):
        if self._pilot and self._pass == 0 and (self._plan is None or self._head):
            self._head.append((x.copy(), mask))   # in-process: the first rows fix the rule (fix_rule)
            if sum(h.shape[0] for h, _ in self._head) >= _PILOT_ROWS:
                self._flush_head()
            return
        rows = mask.any(axis=1)
        n_nan = float(rows.sum())
        xv = x[~rows] if n_nan else x
        at = self._at
        if at is not None:
            self._at = at + xv.shape[0]
        # float32 rows are projected in float32 where their global index is known (placed products:
        # the same bits as in memory, whatever the batches), else in float64 (the rounding of a
        # float32 product depends on where the rows are cut: 1e-7 from the in-memory value)
        placed = xv.dtype == np.float32 and at is not None and self._plan is not None and \
            self._plan["offset"] is None
        if self._pilot and self._pass == 1 and not bool(self._plan["redo"]):
            self._sample(xv, None)   # pass 2, the guess held: counts and the effect's rows only
            part = {"n": np.array(float(xv.shape[0])), "n_nan": np.array(n_nan)}
            self._sums = part if self._sums is None else {k: self._sums[k] + part[k] for k in part}
            return
        if self._pilot and self._pass == 0:   # pass 1: the sums under the first rows' rule, and the true max
            self._stats = self._merge_stats({"cnt": np.array([float(xv.shape[0])]), "n_nan": np.array(n_nan)})
        if self._pass == 0 and self.passes == 2 and not self._pilot:
            part = self._moments(xv.astype(np.float64, copy=False))
            part["n_nan"] = np.array(n_nan)
            self._stats = part if self._stats is None else merge_moments(self._stats, part)
            return
        from ..ecf._stream import _projected_sums

        rule = self._rule_of(self._plan)
        M, K = self._plan["B"].shape[1], rule.nodes.size
        zmax = np.zeros(M) if self._pilot and self._pass == 0 else None
        unplaced = zmax is not None and xv.dtype == np.float32 and not placed and xv.shape[0] > 0
        if unplaced:   # summed again in pass 2, placed (see _plan_from): pass 1 needs only the maximum
            from ..ecf._stream import _projected_max

            _projected_max(xv, self._plan["B"], zmax)
            C, S = np.zeros((M, K)), np.zeros((M, K))
        elif xv.shape[0]:
            C, S = _projected_sums(xv if placed else xv.astype(np.float64, copy=False), self._plan["B"], rule,
                                   offset=self._plan["offset"], zmax=zmax, pos=at if placed else 0)
            self._sample(xv, None)   # the subsample is kept in float64
        else:
            C, S = np.zeros((M, K)), np.zeros((M, K))
        part = {"C": C, "S": S, "n": np.array(float(xv.shape[0])), "n_nan": np.array(n_nan)}
        if zmax is not None:
            part["zmax"] = zmax
            part["raw_at"] = np.array(float(placed and self._at_raw))
            part["unplaced"] = np.array(float(unplaced))
        self._sums = part if self._sums is None else self._merge_sums(self._sums, part)

    def _merge_stats(self, part):
        return part if self._stats is None else merge_moments(self._stats, part)

    def _merge_sums(self, a, b):
        if "C" not in a:   # pass 2 of the pilot mode: counts only
            return {k: a[k] + b[k] for k in a}
        zmax = {"zmax": np.maximum(a["zmax"], b["zmax"])} if "zmax" in a else {}
        out = super()._merge_sums({k: v for k, v in a.items() if k != "zmax"},
                                  {k: v for k, v in b.items() if k != "zmax"})
        return {**out, **zmax}

    def _moments(self, xs):
        # standardize=False needs only the count and the largest row norm (the "auto" rule's reach)
        out = column_moments(xs, comoments=True) if self.standardize else {"cnt": np.array([float(xs.shape[0])])}
        # the largest row norm, scaled by a power of two first (no overflow in the squares)
        top = float(np.max(np.abs(xs), initial=0.0))
        g = np.ldexp(1.0, int(np.clip(np.frexp(top)[1] if top > 0 else 0, -1022, 1023)))
        y = xs / g
        sq = np.einsum("ij,ij->i", y, y)
        with np.errstate(over="ignore"):
            out["max_norm"] = np.array(float(np.sqrt(np.max(sq, initial=0.0)) * g))
        return out

    # -- state: pass-2 states carry their sums only (the plan stays with the driver) -------------
    def to_dict(self):
        if self._head:   # in-process pilot with fewer rows than it wants: fix the rule from them now
            self._flush_head()
        out = super().to_dict()
        last_of_two = self.passes == 2 and self._pass == 1
        for key in list(out):
            if key.startswith("plan.") or (last_of_two and key.startswith("stats.")):
                del out[key]
        out["plan_id"] = np.array(self._plan_id())
        return out

    def from_dict(self, state):
        if int(state["width"]) >= 0 and self._width is None and self.passes == 1:
            self._check_width(int(state["width"]), bool(state["one_d"]), "state")
        if int(state["pass"]) != self._pass or str(state.get("plan_id", "")) != self._plan_id():
            raise ValueError("`state` must come from a copy (spawn) of this accumulator in the same pass.")
        new = super().from_dict(state)
        new._at = None   # a state's rows: where further rows would go is unknown
        new._plan = self._plan
        if new._stats is None:
            new._stats = self._stats
        return new

    # -- result -------------------------------------------------------------
    def result(self):
        """The :class:`~normtest.ecf.sliced.SlicedResult` of all the rows seen."""
        from ..ecf._sliced_dispatch import small_sample_method
        from ..ecf.sliced import min_sample_size, nan_result, result_from_sums, small_sample_message

        self._require_last_pass()
        D = self._width
        A, source, gen = self._directions(D)
        M = A.shape[1]
        rule = self._rule_of(self._plan) if self._plan is not None else self._rule
        sums = self._sums or {"C": np.zeros((M, rule.nodes.size)), "S": np.zeros((M, rule.nodes.size)),
                              "n": np.array(0.0), "n_nan": np.array(0.0)}
        st = self._stats
        if self._pilot and not bool(self._plan["redo"]):   # the sums of pass 1; pass 2 counted the rows again
            if self._sums is None:   # pass 2 had nothing to do (needs_data False) and was skipped
                sums = {"n": st["cnt"][0], "n_nan": st["n_nan"]}
            sums = {"C": self._plan["sums_C"], "S": self._plan["sums_S"], "n": sums["n"], "n_nan": sums["n_nan"]}
        n, n_nan = int(sums["n"]), int(sums["n_nan"])
        if st is not None and (int(st["cnt"][0]) != n or int(st["n_nan"]) != n_nan):
            raise ValueError("The batches of pass 2 differ from those of pass 1 (other row counts); "
                             "feed the same data in both passes.")
        settings = {"n_slices": M, "directions": source, "beta": self.beta, "reduction": self.reduction,
                    "dim": D}
        common = dict(standardize=self.standardize, test="sliced_epps_pulley", columns=self._columns,
                      directions=A, seed=self.seed if source == "random" else None)
        min_n = min_sample_size(D, self.standardize, "none")
        method = self.method
        if (n_nan and self.nan_policy == "propagate") or n < min_n:
            if not (n_nan and self.nan_policy == "propagate"):
                warnings.warn(small_sample_message(n, D, self.standardize, "none"), SmallSampleWarning,
                              stacklevel=2)
            return nan_result(0 if n_nan and self.nan_policy == "propagate" else n, M, self.reduction,
                              settings, common)
        if self._plan is not None and "error" in self._plan:
            raise ValueError(str(self._plan["error"]))
        method = small_sample_method(method, n, D, M, rule.nodes.size, self.standardize, settings)
        spread = float(self._plan["spread"]) if self._auto else None
        samples, P = self._sample_of([n]), None
        if samples is not None:
            sub, offset = samples[0], self._plan["offset"]
            P = (((sub - offset) if offset is not None else sub) @ self._plan["B"]).T
        return result_from_sums(sums["C"], sums["S"], n, A, rule, spread=spread, beta=self.beta,
                                reduction=self.reduction, method=method, gen=gen, settings=settings,
                                common=common, projections=P)
