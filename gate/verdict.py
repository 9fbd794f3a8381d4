"""The gate's decision: re-runs merged into the rows, then PASS or FAIL with the reasons.

    from gate.verdict import needs_rerun, merge_rerun, decide
    code, lines = decide(rows, run, allow_missing=False)  # PASS, REGRESSION or UNJUDGED

Exit codes of ``python -m gate`` (``EXIT``): 0 pass; 1 a confirmed regression; 2 malformed
input (a file or an option: one line naming it); 3 could not judge (the evidence is
missing, incomplete or stayed disturbed after the allowed re-runs; or there is nothing of
this machine to judge against). A regression wins over "could not judge": both are named.
The gate never passes on missing or unjudged evidence:

* an incomplete run (stopped early, or a benchmark interrupted or failed) fails;
* a baseline benchmark missing from the run fails, unless the run skipped it for a stated
  reason (no CUDA, ...: "skipped" rows, shown with the reason) or ``--allow-missing``;
* a row measured only on a disturbed machine is never judged: it is re-run (``needs_rerun``),
  and if every measurement stays disturbed it fails as unjudged (or ``--allow-missing``);
* a suspect is a regression only if a clean re-run flags it again and, against a stored
  baseline, a same-machine A/B against the baseline's commit too (``confirm_here`` in
  ``gate/__main__.py``); with ``--no-rerun`` the user waives both: a suspect counts as a
  regression; a suspect whose re-runs were all disturbed or missing, or that could not be
  re-run or measured against the commit here, is not judged; nothing judged, no PASS.
"""

from __future__ import annotations

PASS, REGRESSION, BAD_INPUT, UNJUDGED_EXIT = 0, 1, 2, 3
EXIT = {PASS: "pass", REGRESSION: "confirmed regression", BAD_INPUT: "malformed input",
        UNJUDGED_EXIT: "could not judge"}
RERUN_PASSES = 2  # a disturbed row: one re-run to measure it, one more to confirm a suspect
UNJUDGED = ("missing", "disturbed")  # no evidence: fail unless --allow-missing
REMEASURED = " (re-measured: first run disturbed)"


def needs_rerun(rows) -> list:
    """Rows to re-run: suspects (to confirm) and disturbed rows (to measure at all)."""
    return [r for r in rows if r["verdict"] in ("suspect", "disturbed")]


def merge_rerun(rows, again: dict) -> None:
    """Fold a re-run's rows (``{name: row}``) into ``rows``, in place. A suspect becomes a
    "regression" if a clean re-run flags it again, "ok (not confirmed on re-run)" if a clean
    re-run does not; a disturbed row takes its first clean measurement (a suspect then still
    needs its own confirmation); a disturbed or absent re-run changes nothing."""
    for r in needs_rerun(rows):
        second = again.get(r["name"])
        if second is None or second["verdict"] in ("missing", "skipped", "disturbed"):
            r["reruns_disturbed"] = r.get("reruns_disturbed", 0) + 1
            continue
        if r["verdict"] == "suspect":
            r["verdict"] = ("regression" if second["verdict"] == "suspect"
                            else "ok (not confirmed on re-run)")
            r["change_rerun"] = second["change"]
        else:  # disturbed: judged on the re-run's clean samples only
            for k in ("mode", "base", "now", "change", "threshold", "p"):
                r[k] = second[k]
            r["remeasured"], r["reason"] = True, f"first run: {r.get('reason', '')}"
            r["verdict"] = second["verdict"] if second["verdict"] == "suspect" else \
                second["verdict"] + REMEASURED


def decide(rows, run, allow_missing: bool = False,
           unconfirmed_is_regression: bool = False) -> tuple[int, list]:
    """``(exit status, lines to print)``: ``REGRESSION`` where a regression is confirmed by a
    clean re-run, else ``UNJUDGED_EXIT`` where evidence is missing or a suspect could not be
    confirmed (every re-run disturbed, or none possible), else ``PASS`` (see the module
    docstring). ``unconfirmed_is_regression`` (``--no-rerun``: the user waived the
    confirmation) counts a suspect as a regression. The last line is the verdict."""
    lines, fail = [], []
    incomplete = run.incomplete()
    if incomplete:
        lines.append(f"gate: the run is incomplete ({len(incomplete)}): " + "; ".join(incomplete))
        fail.append("incomplete run")
    for verdict, what in (("missing", "baseline benchmark(s) missing from this run, with no "
                                      "stated reason"),
                          ("disturbed", "row(s) measured only on a disturbed machine, not "
                                        "judged")):
        names = [r["name"] for r in rows if r["verdict"] == verdict]
        if names:
            allowed = " (allowed by --allow-missing)" if allow_missing else ""
            lines.append(f"gate: {len(names)} {what}{allowed}: " + ", ".join(names))
            if not allow_missing:
                fail.append(f"{len(names)} {verdict}")
    skipped = [r for r in rows if r["verdict"] == "skipped"]
    if skipped:
        lines.append(f"gate: {len(skipped)} row(s) skipped by the run for a stated reason "
                     "(shown in the table)")
    judged = [r for r in rows if r["verdict"] not in UNJUDGED + ("skipped", "info")]
    if not judged:
        fail.append("no baseline benchmark could be judged")
    unconfirmed = [] if unconfirmed_is_regression else \
        [r["name"] for r in rows if r["verdict"] == "suspect"]
    if unconfirmed:
        lines.append(f"gate: {len(unconfirmed)} suspect(s) not confirmed (every re-run "
                     "disturbed or missing, none possible, or the baseline's commit not "
                     "measurable here), not judged: "
                     + ", ".join(unconfirmed))
        fail.append(f"{len(unconfirmed)} suspect(s) not confirmed")
    bad = [r for r in rows if r["verdict"] == "regression"
           or (r["verdict"] == "suspect" and unconfirmed_is_regression)]
    if bad:
        also = f"; also could not judge: {'; '.join(fail)}" if fail else ""
        return REGRESSION, [*lines, "", f"gate: FAIL: {len(bad)} regression(s): "
                            + ", ".join(r["name"] for r in bad) + also]
    if fail:
        return UNJUDGED_EXIT, [*lines, "", "gate: COULD NOT JUDGE: " + "; ".join(fail)]
    n_rel = sum(r.get("mode") == "relative" for r in judged)
    return PASS, [*lines, "", f"gate: PASS ({len(judged)} rows judged: {n_rel} relative, "
                           f"{len(skipped)} skipped with a reason)"]
