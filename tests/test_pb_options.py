"""bench/measure/pb_options.py against the real pytest-benchmark: the options a profile sets before
pytest-benchmark reads them reach its fixture, what the user typed wins, and ``budget`` is
the budget the fixture really used. If pytest-benchmark changes its defaults, when it
reads its options, or how a marker overrides them, these fail and say which."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.measure import pb_options as pb

SET = pb.Budget(min_rounds=3, max_time=0.002)  # what the fake profile asks for
MARKED = pb.Budget(min_rounds=2, max_time=0.001)  # a test's own benchmark marker

CONFTEST = """
import os
from pathlib import Path

import pytest

from bench.measure import pb_options as pb


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    mode = os.environ["PB_MODE"]
    if mode != "none":
        pb.set_defaults(config, disable=mode == "disable", max_time={max_time},
                        min_rounds={min_rounds}, json=Path("run.json"))
"""

TESTS = """
import json
import os

import pytest

from bench.measure import pb_options as pb


def _run(benchmark, request):
    calls = []
    benchmark(lambda: calls.append(1))
    with open("seen.jsonl", "a") as f:
        f.write(json.dumps({{"test": request.node.name, "calls": len(calls),
                            "budget": pb.budget(request.config, request.node),
                            "options": [request.config.getoption("benchmark_min_rounds"),
                                        float(request.config.getoption("benchmark_max_time"))]}})
                + "\\n")


def test_plain(benchmark, request):
    _run(benchmark, request)


@pytest.mark.benchmark(max_time={max_time}, min_rounds={min_rounds})
def test_marked(benchmark, request):
    _run(benchmark, request)
"""


def _pytest(tmp_path, mode, *args):
    """Run pytest-benchmark on the two tests above; ``(seen per test, JSON options per test)``."""
    (tmp_path / "conftest.py").write_text(CONFTEST.format(**SET._asdict()))
    (tmp_path / "test_pb.py").write_text(TESTS.format(**MARKED._asdict()))
    env = {**os.environ, "PB_MODE": mode}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), *args, "test_pb.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = (tmp_path / "seen.jsonl").read_text().splitlines()
    seen = {r["test"]: r for r in map(json.loads, lines)}
    run = tmp_path / "run.json"
    options = {}
    if run.exists():
        options = {b["name"]: b["options"] for b in json.loads(run.read_text())["benchmarks"]}
    return seen, options


def _used(options):
    return pb.Budget(options["min_rounds"], options["max_time"])


def test_a_profile_sets_the_fixture_budget_and_budget_reads_it_back(tmp_path):
    seen, options = _pytest(tmp_path, "set")
    assert _used(options["test_plain"]) == SET, "the profile's options did not reach the fixture"
    assert _used(options["test_marked"]) == MARKED, "a benchmark marker no longer overrides"
    for name, used in options.items():
        assert pb.Budget(*seen[name]["budget"]) == _used(used), f"{name}: budget() drifted"


def test_what_the_user_typed_wins(tmp_path):
    _, options = _pytest(tmp_path, "set", "--benchmark-max-time=0.004", "--benchmark-json=run.json")
    assert _used(options["test_plain"]) == pb.Budget(SET.min_rounds, 0.004)


def test_the_defaults_we_compare_against_are_pytest_benchmarks(tmp_path):
    seen, _ = _pytest(tmp_path, "none", "-k", "marked")  # the marker keeps it short
    default = pb.Budget(pb.DEFAULT_MIN_ROUNDS, pb.DEFAULT_MAX_TIME)
    assert pb.Budget(*seen["test_marked"]["options"]) == default, "pytest-benchmark's defaults"


def test_disable_runs_each_benchmark_once_untimed(tmp_path):
    seen, options = _pytest(tmp_path, "disable")
    assert {r["calls"] for r in seen.values()} == {1} and options == {}
