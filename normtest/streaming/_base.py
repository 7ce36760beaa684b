"""The accumulator protocol (the stable merges of the moments are in :mod:`._moments`).

A state is a dict of NumPy arrays (no objects, no pickle needed): ``to_bytes``
writes it with ``np.savez`` and ``from_bytes`` reads it back with
``allow_pickle=False``, so states from workers are safe to load. The settings
(keywords, quadrature rule, method) are not in the state: they live in the
accumulator the driver built, and a state carries only a fingerprint of them,
checked on load and on merge.
"""

from __future__ import annotations

import copy
import hashlib
import io

import numpy as np

from .._validate import as_float_sample
from ._moments import merge_moments

_SLICE_VALUES = 2**21   # values per slice of a large batch (16 MB in float64)


# ---------------------------------------------------------------------------
# the protocol
# ---------------------------------------------------------------------------


class Accumulator:
    """Base of the streaming tests: passes, merging, state round trips.

    Subclasses set ``_name`` and implement ``_config()`` (the settings that
    must agree between merged states), ``_passes()``, ``_update(x, mask)``,
    ``_plan_from(stats)`` (the pass-2 plan from the merged pass-1 statistics)
    and ``result()``. Pass 1 fills ``self._stats`` (moments), the last pass
    fills ``self._sums`` (ECF sums and counts).
    """

    _name = "accumulator"

    def _init_state(self):
        self._pass = 0
        self._width = None    # columns of the batches, fixed by the first one
        self._one_d = None
        self._stats = None    # pass-1 moments (two-pass accumulators)
        self._sums = None     # ECF sums and counts of the last pass
        self._plan = None     # what the last pass needs from the first (dict of arrays)
        self._columns = None
        self._row0 = None     # last pass: global index of the next non-NaN row (value) here, None: unknown
        self._sub = None      # last pass: the row subsample of the effect's interval (dict), None: none

    # -- protocol -----------------------------------------------------------
    @property
    def passes(self) -> int:
        """Passes over the data the test needs: 1, or 2 (moments first, then the ECF sums)."""
        return self._passes()

    @property
    def current_pass(self) -> int:
        """The pass being accumulated now (1 or 2)."""
        return self._pass + 1

    @property
    def n_missing(self):
        """NaN seen in the last pass: per column (values) or, for the sliced test, rows with any NaN."""
        if self._sums is None:
            return None
        val = self._sums["n_nan"].astype(np.int64)
        return int(val) if val.ndim == 0 else (int(val[0]) if self._one_d else val)

    @property
    def needs_data(self) -> bool:
        """False when the current pass has nothing to do: the batches need not be fed again."""
        return True

    def next_pass(self):
        """Finish pass 1 (merge every worker's state into this one first); start pass 2.

        Then feed the same batches again with :meth:`update` (or give
        :meth:`spawn` copies to the workers and :meth:`merge` what they return).
        """
        if self._pass + 1 >= self.passes:
            raise RuntimeError(f"{self._name}: there is no pass {self._pass + 2} (the test needs "
                               f"{self.passes} pass{'es' if self.passes > 1 else ''}).")
        if self._stats is None:
            raise ValueError(f"{self._name}: no batch was seen in pass 1; `update` it with the data first.")
        self._plan = self._plan_from(self._stats)
        self._pass += 1
        self._start_sample(np.zeros_like(np.atleast_1d(self._stats["cnt"]))[: 1 if self._row_wise else None])

    def spawn(self, offset=None):
        """An empty accumulator at the same pass with the same plan: one per worker or partition.

        `offset` (last pass of two): how many non-NaN rows (per column for the 1-D test)
        come before this worker's batches in the data's order, e.g. from the pass-1
        counts of the partitions before it. It places the rows of the effect size's
        subsample (every k-th row, as in memory); without it the copy collects none and
        the merged result has no effect size.
        """
        new = copy.copy(self)
        if self._pass == 0:
            new._stats = None
        new._sums = None
        new._sub = new._row0 = None
        if offset is not None and self._pass == self.passes - 1 and self.passes == 2:
            new._start_sample(np.array(offset, dtype=np.float64).reshape(-1))
        return new

    # -- the effect size's row subsample (last pass of two) -----------------
    _row_wise = False   # the sliced test samples whole rows; the 1-D test values per column

    def _start_sample(self, row0):
        step = self._sample_step()
        if step is None:
            return
        self._row0 = np.array(row0, dtype=np.float64)
        self._sub = {"idx": np.zeros(0), "col": np.zeros(0), "val": np.zeros((0,) + self._sample_shape())}

    def _sample_step(self):
        """Hook: every how-many-th non-NaN row (per column) the subsample keeps; None: no subsample."""

    def _sample_shape(self):
        return ()

    def _sample(self, vals, ok, transform=None):
        """Keep the values (rows, for the sliced test) whose global index is a multiple of the step.

        ``vals`` (b, m) and ``ok`` (b, m) bool (or None: all valid) for the 1-D test, kept as
        ``transform(values, column)``; ``vals`` (b, D) of valid rows only (``ok`` None) for the
        sliced test, kept in float64.
        """
        if self._row0 is None:
            return
        step = np.atleast_1d(self._sample_step()).astype(np.float64)
        b = vals.shape[0]
        if self._row_wise:
            rows = np.arange(b, dtype=np.float64)[(self._row0[0] + np.arange(b)) % step[0] == 0]
            parts = {"idx": self._row0[0] + rows, "col": np.zeros(rows.size),
                     "val": vals[rows.astype(np.int64)].astype(np.float64)}
            self._row0 = self._row0 + b
        elif ok is None:   # every value valid: the kept rows of column j are arithmetic
            first = (-self._row0) % step
            rows = [np.arange(f, b, k, dtype=np.int64) for f, k in zip(first.astype(np.int64), step.astype(np.int64))]
            parts = {"idx": np.concatenate([self._row0[j] + r for j, r in enumerate(rows)]),
                     "col": np.concatenate([np.full(r.size, float(j)) for j, r in enumerate(rows)]),
                     "val": np.concatenate([transform(vals[r, j], j) for j, r in enumerate(rows)])}
            self._row0 = self._row0 + b
        else:
            cum = np.cumsum(ok, axis=0) - 1.0 + self._row0
            r, c = np.nonzero(ok & (cum % step == 0))
            parts = {"idx": cum[r, c], "col": c.astype(np.float64), "val": transform(vals[r, c], c)}
            self._row0 = self._row0 + ok.sum(axis=0)
        self._sub = {k: np.concatenate([self._sub[k], parts[k]]) for k in self._sub}

    def _sample_of(self, counts):
        """The subsample in index order, per column (a list), or None when it is incomplete."""
        if self._sub is None:
            return None
        sub = self._sub
        order = np.lexsort((sub["idx"], sub["col"]))
        idx, col, val = sub["idx"][order], sub["col"][order], sub["val"][order]
        step = np.atleast_1d(self._sample_step())
        out = []
        for j, n in enumerate(np.atleast_1d(counts)):
            keep = col == j
            expect = np.arange(0, int(n), int(step[j]), dtype=np.float64)
            if not np.array_equal(idx[keep], expect):   # offsets missing or wrong: no interval
                return None
            out.append(val[keep])
        return out

    def update(self, batch):
        """Add a batch of rows (array-like, pandas, torch or pyarrow data).

        A large batch is processed in row slices of about ``2**21`` values, so the
        working memory stays bounded (a few times 16 MB) whatever the batch size.
        """
        if hasattr(batch, "to_pandas") and type(batch).__module__.startswith("pyarrow"):
            batch = batch.to_pandas()
        shape = getattr(batch, "shape", None)
        if shape is not None and len(shape) == 2 and shape[0] * shape[1] > _SLICE_VALUES:
            step = max(1, _SLICE_VALUES // max(1, shape[1]))
            rows = batch.iloc if type(batch).__module__.startswith("pandas") else batch
            for lo in range(0, shape[0], step):
                self._update_slice(rows[lo:lo + step])
            return
        if shape is not None and len(shape) == 1 and shape[0] > _SLICE_VALUES:
            rows = batch.iloc if type(batch).__module__.startswith("pandas") else batch
            for lo in range(0, shape[0], _SLICE_VALUES):
                self._update_slice(rows[lo:lo + _SLICE_VALUES])
            return
        self._update_slice(batch)

    def _update_slice(self, batch):
        x = self._coerce(batch)
        mask = np.isnan(x)
        if mask.any() and self.nan_policy == "raise":
            raise ValueError("`batch` contains NaN and nan_policy='raise'.")
        self._update(x, mask)

    def merge(self, other):
        """Add the state of `other` (same settings, same pass) into this one; returns self.

        Merge in a fixed order (e.g. partition order) for bit-identical results.
        """
        if not isinstance(other, type(self)):
            raise TypeError(f"`other` must be a {type(self).__name__}. Got {type(other).__name__} instead.")
        if other._fingerprint() != self._fingerprint():
            raise ValueError("`other` was built with different settings; only states of the same test merge.")
        if other._pass != self._pass:
            raise ValueError(f"`other` is in pass {other._pass + 1} and this accumulator in pass "
                             f"{self._pass + 1}; merge states of the same pass.")
        self._check_width(other._width, other._one_d, "other")
        if other._plan_id() != self._plan_id():
            raise ValueError("`other` was planned from other pass-1 statistics; spawn both from one accumulator.")
        if other._columns is not None and self._columns is None:
            self._columns = other._columns
        if other._sums is not None:   # a pass that sums also carries the effect's rows
            if self._sums is None:
                self._sub = other._sub
            elif self._sub is not None and other._sub is not None:
                self._sub = {k: np.concatenate([self._sub[k], other._sub[k]]) for k in self._sub}
            else:
                self._sub = None
        if self._pass == 0 and other._stats is not None:
            self._stats = other._stats if self._stats is None else merge_moments(self._stats, other._stats)
        if other._sums is not None:   # the passes that compute sums (the last; pass 1 of the sliced pilot mode)
            self._sums = other._sums if self._sums is None else self._merge_sums(self._sums, other._sums)
        return self

    # -- state --------------------------------------------------------------
    def to_dict(self) -> dict:
        """The state as a flat dict of NumPy arrays (settings travel as a fingerprint)."""
        out = {"kind": np.array(self._name), "fingerprint": np.array(self._fingerprint()),
               "pass": np.array(self._pass), "width": np.array(-1 if self._width is None else self._width),
               "one_d": np.array(bool(self._one_d))}
        for prefix, part in (("stats.", self._stats), ("sums.", self._sums), ("plan.", self._plan),
                             ("sub.", self._sub)):
            for key, val in (part or {}).items():
                out[prefix + key] = np.asarray(val)
        return out

    def from_dict(self, state):
        """A copy of this accumulator (same settings) holding `state` (from :meth:`to_dict`)."""
        if str(state["kind"]) != self._name or str(state["fingerprint"]) != self._fingerprint():
            raise ValueError(f"`state` is not the state of this {self._name} (its settings differ).")
        new = copy.copy(self)
        new._init_state()
        new._pass = int(state["pass"])
        width = int(state["width"])
        new._width = None if width < 0 else width
        new._one_d = bool(state["one_d"]) if width >= 0 else None
        parts = {"stats.": {}, "sums.": {}, "plan.": {}, "sub.": {}}
        for key, val in state.items():
            for prefix, part in parts.items():
                if key.startswith(prefix):
                    part[key[len(prefix):]] = np.array(val)
        new._stats = parts["stats."] or None
        new._sums = parts["sums."] or None
        new._plan = parts["plan."] or None
        new._sub = parts["sub."] or None
        new._columns = self._columns
        return new

    def to_bytes(self) -> bytes:
        """The state as ``.npz`` bytes (no pickle): what a worker sends back."""
        buf = io.BytesIO()
        np.savez(buf, **self.to_dict())
        return buf.getvalue()

    def from_bytes(self, data: bytes):
        """A copy of this accumulator (same settings) holding the state in `data` (from :meth:`to_bytes`)."""
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return self.from_dict({k: z[k] for k in z.files})

    # -- helpers for subclasses --------------------------------------------
    def _fingerprint(self) -> str:
        return hashlib.sha1(repr(self._config()).encode()).hexdigest()[:16]

    def _on_width(self, width):
        """Hook: the number of columns is known now."""

    def _plan_id(self) -> str:
        """A hash of the plan (standardisation, rule size, projections) that merged states must share."""
        if self._plan is None:
            return ""
        h = hashlib.sha1()
        for key in sorted(self._plan):
            if self._plan[key] is not None:
                h.update(key.encode())
                h.update(np.ascontiguousarray(self._plan[key]).tobytes())
        return h.hexdigest()[:16]

    def _merge_sums(self, a, b):
        """ECF sums add as :class:`~normtest.ecf.core.EcfSums`; the counts beside them add too."""
        from ..ecf.core import EcfSums

        out = {k: a[k] + b[k] for k in a if k not in ("C", "S", "n")}
        out.update((EcfSums.from_dict(a) + EcfSums.from_dict(b)).to_dict())
        return out

    def _check_width(self, width, one_d, name):
        if width is None:
            return
        if self._width is None:
            self._width, self._one_d = width, one_d
            self._on_width(width)
        elif width != self._width:
            raise ValueError(f"`{name}` must have {self._width} column(s) like the data seen before. "
                             f"Got {width} instead.")

    def _coerce(self, batch):
        columns = None
        if type(batch).__module__.startswith("pandas") and hasattr(batch, "columns"):
            bad = [c for c in batch.columns if batch[c].dtype.kind not in "iuf"]
            if bad:
                raise TypeError(f"`batch` must have numeric columns only. Got non-numeric column(s) "
                                f"{bad[:5]!r} instead.")
            columns = [str(c) for c in batch.columns]
            single = len(batch.columns) > 0 and all(batch[c].dtype == np.float32 for c in batch.columns)
            batch = batch.to_numpy(dtype=np.float32 if single else np.float64, na_value=np.nan)
        x = as_float_sample(batch, "batch", dtype=None)   # float32 stays float32 (the kernels read it)
        if x.ndim > 2:
            raise ValueError(f"`batch` must be 1-d (rows,) or 2-d (rows, columns). Got shape {x.shape} instead.")
        one_d = x.ndim == 1
        x = x[:, None] if one_d else x
        self._check_width(x.shape[1], one_d, "batch")
        if columns is not None:
            if self._columns is None:
                self._columns = columns
            elif columns != self._columns:
                raise ValueError(f"`batch` must have the columns {self._columns[:5]!r} like the batches before. "
                                 f"Got {columns[:5]!r} instead.")
        return x

    def _require_last_pass(self):
        if self._pass != self.passes - 1:
            raise RuntimeError(f"{self._name}: pass 1 of 2 is complete only; call next_pass() and feed "
                               "the batches again before result().")
        if self._width is None:
            raise ValueError(f"{self._name}: no batch was seen; `update` it with the data first.")


def accumulate(acc, batches):
    """Run every pass of `acc` over `batches` and return its result.

    Parameters
    ----------
    acc : EppsPulley or SlicedEppsPulley
        A fresh accumulator.
    batches : iterable or callable
        Something iterated once per pass (a list, a ``torch.utils.data.DataLoader``)
        or a zero-argument callable returning a new iterator of batches each time.

    Returns
    -------
    The accumulator's :meth:`result`.
    """
    for p in range(acc.passes):
        if p:
            acc.next_pass()
            if not acc.needs_data:
                continue
        for batch in (batches() if callable(batches) else batches):
            acc.update(batch)
    return acc.result()
