"""Command line: ``normtest check FILE`` and ``normtest demo``.

Also runs as ``python -m normtest``. Exit status of ``check``: 0 when no
column is rejected, 1 when any is, 2 on a usage or input error (one line on
stderr, no traceback). ``demo`` exits 0 (2 on an error): a rejection is its
result, not a failure.
"""

from __future__ import annotations

import argparse
import os
import re
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
    from .frame import CORRECTIONS, FAMILIES, UNIVARIATE_TESTS, _available

    univariate, joint = _available(False), _available(True)  # with the tests registered at run time

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
                       help=f"test(s) to run, repeatable or comma-separated: {', '.join(univariate)} "
                            f"(default: {', '.join(UNIVARIATE_TESTS)}; epps_pulley with --engine dask/spark)")
        p.add_argument("--alpha", type=float, default=0.05, help="level of the decisions (default 0.05)")
        p.add_argument("--correction", default="holm", choices=CORRECTIONS, metavar="METHOD",
                       help="multiple-testing correction (a statsmodels multipletests method, or none; "
                            "default holm)")
        p.add_argument("--family", default="test", choices=FAMILIES,
                       help="p-values corrected together: 'test' = each test over the columns (default), "
                            "'all' = every p-value of the table")
        p.add_argument("--multivariate", action="store_true",
                       help="add a joint test of the selected columns (sliced Epps-Pulley by default)")
        p.add_argument("--multivariate-test", choices=joint, default=None, metavar="TEST",
                       help=f"the joint test: {', '.join(joint)} (implies --multivariate)")
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
    check.add_argument("--sep", default=None, metavar="CHAR",
                       help="CSV field separator (default: sniffed from the file: , ; tab or |)")
    check.add_argument("--decimal", default=None, metavar="CHAR",
                       help="decimal mark of a CSV file (default '.', or ',' for ';'-separated files "
                            "written with decimal commas)")
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
_SEPARATORS = ",;\t|"


def sniff_csv(sample: str):
    """(separator, decimal mark) of CSV text from its first lines; (",", ".") when unsure."""
    import csv

    lines = [ln for ln in sample.splitlines()[:50] if ln.strip()]
    if len(lines) > 1 and not sample.endswith("\n"):
        lines = lines[:-1]  # the last line of a partial read may be cut
    try:
        sep = csv.Sniffer().sniff("\n".join(lines), delimiters=_SEPARATORS).delimiter
    except csv.Error:
        sep = ","
    body = "\n".join(lines[1:])
    decimal = "," if sep != "," and re.search(r"\d,\d", body) and not re.search(r"\d\.\d", body) else "."
    return sep, decimal


def read_table(path: str, sep=None, decimal=None):
    """Read a CSV/TSV or Parquet file into a DataFrame; raise InputError with a readable message.

    The separator of a CSV file is sniffed from its first lines unless `sep`
    is given (the ``--sep`` option); a ``.tsv`` file defaults to tabs.
    """
    import io

    import pandas as pd

    errors = (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError, OSError)
    if path == "-":
        text = sys.stdin.read()
        guess = sniff_csv(text[:65536])
        try:
            return pd.read_csv(io.StringIO(text), sep=sep or guess[0], decimal=decimal or guess[1])
        except errors as exc:
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
        try:
            if sep is None or decimal is None:
                guess = ("\t", ".") if name.endswith(".tsv") else sniff_csv(_head(path))
                if decimal is None:  # a decimal comma only with another separator
                    decimal = guess[1] if (sep or guess[0]) == guess[0] else "."
                sep = sep or guess[0]
            return pd.read_csv(path, sep=sep, decimal=decimal)
        except errors as exc:
            raise InputError(f"cannot read {path!r} as CSV: {_one_line(exc)}") from None
    raise InputError(f"cannot read {path!r}: expected a .csv, .tsv or .parquet file")


def _head(path, size=65536) -> str:
    """The first `size` characters of a (possibly compressed) text file, for sniffing."""
    import pandas as pd

    with pd.io.common.get_handle(path, "r", compression="infer", encoding="utf-8",
                                 errors="replace") as handles:
        return handles.handle.read(size)


def _one_line(exc) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


def load_demo():
    """The demo data: US state crime rates and demographics, 2009 (statsmodels, offline)."""
    from statsmodels.datasets import statecrime

    df = statecrime.load_pandas().data
    return df, "US states 2009: crime rates and demographics (statsmodels.datasets.statecrime)"


# ---------------------------------------------------------------------------
# commands
# ---------------------------------------------------------------------------

def _run(df, source, args) -> int:
    from . import frame
    from ._progress import stderr_is_terminal
    from ._tables import table_to_csv, table_to_json, table_to_text

    progress = stderr_is_terminal() if args.progress is None else args.progress
    if args.seed is None:  # fresh entropy, kept short enough to read and retype from the table
        import secrets

        args.seed = secrets.randbelow(2**32)
    engine = getattr(args, "engine", "pandas")
    # on dask/Spark only the additive ECF tests run (the EDF tests need a global sort): the default
    # asks for those; an EDF test asked for by name still gets its row with the note saying why
    tests = _split(args.test) or (list(frame.UNIVARIATE_TESTS) if engine == "pandas" else ["epps_pulley"])
    kwargs = dict(
        tests=tests, standardize=not args.simple, alpha=args.alpha, correction=args.correction,
        family=args.family, multivariate=args.multivariate_test or bool(args.multivariate),
        n_resamples=args.n_resamples, rng=args.seed, progress=progress,
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
        text = table_to_csv(table)
    else:
        n_rows = len(df) if type(df).__module__.startswith("pandas") else int((table["n"] + table["n_nan"]).max())
        text = table_to_text(table, source, n_rows=n_rows)
    sys.stdout.write(text)
    sys.stdout.flush()
    if args.command == "demo":
        return EXIT_OK  # the demo shows results; a rejection is not a failure
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
            df = read_table(args.file, sep=_unescape(args.sep), decimal=args.decimal)
            source = args.file
        return _run(df, source, args)
    except KeyboardInterrupt:
        print("normtest: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `normtest check x.csv | head`
        return EXIT_OK
    except (InputError, ValueError, TypeError, ImportError, OSError) as exc:
        print(f"normtest: error: {_one_line(cli_terms(exc, args.command))}", file=sys.stderr)
        return EXIT_ERROR


def _unescape(sep):
    """``--sep '\\t'`` (as typed in a shell) means a tab."""
    return {"\\t": "\t", "tab": "\t", "\\s+": r"\s+"}.get(sep, sep) if sep is not None else None


#: Python parameter names of ``normtest.check`` -> the command-line options that set them.
_FLAGS = {"tests": "--test", "columns": "--columns", "by": "--by", "alpha": "--alpha",
          "correction": "--correction", "family": "--family", "multivariate": "--multivariate-test",
          "n_resamples": "--n-resamples", "rng": "--seed", "progress": "--progress",
          "standardize": "--simple"}


def cli_terms(exc, command="check") -> str:
    """An error message of the Python API in the command line's terms (flags, "the file")."""
    text = str(exc)
    data = "the demo data" if command == "demo" else "the file"
    text = re.sub(r"`(\w+)`", lambda m: _FLAGS.get(m.group(1), data if m.group(1) == "df" else f"'{m.group(1)}'"),
                  text)
    if "numeric column" in text and command == "check":
        first, _, rest = text.partition(". ")
        text = f"{first} (wrong separator? give it with --sep, e.g. --sep ';'). {rest}"
    return text


if __name__ == "__main__":
    sys.exit(main())
