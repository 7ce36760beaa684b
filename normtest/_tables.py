"""Rows of a ``normtest.check`` table: one test on one sample, the correction, the renderings.

Private helpers of :mod:`normtest.frame` (building the table) and of the command
line (rendering it as text, CSV or JSON). pandas is imported by the callers.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pandas as pd

from ._validate import DegenerateDataWarning, SmallSampleWarning

#: Columns of the table returned by :func:`normtest.check`, in order.
COLUMNS = ["test", "n", "n_nan", "statistic", "pvalue", "pvalue_upper_bound", "pvalue_adj", "correction",
           "reject", "effect", "method", "note"]
#: ``family=`` values: one test over the columns (and groups), or every p-value of the table.
FAMILIES = ("test", "all")


def column_kind(series):
    """None if the column is testable, else the reason it is skipped."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "skipped: boolean column"
    if pd.api.types.is_complex_dtype(dtype):
        return "skipped: complex values"
    if pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype):
        return None
    return f"skipped: non-numeric column (dtype {dtype})"


def _short(message: str) -> str:
    message = " ".join(str(message).split())
    return message if len(message) <= 120 else message[:117] + "..."


def _keywords(func):
    """Names of the keyword arguments `func` accepts (all of ours when it takes **kwargs)."""
    import inspect

    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return {"standardize", "method", "rng"}
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return {"standardize", "method", "rng"}
    return {p.name for p in params}


def _scalar(value):
    arr = np.asarray(value, dtype=float)
    return float(arr) if arr.size == 1 else float("nan")


def _flag(value) -> bool:
    arr = np.asarray(value, dtype=bool)
    return bool(arr) if arr.size == 1 else False


def run_one(func, name, data, *, standardize, n_resamples, seed, progress, multivariate):
    """Run one test; return (result or None, note, warning category or None)."""
    from .null import MonteCarlo

    accepted = _keywords(func)
    kwargs = {}
    if "standardize" in accepted:
        kwargs["standardize"] = standardize
    elif not standardize:  # e.g. henze_zirkler: composite null only
        return None, f"failed: {name} has no fully specified null (standardize=False)", RuntimeWarning
    if n_resamples is not None:
        kwargs["method"] = MonteCarlo(n_resamples=n_resamples, rng=seed, progress=progress)
    if multivariate and "rng" in accepted:
        kwargs["rng"] = seed
    notes, category = [], None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = func(data, **kwargs)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError, NotImplementedError) as exc:
            return None, f"failed: {_short(exc)}", RuntimeWarning
    reason = (getattr(result, "settings", None) or {}).get("method_reason")
    if reason:  # the test chose its own default below its law's calibrated n (sliced: MC where cheap)
        notes.append(reason)
    elif (multivariate and n_resamples is None and "method" in accepted and np.isfinite(result.statistic)
            and np.isnan(result.pvalue) and any(issubclass(w.category, SmallSampleWarning) for w in caught)):
        # below the default law's calibrated n (bhep, Henze–Zirkler): an exact Monte-Carlo p
        result = func(data, **kwargs, method=MonteCarlo(n_resamples=999, rng=seed, progress=progress))
        return result, "Monte-Carlo p (999 resamples): n below the limit law's calibrated size", None
    for w in caught:
        if reason and issubclass(w.category, SmallSampleWarning):
            category = SmallSampleWarning  # the reason above is the note
            continue
        if issubclass(w.category, SmallSampleWarning):
            notes.append(f"too few values (n={len(data)})")
            category = SmallSampleWarning
        elif issubclass(w.category, DegenerateDataWarning):
            notes.append("degenerate data (zero variance or singular covariance)")
            category = category or DegenerateDataWarning
        else:
            notes.append(_short(w.message))
    return result, "; ".join(dict.fromkeys(notes)), category


def empty_row(name, n, n_nan, note):
    return {"test": name, "n": n, "n_nan": n_nan, "statistic": np.nan, "pvalue": np.nan,
            "pvalue_upper_bound": False, "pvalue_adj": np.nan, "correction": "", "reject": pd.NA,
            "effect": np.nan, "method": "", "note": note}


def build_row(func, name, data, n_nan, standardize, n_resamples, seed, progress, *, multivariate):
    """(row dict, the result's ``to_dict()`` record or None, warning category or None)."""
    n = int(data.shape[0])
    if n == 0:
        note = "no values (all missing)" if n_nan else "no values"
        return empty_row(name, 0, n_nan, note), None, SmallSampleWarning
    if np.isinf(data).any():
        return empty_row(name, n, n_nan, "skipped: infinite values"), None, None
    result, note, cat = run_one(func, name, data, standardize=standardize, n_resamples=n_resamples, seed=seed,
                                progress=progress, multivariate=multivariate)
    if n_nan:
        what = "row(s) with missing values" if multivariate else "missing value(s)"
        dropped = f"{n_nan} {what} dropped"
        note = dropped if not note else f"{dropped}; {note}"
    row = empty_row(name, n, n_nan, note)
    if result is None:
        return row, None, cat
    row["statistic"] = _scalar(result.statistic)
    row["pvalue"] = _scalar(result.pvalue)
    row["pvalue_upper_bound"] = _flag(getattr(result, "pvalue_upper_bound", False))
    row["effect"] = _scalar(getattr(result, "effect", np.nan))
    row["method"] = str(getattr(result, "method", ""))
    to_dict = getattr(result, "to_dict", None)
    record = to_dict() if callable(to_dict) else None
    return row, record, cat


def null_in_words(record, standardize) -> str:
    """The joint test's null hypothesis in words (the note of the multivariate row); `record` from to_dict()."""
    std = record.get("standardize", standardize) if isinstance(record, dict) else standardize
    if std:
        return "H0: multivariate normal with unknown mean and covariance"
    return "H0: N(0, I), standard multivariate normal (zero mean, identity covariance)"


def adjust_pvalues(p, method, alpha):
    """(reject, adjusted p-values) of finite `p`, as :func:`statsmodels.stats.multitest.multipletests`.

    Holm and Bonferroni, the defaults of ``check`` and the CLI, are computed
    here: importing statsmodels' multitest (and with it scipy.stats) costs
    about half a second, a third of a cold ``normtest check``. Tested equal to
    statsmodels (``tests/test_frame.py``).
    """
    p = np.asarray(p, dtype=float)
    m = p.size
    if method == "bonferroni":
        out = np.minimum(p * m, 1.0)
        return out <= alpha, out
    if method == "holm":
        order = np.argsort(p, kind="stable")
        out = np.empty(m)
        out[order] = np.maximum.accumulate(np.minimum((m - np.arange(m)) * p[order], 1.0))
        return out <= alpha, out
    from statsmodels.stats.multitest import multipletests

    rej, out, _, _ = multipletests(p, alpha=alpha, method=method)  # two-stage methods depend on alpha
    return np.asarray(rej, dtype=bool), out


def correct(table, alpha, correction, family):
    """Fill ``pvalue_adj``, ``correction`` and ``reject`` in place.

    ``family="test"``: one correction per test over its finite p-values (all
    columns and groups), never over several tests of the same column;
    ``family="all"``: one correction over every finite p-value of the table.
    """
    p = table["pvalue"].to_numpy(dtype=float)
    ok = np.isfinite(p)
    adj = np.full(p.shape, np.nan)
    label = np.full(p.shape, "", dtype=object)
    reject = pd.array([pd.NA] * p.size, dtype="boolean")
    tests = table["test"].to_numpy()
    families = [ok] if family == "all" else [ok & (tests == t) for t in dict.fromkeys(tests)]
    for members in families:
        m = int(members.sum())
        if m == 0:
            continue
        if correction == "none":
            adj[members] = p[members]
            rej = p[members] <= alpha
            label[members] = "none"
        else:
            rej, padj = adjust_pvalues(p[members], correction, alpha)
            adj[members] = padj
            what = "p-values" if family == "all" else f"{tests[members][0]} p-values"
            label[members] = f"{correction} over {m} {what}"
        reject[np.flatnonzero(members)] = np.asarray(rej, dtype=bool)
    table["pvalue_adj"] = adj
    table["correction"] = label
    table["reject"] = reject


def finish_table(rows, index, *, alpha, correction, family, settings, seed, records, categories, stacklevel):
    """The table of :func:`normtest.check` from its rows (in memory or from an engine).

    Column dtypes, the multiple-testing correction, the index, ``attrs["normtest"]``
    (version, settings, seed, per-row records) and one warning per kind of NaN row.
    """
    from ._version import __version__

    table = pd.DataFrame(rows, columns=COLUMNS)
    table["n"] = table["n"].astype("int64")
    table["n_nan"] = table["n_nan"].astype("int64")
    for c in ("statistic", "pvalue", "pvalue_adj", "effect"):
        table[c] = table[c].astype("float64")
    table["pvalue_upper_bound"] = table["pvalue_upper_bound"].astype(bool)
    correct(table, alpha, correction, family)
    table.index = index
    table.attrs["normtest"] = {"version": __version__, "settings": settings, "seed": seed, "records": records}
    warn_nan_rows(categories, stacklevel + 1)
    return table


# ---------------------------------------------------------------------------
# renderings (the command line)
# ---------------------------------------------------------------------------

def _clean(value):
    """JSON-safe copy: NaN/inf -> None, numpy scalars -> Python, tuples -> lists."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is pd.NA:
        return None
    if value is not None and not isinstance(value, (str, int, float, bool)):
        return str(value)
    return value


def table_to_json(table, source) -> str:
    """Deterministic JSON document of a check table (same input and seed -> same bytes)."""
    meta = table.attrs.get("normtest", {})
    flat = table.reset_index()
    rows = []
    records = meta.get("records") or [None] * len(flat)
    for (_, row), record in zip(flat.iterrows(), records):
        item = {k: row[k] for k in flat.columns}
        item["reject"] = None if row["reject"] is pd.NA else bool(row["reject"])
        item["pvalue_upper_bound"] = bool(row["pvalue_upper_bound"])
        item["record"] = record
        rows.append(item)
    doc = {"normtest": meta.get("version"), "source": source, "settings": meta.get("settings"),
           "seed": meta.get("seed"), "results": rows}
    return json.dumps(_clean(doc), indent=2, sort_keys=True, allow_nan=False)


def table_to_csv(table) -> str:
    """CSV of a check table; the adjusted p-value's header names the correction (``pvalue_holm``)."""
    correction = table.attrs.get("normtest", {}).get("settings", {}).get("correction", "none")
    flat = table.reset_index()
    flat["reject"] = flat["reject"].astype(object).where(flat["reject"].notna(), None)
    flat["pvalue_upper_bound"] = flat["pvalue_upper_bound"].astype(bool)
    if correction == "none":
        flat = flat.drop(columns=["pvalue_adj"])
    else:
        flat = flat.rename(columns={"pvalue_adj": f"pvalue_{correction.replace('-', '_')}"})
    return flat.to_csv(index=False)


def fmt_p(p, bound=False) -> str:
    """A p-value for reading: 4 decimals, or 2 significant digits when small; ``< b`` for a bound."""
    if p is None or not math.isfinite(p):
        return "-"
    text = f"{p:.1e}" if p < 1e-4 else f"{p:.4f}"
    return f"< {text}" if bound else text


def table_to_text(table, source, *, n_rows) -> str:
    """A readable fixed-width rendering: one line per column (and group); raw and adjusted p per test."""
    meta = table.attrs.get("normtest", {})
    settings = meta.get("settings", {})
    correction, alpha = settings.get("correction", "none"), settings.get("alpha", 0.05)
    family = settings.get("family", "test")
    flat = table.reset_index()
    label_cols = [c for c in flat.columns if c not in table.columns]
    tests = list(dict.fromkeys(flat["test"]))
    keys = [tuple(r) for r in flat[label_cols].itertuples(index=False)]
    by_key = {k: {} for k in keys}
    for (_, row), key in zip(flat.iterrows(), keys):
        by_key[key][row["test"]] = row

    adjusted = correction != "none"
    # cells are keyed by (test, "raw"/"adj"); several adjusted columns share the header "holm p"
    heads = {t: ((t, "raw"), (t, "adj") if adjusted else None) for t in tests}
    cols = [*label_cols, "n"]
    for t in tests:
        cols += [h for h in heads[t] if h]
    cols += ["normality", "note"]
    cells = {c: [] for c in cols}
    skipped, methods, bounds = {}, {}, False
    n_rejected = n_decided = 0
    for key in dict.fromkeys(keys):
        entries = by_key[key]
        notes = list(dict.fromkeys(str(e["note"]) for e in entries.values() if e["note"]))
        empty = all(int(e["n"]) == 0 for e in entries.values())
        if notes and empty and all(n.startswith("skipped:") for n in notes):
            skipped.setdefault(key[-1], notes[0][len("skipped:"):].strip())
            continue
        for c, v in zip(label_cols, key):
            cells[c].append(str(v))
        cells["n"].append(str(max(int(e["n"]) for e in entries.values())))
        decided = rejected = False
        for t in tests:
            raw_head, adj_head = heads[t]
            e = entries.get(t)
            if e is None:
                cells[raw_head].append("")
                if adj_head:
                    cells[adj_head].append("")
                continue
            bound = bool(e["pvalue_upper_bound"])
            bounds = bounds or bound
            mark = "*" if e["reject"] is not pd.NA and bool(e["reject"]) else " "
            raw = fmt_p(e["pvalue"], bound)
            if adj_head:
                cells[raw_head].append(raw)
                cells[adj_head].append(fmt_p(e["pvalue_adj"], bound) + mark if math.isfinite(e["pvalue_adj"])
                                       else "-  ")
            else:
                cells[raw_head].append(raw + mark if math.isfinite(e["pvalue"]) else "-  ")
            if e["reject"] is not pd.NA:
                decided = True
                rejected = rejected or bool(e["reject"])
            if e["method"]:
                methods.setdefault(t, []).append(str(e["method"]))
        n_rejected += rejected
        n_decided += decided
        cells["normality"].append("rejected" if rejected else ("not rejected" if decided else "-"))
        cells["note"].append("; ".join(notes))
    if not any(cells["note"]):
        cols.remove("note")
    def header(c):
        return c if isinstance(c, str) else (f"{c[0]} p" if c[1] == "raw" else f"{correction} p")

    shown = [(header(c), cells[c], c == "n" or not isinstance(c, str)) for c in cols]

    h0 = ("normal with unknown mean and variance" if settings.get("standardize", True)
          else "exactly N(0, 1)")
    if not adjusted:
        how = "Cells are raw p-values (no correction)"
    elif family == "all":
        how = f"'{correction} p' is {correction}-adjusted over every p-value of the table"
    else:
        how = f"'{correction} p' is {correction}-adjusted within each test, over the columns"
    lines = [
        f"{source}, {n_rows} rows",
        f"H0: each column is {h0} (normtest {meta.get('version', '')}).",
        "",
        _render(shown),
        "",
        f"{how}; * = rejected at alpha = {alpha:g}. Seed {meta.get('seed')}.",
    ]
    if bounds:
        lines.append("'< p': the p-value is below p (p is an upper bound, as far as the null law is accurate).")
    if methods:
        lines.append("p-value methods: " + ", ".join(f"{t} ({', '.join(dict.fromkeys(m))})"
                                                    for t, m in methods.items()) + ".")
    if skipped:
        lines.append("Skipped: " + "; ".join(f"{c}, {why}" for c, why in skipped.items()) + ".")
    lines.append(f"Normality rejected for {n_rejected} of {n_decided} tested (by at least one test)."
                 if n_decided else "No test gave a p-value.")
    return "\n".join(lines) + "\n"


def _render(columns) -> str:
    """Fixed-width text of ``[(header, cells, right_aligned), ...]`` (headers may repeat)."""
    widths = [max(len(h), *(len(v) for v in vals)) if vals else len(h) for h, vals, _ in columns]

    def line(texts):
        return "  ".join(t.rjust(w) if right else t.ljust(w)
                         for t, w, (_, _, right) in zip(texts, widths, columns)).rstrip()

    out = [line([h for h, _, _ in columns]), "  ".join("-" * w for w in widths)]
    for i in range(len(columns[0][1]) if columns else 0):
        out.append(line([vals[i] for _, vals, _ in columns]))
    return "\n".join(out)


def warn_nan_rows(categories, stacklevel):
    """One warning per kind of row whose result is NaN (``categories``: warning class -> count)."""
    import warnings

    from ._validate import DegenerateDataWarning, SmallSampleWarning

    for cat, count in categories.items():
        what = {SmallSampleWarning: "too small for the test",
                DegenerateDataWarning: "degenerate (constant)"}.get(cat, "failed")
        warnings.warn(f"normtest.check: {count} row(s) {what}; their results are NaN "
                      "(see the `note` column).", cat, stacklevel=stacklevel + 1)
