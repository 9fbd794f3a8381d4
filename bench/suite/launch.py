"""A run of several launches: the same selection run by N fresh processes, merged into one.

    python -m bench.suite.launch --launches 3 [--out RUN.json] [-- PYTEST ARGS]

Why: a ratio measured in one process moves between processes (memory layout, thread
placement, BLAS pools' start-up) more than between the rounds of one process
(docs/methodology.md). Each launch is ``python -m pytest --benchmark-only`` with the given
arguments (default: the quick profile) writing its own JSON; every other launch runs the
benchmarks in reverse order (``--reverse-order``), so neither library always runs first.
The launches are merged by ``runfile.write.merge_launches`` into one run file (default
``results/runs/<UTC time>-<profile>-x<N>.json``): every entry keeps its launch. A launch that
fails or is interrupted stops the run; what the finished launches measured is still written,
marked incomplete. Exit status: 0 every launch passed, else the first failing launch's
status (130 after Ctrl-C), 2 bad arguments.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from core import cli
from runfile import merge_launches, write_json
from runfile.schema import RESULTS_DIR

DEFAULT_PYTEST_ARGS = ["--profile", "quick"]
PROG = "python -m bench.suite.launch"


def launch_command(k: int, json_path: Path, pytest_args: list) -> list:
    """The pytest command of launch ``k`` (0-based): odd launches run in reverse order."""
    return [sys.executable, "-m", "pytest", "--benchmark-only", "-p", "no:cacheprovider",
            f"--benchmark-json={json_path}", *(["--reverse-order"] if k % 2 else []),
            *pytest_args]


def _profile(pytest_args: list) -> str:
    for i, a in enumerate(pytest_args):
        if a == "--profile" and i + 1 < len(pytest_args):
            return pytest_args[i + 1]
        if a.startswith("--profile="):
            return a.split("=", 1)[1]
    return "quick"


def run(launches: int, pytest_args: list, out: Path | None, say=print) -> tuple[int, Path | None]:
    """Run the launches one after another, write the merged run; ``(status, path or None)``."""
    docs, status = [], 0
    with tempfile.TemporaryDirectory(prefix="launches-") as tmp:
        for k in range(launches):
            path = Path(tmp) / f"launch-{k}.json"
            say(f"{PROG}: launch {k + 1}/{launches}"
                f"{' (reverse order)' if k % 2 else ''}", flush=True)
            try:
                code = subprocess.call(launch_command(k, path, pytest_args))
            except KeyboardInterrupt:
                code = 130
            if path.exists():
                docs.append(json.loads(path.read_text(encoding="utf-8")))
            if code != 0:
                status = code
                say(f"{PROG}: launch {k + 1} ended with status {code}; stopping, keeping "
                    f"the {len(docs)} launch(es) measured", flush=True)
                break
    if not docs:
        return status or 1, None
    doc = merge_launches(docs)
    if len(docs) < launches:
        doc["mlp_twins"]["complete"] = False
    if out is None:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        out = Path(RESULTS_DIR) / f"{stamp}-{_profile(pytest_args)}-x{len(docs)}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
    write_json(out, doc, indent=4)
    say(f"{PROG}: {len(docs)} launch(es) in {out}", flush=True)
    return status, out


def main(argv=None) -> int:
    p = cli.Parser(prog=PROG, description=__doc__.split("\n")[0])
    p.add_argument("--launches", type=cli.positive_int, default=3,
                   help="fresh processes, each running the whole selection (%(default)s)")
    p.add_argument("--out", type=cli.json_file_out, metavar="RUN.json",
                   help=f"the merged run (default: {RESULTS_DIR}/<time>-<profile>-x<N>.json)")
    p.add_argument("pytest_args", nargs="*", help="pytest arguments, after -- (default: "
                                                   f"{' '.join(DEFAULT_PYTEST_ARGS)})")
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return e.code
    status, _ = run(args.launches, args.pytest_args or DEFAULT_PYTEST_ARGS,
                    Path(args.out) if args.out else None)
    return status


if __name__ == "__main__":
    sys.exit(main())
