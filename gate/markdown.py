"""The gate's verdict as Markdown, for a pull request comment or ``$GITHUB_STEP_SUMMARY``.

    python -m gate check --format markdown >> "$GITHUB_STEP_SUMMARY"
    python -m gate ab --base origin/main --format markdown >> "$GITHUB_STEP_SUMMARY"

Three parts, in this order: the verdict (PASS, FAIL or COULD NOT JUDGE, and why, with what
was compared); only the rows that moved beyond their noise threshold (regressions,
unconfirmed suspects, faster rows) or could not be judged (missing, disturbed); then the
within-run torch/NumPy ratios, which do not depend on the machine. Rows within noise are
counted, not listed.
"""

from __future__ import annotations

from . import compare as cmp
from .verdict import PASS, REMEASURED, UNJUDGED_EXIT

# how a row's metric is shown: unit and scale per mode (aggregates: a geomean, base = 1)
UNITS = {"relative": ("x probe", 1.0), "absolute": ("ms", 1e3),
         "normalised": ("GFLOP-eq", 1.0)}  # time x calibrated rate
WITHIN_NOISE = ("ok", "ok" + REMEASURED, "info")


def unit(row) -> tuple[str, float]:
    """``(unit, scale)`` of a measured row's base and now."""
    return ("geomean", 1.0) if row["kind"] == "aggregate" else UNITS[row["mode"]]


def moved(row) -> bool:
    """Beyond noise or unjudged: every verdict but "ok" (also after a clean re-measure)."""
    return row["verdict"] not in WITHIN_NOISE


def _cell(text) -> str:
    return str(text).replace("|", "\\|")


def _row_line(row) -> str:
    why = f" ({row['reason']})" if row.get("reason") else ""
    verdict = f"**{row['verdict'].upper()}**{_cell(why)}"
    if row["verdict"] in cmp.UNMEASURED:
        return f"| `{_cell(row['name'])}` | | | | | | {verdict} |"
    name, scale = unit(row)
    p = "" if row.get("p") is None else f"{row['p']:.1e}"
    rerun = f" (re-run {row['change_rerun']:+.1%})" if "change_rerun" in row else ""
    return (f"| `{_cell(row['name'])}` | {row['base'] * scale:.4g} {name} | "
            f"{row['now'] * scale:.4g} {name} | {row['change']:+.1%}{rerun} | "
            f"{row['threshold']:.1%} | {p} | {verdict} |")


def render(code: int, lines: list, rows: list, ratios: dict, columns: list,
           context: list = ()) -> str:
    """The Markdown report. ``code``/``lines``: ``gate.verdict.decide``'s answer;
    ``ratios``: ``{case: [value per column]}`` with ``columns`` naming the runs (e.g.
    ["base", "head"]); ``context``: sentences on what was compared."""
    said = [ln.removeprefix("gate: ") for ln in lines if ln.strip()]
    final = said.pop() if said else {PASS: "PASS", UNJUDGED_EXIT: "COULD NOT JUDGE"}.get(code,
                                                                                       "FAIL")
    icon = {PASS: ":white_check_mark:", UNJUDGED_EXIT: ":warning:"}.get(code, ":x:")
    head, _, rest = final.partition(":")
    out = [f"## {icon} mlp-twins performance gate: {head}", ""]
    if rest.strip():
        out += [f"**{head}**: {_cell(rest.strip())}", ""]
    out += [f"- {_cell(s)}" for s in [*context, *said]]
    shown = [r for r in rows if moved(r)]
    within = sum(r["verdict"] in WITHIN_NOISE[:2] for r in rows)
    out += ["", "### Rows beyond noise", ""]
    if shown:
        out += ["| benchmark | base | now | change | threshold | p (U test) | verdict |",
                "|---|---:|---:|---:|---:|---:|---|", *map(_row_line, shown), ""]
    out.append(f"{within} row(s) within their noise threshold (not listed); thresholds come "
               "from the spread between runs of unchanged code.")
    if ratios:
        out += ["", "### Within-run ratios (torch time / NumPy time)", "",
                "| case | " + " | ".join(columns) + " |",
                "|---|" + "---:|" * len(columns)]
        out += [f"| `{_cell(case)}` | " + " | ".join(f"{v:.2f}x" if v is not None else ""
                                                    for v in values) + " |"
                for case, values in sorted(ratios.items())]
    return "\n".join(out) + "\n"
