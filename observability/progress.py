"""Progress of long work on stderr, never stdout (which holds the run's one JSON summary): a line
every few seconds in CI and logs, one updating bar on a terminal, nothing for work under two seconds.

``OBS_PROGRESS=off`` silences it. The clock is injectable, so tests drive time without waiting.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

DELAY_SECONDS = 2.0  # work that ends sooner shows nothing
LINE_INTERVAL_SECONDS = 5.0  # one line per this many seconds when stderr is not a terminal
BAR_INTERVAL_SECONDS = 0.2  # a terminal bar is redrawn at most this often
BAR_WIDTH = 24
# The clock every Progress reads unless given one: a module attribute, so a test of a whole job can
# drive time (monkeypatch it) without the job having to pass a clock down to its loops.
monotonic: Callable[[], float] = time.monotonic


def mode(stream: TextIO, environ=os.environ) -> str:
    """``off`` (OBS_PROGRESS=off), ``bar`` (stderr is a terminal) or ``lines``."""
    if environ.get("OBS_PROGRESS", "auto").strip().lower() in ("off", "0", "false", "no"):
        return "off"
    isatty = getattr(stream, "isatty", None)
    return "bar" if isatty is not None and isatty() else "lines"


def _amount(value: float, unit: str) -> str:
    if unit == "B":
        for size, name in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
            if value >= size:
                return f"{value / size:.1f} {name}"
        return f"{value:.0f} B"
    return f"{value:,.0f}{f' {unit}' if unit else ''}"


class Progress:
    """Progress of one piece of work: ``update(done)`` as it goes, ``close()`` (or ``with``) at the end.

    ``total`` (same unit as ``done``) gives a percentage and an estimate of the time left; ``unit``
    ``"B"`` shows sizes in KiB/MiB/GiB.
    """

    def __init__(
        self,
        label: str,
        total: float | None = None,
        *,
        unit: str = "",
        stream: TextIO | None = None,
        clock: Callable[[], float] | None = None,
        environ=os.environ,
        delay: float = DELAY_SECONDS,
        interval: float | None = None,
    ):
        self.label, self.total, self.unit = label, total, unit
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock or monotonic
        self.mode = mode(self.stream, environ)
        self.delay = delay
        self.interval = (
            interval
            if interval is not None
            else (BAR_INTERVAL_SECONDS if self.mode == "bar" else LINE_INTERVAL_SECONDS)
        )
        self.started = self.clock()
        self.done = 0.0
        self._shown_at: float | None = None  # when the last line or bar was written; None: nothing yet

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def update(self, done: float | None = None, *, advance: float = 0.0) -> None:
        """Set how much is done (``done``) or add to it (``advance``); shows it when it is time."""
        self.done = float(done) if done is not None else self.done + advance
        if self.mode == "off":
            return
        now = self.clock()
        if now - self.started < self.delay:
            return
        if self._shown_at is not None and now - self._shown_at < self.interval:
            return
        self._shown_at = now
        self._write(self._text(now))

    def close(self) -> None:
        """A last line (only when something was shown): the amount and the time it took."""
        if self._shown_at is None or self.mode == "off":
            return
        elapsed = self.clock() - self.started
        self._write(f"{self.label}: done, {_amount(self.done, self.unit)} in {elapsed:.0f} s", final=True)
        self._shown_at = None

    def _text(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        text = f"{self.label}: {_amount(self.done, self.unit)}"
        if self.total:
            share = min(self.done / self.total, 1.0)
            text += f" of {_amount(self.total, self.unit)} ({share:.0%})"
            if self.mode == "bar":
                filled = int(share * BAR_WIDTH)
                text = f"{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {text[len(self.label) + 2 :]}"
            if rate > 0 and self.done < self.total:
                text += f", ~{(self.total - self.done) / rate:.0f} s left"
        text += f", {_amount(rate, self.unit)}/s, {elapsed:.0f} s"
        return text

    def _write(self, text: str, final: bool = False) -> None:
        if self.mode == "bar":
            self.stream.write("\r\x1b[K" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def waiting(what: str, seconds: float, *, stream: TextIO | None = None, environ=os.environ) -> None:
    """One line before a wait of DELAY_SECONDS or more (a retry's backoff): what waits and how long."""
    target = stream if stream is not None else sys.stderr
    if seconds < DELAY_SECONDS or mode(target, environ) == "off":
        return
    target.write(f"{what}: waiting {seconds:.0f} s\n")
    target.flush()
