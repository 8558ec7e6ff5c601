"""HTTP probes: time one request to a feed's health URL, as a latency sample."""

from __future__ import annotations

import time
from datetime import datetime

from observability.upstream.signal_log import Sample


def probe(name: str, url: str, timeout: float, now: datetime, session=None) -> Sample:
    """GET ``url``; ``ok`` on 2xx within the timeout, ``error`` otherwise. Never raises.

    The detail names what went wrong but never the URL (it may carry a token).
    """
    import requests

    getter = session or requests
    started = time.perf_counter()
    try:
        response = getter.get(
            url, timeout=timeout, allow_redirects=False, headers={"User-Agent": "observability-probe"}
        )
        elapsed = (time.perf_counter() - started) * 1000.0
        response.close()
        if 200 <= response.status_code < 300:
            return Sample(now, name, elapsed, "ok", f"HTTP {response.status_code}")
        return Sample(now, name, elapsed, "error", f"HTTP {response.status_code}")
    except requests.Timeout:
        return Sample(now, name, timeout * 1000.0, "error", f"timeout after {timeout:g} s")
    except requests.ConnectionError as exc:
        elapsed = (time.perf_counter() - started) * 1000.0
        reason = "connection refused" if "refused" in str(exc).lower() else "connection error"
        return Sample(now, name, elapsed, "error", reason)
    except Exception as exc:  # noqa: BLE001 - e.g. urllib3's LocationParseError for a malformed URL
        elapsed = (time.perf_counter() - started) * 1000.0
        return Sample(now, name, elapsed, "error", type(exc).__name__)
