"""The suite's plugin end to end, in a pytest subprocess with injected CPU counters: a
disturbed benchmark is re-measured and keeps only its last measurement, one still
disturbed says so, a busy start warns, and Ctrl-C (SIGINT) or SIGTERM at collection,
calibration or a benchmark leaves a JSON that says where the run stopped (bench/plugin.py,
bench/quiet/remeasure.py, bench/suite/outcomes.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.quiet.disturbance import MAX_RERUNS
from runfile.schema import RUN_KEYS

RUN_TIMEOUT_S = 120
BUSY = 0.6  # busy_other injected into a disturbed window; 0.0 in a quiet one
CUT_AFTER_ROUNDS = 2  # the interrupted benchmark's rounds before Ctrl-C
SLOW_EARLY = 2  # test_early's first probe times, in quiet probe times
SIGNAL_WAIT_S = 30  # a signalled process waits this long for its handler (it never should)

CONFTEST = f'''
import os
import signal
import time

import bench.measure.calibrate
from bench.quiet import cpuload

pytest_plugins = ["bench.plugin"]
SIGNAL_WAIT_S = {SIGNAL_WAIT_S}
SCENARIO = os.environ["TWINS_SCENARIO"]
# busy_other of each timed window, per test, one per measurement; calibration's: "start"
SHARES = {{"start": [{BUSY}], "test_recovers": [{BUSY}, 0.0],
          "test_stays_busy": [{BUSY}] * 9, "test_probe_slow": [0.0] * 9}}


def _calibrate(*args, **kwargs):
    if SCENARIO == "calibration":  # a cancelled CI job: SIGTERM, handled as Ctrl-C
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(SIGNAL_WAIT_S)
    return {{"gemm": [], "copy_gbps": []}}


class FakeMachine:
    """/proc/stat as seen by bench.quiet.cpuload: each window's end adds 1000 jiffies, of which
    the current test's next share is busy (no process of ours used any)."""

    def __init__(self):
        self.total = self.busy = self.calls = 0

    def snapshot(self, proc=None):
        self.calls += 1
        if self.calls % 2 == 0:
            test = os.environ.get("PYTEST_CURRENT_TEST", "start").split("::")[-1].split()[0]
            shares = SHARES.get(test, [])
            share = shares.pop(0) if shares else 0.0
            self.total += 1000
            self.busy += round(1000 * share)
        return cpuload.Snapshot(self.total, self.busy, {{}})


bench.measure.calibrate.calibrate = _calibrate
cpuload.snapshot = FakeMachine().snapshot
'''

TESTS = f'''
import os
import signal
import time

from bench.backends import Case
from bench.quiet.cpuload import watch

if os.environ["TWINS_SCENARIO"] == "collection":
    raise KeyboardInterrupt

CASE = Case((784, 16, 10), 8, "float32", 1)
QUIET_PROBE_S = 1e-3
# test_early's probe per measurement: slow at first, which nothing shows yet (its probe
# times are the only ones so far), then quiet when the second look re-measures it
EARLY_PROBES = [{SLOW_EARLY} * QUIET_PROBE_S, QUIET_PROBE_S]


def _measure(benchmark, record, probe_s=QUIET_PROBE_S, target=lambda: None):
    with watch() as w:
        benchmark.pedantic(target, rounds=3)
    record(group="step", backend="numpy", case=CASE, flops=1, busy_other=w.busy_other,
           probe_data=[probe_s] * 3, relative=1.0)


def _ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep({SIGNAL_WAIT_S})


def test_early(benchmark, record):
    probe_s = EARLY_PROBES.pop(0)
    late_ctrl_c = os.environ["TWINS_SCENARIO"] == "late-ctrl-c" and not EARLY_PROBES
    _measure(benchmark, record, probe_s=probe_s, target=_ctrl_c if late_ctrl_c else lambda: None)


def test_clean(benchmark, record):
    _measure(benchmark, record)


def test_cut_short(benchmark, record):
    rounds = []

    def target():
        rounds.append(1)
        if len(rounds) > {CUT_AFTER_ROUNDS}:  # Ctrl-C: a real SIGINT
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep({SIGNAL_WAIT_S})

    _measure(benchmark, record, target=target)


def test_recovers(benchmark, record):
    _measure(benchmark, record)


def test_stays_busy(benchmark, record):
    _measure(benchmark, record)


def test_probe_slow(benchmark, record):
    _measure(benchmark, record, probe_s=10 * QUIET_PROBE_S)
'''


def run_suite(tmp_path: Path, scenario: str, select: str) -> tuple[dict, str]:
    """Run the fake suite through the real plugin; the run's JSON and the output."""
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_fake.py").write_text(TESTS)
    out = tmp_path / "run.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}  # ours
    env |= {"TWINS_SCENARIO": scenario,
            "PYTHONPATH": os.pathsep.join([str(Path(__file__).parents[1]),
                                           os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--benchmark-only",
         "--benchmark-json", str(out), "-k", select, "test_fake.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    output = done.stdout + done.stderr
    assert out.exists(), f"no run JSON written:\n{output}"
    return json.loads(out.read_text()), output


def by_name(doc: dict) -> dict:
    return {b["name"]: b for b in doc["benchmarks"]}


def test_disturbed_benchmarks_are_remeasured_and_the_last_measurement_kept(tmp_path):
    doc, output = run_suite(tmp_path, "plain", "not cut_short")
    rows = by_name(doc)
    assert [b["name"] for b in doc["benchmarks"]] == [  # once each; test_early re-run last
        "test_clean", "test_recovers", "test_stays_busy", "test_probe_slow", "test_early"]
    evidence = {n: {k: b["extra_info"][k] for k in ("busy_other", "disturbed", "reruns")}
                for n, b in rows.items()}
    assert evidence == {
        "test_early": {"busy_other": 0.0, "disturbed": False, "reruns": 1},
        "test_clean": {"busy_other": 0.0, "disturbed": False, "reruns": 0},
        "test_recovers": {"busy_other": 0.0, "disturbed": False, "reruns": 1},
        "test_stays_busy": {"busy_other": BUSY, "disturbed": True, "reruns": MAX_RERUNS},
        "test_probe_slow": {"busy_other": 0.0, "disturbed": True, "reruns": MAX_RERUNS},
    }
    assert rows["test_probe_slow"]["extra_info"]["disturbance"] == pytest.approx(10.0)
    assert rows["test_clean"]["extra_info"]["disturbance"] == pytest.approx(1.0)
    assert output.count("re-measuring") == 1 + 2 * MAX_RERUNS + 1
    assert output.count("re-measuring at the end") == 1  # test_early, seen slow at the end
    assert f"test_early disturbed against the whole run's probe times (other processes used " \
           f"0% of the CPU, probe {SLOW_EARLY:.2f}x its quiet time)" in output, output
    assert rows["test_early"]["extra_info"]["disturbance"] == pytest.approx(1.0)
    assert output.count("mlp-twins: WARNING: the machine is busy") == 1
    assert doc["mlp_twins"] == {"profile": "quick", "missing": [], "complete": True,
                                "stopped_at": None}
    assert set(doc["mlp_twins"]) == set(RUN_KEYS)


def test_ctrl_c_in_a_benchmark_drops_its_partial_rounds_and_says_where(tmp_path):
    doc, _ = run_suite(tmp_path, "benchmark", "clean or cut_short or recovers")
    assert [b["name"] for b in doc["benchmarks"]] == ["test_clean"]
    assert doc["mlp_twins"] == {
        "profile": "quick", "complete": False, "stopped_at": "test_fake.py::test_cut_short",
        "missing": [{"test": "test_fake.py::test_cut_short", "reason": "interrupted"},
                    {"test": "test_fake.py::test_recovers",
                     "reason": "not run: the run was interrupted"}]}


@pytest.mark.parametrize("stage", ["calibration", "collection"])
def test_ctrl_c_before_any_benchmark_still_writes_the_run(tmp_path, stage):
    doc, output = run_suite(tmp_path, stage, "clean")
    assert doc["benchmarks"] == []
    assert doc["mlp_twins"]["stopped_at"] == stage
    assert doc["mlp_twins"]["complete"] is False
    selected = [] if stage == "collection" else ["test_fake.py::test_clean"]
    assert [m["test"] for m in doc["mlp_twins"]["missing"]] == selected
    assert "machine_info" in doc and "mlp_twins" in doc["machine_info"]
    assert f"interrupted at {stage}" in output


def test_ctrl_c_in_the_second_look_keeps_the_measurement_before_it(tmp_path):
    """Ctrl-C while the second look re-measures test_early: its first (disturbed)
    measurement stands, not the partial rounds; the run says where it stopped."""
    doc, output = run_suite(tmp_path, "late-ctrl-c", "early or clean")
    assert output.count("re-measuring at the end (1/") == 1, output
    assert [b["name"] for b in doc["benchmarks"]] == ["test_early", "test_clean"]
    early = by_name(doc)["test_early"]
    assert early["extra_info"]["reruns"] == 0 and early["extra_info"]["disturbed"] is True
    assert early["stats"]["rounds"] == 3  # all of the first measurement's rounds
    assert early["extra_info"]["disturbance"] == pytest.approx(SLOW_EARLY)
    assert doc["mlp_twins"] == {"profile": "quick", "complete": False, "missing": [],
                                "stopped_at": "test_fake.py::test_early"}


def test_the_one_private_pytest_import_is_pinned():
    """``bench/quiet/remeasure.py`` re-runs a benchmark through pytest's own protocol,
    ``_pytest.runner.runtestprotocol`` (as pytest-rerunfailures does): a private name, so it
    is pinned here. A pytest that renames it, changes its arguments, or stops running a test
    through it fails this test loudly, instead of re-measuring something else."""
    import ast
    import inspect

    from _pytest import runner

    params = inspect.signature(runner.runtestprotocol).parameters
    assert list(params)[:3] == ["item", "log", "nextitem"], params
    assert "runtestprotocol(item" in inspect.getsource(runner.pytest_runtest_protocol)
    root = Path(__file__).resolve().parents[1]
    private = []
    for pkg in ("core", "impl_numpy", "impl_torch", "runfile", "bench", "reports", "gate",
                "chapter", "tests"):
        for path in (root / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                private += [f"{path.relative_to(root)}: {n}" for n in names
                            if n.split(".")[0] == "_pytest"]
    allowed = ["bench/quiet/remeasure.py: _pytest.runner", "tests/test_run_outcomes.py: _pytest"]
    assert sorted(private) == sorted(allowed), private
