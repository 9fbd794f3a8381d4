"""Does the interval hold? A fresh run against a reference, ratio by ratio.

    python -m reports.holds results/reference/cpu-....json FRESH.json

For every ratio the README's answer table publishes (``readme.ANSWER_SERIES`` at
``readme.ANSWER_SIZES``, each headline thread count), the reference's speedup with its range
over launches beside the fresh run's; a ratio *holds* when the fresh run's median launch lies
inside the reference's range. The fresh run should be a run of several launches on the same
machine (``make report LAUNCHES=3``); one that was not made there is compared all the same,
and the machine of each is printed. Exit status: 0 every ratio holds, 1 one does not (the
reference claims too narrow a range: widen it with more launches), 2 bad input, or a ratio
the fresh run did not measure cleanly (no verdict).
"""

from __future__ import annotations

import argparse
import sys

from core import cli
from runfile import RunFileError

from . import analysis, readme, render
from .load import ReportError, load_runs

PROG = "python -m reports.holds"


def cells(table, run) -> dict:
    """``{(threads, series, n_params): row}`` of the run's answer-table ratios."""
    out = {}
    for sl in render.headline_slices(table, run.label):
        rows = analysis.select(table, sl)
        for series in readme.ANSWER_SERIES:
            for p in readme.ANSWER_SIZES:
                hit = rows[(rows["series"] == series) & (rows["n_params"] == p)]
                if len(hit):
                    out[(sl["threads"], series, p)] = next(hit.itertuples())
    return out


def verdict(ref, new) -> str:
    """"holds", "outside" or why there is no verdict."""
    if not ref.trusted or ref.speedup != ref.speedup:
        return "no verdict: the reference has no clean ratio here"
    if new is None:
        return "no verdict: not measured in the fresh run"
    if not new.trusted or new.speedup != new.speedup:
        return "no verdict: the fresh run has no clean ratio here"
    return "holds" if ref.speedup_lo <= new.speedup <= ref.speedup_hi else "outside"


def compare(reference: str, fresh: str) -> tuple[list[str], list[str]]:
    """The comparison's lines and the verdicts, one per reference ratio."""
    runs, table = load_runs([reference, fresh])
    table = analysis.add_metrics(table, runs)
    ref, new = cells(table, runs[0]), cells(table, runs[1])
    if not ref:
        raise ReportError(f"{reference}: no ratio of the answer table in this run")
    lines = [f"reference: {reference} ({readme.machine_words(runs[0])})",
             f"fresh:     {fresh} ({readme.machine_words(runs[1])})",
             *([] if readme.machine_words(runs[0], short=True)
                   == readme.machine_words(runs[1], short=True) else
               ["", "Not the same machine: a reference's range says nothing about another "
                "machine, so 'outside' here is no verdict on the reference."]), "",
             "| threads | ratio | reference | fresh | verdict | range holding both |",
             "|---:|---|---:|---:|---|---:|"]
    verdicts = []
    for key in sorted(ref):
        threads, series, p = key
        r, n = ref[key], new.get(key)
        v = verdict(r, n)
        verdicts.append(v)
        both = ""
        if v in ("holds", "outside"):
            both = (f"{min(r.speedup_lo, n.speedup_lo):.2f}-"
                    f"{max(r.speedup_hi, n.speedup_hi):.2f}")
        lines.append(f"| {threads} | {series} at {analysis.human(p)} | {render.ratio_cell(r)} "
                     f"| {render.ratio_cell(n) if n is not None else '-'} | {v} | {both} |")
    held = verdicts.count("holds")
    lines += ["", f"{held} of {len(verdicts)} ratios hold (the fresh median inside the "
              "reference's range over launches)."]
    return lines, verdicts


def main(argv=None) -> int:
    p = cli.Parser(prog=PROG, description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("reference", type=cli.existing_file, help="the committed reference run")
    p.add_argument("fresh", type=cli.existing_file, help="a fresh run on the same machine")
    try:
        args = p.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as e:
        return e.code
    try:
        lines, verdicts = compare(args.reference, args.fresh)
    except (ReportError, RunFileError) as e:
        return cli.error(PROG, e)
    print("\n".join(lines))
    if "outside" in verdicts:
        return 1
    return 0 if all(v == "holds" for v in verdicts) else 2


if __name__ == "__main__":
    sys.exit(main())
