"""REPORT.md from the analysed table: headline, environment, Compare-style tables, the cost
model, the figures, what is missing, and the chapter's section.

    from reports.render import report_markdown
    text = report_markdown(runs, table, fits, crossovers, slices, drawn, chapter_md)
"""

from __future__ import annotations

import math

import pandas as pd

from core.spec import HEADLINE_N_PARAMS

from . import best, compiled, md
from .analysis import HIGH_VARIANCE, POOR_FIT, REFERENCE, Crossover, default_slice, human, select
from .quality import quality_section
from .style import figure_block

UNITS = ((1.0, "s", "seconds"), (1e-3, "ms", "milliseconds"), (1e-6, "us", "microseconds"),
         (1e-9, "ns", "nanoseconds"))
MAX_TABLES = 6  # Compare-style tables per run; the CSV has every slice
MAX_MISSING = 40  # missing benchmarks listed per run
SAME = 1.05  # within this ratio the headline calls two times "about as fast"


def _where(sl: dict) -> str:
    return f"{sl['dtype']}, {_threads(sl['threads'])}, batch {sl['batch']}"


def _threads(n) -> str:
    return f"{n} thread{'s' * (n != 1)}"


def _ratio(speedup: float, who: str, lo: float | None = None, hi: float | None = None,
           launches: int = 1, measured: int | None = None) -> str:
    """The ratio in words, and how far it moved between launches (the range over ``launches``
    fresh processes, in the sentence's own terms; ``measured``: how many launches measured
    it, the others left out as disturbed or without NumPy) or that it comes from one."""
    measured = launches if measured is None else measured
    of = f" of {measured} (the others disturbed or without NumPy)" if measured > launches else ""
    digits = 2 if launches > 1 else 1  # the ratio as precise as its range
    if launches <= 1 or lo is None or hi is None:
        spread = f", one launch{of}"
    elif speedup < 1 and abs(math.log(speedup)) >= math.log(SAME):  # in NumPy's time
        spread = f", {1 / hi:.2f}-{1 / lo:.2f}x over {launches} launches{of}"
    else:
        spread = f", {lo:.2f}-{hi:.2f}x over {launches} launches{of}"
    if abs(math.log(speedup)) < math.log(SAME):
        return f"{who} is about as fast as NumPy ({speedup:.2f}x{spread})"
    if speedup < 1:
        return f"{who} takes {1 / speedup:.{digits}f}x NumPy's time ({spread[2:]})"
    return f"{who} is {speedup:.{digits}f}x faster than NumPy ({spread[2:]})"


def headline_slices(table, run: str) -> list:
    """The headline's slices of one run: 1 thread and all threads (float32 if measured, the
    batch with the most backends, ``default_slice``), one slice when the run has only one
    thread count."""
    sl = default_slice(table, run)
    if sl is None:
        return []
    one = default_slice(table, run, threads=1)
    return [one, sl] if one is not None and one["threads"] != sl["threads"] else [sl]


def headline(table, crossovers, sl, label: str) -> str:
    """One paragraph in plain words for one slice, from undisturbed rows only: where the
    evidence at the headline MLP's size is disturbed it says so instead of giving a number."""
    if sl is None:
        return f"{md.text(label)}: no single-process training-step records, so no headline."
    rows = table[(table["group"] == "step") & (table["world_size"] == 1)]
    for k, v in sl.items():
        rows = rows[rows[k] == v]
    others = rows[(rows["series"] != REFERENCE) & rows["speedup"].notna()]
    lead = f"On {md.text(sl['run'])} ({_where(sl)}):"
    if others.empty:
        return f"{lead} no backend was measured beside NumPy, so there is no speedup to report."
    sizes = sorted(others["n_params"].unique())
    head_p = HEADLINE_N_PARAMS
    at = min(sizes, key=lambda p: abs(math.log(p / head_p)))
    where = (f"at the headline MLP's {head_p:,} parameters" if at == head_p else
             f"at {at:,} parameters (the measured size closest to the headline MLP's {head_p:,})")
    parts = []
    for r in others[others["n_params"] == at].itertuples():
        if r.trusted:
            parts.append(_ratio(r.speedup, r.series, r.speedup_lo, r.speedup_hi, r.launches,
                                r.launches_measured))
        else:
            whose = "its" if r.disturbed else "NumPy's"
            parts.append(f"too little clean evidence to compare {r.series} with NumPy "
                         f"({whose} measurement there was disturbed; see Measurement quality)")
    text = f"{lead} {where} " + "; ".join(parts) + "."
    for c in crossovers[(crossovers["run"] == sl["run"]) & (crossovers["dtype"] == sl["dtype"])
                        & (crossovers["threads"] == sl["threads"])
                        & (crossovers["batch"] == sl["batch"])].itertuples():
        text += " " + crossover_sentence(c) + "."
    return text


def launch_agreement(c) -> str:
    """How firmly the launches place a crossover: the sizes at which their ranges straddle 1
    (``analysis.disagreement``); nothing for a run of one launch."""
    if getattr(c, "launches", 1) <= 1:
        return ""
    if not c.n_disagree:
        return f"; all {c.launches} launches agree on who is ahead at every size"
    if c.n_disagree == 1:
        return (f"; the {c.launches} launches disagree on who is ahead at "
                f"{human(c.disagree_p_min)} parameters")
    return (f"; the {c.launches} launches disagree on who is ahead at {c.n_disagree} sizes "
            f"from {human(c.disagree_p_min)} to {human(c.disagree_p_max)} parameters")


def crossover_sentence(c) -> str:
    """Measured crossover in words, then what the fitted cost model predicts."""
    span = f"measured from {human(c.p_min)} to {human(c.p_max)} parameters"
    if c.n_clean < c.n_sizes:
        span += f", {c.n_sizes - c.n_clean} of {c.n_sizes} sizes left out as disturbed"
    if c.measured_kind == "insufficient":
        return (f"{c.series}: too little clean evidence for a crossover ({c.n_clean} of "
                f"{c.n_sizes} sizes undisturbed)")
    if c.measured_kind == "crossover":
        text = Crossover("crossover", c.measured_p).describe(c.series, span)
        text += launch_agreement(c)
    elif c.measured_kind == "always":
        text = Crossover("always").describe(c.series, span) + launch_agreement(c)
    else:
        text = f"{c.series}: no crossover in the measured range ({span})"
        if c.measured_kind == "reverse":
            text += "; it is ahead at some measured sizes but falls behind again at larger ones"
        text += launch_agreement(c)
    if c.predicted_kind == "crossover":
        outside = not c.p_min <= c.predicted_p <= c.p_max
        return text + (f"; the fitted cost model predicts P* = {human(c.predicted_p)}"
                       + (" (extrapolated beyond the measured sizes)" if outside else ""))
    if c.predicted_kind == "unfitted":
        return text + "; too few sizes to fit a cost model"
    if c.predicted_kind == "unidentified":
        return text + ("; the fitted cost model cannot place P* (a fixed cost is not "
                       "identifiable from these sizes)")
    note = {"always": "torch is ahead at every size", "never": "NumPy stays ahead at every size",
            "reverse": f"a negative or reversed P* (torch ahead only below "
                       f"{human(c.predicted_p or 0)})"}[c.predicted_kind]
    return text + f"; the fitted cost model predicts no crossover ({note})"


def environment(run) -> list[str]:
    tw, m = run.twins, run.machine
    gpu = tw.get("gpu") or None
    gpu_text = (f"{gpu.get('name')} (driver {gpu.get('driver')}, capability "
                f"{gpu.get('capability')}, {gpu.get('memory_gb')} GB)" if gpu else "none")
    blas = "; ".join(dict.fromkeys(  # threadpoolctl lists one entry per loaded library
        " ".join(str(b[k]) for k in ("internal_api", "version", "prefix") if b.get(k))
        + f" ({', '.join(x for x in (b.get('threading_layer'), b.get('architecture')) if x)}"
        f"{', ' if b.get('threading_layer') or b.get('architecture') else ''}"
        f"{_threads(b.get('num_threads'))})" for b in tw.get("blas") or [])) or "unknown"
    torch_cfg = tw.get("torch_config")
    torch_cfg = "; ".join(map(str, torch_cfg)) if isinstance(torch_cfg, list) else torch_cfg
    peaks: dict = {}  # best over the calibrated shapes, the ceiling the efficiencies use
    for c in run.gemm:
        key = (c.get("lib"), c.get("device"), c.get("dtype"), c.get("threads"))
        peaks[key] = max(peaks.get(key, 0.0), float(c.get("gflops") or 0.0))
    gemm = ", ".join(f"{lib} {dev} {dt} {_threads(th)}: {g:.1f}"
                     for (lib, dev, dt, th), g in peaks.items()) or "not recorded"
    copy = ", ".join(f"{c.get('lib')} {c.get('device')} {_threads(c.get('threads'))}: "
                     f"{float(c.get('gbps') or 0):.1f}"
                     for c in (tw.get("calibration") or {}).get("copy_gbps") or [])
    cpu = tw.get("cpu_model") or (m.get("cpu") or {}).get("brand_raw") or "unknown"
    rows = [("file", f"{md.code(run.path.name)} ({md.text(run.datetime or 'no date')}, profile "
                     f"{md.text(tw.get('profile', '?'))})"),
            ("machine", ", ".join(str(m[k]) for k in ("node", "system", "release", "machine")
                                  if m.get(k))),
            ("CPU", f"{cpu}, {tw.get('cores') or (m.get('cpu') or {}).get('count', '?')} cores"),
            ("GPU", gpu_text),
            ("versions", f"Python {tw.get('python') or m.get('python_version', '?')}, NumPy "
                         f"{tw.get('numpy', '?')}, torch {tw.get('torch', '?')}"),
            ("NumPy BLAS (threadpoolctl)", blas),
            ("torch BLAS", tw.get("torch_blas") or "not recorded"),
            ("torch parallel info", torch_cfg or "unknown"),
            ("TF32 matmuls / float32 matmul precision",
             f"{tw.get('tf32', 'not recorded')} / "
             f"{tw.get('float32_matmul_precision', 'not recorded')}"),
            ("GEMM ceiling, best calibrated shape (GFLOP/s)", gemm),
            ("copy bandwidth (GB/s)", copy or "not recorded")]
    return [f"### {md.text(run.label)}", "", "| | |", "|---|---|",
            *(f"| {k} | {v if k == 'file' else md.text(v)} |" for k, v in rows), ""]


def _unit(seconds_min: float):
    for scale, short, long in UNITS:
        if seconds_min >= scale:
            return scale, short, long
    return UNITS[-1]


def compare_tables(table, run: str, default) -> list[str]:
    """torch.utils.benchmark.Compare-style tables: sizes x backends, one unit per table."""
    step = table[(table["run"] == run) & (table["group"] == "step") & (table["world_size"] == 1)]
    if step.empty:
        return ["No single-process step records in this run.", ""]
    keys = sorted(step.groupby(["dtype", "batch"]).groups,
                  key=lambda k: (k != (default["dtype"], default["batch"]), k))
    out, flagged, marked = [], False, False
    for dtype, batch in keys[:MAX_TABLES]:
        g = step[(step["dtype"] == dtype) & (step["batch"] == batch)]
        scale, short, long = _unit(g["median_s"].min())
        cols = sorted(g["series"].unique(), key=lambda s: (s != REFERENCE, s))
        out += [f"**{dtype}, batch {batch}** (times in {long}, {short})", "",
                "| threads | layers | params | " + " | ".join(map(md.text, cols)) + " |",
                "|---:|---|---:|" + "---:|" * len(cols)]
        for (threads, p, layers), row in g.groupby(["threads", "n_params", "layers"]):  # blocks
            cells = []
            for s in cols:
                r = row[row["series"] == s]
                if r.empty:
                    cells.append("")
                    continue
                r = r.iloc[0]
                cell = f"{r.median_s / scale:,.1f}"
                if r.disturbed:
                    cell += " (disturbed)"
                    marked = True
                if r.rel_iqr > HIGH_VARIANCE:
                    cell += f" (! {r.rel_iqr * 100:.0f}%)"
                    flagged = True
                cells.append(cell)
            out.append(f"| {threads} | {layers} | {p:,} | " + " | ".join(cells) + " |")
        out.append("")
    if len(keys) > MAX_TABLES:
        out += [f"{len(keys) - MAX_TABLES} more (dtype, batch) slices are in `results.csv`.", ""]
    if marked:
        out += ["(disturbed): measured while other work loaded the machine; shown, but left "
                "out of the headline, the fits and the crossovers (see Measurement quality).",
                ""]
    if flagged:
        out += [f"(! XX%): high variance, the IQR is XX% of the median (over "
                f"{HIGH_VARIANCE:.0%}).", ""]
    return out


def ratio_cell(r, one: str = " (1 launch)") -> str:
    """A speedup over NumPy with its range over launches: ``1.29x (1.26-1.32)``; from one
    launch ``1.29x`` and ``one``; no clean evidence: why not."""
    if not r.trusted:
        return "disturbed" if r.disturbed else "NumPy disturbed"
    if not math.isfinite(r.speedup):
        return ""
    if r.launches <= 1:
        return f"{r.speedup:.2f}x{one}"
    return f"{r.speedup:.2f}x ({r.speedup_lo:.2f}-{r.speedup_hi:.2f})"


def speedup_tables(table, run: str) -> list[str]:
    """The speedups over NumPy of the run's headline slices, each with its range over
    launches (``ratio_cell``): sizes of the width sweep x backends."""
    out = []
    for sl in headline_slices(table, run):
        rows = select(table, sl)
        rows = rows[(rows["series"] != REFERENCE) & rows["speedup"].notna()]
        if rows.empty:
            continue
        cols = sorted(rows["series"].unique())
        n = int(rows["launches_measured"].max())
        out += [f"**Speedup over NumPy, {_where(sl)}** (NumPy's time / the backend's; in "
                f"brackets the range over {n} launches)" if n > 1 else
                f"**Speedup over NumPy, {_where(sl)}** (NumPy's time / the backend's; one "
                "launch, so no range)", "",
                "| layers | params | " + " | ".join(map(md.text, cols)) + " |",
                "|---|---:|" + "---:|" * len(cols)]
        for (p, layers), g in rows.groupby(["n_params", "layers"]):
            cells = [next((ratio_cell(r) for r in g[g["series"] == c].itertuples()), "")
                     for c in cols]
            out.append(f"| {layers} | {p:,} | " + " | ".join(cells) + " |")
        out.append("")
    return out


def fits_section(fits: pd.DataFrame, crossovers: pd.DataFrame) -> list[str]:
    if fits.empty:
        return ["No slice has two or more undisturbed sizes, so no cost model was fitted.", ""]
    out = ["t(P) = a + b*P fitted to the median step times of each backend in relative error "
           "(each size counts alike; a: fixed cost per step, kept >= 0, b: cost per parameter), "
           "on undisturbed rows only. Residuals are relative, (a + b*P) / t - 1; a fit whose "
           f"largest residual exceeds {POOR_FIT:.0%} does not describe the sizes it spans.", "",
           "| run | slice | backend | a (us) | b (ns/param) | residuals: max, rms | sizes |",
           "|---|---|---|---:|---:|---:|---:|"]
    for f in fits.itertuples():
        a = f"{f.a_us:,.1f}" if f.a_known else "not identifiable"
        resid = ("exact (2 sizes)" if f.n_sizes == 2 and f.a_known else
                 f"{f.max_resid:.1%}, {f.rms_resid:.1%}"
                 + (" (poor fit)" if f.max_resid > POOR_FIT else ""))
        left = f" ({f.n_left_out} disturbed left out)" if f.n_left_out else ""
        out.append(f"| {md.text(f.run)} | {_where(f._asdict())} | {md.text(f.series)} | {a} | "
                   f"{f.b_ns:.3g} | "
                   f"{resid} | {f.n_sizes}{left} |")
    out.append("")
    for c in crossovers.itertuples():
        out.append(f"- {md.text(c.run)}, {_where(c._asdict())}: {crossover_sentence(c)}.")
    return out + [""]


def missing_section(runs) -> list[str]:
    out = []
    for run in runs:
        if run.stopped_at:
            out.append(f"- {md.text(run.label)}: the run was cut short; it stopped at "
                       f"{md.code(run.stopped_at)}.")
        if run.missing is None:
            out.append(f"- {md.text(run.label)}: the run does not say (no `mlp_twins.missing` in "
                       "it).")
        elif not run.missing:
            done = "complete" if run.complete else "marked incomplete"
            out.append(f"- {md.text(run.label)}: nothing; every selected benchmark left a record "
                       f"({done}).")
        else:
            missing = missing_by_test(run.missing)
            out.append(f"- {md.text(run.label)}: {len(missing)} selected benchmarks left no record"
                       + (" (in the launches named)" if run.launches > 1 else "") + ":")
            for (test, reason), launches in list(missing.items())[:MAX_MISSING]:
                where = ""
                if run.launches > 1:
                    where = (" (every launch)" if len(launches) == run.launches else
                             f" (launch{'es' * (len(launches) > 1)} "
                             f"{', '.join(map(str, sorted(launches)))})")
                out.append(f"  - {md.code(test)}: {md.text(reason)}{where}")
            if len(missing) > MAX_MISSING:
                out.append(f"  - ... and {len(missing) - MAX_MISSING} more")
    return out + [""]


def missing_by_test(missing) -> dict:
    """``{(test, reason): {launch, ...}}`` in first-seen order: a benchmark skipped for one
    reason in every launch is one line, not one per launch."""
    out: dict = {}
    for m in missing:
        m = m if isinstance(m, dict) else {"test": str(m)}
        key = (m.get("test", "?"), m.get("reason", "no reason given"))
        out.setdefault(key, set()).add(int(m.get("launch", 0)))
    return out


def report_markdown(runs, table, fits, crossovers, slices, drawn, chapter_md) -> str:
    by_stem = {d.stem: d for d in drawn}
    out = ["# mlp-twins: when does PyTorch beat NumPy?", "", "## Headline", ""]
    for run in runs:
        for sl in headline_slices(table, run.label) or [None]:
            out += [headline(table, crossovers, sl, run.label), ""]
    out += ["## Environment", ""]
    for run in runs:
        out += environment(run)
    out += ["## Time per step, backends by sizes", ""]
    for run, sl in zip(runs, slices):
        out += [f"### {md.text(run.label)}", ""] + compare_tables(table, run.label, sl or {
            "dtype": "float32", "batch": 0}) + speedup_tables(table, run.label)
    out += ["## Cost model and crossover", ""] + fits_section(fits, crossovers)
    out += ["## Figures", ""]
    for stem in ("fig1_step_time", "fig2_speedup", "fig3_gflops", "fig4_epoch", "fig5_scaling"):
        out += figure_block(by_stem[stem])
    chapter_md = chapter_md.strip()  # the chapter's section may bring its own heading
    out += ([] if chapter_md.startswith("## ") else ["## From the chapter", ""]) + [chapter_md, ""]
    out += figure_block(by_stem["fig6_activations"])
    out += compiled.section(runs, by_stem.get(compiled.STEM))
    out += best.section(table, slices, by_stem.get(best.STEM))
    out += ["## Measurement quality", ""] + quality_section(table, runs)
    out += ["## What is missing", ""] + missing_section(runs)
    out += ["Every benchmark, with GFLOP/s, efficiency and speedup: `results.csv`; the fits: "
            "`fits.csv`; the crossovers: `crossovers.csv`.", ""]
    return "\n".join(out)
