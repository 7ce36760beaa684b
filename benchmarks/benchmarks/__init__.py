"""asv benchmarks for normtest (run from ``benchmarks/``: ``asv run``; quick check: ``asv run --quick -E existing``)."""
