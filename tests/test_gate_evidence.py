"""The gate never passes on missing, incomplete or disturbed evidence (``gate/verdict.py``):
synthetic runs from ``runfile.synthetic`` through ``python -m gate check``, re-runs injected."""

from __future__ import annotations

import json

import pytest

import runfile
from gate import __main__ as gate_cli
from gate.baseline import make_baseline
from runfile import synthetic

from .gate_runs import BASE, as_this_machine, here_ab, steps_baseline, steps_doc, steps_run

NUMPY = "test_step[numpy-h1024-b256-f32-t1]"
TORCH = "test_step[torch-cpu-h1024-b256-f32-t1]"
NODE = "bench/bench_x.py::"


@pytest.fixture(autouse=True)
def synthetic_machine(monkeypatch):
    as_this_machine(monkeypatch)


@pytest.fixture(autouse=True)
def here(monkeypatch):
    """The A/B against the baseline's commit on this host, faked: it reproduces every
    regression it is asked about (tests that need otherwise replace it)."""
    return here_ab(monkeypatch)


@pytest.fixture
def baseline_path(tmp_path):
    bl = steps_baseline()
    bl["pytest_args"] = []
    path = tmp_path / "bl.json"
    path.write_text(json.dumps(bl))
    return path


def gate(tmp_path, baseline_path, doc, *flags, capsys):
    run = tmp_path / "run.json"
    run.write_text(json.dumps(doc))
    code = gate_cli.main(["check", "--baseline", str(baseline_path), "--run", str(run),
                          *flags])
    out = capsys.readouterr()
    return code, out.out, out.err


def without(doc, name):
    doc["benchmarks"] = [b for b in doc["benchmarks"] if b["name"] != name]
    return doc


def renamed(doc):
    """The same records under names the baseline does not have (not the suite's case ids,
    which must spell the record's fields)."""
    for b in doc["benchmarks"]:
        for key in ("name", "fullname"):
            b[key] = b[key].replace("h1024", "h1024-renamed")
    return doc


def _missing(doc, name, reason):
    doc["mlp_twins"]["missing"].append({"test": NODE + name, "reason": reason})
    doc["mlp_twins"]["complete"] = False
    return doc


def _disturbed(doc, name, **kw):
    synthetic.disturb(next(b for b in doc["benchmarks"] if b["name"] == name), **kw)
    return doc


# (case, run document, flags, exit status, words in the output)
CASES = {
    "complete and unchanged": (lambda: steps_doc(BASE, seed=5), [], 0, ["PASS"]),
    "a baseline benchmark missing, no reason": (
        lambda: without(steps_doc(BASE, seed=5), TORCH), [], 3,
        ["MISSING", "1 baseline benchmark(s) missing", TORCH, "COULD NOT JUDGE"]),
    "missing, allowed": (lambda: without(steps_doc(BASE, seed=5), TORCH), ["--allow-missing"],
                         0, ["allowed by --allow-missing", "PASS"]),
    "skipped with a stated reason": (
        lambda: _missing(without(steps_doc(BASE, seed=5), TORCH), TORCH,
                         "skipped: torch-cpu: no CUDA"), [], 0,
        ["SKIPPED (skipped: torch-cpu: no CUDA)", "PASS", "1 skipped with a reason"]),
    "every baseline row skipped": (
        lambda: _missing(_missing(renamed(steps_doc(BASE, seed=5)), TORCH, "skipped: x"),
                         NUMPY, "skipped: x"), [], 3,
        ["no baseline benchmark could be judged", "COULD NOT JUDGE"]),
    "interrupted benchmark": (
        lambda: _missing(without(steps_doc(BASE, seed=5), TORCH), TORCH, "interrupted"),
        ["--allow-missing"], 3, ["incomplete", TORCH + ": interrupted", "COULD NOT JUDGE"]),
    "stopped at calibration": (
        lambda: {**steps_doc(BASE, seed=5), "mlp_twins": {
            "missing": [], "complete": False, "stopped_at": "calibration"}}, [], 3,
        ["it stopped at calibration", "COULD NOT JUDGE"]),
    "failed benchmark": (
        lambda: _missing(without(steps_doc(BASE, seed=5), TORCH), TORCH,
                         "failed in call: boom"), ["--allow-missing"], 3,
        ["incomplete", "failed in call: boom", "COULD NOT JUDGE"]),
    "no record of completeness": (
        lambda: {k: v for k, v in steps_doc(BASE, seed=5).items() if k != "mlp_twins"}, [], 3,
        ["does not record whether it is complete", "COULD NOT JUDGE"]),
    "disturbed row, no re-run": (
        lambda: _disturbed(steps_doc(BASE, seed=5), NUMPY), ["--no-rerun"], 3,
        ["DISTURBED (other processes 60% of the CPU, probe 29.0x its quiet time",
         "not judged", NUMPY, "COULD NOT JUDGE"]),
    "disturbed but 3x faster, still not judged": (
        lambda: _disturbed(steps_doc({"numpy": 0.0033, "torch-cpu": 0.008}, seed=5), NUMPY),
        ["--no-rerun"], 3, ["DISTURBED", "COULD NOT JUDGE"]),
    "disturbed, allowed": (lambda: _disturbed(steps_doc(BASE, seed=5), NUMPY),
                           ["--no-rerun", "--allow-missing"], 0, ["PASS"]),
    "a regression": (lambda: steps_doc({"numpy": 0.02, "torch-cpu": 0.008}, seed=5),
                     ["--no-rerun"], 1, ["SUSPECT", f"FAIL: 1 regression(s): {NUMPY}"]),
    "a regression beside a missing row: the regression wins, both named": (
        lambda: without(steps_doc({"numpy": 0.02, "torch-cpu": 0.008}, seed=5), TORCH),
        ["--no-rerun"], 1, [f"FAIL: 1 regression(s): {NUMPY}; also could not judge: 1 missing"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_gate_rules(tmp_path, baseline_path, capsys, case):
    make, flags, status, words = CASES[case]
    code, out, err = gate(tmp_path, baseline_path, make(), *flags, capsys=capsys)
    assert code == status, out + err
    for w in words:
        assert w in out, (w, out)
    assert ("PASS" in out) == (status == 0), out


def rerun_with(monkeypatch, *docs):
    """Each re-run returns the next of ``docs``; records what it was asked to run."""
    asked, queue = [], list(docs)

    def fake(pytest_args, out_json, quiet=True):
        asked.append([a for a in pytest_args if a.startswith(NODE)])
        return runfile.parse(queue.pop(0), out_json)
    monkeypatch.setattr(gate_cli, "run_benchmarks", fake)
    return asked


@pytest.mark.parametrize("reruns, status, verdict", [
    ([steps_doc(BASE, seed=6)], 0, "OK (RE-MEASURED: FIRST RUN DISTURBED)"),
    ([steps_doc({"numpy": 0.02, "torch-cpu": 0.008}, seed=6),
      steps_doc({"numpy": 0.02, "torch-cpu": 0.008}, seed=7)], 1, "REGRESSION"),
    ([steps_doc({"numpy": 0.02, "torch-cpu": 0.008}, seed=6), steps_doc(BASE, seed=7)], 0,
     "OK (NOT CONFIRMED ON RE-RUN)"),
    ([_disturbed(steps_doc(BASE, seed=6), NUMPY), _disturbed(steps_doc(BASE, seed=7), NUMPY)],
     3, "DISTURBED"),
])
def test_a_disturbed_row_is_rerun_and_judged_only_on_clean_samples(
        tmp_path, baseline_path, capsys, monkeypatch, reruns, status, verdict):
    asked = rerun_with(monkeypatch, *reruns)
    first = _disturbed(steps_doc({"numpy": 0.001, "torch-cpu": 0.008}, seed=5), NUMPY)
    code, out, _ = gate(tmp_path, baseline_path, first, capsys=capsys)
    assert code == status, out
    row = next(line for line in out.splitlines() if line.startswith(NUMPY))
    assert verdict in row, row
    assert asked[0] == [NODE + NUMPY] and len(asked) == len(reruns)


@pytest.mark.parametrize("again, status, verdict", [
    ({"numpy": 0.02, "torch-cpu": 0.008}, 1, "REGRESSION"),
    (BASE, 0, "OK (NOT CONFIRMED ON RE-RUN)"),
])
def test_a_suspect_is_confirmed_by_one_clean_rerun(tmp_path, baseline_path, capsys,
                                                   monkeypatch, again, status, verdict):
    asked = rerun_with(monkeypatch, steps_doc(again, seed=6))
    slowed = steps_doc({"numpy": 0.02, "torch-cpu": 0.008}, seed=5)
    code, out, _ = gate(tmp_path, baseline_path, slowed, capsys=capsys)
    assert code == status and asked == [[NODE + NUMPY]], out
    assert verdict in next(line for line in out.splitlines() if line.startswith(NUMPY))


def test_baseline_is_made_from_clean_complete_runs_only():
    clean = [steps_run(BASE, seed=i) for i in range(2)]
    noisy = runfile.parse(_disturbed(steps_doc(BASE, seed=3), NUMPY), "noisy.json")
    with pytest.raises(ValueError, match=r"noisy.json: 1 row\(s\) measured on a disturbed"):
        make_baseline([*clean, noisy])
    cut = runfile.parse(_missing(without(steps_doc(BASE, seed=4), TORCH), TORCH, "interrupted"),
                        "cut.json")
    with pytest.raises(ValueError, match="cut.json: incomplete"):
        make_baseline([*clean, cut])


@pytest.mark.parametrize("how", ["same path", "a copy"])
def test_baseline_refuses_the_same_run_twice(tmp_path, capsys, how):
    a = tmp_path / "a.json"
    a.write_text(json.dumps(steps_doc(BASE, seed=1)))
    b = a if how == "same path" else tmp_path / "b.json"
    b.write_bytes(a.read_bytes())
    code = gate_cli.main(["baseline", "--runs", str(a), str(b), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "measures no noise" in err, err
    assert not (tmp_path / "o").exists()


def test_baseline_out_onto_a_folder_is_refused_and_leaves_nothing(tmp_path, capsys):
    runs = []
    for i in range(2):
        runs.append(tmp_path / f"r{i}.json")
        runs[-1].write_text(json.dumps(steps_doc(BASE, seed=i)))
    folder = tmp_path / "out"
    folder.mkdir()
    code = gate_cli.main(["baseline", "--runs", *map(str, runs), "--out", str(folder)])
    err = capsys.readouterr().err
    assert code == 2 and "argument --out" in err and "must be a JSON file" in err, err
    assert err.count("\n") == 1, err
    assert list(folder.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == [
        "out", "r0.json", "r1.json"]
    with pytest.raises(runfile.RunFileError, match="is a directory"):
        runfile.write_json(folder, {})
    assert list(folder.iterdir()) == [] and list(tmp_path.glob("*.tmp")) == []
    good = tmp_path / "bl.json"
    assert gate_cli.main(["baseline", "--runs", *map(str, runs), "--out", str(good)]) == 0
    assert runfile.load_baseline(good)["runs"] == 2
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize("disturbed_tries, runs_made", [(0, 1), (1, 2), (9, 3)])
def test_a_baseline_run_left_disturbed_is_measured_again(tmp_path, monkeypatch, capsys,
                                                        disturbed_tries, runs_made):
    """``gate baseline`` measures a run again while rows of it stay disturbed (at most
    BASELINE_RETRIES times); the last try goes to make_baseline, which refuses it if still
    disturbed."""
    made = []

    def fake_run(pytest_args, out_json, **kw):
        doc = steps_doc(BASE, seed=len(made))
        if len(made) < disturbed_tries:
            doc = _disturbed(doc, NUMPY)
        made.append(out_json)
        return runfile.parse(doc, str(out_json))

    monkeypatch.setattr(gate_cli, "run_benchmarks", fake_run)
    run = gate_cli._clean_run([], tmp_path, "r-1")
    assert len(made) == runs_made == min(disturbed_tries, gate_cli.BASELINE_RETRIES) + 1
    assert [p.name for p in made][1:] == [f"r-1-again-{k}.json" for k in range(1, runs_made)]
    out = capsys.readouterr().out
    assert out.count("still disturbed (" + NUMPY) == runs_made - 1, out
    assert any(map(synthetic_disturbed, run.benchmarks)) == (disturbed_tries > runs_made - 1)


def synthetic_disturbed(b) -> bool:
    return bool(b["extra_info"]["disturbed"])


def test_a_suspect_whose_reruns_are_all_disturbed_is_not_judged(tmp_path, baseline_path,
                                                                capsys, monkeypatch):
    """A busy machine can make a suspect, and then disturb each re-run meant to confirm it:
    that is "could not judge" (exit 3), never a regression."""
    slow = {"numpy": 0.02, "torch-cpu": 0.008}
    asked = rerun_with(monkeypatch, _disturbed(steps_doc(slow, seed=6), NUMPY),
                       _disturbed(steps_doc(slow, seed=7), NUMPY))
    code, out, _ = gate(tmp_path, baseline_path, steps_doc(slow, seed=5), capsys=capsys)
    assert code == 3 and len(asked) == 2, out
    last = out.strip().splitlines()[-1]
    assert last == "gate: COULD NOT JUDGE: 1 suspect(s) not confirmed", last
    assert NUMPY in out.split("suspect(s) not confirmed (", 1)[1]
