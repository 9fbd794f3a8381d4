"""Running the benchmarks for the gate: one ``pytest --benchmark-only`` per run, each in its
own interpreter, and reading back the run it wrote.

    from gate.runner import run_benchmarks
    run = run_benchmarks(["--profile", "quick"], "now.json")               # this checkout
    run = run_benchmarks(args, "base.json", cwd=tree, env=tree_env(tree))  # another tree

A run in another tree (``gate ab``'s base) has that tree as its working directory and as
``PYTHONPATH``, so it imports that tree's ``core``, twins, ``bench`` and ``conftest.py``,
not the installed checkout's; the interpreter (and so numpy, torch, pytest) is the same.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from runfile import Run, check_versions, load

EVIDENCE_KEYS = ("disturbed", "reruns")  # a record the gate judges says whether it was disturbed
TERMINATE_WAIT_S = 10.0  # an interrupted child gets this long to write its JSON and exit


class GateError(Exception):
    """Malformed input (a file, an option): one line, exit 2."""


class Unjudged(GateError):
    """Nothing to judge against, or no evidence to judge: one line, exit 3."""


def load_run(path, same_schema: bool = True) -> Run:
    """A run the gate can compare: valid, of this schema version (unless ``same_schema`` is
    false: the A/B's base may be older, ``gate/ab.py`` says what follows), with a
    calibration."""
    run = load(path)
    if same_schema:
        check_versions([run])
    run = run.median_launch()  # a run of several launches: each benchmark's median launch
    seen = set()
    for bench in run.benchmarks:  # the gate matches a baseline's rows by name
        name = bench.get("name")
        if name in seen:
            raise GateError(f"{path}: benchmark {name!r} appears twice (which one to judge?)")
        seen.add(name)
        missing = [k for k in EVIDENCE_KEYS if k not in bench["extra_info"]]
        if same_schema and missing:
            raise GateError(f"{path}: benchmark {name!r}: extra_info.{missing[0]} is absent; "
                            "expected the disturbance evidence (disturbed, reruns) the gate "
                            "judges by")
    run.calibration()
    return run


def tree_env(tree) -> dict:
    """This process's environment with ``tree`` as the only ``PYTHONPATH`` entry."""
    env = os.environ.copy()
    env["PYTHONPATH"] = str(tree)
    return env


def run_benchmarks(pytest_args, out_json, quiet=True, cwd=None, env=None,
                   same_schema: bool = True) -> Run:
    """Run ``pytest --benchmark-only`` with ``pytest_args`` (in ``cwd``, default here);
    return the run it wrote. Interrupted (Ctrl-C, SIGTERM turned into KeyboardInterrupt by
    the caller), the child is terminated, then killed, before the interrupt goes on."""
    cmd = [sys.executable, "-m", "pytest", "--benchmark-only", "-p", "no:cacheprovider",
           "--benchmark-columns=median,iqr,rounds", f"--benchmark-json={out_json}",
           *(["-q"] if quiet else []), *pytest_args]
    where = f" (in {cwd})" if cwd else ""
    print("gate: running", " ".join(cmd[2:]) + where, flush=True)
    sys.stdout.flush()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env if env is not None else os.environ.copy())
    try:
        code = proc.wait()
    except BaseException:
        proc.terminate()
        try:
            proc.wait(TERMINATE_WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise
    if not Path(out_json).exists():
        raise Unjudged(f"the benchmark run wrote no JSON (pytest exit {code}): no evidence")
    return load_run(out_json, same_schema)


@contextlib.contextmanager
def stdout_to_stderr(active: bool = True):
    """Send everything printed (ours and the children's) to stderr while active, so that
    stdout carries only the final report (``--format markdown >> $GITHUB_STEP_SUMMARY``)."""
    if not active:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 1)
        os.close(saved)
