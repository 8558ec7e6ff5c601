"""Load a static site in headless Chromium and check what a reader would see.

The browser is Debian's ``chromium`` (``.ci/run`` installs it when absent), driven over the Chrome
DevTools Protocol through ``--remote-debugging-pipe``: Chromium reads NUL-terminated JSON commands
on file descriptor 3 and writes answers and events on descriptor 4. That needs no Python package and
no browser download (Playwright's wheel ships a Node driver and expects its own browser build; a
websocket client would be a dependency for what two pipes do), and nothing listens on a port.

:class:`SiteServer` serves a directory on 127.0.0.1 (a real HTTP server: the site is read as
GitHub Pages would serve it, relative links and all). :meth:`Browser.check_page` loads one page
and returns a :class:`PageReport`: console errors and uncaught exceptions, failed or >= 400
requests, the page's links and whether each resolves (HTTP 200 from the server, and ``#id``
fragments present in their target page), a full-page screenshot, and each chart region's pixels
(:func:`ink`: the share of pixels that differ from the region's dominant background colour).
:func:`html_errors` validates the HTML with html5lib (the WHATWG parsing algorithm: every parse
error with its line and column) plus the checks a parser does not make (lang, title, unique ids,
alt text, a title on every chart).

Tests skip with the reason when Chromium is absent (:func:`require_chromium`).
"""

from __future__ import annotations

import http.server
import json
import os
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from base64 import b64decode
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
VIEWPORT = (1280, 900)
CHART_SELECTOR = "svg"  # every inline SVG of a page is a chart region unless told otherwise


def chromium_binary() -> str | None:
    explicit = os.environ.get("OBS_TEST_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    binary = chromium_binary()
    if binary is None:
        pytest.skip(
            "headless Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it): "
            "the site's browser checks need a real browser"
        )
    return binary


class BrowserError(RuntimeError):
    """The browser died, timed out or answered a command with an error."""


# --- a loopback HTTP server over a directory ------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    def log_request(self, code="-", size="-"):
        self.server.served.append((self.path, int(code) if str(code).isdigit() else 0))  # type: ignore[attr-defined]


class SiteServer:
    """``with SiteServer(directory) as server: server.url("index.html")``; ``served`` lists (path, status)."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._httpd = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(_QuietHandler, directory=str(self.directory))
        )
        self._httpd.served = []  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def served(self) -> list[tuple[str, int]]:
        return self._httpd.served  # type: ignore[attr-defined]

    @property
    def origin(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str = "") -> str:
        return f"{self.origin}/{path.lstrip('/')}"

    def __enter__(self) -> SiteServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


# --- PNG pixels -----------------------------------------------------------------------------------


def png_pixels(data: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """(width, height, RGB pixels) of an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, header = 8, bytearray(), None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("PNG without IHDR")
    width, height, depth, colour, _c, _f, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}, interlace {interlace}")
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(bytes(idat))
    previous = bytearray(stride)
    pixels: list[tuple[int, ...]] = []
    for y in range(height):
        start = y * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if kind == 1:
            for i in range(channels, stride):
                row[i] = (row[i] + row[i - channels]) & 0xFF
        elif kind == 2:
            for i in range(stride):
                row[i] = (row[i] + previous[i]) & 0xFF
        elif kind == 3:
            for i in range(stride):
                left = row[i - channels] if i >= channels else 0
                row[i] = (row[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = row[i - channels] if i >= channels else 0
                b = previous[i]
                c = previous[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                row[i] = (row[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        elif kind != 0:
            raise ValueError(f"PNG row {y}: unknown filter {kind}")
        pixels.extend(tuple(row[i : i + 3]) for i in range(0, stride, channels))
        previous = row
    return width, height, pixels


def ink(png: bytes) -> tuple[float, int]:
    """(share of pixels that differ from the dominant colour, number of distinct colours).

    A blank region (an empty SVG, a chart whose series never drew) is one colour: ink 0.0."""
    _w, _h, pixels = png_pixels(png)
    if not pixels:
        return 0.0, 0
    counts = Counter(pixels)
    ((_background, most),) = counts.most_common(1)
    return 1 - most / len(pixels), len(counts)


# --- HTML validation ------------------------------------------------------------------------------


def html_errors(text: str) -> list[str]:
    """``line:col: message`` for each HTML problem of one page; [] when it is valid.

    html5lib parses as a browser does and reports every WHATWG parse error (missing doctype, stray
    or unclosed tags, duplicate attributes, bad character references). A page that parses cleanly
    can still be unreadable, so the tree is then checked for: ``<html lang>``, a non-empty
    ``<title>``, unique ``id`` values, ``alt`` on every ``<img>``, and a ``<title>`` or ``aria-label``
    (or ``role="img"`` with ``aria-labelledby``) on every ``<svg>`` (a chart's accessible name)."""
    import html5lib

    parser = html5lib.HTMLParser(namespaceHTMLElements=False)
    tree = parser.parse(text)
    problems = []
    for (line, col), code, data in parser.errors:
        detail = ", ".join(f"{k}={v}" for k, v in sorted((data or {}).items()))
        problems.append(f"{line}:{col}: {code}" + (f" ({detail})" if detail else ""))
    root = tree if tree.tag == "html" else tree.find(".//html")
    if root is None or not (root.get("lang") or "").strip():
        problems.append("<html> has no lang attribute")
    title = tree.find(".//head/title")
    if title is None or not "".join(title.itertext()).strip():
        problems.append("no <title> in <head>")
    ids = Counter(el.get("id") for el in tree.iter() if isinstance(el.tag, str) and el.get("id"))
    problems += [f"id {name!r} is used {n} times" for name, n in sorted(ids.items()) if n > 1]
    for img in tree.iter("img"):
        if img.get("alt") is None:
            problems.append(f"<img src={img.get('src')!r}> has no alt text")
    svgs = [el for el in tree.iter() if isinstance(el.tag, str) and _local(el.tag) == "svg"]
    for number, svg in enumerate(svgs, 1):
        titled = any(_local(child.tag) == "title" for child in svg if isinstance(child.tag, str))
        named = titled or svg.get("aria-label") or svg.get("aria-labelledby")
        if not named and svg.get("aria-hidden") != "true":
            problems.append(f"<svg> #{number} has no <title> or aria-label (charts need an accessible name)")
    return problems


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]  # html5lib puts SVG elements in the SVG namespace


# --- the browser ----------------------------------------------------------------------------------


@dataclass
class PageReport:
    url: str
    scheme: str
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    broken_links: list[str] = field(default_factory=list)
    external_links: list[str] = field(default_factory=list)  # not fetched: the tests have no network
    charts: list[dict] = field(default_factory=list)  # {"label", "width", "height", "ink", "colours"}
    screenshot: Path | None = None

    def problems(self, min_ink: float = 0.01) -> list[str]:
        """Every reason this page is not fine, one line each."""
        found = [f"console: {e}" for e in self.console_errors]
        found += [f"request failed: {r}" for r in self.failed_requests]
        found += [f"broken link: {link}" for link in self.broken_links]
        found += [
            f"blank chart: {c['label']} ({c['width']}x{c['height']}, ink {c['ink']:.4f}, {c['colours']} colours)"
            for c in self.charts
            if c["ink"] < min_ink or c["colours"] < 3
        ]
        return [f"{self.url} [{self.scheme}]: {p}" for p in found]


_CHARTS_JS = """(() => Array.from(document.querySelectorAll(%s)).map((el, i) => {
  const r = el.getBoundingClientRect();
  const t = el.querySelector('title');
  return {label: (t && t.textContent.trim()) || el.getAttribute('aria-label') || ('chart ' + (i + 1)),
          x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height};
}))()"""
_LINKS_JS = """(() => [
  ...Array.from(document.querySelectorAll('a[href]'), a => a.href),
  ...Array.from(document.querySelectorAll('link[href]'), l => l.href),
  ...Array.from(document.querySelectorAll('img[src], script[src], source[src]'), e => e.src),
])()"""


_TRAMPOLINE = """import os, sys
commands, answers = os.dup(int(sys.argv[1])), os.dup(int(sys.argv[2]))
os.dup2(commands, 3)
os.dup2(answers, 4)
os.set_inheritable(3, True)  # a dup that already landed on 3 or 4 is close-on-exec, and dup2 onto itself keeps that
os.set_inheritable(4, True)
for fd in {int(sys.argv[1]), int(sys.argv[2]), commands, answers} - {3, 4}:
    os.close(fd)
os.execv(sys.argv[3], sys.argv[3:])
"""


class Browser:
    """One headless Chromium process; ``with Browser() as b: report = b.check_page(url, out_dir)``."""

    def __init__(self, binary: str | None = None, timeout: float = 30.0):
        self.binary = binary or require_chromium()
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="obs-chromium-")
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict] = []
        self._proc: subprocess.Popen | None = None

    # process and protocol
    def __enter__(self) -> Browser:
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        args = [
            self.binary,
            "--headless=new",
            "--remote-debugging-pipe",
            f"--user-data-dir={self._profile.name}",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--mute-audio",
            "--hide-scrollbars",
            "--force-color-profile=srgb",
            f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
        ]
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox (CI is root)
        args.append("about:blank")

        # Chromium wants the pipes as descriptors 3 and 4. A small Python trampoline moves them there
        # and execs the browser (a preexec_fn would run between fork and exec in a process that may
        # have threads: the test servers').
        self._proc = subprocess.Popen(
            [sys.executable, "-c", _TRAMPOLINE, str(to_child_r), str(from_child_w), *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(to_child_r, from_child_w),
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self.call("Target.setDiscoverTargets", {"discover": False})
        return self

    def __exit__(self, *exc) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            try:
                self.call("Browser.close", timeout=5)
            except BrowserError:
                pass
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        self._profile.cleanup()

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_child], [], [], left)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise BrowserError(f"Chromium closed its pipe (exit code {self._proc and self._proc.poll()})")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, params: dict | None = None, session: str | None = None, timeout: float | None = None):
        self._next_id += 1
        ident = self._next_id
        message: dict = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == ident:
                if "error" in answer:
                    raise BrowserError(f"{method}: {answer['error'].get('message')}")
                return answer.get("result", {})
            self._events.append(answer)

    def _wait_event(self, method: str, session: str, timeout: float | None = None) -> dict:
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for i, event in enumerate(self._events):
                if event.get("method") == method and event.get("sessionId") == session:
                    return self._events.pop(i)
            self._events.append(self._read_message(deadline))

    def _evaluate(self, session: str, expression: str):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
        if "exceptionDetails" in result:
            raise BrowserError(f"evaluate: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    # one page
    def check_page(
        self,
        url: str,
        out_dir: Path | None = None,
        scheme: str = "light",
        chart_selector: str = CHART_SELECTOR,
        fetch_links: bool = True,
        settle: float = 0.2,
    ) -> PageReport:
        """Load ``url`` with ``prefers-color-scheme: scheme`` and report what went wrong.

        ``out_dir``: the full-page screenshot goes there as <page>-<scheme>.png. ``settle``: seconds
        to keep collecting console and network events after the load event (late errors)."""
        report = PageReport(url, scheme)
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        try:
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.call(f"{domain}.enable", {}, session)
            width, height = VIEWPORT
            self.call(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session,
            )
            self.call(
                "Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": scheme}]}, session
            )
            self._events.clear()
            navigated = self.call("Page.navigate", {"url": url}, session)
            if navigated.get("errorText"):
                report.failed_requests.append(f"{url}: {navigated['errorText']}")
                return report
            self._wait_event("Page.loadEventFired", session)
            end = time.monotonic() + settle
            while time.monotonic() < end:
                try:
                    self._events.append(self._read_message(end))
                except BrowserError:
                    break
            self._collect(report, session)
            links = self._evaluate(session, _LINKS_JS) or []
            report.links = sorted(set(links))
            if fetch_links:
                self._check_links(report, url)
            charts = self._evaluate(session, _CHARTS_JS % json.dumps(chart_selector)) or []
            for chart in charts:
                entry = {k: chart[k] for k in ("label", "width", "height")}
                if chart["width"] < 1 or chart["height"] < 1:
                    entry.update(ink=0.0, colours=0)
                else:
                    png = self._screenshot(session, chart)
                    entry["ink"], entry["colours"] = ink(png)
                report.charts.append(entry)
            if out_dir is not None:
                metrics = self.call("Page.getLayoutMetrics", {}, session)
                size = metrics.get("cssContentSize") or metrics["contentSize"]
                full = {"x": 0, "y": 0, "width": width, "height": min(size["height"], 4000)}
                name = (urllib.parse.urlsplit(url).path.strip("/").replace("/", "_") or "index").removesuffix(".html")
                report.screenshot = Path(out_dir) / f"{name}-{scheme}.png"
                report.screenshot.parent.mkdir(parents=True, exist_ok=True)
                report.screenshot.write_bytes(self._screenshot(session, full))
        finally:
            self.call("Target.closeTarget", {"targetId": target})
            self._events = [e for e in self._events if e.get("sessionId") != session]
        return report

    def _screenshot(self, session: str, clip: dict, scale: float = 1.0) -> bytes:
        region = {k: clip[k] for k in ("x", "y", "width", "height")} | {"scale": scale}
        shot = self.call(
            "Page.captureScreenshot",
            {"format": "png", "clip": region, "captureBeyondViewport": True, "fromSurface": True},
            session,
        )
        return b64decode(shot["data"])

    def _collect(self, report: PageReport, session: str) -> None:
        requests: dict[str, str] = {}
        for event in self._events:
            if event.get("sessionId") != session or _favicon_probe(event):
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                report.console_errors.append(text)
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                report.console_errors.append(
                    (details.get("exception") or {}).get("description") or details.get("text", "exception")
                )
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                entry = params["entry"]
                report.console_errors.append(f"{entry.get('text')} ({entry.get('url', '')})".strip())
            elif method == "Network.requestWillBeSent":
                requests[params["requestId"]] = params["request"]["url"]
            elif method == "Network.loadingFailed":
                report.failed_requests.append(
                    f"{requests.get(params['requestId'], '?')}: {params.get('errorText')}"
                    + (" (blocked)" if params.get("blockedReason") else "")
                )
            elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
                report.failed_requests.append(f"{params['response']['url']}: HTTP {params['response']['status']}")

    def _check_links(self, report: PageReport, page_url: str) -> None:
        origin = urllib.parse.urlsplit(page_url)
        pages: dict[str, str | None] = {}
        for link in report.links:
            parts = urllib.parse.urlsplit(link)
            if parts.scheme in ("mailto", "tel", "data"):
                continue
            if (parts.scheme, parts.netloc) != (origin.scheme, origin.netloc):
                report.external_links.append(link)
                continue
            target = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
            if target not in pages:
                try:
                    with urllib.request.urlopen(target, timeout=10) as answer:  # noqa: S310 - loopback only
                        body = answer.read()
                        pages[target] = body.decode("utf-8", "replace") if answer.status == 200 else None
                        if answer.status != 200:
                            report.broken_links.append(f"{link}: HTTP {answer.status}")
                except urllib.error.HTTPError as error:
                    pages[target] = None
                    report.broken_links.append(f"{link}: HTTP {error.code}")
                except OSError as error:
                    pages[target] = None
                    report.broken_links.append(f"{link}: {error}")
            body = pages[target]
            if parts.fragment and body is not None and not _has_anchor(body, parts.fragment):
                report.broken_links.append(f"{link}: no element with id {parts.fragment!r} in {target}")


def _favicon_probe(event: dict) -> bool:
    """The browser's own /favicon.ico request (a page that names no icon), not the page's doing."""
    params = event.get("params", {})
    url = params.get("request", params.get("response", params.get("entry", {}))).get("url", "")
    return urllib.parse.urlsplit(url).path == "/favicon.ico" and params.get("type", "Other") == "Other"


def _has_anchor(html: str, fragment: str) -> bool:
    name = urllib.parse.unquote(fragment)
    return any(f'{attr}="{name}"' in html or f"{attr}='{name}'" in html for attr in ("id", "name"))


def check_site(
    browser: Browser,
    server: SiteServer,
    pages: list[str],
    out_dir: Path | None = None,
    schemes: tuple[str, ...] = ("light", "dark"),
    chart_selector: str = CHART_SELECTOR,
) -> tuple[list[PageReport], list[str]]:
    """Every page in every colour scheme, and its HTML validated: (reports, problems)."""
    reports, problems = [], []
    for page in pages:
        source = server.directory / page
        if source.is_file():
            problems += [f"{page}: html: {p}" for p in html_errors(source.read_text(encoding="utf-8"))]
        else:
            problems.append(f"{page}: not in the built site")
            continue
        for scheme in schemes:
            report = browser.check_page(
                server.url(page), out_dir, scheme, chart_selector, fetch_links=scheme == schemes[0]
            )
            reports.append(report)
            problems += report.problems()
    return reports, problems
