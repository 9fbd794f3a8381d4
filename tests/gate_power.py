r"""The gate's power on real timings: how often it passes unchanged code and catches a twin
made 1.2x slower, naming only the slowed backend, on both of ``gate check``'s paths.

    python -m tests.gate_power own --unchanged 5 --slowed numpy=3,torch-cpu=3
    python -m tests.gate_power ab  --unchanged 3 --slowed numpy=2,torch-cpu=2 --hog 1
    make gate-power        # both, with the counts docs/gate-and-ci.md publishes

* ``own``: this machine's committed baseline (``gate/baselines/``; refused if there is none).
  A clone of this repository (its history holds the commit the baseline measured, which
  confirms a regression here) with the working tree as c0 and one head commit per
  scenario: unchanged (a README line) or a backend slowed in ``conftest.py`` by the
  test-only wrapper ``tests/slow_backend.py`` (``MLP_TWINS_TEST_SLOWDOWN``), which spins
  after each timed call until ``factor`` times its duration has passed.
* ``ab``: the path of a machine without a baseline. A temporary git repository of this
  project holds c0 (the project) and the same head commits; a copy of a committed baseline
  of *another* machine records c0, so ``gate check --baselines`` measures c0 here as an A/B.
* ``--hog N``: N more unchanged runs with ``HOG_PROCESSES`` busy loops beside them for the
  whole run: the gate may say it could not judge (exit 3), never "regression".

Each run's exit status, verdict line and time are printed as they finish, then the counts.
Timed runs flake on shared machines: opt-in, never in ``make test``. Run on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from core import cli
from gate import machine

ROOT = Path(__file__).resolve().parents[1]
FACTOR = 1.2
HOG_PROCESSES = 2
RUN_TIMEOUT_S = 1500
TIMED_OUT = -1  # run_gate's status for a run stopped at RUN_TIMEOUT_S (counted as such)
BACKENDS = ("numpy", "torch-cpu")
SLOW_CONFTEST = ('\nos.environ["MLP_TWINS_TEST_SLOWDOWN"] = "{spec}"\n'
                 'pytest_plugins = ["bench.plugin", "tests.slow_backend"]\n')


def git(repo, *args) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=gate power",
                           "-c", "user.email=power@test.invalid", *args], check=True,
                          capture_output=True, text=True).stdout.strip()


def copy_working_tree(repo: Path) -> None:
    """This project's files (tracked or untracked, not ignored) copied into ``repo``."""
    files = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], check=True, capture_output=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        if (ROOT / rel).is_file():
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, repo / rel)


def project_copy(root: Path) -> tuple[Path, str]:
    """A git repository of this project's files (tracked or untracked, not ignored): c0."""
    repo = root / "project"
    copy_working_tree(repo)
    git(repo, "init", "--quiet")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "c0: the project")
    return repo, git(repo, "rev-parse", "HEAD")


def project_clone(root: Path) -> tuple[Path, str]:
    """A clone of this repository (whole history) with the working tree committed: c0."""
    repo = root / "project"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(repo)],
                   check=True, capture_output=True)
    copy_working_tree(repo)
    git(repo, "add", "-A")
    if git(repo, "status", "--porcelain"):
        git(repo, "commit", "--quiet", "-m", "c0: the working tree")
    return repo, git(repo, "rev-parse", "HEAD")


def head_commit(repo: Path, c0: str, slowed: str | None) -> None:
    """HEAD := a commit on c0: unchanged code, or ``slowed`` ("numpy") FACTOR x slower."""
    git(repo, "checkout", "--quiet", "--detach", c0)
    if slowed:
        with (repo / "conftest.py").open("a") as f:
            f.write(SLOW_CONFTEST.format(spec=f"{slowed}={FACTOR}"))
    else:
        with (repo / "README.md").open("a") as f:
            f.write("\nA line that changes no code.\n")
    git(repo, "commit", "--quiet", "-am", f"head: {slowed or 'unchanged'}")


def foreign_baselines(folder: Path, c0: str) -> Path:
    """A committed baseline of another machine than this one, recording ``c0``."""
    here = machine.this_machine()
    for path in machine.baselines():
        doc = json.loads(path.read_text())
        if not machine.same(doc["fingerprint"], here):
            doc["commit"] = {"id": c0, "dirty": False, "note": "gate power: c0"}
            folder.mkdir(parents=True, exist_ok=True)
            (folder / path.name).write_text(json.dumps(doc))
            return folder
    raise SystemExit("gate power: no committed baseline of another machine to stand in")


def start_hogs(n: int) -> list:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def run_gate(cmd, cwd, env, hogs: int) -> tuple[int, str, float]:
    procs = start_hogs(hogs)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return TIMED_OUT, out + f"\ngate power: no verdict within {RUN_TIMEOUT_S} s", \
            time.perf_counter() - t0
    finally:
        for p in procs:
            p.kill()
            p.wait()
    return proc.returncode, proc.stdout + proc.stderr, time.perf_counter() - t0


def verdict_line(out: str) -> str:
    lines = [ln for ln in out.splitlines()
             if re.match(r"gate: (PASS|FAIL|COULD NOT JUDGE)", ln)]
    return lines[-1] if lines else (out.strip().splitlines() or ["(no output)"])[-1]


def aggregates(out: str) -> list:
    """The table's aggregate rows (a backend's geometric mean over its big steps)."""
    return [" ".join(ln.split()) for ln in out.splitlines() if ln.startswith("steps >= ")]


def named(line: str) -> set:
    """The backends a FAIL line names among its regressions."""
    regressions = line.split("; also could not judge", 1)[0]
    return {b for b in BACKENDS if f"[{b}-" in regressions}


def judge(scenario: str, code: int, line: str) -> str:
    """What the run counts as: for unchanged code "pass", "could not judge" or "FALSE
    ALARM"; for a slowed backend "caught" (only it named), "caught, also named X",
    "missed" or "could not judge"."""
    if code == TIMED_OUT:
        return "timed out"
    if scenario in ("unchanged", "hog"):
        return {0: "pass", 3: "could not judge"}.get(code, "FALSE ALARM" if code == 1 else
                                                     f"error (exit {code})")
    if code == 1:
        extra = named(line) - {scenario}
        if scenario not in named(line):
            return "FALSE ALARM (slowed backend not named)"
        return "caught" + (f", also named {', '.join(sorted(extra))}" if extra else "")
    return {0: "missed", 3: "could not judge"}.get(code, f"error (exit {code})")


def scenarios(args) -> list:
    out = ["unchanged"] * args.unchanged
    for item in filter(None, args.slowed.split(",")):
        backend, _, n = item.partition("=")
        if backend not in BACKENDS:
            raise SystemExit(f"gate power: --slowed {item}: backend one of {BACKENDS}")
        out += [backend] * int(n)
    return out + ["hog"] * args.hog


def main(argv=None) -> int:
    ap = cli.Parser(prog="python -m tests.gate_power", description=__doc__,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", choices=("own", "ab"), help="which path of gate check to measure")
    ap.add_argument("--unchanged", type=int, default=3, help="runs of unchanged code")
    ap.add_argument("--slowed", default="numpy=2,torch-cpu=2",
                    help=f"BACKEND=N,...: N runs with BACKEND {FACTOR}x slower")
    ap.add_argument("--hog", type=int, default=0,
                    help=f"N unchanged runs beside {HOG_PROCESSES} busy loops")
    args = ap.parse_args(argv)
    here = machine.this_machine()
    own = machine.own_baseline(here, {p: json.loads(p.read_text())
                                      for p in machine.baselines()})
    if args.path == "own" and own is None:
        raise SystemExit("gate power own: this machine has no baseline (make baseline)")
    print(f"gate power: {args.path} path on {machine.label(here)}", flush=True)
    tally = {}
    with tempfile.TemporaryDirectory(prefix="gate-power-") as tmp:
        if args.path == "ab":
            repo, c0 = project_copy(Path(tmp))
            baselines = foreign_baselines(Path(tmp) / "foreign", c0)
        else:
            repo, c0 = project_clone(Path(tmp))
            baselines = repo / "gate" / "baselines"
        for i, scenario in enumerate(scenarios(args)):
            slowed = scenario if scenario in BACKENDS else None
            env = {**os.environ}
            env.pop("MLP_TWINS_TEST_SLOWDOWN", None)
            head_commit(repo, c0, slowed)
            cwd, env["PYTHONPATH"] = repo, str(repo)
            cmd = [sys.executable, "-m", "gate", "check", "--baselines", str(baselines)]
            code, out, took = run_gate(cmd, cwd, env, HOG_PROCESSES if scenario == "hog" else 0)
            line = verdict_line(out)
            outcome = judge(scenario, code, line)
            tally.setdefault(scenario, {}).setdefault(outcome, 0)
            tally[scenario][outcome] += 1
            print(f"[{i + 1}] {args.path} {scenario}: exit {code} in {took:.0f} s: {outcome}\n"
                  f"    {line[:400]}", flush=True)
            for row in aggregates(out):
                print(f"    {row}", flush=True)
    print("\ngate power: counts")
    for scenario, counts in tally.items():
        print(f"  {scenario:<10} " + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    bad = sum(v for counts in tally.values() for k, v in counts.items()
              if k.startswith(("FALSE", "error")))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
