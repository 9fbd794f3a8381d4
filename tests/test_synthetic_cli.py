"""``python -m runfile.synthetic``: writes a run the report reads; --help writes no file."""

from __future__ import annotations

import json

import pytest

import runfile
from runfile import synthetic


def test_writes_a_valid_run(tmp_path, capsys):
    out = tmp_path / "demo.json"
    assert synthetic.main([str(out)]) == 0
    run = runfile.load(out)
    assert len(run.benchmarks) == len(json.loads(out.read_text())["benchmarks"]) > 0


def test_help_writes_no_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as e:
        synthetic.main(["--help"])
    assert e.value.code == 0
    assert list(tmp_path.iterdir()) == []


def test_unwritable_path_is_one_line_exit_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        (tmp_path / "a-file").write_text("")
        synthetic.main([str(tmp_path / "a-file" / "run.json")])  # a folder that is a file
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err
