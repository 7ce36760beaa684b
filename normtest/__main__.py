"""Command line: ``normtest check FILE`` and ``normtest demo``.

Also runs as ``python -m normtest``. Exit status: 0 when no column is
rejected, 1 when any is, 2 on a usage or input error (one line on stderr,
no traceback).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings

__all__ = ["main"]

EXIT_OK, EXIT_REJECTED, EXIT_ERROR = 0, 1, 2


class InputError(Exception):
    """A problem with the user's input (file, columns, options): exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (exit status 2, as argparse does)."""

    def error(self, message):
        self.exit(EXIT_ERROR, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _split(values):
    """``["a,b", "c"]`` -> ``["a", "b", "c"]`` (repeated and comma-separated options)."""
    if values is None:
        return None
    out = []
    for v in values:
        out.extend(part.strip() for part in v.split(",") if part.strip())
    return out


def _build_parser():
    from ._version import __version__
    from .frame import CORRECTIONS, MULTIVARIATE_TESTS, UNIVARIATE_TESTS

    parser = _Parser(
        prog="normtest",
        description="Tests of normality for the columns of a table.",
        epilog="Exit status: 0 no column rejected, 1 some column rejected, 2 usage or input error.",
    )
    parser.add_argument("--version", action="version", version=f"normtest {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{check,demo}", parser_class=_Parser)
    sub.required = True

    def common(p):
        p.add_argument("--test", action="append", metavar="NAME",
                       help=f"test(s) to run, repeatable or comma-separated: {', '.join(UNIVARIATE_TESTS)} "
                            "(default: all three)")
        p.add_argument("--alpha", type=float, default=0.05, help="level of the decisions (default 0.05)")
        p.add_argument("--correction", default="holm", choices=CORRECTIONS, metavar="METHOD",
                       help="multiple-testing correction (a statsmodels multipletests method, or none; "
                            "default holm)")
        p.add_argument("--multivariate", action="store_true",
                       help="add a joint test of the selected columns (sliced Epps-Pulley by default)")
        p.add_argument("--multivariate-test", choices=MULTIVARIATE_TESTS, default=None, metavar="TEST",
                       help=f"the joint test: {', '.join(MULTIVARIATE_TESTS)} (implies --multivariate)")
        p.add_argument("--simple", action="store_true",
                       help="test the fully specified N(0, 1) instead of "
                            "'normal with unknown mean and variance'")
        p.add_argument("--n-resamples", type=int, default=None, metavar="B",
                       help="Monte-Carlo p-values from B null samples (default: each test's own p-value)")
        p.add_argument("--seed", type=int, default=None,
                       help="seed of every random choice (recorded in the output; default: fresh entropy)")
        p.add_argument("--format", choices=("table", "json", "csv"), default="table", help="output format")
        p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="show progress bars (default: on when stderr is a terminal)")

    check = sub.add_parser("check", help="test the numeric columns of a CSV or Parquet file",
                           description="Test the numeric columns of a CSV or Parquet file for normality.")
    check.add_argument("file", help="a .csv/.tsv file (optionally compressed), a .parquet file, "
                                    "or - for CSV on stdin")
    check.add_argument("--columns", action="append", metavar="A,B", help="columns to test (default: all)")
    check.add_argument("--by", action="append", metavar="COL",
                       help="test each group of these columns separately")
    check.add_argument("--engine", choices=("pandas", "dask", "spark"), default="pandas",
                       help="run out of core on dask or Spark (FILE may then be a glob such as "
                            "'data/*.parquet'; the ECF tests run, see the docs' cluster page)")
    check.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="dask scheduler (tcp://host:8786) or Spark master (spark://host:7077); "
                            "default: on this machine")
    common(check)

    demo = sub.add_parser("demo", help="run the checks on a real dataset bundled with statsmodels",
                          description="Check the US state crime data of statsmodels "
                                      "(51 states, 7 variables).")
    common(demo)
    demo.set_defaults(seed=0, multivariate=True)
    return parser


# ---------------------------------------------------------------------------
# input
# ---------------------------------------------------------------------------

_COMPRESSION = (".gz", ".bz2", ".xz", ".zip", ".zst", ".tar")


def read_table(path: str):
    """Read a CSV/TSV or Parquet file into a DataFrame; raise InputError with a readable message."""
    import pandas as pd

    if path == "-":
        try:
            return pd.read_csv(sys.stdin)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"cannot read CSV from stdin: {_one_line(exc)}") from None
    if not os.path.exists(path):
        raise InputError(f"cannot read {path!r}: no such file")
    if os.path.isdir(path):
        raise InputError(f"cannot read {path!r}: it is a directory")
    name = path.lower()
    for ext in _COMPRESSION:
        if name.endswith(ext):
            name = name[: -len(ext)]
            break
    if name.endswith((".parquet", ".pq")):
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError(
                "reading Parquet files needs pyarrow: pip install 'normtest[parquet]' (or pyarrow)"
            ) from None
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a corrupt file
            raise InputError(f"cannot read {path!r} as Parquet: {_one_line(exc)}") from None
    if name.endswith((".csv", ".tsv", ".txt")):
        sep = "\t" if name.endswith(".tsv") else ","
        try:
            return pd.read_csv(path, sep=sep)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError,
                OSError) as exc:
            raise InputError(f"cannot read {path!r} as CSV: {_one_line(exc)}") from None
    raise InputError(f"cannot read {path!r}: expected a .csv, .tsv or .parquet file")


def _one_line(exc) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


def load_demo():
    """The demo data: US state crime rates and demographics, 2009 (statsmodels, offline)."""
    from statsmodels.datasets import statecrime

    df = statecrime.load_pandas().data
    return df, "US states 2009: crime rates and demographics (statsmodels.datasets.statecrime)"


# ---------------------------------------------------------------------------
# output
# ---------------------------------------------------------------------------

def _clean(value):
    """JSON-safe copy: NaN/inf -> None, numpy scalars -> Python, tuples -> lists."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is not None and not isinstance(value, (str, int, float, bool)):
        try:
            import pandas as pd

            if value is pd.NA:
                return None
        except ImportError:  # pragma: no cover
            pass
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
        item["reject"] = None if row["reject"] is None or row["reject"] is _na() else bool(row["reject"])
        item["record"] = record
        rows.append(item)
    doc = {"normtest": meta.get("version"), "source": source, "settings": meta.get("settings"),
           "seed": meta.get("seed"), "results": rows}
    return json.dumps(_clean(doc), indent=2, sort_keys=True, allow_nan=False)


def _na():
    import pandas as pd

    return pd.NA


def _fmt_p(p) -> str:
    if p is None or not math.isfinite(p):
        return "-"
    if p < 1e-4:
        return f"{p:.1e}"
    return f"{p:.4f}"


def _fmt_stat(x) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:.4g}"


def table_to_text(table, source, *, n_rows, correction, alpha) -> str:
    """A readable fixed-width rendering: one line per column (and group), one p-value per test."""
    import pandas as pd

    meta = table.attrs.get("normtest", {})
    settings = meta.get("settings", {})
    flat = table.reset_index()
    label_cols = [c for c in flat.columns if c not in table.columns]
    tests = list(dict.fromkeys(flat["test"]))
    keys = list(dict.fromkeys(tuple(r) for r in flat[label_cols].itertuples(index=False)))
    by_key = {k: {} for k in keys}
    for (_, row), key in zip(flat.iterrows(), (tuple(r) for r in flat[label_cols].itertuples(index=False))):
        by_key[key][row["test"]] = row

    skipped = {}
    cols = [*label_cols, "n", *tests, "normality", "note"]
    cells = {c: [] for c in cols}
    methods = {}
    n_rejected = n_decided = 0
    for key in keys:
        entries = by_key[key]
        notes = list(dict.fromkeys(str(e["note"]) for e in entries.values() if e["note"]))
        empty = all(int(e["n"]) == 0 for e in entries.values())
        if notes and empty and all(n.startswith("skipped:") for n in notes):
            skipped.setdefault(key[-1], notes[0][len("skipped:"):].strip())
            continue
        for c, v in zip(label_cols, key):
            cells[c].append(str(v))
        cells["n"].append(str(max(int(e["n"]) for e in entries.values())))
        decided, rejected = False, False
        for t in tests:
            e = entries.get(t)
            if e is None:
                cells[t].append("")
                continue
            p = e["pvalue_adj"]
            mark = "*" if e["reject"] is not pd.NA and bool(e["reject"]) else " "
            cells[t].append(_fmt_p(p) + mark if math.isfinite(p) else "-  ")
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
    shown = pd.DataFrame({c: cells[c] for c in cols})

    h0 = ("normal with unknown mean and variance" if settings.get("standardize", True)
          else "exactly N(0, 1)")
    adj = "p-values" if correction == "none" else f"{correction}-adjusted p-values"
    lines = [
        f"{source}, {n_rows} rows",
        f"H0: each column is {h0} (normtest {meta.get('version', '')}).",
        "",
        _render(shown, numeric={"n", *tests}),
        "",
        f"Cells are {adj}; * = rejected at alpha = {alpha:g}. Seed {meta.get('seed')}.",
    ]
    if methods:
        lines.append("p-value methods: " + ", ".join(f"{t} ({', '.join(dict.fromkeys(m))})"
                                                    for t, m in methods.items()) + ".")
    if skipped:
        lines.append("Skipped: " + "; ".join(f"{c}, {why}" for c, why in skipped.items()) + ".")
    lines.append(f"Normality rejected for {n_rejected} of {n_decided} tested."
                 if n_decided else "No test gave a p-value.")
    return "\n".join(lines) + "\n"


def _render(frame, numeric=()) -> str:
    cols = list(frame.columns)
    widths = {c: max(len(str(c)), *(len(v) for v in frame[c])) if len(frame) else len(str(c)) for c in cols}

    def cell(c, v):
        return v.rjust(widths[c]) if c in numeric else v.ljust(widths[c])

    out = ["  ".join(cell(c, str(c)) for c in cols).rstrip()]
    out.append("  ".join("-" * widths[c] for c in cols))
    for _, row in frame.iterrows():
        out.append("  ".join(cell(c, row[c]) for c in cols).rstrip())
    return "\n".join(out)


# ---------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------

def _run(df, source, args) -> int:
    from . import frame
    from ._progress import stderr_is_terminal

    progress = stderr_is_terminal() if args.progress is None else args.progress
    if args.seed is None:  # fresh entropy, kept short enough to read and retype from the table
        import secrets

        args.seed = secrets.randbelow(2**32)
    tests = _split(args.test) or list(frame.UNIVARIATE_TESTS)
    kwargs = dict(
        tests=tests, standardize=not args.simple, alpha=args.alpha, correction=args.correction,
        multivariate=args.multivariate_test or bool(args.multivariate), n_resamples=args.n_resamples,
        rng=args.seed,
        progress=progress,
    )
    if getattr(args, "columns", None):
        kwargs["columns"] = _split(args.columns)
    if getattr(args, "by", None):
        by = _split(args.by)
        kwargs["by"] = by[0] if len(by) == 1 else by
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # every row's problem is in its `note`
        table = frame.check(df, **kwargs)
    if args.format == "json":
        text = table_to_json(table, source) + "\n"
    elif args.format == "csv":
        flat = table.reset_index()
        flat["reject"] = flat["reject"].astype(object).where(flat["reject"].notna(), None)
        text = flat.to_csv(index=False)
    else:
        n_rows = len(df) if type(df).__module__.startswith("pandas") else int((table["n"] + table["n_nan"]).max())
        text = table_to_text(table, source, n_rows=n_rows, correction=kwargs["correction"], alpha=args.alpha)
    sys.stdout.write(text)
    sys.stdout.flush()
    return EXIT_REJECTED if bool(table["reject"].fillna(False).astype(bool).any()) else EXIT_OK


def main(argv=None) -> int:
    """Entry point of the ``normtest`` command; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        if args.seed is not None and args.seed < 0:
            raise InputError(f"--seed must be a non-negative int. Got {args.seed} instead.")
        if args.command == "demo":
            df, source = load_demo()
        elif getattr(args, "engine", "pandas") != "pandas":
            from ._distributed import open_files

            df, source = open_files(args.file, args.engine, args.scheduler), args.file
        else:
            df = read_table(args.file)
            source = args.file
        return _run(df, source, args)
    except KeyboardInterrupt:
        print("normtest: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `normtest check x.csv | head`
        return EXIT_OK
    except (InputError, ValueError, TypeError, ImportError, OSError) as exc:
        print(f"normtest: error: {_one_line(_strip_backticks(exc))}", file=sys.stderr)
        return EXIT_ERROR


def _strip_backticks(exc) -> str:
    return str(exc).replace("`", "'")


if __name__ == "__main__":
    sys.exit(main())
