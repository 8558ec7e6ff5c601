"""SLO evaluation keyed by sample time: aligned windows, streaks and the alert state machine.

Each window's breach flag is a function of all samples in it, recomputed whenever the
window receives samples, so late samples never count twice. Streaks are derived from the
flags; windows are stepped in time order, so a run that catches up evaluates every
window it missed, in order. Windows with no samples neither break nor extend a streak.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from observability import alertitem
from observability.alertitem import RANK as _RANK
from observability.clock import iso, parse_iso
from observability.config.latency import LatencyConfig
from observability.errors import InputError
from observability.freshness import age_text
from observability.latency.stats import Stats

HORIZON = timedelta(hours=24)


def fingerprint(rule: str, source: str) -> str:
    return alertitem.fingerprint("latency", rule, source)


@dataclass(frozen=True)
class Window:
    """One evaluated SLO window of one source: breached or not, and the figures that decided it."""

    breach: bool
    p95_ms: float
    failure_rate: float
    errors: int
    count: int

    def pack(self) -> str:
        """``"breach,p95_ms,failure_rate,errors,count"``: one JSON string per window in the state, which
        holds 96 windows per source (a list per window cost 2-3x more to read and write at 1,000 sources)."""
        return (
            f"{int(self.breach)},{round(self.p95_ms, 3)!r},{round(self.failure_rate, 4)!r},{self.errors},{self.count}"
        )

    @classmethod
    def unpack(cls, packed: str | list) -> Window:
        if isinstance(packed, str):
            packed = packed.split(",")
            return cls(packed[0] == "1", float(packed[1]), float(packed[2]), int(packed[3]), int(packed[4]))
        # a state written before windows were packed as strings: [breach, p95_ms, failure_rate, errors, count]
        return cls(bool(packed[0]), float(packed[1]), float(packed[2]), int(packed[3]), int(packed[4]))


def breached(packed: str | list) -> bool:
    """The breach flag of a packed window (either form), without unpacking the rest."""
    return packed[0] == "1" if isinstance(packed, str) else bool(packed[0])


# A source's windows are stored as ONE string, oldest first: "<start>=<packed window>;<start>=...", each
# start an ISO second ("2025-10-11T11:15:00Z", 20 characters). A cycle decodes only the sources it
# steps; every other source's string is kept (and written back) as it is, and what the cycle needs of
# it -- the latest window, the latest breach, what expired -- is read off the string's ends.
KEY_LEN = 20


def decode_windows(windows: str | dict) -> dict:
    """``{start: packed window}`` of one source, from the string form or an older state's dict."""
    if isinstance(windows, dict):
        return {k: v if isinstance(v, str) else Window.unpack(v).pack() for k, v in windows.items()}
    if not windows:
        return {}
    found = dict(item.split("=", 1) for item in windows.split(";"))
    if any(len(k) != KEY_LEN or v.count(",") != 4 for k, v in found.items()):
        raise ValueError("not a windows string")
    return found


def encode_windows(windows: dict) -> str:
    return ";".join(f"{k}={windows[k]}" for k in sorted(windows))


def latest_window(windows: str | dict) -> tuple[str, str] | None:
    """(start, packed window) of the latest window, without decoding the others."""
    if isinstance(windows, dict):
        if not windows:
            return None
        key = max(windows)
        return key, windows[key]
    if not windows:
        return None
    last = windows[windows.rfind(";") + 1 :]
    return last[:KEY_LEN], last[KEY_LEN + 1 :]


def latest_breach(windows: str | dict) -> str | None:
    """Start of the latest breaching window (``"=1,"`` only opens a breaching window's figures)."""
    if isinstance(windows, dict):
        return max((k for k, v in windows.items() if breached(v)), default=None)
    at = windows.rfind("=1,")
    return windows[at - KEY_LEN : at] if at >= 0 else None


def prune_windows(windows: str, keep_from: str, keep: str | None) -> str:
    """The string form without windows starting before ``keep_from`` (except ``keep``), cut as text."""
    at, end, kept = 0, len(windows), ""
    while at < end and windows[at : at + KEY_LEN] < keep_from:
        nxt = windows.find(";", at)
        nxt = end if nxt < 0 else nxt
        if windows[at : at + KEY_LEN] == keep:
            kept = windows[at:nxt]
        at = nxt + 1
    if not at:
        return windows
    rest = windows[at:]
    return f"{kept};{rest}" if kept and rest else (kept or rest)


def streak_at(windows: dict, key: str | None = None, *, max_gap: timedelta | None = None) -> tuple[int, str | None]:
    """Consecutive breaching windows ending at ``key`` (default: the latest) and the first of them.

    Windows without samples are skipped (a sparse source still builds a streak), but not across a
    silence longer than ``max_gap`` (the no_data limit): two breaches hours apart are two episodes.
    """
    streak, first, later = 0, None, None
    for k in sorted((k for k in windows if key is None or k <= key), reverse=True):
        if not breached(windows[k]):
            break
        if later is not None and max_gap is not None and parse_iso(later) - parse_iso(k) > max_gap:
            break
        streak, first, later = streak + 1, k, k
    return streak, first


def max_gap(cfg: LatencyConfig) -> timedelta:
    """The longest silence a streak survives: the no_data limit plus one window."""
    return timedelta(minutes=cfg.no_data_after_minutes + cfg.window_minutes)


class Evaluator:
    """Steps each source's windows through the alert state machine, over persisted state.

    Only the sources that received samples (or have windows not yet stepped) are decoded; the others
    keep their stored string, from which expired windows are cut as text.
    """

    def __init__(self, cfg: LatencyConfig, state: dict, now: datetime, *, where: str = "latency state"):
        self.cfg = cfg
        self.where = where  # the state file, for errors
        self.now = now
        self.sources: dict = state.setdefault("sources", {})
        self.alerts: dict = state.setdefault("alerts", {})
        self.created_at = parse_iso(state.setdefault("created_at", iso(now)))
        self.initial = {fp: dict(a) for fp, a in self.alerts.items()}
        self.resolved: dict[str, dict] = {}
        self.window = timedelta(minutes=cfg.window_minutes)
        self.max_gap = max_gap(cfg)
        self._open: dict[str, dict] = {}  # source -> its decoded windows, for the sources this cycle steps

    def windows(self, source: str) -> dict:
        """The decoded windows of ``source`` (decoded once; written back encoded by :meth:`run`)."""
        found = self._open.get(source)
        if found is None:
            entry = self.sources.setdefault(source, {})
            try:
                found = self._open[source] = decode_windows(entry.get("windows") or {})
            except (AttributeError, TypeError, ValueError, IndexError):
                raise InputError(
                    f"{self.where}: field sources.{source}.windows: not a windows string "
                    '("<start>=<breach>,<p95_ms>,<failure_rate>,<errors>,<count>;..."); restore the '
                    "state with `observability state pull` or move it aside to rebuild"
                ) from None
        return found

    # -- inputs ---------------------------------------------------------------------------
    def record(self, source: str, window_start: datetime, stats: Stats) -> None:
        if window_start < self.now - HORIZON:
            return
        entry = self.sources.setdefault(source, {})
        breach = stats.breaches(self.cfg.slo_p95_ms, self.cfg.failure_rate_threshold)
        self.windows(source)[iso(window_start)] = Window(
            breach, stats.p95_ms, stats.failure_rate, stats.error_count, stats.count
        ).pack()
        entry["touched"] = True

    def saw(self, source: str, last_sample) -> None:
        entry = self.sources.setdefault(source, {})
        previous = entry.get("last_sample_at")
        stamp = iso(last_sample.timestamp)
        if previous is None or stamp >= previous:
            entry.update(
                last_sample_at=stamp, last_latency_ms=round(last_sample.latency_ms, 3), last_status=last_sample.status
            )

    # -- evaluation -----------------------------------------------------------------------
    def run(self) -> None:
        horizon = iso(self.now - HORIZON)
        # Start of each source's firing SLO episode: its windows are kept so breach_count stays exact.
        episodes = {a["source"]: a["started_at"] for a in self.alerts.values() if a.get("rule") == "latency_slo"}
        for source, entry in sorted(self.sources.items()):
            stepped = entry.get("stepped")
            stored = entry.get("windows")
            if source not in self._open and not entry.get("touched") and (stored is None or isinstance(stored, str)):
                text = stored or ""
                latest = latest_window(text)
                if latest is None or (
                    stepped is not None
                    and latest[0] <= stepped
                    and latest[1].count(",") == 4
                    and text[-len(latest[1]) - 1] == "="
                ):
                    # Nothing new to step (its alert, if any, is unchanged): only expiry, cut from the text.
                    episode = episodes.get(source)
                    keep_from = min(horizon, episode) if episode is not None else horizon
                    entry["windows"] = prune_windows(stored, keep_from, stepped) if stored else ""
                    continue
            windows = self.windows(source)
            pending = sorted(w for w in windows if stepped is None or w > stepped)
            if not pending and entry.get("touched") and stepped in windows:
                pending = [stepped]
            for key in pending:
                self._step(source, windows, key)
            if pending:
                entry["stepped"] = max(pending[-1], stepped or pending[-1])
            entry.pop("touched", None)
            # Keep the horizon, and every window of a firing episode so breach_count stays exact.
            keep_from = horizon
            episode = self.alerts.get(fingerprint("latency_slo", source))
            if episode is not None:
                keep_from = min(keep_from, episode["started_at"])
            kept = {k: v for k, v in windows.items() if k >= keep_from or k == entry.get("stepped")}
            self._open[source] = kept
            entry["windows"] = encode_windows(kept)
        self._no_data()

    def _severity(self, streak: int, window: Window) -> str | None:
        if window.errors > 0:
            return "critical"
        if streak >= self.cfg.critical_threshold:
            return "critical"
        if streak >= self.cfg.warning_threshold:
            return "warning"
        return None

    def _step(self, source: str, windows: dict, key: str) -> None:
        window = Window.unpack(windows[key])
        streak, first = streak_at(windows, key, max_gap=self.max_gap)
        fp = fingerprint("latency_slo", source)
        alert = self.alerts.get(fp)
        severity = self._severity(streak, window)
        if alert is None:
            if severity is None:
                return
            alert = self.alerts[fp] = {
                "id": fp,
                "rule": "latency_slo",
                "source": source,
                "severity": severity,
                "started_at": first,
                "breach_count": 0,
            }
            self.resolved.pop(fp, None)
        if streak == 0:
            if key >= alert["last_breach_at"]:
                alert.update(status="resolved", resolved_at=iso(parse_iso(key)), breach_streak=0)
                self.resolved[fp] = self.alerts.pop(fp)
            return
        if severity and _RANK[severity] > _RANK[alert["severity"]]:
            alert["severity"] = severity
        last = max(k for k in windows if k <= key and breached(windows[k]))
        alert.update(
            breach_streak=streak,
            breach_count=sum(1 for k, v in windows.items() if breached(v) and alert["started_at"] <= k <= key),
            last_breach_at=last,
            evidence={"window_start": last, **_evidence(Window.unpack(windows[last]))},
        )

    def _no_data(self) -> None:
        """no_data and stale, from each source's silence (configured sources and every source in the state).

        Silent longer than ``no_data_after_minutes``: no_data. Longer than the source's stale limit:
        stale, which supersedes no_data. A stale source not in ``sources`` is dropped from the state
        ``drop_stale_after_days`` after it turned stale (its alert resolved), a listed one never.
        """
        limit = timedelta(minutes=self.cfg.no_data_after_minutes)
        configured = set(self.cfg.sources)
        # Which (rule, source) pairs have an alert, so a quiet healthy source costs no fingerprint; each
        # source only changes its own pairs, so the index holds for the sources not yet visited.
        alerting = {(a.get("rule"), a.get("source")) for a in self.alerts.values()}
        # Silence compared as ISO text (same format as last_sample_at); the boundary second exactly.
        bounds: dict[timedelta, str] = {}

        def longer(last: str | None, span: timedelta) -> bool:
            if last is None:
                return self.now - self.created_at > span
            if len(last) != KEY_LEN or last[-1] != "Z":  # not as this code writes it: compare as times
                return self.now - parse_iso(last) > span
            bound = bounds.get(span)
            if bound is None:
                bound = bounds[span] = iso(self.now - span)
            return last < bound or (last == bound and self.now - parse_iso(last) > span)

        for source in sorted(configured | set(self.sources)):
            entry = self.sources.setdefault(source, {})
            last = entry.get("last_sample_at")
            stale_limit = timedelta(hours=self.cfg.stale_after(source))
            no_data, stale = longer(last, limit), longer(last, stale_limit)
            if not (
                no_data
                or stale
                or ("no_data", source) in alerting
                or ("stale", source) in alerting
                or "stale_since" in entry
            ):
                continue  # heard from recently, nothing firing: nothing to change
            since = parse_iso(last) if last else self.created_at
            silent = self.now - since
            fp, stale_fp = fingerprint("no_data", source), fingerprint("stale", source)
            evidence = {"last_sample_at": last, "silent_minutes": int(silent.total_seconds() // 60)}
            if stale:
                stale_since = parse_iso(entry.setdefault("stale_since", iso(self.now)))
                if fp in self.alerts:
                    superseded = self.alerts.pop(fp)
                    superseded.update(
                        status="resolved", resolved_at=iso(self.now), evidence={**evidence, "superseded_by": "stale"}
                    )
                    self.resolved[fp] = superseded
                keep = timedelta(days=self.cfg.drop_stale_after_days)
                if source not in configured and keep and self.now - stale_since > keep:
                    del self.sources[source]
                    if stale_fp in self.alerts:
                        alert = self.alerts.pop(stale_fp)
                        alert.update(
                            status="resolved", resolved_at=iso(self.now), evidence={**evidence, "dropped": True}
                        )
                        self.resolved[stale_fp] = alert
                    continue
                alert = self.alerts.setdefault(
                    stale_fp,
                    {
                        "id": stale_fp,
                        "rule": "stale",
                        "source": source,
                        "severity": "warning",
                        "started_at": iso(since + stale_limit),
                        "breach_count": 0,
                        "breach_streak": 0,
                        "last_breach_at": None,
                    },
                )
                alert["evidence"] = {**evidence, "stale_after_hours": self.cfg.stale_after(source)}
                self.resolved.pop(stale_fp, None)
                continue
            entry.pop("stale_since", None)
            if stale_fp in self.alerts:
                alert = self.alerts.pop(stale_fp)
                alert.update(status="resolved", resolved_at=last, evidence={"last_sample_at": last})
                self.resolved[stale_fp] = alert
            if no_data:
                alert = self.alerts.setdefault(
                    fp,
                    {
                        "id": fp,
                        "rule": "no_data",
                        "source": source,
                        "severity": "warning",
                        "started_at": iso(since + limit),
                        "breach_count": 0,
                        "breach_streak": 0,
                        "last_breach_at": None,
                    },
                )
                alert["evidence"] = evidence
                self.resolved.pop(fp, None)
            elif fp in self.alerts:
                alert = self.alerts.pop(fp)
                alert.update(status="resolved", resolved_at=last, evidence={"last_sample_at": last})
                self.resolved[fp] = alert

    # -- output ---------------------------------------------------------------------------
    def items(self) -> list[dict]:
        """Firing alerts plus those resolved in this run, each with its transition."""
        out = []
        for fp, alert in self.alerts.items():
            before = self.initial.get(fp)
            if before is None:
                transition = "opened"
            elif _RANK[alert["severity"]] > _RANK[before["severity"]]:
                transition = "escalated"
            else:
                transition = "unchanged"
            alert["status"] = "firing"
            out.append(self._item(alert, transition))
        for alert in self.resolved.values():
            out.append(self._item(alert, "resolved"))
        return sorted(out, key=lambda a: (a["status"] != "firing", -_RANK[a["severity"]], a["rule"], a["source"]))

    def _item(self, alert: dict, transition: str) -> dict:
        cfg = self.cfg
        item = alertitem.item(
            id=alert["id"],
            rule=alert["rule"],
            source=alert["source"],
            severity=alert["severity"],
            status=alert.get("status", "firing"),
            transition=transition,
            breach_streak=int(alert.get("breach_streak", 0)),
            breach_count=int(alert.get("breach_count", 0)),
            last_breach_at=alert.get("last_breach_at"),
            started_at=alert["started_at"],
            resolved_at=alert.get("resolved_at"),
            owner=cfg.owner,
            evidence={**alert.get("evidence", {}), "slo_p95_ms": cfg.slo_p95_ms},
            message="",
            next_action="",  # worded from the item itself, just below
        )
        item["message"], item["next_action"] = _describe(item, cfg)
        return item


def _evidence(window: Window) -> dict:
    return {"p95_ms": window.p95_ms, "failure_rate": window.failure_rate, "error_samples": window.errors}


def _describe(item: dict, cfg: LatencyConfig) -> tuple[str, str]:
    source, evidence = item["source"], item["evidence"]
    if item["rule"] == "stale":
        anchor = f"{cfg.runbook.split('#')[0]}#latency-stale"
        if item["status"] == "resolved" and evidence.get("dropped"):
            return (
                f"{source}: dropped from the latency state {cfg.drop_stale_after_days} day(s) after it turned "
                f"stale (not listed in `sources`; last sample {evidence.get('last_sample_at') or 'never'})",
                anchor,
            )
        if item["status"] == "resolved":
            return f"{source}: samples arriving again (last at {evidence.get('last_sample_at')})", anchor
        age = age_text(int(evidence.get("silent_minutes", 0)) * 60)
        return (
            f"{source}: stale — no latency sample for {age} (last: {evidence.get('last_sample_at') or 'never'}), "
            f"longer than stale_after_hours {evidence.get('stale_after_hours')}",
            f"Restart the {source} feed or its notifier; if the feed is retired remove it from `sources` "
            f"(unlisted sources are dropped {cfg.drop_stale_after_days} day(s) after turning stale); see {anchor}",
        )
    if item["rule"] == "no_data":
        anchor = f"{cfg.runbook.split('#')[0]}#latency-no-data"  # anchors of docs/runbook.md
        if item["status"] == "resolved" and evidence.get("superseded_by") == "stale":
            return (
                f"{source}: silent longer than its stale limit; now tracked by the stale alert "
                f"(last sample {evidence.get('last_sample_at') or 'never'})",
                anchor,
            )
        if item["status"] == "resolved":
            return f"{source}: samples arriving again (last at {evidence.get('last_sample_at')})", anchor
        last = evidence.get("last_sample_at") or "never"
        return (
            f"{source}: no latency sample for {evidence.get('silent_minutes')} min (last: {last})",
            f"Check that the {source} feed and its notifier are running; see {anchor}",
        )
    anchor = f"{cfg.runbook.split('#')[0]}#latency-slo-breach"
    if item["status"] == "resolved":
        return (
            f"{source}: latency back within SLO at {item['resolved_at']} after {item['breach_count']} "
            f"breaching {cfg.window_minutes}-min window(s) since {item['started_at']}",
            anchor,
        )
    reasons = []
    if evidence.get("p95_ms") is not None and evidence["p95_ms"] > cfg.slo_p95_ms:
        reasons.append(f"p95 {evidence['p95_ms']:.0f} ms > SLO {cfg.slo_p95_ms:.0f} ms")
    if evidence.get("failure_rate") is not None and evidence["failure_rate"] > cfg.failure_rate_threshold:
        reasons.append(f"failure rate {evidence['failure_rate']:.0%} > {cfg.failure_rate_threshold:.0%}")
    if evidence.get("error_samples"):
        reasons.append(f"{evidence['error_samples']} error sample(s)")
    why = "; ".join(reasons) or "SLO breach"
    return (
        f"{source}: {why} — {item['breach_streak']} consecutive breaching {cfg.window_minutes}-min window(s), "
        f"last at {item['last_breach_at']}",
        f"Check {source} feed health and the notifier log; acknowledge the alert issue; see {anchor}",
    )
