"""``python -m gate``'s command line on saved synthetic runs: verdicts as exit codes, bad
input as one line on stderr and exit 2."""

from __future__ import annotations

import json

import pytest

from gate.__main__ import main as gate_main
from runfile.schema import SCHEMA_VERSION

from .gate_runs import BASE, steps_baseline, steps_doc


def test_cli_on_saved_runs(tmp_path, capsys):
    bl = steps_baseline()
    bl["pytest_args"] = []
    (tmp_path / "bl.json").write_text(json.dumps(bl))
    (tmp_path / "ok.json").write_text(json.dumps(steps_doc(BASE, seed=5)))
    bad = steps_doc({"numpy": 0.02, "torch-cpu": 0.008}, seed=5)
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    args = ["check", "--baseline", str(tmp_path / "bl.json"), "--no-rerun", "--run"]
    assert gate_main([*args, str(tmp_path / "ok.json")]) == 0
    assert gate_main([*args, str(tmp_path / "bad.json")]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "test_step[numpy-h1024-b256-f32-t1]" in out
    (tmp_path / "junk.json").write_text("{")
    assert gate_main([*args, str(tmp_path / "junk.json")]) == 2
    err = capsys.readouterr().err
    assert "junk.json" in err and "not JSON" in err and err.count("\n") == 1


@pytest.mark.parametrize("case,problem", [
    ("schema", f"schema version {SCHEMA_VERSION + 1}; this code reads version"),
    ("calibration", "no machine_info.mlp_twins.calibration.gemm"),
    ("median", "stats.median is 0.0; expected a finite number > 0"),
])
def test_cli_refuses_a_bad_run_in_one_line(tmp_path, capsys, case, problem):
    bl = steps_baseline()
    bl["pytest_args"] = []
    (tmp_path / "bl.json").write_text(json.dumps(bl))
    doc = steps_doc(BASE, seed=5)
    if case == "schema":
        for b in doc["benchmarks"]:
            b["extra_info"]["schema"] = SCHEMA_VERSION + 1
    elif case == "calibration":
        del doc["machine_info"]["mlp_twins"]["calibration"]
    else:
        doc["benchmarks"][0]["stats"]["median"] = 0.0
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    code = gate_main(["check", "--baseline", str(tmp_path / "bl.json"), "--no-rerun",
                      "--run", str(tmp_path / "bad.json")])
    err = capsys.readouterr().err
    assert code == 2 and "bad.json" in err and problem in err and err.count("\n") == 1, err


def test_cli_refuses_a_file_that_is_not_a_baseline(tmp_path, capsys):
    (tmp_path / "run.json").write_text(json.dumps(steps_doc(BASE)))
    code = gate_main(["check", "--baseline", str(tmp_path / "run.json"), "--no-rerun",
                      "--run", str(tmp_path / "run.json")])
    err = capsys.readouterr().err
    assert code == 2 and "run.json: not a gate baseline" in err, err
