"""The Markdown the jobs write for step summaries, as HTML: the subset they use (headings, pipe tables,
lists, paragraphs, code spans and fences, bold, a line in _emphasis_, links, ``<details>``). Every text is escaped first; a
link is kept only when it is https or relative; a Mermaid fence is left out (the site draws SVG)."""

from __future__ import annotations

import re
from html import escape

_CODE = re.compile(r"`([^`]+)`")
_ESCAPED = re.compile(r"\\([\\\[\]*_!|#])")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
# A note in _emphasis_, as the pages write them ("_Generated ... by `observability ci health`._"): a whole
# line between underscores only (anchored: linear), so snake_case names (ops/alert_inbox.json) stay as they are.
_EMPHASIS = re.compile(r"^_([^\s_](?:.*[^\s_])?)_$")
_LINK = re.compile(r"\[([^\[\]]+)\]\(([^)\[\]\s]+)\)")  # no [ or ] in either part: linear, never backtracks far
_RULE = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")
_ITEM = re.compile(r"^\s*[-*]\s+")
_SUMMARY = re.compile(r"^<summary>(.*)</summary>$")
# A relative link: no scheme, no control character or backslash (a browser strips leading C0 controls
# and reads "\\" as "/"), and not "//host" (protocol-relative: another site).
_RELATIVE = re.compile(r"^(?!//)(?![A-Za-z][A-Za-z0-9+.-]*:)[^\x00-\x20\x7f\\]+$")
_HTTPS = re.compile(r"^https://[^\x00-\x20\x7f\\]+$")


def https_url(value: object) -> str | None:
    """``value`` when it is an https URL a page may link, else None."""
    return value if isinstance(value, str) and _HTTPS.match(value) else None


def inline(text: str) -> str:
    """One line of Markdown text as HTML (escaped, then code spans, bold and safe links)."""
    out = escape(text.replace("\x00", "\ufffd"), quote=True)  # NUL marks the code spans below
    codes: list[str] = []

    def keep(match: re.Match) -> str:
        codes.append(f"<code>{match.group(1)}</code>")
        return f"\x00{len(codes) - 1}\x00"

    out = _CODE.sub(keep, out)

    # Backslash escapes (CommonMark), outside code spans: "\\[" is a "[" that starts no link (the weekly
    # review escapes a payload's brackets so), "\\\\" one backslash (markdown.cell doubles them).
    def literal(match: re.Match) -> str:
        codes.append(match.group(1))
        return f"\x00{len(codes) - 1}\x00"

    out = _ESCAPED.sub(literal, out)

    # Links before bold, each kept whole like a code span: bold over "[**a](https://x**)" put a tag
    # inside the href and left <strong> open across </a> (text from a payload broke the page's nesting).
    def link(match: re.Match) -> str:
        label, href = _BOLD.sub(r"<strong>\1</strong>", match.group(1)), match.group(2)
        if _HTTPS.match(href) or _RELATIVE.match(href):
            codes.append(f'<a href="{href}">{label}</a>')
            return f"\x00{len(codes) - 1}\x00"
        return label

    out = _LINK.sub(link, out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    out = _EMPHASIS.sub(r"<em>\1</em>", out)
    # placeholders nest (a code span inside a link label): restore until none is left
    while "\x00" in out:
        out = re.sub("\x00(\\d+)\x00", lambda m: codes[int(m.group(1))], out)
    return out


def _cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") else body
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", body)]


def to_html(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    paragraph: list[str] = []
    open_details = 0

    def flush() -> None:
        if paragraph:
            out.append("<p>" + " ".join(inline(p) for p in paragraph) + "</p>")
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            language = stripped[3:].strip()
            block = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                block.append(lines[i])
                i += 1
            i += 1
            if language != "mermaid":
                out.append(f"<pre><code>{escape(chr(10).join(block))}</code></pre>")
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", stripped)
        if heading:
            flush()
            level = min(len(heading.group(1)) + 1, 6)  # the page's own title is the h1
            out.append(f"<h{level}>{inline(heading.group(2))}</h{level}>")
        elif stripped.startswith("|") and i + 1 < len(lines) and _RULE.match(lines[i + 1].strip()):
            flush()
            head = "".join(f'<th scope="col">{inline(c)}</th>' for c in _cells(stripped))
            rows = []
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in _cells(lines[i])) + "</tr>")
                i += 1
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
            continue
        elif re.match(r"^[-*]\s+", stripped):
            flush()
            items = []
            while i < len(lines) and _ITEM.match(lines[i]):
                items.append(f"<li>{inline(_ITEM.sub('', lines[i]))}</li>")
                i += 1
            out.append(f"<ul>{''.join(items)}</ul>")
            continue
        elif stripped == "<details>":
            flush()
            open_details += 1
            out.append("<details>")
        elif stripped == "</details>":
            flush()
            if open_details:
                open_details -= 1
                out.append("</details>")
        elif _SUMMARY.match(stripped) and open_details:
            flush()
            out.append(f"<summary>{inline(_SUMMARY.match(stripped).group(1))}</summary>")  # type: ignore[union-attr]
        elif not stripped:
            flush()
        else:
            paragraph.append(stripped)
        i += 1
    flush()
    out += ["</details>"] * open_details
    return "\n".join(out)
