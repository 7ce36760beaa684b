"""Progress bars for long work, shown only when asked for.

tqdm is an optional dependency (the ``progress`` extra). It is imported only
when a bar is actually shown, and the bar is created without ``disable=`` so
that the user's environment (``TQDM_DISABLE=1`` and friends, tqdm >= 4.66)
keeps the last word.
"""

from __future__ import annotations

__all__ = ["progress_bar", "stderr_is_terminal"]


class _NoBar:
    """Stand-in with the part of tqdm's interface we use; does nothing."""

    def update(self, n=1):
        pass

    def set_postfix_str(self, s="", refresh=True):
        pass

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def progress_bar(show: bool, *, total: int, desc: str, unit: str = "it"):
    """A tqdm.auto bar when `show` is true, else a do-nothing object.

    Raises ImportError naming the ``progress`` extra when tqdm is missing.
    """
    if not show:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:  # pragma: no cover - exercised by a test that hides tqdm
        raise ImportError(
            "progress bars need tqdm: install it with `pip install tqdm` or "
            "`pip install 'normtest[progress]'`, or pass progress=False."
        ) from exc
    return tqdm(total=total, desc=desc, unit=unit, leave=False)


def stderr_is_terminal() -> bool:
    """True when standard error is an interactive terminal (the CLI's default for bars)."""
    import sys

    stream = sys.stderr
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):
        return False
