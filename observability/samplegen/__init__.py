"""Deterministic synthetic upstream inputs for the bundled sample workspace, tests and benchmarks.

``notifier``: the signal notifier logs the latency job samples (``python -m observability.samplegen.notifier DIR``).
``weekly``: the runs, reports, portfolio summary and rollups weekly reads (``python -m observability.samplegen.weekly DIR``).
"""
