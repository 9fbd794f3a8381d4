"""``python -m gate check`` on a malformed baseline or run: exit 2 and one line on stderr
naming the file and the field, never a traceback and never PASS (``tests/bad_fields.py``)."""

from __future__ import annotations

import json

import pytest

from gate.__main__ import main as gate_main
from runfile.check import expected_flops

from .bad_fields import BAD_BASELINE_FIELDS, BAD_RUN_FIELDS
from .gate_runs import BASE, steps_baseline, steps_doc


def _check(tmp_path, capsys, baseline, run):
    (tmp_path / "bl.json").write_text(json.dumps(baseline))
    (tmp_path / "run.json").write_text(json.dumps(run))
    code = gate_main(["check", "--baseline", str(tmp_path / "bl.json"), "--no-rerun",
                      "--run", str(tmp_path / "run.json")])
    out = capsys.readouterr()
    return code, out.out, out.err


def _baseline():
    bl = steps_baseline()
    bl["pytest_args"] = []
    return bl


def _probed_run():
    doc = steps_doc(BASE, seed=5, probe=0.0025)
    return doc


@pytest.mark.parametrize("case,change,words", BAD_RUN_FIELDS, ids=[c[0] for c in BAD_RUN_FIELDS])
def test_malformed_run(tmp_path, capsys, case, change, words):
    run = _probed_run()
    change(run)
    code, out, err = _check(tmp_path, capsys, _baseline(), run)
    assert code == 2, out + err
    assert err.count("\n") == 1 and "Traceback" not in err and "PASS" not in out, err
    assert "run.json" in err and words in err, err


def _record(change):
    def apply(doc):
        change(doc["benchmarks"][0]["extra_info"])
    return apply


def _twice(which):
    def apply(doc):
        copy = json.loads(json.dumps(doc["benchmarks"][which]))
        copy["stats"]["data"] = [t * 3 for t in copy["stats"]["data"]]
        copy["stats"]["median"] *= 3
        copy["stats"]["q1"] *= 3
        copy["stats"]["q3"] *= 3
        copy["stats"]["iqr"] *= 3
        copy["extra_info"]["relative"] *= 3
        copy["extra_info"]["samples_per_s"] /= 3
        doc["benchmarks"].insert(0 if which == 0 else len(doc["benchmarks"]), copy)
    return apply


def _other_case(**changes):
    def apply(info):
        median = info["batch"] / info["samples_per_s"]
        info.update(changes)
        if "layer_sizes" in changes:
            from core.spec import n_params
            info["n_params"] = n_params(changes["layer_sizes"])
        info["flops"] = expected_flops(info)  # a self-consistent record of another case
        info["samples_per_s"] = info["batch"] / median
    return _record(apply)


# what only the gate refuses: it matches the baseline's rows by name, and judges by the
# disturbance evidence
GATE_ONLY_BAD_RUNS = [
    ("a name twice, the slow copy first", _twice(0), "appears twice"),
    ("a name twice, the slow copy last", _twice(-1), "appears twice"),
    ("disturbed absent", _record(lambda e: e.pop("disturbed")),
     "extra_info.disturbed is absent"),
    ("reruns absent", _record(lambda e: e.pop("reruns")), "extra_info.reruns is absent"),
    ("no evidence at all", _record(lambda e: [e.pop(k) for k in (
        "disturbed", "reruns", "busy_other", "disturbance")]), "extra_info.disturbed is absent"),
    ("another backend under the name", _other_case(backend="torch-cpu", lib="torch"),
     "extra_info.backend is 'torch-cpu'; expected 'numpy'"),
    ("other threads under the name", _other_case(threads=2), "extra_info.threads is 2"),
    ("another size under the name", _other_case(layer_sizes=[784, 16, 10]),
     "extra_info.layer_sizes is [784, 16, 10]"),
    ("another dtype under the name", _other_case(dtype="float64"),
     "extra_info.dtype is 'float64'"),
    ("another batch under the name", _other_case(batch=32), "extra_info.batch is 32"),
    ("another group under the name", _other_case(group="forward"),
     "extra_info.group is 'forward'"),
    ("a variant under the name", _other_case(variant="compile"),
     "extra_info.variant is 'compile'"),
    ("another world size under the name", _other_case(world_size=2),
     "extra_info.world_size is 2"),
]


@pytest.mark.parametrize("case,change,words", GATE_ONLY_BAD_RUNS,
                         ids=[c[0] for c in GATE_ONLY_BAD_RUNS])
def test_a_run_the_gate_cannot_match_to_its_baseline_is_refused(tmp_path, capsys, case, change,
                                                               words):
    run = _probed_run()
    change(run)
    code, out, err = _check(tmp_path, capsys, _baseline(), run)
    assert code == 2, out + err
    assert err.count("\n") == 1 and "Traceback" not in err and "PASS" not in out, err
    assert "run.json" in err and words in err, err


def _blas(pools):
    def change(doc):
        if pools is None:
            doc["machine_info"]["mlp_twins"].pop("blas", None)
        else:
            doc["machine_info"]["mlp_twins"]["blas"] = pools
    return change


OPENBLAS = {"user_api": "blas", "internal_api": "openblas", "version": "0.3.30",
            "architecture": "Haswell"}


@pytest.mark.parametrize("case,change", [
    ("no blas entry", _blas(None)),
    ("blas empty", _blas([])),
    ("no blas pool, only openmp", _blas([{"user_api": "openmp", "internal_api": "openmp"}])),
    ("a pool without its kernel", _blas([{k: v for k, v in OPENBLAS.items()
                                          if k != "architecture"}])),
    ("a pool without its version", _blas([{**OPENBLAS, "version": None}])),
    ("one good pool, one unnamed", _blas([OPENBLAS, {"user_api": "blas"}])),
    ("one good pool, one empty", _blas([OPENBLAS, {}])),
    ("one good pool, one without user_api", _blas([OPENBLAS, {"internal_api": "openblas"}])),
    ("one good pool, one of user_api BLAS", _blas([OPENBLAS, {**OPENBLAS, "user_api": "BLAS"}])),
    ("one good pool, one of user_api null", _blas([OPENBLAS, {**OPENBLAS, "user_api": None}])),
    ("one good pool, a string", _blas([OPENBLAS, "openblas"])),
    ("library in capitals", _blas([{**OPENBLAS, "internal_api": "OpenBLAS"}])),
    ("library with a space", _blas([{**OPENBLAS, "internal_api": "openblas "}])),
    ("a blank kernel", _blas([{**OPENBLAS, "architecture": "  "}])),
    ("a kernel that is a list", _blas([{**OPENBLAS, "architecture": ["Haswell"]}])),
])
def test_a_run_that_does_not_say_its_blas_is_not_judged(tmp_path, capsys, case, change):
    """The BLAS (library, version, kernel) decides which numbers compare (gate/machine.py):
    a run that does not say it is refused, whichever baseline it is given."""
    run = _probed_run()
    change(run)
    code, out, err = _check(tmp_path, capsys, _baseline(), run)
    assert code == 2, out + err
    assert err.count("\n") == 1 and "PASS" not in out and "blas" in err, err


@pytest.mark.parametrize("case,change,words", BAD_BASELINE_FIELDS,
                         ids=[c[0] for c in BAD_BASELINE_FIELDS])
def test_malformed_baseline(tmp_path, capsys, case, change, words):
    bl = _baseline()
    bl = change(bl) or bl
    code, out, err = _check(tmp_path, capsys, bl, _probed_run())
    assert code == 2, out + err
    assert err.count("\n") == 1 and "Traceback" not in err and "PASS" not in out, err
    assert "bl.json" in err and words in err, err


def test_the_committed_baselines_are_well_formed_and_each_names_its_commit():
    from gate import machine
    from gate.baseline import load
    paths = machine.baselines()
    assert paths, "no committed baseline in gate/baselines/"
    for path in paths:
        doc = load(path)
        assert len(doc["benchmarks"]) > 0 and doc["runs"] >= 2, path
        assert path.stem == doc["machine"]["id"], path  # one file per machine, by its id
        assert len(doc["commit"]["id"]) == 40, path


@pytest.mark.parametrize("pool, known", [
    ({"internal_api": "mkl", "version": "2024.2", "architecture": None}, True),
    ({"internal_api": "flexiblas", "version": "3.4.2"}, True),
    ({**OPENBLAS}, True),
    ({**OPENBLAS, "architecture": None}, False),
    ({"internal_api": "blis", "version": "0.9"}, False),
    ({"internal_api": "mkl", "version": ""}, False),
    ({"internal_api": "mkl", "version": " "}, False),
    ({"internal_api": "MKL", "version": "2024.2"}, False),
    ({"internal_api": " mkl", "version": "2024.2"}, False),
    ({"internal_api": "accelerate", "version": "1"}, False),
    ({"internal_api": "mkl", "version": "2024.2", "architecture": 7}, False),
    ({"internal_api": "mkl", "version": 2024}, False),
    ({**OPENBLAS, "architecture": "\t"}, False),
    ({"internal_api": "blis", "version": "0.9", "architecture": "zen3"}, True),
])
def test_which_blas_pools_name_their_machine(pool, known):
    """threadpoolctl names a kernel (architecture) only for OpenBLAS and BLIS: an MKL or
    FlexiBLAS pool is known by library and version, an OpenBLAS one needs its kernel too."""
    from gate import machine

    fp = machine.fingerprint({"blas": [{"user_api": "blas", **pool}]})
    assert (fp["blas"] != []) is known, fp["blas"]


@pytest.mark.parametrize("other, known", [
    ({"user_api": "openmp", "internal_api": "openmp", "version": None}, True),
    ({"user_api": "OpenMP", "internal_api": "openmp"}, False),
    ({"user_api": "openmp ", "internal_api": "openmp"}, False),
    ({"internal_api": "openmp"}, False),
    ("openmp", False),
    (None, False),
])
def test_a_pool_of_an_unknown_kind_makes_the_blas_unknown(other, known):
    from gate import machine

    fp = machine.fingerprint({"blas": [{"user_api": "blas", **OPENBLAS}, other]})
    assert (fp["blas"] != []) is known, fp["blas"]


def test_the_committed_baselines_keep_their_fingerprints():
    from gate import machine
    for path in machine.baselines():
        doc = json.loads(path.read_text())
        assert machine.fingerprint(doc["machine_info"]) == doc["fingerprint"], path
