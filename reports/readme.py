"""The committed report (``docs/report/``) and the README's first screen, from the reference runs.

    python -m reports.readme          # make docs: docs/report/ and README.md's block, from the runs
    python -m reports.readme --check  # exit 1 if README.md's block is not what the runs give

``docs/report/`` is ``python -m reports results/reference/*.json --out docs/report`` made
reproducible (its own folder, which the report replaces whole: the pages in ``docs/`` stay):
the same runs give the same bytes (SVG ids salted by ``HASH_SALT``, SVG dates from
``SOURCE_DATE_EPOCH``), so a diff in ``docs/report/`` means the runs or the code changed. The
block sits between ``START`` and ``END`` in README.md: the answer "in short" (eager torch
against NumPy at the headline MLP's size over every machine, thread count and launch; then each
library at its best, ``at_its_best``), each machine's answer side by side with its ranges over
launches (``answer_table``), why the machines differ (``why_they_differ``, from the
calibrations), the speedup-versus-parameters figure from ``docs/report/`` and the runs it
came from. Everything else in README.md is left as it was. ``tests/test_readme_results.py``
fails when the committed block differs from what the committed runs give.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from core import cli
from core.spec import HEADLINE_N_PARAMS, n_params
from runfile import RunFileError

from . import analysis, md, render
from .best import BEST
from .load import ReportError, load_runs

REFERENCE_DIR = Path("results/reference")
DOCS_DIR = Path("docs/report")  # its own folder: the pages beside it in docs/ stay
README = Path("README.md")
START = "<!-- results:start -->"
END = "<!-- results:end -->"
FIGURE = "fig2_speedup.png"
FIGURE_WIDTH = 640  # px in the README, so the table below it stays on the first screen
ANSWER_SERIES = ("torch-cpu", "torch-cpu-compile")  # the backends the answer table compares
ANSWER_SIZES = (HEADLINE_N_PARAMS, n_params((784, 2048, 10)))  # 79,510 and 1,628,170
CROSSOVER_SERIES = "torch-cpu"
HASH_SALT = "mlp-twins"  # matplotlib's svg.hashsalt: fixed SVG ids instead of random ones
EPOCH = "0"  # SOURCE_DATE_EPOCH for the SVG metadata's date, unless the caller set one
PROG = "python -m reports.readme"


def reference_runs(folder: Path = REFERENCE_DIR) -> list[Path]:
    """The committed runs, by file name (name the CPU run first: ``cpu-...``)."""
    return sorted(Path(folder).glob("*.json"))


def machine_words(run, short: bool = False, used=None) -> str:
    """The machine of a run as the README's table names it: CPU model and id, NumPy's BLAS
    kernel (OpenBLAS picks one per CPU, and it moves NumPy's speed), cores, launches (``used``:
    the launch counts behind the table's ratios, where they differ from the run's, as in a
    reference widened by a later run's launches); ``short``: the CPU and kernel alone."""
    tw = run.twins
    cpu = tw.get("cpu_model") or "unknown CPU"
    cpu += f" ({tw['cpu_id']})" if tw.get("cpu_id") else ""
    kernels = sorted({str(b.get("architecture")) for b in tw.get("blas") or []
                      if b.get("internal_api") == "openblas" and b.get("architecture")})
    kernel = f", OpenBLAS kernel {'/'.join(kernels)}" if kernels else ""
    cpu, kernel = md.text(cpu), md.text(kernel)  # a run file's words, not markup
    if short:
        return f"{cpu}{kernel}"
    launches = (f"{run.launches} launches" if run.launches > 1 else
                "1 launch, so no range")
    if run.launches > 1 and used:
        lo, hi = min(used), max(used)
        launches = f"{lo} launches" if lo == hi else f"{lo}-{hi} launches"
    return f"{cpu}{kernel}, {tw.get('cores', '?')} cores, {launches}"


def _at(rows, series: str, p: int, launches: int) -> str:
    """The ratio cell of ``series`` at ``p`` parameters (``render.ratio_cell``; a run of one
    launch says so once, in its machine's cell), or "-"."""
    hit = rows[(rows["series"] == series) & (rows["n_params"] == p)]
    one = "" if launches <= 1 else " (1 launch)"
    return render.ratio_cell(next(hit.itertuples()), one) if len(hit) else "-"


def overtakes(crossovers, sl: dict, series: str) -> str:
    """Where ``series`` overtakes NumPy in slice ``sl``, in a few words, with the sizes at
    which the launches disagree about who is ahead."""
    c = crossovers
    for k, v in sl.items():
        c = c[c[k] == v]
    c = c[c["series"] == series]
    if c.empty:
        return "-"
    c = next(c.itertuples())
    span = f"{analysis.human(c.p_min)}-{analysis.human(c.p_max)}"
    words = {"crossover": f"from ~{analysis.human(c.measured_p or 0)}",
             "always": f"everywhere in {span}", "never": f"never in {span}",
             "reverse": f"never in {span} (ahead at some sizes, behind at the largest)",
             "insufficient": "too little clean evidence"}[c.measured_kind]
    if c.launches > 1 and c.n_disagree:
        where = analysis.human(c.disagree_p_min)
        if c.n_disagree > 1:
            where += f"-{analysis.human(c.disagree_p_max)}"
        words += f"; launches disagree at {where}"
    return words


def answer_table(runs, table, crossovers) -> list[str]:
    """Each machine's answer side by side: speedup over NumPy at the headline MLP's size and
    at ``LARGE_N_PARAMS`` per thread count, with its range over launches, and where torch-cpu
    overtakes NumPy."""
    series = [s for s in ANSWER_SERIES if (table["series"] == s).any()]
    heads = [f"{s} at {analysis.human(p)}" for s in series for p in ANSWER_SIZES]
    out = ["| machine | threads | " + " | ".join(heads) + f" | {CROSSOVER_SERIES} overtakes "
           "NumPy |", "|---|---:|" + "---:|" * len(heads) + "---|"]
    for run in runs:
        lines, used = [], []
        for sl in render.headline_slices(table, run.label):
            rows = analysis.select(table, sl)
            cells = [_at(rows, s, p, run.launches) for s in series for p in ANSWER_SIZES]
            shown = rows[rows["series"].isin(series) & rows["n_params"].isin(ANSWER_SIZES)
                         & rows["trusted"]]
            used += [int(n) for n in shown["launches"]]
            lines.append(f" | {sl['threads']} | " + " | ".join(cells)
                         + f" | {overtakes(crossovers, sl, CROSSOVER_SERIES)} |")
        out += [("| " + machine_words(run, used=used) if k == 0 else "| ") + line
                for k, line in enumerate(lines)]
    return out + [""]


def _x(v: float) -> str:
    """A ratio as the README writes it: two decimals, three significant figures outside
    0.01-1000 once rounded (an absurd run's ratio stays one short number)."""
    two = f"{v:.2f}"
    return two if 0.01 <= v and float(two) < 1000 else f"{v:.3g}"


def _range(values) -> str:
    """``a-bx`` over ``values``, ``ax`` where they agree to the digits shown."""
    a, b = min(values), max(values)
    return f"{_x(a)}x" if _x(a) == _x(b) else f"{_x(a)}-{_x(b)}x"


def _verdict(a: float, b: float, torch: str, numpy: str) -> str:
    """Who is faster, in words, from torch's speedup over NumPy ranging over ``a``-``b``
    (both finite and positive), judged on the digits shown: a range that reads 1.00x at
    both ends names no winner."""
    if float(_x(b)) < 1:
        return f"{numpy} is faster: {torch} takes {_range((1 / b, 1 / a))} {numpy}'s time"
    if float(_x(a)) > 1:
        return f"{torch} is faster: {_range((a, b))} {numpy}'s speed"
    if _x(a) == _x(b):
        return f"the two are level: {torch} runs at {_range((a, b))} {numpy}'s speed"
    return f"neither library is always faster: {torch} runs at {_range((a, b))} {numpy}'s speed"


def _usable(values) -> list:
    """The ratios of ``values`` that are finite and positive and whose inverse is too (a
    speedup of 0, inf or 1e-310 states nothing)."""
    inf = float("inf")
    return [float(v) for v in values if 0 < float(v) < inf and 1 / float(v) < inf]


def in_short(runs, table, per_launch=None) -> list[str]:
    """The answer in one sentence: eager torch-cpu against NumPy at the headline MLP's size,
    over every machine, thread count and launch of the table (its trusted ratios only); then
    each library at its best (``at_its_best``) where the runs measured both, on its own
    evidence (it stands alone where the first sentence has none)."""
    lo, hi = [], []
    for run in runs:
        for sl in render.headline_slices(table, run.label):
            rows = analysis.select(table, sl)
            hit = rows[(rows["series"] == CROSSOVER_SERIES) & (rows["n_params"] == ANSWER_SIZES[0])
                       & rows["trusted"] & rows["speedup"].notna()]
            lo += list(hit["speedup_lo"])
            hi += list(hit["speedup_hi"])
    lo, hi = _usable(lo), _usable(hi)
    best = at_its_best(runs, table, per_launch) if per_launch is not None else ""
    if not (lo and hi):
        return [best.strip(), ""] if best else []
    verdict = _verdict(min(lo), max(hi), "eager PyTorch", "NumPy")
    return [f"**In short**: at the headline MLP's {ANSWER_SIZES[0]:,} parameters (784-100-10, "
            f"one CPU training step), {verdict} on the machines, thread counts and launches "
            f"below.{best}", ""]


def best_ratios(runs, table, per_launch) -> dict:
    """``{(run, n_params, threads): {launch: ratio}}``: ``BEST[0]``'s step time over
    ``BEST[1]``'s (torch's speedup over NumPy, each at its best), paired launch by launch
    (both measured in the same process, neither disturbed; a series measured twice in one
    launch: its median), at ``ANSWER_SIZES`` in every headline slice; finite, positive
    ratios only."""
    out = {}
    for run in runs:
        for sl in render.headline_slices(table, run.label):
            rows = analysis.select(per_launch, sl)
            rows = rows[~rows["disturbed"].astype(bool)]
            for p in ANSWER_SIZES:
                at = rows[rows["n_params"] == p]
                t = [at[at["series"] == s].groupby("launch")["median_s"].median() for s in BEST]
                got = {int(k): float(r) for k, r in (t[0] / t[1]).dropna().items()
                       if _usable([r])}
                if got:
                    out[(run.label, p, sl["threads"])] = got
    return out


def at_its_best(runs, table, per_launch) -> str:
    """The second sentence: each library at its best (``reports/best.py``), torch's speedup
    over NumPy per machine, size and thread count, each with its range over the launches
    that measured both (``best_ratios``); "" where no run measured both."""
    ratios = best_ratios(runs, table, per_launch)
    if not ratios:
        return ""
    per_run = []
    for run in runs:
        sizes = []
        for p in ANSWER_SIZES:
            got = {t: r for (label, q, t), r in ratios.items() if label == run.label and q == p}
            if not got:
                continue
            counts = {len(r) for r in got.values()}
            each = len(counts) == 1
            cells = [f"{_range(r.values())} with {t} thread{'s' if t != 1 else ''}"
                     + ("" if each else f" ({_launches(len(r))})") for t, r in got.items()]
            sizes.append(" and ".join(cells) + f" at {analysis.human(p)} parameters"
                         + (f" ({_launches(counts.pop())}{' each' if len(got) > 1 else ''})"
                            if each else ""))
        if sizes:
            per_run.append((run, "; ".join(sizes)))
    names = [machine_words(run, short=True) for run, _ in per_run]
    if len(set(names)) < len(names):  # one machine measured twice: the runs' own labels
        names = [md.text(run.label) for run, _ in per_run]
    per_run = [f"on the {name}: {said}" for name, (_, said) in zip(names, per_run)]
    return (f" **Each at its best** (`{BEST[0]}`: NumPy's own BLAS with the SGD update fused "
            f"into the weight-gradient GEMM, against `{BEST[1]}`: the step compiled ahead of "
            "time, without per-call guards; torch's speedup over NumPy, below 1x NumPy is "
            "faster, paired launch by launch) " + "; ".join(per_run) + ".")


def _launches(n: int) -> str:
    return f"{n} launch{'es' if n != 1 else ''}"


def _best(run, kind: str, lib: str, threads: int) -> float | None:
    """The run's best calibrated float32 GEMM GFLOP/s (kind "gemm") or copy GB/s ("copy")
    of ``lib`` at ``threads``."""
    cal = run.twins.get("calibration") or {}
    rows = cal.get("gemm") if kind == "gemm" else cal.get("copy_gbps")
    found = [float(c.get("gflops" if kind == "gemm" else "gbps") or 0) for c in rows or []
             if c.get("lib") == lib and c.get("threads") == threads and c.get("device") == "cpu"
             and (kind != "gemm" or c.get("dtype") == "float32")]
    return max(found) if found else None


def why_they_differ(runs) -> list[str]:
    """One sentence from the runs' own calibrations: each library's float32 GEMM ceiling and
    copy bandwidth on each machine, at the machine's most threads."""
    facts = []
    for run in runs:
        threads = run.twins.get("cores")
        g = [_best(run, "gemm", lib, threads) for lib in ("numpy", "torch")]
        c = [_best(run, "copy", lib, threads) for lib in ("numpy", "torch")]
        if None in g:
            continue
        copy = f" and {c[0]:.0f} vs {c[1]:.0f} GB/s" if None not in c else ""
        facts.append(f"{g[0]:.0f} vs {g[1]:.0f} GFLOP/s{copy} with {threads} threads on the "
                     f"{machine_words(run, short=True)}")
    if len(runs) < 2 or len(facts) < 2:
        return []
    return ["The answers differ because each library's own speed differs by machine: the "
            "calibration measures NumPy's (OpenBLAS) against torch's (MKL) best float32 GEMM "
            "and copy bandwidth at " + "; ".join(facts) + ".", ""]


def block(paths, docs: Path = DOCS_DIR, base: Path = Path(".")) -> str:
    """The README's results block (markers included) from the runs at ``paths``; links are
    relative to ``base``, the README's folder."""
    link = Path(os.path.relpath(docs, base)).as_posix()
    lines = [START, ""]
    if not paths:
        lines += ["No reference run is committed yet, so there is no measured answer here. "
                  "`make report` measures your machine in about 3 minutes; "
                  "`results/reference/README.md` says how a run becomes the reference.", ""]
        return "\n".join(lines + [END])
    runs, table = load_runs(paths)
    per_launch = analysis.launch_metrics(table, runs)
    table = analysis.combine_launches(per_launch)
    crossovers = analysis.crossover_table(table, analysis.fit_table(table))
    slices = [sl for run in runs for sl in render.headline_slices(table, run.label)]
    where = ", ".join(sorted({f"{sl['dtype']}, batch {sl['batch']}" for sl in slices}))
    lines += ["**The answer, per machine**: PyTorch's speedup over NumPy for one training "
              f"step of the MLP (NumPy's time / torch's: below 1x NumPy is faster), {where}; "
              "in brackets the range over independent launches (fresh processes; "
              "docs/reading-the-report.md, \"Launches\").", ""]
    lines = lines[:2] + in_short(runs, table, per_launch) + lines[2:]
    lines += answer_table(runs, table, crossovers)
    lines += why_they_differ(runs)
    if (docs / FIGURE).is_file():
        lines += [f'<img src="{link}/{FIGURE}" width="{FIGURE_WIDTH}" '
                  'alt="Speedup over NumPy per training step against parameter count">', ""]
    names = ", ".join(f"`{Path(os.path.relpath(p, base)).as_posix()}`" for p in paths)
    lines += [f"Measured in {names}; the whole report, with the answer in words, every size and "
              f"the cost model: [{link}/REPORT.md]({link}/REPORT.md) (or "
              f"`{link}/index.html`). Regenerated by `make docs`.", ""]
    return "\n".join(lines + [END])


def render_docs(paths, docs: Path, chapter: bool = True) -> None:
    """``docs/`` from the runs, through the report's own command line (same checks, same
    atomic replacement of the folder); ``chapter=False`` leaves the chapter's section out."""
    import matplotlib

    from .__main__ import main as report_main

    if not paths:
        raise ReportError("no run JSON to render; put one in the runs folder first "
                          "(see results/reference/README.md)")
    os.environ.setdefault("SOURCE_DATE_EPOCH", EPOCH)
    with matplotlib.rc_context({"svg.hashsalt": HASH_SALT}):
        flags = [] if chapter else ["--no-chapter"]
        if report_main([*map(str, paths), "--out", str(docs), *flags]) != 0:
            raise ReportError(f"{docs}: the report was not written (see above)")


def current_block(text: str, where: Path) -> tuple[int, int]:
    """Start and end offsets of the block in ``text``, markers included."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start or text.count(START) != 1 or text.count(END) != 1:
        raise ReportError(f"{where}: needs exactly one {START} ... {END} block")
    return start, end + len(END)


def main(argv=None) -> int:
    p = cli.Parser(prog=PROG, description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=lambda s: Path(cli.existing_dir(s)), default=REFERENCE_DIR,
                   metavar="DIR",
                   help=f"folder of reference runs (default: {REFERENCE_DIR}/)")
    p.add_argument("--docs", type=Path, default=DOCS_DIR, metavar="DIR",
                   help=f"where the report is rendered, and the block links to "
                        f"(default: {DOCS_DIR}/)")
    p.add_argument("--readme", type=Path, default=README, metavar="FILE",
                   help=f"the file holding the block (default: {README})")
    p.add_argument("--check", action="store_true",
                   help="render nothing, change nothing; exit 1 if the block differs from "
                        "what the runs give")
    try:
        args = p.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as e:  # --help (0), or one line naming the bad option (2)
        return e.code
    try:
        text = args.readme.read_text(encoding="utf-8")
        start, end = current_block(text, args.readme)
        paths = reference_runs(args.runs)
        if paths and not args.check:
            render_docs(paths, args.docs)
        new = block(paths, args.docs, args.readme.parent)
    except (ReportError, RunFileError) as e:
        return cli.error(PROG, e)
    except OSError as e:
        return cli.error(PROG, f"{e.filename}: {e.strerror}")
    if args.check:
        if text[start:end] != new:
            print(f"{args.readme}: the results block differs from what {args.runs}/ gives; "
                  "run make docs", file=sys.stderr)
            return 1
        return 0
    args.readme.write_text(text[:start] + new + text[end:], encoding="utf-8")
    print(f"{args.readme}: results block written from {len(paths)} run(s) in {args.runs}/"
          + ("" if paths else f"; {args.docs}/ not rendered (no run)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
