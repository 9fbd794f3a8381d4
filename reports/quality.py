"""The report's "Measurement quality" section: per row the evidence that it was measured on a
quiet machine, and what was left out of the headline, fits and crossovers, and why.

    from reports.quality import quality_section, use_of
    lines = quality_section(table, runs)

The evidence is the bench's (``runfile/schema.py``): ``busy_other`` (share of the machine's CPU
used by other processes during the timed rounds), ``disturbance`` (median probe time over the
quiet probe time) and ``reruns``. Runs older than the evidence say "not measured" and their
rows count as undisturbed.
"""

from __future__ import annotations

import math

from . import md

MAX_ROWS = 150  # rows listed per run (disturbed first); results.csv has them all
NOT_MEASURED = "not measured"


def _share(v) -> str:
    return NOT_MEASURED if v is None or math.isnan(v) else f"{v:.0%}"


def _ratio(v) -> str:
    return "no probe" if v is None or math.isnan(v) else f"{v:.2f}x"


def evidence(r) -> str:
    """The disturbance evidence of one row in words."""
    parts = []
    if not math.isnan(r.busy_other):
        parts.append(f"other processes used {r.busy_other:.0%} of the CPU")
    if not math.isnan(r.disturbance):
        parts.append(f"probe {r.disturbance:.1f}x its quiet time")
    return ", ".join(parts) or "marked disturbed by the run"


def use_of(r) -> str:
    """What the report does with one row."""
    if r.disturbed:
        return f"left out of headline, fits and crossovers: disturbed ({evidence(r)})"
    if getattr(r, "ref_disturbed", False):
        return "left out of headline and crossovers: its NumPy reference is disturbed"
    if r.group == "step" and r.world_size == 1:
        return "used"
    return "shown (not a single-process step)"


def quality_section(table, runs) -> list[str]:
    out = ["Every row with the evidence that its machine was quiet: rounds, IQR as a share of "
           "the median, the CPU share other processes used while it ran (busy_other), its "
           "probe against the quiet probe (disturbance), how often the bench re-measured it, "
           "and whether the headline, the fits and the crossovers use it.", ""]
    for run in runs:
        rows = table[table["run"] == run.label]
        n_bad = int(rows["disturbed"].sum())
        unknown = int((~rows["evidence"]).sum())
        out += [f"### {md.text(run.label)}", "",
                f"{n_bad} of {len(rows)} rows measured on a disturbed machine"
                + (f"; {unknown} rows carry no disturbance evidence (an older run): "
                   f"{NOT_MEASURED}, counted as undisturbed" if unknown else "") + ".", ""]
        rows = rows.sort_values(["disturbed", "ref_disturbed", "group", "name"],
                                ascending=[False, False, True, True])
        out += ["| benchmark | rounds | IQR | busy_other | disturbance | re-runs | use |",
                "|---|---:|---:|---:|---:|---:|---|"]
        for r in rows.head(MAX_ROWS).itertuples():
            reruns = NOT_MEASURED if math.isnan(r.reruns) else f"{int(r.reruns)}"
            out.append(f"| {md.code(r.name)} | {r.rounds} | {r.rel_iqr:.1%} "
                       f"| {_share(r.busy_other)} "
                       f"| {_ratio(r.disturbance) if r.evidence else NOT_MEASURED} | {reruns} "
                       f"| {use_of(r)} |")
        if len(rows) > MAX_ROWS:
            out.append(f"\n{len(rows) - MAX_ROWS} more rows (disturbed ones are listed first) "
                       "in `results.csv`.")
        out.append("")
    return out
