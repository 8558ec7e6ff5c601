"""observability/site/mdhtml.py: the step-summary Markdown subset as safe HTML."""

from __future__ import annotations

from observability.site.mdhtml import inline, to_html


def test_tables_headings_lists_and_escaped_pipes():
    html = to_html("## Title\n\n| a | b |\n|---|---:|\n| `x\\|y` | **2** |\n\n- one\n- two\n")
    assert "<h3>Title</h3>" in html
    assert '<th scope="col">a</th>' in html and "<td><code>x|y</code></td><td><strong>2</strong></td>" in html
    assert "<ul><li>one</li><li>two</li></ul>" in html


def test_text_is_escaped_and_only_safe_links_survive():
    assert inline("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert (
        inline("[run](https://github.com/o/r/actions/runs/1)")
        == '<a href="https://github.com/o/r/actions/runs/1">run</a>'
    )
    assert inline("[doc](docs/runbook.md#latency)") == '<a href="docs/runbook.md#latency">doc</a>'
    unsafe = inline("[x](javascript:alert(1))")
    assert "<a" not in unsafe and unsafe.startswith("x")
    assert inline('[x](https://a.example/"onmouseover=1)').count('"') == 2  # the quote is escaped, not closing href
    assert inline("`**not bold**`") == "<code>**not bold**</code>"


def test_mermaid_fences_are_dropped_other_fences_kept_and_details_balanced():
    html = to_html("```mermaid\nxychart-beta\n```\n```\n<b>raw</b>\n```\n<details>\n<summary>More</summary>\n\ntext\n")
    assert "xychart" not in html
    assert "<pre><code>&lt;b&gt;raw&lt;/b&gt;</code></pre>" in html
    assert html.count("<details>") == html.count("</details>") == 1 and "<summary>More</summary>" in html
    assert "</details>" not in to_html("</details>\n")  # a stray close is dropped


def test_links_that_leave_the_site_or_run_script_are_dropped():
    # a browser strips leading C0 controls and treats "\" like "/": these would be javascript: or a
    # protocol-relative link to a foreign host although they look relative
    for href in (
        "//evil.example/x",
        "/\\evil.example/x",
        "\\\\evil.example/x",
        "\x01javascript:alert(1)",
        "\x7fjavascript:alert(1)",
        "java\x0bscript:alert(1)",
        "\x1fjavascript:alert(1)",
    ):
        html = inline(f"[x]({href})")
        assert "<a" not in html, (href, html)
    assert inline("[doc](../weekly.html#top)") == '<a href="../weekly.html#top">doc</a>'


def test_a_nul_in_the_text_never_crashes_or_forges_a_code_span():
    assert inline("a\x000\x00b") == "a\ufffd0\ufffdb"
    assert "<code>" not in inline("\x000\x00 `x`").split("<code>x</code>")[0]


def test_pathological_brackets_render_in_linear_time():
    """``[a](`` repeated (a hand-edited review, or an alert title quoted in it) once backtracked
    quadratically: 400 kB took minutes. Here it is plain text in well under a second; a regression
    hangs this test until the suite's own timeout fails it."""
    for text in ("[a](" * 100_000, "[" * 400_000, "[a](b" * 80_000):
        html = to_html(text)
        assert "<a" not in html and html.startswith("<p>")
    assert inline("[x](https://a.example/p)[y](z.html)") == '<a href="https://a.example/p">x</a><a href="z.html">y</a>'


def test_bold_and_links_that_overlap_never_break_the_page_s_nesting():
    """Text from a payload (a source name, an alert message) with "**" across a link's bracket put
    ``</strong>`` inside the href and left ``<strong>`` open across ``</a>``."""
    assert inline("[**a](https://x.example/b**)") == '<a href="https://x.example/b**">**a</a>'
    assert inline("**[a**](https://x.example)") == '**<a href="https://x.example">a**</a>'
    assert inline("**see [the `run`](https://x.example) now**") == (
        '<strong>see <a href="https://x.example">the <code>run</code></a> now</strong>'
    )
    assert inline("[**bold** label](docs/a.md)") == '<a href="docs/a.md"><strong>bold</strong> label</a>'


def test_backslash_escapes_outside_code_spans_are_literal():
    """The weekly review escapes a payload's brackets ("\\[") so no link forms from them, and
    markdown.cell doubles a backslash: the site shows each as the one character GitHub shows."""
    assert inline("\\[log in\\](https://evil.example)") == "[log in](https://evil.example)"
    assert inline("C:\\\\data \\*not bold\\*") == "C:\\data *not bold*"
    assert inline("`a\\\\b`") == "<code>a\\\\b</code>"  # code spans take no escapes


def test_a_note_in_underscores_is_emphasis_and_snake_case_names_are_left_alone():
    # what ci health writes; on ci.html the underscores showed literally
    note = "_No alert inbox cache (ops/alert_inbox.json): run `observability alerts sync`._"
    assert inline(note) == (
        "<em>No alert inbox cache (ops/alert_inbox.json): run <code>observability alerts sync</code>.</em>"
    )
    assert inline("ops/alert_inbox.json and out/ci/ci_health.md") == "ops/alert_inbox.json and out/ci/ci_health.md"
    assert inline("`_x_`") == "<code>_x_</code>" and inline("_ x _") == "_ x _"
    assert "<em>" in to_html("_Generated 2026-11-26T12:00:00Z by `observability ci health`._")
