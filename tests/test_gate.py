"""The regression gate: arithmetic on synthetic runs, then the real thing end to end.

The end-to-end tests carry the marker ``timing``: they assert on real timings, which flake on
a shared machine, so they are opt-in (``make gate-proof``); the synthetic tests above prove
the same logic deterministically in ``make test``. They time a slice of the suite (the four
single-thread float32 steps of at least 400k parameters, NumPy and torch, each round with its
probe): a baseline from 3 runs, then the gate on unchanged code (must pass), on NumPy made
1.5x and 1.2x slower and on torch made 1.2x slower (must fail and name the slowed backend, not
the other), using the test-only plugin ``tests/slow_backend.py``. The slowed runs pass
``--no-rerun``: the plugin slows through the environment, which a confirmation against the
baseline's commit shares (both sides would be slowed), so here the stored comparison's
detection is what is proven; the whole path, confirmation included, with a committed
slowdown is ``tests/test_gate_ab.py`` and ``python -m tests.gate_power own``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gate import compare as cmp
from gate.baseline import make_baseline

from .gate_runs import BASE, sized_run, steps_baseline, steps_run


def _verdicts(rows):
    return {r["name"].split("[")[1].split("-h")[0]: r["verdict"] for r in rows}


def test_thresholds_come_from_noise_with_a_floor():
    bl = steps_baseline()
    ref = bl["benchmarks"]["test_step[numpy-h1024-b256-f32-t1]"]
    assert ref["noise"]["absolute"] == pytest.approx(0.01, rel=1e-6)
    assert ref["threshold"]["absolute"] == pytest.approx(cmp.MIN_THRESHOLD["absolute"])
    noisy = [steps_run({"numpy": 0.010 * (1 + d)}, seed=i) for i, d in enumerate([0, 0.1, -0.05])]
    ref = make_baseline(noisy)["benchmarks"]["test_step[numpy-h1024-b256-f32-t1]"]
    assert ref["threshold"]["absolute"] == pytest.approx(cmp.NOISE_K * 0.1, rel=1e-6)


def test_unchanged_passes_and_slowdown_is_named():
    bl = steps_baseline()
    assert set(_verdicts(cmp.compare(bl, steps_run(BASE, seed=9))).values()) == {"ok"}
    slowed = _verdicts(cmp.compare(bl, steps_run({"numpy": 0.015, "torch-cpu": 0.008}, seed=9)))
    assert slowed == {"numpy": "suspect", "torch-cpu": "ok"}
    faster = _verdicts(cmp.compare(bl, steps_run({"numpy": 0.005, "torch-cpu": 0.008}, seed=9)))
    assert faster["numpy"] == "faster"


def test_other_machine_is_compared_after_normalising_by_its_calibration():
    bl = steps_baseline()
    twice_as_fast = steps_run({k: v / 2 for k, v in BASE.items()}, gflops=200.0, cpu="cpu-B")
    rows = cmp.compare(bl, twice_as_fast)
    assert {r["mode"] for r in rows} == {"normalised"}
    assert set(_verdicts(rows).values()) == {"ok"}
    # the same machine-B run, but NumPy 1.5x slower relative to its own machine
    slowed = steps_run({"numpy": 0.0075, "torch-cpu": 0.004}, gflops=200.0, cpu="cpu-B")
    assert _verdicts(cmp.compare(bl, slowed)) == {"numpy": "suspect", "torch-cpu": "ok"}


def test_same_environment_on_a_slower_host_compares_normalised():
    bl = steps_baseline()
    slower_host = steps_run({k: v * 1.4 for k, v in BASE.items()}, gflops=100.0 / 1.4)
    assert cmp.fingerprint(slower_host) == bl["fingerprint"]
    rows = cmp.compare(bl, slower_host)
    assert {r["mode"] for r in rows} == {"normalised"}
    assert set(_verdicts(rows).values()) == {"ok"}


def test_big_change_without_significance_is_not_flagged():
    bl = steps_baseline()
    run = steps_run(BASE, seed=3)
    b = run.benchmarks[0]
    b["stats"]["data"] = (np.asarray(b["stats"]["data"]) * 0.5).tolist() + [1.0] * 3
    b["stats"]["median"] = 0.016  # median moved, but most samples are faster: p is large
    assert _verdicts(cmp.compare(bl, run))["numpy"] == "ok"


def test_few_rounds_rely_on_threshold_and_rerun_alone():
    """With 3 rounds (an epoch benchmark) the U test cannot reach ALPHA: not applied."""
    runs = [steps_run({"numpy": 0.5 * (1 + d)}, n=3, seed=i)
            for i, d in enumerate([0, 0.01, -0.01])]
    bl = make_baseline(runs)
    rows = cmp.compare(bl, steps_run({"numpy": 0.75}, n=3, seed=7))
    assert rows[0]["p"] is None and rows[0]["verdict"] == "suspect"
    assert cmp.compare(bl, steps_run({"numpy": 0.5}, n=3, seed=7))[0]["verdict"] == "ok"


def test_aggregate_catches_a_uniform_slowdown_hidden_in_row_noise():
    # each row alone is noisy (+-15 % between unchanged runs) but the noise does not line up
    runs = [sized_run(f, seed=i) for i, f in enumerate(
        [(1.0, 1.0, 1.0, 1.0), (1.15, 0.87, 1.15, 0.87), (0.87, 1.15, 0.87, 1.15)])]
    bl = make_baseline(runs)
    agg = "steps >= 400k params [numpy-t1]"
    assert bl["aggregates"][agg]["threshold"]["absolute"] == pytest.approx(
        cmp.AGG_MIN_THRESHOLD["absolute"])
    rows = {r["name"]: r for r in cmp.compare(bl, sized_run((1.2, 1.2, 1.2, 1.2), seed=9))}
    assert rows[agg]["verdict"] == "suspect"
    assert rows[agg]["change"] == pytest.approx(0.2, rel=1e-6)
    assert all(r["verdict"] == "ok" for n, r in rows.items() if n != agg)
    rows = {r["name"]: r for r in cmp.compare(bl, sized_run((1.0, 1.0, 1.0, 1.0), seed=9))}
    assert rows[agg]["verdict"] == "ok"


PROBE_S = 0.0025  # a synthetic probe: 4x shorter than NumPy's step


def _probed_baseline():
    runs = [steps_run({k: v * (1 + d) for k, v in BASE.items()}, seed=i, probe=PROBE_S * (1 + d))
            for i, d in enumerate([0.0, 0.2, -0.1])]  # the machine drifts; the ratio holds
    return make_baseline(runs)


def test_probed_rows_compare_relative_times_and_ignore_machine_drift():
    bl = _probed_baseline()
    ref = bl["benchmarks"]["test_step[numpy-h1024-b256-f32-t1]"]
    assert ref["metric"]["relative"] == pytest.approx(4.0, rel=0.02)
    assert ref["threshold"]["relative"] == pytest.approx(cmp.MIN_THRESHOLD["relative"])
    assert ref["threshold"]["absolute"] > 0.5  # the same runs' absolute times moved 30 %
    # the whole machine 1.4x slower (round and probe alike): nothing to see
    drifted = steps_run({k: v * 1.4 for k, v in BASE.items()}, seed=5, probe=PROBE_S * 1.4)
    rows = cmp.compare(bl, drifted)
    assert {r["mode"] for r in rows} == {"relative"}
    assert set(_verdicts(rows).values()) == {"ok"}
    # NumPy's rounds 1.2x slower, the probe not: caught and named, torch untouched
    slowed = steps_run({"numpy": 0.012, "torch-cpu": 0.008}, seed=5, probe=PROBE_S)
    rows = cmp.compare(bl, slowed)
    assert _verdicts(rows) == {"numpy": "suspect", "torch-cpu": "ok"}
    assert rows[0]["change"] == pytest.approx(0.2, abs=0.02) and rows[0]["p"] < cmp.ALPHA


def test_rows_without_a_probe_fall_back_to_timed_comparison():
    bl = _probed_baseline()
    rows = cmp.compare(bl, steps_run(BASE, seed=5))  # an older run: no probe data
    assert {r["mode"] for r in rows} <= {"absolute", "normalised"}
    bl = steps_baseline()  # a baseline without probes, a run with them
    rows = cmp.compare(bl, steps_run(BASE, seed=5, probe=PROBE_S))
    assert {r["mode"] for r in rows} <= {"absolute", "normalised"}


def test_copy_rows_are_shown_but_never_gated():
    def with_copy(run):
        for b in run.benchmarks:
            b["extra_info"].update(group="activation", activation="copy")
        return run
    bl = make_baseline([with_copy(steps_run(BASE, seed=i, probe=PROBE_S)) for i in range(3)])
    rows = cmp.compare(bl, with_copy(steps_run({k: 3 * v for k, v in BASE.items()}, seed=7,
                                          probe=PROBE_S)))
    assert {r["verdict"] for r in rows} == {"info"}


def test_ratios_between_backends_within_a_run():
    ratios = cmp.backend_ratios(steps_run(BASE))
    assert ratios == {"test_step[torch-cpu-h1024-b256-f32-t1]": pytest.approx(0.8, rel=0.05)}


def test_baseline_needs_two_runs_of_one_environment():
    with pytest.raises(ValueError, match="at least 2 runs"):
        make_baseline([steps_run(BASE)])
    with pytest.raises(ValueError, match="different machines"):
        make_baseline([steps_run(BASE), steps_run(BASE, cpu="other")])


def test_every_row_has_a_string_fullname_and_the_ids_to_rerun():
    runs = [sized_run(f, seed=i) for i, f in enumerate(
        [(1.0, 1.0, 1.0, 1.0), (1.15, 0.87, 1.15, 0.87), (0.87, 1.15, 0.87, 1.15)])]
    bl = make_baseline(runs)
    now = sized_run((1.2, 1.2, 1.2, 1.2), seed=9)
    now.benchmarks.pop()  # one baseline benchmark missing: its row and the aggregate's
    rows = cmp.compare(bl, now)
    assert all(isinstance(r["fullname"], str) for r in rows)
    kinds = {r["name"]: (r["kind"], r["verdict"], r["node_ids"]) for r in rows}
    assert kinds["test_step[numpy-h4096-b256-f32-t1]"] == ("benchmark", "missing", [])
    assert kinds["steps >= 400k params [numpy-t1]"] == ("aggregate", "missing", [])
    assert kinds["test_step[numpy-h512-b256-f32-t1]"][2] == [
        "bench/bench_x.py::test_step[numpy-h512-b256-f32-t1]"]
    rows = cmp.compare(bl, sized_run((1.2, 1.2, 1.2, 1.2), seed=9))
    agg = next(r for r in rows if r["kind"] == "aggregate")
    assert agg["fullname"] == agg["name"] and len(agg["node_ids"]) == 4


# ------------------------------------------------------------------ end to end, real timing
SLICE = ["--profile", "quick", "--backends", "numpy,torch-cpu",
         "-k", "test_step and f32 and t1 and (h512 or h2048 or h4096 or h256x4)"]


def _gate(*args, pytest_args=(), slowdown=None):
    env = dict(os.environ)
    env.pop("MLP_TWINS_TEST_SLOWDOWN", None)
    extra = list(pytest_args)
    if slowdown:
        env["MLP_TWINS_TEST_SLOWDOWN"] = slowdown
        extra += ["-p", "tests.slow_backend"]
    proc = subprocess.run([sys.executable, "-m", "gate", *args, "--", *extra],
                          capture_output=True, text=True, env=env, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def real_baseline(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gate")
    path = folder / "baseline.json"
    rc, out = _gate("baseline", "--repeats", "3", "--out", str(path), "--keep", str(folder),
                    pytest_args=SLICE)
    assert rc == 0, out
    doc = json.loads(path.read_text())
    assert len(doc["benchmarks"]) == 8, out
    return path


@pytest.mark.timing
def test_gate_passes_on_unchanged_code(real_baseline):
    rc, out = _gate("check", "--baseline", str(real_baseline))
    assert rc == 0, out


@pytest.mark.timing
@pytest.mark.parametrize("backend,factor", [("numpy", 1.5), ("numpy", 1.2), ("torch-cpu", 1.2)])
def test_gate_fails_on_a_slowed_backend_and_names_it(real_baseline, backend, factor):
    rc, out = _gate("check", "--baseline", str(real_baseline), "--no-rerun",
                    slowdown=f"{backend}={factor}")
    assert rc == 1, out
    fail_line = next(line for line in out.splitlines() if line.startswith("gate: FAIL"))
    # 1.5x: the rows themselves; 1.2x: at least the backend's aggregate over >= 400k steps
    assert f"[{backend}-h" in fail_line or f"[{backend}-t1]" in fail_line, out
    other = "torch-cpu" if backend == "numpy" else "numpy"
    assert f"[{other}-" not in fail_line, out
