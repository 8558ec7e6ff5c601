"""Deterministic synthetic signal logs: the bundled sample workspace, tests and benchmarks.

``python -m observability.samplegen.notifier DIR`` rewrites the sample logs under DIR
(ops-template/sample in this repository).
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from observability.clock import UTC, iso

SAMPLE_START = datetime(2026, 1, 5, tzinfo=UTC)
SAMPLE_END = datetime(2026, 1, 8, tzinfo=UTC)
SAMPLE_NOW = SAMPLE_END + timedelta(minutes=7)  # the demo's clock: just after the last sample


@dataclass(frozen=True)
class Episode:
    """Samples of ``source`` between start and end get ``latency_ms``/``status`` instead of normal."""

    source: str
    start: datetime
    end: datetime
    latency_ms: float | None = None
    status: str | None = None


def rows(
    start: datetime,
    end: datetime,
    sources: list[str],
    *,
    step: timedelta,
    seed: int = 7,
    base_ms: float = 1800.0,
    episodes: tuple[Episode, ...] = (),
) -> list[tuple[datetime, str, float, str, str]]:
    """(timestamp, source, latency_ms, status, detail) for every source at every step, time-ordered."""
    rng = random.Random(seed)
    out = []
    moment = start
    while moment < end:
        for source in sources:
            latency = max(5.0, rng.gauss(base_ms, base_ms * 0.25))
            status, detail = "success", ""
            if rng.random() < 0.004:
                status, detail = "failure", "ack timeout"
            for ep in episodes:
                if ep.source == source and ep.start <= moment < ep.end:
                    if ep.latency_ms is not None:
                        latency = ep.latency_ms * rng.uniform(0.95, 1.1)
                    if ep.status is not None:
                        status, detail = ep.status, f"synthetic {ep.status}"
            out.append((moment, source, round(latency, 3), status, detail))
        moment += step
    return out


def write_current(path: Path, data) -> None:
    """Upstream notifier format: timestamp_utc,latency_ms,status,detail,source."""
    lines = ["timestamp_utc,latency_ms,status,detail,source"]
    lines += [f"{iso(t)},{latency:.6f},{status},{detail},{source}" for t, source, latency, status, detail in data]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_legacy(path: Path, data) -> None:
    """Legacy notifier format: signal_id,ts_emit,ts_ack,status,detail."""
    lines = ["signal_id,ts_emit,ts_ack,status,detail"]
    for i, (t, _source, latency, status, detail) in enumerate(data):
        ack = t + timedelta(milliseconds=latency)
        lines.append(f"sig{i:06d},{t.isoformat()},{ack.isoformat()},{status},{detail}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def sample_workspace_logs(directory: Path) -> None:
    """The bundled sample: three feeds over three days with a breach episode, an error burst,
    and a breach still under way at the end; plus a legacy-format notifier log."""
    day = timedelta(days=1)
    episodes = (
        Episode(
            "broker_api",
            SAMPLE_START + day + timedelta(hours=9),
            SAMPLE_START + day + timedelta(hours=10),
            latency_ms=185000.0,
        ),
        Episode(
            "dukascopy",
            SAMPLE_START + 2 * day + timedelta(hours=3),
            SAMPLE_START + 2 * day + timedelta(hours=3, minutes=20),
            status="error",
        ),
        Episode("router_demo", SAMPLE_END - timedelta(minutes=50), SAMPLE_END, latency_ms=150000.0),
    )
    data = rows(
        SAMPLE_START,
        SAMPLE_END,
        ["broker_api", "dukascopy", "router_demo"],
        step=timedelta(minutes=5),
        episodes=episodes,
    )
    write_current(directory / "signal_notifier.csv", data)
    legacy = rows(SAMPLE_START, SAMPLE_END, ["notifier"], step=timedelta(minutes=15), seed=11, base_ms=900.0)
    write_legacy(directory / "signal_notifier.legacy.csv", legacy)


if __name__ == "__main__":
    sample_workspace_logs(Path(sys.argv[1] if len(sys.argv) > 1 else "ops-template/sample"))
