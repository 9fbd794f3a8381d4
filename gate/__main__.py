"""The performance gate's command line.

    python -m gate check [--baseline gate/baseline.json] [--run RUN.json] [--allow-missing]
    python -m gate ab --base REF [--pairs 3] [-- PYTEST ARGS]   # same-machine A/B (gate/ab.py)
    python -m gate baseline [--repeats 4] [--out gate/baseline.json] [-- PYTEST ARGS]
    python -m gate baseline --runs RUN.json RUN.json ...   # from saved runs

``check`` runs the benchmarks the baseline was made from (unless ``--run`` gives a run's
JSON), compares each with the baseline (``gate/compare.py`` says how), re-runs only the
suspects and the rows measured on a disturbed machine, with longer timing, prints a table and
exits 1 if a regression is confirmed or evidence is missing (``gate/verdict.py``), 0 if not,
2 on bad input (one line naming the file and the field). ``baseline`` runs the benchmarks
``--repeats`` times on unchanged code and writes medians, raw samples and per-benchmark
noise thresholds. ``ab`` runs this checkout and REF interleaved on this machine and judges
one against the other (``gate/ab.py``). ``--format markdown`` (check, ab) prints only the
verdict, the rows beyond noise and the torch/NumPy ratios on stdout, as Markdown
(``gate/markdown.py``); everything else goes to stderr.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from bench import runfile
from bench.runfile import Run
from bench.schema import RESULTS_DIR

from . import ab as abm
from . import compare as cmp
from . import markdown, verdict
from .baseline import make_baseline
from .runner import GateError, load_run, run_benchmarks, stdout_to_stderr

DEFAULT_BASELINE = Path(__file__).with_name("baseline.json")
DEFAULT_PYTEST_ARGS = ["--profile", "quick"]
RERUN_MAX_TIME = "2.0"  # suspects are re-run with twice the profile's time
BASELINE_RETRIES = 2  # a baseline run with rows still disturbed is measured again this often


def fmt(row) -> str:
    why = f" ({row['reason']})" if row.get("reason") else ""
    if row["verdict"] in cmp.UNMEASURED:
        return (f"{row['name']:<58} {'':>10} {'':>10} {'':>8} {'':>6}  {'':<8}  "
                f"{row['verdict'].upper()}{why}")
    unit, scale = markdown.unit(row)
    return (f"{row['name']:<58} {row['base'] * scale:>10.4g} {row['now'] * scale:>10.4g} "
            f"{row['change']:>+8.1%} {row['threshold']:>6.1%}  {unit:<8}  "
            f"{row['verdict'].upper()}{why}")


def print_table(rows, mode):
    print(f"\ngate: rows with an interleaved probe compare relative times (round / probe, "
          f"drift cancelled); the others compare in {mode} mode")
    print("(aggregate rows: geometric mean of their members' ratios now / baseline)")
    print(f"{'benchmark':<58} {'baseline':>10} {'now':>10} {'change':>8} {'thresh':>6}  "
          f"{'unit':<8}  verdict")
    for row in rows:
        print(fmt(row))


def print_environment(baseline: dict, run: Run, mode: str) -> None:
    same = cmp.fingerprint(run) == baseline["fingerprint"]
    print(f"gate: environment {'matches' if same else 'differs from'} the baseline's; "
          f"calibrated GEMM rates x{cmp.calibration_shift(baseline, run):.2f} of the "
          f"baseline's -> {mode} comparison of rows without a probe")


def confirm_suspects(rows, baseline: dict, mode: str, pytest_args, rerun_json: Path) -> None:
    """Re-run only the suspects and the disturbed rows, longer, up to ``RERUN_PASSES`` times
    (``gate/verdict.py``: a suspect is a regression only if a clean re-run flags it again; a
    disturbed row is judged on its first clean re-run). Updates ``rows``."""
    for _ in range(verdict.RERUN_PASSES):
        todo = verdict.needs_rerun(rows)
        if not todo:
            return
        print(f"\ngate: {len(todo)} suspect or disturbed row(s); re-running only those")
        ids = list(dict.fromkeys(i for r in todo for i in r["node_ids"]))
        rerun = run_benchmarks([*baseline["pytest_args"], *pytest_args,
                                f"--benchmark-max-time={RERUN_MAX_TIME}", *ids], rerun_json)
        verdict.merge_rerun(rows, {r["name"]: r for r in cmp.compare(baseline, rerun, mode)})


def print_ratios(ratios: dict, columns: list) -> None:
    if ratios:
        print("\ngate: within-run ratios (torch time / numpy time), machine-independent:")
        print(f"  {'case':<58} " + " ".join(f"{c:>7}" for c in columns))
        for name, values in sorted(ratios.items()):
            print(f"  {name:<58} " + " ".join(f"{v:6.2f}x" if v is not None else f"{'':>7}"
                                               for v in values))


def report(rows, run: Run, mode: str, args, ratios: dict, columns: list, context=()) -> int:
    """Print the verdict (text: table, ratios, reasons; markdown: ``gate/markdown.py``) and
    return the exit status: 1 if a regression is confirmed (or a suspect stands
    unconfirmed, without re-run), the run is incomplete, or evidence is missing or
    disturbed (``gate/verdict.py``), else 0."""
    code, lines = verdict.decide(rows, run, args.allow_missing)
    if args.format == "markdown":
        print(markdown.render(code, lines, rows, ratios, columns, context), end="")
        return code
    print_table(rows, mode)
    print_ratios(ratios, columns)
    print("\n".join(["", *context, *lines]))
    return code


def writable(path, what: str) -> None:
    """Refuse an output path before minutes of benchmarks are spent on it."""
    if path is not None and (Path(path).is_dir() or not Path(path).parent.is_dir()):
        raise GateError(f"{path}: {what} must be a JSON file in an existing folder")


def check(args) -> int:
    writable(args.save, "--save")
    baseline = runfile.load_baseline(args.baseline)
    with stdout_to_stderr(args.format == "markdown"), tempfile.TemporaryDirectory() as tmp:
        run = load_run(args.run) if args.run else run_benchmarks(
            baseline["pytest_args"] + args.pytest_args, Path(args.save or Path(tmp, "now.json")))
        mode = args.mode or cmp.choose_mode(baseline, run)
        print_environment(baseline, run, mode)
        rows = cmp.compare(baseline, run, mode)
        if not args.no_rerun:
            confirm_suspects(rows, baseline, mode, args.pytest_args, Path(tmp, "rerun.json"))
    context = [f"`gate check`: this run against `{Path(args.baseline).name}` "
               f"({baseline['runs']} runs of unchanged code); rows without a probe: {mode}"]
    ratios = {k: [v] for k, v in cmp.backend_ratios(run).items()}
    return report(rows, run, mode, args, ratios, ["now"], context)


def ab(args) -> int:
    """Same-machine A/B of this checkout against ``--base`` (``gate/ab.py``)."""
    if args.pairs < 2:
        raise GateError("--pairs must be at least 2: the base's noise needs two runs")
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
    repo = abm.repo_root()
    pytest_args = args.pytest_args or abm.DEFAULT_PYTEST_ARGS
    with stdout_to_stderr(args.format == "markdown"), abm.signals_as_interrupt(), \
            tempfile.TemporaryDirectory() as tmp, abm.base_worktree(repo, args.base) as (tree, sha):
        job = abm.AB(repo, tree, pytest_args, Path(args.keep or tmp))
        rows, mode = job.run(args.pairs)
    head = next((r for r in job.head_runs if r.incomplete()), job.head_runs[-1])
    context = [f"`gate ab`: this checkout (head) against `{args.base}` ({sha[:10]}), "
               f"{args.pairs} interleaved pairs on one machine ({head.label}); thresholds "
               f"from the base's own spread; rows without a probe: {mode}"]
    ratios = abm.ratios(job.base_runs, job.head_runs)
    return report(rows, head, mode, args, ratios, ["base", "head"], context)


def baseline(args) -> int:
    pytest_args = args.pytest_args or DEFAULT_PYTEST_ARGS
    writable(args.out, "--out")
    if args.runs:  # from saved runs of unchanged code
        check_distinct(args.runs)
        runs = [load_run(p) for p in args.runs]
        return write_baseline(runs, pytest_args, Path(args.out))
    if args.repeats < 2:
        raise GateError("--repeats must be at least 2: the noise needs two runs")
    keep = Path(args.keep)  # the runs stay there (git-ignored) for reports and audits
    keep.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    runs = [_clean_run(pytest_args, keep, f"{stamp}-baseline-{i + 1}")
            for i in range(args.repeats)]
    return write_baseline(runs, pytest_args, Path(args.out))


def _clean_run(pytest_args, keep: Path, name: str):
    """One baseline run; measured again (at most ``BASELINE_RETRIES`` times) while rows of
    it stay disturbed after the run's own re-measuring. The last try is returned either
    way: ``make_baseline`` refuses one that is still disturbed."""
    run = run_benchmarks(pytest_args, keep / f"{name}.json")
    for k in range(1, BASELINE_RETRIES + 1):
        noisy = [cmp.short_name(b) for b in run.benchmarks if cmp.disturbed(b)]
        if not noisy:
            break
        print(f"gate: {run.path}: {len(noisy)} row(s) still disturbed ({', '.join(noisy[:3])}"
              f"{', ...' if len(noisy) > 3 else ''}): measuring the run again "
              f"({k}/{BASELINE_RETRIES})", flush=True)
        run = run_benchmarks(pytest_args, keep / f"{name}-again-{k}.json")
    return run


def check_distinct(paths) -> None:
    """Each run once: a run named twice (or a copy of it) would measure zero noise."""
    seen = {}
    for p in paths:
        path = Path(p)
        key = path.resolve()
        if key in seen:
            raise GateError(f"{p}: named twice in --runs (the same run twice measures no noise)")
        content = path.read_bytes() if path.is_file() else None
        twin = next((q for q, c in seen.values() if content is not None and c == content), None)
        if twin is not None:
            raise GateError(f"{p}: the same run as {twin} (a copy measures no noise)")
        seen[key] = (p, content)


def write_baseline(runs, pytest_args, out: Path) -> int:
    doc = make_baseline(runs)
    doc["pytest_args"] = pytest_args
    runfile.write_json(out, doc)
    print(f"gate: wrote {out}: {len(doc['benchmarks'])} benchmarks from {len(runs)} runs")
    print_noise(doc)
    return 0


def print_noise(doc: dict) -> None:
    """The five noisiest benchmarks and every aggregate, in the mode check will use here."""
    def main_mode(ref):
        return "relative" if "relative" in ref["noise"] else "absolute"

    noisiest = sorted(doc["benchmarks"].items(),
                      key=lambda kv: -kv[1]["noise"][main_mode(kv[1])])
    for name, ref in noisiest[:5]:
        m = main_mode(ref)
        print(f"  noisiest: {name}: {m} {ref['noise'][m]:.1%} -> threshold "
              f"{ref['threshold'][m]:.1%}")
    for name, ref in doc["aggregates"].items():
        m = main_mode(ref)
        print(f"  aggregate: {name} ({len(ref['members'])} benchmarks): {m} noise "
              f"{ref['noise'][m]:.1%} -> threshold {ref['threshold'][m]:.1%}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m gate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="run the benchmarks and compare with the baseline")
    c.add_argument("--baseline", default=DEFAULT_BASELINE, help="baseline JSON (%(default)s)")
    c.add_argument("--run", help="compare this run's JSON instead of running benchmarks")
    c.add_argument("--mode", choices=("absolute", "normalised"),
                   help="force the mode of rows without a probe (default: absolute iff same "
                        "environment and GEMM rates within 25 %%; probed rows are relative)")
    c.add_argument("--no-rerun", action="store_true",
                   help="do not re-run suspects or disturbed rows")
    c.add_argument("--allow-missing", action="store_true",
                   help="pass even if baseline benchmarks are missing from the run or were "
                        "only measured disturbed (listed, not judged)")
    c.add_argument("--save", metavar="RUN.json", help="keep this run's JSON there")
    b = sub.add_parser("baseline", help="rewrite the baseline from repeated runs")
    b.add_argument("--repeats", type=int, default=4, help="runs of unchanged code (%(default)s)")
    b.add_argument("--out", default=DEFAULT_BASELINE, help="where to write (%(default)s)")
    b.add_argument("--keep", default=RESULTS_DIR, help="folder for the runs' JSON (%(default)s)")
    b.add_argument("--runs", nargs="+", metavar="RUN.json",
                   help="build from these saved runs of unchanged code instead of running")
    a = sub.add_parser("ab", help="this checkout against --base REF, interleaved on this "
                                  "machine (gate/ab.py)")
    a.add_argument("--base", required=True, metavar="REF",
                   help="the commit to compare against (a branch, tag, sha, HEAD~1, ...)")
    a.add_argument("--pairs", type=int, default=abm.DEFAULT_PAIRS,
                   help="interleaved base/head run pairs (%(default)s; at least 2)")
    a.add_argument("--keep", metavar="DIR", help="keep the runs' JSON in DIR (default: "
                                                 "a temporary folder, removed)")
    a.add_argument("--allow-missing", action="store_true",
                   help="pass even if rows could not be judged (listed, not judged)")
    for p in (c, a):
        p.add_argument("--format", choices=("text", "markdown"), default="text",
                       help="text (default) or markdown: verdict, rows beyond noise, ratios "
                            "on stdout (e.g. >> $GITHUB_STEP_SUMMARY), the rest on stderr")
    for p in (b, c, a):
        p.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after -- "
                                                      "(ab: they replace its default selection)")
    args = ap.parse_args(argv)
    commands = {"check": check, "baseline": baseline, "ab": ab}
    try:
        return commands[args.command](args)
    except (GateError, ValueError, OSError) as e:
        print(f"gate: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gate: interrupted (temporary worktree and files removed)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
