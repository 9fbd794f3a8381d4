"""Build the report from one or more benchmark runs.

    python -m reports                          # newest results/runs/*.json -> reports/out/
    python -m reports RUN.json [RUN.json ...] --out DIR

Writes results.csv (one row per benchmark), fits.csv, crossovers.csv, the figures (PNG and
SVG), REPORT.md and a self-contained index.html. Everything is built in a temporary folder
beside DIR and moved into place at the end, so a failure leaves DIR as it was. Bad input
prints one line naming the file and exits with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path

from core import cli
from runfile import RunFileError
from runfile.schema import RESULTS_DIR

from .load import ReportError, load_runs, newest_run

DEFAULT_OUT = Path("reports/out")
MARKER = ".mlp-twins-report"  # marks a folder this tool may replace
# what a report folder holds: the marker, REPORT.md, index.html, the CSVs, the figures
REPORT_FILE = re.compile(r"\.mlp-twins-report|REPORT\.md|index\.html|(results|fits|crossovers)"
                         r"\.csv|(fig\d+_\w+|linreg|parity)\.(png|svg)")
PROG = "python -m reports"


def out_folder(text: str) -> Path:
    """``--out``: not empty, a folder that exists or can be made, as an absolute path with
    ``..`` resolved, so that every check and the replacement look at one folder (a path through
    a folder that does not exist yet would otherwise name another one once it is made)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty folder name (say '.' for this folder)")
    return Path(os.path.abspath(cli.folder_out(text)))


def parse_args(argv):
    p = cli.Parser(
        prog=PROG, description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Runs are pytest-benchmark JSON files written by the bench/ suite (contract: "
               "runfile/schema.py). Several runs (say a CPU machine's and a GPU machine's) "
               "combine into one report, each labelled by its machine; speedups are only "
               "computed within one run. Exit status: 0 done, 2 bad input or output folder.")
    p.add_argument("runs", nargs="*", metavar="RUN.json",
                   help=f"benchmark runs to report on (default: the newest *.json in "
                        f"{RESULTS_DIR}/, relative to the current directory)")
    p.add_argument("--out", type=out_folder, default=DEFAULT_OUT,
                   metavar="DIR",
                   help=f"folder for the report (default: {DEFAULT_OUT}/); replaced as a whole, "
                        "so it must be empty, new, or an earlier report")
    p.add_argument("--no-chapter", action="store_true",
                   help="skip the 'From the chapter' section (chapter.section.build)")
    p.add_argument("--mnist-dir", type=lambda t: Path(cli.existing_dir(t)), default=None,
                   help="MNIST folder passed on to chapter.section.build")
    return p.parse_args(argv)


def check_out(out: Path, inputs=()) -> None:
    """``out`` may be replaced: new, empty or an earlier report, and holding no input run
    (replacing it would delete the run the report is made from)."""
    if out.exists() and not out.is_dir():
        raise ReportError(f"{out}: exists and is not a folder")
    for p in inputs:
        if out.resolve() in Path(p).resolve().parents:
            raise ReportError(f"{p}: is inside --out {out}, which the report replaces; "
                              "move the run or choose another --out")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise ReportError(f"{out}: not empty and not an earlier report; choose another --out")
    if (out / MARKER).exists():  # an earlier report: replaced whole, so only a report's files
        foreign = sorted(p.name for p in out.iterdir() if not REPORT_FILE.fullmatch(p.name))
        if foreign:
            raise ReportError(f"{out}: an earlier report that also holds {foreign[0]!r}"
                              f"{f' and {len(foreign) - 1} more' if len(foreign) > 1 else ''},"
                              " which replacing it would delete; move it or choose another --out")


def chapter_markdown(out: Path, enabled: bool, mnist_dir) -> str:
    """The chapter's own section, or a one-line note saying why there is none."""
    if not enabled:
        return "Chapter section skipped (--no-chapter)."
    try:  # import_module honours sys.modules, where tests put a stand-in
        section = importlib.import_module("chapter.section")
    except ImportError:
        return "The chapter section is not available here (chapter.section does not import)."
    if not callable(getattr(section, "build", None)):
        return "The chapter section is not available here (chapter.section has no build)."
    try:
        text = section.build(out, mnist_dir=mnist_dir)
    except Exception as e:  # the chapter is another module's work: report, don't crash
        return f"The chapter section failed to build ({type(e).__name__}: {e})."
    return text if isinstance(text, str) else "The chapter section returned no Markdown."


def build(runs, table, out: Path, chapter: bool, mnist_dir) -> None:
    """Write every output file into ``out`` (an empty folder)."""
    from . import analysis, figures, html, render

    table = analysis.add_metrics(table, runs)
    fits = analysis.fit_table(table)
    crossovers = analysis.crossover_table(table, fits)
    slices = [analysis.default_slice(table, run.label) for run in runs]  # the figures' slices
    table.to_csv(out / "results.csv", index=False)
    fits.to_csv(out / "fits.csv", index=False)
    crossovers.to_csv(out / "crossovers.csv", index=False)
    drawn = figures.draw_all(table, fits, crossovers, [s for s in slices if s], out)
    chapter_md = chapter_markdown(out, chapter, mnist_dir)
    text = render.report_markdown(runs, table, fits, crossovers, slices, drawn, chapter_md)
    (out / "REPORT.md").write_text(text, encoding="utf-8")
    (out / "index.html").write_text(html.page(text, out, "mlp-twins report"), encoding="utf-8")
    (out / MARKER).write_text("written by python -m reports\n", encoding="utf-8")


def replace_dir(staging: Path, out: Path) -> None:
    """Swap the finished report into place; the old one is removed only afterwards."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
        os.replace(out, old / out.name)
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old)


def main(argv=None) -> int:
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as e:  # --help (0), or one line naming the bad option (2)
        return e.code
    staging = None
    try:
        paths = args.runs or [newest_run(RESULTS_DIR)]
        runs, table = load_runs(paths)
        out = Path(os.path.abspath(args.out))  # the default too: one folder for all checks
        check_out(out, paths)
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp's 0700 would outlive the rename
        build(runs, table, staging, not args.no_chapter, args.mnist_dir)
        replace_dir(staging, out)
        staging = None
    except (ReportError, RunFileError) as e:
        return cli.error(PROG, e)
    except OSError as e:
        return cli.error(PROG, f"{e.filename or args.out}: {e.strerror}")
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    print(f"report: {out / 'REPORT.md'} and {out / 'index.html'} "
          f"({len(table)} benchmarks from {len(runs)} run(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
