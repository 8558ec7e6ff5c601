"""Dashboard datasets: export four datasets with a versioned manifest, keep history, verify the bundle."""

from __future__ import annotations

DATASETS = ("ev_history", "slippage", "turnover", "latency")
