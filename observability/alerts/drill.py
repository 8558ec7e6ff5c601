"""The latency alert drill: a synthetic ``drill:`` source breaches, escalates and recovers through the real path.

Everything runs in a scratch workspace (never the real one): synthetic samples for the source
``drill:feed`` in the last four 15-minute windows are fed to the real latency job in three steps
(2 breaching windows → warning, a 3rd → critical, a good one → resolved), and after each step the
real inbox syncs that workspace in drill mode (issues labelled ``drill``, mirrors called). The drill
passes when the transitions are exactly opened → escalated → resolved.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from observability import clock, fsio
from observability.alerts.sources import DRILL_PREFIX

SOURCE = DRILL_PREFIX + "feed"
SLO_MS = 1000.0  # the drill's own SLO (beats LATENCY_SLO_MS and any config): 5 s breaches, 0.1 s does not
LOG = "logs/drill_signal_notifier.csv"
STEPS = (("opened", (4, 3), 5000.0), ("escalated", (2,), 5000.0), ("resolved", (1,), 100.0))


@dataclass
class DrillStep:
    expected: str
    actions: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.actions == [self.expected]


def _rows(now, windows_back: tuple[int, ...], latency_ms: float) -> str:
    start = clock.floor(now, 15)
    lines = []
    for back in windows_back:
        window = start - timedelta(minutes=15 * back)
        for minute in (1, 5, 9):
            lines.append(f"{clock.iso(window + timedelta(minutes=minute))},{latency_ms},success,drill,{SOURCE}\n")
    return "".join(lines)


def scratch_dir(keep: str | None) -> Path:
    if keep:
        from observability.errors import ConfigError

        path = Path(keep)
        if path.exists() and not path.is_dir():
            raise ConfigError(f"--scratch {keep}: is a file, expected a directory (empty or missing)")
        if path.exists() and any(path.iterdir()):
            raise ConfigError(f"--scratch {keep}: must be empty or missing (the drill never reuses a workspace)")
        path.mkdir(parents=True, exist_ok=True)
        return path
    return Path(tempfile.mkdtemp(prefix="observability-drill-"))


def feed(scratch: Path, now, step: int) -> None:
    """Append the synthetic samples of drill step ``step`` to the scratch log."""
    _, windows_back, latency_ms = STEPS[step]
    path = scratch / LOG
    data = ("timestamp_utc,latency_ms,status,detail,source\n" if not path.exists() else "") + _rows(
        now, windows_back, latency_ms
    )
    fsio.append_bytes(path, data.encode("utf-8"))
