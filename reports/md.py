"""Text from run files, written into REPORT.md as text: no markup, no table cell breaks.

    from reports.md import code, text
    f"| {text(run.label)} |", f"- {code(test)}: {text(reason)}"

A run file is data: its machine name, CPU model, test names and reasons reach REPORT.md (and
index.html through it), where ``<``, ``&``, ``|``, a backtick, brackets or a newline would
become markup, split a table row, open a link or start a new block. ``text`` writes them as
character references (``&lt;``: the same characters once rendered) and control characters
(newlines, tabs, ...) as spaces; ``code`` keeps a plain name in backticks and writes any
other through ``text``.
"""

from __future__ import annotations

import re

CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "|": "&#124;", "`": "&#96;",
            "[": "&#91;", "]": "&#93;", "\\": "&#92;"}
SPECIAL = re.compile("[" + re.escape("".join(ENTITIES)) + "]")
PLAIN_CODE = re.compile(r"[^`|\\\x00-\x1f\x7f-\x9f\u2028\u2029]+")  # safe inside backticks


def text(value) -> str:
    """``value`` (any object, as ``str``) as Markdown text that renders as itself."""
    return SPECIAL.sub(lambda m: ENTITIES[m[0]], CONTROL.sub(" ", str(value)))


def code(value) -> str:
    """``value`` as inline code where it is plain (no backtick, ``|``, backslash or control
    character), else as ``text``."""
    value = str(value)
    return f"`{value}`" if PLAIN_CODE.fullmatch(value) else text(value)
