"""The weekly drill's own webhook receiver on 127.0.0.1: it refuses (503) until the drill heals it.

The weekly report is delivered by the real weekly job to this receiver instead of the configured
one, so a drill never sends a synthetic report to the real receiver; the drill's recovery step
makes it accept (204) and replays the week through the real ``weekly replay``.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    server: DrillReceiver

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.server.received += 1
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's signature
        pass  # the drill's summary says what was delivered; nothing on stderr


class DrillReceiver(ThreadingHTTPServer):
    """A webhook receiver on a free loopback port; ``status`` is what it answers."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.status = 503
        self.received = 0
        self._thread = threading.Thread(target=self.serve_forever, name="drill-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/drill/weekly"

    def __enter__(self) -> DrillReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(timeout=5)
