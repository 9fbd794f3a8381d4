"""The committed report (``docs/report/``) and the README's first screen, from the reference runs.

    python -m reports.readme          # make docs: docs/report/ and README.md's block, from the runs
    python -m reports.readme --check  # exit 1 if README.md's block is not what the runs give

``docs/report/`` is ``python -m reports results/reference/*.json --out docs/report`` made
reproducible (its own folder, which the report replaces whole: the pages in ``docs/`` stay):
the same runs give the same bytes (SVG ids salted by ``HASH_SALT``, SVG dates from
``SOURCE_DATE_EPOCH``), so a diff in ``docs/report/`` means the runs or the code changed. The
block sits between ``START`` and ``END`` in README.md: per run the headline in words (one
paragraph per thread count, naming the machine: the report's own ``render.headline``),
the speedup-versus-parameters figure from ``docs/report/``, and a table of
five sizes of the width sweep (NumPy's step time; every other backend's time and speedup).
Everything else in README.md is left as it was. ``tests/test_readme_results.py`` fails when
the committed block differs from what the committed runs give.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from core import cli
from runfile import RunFileError

from . import analysis, render
from .load import ReportError, load_runs

REFERENCE_DIR = Path("results/reference")
DOCS_DIR = Path("docs/report")  # its own folder: the pages beside it in docs/ stay
README = Path("README.md")
START = "<!-- results:start -->"
END = "<!-- results:end -->"
FIGURE = "fig2_speedup.png"
FIGURE_WIDTH = 640  # px in the README, so the table below it stays on the first screen
TABLE_ROWS = 5
HASH_SALT = "mlp-twins"  # matplotlib's svg.hashsalt: fixed SVG ids instead of random ones
EPOCH = "0"  # SOURCE_DATE_EPOCH for the SVG metadata's date, unless the caller set one
PROG = "python -m reports.readme"


def reference_runs(folder: Path = REFERENCE_DIR) -> list[Path]:
    """The committed runs, by file name (name the CPU run first: ``cpu-...``)."""
    return sorted(Path(folder).glob("*.json"))


def _time(seconds: float) -> str:
    for scale, short, _ in render.UNITS:
        if seconds >= scale:
            return f"{seconds / scale:.3g} {short}"
    return f"{seconds / render.UNITS[-1][0]:.3g} {render.UNITS[-1][1]}"


def _cell(r) -> str:
    """A backend's time, with its speedup over NumPy when both rows are undisturbed."""
    if r.disturbed:
        return f"{_time(r.median_s)} (disturbed)"
    if r.series == analysis.REFERENCE:
        return _time(r.median_s)
    known = r.trusted and np.isfinite(r.speedup)  # NaN: no NumPy row at this size
    return f"{_time(r.median_s)} ({r.speedup:.2f}x)" if known else _time(r.median_s)


def five_sizes(table, sl: dict):
    """The slice's width sweep at ``TABLE_ROWS`` sizes spread evenly over the measured
    ones (all of them when there are fewer): a DataFrame of single-process step rows."""
    rows = analysis.select(table, sl)
    sizes = sorted(rows["n_params"].unique())
    if len(sizes) > TABLE_ROWS:
        picks = np.round(np.linspace(0, len(sizes) - 1, TABLE_ROWS)).astype(int)
        sizes = [sizes[i] for i in sorted(set(picks))]
    return rows[rows["n_params"].isin(sizes)]


def size_table(table, sl: dict) -> list[str]:
    rows = five_sizes(table, sl)
    series = sorted(rows["series"].unique(), key=lambda s: (s != analysis.REFERENCE, s))
    n = sl["threads"]
    where = f"{sl['dtype']}, {n} thread{'s' * (n != 1)}, batch {sl['batch']}"
    out = [f"Step time per backend on {sl['run']} ({where}); in brackets the "
           "speedup over NumPy:", "",
           "| layers | params | " + " | ".join(series) + " |",
           "|---|---:|" + "---:|" * len(series)]
    for (p, layers), g in rows.groupby(["n_params", "layers"]):
        cells = [next((_cell(r) for r in g[g["series"] == s].itertuples()), "") for s in series]
        out.append(f"| {layers} | {p:,} | " + " | ".join(cells) + " |")
    return out + [""]


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
    table = analysis.add_metrics(table, runs)
    crossovers = analysis.crossover_table(table, analysis.fit_table(table))
    for run in runs:
        for sl in render.headline_slices(table, run.label) or [None]:
            lines += [render.headline(table, crossovers, sl, run.label), ""]
    if (docs / FIGURE).is_file():
        lines += [f'<img src="{link}/{FIGURE}" width="{FIGURE_WIDTH}" '
                  'alt="Speedup over NumPy per training step against parameter count">', ""]
    for run in runs:
        sl = analysis.default_slice(table, run.label)
        if sl is not None:
            lines += size_table(table, sl)
    names = ", ".join(f"`{Path(os.path.relpath(p, base)).as_posix()}`" for p in paths)
    lines += [f"Measured in {names}; the whole report: [{link}/REPORT.md]({link}/REPORT.md) "
              f"(or `{link}/index.html`). Regenerated by `make docs`.", ""]
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
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"{PROG}: error: {e.filename}: {e.strerror}", file=sys.stderr)
        return 2
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
