r"""Same-machine A/B: this checkout (head) against a base commit, interleaved, in one job.

    python -m gate ab --base origin/main [--pairs 3] [--format markdown] [-- PYTEST ARGS]
    make check-perf BASE=HEAD~1

A baseline recorded on another machine says little about a CI runner (another CPU, BLAS
kernel, balance of compute and overhead), so this compares on the same machine, in the same
job, as asv's ``continuous`` does:

1. ``git worktree add --detach`` puts REF in a temporary folder; the user's checkout is not
   touched, and the worktree is removed afterwards, also on failure, Ctrl-C or SIGTERM.
2. ``--pairs`` k runs of each side, interleaved A B A B ..., each its own interpreter
   (``sys.executable -m pytest --benchmark-only``, cwd and ``PYTHONPATH`` = that tree), with
   the same pytest arguments, hence the same profile and thread pinning. Drift of the
   machine during the job hits both sides alike.
3. The base's k runs make a baseline (``gate/baseline.py``): per row the median metric and
   the noise, the worst deviation of one base run from that median: the A/A spread of this
   very job. ``threshold = max(floor, NOISE_K x noise)`` (``gate/compare.py``).
4. Each head run is compared with it (relative times where rows have a probe, absolute
   otherwise: same machine); a row takes the head run of median change (the lower one of
   an even count), so one slow head run alone cannot make a suspect. A suspect also needs
   the one-sided Mann-Whitney U test (``p < ALPHA``).
5. Suspects and disturbed rows are confirmed by re-running just them, one more A B pair
   with twice the time, against the same baseline (``gate/verdict.py`` merges); the base's
   re-run is the control: where it is flagged too, the machine moved, not the code, and
   the re-run confirms nothing (the row stays unjudged; a second re-run may judge it).

Rows the head has and the base lacks are listed as new, not judged. The default selection
(``DEFAULT_PYTEST_ARGS``) fits a CI job: the single-thread float32 training steps of NumPy
and torch at six sizes, four of them of at least 400k parameters (the backend aggregates);
arguments after ``--`` replace it, e.g. ``-- --profile quick`` for the whole quick sweep.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import signal
import statistics
import subprocess
import tempfile
from pathlib import Path

from . import compare as cmp
from . import verdict
from .baseline import make_baseline
from .runner import GateError, Unjudged, run_benchmarks, tree_env

DEFAULT_PAIRS = 3
DEFAULT_PYTEST_ARGS = ["--profile", "quick", "--backends", "numpy,torch-cpu", "-k",
                       "test_step and f32 and t1 and "
                       "(h16 or h100 or h512 or h2048 or h4096 or h256x4)"]
RERUN_TIME_FACTOR = 2.0  # suspects are re-run with this many times the profile's max time
PROFILE_MAX_TIME = 1.0  # the quick profile's seconds per benchmark (bench/suite/grid.py)


def git(repo, *args, check=True) -> str:
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    except FileNotFoundError as e:
        raise Unjudged("git is not installed: the reference cannot be checked out here") from e
    if check and proc.returncode != 0:
        msg = (proc.stderr.strip().splitlines() or ["?"])[-1]
        raise GateError(f"git {' '.join(args)}: {msg}")
    return proc.stdout.strip()


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def signals_as_interrupt():
    """SIGINT, SIGTERM and SIGHUP end the A/B through the ``finally`` blocks, as Ctrl-C
    does; SIGINT too where the process inherited it ignored (a job started with ``&`` from
    a script), so that an interrupt always removes the worktree instead of being lost."""
    old = {s: signal.signal(s, _interrupt)
           for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


@contextlib.contextmanager
def base_worktree(repo: Path, ref: str):
    """``(tree, sha)``: REF checked out (detached) in a temporary worktree of ``repo``;
    removed afterwards whatever happens, with signals held off while it is removed."""
    sha = git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if not sha:
        raise GateError(f"--base {ref}: not a commit of {repo} (fetch it first, e.g. "
                        "actions/checkout with fetch-depth: 0)")
    tmp = Path(tempfile.mkdtemp(prefix="mlp-twins-ab-"))
    tree = tmp / "base"
    try:
        git(repo, "worktree", "add", "--detach", "--quiet", str(tree), sha)
        yield tree, sha
    finally:
        held = {s: signal.signal(s, signal.SIG_IGN)
                for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            git(repo, "worktree", "remove", "--force", str(tree), check=False)
            shutil.rmtree(tmp, ignore_errors=True)
            git(repo, "worktree", "prune", check=False)
        finally:
            for s, handler in held.items():
                signal.signal(s, handler)


def clean(run):
    """The run without the rows it measured on a disturbed machine (never a baseline)."""
    return dataclasses.replace(run, benchmarks=[b for b in run.benchmarks
                                                if not cmp.disturbed(b)])


def median_rows(comparisons: list) -> list:
    """One row per name: the head run of median change among those that measured it
    (the lower one of an even count); unmeasured or disturbed only where all are."""
    out = []
    for group in zip(*comparisons):
        measured = sorted((r for r in group if r["verdict"] not in cmp.UNMEASURED
                           and r["verdict"] != "disturbed"), key=lambda r: r["change"])
        out.append(measured[(len(measured) - 1) // 2] if measured else group[0])
    return out


def unbased_rows(base_runs, head_runs, baseline: dict, mode: str) -> list:
    """Rows of the head that the baseline lacks: new ones (not judged), or ones the base
    measured only on a disturbed machine in some run (missing evidence)."""
    in_base = {cmp.short_name(b) for r in base_runs for b in r.benchmarks}
    rows = []
    for name in sorted({cmp.short_name(b) for r in head_runs for b in r.benchmarks}
                       - set(baseline["benchmarks"])):
        new = name not in in_base
        rows.append({"name": name, "kind": "benchmark", "fullname": "", "node_ids": [],
                     "mode": mode, "verdict": "skipped" if new else "missing",
                     "reason": "new: not in the base" if new else
                     "the base measured it disturbed in some run"})
    return rows


def comparable(base_runs: list, head_runs: list) -> tuple[list, list, str | None]:
    """``(base runs, head runs, note)``: as they are where both sides write one run schema;
    where they differ (e.g. base 2, head 3: the probe is timed another way), relative times
    (round / probe) mean different things on the two sides, so every row's relative time and
    probe times are dropped and rows compare absolute times (same machine, interleaved:
    ``compare.choose_mode``); ``note`` says so in one line (None: nothing dropped)."""
    base_s = sorted({r.schema for r in base_runs}, key=str)
    head_s = sorted({r.schema for r in head_runs}, key=str)
    if len(set(base_s) | set(head_s)) <= 1:
        return base_runs, head_runs, None

    def absolute(run):
        return dataclasses.replace(run, benchmarks=[
            {**b, "extra_info": {**b["extra_info"], "relative": None, "probe_data": []}}
            for b in run.benchmarks])

    note = (f"gate: the base's runs are of schema {', '.join(map(str, base_s))}, this "
            f"checkout's of schema {', '.join(map(str, head_s))}: relative times are not "
            f"comparable across them, so every row compares absolute times")
    return [absolute(r) for r in base_runs], [absolute(r) for r in head_runs], note


def judge(base_runs: list, head_runs: list) -> tuple[dict, list, str]:
    """``(baseline, rows, mode)``: the head runs against the base runs' baseline."""
    baseline = make_baseline([clean(r) for r in base_runs], own_machine=False)
    mode = cmp.choose_mode(baseline, head_runs[0], same_machine=True)
    rows = median_rows([cmp.compare(baseline, run, mode) for run in head_runs])
    return baseline, rows + unbased_rows(base_runs, head_runs, baseline, mode), mode


def confirmations(baseline: dict, base, head, mode: str) -> dict:
    """``{name: row}`` of a re-run pair, for ``verdict.merge_rerun``: the head's re-run
    against the baseline, where a row the base's own re-run also flags (the machine moved,
    not the code: an A/A "suspect") does not confirm a suspect."""
    control = {r["name"]: r for r in cmp.compare(baseline, base, mode)}
    again = {r["name"]: r for r in cmp.compare(baseline, head, mode)}
    for name, row in again.items():
        if row["verdict"] == "suspect" and control[name]["verdict"] in ("suspect",
                                                                        "disturbed"):
            row["verdict"] = "disturbed"  # unjudged: the base moved alike, or was disturbed
            row["reason"] = f"the base's re-run moved too ({control[name]['verdict']})"
    return again


def ratios(base_runs: list, head_runs: list) -> dict:
    """``{case: [base, head]}``: median over each side's runs of torch / NumPy time."""
    per = [[cmp.backend_ratios(r) for r in runs] for runs in (base_runs, head_runs)]
    cases = sorted(set().union(*per[0], *per[1]))
    return {c: [statistics.median(v) if (v := [d[c] for d in side if c in d]) else None
                for side in per] for c in cases}


class AB:
    """The interleaved runs of one A/B, JSONs in ``folder``."""

    def __init__(self, repo: Path, base_tree: Path, pytest_args: list, folder: Path):
        self.repo, self.base_tree, self.args, self.folder = repo, base_tree, pytest_args, folder
        self.base_runs, self.head_runs, self.n = [], [], 0

    def pair(self, extra=()) -> tuple:
        """One A run then one B run, with ``extra`` pytest arguments."""
        self.n += 1
        base = run_benchmarks([*self.args, *extra], self.folder / f"base-{self.n}.json",
                              cwd=self.base_tree, env=tree_env(self.base_tree),
                              same_schema=False)
        head = run_benchmarks([*self.args, *extra], self.folder / f"head-{self.n}.json",
                              cwd=self.repo, env=tree_env(self.repo))
        return base, head

    def run(self, pairs: int) -> tuple[list, str]:
        """``(rows, mode)`` after ``pairs`` pairs and the re-runs of suspects."""
        for i in range(pairs):
            print(f"\ngate: A/B pair {i + 1} of {pairs}", flush=True)
            base, head = self.pair()
            self.base_runs.append(base)
            self.head_runs.append(head)
        self.base_runs, self.head_runs, note = comparable(self.base_runs, self.head_runs)
        if note:
            print(note, flush=True)
        baseline, rows, mode = judge(self.base_runs, self.head_runs)
        for _ in range(verdict.RERUN_PASSES):
            todo = verdict.needs_rerun(rows)
            if not todo:
                break
            ids = list(dict.fromkeys(i for r in todo for i in r["node_ids"]))
            print(f"\ngate: {len(todo)} suspect or disturbed row(s); re-running only those "
                  "as one more A/B pair", flush=True)
            base, head = self.pair([f"--benchmark-max-time={self.rerun_time()}", *ids])
            [base], [head], _ = comparable([base], [head])
            verdict.merge_rerun(rows, confirmations(baseline, base, head, mode))
        return rows, mode

    def rerun_time(self) -> str:
        given = [a.split("=", 1)[1] for a in self.args if a.startswith("--benchmark-max-time=")]
        return f"{RERUN_TIME_FACTOR * float(given[-1] if given else PROFILE_MAX_TIME):g}"


def confirm(repo: Path, sha: str, pytest_args: list, folder: Path, pairs: int) -> list:
    """The rows of a same-machine A/B of this checkout against commit ``sha`` on the
    benchmarks ``pytest_args`` select (its own re-runs included): how ``gate check``
    confirms, on this very host, what a stored baseline's numbers call a regression."""
    folder.mkdir(parents=True, exist_ok=True)
    with signals_as_interrupt(), base_worktree(repo, sha) as (tree, _):
        rows, _ = AB(repo, tree, pytest_args, folder).run(pairs)
    return rows


def has_commit(repo: Path, sha: str) -> bool:
    """``sha`` is a commit this clone holds (in HEAD's history or not: an A/B checks it out
    by its id; a shallow clone may lack it)."""
    return bool(git(repo, "rev-parse", "--verify", "--quiet", f"{sha}^{{commit}}", check=False))


def not_this_code(commit: dict) -> str | None:
    """Why this checkout is not the code a run with pytest-benchmark's ``commit`` info
    measured (None: it is: the same commit, neither side with uncommitted changes), so
    that re-running or confirming the run's rows here would measure something else."""
    try:
        repo = repo_root()
    except (GateError, Unjudged):
        return "this is not a git checkout (or git is missing)"
    head = git(repo, "rev-parse", "HEAD", check=False)
    sha = commit.get("id") or ""
    if sha != head:
        return (f"the run measured commit {sha[:10] or '(not recorded)'}, this checkout is "
                f"at {head[:10] or '(no commit)'}")
    if commit.get("dirty") is not False:
        return f"the run measured {sha[:10]} with uncommitted changes (or does not say)"
    if git(repo, "status", "--porcelain", "--untracked-files=no", check=False):
        return "this checkout has uncommitted changes the run did not measure"
    return None


def ancestor(repo: Path, sha: str) -> bool:
    """``sha`` is a commit of this checkout's history (HEAD contains it)."""
    try:
        return subprocess.run(["git", "-C", str(repo), "merge-base", "--is-ancestor", sha,
                               "HEAD"], capture_output=True).returncode == 0
    except FileNotFoundError as e:
        raise Unjudged("git is not installed: the reference cannot be checked out here") from e


def reference(docs: dict, repo: Path) -> tuple[str, Path]:
    """``(commit, baseline path)`` to measure against on a machine with no baseline of its
    own: of the commits the committed baselines (``{path: document}``) recorded, the one
    nearest to HEAD (fewest commits between) among those HEAD contains. ``Unjudged`` where
    none does (a shallow clone, baselines recorded on other branches, none recording its
    commit)."""
    found = []
    for path, doc in sorted(docs.items()):
        sha = doc["commit"].get("id")
        if sha and ancestor(repo, sha):
            found.append((int(git(repo, "rev-list", "--count", f"{sha}..HEAD")), sha, path))
    if not found:
        recorded = sorted({d["commit"]["id"][:10] for d in docs.values() if d["commit"].get("id")})
        raise Unjudged("no committed baseline's commit is in this checkout's history "
                       f"(recorded: {', '.join(recorded) or 'none'}; a shallow clone? fetch "
                       "the full history), so there is no reference to measure here")
    _, sha, path = min(found)
    return sha, path


def repo_root() -> Path:
    root = git(Path.cwd(), "rev-parse", "--show-toplevel", check=False)
    if not root:
        raise GateError("gate ab must run inside a git checkout (it checks out --base there)")
    return Path(root)
