"""The browser harness (tests/_support_browser.py) catches what it is there to catch.

A small site written here: one good page, then one fault each (a console error, a broken link, a
missing fragment, a blank chart, invalid HTML), each of which must be reported, so the site test
(tests/test_site_browser.py) cannot pass by seeing nothing.
"""

from __future__ import annotations

import zlib

import pytest

from _support_browser import Browser, SiteServer, check_site, html_errors, ink, png_pixels, require_chromium

CHART = """<svg role="img" width="300" height="120" viewBox="0 0 300 120" xmlns="http://www.w3.org/2000/svg">
<title>p95 latency</title><rect width="300" height="120" fill="#fff"/>
<polyline points="0,100 60,80 120,90 180,40 240,60 300,20" fill="none" stroke="#1f77b4" stroke-width="3"/>
<line x1="0" y1="30" x2="300" y2="30" stroke="#d62728" stroke-dasharray="4"/></svg>"""
BLANK = """<svg role="img" width="300" height="120" xmlns="http://www.w3.org/2000/svg"><title>empty</title>
<rect width="300" height="120" fill="#fff"/></svg>"""


def page(body: str, title: str = "t") -> str:
    return f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>\n<body>{body}</body></html>\n'


# One worker runs this file (the browser is made once, not once per worker under -n).
pytestmark = pytest.mark.xdist_group("browser_harness")


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    with Browser() as b:
        yield b


@pytest.fixture
def site(tmp_path):
    (tmp_path / "index.html").write_text(
        page(
            f'<h1 id="top">Status</h1>{CHART}<a href="other.html#part">other</a> <a href="https://example.org/">x</a>'
        ),
        encoding="utf-8",
    )
    (tmp_path / "other.html").write_text(
        page('<p id="part">part</p><a href="index.html#top">back</a>'), encoding="utf-8"
    )
    return tmp_path


def test_a_good_page_has_no_problems_and_its_chart_has_ink(browser, site, tmp_path):
    with SiteServer(site) as server:
        reports, problems = check_site(browser, server, ["index.html", "other.html"], tmp_path / "shots")
    assert problems == []
    index = reports[0]
    assert index.links and index.external_links == ["https://example.org/"]
    assert [c["label"] for c in index.charts] == ["p95 latency"] and index.charts[0]["ink"] > 0.01
    assert index.screenshot and index.screenshot.read_bytes()[:4] == b"\x89PNG"
    assert {r.scheme for r in reports} == {"light", "dark"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<script>console.error('boom from the page')</script>", "console: boom from the page"),
        ("<script>undefinedFunction()</script>", "console: ReferenceError"),
        ('<img src="missing.png" alt="m">', "missing.png: HTTP 404"),
        ('<a href="nowhere.html">x</a>', "broken link: http://127.0.0.1"),
        ('<a href="other.html#absent">x</a>', "no element with id 'absent'"),
        (BLANK, "blank chart: empty"),
    ],
    ids=["console-error", "exception", "failed-request", "broken-link", "missing-fragment", "blank-chart"],
)
def test_each_fault_is_reported(browser, site, body, expected):
    (site / "index.html").write_text(page(body), encoding="utf-8")
    with SiteServer(site) as server:
        _reports, problems = check_site(browser, server, ["index.html"], schemes=("light",))
    assert any(expected in p for p in problems), problems


def test_html_errors_name_the_line_and_what_is_wrong():
    assert html_errors(page("<p>ok</p>")) == []
    bad = "<html><head></head><body><p>a</b>\n<img src=x.png><p id=a></p><p id=a></p><svg></svg></body></html>"
    problems = html_errors(bad)
    assert any(p.startswith("1:6: expected-doctype-but-got-start-tag") for p in problems), problems
    assert any("unexpected-end-tag" in p and "name=b" in p for p in problems), problems
    assert "<html> has no lang attribute" in problems and "no <title> in <head>" in problems
    assert "id 'a' is used 2 times" in problems
    assert "<img src='x.png'> has no alt text" in problems
    assert any("<svg> #1 has no <title>" in p for p in problems)


def _png(width: int, height: int, rows: list[bytes]) -> bytes:
    import struct

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def test_png_decoding_undoes_every_row_filter():
    # 2x5 RGB; rows use filters 0 (none), 1 (sub), 2 (up), 3 (average), 4 (Paeth).
    rows = [
        b"\x00" + bytes([10, 20, 30, 40, 50, 60]),
        b"\x01" + bytes([10, 20, 30, 5, 5, 5]),  # 10,20,30 then 15,25,35
        b"\x02" + bytes([1, 1, 1, 1, 1, 1]),  # 11,21,31 16,26,36
        b"\x03" + bytes([0, 0, 0, 0, 0, 0]),  # 5,10,15 (avg(0,prev)) then avg(left, up)
        b"\x04" + bytes([0, 0, 0, 0, 0, 0]),  # Paeth predictor copies
    ]
    width, height, pixels = png_pixels(_png(2, 5, rows))
    assert (width, height) == (2, 5)
    assert pixels[:6] == [(10, 20, 30), (40, 50, 60), (10, 20, 30), (15, 25, 35), (11, 21, 31), (16, 26, 36)]
    assert pixels[6] == (5, 10, 15) and pixels[7] == ((5 + 16) // 2, (10 + 26) // 2, (15 + 36) // 2)
    assert pixels[8] == (5, 10, 15)  # Paeth at x=0: up
    flat = _png(2, 1, [b"\x00" + bytes([9, 9, 9, 9, 9, 9])])
    assert ink(flat) == (0.0, 1)
