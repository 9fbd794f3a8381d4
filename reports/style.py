"""What every report figure shares: the colour of each backend, the ``Skip`` signal and the
REPORT.md block that shows a figure (or says why it was not drawn).

    from reports.style import Skip, color, figure_block
"""

from __future__ import annotations

COLORS = {"numpy": "tab:blue", "torch-cpu": "tab:orange", "torch-cuda": "tab:green",
          "torch-cuda-tf32": "tab:olive", "torch-ddp": "tab:red", "numpy-mp": "tab:purple",
          "sklearn": "tab:brown", "numpy-fused": "tab:cyan", "torch-cpu-compile": "tab:pink",
          "torch-cpu-aot": "darkred", "torch-cuda-compile": "tab:brown",
          "torch-cuda-graphs": "black"}  # one colour per step backend: a figure's lines differ


class Skip(Exception):
    """The run lacks what this figure needs; the message says what."""


def color(series: str) -> str:
    return COLORS.get(series.split(" ")[0], "tab:gray")


def figure_block(d) -> list[str]:
    """REPORT.md lines for a drawn figure ``d`` (``figures.Drawn``): title, image, caption
    and SVG link, or the reason it was not drawn."""
    if d.skipped:
        return [f"### {d.title}", "", f"Not drawn: {d.skipped}.", ""]
    return [f"### {d.title}", "", f"![{d.title}]({d.stem}.png)", "",
            f"{d.caption} ([SVG]({d.stem}.svg))", ""]


def section_lines(heading: str, rows, empty: str, drawn, intro: str, table) -> list[str]:
    """A REPORT.md section: ``## heading``, then ``empty`` where ``rows`` is empty, else the
    figure (``figure_block``, when one was drawn or skipped), ``intro`` and ``table(rows)``."""
    out = [f"## {heading}", ""]
    if rows.empty:
        return out + [empty, ""]
    if drawn is not None:
        out += figure_block(drawn)
    return out + [intro, ""] + table(rows)
