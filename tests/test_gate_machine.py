"""The gate judges numbers only against numbers of the same machine (``gate/machine.py``).

Fingerprints decide comparability; a baseline of another machine is never compared: named
with ``--baseline`` it is refused (exit 2), found in ``gate/baselines/`` it is passed over
and the reference is measured here (a same-machine A/B against the commit it recorded, one
line naming both machines); with nothing to measure against, the gate cannot judge (exit 3).
The A/B itself is replaced here by a recorder (its own tests: ``tests/test_gate_ab.py``),
except in the one end-to-end test, which runs a smoke-sized A/B in a temporary repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

import gate.__main__ as gate_cli
import runfile
from bench.measure.environment import KERNEL_FLAGS
from gate import ab as abm
from gate import compare as cmp
from gate import machine
from gate.baseline import make_baseline
from gate.runner import Unjudged

from .gate_runs import BASE, as_this_machine, steps_doc

SHA_A, SHA_B = "a" * 40, "b" * 40


def _doc(cpu="cpu-A", flags=("avx2", "fma"), commit=None, seed=0, **medians):
    doc = steps_doc(medians or BASE, cpu=cpu, seed=seed)
    doc["machine_info"]["mlp_twins"]["cpu_flags"] = list(flags)
    doc["commit_info"] = {"id": commit, "dirty": False} if commit else {}
    return doc


def _run(*args, **kw):
    return runfile.parse(_doc(*args, **kw), "run.json")


def _baseline(cpu="cpu-A", flags=("avx2", "fma"), commit=SHA_A) -> dict:
    doc = make_baseline([_run(cpu, flags, commit, seed=i) for i in range(3)])
    doc["pytest_args"] = []
    return doc


def _write(folder, doc) -> str:
    folder.mkdir(exist_ok=True)
    path = folder / f"{doc['machine']['id']}.json"
    path.write_text(json.dumps(doc))
    return str(path)


# ------------------------------------------------------------------ the fingerprint
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/cpuinfo")
def test_this_machine_has_a_complete_fingerprint_with_its_kernel_flags():
    fp = machine.this_machine()
    assert machine.unknown(fp) == [] and set(fp) == set(machine.FINGERPRINT_KEYS)
    assert set(fp["cpu_flags"]) <= set(KERNEL_FLAGS)
    assert all(len(b.split()) == 3 for b in fp["blas"]), fp["blas"]  # api, version, kernel
    assert machine.same(fp, fp) and machine.machine_id(fp) == machine.machine_id(dict(fp))


@pytest.mark.parametrize("key,value", [
    ("cpu_model", "AMD EPYC"), ("cpu_id", "AuthenticAMD 25/17"),
    ("cpu_flags", ["avx2", "avx512f", "fma"]), ("cores", 4), ("python", "3.12.1"),
    ("numpy", "2.3.0"), ("torch", "2.14.1+cpu"),
    ("blas", ["openblas 0.3.27 SapphireRapids"]), ("gpu", "NVIDIA H200")])
def test_any_fact_that_decides_kernels_or_versions_makes_another_machine(key, value):
    a = machine.fingerprint(_run().twins)
    b = {**a, key: value}
    assert not machine.same(a, b) and machine.differences(a, b) == [key]
    assert machine.machine_id(a) != machine.machine_id(b)


@pytest.mark.parametrize("key", ["cpu_id", "cpu_flags", "blas", "cpu_model", "cores"])
def test_an_incomplete_fingerprint_equals_nothing_not_even_itself(key):
    twins = dict(_run().twins)
    twins.pop(key)
    fp = machine.fingerprint(twins)
    assert key in machine.unknown(fp)
    assert not machine.same(fp, fp) and key in machine.differences(fp, fp)


def test_the_machine_id_is_file_safe_and_names_the_cpu():
    fp = machine.fingerprint(_run(cpu="Intel(R) Xeon(R) Platinum 8480+ CPU @ 2.00GHz").twins)
    assert machine.machine_id(fp).startswith("intel-xeon-platinum-8480-1c-")
    assert machine.machine_id({**fp, "cpu_model": "../../etc/x"}).startswith("etc-x-1c-")


def test_own_baseline_is_the_one_file_of_this_machine(tmp_path):
    a, b = _baseline("cpu-A"), _baseline("cpu-B")
    docs = {tmp_path / "b.json": b, tmp_path / "a.json": a}
    assert machine.own_baseline(a["fingerprint"], docs) == tmp_path / "a.json"
    assert machine.own_baseline(b["fingerprint"], docs) == tmp_path / "b.json"
    other = machine.fingerprint(_run("cpu-A", flags=("avx2",)).twins)
    assert machine.own_baseline(other, docs) is None


# ------------------------------------------------------------------ the paths gate check takes
class Recorder:
    """Stands in for the A/B and for the benchmark runner: records, runs nothing."""

    def __init__(self, monkeypatch, result=0):
        self.ab, self.runs, self.result = [], [], result
        monkeypatch.setattr(gate_cli, "ab", self._ab)
        monkeypatch.setattr(gate_cli, "run_benchmarks", self._run)
        monkeypatch.setattr(abm, "repo_root", lambda: "REPO")

    def _ab(self, args, pytest_args=None, context=()):
        self.ab.append((args.base, pytest_args, list(context)))
        return self.result

    def _run(self, *a, **kw):
        self.runs.append(a)
        raise AssertionError("no benchmark may run against a foreign baseline")


def test_a_foreign_baseline_is_never_compared_the_reference_is_measured_here(
        tmp_path, monkeypatch, capsys):
    """The planted fingerprint: gate/baselines/ holds only cpu-B's baseline; on cpu-A the
    gate takes the A/B path against the commit cpu-B's baseline recorded, and says so."""
    as_this_machine(monkeypatch, machine.fingerprint(_run("cpu-A").twins))
    _write(tmp_path / "bl", _baseline("cpu-B", commit=SHA_B))
    monkeypatch.setattr(abm, "reference", lambda docs, repo: (SHA_B, next(iter(docs))))
    rec = Recorder(monkeypatch)
    code = gate_cli.main(["check", "--baselines", str(tmp_path / "bl"), "--", "-x"])
    out = capsys.readouterr().out
    assert code == 0 and rec.runs == []
    [(base, pytest_args, context)] = rec.ab
    assert base == SHA_B and pytest_args == [*abm.DEFAULT_PYTEST_ARGS, "-x"]
    line = next(ln for ln in out.splitlines() if ln.startswith("gate: no baseline"))
    assert "cpu-A (Synthetic 0/0" in line and "cpu-B (Synthetic 0/0" in line, line
    assert f"against {SHA_B[:10]}" in line and context[0] == line.removeprefix("gate: ")
    assert "not the baseline's whole profile" in context[1]  # what the A/B measures


def test_this_machines_own_baseline_is_used_where_there_is_one(tmp_path, monkeypatch, capsys):
    as_this_machine(monkeypatch, machine.fingerprint(_run("cpu-A").twins))
    _write(tmp_path / "bl", _baseline("cpu-B", commit=SHA_B))
    own = _write(tmp_path / "bl", _baseline("cpu-A"))
    monkeypatch.setattr(gate_cli, "run_benchmarks", lambda *a, **kw: _run("cpu-A", seed=7))
    code = gate_cli.main(["check", "--baselines", str(tmp_path / "bl"), "--no-rerun"])
    out = capsys.readouterr().out
    assert code == 0 and "gate: PASS" in out, out
    assert f"this machine's baseline: {gate_cli.shown(own)} (cpu-A (" in out, out


def test_a_run_that_turns_out_foreign_is_not_judged(tmp_path, monkeypatch, capsys):
    """Read before running, the machine was cpu-A; the run says cpu-B: exit 3, no verdict."""
    as_this_machine(monkeypatch, machine.fingerprint(_run("cpu-A").twins))
    _write(tmp_path / "bl", _baseline("cpu-A"))
    monkeypatch.setattr(gate_cli, "run_benchmarks", lambda *a, **kw: _run("cpu-B", seed=7))
    code = gate_cli.main(["check", "--baselines", str(tmp_path / "bl")])
    cap = capsys.readouterr()
    assert code == 3 and "PASS" not in cap.out and cap.err.count("\n") == 1, cap
    assert cap.err.startswith("gate: COULD NOT JUDGE: the run was measured on cpu-B"), cap.err


def test_a_named_foreign_baseline_is_refused_before_anything_runs(tmp_path, monkeypatch,
                                                                  capsys):
    as_this_machine(monkeypatch, machine.fingerprint(_run("cpu-A").twins))
    path = _write(tmp_path / "bl", _baseline("cpu-B"))
    rec = Recorder(monkeypatch)
    code = gate_cli.main(["check", "--baseline", path])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and rec.runs == rec.ab == [], err
    assert "was measured on cpu-B" in err and "this machine is cpu-A" in err
    assert "do not record, cpu_model): numbers are judged only" in err


@pytest.mark.parametrize("flags", [("avx2",), ("avx2", "avx512f", "fma")])
def test_a_saved_run_of_another_machine_is_refused(tmp_path, monkeypatch, capsys, flags):
    """Same CPU model string, other kernel flags: another machine, for --run too."""
    (tmp_path / "run.json").write_text(json.dumps(_doc("cpu-A", flags, seed=7)))
    path = _write(tmp_path / "bl", _baseline("cpu-A"))
    for extra in (["--baseline", path], ["--baselines", str(tmp_path / "bl")]):
        code = gate_cli.main(["check", *extra, "--run", str(tmp_path / "run.json")])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1, err
        assert "cpu_flags" in err or "no baseline of the machine that measured it" in err, err


def test_a_saved_run_that_does_not_say_where_it_ran_is_refused(tmp_path, capsys):
    doc = _doc(seed=7)
    doc["machine_info"]["mlp_twins"].pop("blas")
    (tmp_path / "run.json").write_text(json.dumps(doc))
    path = _write(tmp_path / "bl", _baseline())
    code = gate_cli.main(["check", "--baseline", path, "--run", str(tmp_path / "run.json")])
    err = capsys.readouterr().err
    assert code == 2 and "does not say which machine measured it" in err and "blas" in err


def test_a_saved_run_of_another_machine_than_this_one_is_judged_without_reruns(
        tmp_path, monkeypatch, capsys):
    as_this_machine(monkeypatch, machine.fingerprint(_run("cpu-Z").twins))
    (tmp_path / "run.json").write_text(json.dumps(_doc(seed=7, numpy=0.02, **{
        "torch-cpu": 0.008})))
    rec = Recorder(monkeypatch)
    path = _write(tmp_path / "bl", _baseline())
    code = gate_cli.main(["check", "--baseline", path, "--run", str(tmp_path / "run.json")])
    cap = capsys.readouterr()
    assert code == 3 and rec.runs == [] and "cannot be re-run here" in cap.err, cap
    assert "gate: COULD NOT JUDGE: 1 suspect(s) not confirmed" in cap.out, cap.out
    assert "the run's machine's baseline" in cap.out


@pytest.mark.parametrize("setup,words", [
    ("empty", "no baseline in"),
    ("not git", "must run inside a git checkout"),
    ("no git installed", "git is not installed"),
    ("no commit in history", "no committed baseline's commit is in this checkout's history")])
def test_nothing_to_measure_against_is_could_not_judge(tmp_path, monkeypatch, capsys, setup,
                                                        words):
    as_this_machine(monkeypatch, machine.fingerprint(_run("cpu-A").twins))
    folder = tmp_path / "bl"
    folder.mkdir()
    if setup != "empty":
        _write(folder, _baseline("cpu-B", commit=SHA_B))
    if setup == "no commit in history":
        repo = tmp_path / "repo"
        repo.mkdir()
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                        "commit", "-q", "--allow-empty", "-m", "c"], check=True)
        monkeypatch.chdir(repo)
    else:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    if setup == "no git installed":
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(gate_cli, "run_benchmarks", Recorder._run)
    code = gate_cli.main(["check", "--baselines", str(folder)])
    err = capsys.readouterr().err
    assert code == 3 and err.startswith("gate: COULD NOT JUDGE: ") and words in err, err
    assert err.count("\n") == 1 and "Traceback" not in err


def _git(repo, *args) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                           *args], check=True, capture_output=True, text=True).stdout.strip()


def test_the_reference_is_the_nearest_recorded_commit_this_checkout_contains(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    shas = []
    for i in range(3):
        _git(repo, "commit", "-q", "--allow-empty", "-m", f"c{i}")
        shas.append(_git(repo, "rev-parse", "HEAD"))
    _git(repo, "checkout", "-q", "-b", "side", shas[0])
    _git(repo, "commit", "-q", "--allow-empty", "-m", "side")
    side = _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-q", shas[1])  # HEAD: c1; c2 and side are not in its history
    docs = {tmp_path / f"{n}.json": {"commit": {"id": sha}} for n, sha in
            [("old", shas[0]), ("mid", shas[1]), ("later", shas[2]), ("side", side),
             ("unknown", SHA_A), ("none", None)]}
    assert abm.reference(docs, repo) == (shas[1], tmp_path / "mid.json")
    with pytest.raises(Unjudged, match="no committed baseline's commit"):
        abm.reference({p: d for p, d in docs.items() if p.stem in ("later", "side", "none")},
                      repo)


# ------------------------------------------------------------------ gate baseline
def test_baseline_goes_to_its_machines_file_with_the_commit_measured(tmp_path, monkeypatch,
                                                                     capsys):
    monkeypatch.setattr(machine, "BASELINES", tmp_path / "baselines")
    runs = []
    for i in range(2):
        runs.append(tmp_path / f"r{i}.json")
        runs[-1].write_text(json.dumps(_doc(commit=SHA_A, seed=i)))
    assert gate_cli.main(["baseline", "--runs", *map(str, runs)]) == 0
    [path] = machine.baselines(tmp_path / "baselines")
    doc = json.loads(path.read_text())
    assert path.stem == doc["machine"]["id"] == machine.machine_id(doc["fingerprint"])
    assert doc["commit"] == {"id": SHA_A, "dirty": False}
    assert "wrote" in capsys.readouterr().out
    assert gate_cli.main(["baseline", "--runs", *map(str, runs)]) == 0  # replaced, not added
    assert machine.baselines(tmp_path / "baselines") == [path]
    assert "replaced" in capsys.readouterr().out


def test_a_baseline_of_runs_of_two_commits_or_no_machine_is_refused():
    with pytest.raises(ValueError, match="measured different commits"):
        make_baseline([_run(commit=SHA_A), _run(commit=SHA_B, seed=1)])
    old = [_run(seed=i) for i in range(2)]
    for r in old:
        r.twins.pop("cpu_flags")
    with pytest.raises(ValueError, match="does not say which machine measured it"):
        make_baseline(old)
    assert make_baseline(old, own_machine=False)["commit"] == {"id": None, "dirty": None}


# ------------------------------------------------------------------ reference code: info
def _as_sklearn(bench):
    """A torch-cpu entry made scikit-learn's, under the name the suite gives it."""
    bench["extra_info"]["backend"] = "sklearn"
    for key in ("name", "fullname"):
        bench[key] = bench[key].replace("torch-cpu", "sklearn")


def test_reference_implementations_and_copies_are_shown_never_gated():
    def run(slow, seed):
        doc = _doc(seed=seed, numpy=BASE["numpy"], **{"torch-cpu": BASE["torch-cpu"] * slow})
        for b in doc["benchmarks"]:
            if b["extra_info"]["backend"] == "torch-cpu":
                _as_sklearn(b)  # scikit-learn's own code
        return runfile.parse(doc, "r.json")
    bl = make_baseline([run(1.0, i) for i in range(3)])
    rows = {r["name"]: r for r in cmp.compare(bl, run(3.0, 9))}
    assert rows["test_step[sklearn-h1024-b256-f32-t1]"]["verdict"] == "info"
    assert rows["test_step[numpy-h1024-b256-f32-t1]"]["verdict"] == "ok"


# ------------------------------------------------------------------ end to end, smoke-sized
@pytest.mark.slow
def test_a_machine_without_a_baseline_measures_the_recorded_commit_end_to_end(tmp_path):
    """In a git repository of this project: a baseline of a foreign machine recording the
    commit c0, HEAD one commit later; ``gate check`` runs a (smoke-sized) A/B of HEAD
    against c0 in a temporary worktree and gives a verdict, its first line naming both
    machines; the worktree is gone afterwards."""
    from .test_gate_ab import CLEANUP_SELECTION, _assert_nothing_left, _git_project
    repo, c1 = _git_project(tmp_path)
    bl = _baseline("cpu-B", commit=c1)
    folder = tmp_path / "foreign"
    _write(folder, bl)
    env = {**os.environ, "PYTHONPATH": str(repo)}
    proc = subprocess.run([sys.executable, "-m", "gate", "check", "--baselines", str(folder),
                           "--pairs", "2", "--", *CLEANUP_SELECTION], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode in (0, 1, 3), out
    first = next(ln for ln in proc.stdout.splitlines() if ln.startswith("gate: "))
    assert first.startswith("gate: no baseline of this machine, ") and "cpu-B" in first, out
    assert f"against {c1[:10]}" in first and machine.label(machine.this_machine()) in first
    assert f"({c1[:10]})" in out  # the A/B's own context line: the base it checked out
    _assert_nothing_left(repo, out)


@pytest.mark.parametrize("how", ["not a folder", "misnamed", "a copy under another name"])
def test_baselines_folder_problems_are_malformed_input(tmp_path, monkeypatch, capsys, how):
    as_this_machine(monkeypatch, machine.fingerprint(_run("cpu-A").twins))
    folder = tmp_path / "bl"
    if how == "not a folder":
        folder = tmp_path / "file.json"
        folder.write_text("{}")
    else:
        path = _write(folder, _baseline("cpu-A"))
        target = folder / ("renamed.json" if how == "misnamed" else "zz-copy.json")
        shutil.copy(path, target)
        if how == "misnamed":
            os.remove(path)
    monkeypatch.setattr(gate_cli, "run_benchmarks", Recorder._run)
    code = gate_cli.main(["check", "--baselines", str(folder)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert ("not a folder" in err) if how == "not a folder" else ("must be named" in err), err


@pytest.mark.parametrize("option", [["--save", "x.json"], ["--mode", "normalised"],
                                    ["--no-rerun"]])
def test_options_of_the_own_baseline_path_are_refused_on_the_ab_path(tmp_path, monkeypatch,
                                                                      capsys, option):
    as_this_machine(monkeypatch, machine.fingerprint(_run("cpu-A").twins))
    _write(tmp_path / "bl", _baseline("cpu-B", commit=SHA_B))
    monkeypatch.chdir(tmp_path)
    rec = Recorder(monkeypatch)
    code = gate_cli.main(["check", "--baselines", str(tmp_path / "bl"), *option])
    err = capsys.readouterr().err
    assert code == 2 and rec.ab == rec.runs == [] and err.count("\n") == 1, err
    assert err.startswith(f"gate: error: {option[0]}: this machine has no baseline"), err


def _env_fingerprint(prelude: str) -> dict:
    code = (f"{prelude}; import json; from bench.measure.environment import environment; "
            "print(json.dumps(environment()))")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, cwd=gate_cli.Path(machine.__file__).parents[1]).stdout
    return machine.fingerprint(json.loads(out.strip().splitlines()[-1]))


def test_a_run_with_or_without_scikit_learn_is_of_the_same_machine():
    """The BLAS libraries threadpoolctl sees depend on what the process loaded: a run
    without the scikit-learn epoch must fingerprint as the one with it, and as the gate."""
    bare = _env_fingerprint("import sys")
    with_sklearn = _env_fingerprint("import sklearn.neural_network")
    assert bare == with_sklearn
    assert machine.same(bare, machine.this_machine()) or machine.unknown(bare)


def test_an_internal_error_is_could_not_judge_never_a_regression(tmp_path, monkeypatch,
                                                                 capsys):
    as_this_machine(monkeypatch, machine.fingerprint(_run("cpu-A").twins))
    path = _write(tmp_path / "bl", _baseline("cpu-A"))
    (tmp_path / "run.json").write_text(json.dumps(_doc(seed=7)))

    def broken(*a, **kw):
        raise TypeError("a defect")
    monkeypatch.setattr(cmp, "compare", broken)
    code = gate_cli.main(["check", "--baseline", path, "--run", str(tmp_path / "run.json"),
                          "--no-rerun"])
    err = capsys.readouterr().err
    assert code == 3 and err.count("\n") == 1, err
    assert "internal error (TypeError: a defect)" in err and "Traceback" not in err


def test_a_reference_row_absent_from_the_run_is_not_missing_evidence():
    def run(seed, with_sklearn=True):
        doc = _doc(seed=seed)
        for b in doc["benchmarks"]:
            if b["extra_info"]["backend"] == "torch-cpu":
                _as_sklearn(b)
        if not with_sklearn:
            doc["benchmarks"] = [b for b in doc["benchmarks"]
                                 if b["extra_info"]["backend"] != "sklearn"]
        return runfile.parse(doc, "r.json")
    bl = make_baseline([run(i) for i in range(3)])
    rows = {r["name"]: r for r in cmp.compare(bl, run(9, with_sklearn=False))}
    row = rows["test_step[sklearn-h1024-b256-f32-t1]"]
    assert row["verdict"] == "skipped" and "never gated" in row["reason"]
