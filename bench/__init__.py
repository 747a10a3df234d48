"""The performance harness: ``make bench`` / ``make bench-quick`` (``python -m bench [--quick]``); docs/performance.md."""
