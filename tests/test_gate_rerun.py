"""The gate's re-run path and its boundaries, on synthetic runs (no timing).

``python -m gate check`` re-runs only its suspects (``gate.__main__.run_benchmarks``, which
would start pytest); here that function is replaced by one that returns a prepared synthetic
run and records what it was asked to run. A suspect slowed in both runs is a confirmed
"regression" (exit 1); one slowed only in the first is "not confirmed" (exit 0).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import gate.__main__ as gate_cli
from gate import compare as cmp
from gate import verdict
from gate.baseline import make_baseline
from gate.runner import GateError

from .gate_runs import (
    BASE,
    COMMIT,
    as_this_machine,
    here_ab,
    sized_run,
    steps_baseline,
    steps_doc,
    steps_run,
    with_commit,
    wrap,
)

SLOWED = {"numpy": 0.020, "torch-cpu": 0.008}  # NumPy 2x slower: far past every threshold
NUMPY_ROW = "test_step[numpy-h1024-b256-f32-t1]"
TORCH_ROW = "test_step[torch-cpu-h1024-b256-f32-t1]"


@pytest.fixture(autouse=True)
def synthetic_machine(monkeypatch):
    as_this_machine(monkeypatch)


@pytest.fixture(autouse=True)
def here(monkeypatch):
    """The A/B against the baseline's commit on this host, faked: it reproduces every
    regression it is asked about (tests that need otherwise replace it)."""
    return here_ab(monkeypatch)


@pytest.fixture
def files(tmp_path):
    bl = steps_baseline()
    bl["pytest_args"] = ["--profile", "quick"]
    (tmp_path / "bl.json").write_text(json.dumps(bl))
    (tmp_path / "slowed.json").write_text(json.dumps(steps_doc(SLOWED, seed=5)))
    (tmp_path / "same.json").write_text(json.dumps(steps_doc(BASE, seed=5)))
    return tmp_path


@pytest.fixture
def rerun(monkeypatch):
    """Replace the benchmark runner: each call returns ``rerun.result`` and is recorded."""
    class Fake:
        def __init__(self):
            self.result, self.calls = None, []

        def __call__(self, pytest_args, out_json, quiet=True):
            self.calls.append(list(pytest_args))
            return self.result
    fake = Fake()
    monkeypatch.setattr(gate_cli, "run_benchmarks", fake)
    return fake


def _check(files, run, *extra):
    return gate_cli.main(["check", "--baseline", str(files / "bl.json"),
                          "--run", str(files / run), *extra])


def _verdict_in_table(out, name):
    line = next(line for line in out.splitlines() if line.startswith(name + " "))
    return line.split("  ")[-1].strip()


def test_slowed_twice_is_a_confirmed_regression(files, rerun, capsys):
    rerun.result = steps_run(SLOWED, seed=6)
    assert _check(files, "slowed.json", "--", "-k", "extra") == 1
    out = capsys.readouterr().out
    assert _verdict_in_table(out, NUMPY_ROW).startswith("REGRESSION (A/B against")
    assert _verdict_in_table(out, TORCH_ROW) == "OK"
    assert "gate: FAIL: 1 regression(s): " + NUMPY_ROW in out
    # one re-run, of the suspect only, longer, with the baseline's and the user's arguments
    [args] = rerun.calls
    assert args == ["--profile", "quick", "-k", "extra",
                    f"--benchmark-max-time={gate_cli.RERUN_MAX_TIME}",
                    f"bench/bench_x.py::{NUMPY_ROW}"]


def test_slowed_then_unchanged_is_not_confirmed(files, rerun, capsys):
    rerun.result = steps_run(BASE, seed=6)
    assert _check(files, "slowed.json") == 0
    out = capsys.readouterr().out
    assert _verdict_in_table(out, NUMPY_ROW) == "OK (NOT CONFIRMED ON RE-RUN)"
    assert "gate: PASS" in out and "FAIL" not in out
    assert len(rerun.calls) == 1


def test_nothing_suspect_runs_nothing_again(files, rerun, capsys):
    assert _check(files, "same.json") == 0
    assert rerun.calls == []
    assert "re-running" not in capsys.readouterr().out


def test_without_rerun_a_suspect_fails_the_gate(files, rerun, capsys):
    assert _check(files, "slowed.json", "--no-rerun") == 1
    assert rerun.calls == []
    assert _verdict_in_table(capsys.readouterr().out, NUMPY_ROW) == "SUSPECT"


def test_a_suspect_missing_from_the_rerun_fails_on_missing_evidence(files, rerun, capsys):
    """A re-run that produced no record of the suspect leaves it unjudged: never a PASS."""
    rerun.result = steps_run({"torch-cpu": 0.008}, seed=6)
    assert _check(files, "slowed.json") == 3  # could not judge: never a PASS, nor confirmed
    out = capsys.readouterr().out
    assert "gate: COULD NOT JUDGE: 1 suspect(s) not confirmed" in out, out
    assert NUMPY_ROW in out.split("suspect(s) not confirmed", 1)[1]


def test_confirm_suspects_records_the_rerun_change(rerun):
    bl = steps_baseline()
    bl["pytest_args"] = []
    rows = cmp.compare(bl, steps_run(SLOWED, seed=5))
    rerun.result = steps_run({"numpy": 0.015, "torch-cpu": 0.008}, seed=6)
    gate_cli.confirm_suspects(rows, bl, "absolute", [], "unused.json")
    row = next(r for r in rows if r["name"] == NUMPY_ROW)
    assert row["verdict"] == "regression"
    assert row["change"] == pytest.approx(1.0, abs=0.02)
    assert row["change_rerun"] == pytest.approx(0.5, abs=0.02)
    assert "change_rerun" not in next(r for r in rows if r["name"] == TORCH_ROW)


def test_an_aggregate_suspect_reruns_all_its_members(rerun, tmp_path, capsys, monkeypatch):
    agg = "steps >= 400k params [numpy-t1]"
    here = here_ab(monkeypatch, aggregates=[agg])
    runs = [sized_run(f, seed=i) for i, f in enumerate(
        [(1.0, 1.0, 1.0, 1.0), (1.15, 0.87, 1.15, 0.87), (0.87, 1.15, 0.87, 1.15)])]
    bl = with_commit(make_baseline(runs))  # each row alone too noisy to flag 1.2x; the
    bl["pytest_args"] = []  # aggregate is not
    (tmp_path / "bl.json").write_text(json.dumps(bl))
    now = sized_run((1.2, 1.2, 1.2, 1.2), seed=9)
    (tmp_path / "now.json").write_text(json.dumps(wrap(now.benchmarks)))
    rerun.result = sized_run((1.2, 1.2, 1.2, 1.2), seed=10)
    assert _check(tmp_path, "now.json") == 1
    [args] = rerun.calls
    members = sorted(f"bench/bench_x.py::test_step[numpy-h{h}-b256-f32-t1]"
                     for h in (512, 1024, 2048, 4096))
    assert sorted(a for a in args if "::" in a) == members
    [call] = here.calls  # the A/B here measures every member of the aggregate, once each
    assert sorted(call["ids"]) == members
    assert _verdict_in_table(capsys.readouterr().out, agg).startswith("REGRESSION (A/B")


# ------------------------------------- a regression is confirmed on this host, by an A/B
def test_a_regression_is_measured_against_the_baselines_commit_here(files, rerun, here,
                                                                    capsys):
    rerun.result = steps_run(SLOWED, seed=6)
    assert _check(files, "slowed.json", "--pairs", "4", "--", "-k", "extra") == 1
    out = capsys.readouterr().out
    [call] = here.calls  # only the regression's rows, the baseline's and the user's arguments
    assert call == {"sha": COMMIT, "ids": [f"bench/bench_x.py::{NUMPY_ROW}"], "pairs": 4,
                    "args": ["--profile", "quick", "-k", "extra",
                             f"bench/bench_x.py::{NUMPY_ROW}"]}
    assert f"measuring the baseline's commit {COMMIT[:10]} here" in out
    assert f"REGRESSION (A/B against {COMMIT[:10]} here: +50.0%" in out


def test_a_regression_the_ab_here_does_not_reproduce_passes(files, rerun, capsys,
                                                            monkeypatch):
    """The CI case: another host of this machine's kind is slower on some rows than the
    stored numbers, twice; the baseline's commit measured here is as slow: not ours."""
    here = here_ab(monkeypatch, verdict="ok", change=0.01)
    rerun.result = steps_run(SLOWED, seed=6)
    assert _check(files, "slowed.json") == 0
    out = capsys.readouterr().out
    assert _verdict_in_table(out, NUMPY_ROW).startswith(
        gate_cli.NOT_REPRODUCED.upper() + " (A/B against")
    assert "gate: PASS" in out and len(here.calls) == 1


@pytest.mark.parametrize("ab_verdict", ["disturbed", "missing", "suspect", None])
def test_a_regression_the_ab_here_cannot_judge_is_not_judged(files, rerun, capsys,
                                                             monkeypatch, ab_verdict):
    here = here_ab(monkeypatch, verdict=ab_verdict or "ok")
    if ab_verdict is None:  # the A/B returned no row of it at all
        monkeypatch.setattr(gate_cli.abm, "confirm", lambda *a: here(*a) and [])
    rerun.result = steps_run(SLOWED, seed=6)
    assert _check(files, "slowed.json") == 3
    out = capsys.readouterr().out
    assert "gate: COULD NOT JUDGE: 1 suspect(s) not confirmed" in out, out
    assert _verdict_in_table(out, NUMPY_ROW).startswith("SUSPECT (the A/B against")


@pytest.mark.parametrize("ab_verdict, change, cleared", [
    ("ok", 0.01, True),
    ("faster", -0.2, True),
    ("ok" + verdict.REMEASURED, 0.01, True),
    ("ok (not confirmed on re-run)", 0.01, False),  # the A/B itself flagged it once
    ("ok", 0.31, False),  # within the A/B's own (looser) threshold, above the stored 30 %
])
def test_a_regression_is_cleared_here_only_on_positive_evidence(
        files, rerun, capsys, monkeypatch, ab_verdict, change, cleared):
    here = here_ab(monkeypatch, verdict=ab_verdict, change=change, threshold=0.4)
    rerun.result = steps_run(SLOWED, seed=6)
    code = _check(files, "slowed.json")
    out = capsys.readouterr().out
    shown = _verdict_in_table(out, NUMPY_ROW)
    assert len(here.calls) == 1
    if cleared:
        assert code == 0 and shown.startswith(gate_cli.NOT_REPRODUCED.upper()), out
    else:
        assert code == 3 and shown.startswith("SUSPECT (A/B against"), out
        assert "neither confirmed nor cleared" in out
        assert ("above the stored threshold 30.0%" in out) == (change > 0.3)


def test_an_aggregate_is_cleared_here_only_over_all_its_members(rerun, tmp_path, capsys,
                                                                 monkeypatch):
    agg = "steps >= 400k params [numpy-t1]"
    members = [f"bench/bench_x.py::test_step[numpy-h{h}-b256-f32-t1]"
               for h in (512, 1024, 2048, 4096)]
    here_ab(monkeypatch, verdict="ok", change=0.0, aggregates={agg: members[:3]})
    runs = [sized_run(f, seed=i) for i, f in enumerate(
        [(1.0, 1.0, 1.0, 1.0), (1.15, 0.87, 1.15, 0.87), (0.87, 1.15, 0.87, 1.15)])]
    bl = with_commit(make_baseline(runs))
    bl["pytest_args"] = []
    (tmp_path / "bl.json").write_text(json.dumps(bl))
    (tmp_path / "now.json").write_text(json.dumps(wrap(sized_run((1.2,) * 4, seed=9).benchmarks)))
    rerun.result = sized_run((1.2,) * 4, seed=10)
    assert _check(tmp_path, "now.json") == 3  # the A/B dropped a member: not cleared
    out = capsys.readouterr().out
    assert _verdict_in_table(out, agg).startswith("SUSPECT (A/B against"), out
    assert "over 3 of its 4 members: not cleared" in out


def test_an_ab_that_fails_here_leaves_the_row_unjudged_and_the_table_printed(
        files, rerun, capsys, monkeypatch):
    def broken(*args):
        raise GateError("git worktree add: fatal: no space left on device")
    monkeypatch.setattr(gate_cli.abm, "confirm", broken)
    rerun.result = steps_run(SLOWED, seed=6)
    assert _check(files, "slowed.json") == 3
    out = capsys.readouterr().out
    assert _verdict_in_table(out, NUMPY_ROW).startswith(
        f"SUSPECT (the A/B against {COMMIT[:10]} here failed: git worktree add"), out
    assert "COULD NOT JUDGE: 1 suspect(s) not confirmed" in out


def test_check_refuses_fewer_than_two_pairs_before_running_anything(files, rerun, capsys):
    assert _check(files, "slowed.json", "--pairs", "1") == 2
    err = capsys.readouterr().err
    assert rerun.calls == [] and "argument --pairs: 1 is less than 2" in err
    assert err.count("\n") == 1, err


def test_a_saved_run_of_other_code_is_neither_rerun_nor_confirmed_here(files, rerun, capsys,
                                                                       monkeypatch):
    here = here_ab(monkeypatch, same_code=False)
    assert _check(files, "slowed.json") == 3
    cap = capsys.readouterr()
    assert rerun.calls == [] and here.calls == []
    assert "the run measured commit 0123456789, this checkout is at 9876543210: its suspects" \
        in cap.err
    assert "COULD NOT JUDGE: 1 suspect(s) not confirmed" in cap.out


@pytest.mark.parametrize("dirty, words", [
    (None, "the baseline may have measured uncommitted changes"),
    (True, "the baseline measured uncommitted changes on top of it, which cannot"),
    (False, None)])
def test_the_confirmation_says_whether_the_baseline_held_uncommitted_changes(
        files, rerun, here, capsys, dirty, words):
    bl = json.loads((files / "bl.json").read_text())
    bl["commit"]["dirty"] = dirty
    (files / "bl.json").write_text(json.dumps(bl))
    rerun.result = steps_run(SLOWED, seed=6)
    assert _check(files, "slowed.json") == 1
    out = capsys.readouterr().out
    assert (words in out) if words else "uncommitted" not in out, out


@pytest.mark.parametrize("case", ["not in this clone", "no commit recorded", "not a checkout"])
def test_without_the_baselines_commit_here_a_regression_is_not_judged(
        files, rerun, capsys, monkeypatch, case):
    here = here_ab(monkeypatch, present=case != "not in this clone")
    if case == "no commit recorded":
        bl = json.loads((files / "bl.json").read_text())
        bl["commit"] = {"id": None, "dirty": None}
        (files / "bl.json").write_text(json.dumps(bl))
    if case == "not a checkout":
        monkeypatch.chdir(files)
    rerun.result = steps_run(SLOWED, seed=6)
    assert _check(files, "slowed.json") == 3
    out = capsys.readouterr().out
    assert here.calls == []
    why = {"not in this clone": f"its commit {COMMIT[:10]} is not in this clone (a shallow",
           "no commit recorded": "the baseline records no commit",
           "not a checkout": "must run inside a git checkout"}[case]
    assert why in out and "COULD NOT JUDGE: 1 suspect(s) not confirmed" in out, out


def test_without_rerun_nothing_is_measured_here(files, rerun, here):
    assert _check(files, "slowed.json", "--no-rerun") == 1
    assert rerun.calls == [] and here.calls == []


def test_a_run_of_unchanged_code_measures_nothing_here(files, rerun, here):
    assert _check(files, "same.json") == 0
    assert here.calls == []


# ------------------------------------------------------------ the threshold boundary
@pytest.mark.parametrize("change, p, verdict", [
    (0.30, None, "ok"),  # exactly at the threshold: not flagged (strictly greater)
    (np.nextafter(0.30, 1.0), None, "suspect"),
    (0.31, np.nextafter(cmp.ALPHA, 0.0), "suspect"),
    (0.31, cmp.ALPHA, "ok"),  # p exactly at ALPHA: not significant (strictly less)
    (-0.30, None, "ok"),  # exactly -threshold: not "faster"
    (np.nextafter(-0.30, -1.0), None, "faster"),
    (0.0, None, "ok"),
])
def test_verdict_boundaries(change, p, verdict):
    assert cmp._verdict(change, 0.30, p) == verdict


def test_a_row_exactly_at_its_threshold_passes_and_one_ulp_above_fails():
    """The same boundary through ``compare``: the baseline's threshold set to the row's
    measured change, then one representable number below it."""
    bl = steps_baseline()
    run = steps_run({"numpy": 0.015, "torch-cpu": 0.008}, seed=9)
    change = next(r for r in cmp.compare(bl, run) if r["name"] == NUMPY_ROW)["change"]
    thresholds = bl["benchmarks"][NUMPY_ROW]["threshold"]
    thresholds["absolute"] = change
    assert _row(cmp.compare(bl, run), NUMPY_ROW)["verdict"] == "ok"
    thresholds["absolute"] = float(np.nextafter(change, 0.0))
    assert _row(cmp.compare(bl, run), NUMPY_ROW)["verdict"] == "suspect"


def _row(rows, name):
    return next(r for r in rows if r["name"] == name)


def test_aggregates_of_probed_rows_compare_relative_times():
    runs = [steps_run({k: v * (1 + d) for k, v in BASE.items()}, seed=i, probe=0.0025)
            for i, d in enumerate([0.0, 0.2, -0.1])]
    bl = make_baseline(runs)
    bl["aggregates"] = {"both": {"members": sorted(bl["benchmarks"]),
                                 "threshold": {"relative": 0.1, "absolute": 0.3}}}
    now = steps_run({k: 1.4 * v for k, v in BASE.items()}, seed=7, probe=0.0025 * 1.4)
    agg = _row(cmp.compare(bl, now), "both")
    assert agg["mode"] == "relative" and agg["threshold"] == 0.1
    assert agg["verdict"] == "ok" and abs(agg["change"]) < 0.05  # the drift cancelled
