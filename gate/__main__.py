"""The performance gate's command line.

    python -m gate check [--run RUN.json] [--allow-missing]      # this machine's baseline
    python -m gate check --baseline FILE                          # a named one, same machine
    python -m gate ab --base REF [--pairs 3] [-- PYTEST ARGS]   # same-machine A/B (gate/ab.py)
    python -m gate baseline [--repeats 4] [-- PYTEST ARGS]      # gate/baselines/<machine>.json
    python -m gate baseline --runs RUN.json RUN.json ...   # from saved runs

Numbers are judged only against numbers of the same machine (``gate/machine.py``: CPU model,
family/model and kernel-selecting flags, cores, Python, NumPy, torch, BLAS versions and
kernels, GPU). ``check`` looks in ``gate/baselines/`` for this machine's baseline; found, it
runs the benchmarks the baseline was made from (unless ``--run`` gives a run's JSON),
compares each with the baseline (``gate/compare.py`` says how), re-runs only the suspects and
the rows measured on a disturbed machine, with longer timing, and prints a table. A row still
slower than the stored numbers is a regression only if a same-machine A/B against the commit
the baseline measured confirms it on this very host (``confirm_here``: a fingerprint names a
kind of machine, and hosts of one kind differ). Not found,
it measures the reference itself here: a same-machine A/B (``gate ab``) of this checkout
against the nearest commit a committed baseline recorded, and says so in one line naming both
machines. A baseline or run of another machine is refused, never compared. ``baseline`` runs
the benchmarks ``--repeats`` times on unchanged code and writes this machine's baseline
(medians, raw samples, per-benchmark noise thresholds, the commit measured). ``ab`` runs this
checkout and REF interleaved on this machine and judges one against the other. ``--format
markdown`` (check, ab) prints only the verdict, the rows beyond noise and the torch/NumPy
ratios on stdout, as Markdown (``gate/markdown.py``); everything else goes to stderr.

Exit status (``gate/verdict.py``): 0 pass; 1 a confirmed regression; 2 malformed input (one
line naming the file and the field, or the option); 3 could not judge (evidence missing,
incomplete or still disturbed after the allowed re-runs, or nothing of this machine to judge
against: one line says which); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from core import cli
from runfile import Run, RunFileError, write_json
from runfile.schema import RESULTS_DIR

from . import ab as abm
from . import compare as cmp
from . import machine, markdown, verdict
from .baseline import load as load_baseline
from .baseline import make_baseline
from .runner import GateError, Unjudged, load_run, run_benchmarks, stdout_to_stderr

DEFAULT_PYTEST_ARGS = ["--profile", "quick"]
RERUN_MAX_TIME = "2.0"  # suspects are re-run with twice the profile's time
BASELINE_RETRIES = 2  # a baseline run with rows still disturbed is measured again this often
EXIT_HELP = ("exit status: 0 pass, 1 confirmed regression, 2 malformed input, 3 could not "
             "judge (evidence missing or disturbed, or nothing of this machine to judge "
             "against), 130 interrupted")
PAIRS = cli.int_at_least(2, "the base's noise needs two runs")  # --pairs of check and ab


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
    print(f"gate: calibrated GEMM rates x{cmp.calibration_shift(baseline, run):.2f} of the "
          f"baseline's -> {mode} comparison of rows without a probe")


def commit_words(doc: dict) -> str:
    sha, dirty = doc["commit"].get("id"), doc["commit"].get("dirty")
    return f"commit {sha[:10]}{' with uncommitted changes' if dirty else ''}" if sha else \
        "an unrecorded commit"


def foreign(what: str, theirs: dict, ours: dict, ours_what: str) -> str:
    """One line: ``what`` was measured on another machine than ``ours_what``."""
    return (f"{what} was measured on {machine.label(theirs)} [{machine.machine_id(theirs)}], "
            f"{ours_what} is {machine.label(ours)} [{machine.machine_id(ours)}] (they differ "
            f"in, or do not record, {', '.join(machine.differences(theirs, ours))}): numbers "
            "are judged only "
            "against numbers of the same machine")


def shown(path) -> str:
    """``path`` relative to the working directory where it is under it (messages name no
    machine's absolute paths needlessly)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def committed_baselines(folder) -> dict:
    """``{path: document}`` of the baselines in ``folder``; exit 2 for a folder that is not
    one, a malformed baseline, or one not named by its machine's id (two files of one
    machine, or a file copied under another name, would make "its own" ambiguous)."""
    if not Path(folder).is_dir():
        raise GateError(f"--baselines {folder}: not a folder")
    docs = {p: load_baseline(p) for p in machine.baselines(folder)}
    for path, doc in docs.items():
        if path.stem != doc["machine"]["id"]:
            raise GateError(f"{shown(path)}: the baseline of machine {doc['machine']['id']!r} "
                            f"must be named {doc['machine']['id']}.json")
    return docs


def choose_baseline(args, fp: dict, what: str):
    """``(path, document)`` of the baseline to judge ``fp``'s numbers against, or
    ``(None, docs)`` where this machine has none in ``--baselines``. ``--baseline`` names
    one; of another machine it is refused (exit 2)."""
    if args.baseline is not None:
        doc = load_baseline(args.baseline)
        if not machine.same(doc["fingerprint"], fp):
            raise GateError(foreign(f"{args.baseline}: the baseline", doc["fingerprint"], fp,
                                    what))
        return Path(args.baseline), doc
    docs = committed_baselines(args.baselines)
    own = machine.own_baseline(fp, docs)
    return (own, docs[own]) if own else (None, docs)


def check(args) -> int:
    if args.run:
        return check_saved_run(args)
    here = machine.this_machine()
    path, baseline = choose_baseline(args, here, "this machine")
    if path is None:
        return reference_ab(args, baseline, here)
    with tempfile.TemporaryDirectory() as tmp:
        with stdout_to_stderr(args.format == "markdown"):
            run = run_benchmarks(baseline["pytest_args"] + args.pytest_args,
                                 Path(args.save or Path(tmp, "now.json")))
        if not machine.same(cmp.fingerprint(run), baseline["fingerprint"]):
            raise Unjudged(foreign("the run", cmp.fingerprint(run), baseline["fingerprint"],
                                   f"the baseline {shown(path)}'s machine"))
        return judge_run(args, path, baseline, run, Path(tmp), not args.no_rerun)


def check_saved_run(args) -> int:
    """``--run``: a saved run, judged against its own machine's baseline or not at all;
    its suspects are re-run (and confirmed against the baseline's commit) only where this is
    that machine and this checkout is the code the run measured (``abm.not_this_code``)."""
    run = load_run(args.run)
    fp = cmp.fingerprint(run)
    if machine.unknown(fp):
        raise GateError(f"{args.run}: the run does not say which machine measured it "
                        f"(machine_info.mlp_twins lacks {', '.join(machine.unknown(fp))})")
    path, baseline = choose_baseline(args, fp, "the run's machine")
    if path is None:
        raise GateError(f"{args.run}: no baseline of the machine that measured it "
                        f"({machine.label(fp)} [{machine.machine_id(fp)}]) in "
                        f"{shown(args.baselines)}/: a run is judged only against its own "
                        "machine's baseline (`gate check` without --run measures one here)")
    rerun = not args.no_rerun
    if rerun and not machine.same(machine.this_machine(), fp):
        rerun = False
        print("gate: the run was measured on another machine than this one: its suspects "
              "and disturbed rows cannot be re-run here (a suspect stands, a disturbed row "
              "is not judged)", file=sys.stderr)
    elif rerun and (other := abm.not_this_code(run.commit)):
        rerun = False
        print(f"gate: {other}: its suspects and disturbed rows cannot be re-run or confirmed "
              "here, which would measure other code (a suspect stands, a disturbed row is "
              "not judged)", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        return judge_run(args, path, baseline, run, Path(tmp), rerun, "the run's machine")


def judge_run(args, path: Path, baseline: dict, run: Run, tmp: Path, rerun: bool,
              whose: str = "this machine") -> int:
    """Compare ``run`` with ``baseline`` (same machine: checked by the caller), re-run the
    suspects and disturbed rows (JSON in ``tmp``) where ``rerun``, print the verdict."""
    with stdout_to_stderr(args.format == "markdown"):
        print(f"gate: {whose}'s baseline: {shown(path)} ({baseline['machine']['label']}; "
              f"{baseline['runs']} runs of {commit_words(baseline)})")
        if run.launches > 1:
            print(f"gate: the run has {run.launches} launches: each benchmark is judged by its "
                  "median launch (of those undisturbed)")
        mode = args.mode or cmp.choose_mode(baseline, run)
        print_environment(baseline, run, mode)
        rows = cmp.compare(baseline, run, mode)
        if rerun:
            confirm_suspects(rows, baseline, mode, args.pytest_args, tmp / "rerun.json")
            confirm_here(rows, baseline, args, tmp / "confirm")
    context = [f"`gate check`: this run against `{path.name}`, {whose}'s baseline "
               f"({baseline['runs']} runs of unchanged code); rows without a probe: {mode}"]
    ratios = {k: [v] for k, v in cmp.backend_ratios(run).items()}
    return report(rows, run, mode, args, ratios, ["now"], context)


def reference_ab(args, docs: dict, here: dict) -> int:
    """This machine has no baseline: measure the reference here, as an A/B of this
    checkout against the nearest ancestor commit a committed baseline recorded."""
    if not docs:
        raise Unjudged(f"no baseline in {shown(args.baselines)}/ at all: nothing to judge "
                       "against (make baseline records this machine's)")
    for option, given, instead in (
            ("--save", args.save, "--keep-ab DIR keeps its runs' JSON"),
            ("--mode", args.mode, "both sides are measured here: rows without a probe "
                                  "compare absolute times"),
            ("--no-rerun", args.no_rerun, "its suspects are always re-run as one more pair")):
        if given:
            raise GateError(f"{option}: this machine has no baseline, so the gate measures the "
                            f"reference here as an A/B, where {option} does not apply "
                            f"({instead})")
    try:
        repo = abm.repo_root()
    except GateError as e:
        raise Unjudged(f"no baseline of this machine ({machine.label(here)}) and {e}") from e
    sha, path = abm.reference(docs, repo)
    ref = docs[path]
    line = (f"gate: no baseline of this machine, {machine.label(here)} "
            f"[{machine.machine_id(here)}], in {shown(args.baselines)}/; measuring the "
            f"reference here instead: a same-machine A/B of this checkout against "
            f"{sha[:10]}, the commit that {path.name} ({ref['machine']['label']}) measured")
    print(line, file=sys.stderr if args.format == "markdown" else sys.stdout, flush=True)
    args.base, args.keep = sha, args.save_ab
    pytest_args = [*abm.DEFAULT_PYTEST_ARGS, *args.pytest_args]
    selection = ("the A/B's selection: NumPy and torch single-thread float32 training steps "
                 "at six sizes, and their aggregates; not the baseline's whole profile")
    return ab(args, pytest_args, [line.removeprefix("gate: "), selection])


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


NOT_REPRODUCED = "ok (not reproduced against the baseline's commit here)"
CLEARING = ("ok", "faster", "ok" + verdict.REMEASURED, "faster" + verdict.REMEASURED)


def confirm_here(rows, baseline: dict, args, folder: Path) -> None:
    """A fingerprint names a kind of machine, not a host: two VMs of one CPU model can differ
    by tens of % on some rows (memory-bound ones most; seen in CI: 7 activation rows of
    unchanged code 'confirmed' slower than the stored numbers of another VM of the same
    kind). So a row the stored numbers call a regression on two runs is measured once more,
    as a same-machine A/B (``gate/ab.py``) of this checkout against the commit the baseline
    measured, on just those rows. It stays a regression if the A/B flags it; it turns
    ``NOT_REPRODUCED`` only on positive evidence: the A/B judged it within its noise on its
    first pass (``CLEARING``) *and* its change is within the stored threshold that flagged
    the row (the A/B's own threshold, from three fresh base runs, may be looser); an
    aggregate also needs the A/B to have measured all of its stored members. Anything else
    (the A/B flagged it once but not on its re-run, could not judge it, failed, or the
    commit is not here) is an unconfirmed suspect: could not judge (exit 3).

    What the A/B cannot see: both sides share this interpreter, its packages, the
    environment and the pytest arguments, so a slowdown that comes from those (a package
    outside the fingerprint, an environment variable, a plugin) is not reproduced by it.
    Updates ``rows``."""
    todo = [r for r in rows if r["verdict"] == "regression"]
    if not todo:
        return
    sha = baseline["commit"].get("id")
    try:
        repo = abm.repo_root()
        why = ("the baseline records no commit" if not sha else None if abm.has_commit(repo, sha)
               else f"its commit {sha[:10]} is not in this clone (a shallow clone? fetch the "
                    "full history)")
    except (GateError, Unjudged) as e:
        why = str(e)
    if why:
        unconfirmed(todo, f"slower than the stored numbers twice; not measured against the "
                          f"baseline's commit here: {why}")
        return
    held = baseline["commit"].get("dirty")  # False, True, or None: not recorded
    dirty = "" if held is False else (
        f" (the baseline {'may have measured' if held is None else 'measured'} uncommitted "
        "changes on top of it, which cannot be measured here)")
    print(f"\ngate: {len(todo)} row(s) slower than the stored baseline on two runs; another "
          f"host of this machine's kind can be slower, so measuring the baseline's commit "
          f"{sha[:10]}{dirty} here beside this checkout (a same-machine A/B of those rows, "
          f"{args.pairs} pairs) before calling them regressions", flush=True)
    ids = list(dict.fromkeys(i for r in todo for i in r["node_ids"]))
    try:
        here = {r["name"]: r for r in abm.confirm(
            repo, sha, [*baseline["pytest_args"], *args.pytest_args, *ids], folder,
            args.pairs)}
    except (GateError, Unjudged, RunFileError, ValueError, OSError) as e:
        unconfirmed(todo, f"the A/B against {sha[:10]} here failed: {e}")
        return
    for r in todo:
        r["verdict"], r["reason"], change = here_verdict(r, here.get(r["name"]), sha[:10])
        if change is not None:
            r["change_ab"] = change


def here_verdict(row: dict, a: dict | None, sha: str) -> tuple:
    """``(verdict, reason, A/B change or None)`` of a row the stored numbers call a
    regression, given its A/B row ``a`` against the baseline's commit (see confirm_here)."""
    if a is None or a["verdict"] in (*cmp.UNMEASURED, "disturbed", "suspect"):
        return "suspect", (f"the A/B against {sha} here could not judge it "
                           f"({a['verdict'] if a else 'not measured'})"), None
    said = f"A/B against {sha} here: {a['change']:+.1%}, its threshold {a['threshold']:.1%}"
    if a["verdict"] == "regression":
        return "regression", said, a["change"]
    if a["verdict"] not in CLEARING:
        return "suspect", f"{said}: {a['verdict']}, neither confirmed nor cleared", a["change"]
    if a["change"] > row["threshold"]:
        return "suspect", (f"{said}, but above the stored threshold {row['threshold']:.1%}: "
                           "neither confirmed nor cleared"), a["change"]
    if row["kind"] == "aggregate" and set(a.get("node_ids", ())) != set(row["node_ids"]):
        return "suspect", (f"{said}, but over {len(a.get('node_ids', ()))} of its "
                           f"{len(row['node_ids'])} members: not cleared"), a["change"]
    return NOT_REPRODUCED, said, a["change"]


def unconfirmed(rows, reason: str) -> None:
    for r in rows:
        r["verdict"], r["reason"] = "suspect", reason


def print_ratios(ratios: dict, columns: list) -> None:
    if ratios:
        print("\ngate: within-run ratios (torch time / numpy time), machine-independent:")
        print(f"  {'case':<58} " + " ".join(f"{c:>7}" for c in columns))
        for name, values in sorted(ratios.items()):
            print(f"  {name:<58} " + " ".join(f"{v:6.2f}x" if v is not None else f"{'':>7}"
                                               for v in values))


def report(rows, run: Run, mode: str, args, ratios: dict, columns: list, context=()) -> int:
    """Print the verdict (text: table, ratios, reasons; markdown: ``gate/markdown.py``) and
    return the exit status (``gate/verdict.py``): 1 if a regression is confirmed (or, with
    ``--no-rerun``, a suspect stands), else 3 if the run is incomplete, evidence is missing
    or disturbed, or a suspect could not be confirmed, else 0."""
    code, lines = verdict.decide(rows, run, args.allow_missing,
                                 unconfirmed_is_regression=getattr(args, "no_rerun", False))
    if args.format == "markdown":
        print(markdown.render(code, lines, rows, ratios, columns, context), end="")
        return code
    print_table(rows, mode)
    print_ratios(ratios, columns)
    print("\n".join(["", *context, *lines]))
    return code


def ab(args, pytest_args=None, context=()) -> int:
    """Same-machine A/B of this checkout against ``--base`` (``gate/ab.py``); ``pytest_args``
    default to ``args.pytest_args`` or the A/B's default selection."""
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
    repo = abm.repo_root()
    pytest_args = pytest_args or args.pytest_args or abm.DEFAULT_PYTEST_ARGS
    with stdout_to_stderr(args.format == "markdown"), abm.signals_as_interrupt(), \
            tempfile.TemporaryDirectory() as tmp, abm.base_worktree(repo, args.base) as (tree, sha):
        job = abm.AB(repo, tree, pytest_args, Path(args.keep or tmp))
        rows, mode = job.run(args.pairs)
    head = next((r for r in job.head_runs if r.incomplete()), job.head_runs[-1])
    context = [*context,
               f"`gate ab`: this checkout (head) against `{args.base}` ({sha[:10]}), "
               f"{args.pairs} interleaved pairs on one machine ({head.label}); thresholds "
               f"from the base's own spread; rows without a probe: {mode}"]
    ratios = abm.ratios(job.base_runs, job.head_runs)
    return report(rows, head, mode, args, ratios, ["base", "head"], context)


def baseline(args) -> int:
    pytest_args = args.pytest_args or DEFAULT_PYTEST_ARGS
    if args.runs:  # from saved runs of unchanged code
        check_distinct(args.runs)
        runs = [load_run(p) for p in args.runs]
        return write_baseline(runs, pytest_args, args.out)
    keep = Path(args.keep)  # the runs stay there (git-ignored) for reports and audits
    keep.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    runs = [_clean_run(pytest_args, keep, f"{stamp}-baseline-{i + 1}")
            for i in range(args.repeats)]
    return write_baseline(runs, pytest_args, args.out)


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


def write_baseline(runs, pytest_args, out) -> int:
    """This machine's baseline from ``runs``, to ``out`` (default: ``gate/baselines/<id>.json``,
    added or replaced)."""
    doc = make_baseline(runs)
    doc["pytest_args"] = pytest_args
    out = Path(out) if out else machine.BASELINES / f"{doc['machine']['id']}.json"
    out.parent.mkdir(exist_ok=True)
    replaced = out.exists()
    write_json(out, doc)
    print(f"gate: {'replaced' if replaced else 'wrote'} {shown(out)}: {len(doc['benchmarks'])} "
          f"benchmarks from {len(runs)} runs of {commit_words(doc)} on "
          f"{doc['machine']['label']}")
    if doc["commit"]["dirty"] is not False:
        print("gate: note: the runs measured uncommitted changes (or did not say): another "
              "machine's A/B against this baseline measures the commit, not them")
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
    ap = cli.Parser(prog="python -m gate", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="run the benchmarks and compare with the baseline")
    c.add_argument("--baselines", default=machine.BASELINES, metavar="DIR",
                   type=lambda s: Path(cli.existing_dir(s)),
                   help="the committed baselines, one per machine (default: gate/baselines/ "
                        "of this checkout); this machine's is used, else the reference is "
                        "measured here (A/B)")
    c.add_argument("--baseline", metavar="FILE",
                   help="judge against this baseline file instead (refused, exit 2, if it "
                        "is another machine's)")
    c.add_argument("--pairs", type=PAIRS, default=abm.DEFAULT_PAIRS,
                   help="interleaved pairs when the reference is measured here, or a "
                        "regression against the stored numbers is confirmed here against "
                        "the baseline's commit (%(default)s)")
    c.add_argument("--keep-ab", dest="save_ab", metavar="DIR", type=cli.folder_out,
                   help="when the reference is measured here, keep the A/B runs' JSON in DIR")
    c.add_argument("--run", help="compare this run's JSON (with its own machine's baseline) "
                                 "instead of running benchmarks")
    c.add_argument("--mode", choices=("absolute", "normalised"),
                   help="force the mode of rows without a probe (default: absolute iff same "
                        "environment and GEMM rates within 25 %%; probed rows are relative)")
    c.add_argument("--no-rerun", action="store_true",
                   help="do not re-run suspects or disturbed rows, nor measure the "
                        "baseline's commit here: a suspect then counts as a regression "
                        "without confirmation")
    c.add_argument("--allow-missing", action="store_true",
                   help="pass even if baseline benchmarks are missing from the run or were "
                        "only measured disturbed (listed, not judged)")
    c.add_argument("--save", metavar="RUN.json", type=cli.json_file_out,
                   help="keep this run's JSON there")
    b = sub.add_parser("baseline", help="rewrite the baseline from repeated runs")
    b.add_argument("--repeats", type=cli.int_at_least(2, "the noise needs two runs"), default=4,
                   help="runs of unchanged code (%(default)s)")
    b.add_argument("--out", metavar="FILE", type=cli.json_file_out,
                   help="where to write (default: gate/baselines/<this machine's id>.json, "
                        "added or replaced)")
    b.add_argument("--keep", default=RESULTS_DIR, type=cli.folder_out,
                   help="folder for the runs' JSON (%(default)s)")
    b.add_argument("--runs", nargs="+", metavar="RUN.json",
                   help="build from these saved runs of unchanged code instead of running")
    a = sub.add_parser("ab", help="this checkout against --base REF, interleaved on this "
                                  "machine (gate/ab.py)")
    a.add_argument("--base", required=True, metavar="REF",
                   help="the commit to compare against (a branch, tag, sha, HEAD~1, ...)")
    a.add_argument("--pairs", type=PAIRS, default=abm.DEFAULT_PAIRS,
                   help="interleaved base/head run pairs (%(default)s; at least 2)")
    a.add_argument("--keep", metavar="DIR", type=cli.folder_out,
                   help="keep the runs' JSON in DIR (default: a temporary folder, removed)")
    a.add_argument("--allow-missing", action="store_true",
                   help="pass even if rows could not be judged (listed, not judged)")
    for p in (c, a):
        p.add_argument("--format", choices=("text", "markdown"), default="text",
                       help="text (default) or markdown: verdict, rows beyond noise, ratios "
                            "on stdout (e.g. >> $GITHUB_STEP_SUMMARY), the rest on stderr")
    for p in (b, c, a):
        p.add_argument("pytest_args", nargs="*", help="extra pytest arguments, after -- "
                                                      "(ab: they replace its default selection; "
                                                      "check: added to the selection)")
    for p in (ap, b, c, a):
        p.epilog = EXIT_HELP
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:  # --help (0), or one line naming the bad option (2)
        return e.code
    commands = {"check": check, "baseline": baseline, "ab": ab}
    try:
        return commands[args.command](args)
    except Unjudged as e:
        print(f"gate: COULD NOT JUDGE: {e}", file=sys.stderr)
        return verdict.UNJUDGED_EXIT
    except (GateError, ValueError, OSError) as e:
        print(f"gate: error: {e}", file=sys.stderr)
        return verdict.BAD_INPUT
    except KeyboardInterrupt:
        print("gate: interrupted (temporary worktree and files removed)", file=sys.stderr)
        return 130
    except Exception as e:  # a defect of the gate itself: never read as a regression (1)
        print(f"gate: COULD NOT JUDGE: internal error ({type(e).__name__}: {e}); please "
              "report it", file=sys.stderr)
        return verdict.UNJUDGED_EXIT


if __name__ == "__main__":
    sys.exit(main())
