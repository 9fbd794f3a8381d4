"""A run of several launches (issue 23, first part): the launcher's fresh processes in
alternating order, the merged run file (``runfile.write.merge_launches``), and the report's
ratio with its range over launches, pinned against hand-computed cases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import runfile
from reports import analysis, render
from reports.load import load_runs
from runfile import synthetic

ROOT = Path(__file__).resolve().parents[1]
SIZES = (784, 100, 10)
NUMPY_S = 1.0e-3  # NumPy's step in every launch (s)
# torch-cpu's step per launch: speedups NUMPY_S / t = 1.25, 0.80, 1.00
TORCH_S = (0.8e-3, 1.25e-3, 1.0e-3)


def _launch(torch_s, numpy_s=NUMPY_S, torch_disturbed=False):
    torch = synthetic.entry("step", "torch-cpu", "torch", "cpu", SIZES, 256, torch_s)
    if torch_disturbed:
        synthetic.disturb(torch)
    return synthetic.run_doc([synthetic.entry("step", "numpy", "numpy", "cpu", SIZES, 256,
                                              numpy_s), torch])


def _table(tmp_path, docs):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(runfile.merge_launches(docs)))
    runs, table = load_runs([path])
    return runs, analysis.add_metrics(table, runs)


def test_merge_keeps_every_launch_and_says_how_many():
    docs = [_launch(t) for t in TORCH_S]
    docs[1]["mlp_twins"]["missing"] = [{"test": "bench/x.py::t", "reason": "skipped: no CUDA"}]
    merged = runfile.merge_launches(docs)
    assert [b["extra_info"]["launch"] for b in merged["benchmarks"]] == [0, 0, 1, 1, 2, 2]
    assert merged["mlp_twins"]["launches"] == 3 and merged["mlp_twins"]["complete"] is True
    assert merged["mlp_twins"]["missing"] == [{"test": "bench/x.py::t",
                                               "reason": "skipped: no CUDA", "launch": 1}]
    assert len(merged["machine_info"]["mlp_twins"]["launch_calibrations"]) == 2
    assert all("launch" not in b["extra_info"] for b in docs[0]["benchmarks"])  # not mutated
    run = runfile.parse(merged, "merged.json")
    assert run.launches == 3 and len(run.benchmarks) == 6
    with pytest.raises(ValueError, match="no launch"):
        runfile.merge_launches([])


@pytest.mark.parametrize("where, key, value", [
    ("twins", "cpu_model", "Another CPU"), ("twins", "numpy", "1.26.4"), ("twins", "cores", 16),
    ("twins", "profile", "full"), ("commit", "id", "1" * 40), ("commit", "dirty", True)])
def test_launches_of_different_set_ups_are_not_merged(where, key, value):
    """A range over launches says how far a ratio moves between processes of one set-up:
    launches of another machine, library, profile or code are refused, naming the fact."""
    docs = [_launch(t) for t in TORCH_S]
    for doc in docs:
        doc["commit_info"] = {"id": "0" * 40, "dirty": False}
        doc["machine_info"]["mlp_twins"]["profile"] = "quick"
    target = docs[2]["machine_info"]["mlp_twins"] if where == "twins" else docs[2]["commit_info"]
    target[key] = value
    fact = {"id": "commit"}.get(key, key)
    with pytest.raises(ValueError, match=f"launch 2 is not launch 0's set-up: .*{fact}"):
        runfile.merge_launches(docs)


@pytest.mark.parametrize("launch, launches", [(3, 3), (-1, 3), (1, None), ("0", 2), (True, 2)])
def test_a_launch_outside_the_run_is_refused(launch, launches):
    doc = runfile.merge_launches([_launch(t) for t in TORCH_S])
    doc["benchmarks"][1]["extra_info"]["launch"] = launch
    if launches is None:
        del doc["mlp_twins"]["launches"]
    else:
        doc["mlp_twins"]["launches"] = launches
    with pytest.raises(runfile.RunFileError, match="extra_info.launch"):
        runfile.parse(doc, "bad.json")


def test_the_ratio_is_the_median_launch_and_the_range_is_every_launch(tmp_path):
    """Speedups 1.25, 0.80, 1.00 (NumPy 1 ms; torch 0.8, 1.25, 1.0 ms): the median launch is
    the third (1.00x, 1.0 ms), the range 0.80-1.25, over 3 launches."""
    _, t = _table(tmp_path, [_launch(s) for s in TORCH_S])
    torch = t[t["backend"] == "torch-cpu"].iloc[0]
    assert len(t) == 2 and torch["launches"] == 3 and torch["launch"] == 2
    assert torch["speedup"] == pytest.approx(1.0) and torch["median_s"] == pytest.approx(1e-3)
    assert (torch["speedup_lo"], torch["speedup_hi"]) == (pytest.approx(0.8),
                                                          pytest.approx(1.25))
    numpy = t[t["backend"] == "numpy"].iloc[0]
    assert numpy["launches"] == 3 and numpy["speedup"] == pytest.approx(1.0)


def test_each_launch_is_compared_with_its_own_numpy(tmp_path):
    """NumPy 1.0 / 2.0 / 1.5 ms and torch 1.0 / 1.0 / 1.0 ms: speedups 1.0, 2.0, 1.5 (within
    each launch), not torch against the other launches' NumPy."""
    docs = [_launch(1.0e-3, numpy_s=n) for n in (1.0e-3, 2.0e-3, 1.5e-3)]
    _, t = _table(tmp_path, docs)
    torch = t[t["backend"] == "torch-cpu"].iloc[0]
    assert torch["speedup"] == pytest.approx(1.5)
    assert (torch["speedup_lo"], torch["speedup_hi"]) == (pytest.approx(1.0), pytest.approx(2.0))


def test_a_disturbed_launch_is_left_out_and_all_disturbed_is_no_answer(tmp_path):
    docs = [_launch(0.8e-3), _launch(0.5e-3, torch_disturbed=True), _launch(1.0e-3)]
    _, t = _table(tmp_path, docs)
    torch = t[t["backend"] == "torch-cpu"].iloc[0]
    assert torch["launches"] == 2 and bool(torch["trusted"]) and not bool(torch["disturbed"])
    assert (torch["speedup_lo"], torch["speedup_hi"]) == (pytest.approx(1.0),
                                                          pytest.approx(1.25))
    assert torch["speedup"] == pytest.approx(1.0)  # the lower median of two
    docs = [_launch(s, torch_disturbed=True) for s in TORCH_S]
    _, t = _table(tmp_path, docs)
    torch = t[t["backend"] == "torch-cpu"].iloc[0]
    assert not bool(torch["trusted"]) and bool(torch["disturbed"])


def test_a_launch_without_numpy_is_no_ratio_and_is_named(tmp_path):
    """Launch 1 measured torch but not NumPy (cut short): its row has no speedup, so the
    ratio and range come from launches 0 and 2, and the headline says 2 of 3."""
    docs = [_launch(s) for s in TORCH_S]
    docs[1]["benchmarks"] = docs[1]["benchmarks"][1:]  # launch 1: torch only
    _, t = _table(tmp_path, docs)
    torch = t[t["backend"] == "torch-cpu"].iloc[0]
    assert (torch["launches"], torch["launches_measured"]) == (2, 3)
    assert torch["speedup"] == pytest.approx(1.0)  # the lower median of 1.25 and 1.00
    assert (torch["speedup_lo"], torch["speedup_hi"]) == (pytest.approx(1.0),
                                                          pytest.approx(1.25))
    said = render._ratio(1.0, "torch-cpu", 1.0, 1.25, 2, 3)
    assert said.endswith("over 2 launches of 3 (the others disturbed or without NumPy))")


def test_each_launch_is_held_to_its_own_calibration(tmp_path):
    """Launch 1 calibrated NumPy's GEMM at half launch 0's rate and measured NumPy faster
    (0.9 ms, so it is the row kept): its efficiency is against launch 1's own rate."""
    docs = [_launch(1.0e-3), _launch(1.0e-3, numpy_s=0.9e-3)]
    for cal in docs[1]["machine_info"]["mlp_twins"]["calibration"]["gemm"]:
        cal["gflops"] /= 2
    _, t = _table(tmp_path, docs)
    numpy = t[t["backend"] == "numpy"].iloc[0]
    rate = synthetic.GEMM["numpy"] / 2  # GFLOP/s, launch 1's calibration
    assert numpy["launch"] == 1
    assert numpy["efficiency"] == pytest.approx(numpy["flops"] / 0.9e-3 / 1e9 / rate)


def _write(tmp_path, doc):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("change, words", [
    (lambda d: d["benchmarks"].append(json.loads(json.dumps(d["benchmarks"][0]))),
     "appears twice in launch 0"),
    (lambda d: d["mlp_twins"].update(launches=3.0), "mlp_twins.launches is 3.0"),
    (lambda d: d["mlp_twins"].update(launches=10**400), "mlp_twins.launches"),
    (lambda d: d["benchmarks"][0]["extra_info"].update(threads=10**400), "extra_info.threads"),
    (lambda d: d["machine_info"]["mlp_twins"].update(launch_calibrations="x"),
     "launch_calibrations is 'x'"),
])
def test_a_crafted_launched_run_is_refused_in_one_line(change, words):
    doc = runfile.merge_launches([_launch(t) for t in TORCH_S])
    change(doc)
    with pytest.raises(runfile.RunFileError, match=words):
        runfile.parse(doc, "crafted.json")


def test_one_launch_is_left_as_it_was_and_says_so(tmp_path):
    _, t = _table(tmp_path, [_launch(0.8e-3)])
    torch = t[t["backend"] == "torch-cpu"].iloc[0]
    assert torch["launches"] == 1 and torch["speedup_lo"] == torch["speedup_hi"] == 1.25
    assert render._ratio(1.25, "torch-cpu") == "torch-cpu is 1.2x faster than NumPy (one launch)"


@pytest.mark.parametrize("speedup, lo, hi, said", [
    (1.25, 1.2, 1.5, "torch-cpu is 1.25x faster than NumPy (1.20-1.50x over 3 launches)"),
    (0.5, 0.4, 0.625, "torch-cpu takes 2.00x NumPy's time (1.60-2.50x over 3 launches)"),
    (1.0, 0.8, 1.25, "torch-cpu is about as fast as NumPy (1.00x, 0.80-1.25x over 3 launches)"),
])
def test_the_headline_states_the_range_in_its_own_terms(speedup, lo, hi, said):
    """A slower backend's ratio is in NumPy's time, and so is its range: 1/0.625 = 1.60,
    1/0.4 = 2.50."""
    assert render._ratio(speedup, "torch-cpu", lo, hi, 3) == said


@pytest.mark.slow
def test_the_launcher_runs_fresh_processes_in_alternating_order(tmp_path):
    out = tmp_path / "run.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.suite.launch", "--launches", "2", "--out", str(out),
         "--", "--profile", "quick", "-k", "test_step and h16-b256-f32-t1",
         "--benchmark-max-time", "0.01", "--benchmark-min-rounds", "3"],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    run = runfile.load(out)
    assert run.launches == 2 and run.complete is True
    order = {k: [b["extra_info"]["backend"] for b in run.benchmarks
                 if b["extra_info"]["launch"] == k] for k in (0, 1)}
    assert len(order[0]) >= 2 and order[1] == order[0][::-1], order
    assert "launch 2/2 (reverse order)" in proc.stderr


def test_the_launcher_refuses_bad_arguments_in_one_line(tmp_path):
    for argv in (["--launches", "0"], ["--launches", "x"], ["--out", str(tmp_path)]):
        proc = subprocess.run([sys.executable, "-m", "bench.suite.launch", *argv], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr


def test_the_gate_judges_each_benchmark_by_its_median_undisturbed_launch():
    """Launches with torch at 0.8, 1.25 and 1.0 ms: the gate reads one entry per benchmark,
    the median launch (1.0 ms, launch 2); a disturbed launch is passed over; all disturbed
    keeps the median of all, still disturbed."""
    run = runfile.parse(runfile.merge_launches([_launch(t) for t in TORCH_S]), "r.json")
    view = run.median_launch()
    torch = [b for b in view.benchmarks if b["extra_info"]["backend"] == "torch-cpu"]
    assert len(view.benchmarks) == 2 and len(torch) == 1
    assert torch[0]["stats"]["median"] == pytest.approx(1.0e-3)
    assert torch[0]["extra_info"]["launch"] == 2 and len(run.benchmarks) == 6
    docs = [_launch(0.8e-3), _launch(1.25e-3), _launch(1.0e-3, torch_disturbed=True)]
    view = runfile.parse(runfile.merge_launches(docs), "r.json").median_launch()
    torch = next(b for b in view.benchmarks if b["extra_info"]["backend"] == "torch-cpu")
    assert torch["stats"]["median"] == pytest.approx(0.8e-3)  # lower median of 0.8, 1.25
    docs = [_launch(t, torch_disturbed=True) for t in TORCH_S]
    view = runfile.parse(runfile.merge_launches(docs), "r.json").median_launch()
    torch = next(b for b in view.benchmarks if b["extra_info"]["backend"] == "torch-cpu")
    assert torch["extra_info"]["disturbed"] is True and torch["extra_info"]["launch"] == 2
    one = runfile.parse(_launch(0.8e-3), "one.json")
    assert one.median_launch() is one


def test_the_gate_checks_a_launched_run_against_its_baseline(tmp_path, capsys):
    """A launched run of unchanged code passes the gate and says how it was read; one whose
    median launch is NumPy 1.5x slower fails naming NumPy (the other launches fast)."""
    from gate.__main__ import main as gate_main
    from tests import gate_runs

    baseline = gate_runs.steps_baseline()
    baseline["pytest_args"] = []
    (tmp_path / "bl.json").write_text(json.dumps(baseline))
    ok = [gate_runs.steps_doc(gate_runs.BASE, seed=s) for s in (5, 6, 7)]
    slow = [gate_runs.steps_doc({"numpy": 0.010 * f, "torch-cpu": 0.008}, seed=s)
            for s, f in ((5, 1.0), (6, 1.5), (7, 1.6))]
    for name, docs, code in (("ok.json", ok, 0), ("slow.json", slow, 1)):
        path = tmp_path / name
        path.write_text(json.dumps(runfile.merge_launches(docs)))
        got = gate_main(["check", "--baseline", str(tmp_path / "bl.json"), "--no-rerun",
                         "--run", str(path)])
        out = capsys.readouterr().out
        assert got == code, out
        assert "the run has 3 launches: each benchmark is judged by its median launch" in out
    failed = out.split("FAIL", 1)[1]
    assert "test_step[numpy-h1024-b256-f32-t1]" in failed
    assert "test_step[torch-cpu-h1024-b256-f32-t1]" not in failed
