"""``python -m reports`` on a run with one malformed or impossible field: exit 2, one line
naming the file and the field, no traceback, the output folder untouched; and the report
never deletes or overwrites an input run."""

from __future__ import annotations

import json

import pytest

from reports.__main__ import MARKER, main
from runfile import synthetic

from .bad_fields import BAD_RUN_FIELDS
from .test_reports_cli import snapshot


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "report"
    folder.mkdir()
    (folder / MARKER).write_text("earlier\n")
    (folder / "REPORT.md").write_text("# the earlier report\n")
    return folder


@pytest.mark.parametrize("case,change,words", BAD_RUN_FIELDS, ids=[c[0] for c in BAD_RUN_FIELDS])
def test_a_bad_field_is_one_line_and_exit_2(tmp_path, out, capsys, case, change, words):
    doc = synthetic.make_run()
    change(doc)
    run = tmp_path / "bad.json"
    run.write_text(json.dumps(doc))
    before = snapshot(out)
    code = main([str(run), "--out", str(out), "--no-chapter"])
    captured = capsys.readouterr()
    assert code == 2, captured.out
    err = captured.err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "bad.json" in err and words in err, err
    assert snapshot(out) == before


@pytest.mark.parametrize("where", ["in the report folder", "deeper inside it"])
def test_an_input_run_inside_out_is_refused_and_kept(tmp_path, out, capsys, where):
    folder = out if where == "in the report folder" else out / "runs"
    folder.mkdir(exist_ok=True)
    run = synthetic.write_run(folder / "run.json")
    before = snapshot(out)
    assert main([str(run), "--out", str(out), "--no-chapter"]) == 2
    err = capsys.readouterr().err
    assert "run.json: is inside --out" in err and err.count("\n") == 1, err
    assert snapshot(out) == before and run.exists()


def test_out_that_is_the_input_file_is_refused(tmp_path, capsys):
    run = synthetic.write_run(tmp_path / "run.json")
    data = run.read_bytes()
    assert main([str(run), "--out", str(run), "--no-chapter"]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert run.read_bytes() == data
