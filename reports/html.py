"""A self-contained index.html from REPORT.md: the small Markdown subset the report uses
(headings, paragraphs, lists, tables, code fences, images, links, `code`, **bold**), with
every local PNG embedded as base64 so the page can be mailed on its own.

    from reports.html import page
    (out / "index.html").write_text(page(markdown_text, out, title="mlp-twins report"))
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
STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;
line-height:1.45;color:#222}table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
td,th{border:1px solid #ccc;padding:.2rem .5rem}td{text-align:right}td:first-child{text-align:left}
img{max-width:100%}code{background:#f3f3f3;padding:0 .2rem}pre{background:#f3f3f3;padding:.5rem;
overflow:auto}"""


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
    text = html.escape(text)
    return re.sub("\x00(\\d+)\x00", lambda m: spans[int(m[1])], text)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


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
            head = "".join(f"<th>{inline(c, base)}</th>" for c in _cells(line))
            rows, i = [], i + 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append("<tr>" + "".join(f"<td>{inline(c, base)}</td>"
                                             for c in _cells(lines[i])) + "</tr>")
                i += 1
            out.append(f"<table><tr>{head}</tr>{''.join(rows)}</table>")
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


def page(markdown: str, base: Path, title: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n<body>\n"
            f"{body(markdown, Path(base))}\n</body></html>\n")
