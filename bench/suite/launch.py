"""A run of several launches: the same selection run by N fresh processes, merged into one.

    python -m bench.suite.launch --launches 3 [--out RUN.json] [-- PYTEST ARGS]

Why: a ratio measured in one process moves between processes (memory layout, thread
placement, BLAS pools' start-up) more than between the rounds of one process
(docs/reading-the-report.md, "Launches"). Each launch is ``python -m pytest --benchmark-only``
with the given arguments (none: the default profile, quick, or ``BENCH_PROFILE``) writing its
own JSON; every other launch runs the benchmarks in reverse order (``--reverse-order``), so
neither library always runs first. The launches are merged by ``runfile.merge_launches`` (one
machine, one code, one profile, or refused) into one run file, by default
``results/runs/<UTC time>-<profile>-x<N>.json``: every entry keeps its launch.

A launch whose benchmarks failed does not stop the others (as ``make report`` carries on past
a failed benchmark). Ctrl-C or SIGTERM stops the launch under way as it stops a plain run (its
JSON keeps what it measured, marked interrupted) and launches no more; so does a launch that
wrote no readable JSON. What the launches measured is written, marked incomplete when they are
fewer than asked or one was cut short. Progress goes to stderr. Exit status: 0 every launch
passed, else the worst launch's status (130 interrupted), 2 bad arguments.
"""

from __future__ import annotations

import datetime
import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from core import cli
from runfile import merge_launches, write_json
from runfile.schema import RESULTS_DIR

PROG = "python -m bench.suite.launch"
CHILD_GRACE_S = 300  # after Ctrl-C / SIGTERM, the launch under way may still write its JSON
INTERRUPTED = 130


def launch_command(k: int, json_path: Path, pytest_args: list) -> list:
    """The pytest command of launch ``k`` (0-based): odd launches run in reverse order."""
    return [sys.executable, "-m", "pytest", "--benchmark-only", "-p", "no:cacheprovider",
            f"--benchmark-json={json_path}", *(["--reverse-order"] if k % 2 else []),
            *pytest_args]


def _say(line: str) -> None:
    print(f"{PROG}: {line}", file=sys.stderr, flush=True)


def _run_child(cmd: list) -> tuple[int, bool]:
    """``(status, interrupted)`` of one launch. Ctrl-C reaches the child as well (same
    process group); SIGTERM to this process is passed on to it. Either way the child is
    given ``CHILD_GRACE_S`` to write what it measured."""
    child = subprocess.Popen(cmd)
    stopped = []

    def _term(signum, frame):
        stopped.append(signum)
        child.send_signal(signal.SIGTERM)

    old = signal.signal(signal.SIGTERM, _term)
    try:
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:
                stopped.append(signal.SIGINT)
                try:
                    code = child.wait(timeout=CHILD_GRACE_S)
                except subprocess.TimeoutExpired:
                    child.kill()
                    code = child.wait()
                break
    finally:
        signal.signal(signal.SIGTERM, old)
    return code, bool(stopped)


def _read(path: Path):
    """The launch's run document, or None (with one line saying why)."""
    if not path.exists():
        _say(f"{path.name}: the launch wrote no JSON")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        _say(f"{path.name}: the launch's JSON is unreadable ({e})")
        return None


def run(launches: int, pytest_args: list, out: Path | None) -> tuple[int, Path | None]:
    """Run the launches one after another and write the merged run: ``(status, path)``."""
    docs, status, cut = [], 0, False
    with tempfile.TemporaryDirectory(prefix="launches-") as tmp:
        for k in range(launches):
            path = Path(tmp) / f"launch-{k}.json"
            _say(f"launch {k + 1}/{launches}{' (reverse order)' if k % 2 else ''}")
            code, interrupted = _run_child(launch_command(k, path, pytest_args))
            doc = _read(path)
            if interrupted or code < 0:
                code = INTERRUPTED
            status = max(status, code)
            if doc is not None:
                docs.append(doc)
            if interrupted or code in (2, 3, 4, INTERRUPTED) or doc is None:
                cut = True  # interrupted, a usage error, or nothing to merge: stop here
                _say(f"launch {k + 1} ended with status {code}; no more launches")
                break
            if code:
                _say(f"launch {k + 1}: some benchmarks failed (status {code}); going on")
        if not docs:
            _say("no launch wrote a run; nothing merged")
            return status or 1, None
        try:
            doc = merge_launches(docs)
        except ValueError as e:
            _say(f"cannot merge the launches: {e}")
            return 2, None
        if cut or len(docs) < launches:
            doc["mlp_twins"]["complete"] = False
        if out is None:
            stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
            profile = doc["mlp_twins"].get("profile") or "run"
            out = Path(RESULTS_DIR) / f"{stamp}-{profile}-x{len(docs)}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
        write_json(out, doc, indent=4)
    _say(f"{len(docs)} launch(es) of {launches} in {out}")
    return status, out


def main(argv=None) -> int:
    p = cli.Parser(prog=PROG, description=__doc__.split("\n")[0],
                   epilog="Exit status: 0 every launch passed, else the worst launch's "
                          "(130 interrupted), 2 bad arguments. Odd launches run in reverse "
                          "order. See the module's docstring for the rest.")
    p.add_argument("--launches", type=cli.int_at_least(1, "a run is at least one launch"),
                   default=3, help="fresh processes, each running the whole selection "
                                   "(%(default)s)")
    p.add_argument("--out", type=cli.json_file_out, metavar="RUN.json",
                   help=f"the merged run (default: {RESULTS_DIR}/<time>-<profile>-x<N>.json)")
    p.add_argument("pytest_args", nargs="*",
                   help="pytest arguments, after -- (e.g. --profile full, -k ...)")
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return e.code
    status, _ = run(args.launches, args.pytest_args, Path(args.out) if args.out else None)
    return status


if __name__ == "__main__":
    sys.exit(main())
