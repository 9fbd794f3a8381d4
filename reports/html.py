"""A self-contained index.html from REPORT.md: the small Markdown subset the report uses
(headings, paragraphs, lists, tables, code fences, images, links, `code`, **bold**), with
every local PNG embedded as base64 so the page can be mailed on its own.

    from reports.html import page
    (out / "index.html").write_text(page(markdown_text, out, title="mlp-twins report"))

The page leads with the answer (``lead_with_answer``): the headline, then the speedup
figure; the environment goes down beside the measurement quality. Each ``##`` section is a
``<section>``, each table scrolls inside its own box, so nothing runs off a phone's screen
(``tests/test_browser.py`` checks this in headless Chromium at 1280 and 400 px).
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)\)")
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`]+)`")
BOLD = re.compile(r"\*\*([^*]+)\*\*")
NUMBER = re.compile(r"[-+]?\d[\d.,-]*(%|x|e[-+]?\d+)?( \(.*\))?$")  # 1,648.2 (! 20%)
LEAD = "Headline"  # the section the page opens with
LEAD_FIGURE = "fig2_speedup"  # the figure moved up right after it
LATE = "Environment"  # moved down, just before ...
LATE_BEFORE = "Measurement quality"  # ... this section (or to the end without it)
STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:1.5rem auto;
padding:0 1rem;line-height:1.45;color:#222}h1{font-size:clamp(1.4rem,4.5vw,2rem)}
p,li{overflow-wrap:anywhere}#headline{background:#f4f7fb;border-left:4px solid #3b6ea5;
padding:.1rem 1rem;margin:0 -1rem}.scroll{overflow-x:auto;max-width:100%;margin:.5rem 0}
table{border-collapse:collapse;font-size:.9rem}td,th{border:1px solid #ccc;
padding:.2rem .5rem;vertical-align:top}td{text-align:right}td.n{white-space:nowrap}
td:first-child,.wide td{text-align:left}td:not(.n){min-width:6rem}
.wide td{overflow-wrap:anywhere}
img{max-width:100%;height:auto}code{background:#f3f3f3;padding:0 .2rem}
pre{background:#f3f3f3;padding:.5rem;overflow:auto}"""


def _src(src: str, base: Path) -> str:
    path = base / src
    if "://" not in src and path.suffix.lower() == ".png" and path.is_file():
        return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
    return html.escape(src, quote=True)


def inline(text: str, base: Path) -> str:
    """Escape, then turn images, links, code and bold into tags (code spans kept literal)."""
    spans: list[str] = []

    def keep(tag: str) -> str:
        spans.append(tag)
        return f"\x00{len(spans) - 1}\x00"

    text = CODE.sub(lambda m: keep(f"<code>{html.escape(m[1])}</code>"), text)
    text = IMAGE.sub(lambda m: keep(f'<img alt="{html.escape(m[1], quote=True)}" '
                                    f'src="{_src(m[2], base)}">'), text)
    text = LINK.sub(lambda m: keep(f'<a href="{html.escape(m[2], quote=True)}">'
                                   f"{html.escape(m[1])}</a>"), text)
    text = BOLD.sub(lambda m: keep(f"<strong>{html.escape(m[1])}</strong>"), text)
    text = html.escape(html.unescape(text))  # its character references are text
    return re.sub("\x00(\\d+)\x00", lambda m: spans[int(m[1])], text)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _td(cell: str, base: Path) -> str:
    """A cell; a number (layers ``784-100-10`` too, and a mark after it) never wraps."""
    attr = ' class="n"' if NUMBER.match(cell) else ""
    return f"<td{attr}>{inline(cell, base)}</td>"


def body(markdown: str, base: Path) -> str:
    out: list[str] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            j = i + 1
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            out.append("<pre>" + html.escape("\n".join(lines[i + 1:j])) + "</pre>")
            i = j + 1
            continue
        heading = re.match(r"(#{1,6}) (.*)", line)
        if heading:
            n = len(heading[1])
            out.append(f"<h{n}>{inline(heading[2], base)}</h{n}>")
        elif line.startswith("|") and i + 1 < len(lines) and re.match(r"\|[-:| ]+\|$",
                                                                        lines[i + 1].strip()):
            names = _cells(line)
            head = "".join(f"<th>{inline(c, base)}</th>" for c in names)
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append("<tr>" + "".join(_td(c, base) for c in _cells(lines[i])) + "</tr>")
                i += 1
            keyed = not any(names)  # a key | value table: no header row, text wraps
            head = "" if keyed else f"<tr>{head}</tr>"
            out.append(f'<div class="scroll{" wide" * keyed}"><table>{head}{"".join(rows)}'
                       "</table></div>")
            continue
        elif re.match(r"\s*[-*] ", line):
            items = []
            while i < len(lines) and re.match(r"\s*[-*] ", lines[i]):
                items.append(f"<li>{inline(lines[i].strip()[2:], base)}</li>")
                i += 1
            out.append(f"<ul>{''.join(items)}</ul>")
            continue
        elif line.strip():
            para = [line]
            while (i + 1 < len(lines) and lines[i + 1].strip()
                   and not re.match(r"(#|\||```|\s*[-*] )", lines[i + 1])):
                i += 1
                para.append(lines[i])
            out.append(f"<p>{inline(' '.join(para), base)}</p>")
        i += 1
    return "\n".join(out)


def split_sections(markdown: str) -> list[str]:
    """The text before the first ``## `` heading, then one chunk per ``## `` section
    (headings inside code fences do not count)."""
    chunks, current, fenced = [], [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            chunks.append("\n".join(current))
            current = []
        current.append(line)
    return chunks + ["\n".join(current)]


def _title(chunk: str) -> str:
    return chunk.split("\n", 1)[0][3:].strip() if chunk.startswith("## ") else ""


def _take_figure(chunks: list[str], stem: str) -> str | None:
    """Remove and return the ``###`` block that shows ``stem``.png (or says it was not
    drawn: its ``Not drawn`` block has the figure's title only, so match the image or
    nothing)."""
    for i, chunk in enumerate(chunks):
        blocks = re.split(r"(?m)^(?=### )", chunk)
        for j, block in enumerate(blocks):
            if block.startswith("### ") and f"]({stem}.png)" in block:
                chunks[i] = "".join(blocks[:j] + blocks[j + 1:])
                return block
    return None


def lead_with_answer(markdown: str) -> str:
    """Reorder the report's sections for a reader: ``LEAD`` first with ``LEAD_FIGURE``
    right after it, ``LATE`` moved down before ``LATE_BEFORE``; nothing added or lost."""
    chunks = split_sections(markdown)
    head, sections = chunks[0], chunks[1:]
    titles = [_title(c) for c in sections]
    if LEAD not in titles:
        return markdown
    lead = sections.pop(titles.index(LEAD))
    figure = _take_figure(sections, LEAD_FIGURE)
    if figure is not None:
        lead = lead.rstrip("\n") + "\n\n" + figure
    titles = [_title(c) for c in sections]
    if LATE in titles:
        late = sections.pop(titles.index(LATE))
        titles.remove(LATE)
        at = titles.index(LATE_BEFORE) if LATE_BEFORE in titles else len(sections)
        sections.insert(at, late)
    return "\n".join(c.rstrip("\n") + "\n" for c in [head, lead, *sections] if c.strip())


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"


def page(markdown: str, base: Path, title: str) -> str:
    parts = []
    for chunk in split_sections(lead_with_answer(markdown)):
        name = _title(chunk)
        html_chunk = body(chunk, Path(base))
        parts.append(f'<section id="{_slug(name)}">\n{html_chunk}\n</section>' if name
                     else html_chunk)
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(parts) + "\n</body></html>\n")
