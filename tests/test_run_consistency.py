"""What round 4 of the run checks accepts (the refusals are ``tests/bad_fields.py``, run by
the gate's and the report's tests): runs the suite writes, with pytest-benchmark's moments,
its case ids, several launches; and the report's side: text from a run cannot become markup
in REPORT.md, and ``--out`` names one folder for every check and the replacement."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

import runfile
from reports import md
from reports.__main__ import MARKER, main
from runfile import synthetic

from .bad_fields import _launched, _missing, _moments, named
from .gate_runs import BASE, steps_doc
from .test_reports_cli import snapshot

REFERENCE_RUN = Path(__file__).parents[1] / "results" / "reference"


def _docs():
    return {"gate's": steps_doc(BASE, seed=5, probe=0.0025), "report's": synthetic.make_run()}


def _one_round(doc):
    """The first record timed once: pytest-benchmark's statistics of one round."""
    bench = doc["benchmarks"][0]
    t = bench["stats"]["median"]
    bench["stats"] = {"median": t, "min": t, "max": t, "mean": t, "stddev": 0, "total": t,
                      "ops": 1 / t, "rounds": 1, "data": [t]}
    for key in ("probe_data", "relative"):
        bench["extra_info"].pop(key, None)


def _parallel(backend, lib, world, variant):
    """The first record made a parallel backend's, under the name the suite gives it."""
    def change(doc):
        doc["benchmarks"][0]["extra_info"].update(backend=backend, lib=lib, world_size=world,
                                                  variant=variant)
        named()(doc)
    return change


@pytest.mark.parametrize("which", ["gate's", "report's"])
@pytest.mark.parametrize("case, change", [
    ("as written", lambda doc: None),
    ("with pytest-benchmark's moments", _moments(lambda s: None)),
    ("under the suite's case id", named()),
    ("one round, stddev 0", _one_round),
    ("2 launches", _launched(2, last=1)),
    ("launch 1 only skipped", lambda doc: (_launched(2)(doc), doc["mlp_twins"].update(
        missing=[{"test": "b.py::test_x", "reason": "skipped: no CUDA", "launch": 1}]))),
    ("launch 1 stopped before its first benchmark", lambda doc: (
        _launched(2)(doc), _missing([], complete=False, stopped_at="collection")(doc))),
    ("a parallel record, variant null", _parallel("numpy-mp", "numpy", 2, None)),
    ("a parallel record, variant w2", _parallel("numpy-mp", "numpy", 2, "w2")),
    ("a parallel record of one process", _parallel("torch-ddp", "torch", 1, "w1")),
    ("cores below the CPU count (a cgroup)", lambda doc: doc["machine_info"]["cpu"].update(
        count=256)),
    ("a record without fullname and param", lambda doc: [doc["benchmarks"][0].pop(k) for k in (
        "fullname", "param")]),
])
def test_a_consistent_run_is_read(which, case, change):
    doc = copy.deepcopy(_docs()[which])
    change(doc)
    run = runfile.parse(doc, "ok.json")
    assert len(run.benchmarks) == len(doc["benchmarks"])


def test_the_committed_reference_runs_are_read():
    """Real runs (pytest-benchmark's moments, the suite's ids, parallel variants, compiled
    backends) pass every check."""
    paths = sorted(REFERENCE_RUN.glob("*.json"))
    assert paths
    for path in paths:
        run = runfile.load(path)
        assert len(run.benchmarks) > 100 and run.twins["profile"] in ("full", "quick"), path


@pytest.mark.parametrize("value, want", [
    ("plain CPU 2.0GHz", "plain CPU 2.0GHz"),
    ("a|b", "a&#124;b"),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("AT&T", "AT&amp;T"),
    ("line\n# heading", "line # heading"),
    ("tab\tand\r\nCRLF", "tab and CRLF"),
    ("[link](http://x)", "&#91;link&#93;(http://x)"),
    ("`code`", "&#96;code&#96;"),
    ("back\\slash", "back&#92;slash"),
    (7, "7"),
])
def test_text_from_a_run_is_markdown_that_renders_as_itself(value, want):
    assert md.text(value) == want


@pytest.mark.parametrize("value, want", [
    ("bench/x.py::test_step[numpy-h16]", "`bench/x.py::test_step[numpy-h16]`"),
    ("test_<b>", "`test_<b>`"),
    ("a`b", "a&#96;b"),
    ("a|b", "a&#124;b"),
    ("a\nb", "a b"),
])
def test_a_plain_name_is_code_any_other_is_text(value, want):
    assert md.code(value) == want


EVIL = "evil|<script>x</script>\n# injected"


def test_run_text_cannot_inject_markup_into_the_report(tmp_path, capsys):
    """A machine name, CPU model, test names, reasons and a stop point full of markup reach
    REPORT.md as text: no raw tag, no new heading or list line, no extra table cell."""
    doc = synthetic.make_run(hidden=(16, 100), node=EVIL)
    doc["machine_info"]["mlp_twins"]["cpu_model"] = "cpu <b>|x|</b>"
    doc["mlp_twins"].update(complete=False, stopped_at="at`x`|<i>\n- item", missing=[
        {"test": "b.py::test_`gone`|<img src=x>", "reason": "failed in call: <b>\n## injected"}])
    path = tmp_path / "evil.json"
    path.write_text(json.dumps(doc))
    out = tmp_path / "report"
    assert main([str(path), "--out", str(out), "--no-chapter"]) == 0, capsys.readouterr().err
    report = (out / "REPORT.md").read_text()
    assert "<script>" not in report and "<b>" not in report and "<img" not in report
    assert "<i>" not in report
    assert not re.search(r"^(# injected|## injected|- item)", report, re.M)
    assert "evil&#124;&lt;script&gt;x&lt;/script&gt; # injected" in report
    for line in report.splitlines():  # each table keeps its columns
        if line.startswith("| CPU |") or line.startswith("| machine |"):
            assert line.count("|") == 3, line
    page = (out / "index.html").read_text()
    assert "<script>" not in page and "evil|&lt;script&gt;x&lt;/script&gt;" in page


def test_out_through_a_folder_not_yet_made_is_the_folder_it_names(tmp_path, capsys):
    """``--out X/sub/../../X`` with ``sub`` not there names X itself: a non-empty folder of
    the user's, refused before anything is made or moved."""
    run = synthetic.write_run(tmp_path / "run.json")
    mine = tmp_path / "nonempty"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    before = snapshot(tmp_path)
    for trick in ("sub/../../nonempty", "sub/deeper/../../../nonempty", "./sub/.././"):
        code = main([str(run), "--out", f"{mine}/{trick}", "--no-chapter"])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1, err
        assert "not empty and not an earlier report" in err and str(mine) in err, err
        assert snapshot(tmp_path) == before and not (mine / "sub").exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["nonempty", "run.json"]


def test_out_through_dotdot_to_an_earlier_report_replaces_that_report(tmp_path, capsys):
    run = synthetic.write_run(tmp_path / "run.json")
    earlier = tmp_path / "report"
    earlier.mkdir()
    (earlier / MARKER).write_text("earlier\n")
    assert main([str(run), "--out", f"{earlier}/sub/../../report", "--no-chapter"]) == 0
    capsys.readouterr()
    assert (earlier / "REPORT.md").is_file() and not (earlier / "sub").exists()


@pytest.mark.parametrize("empty", ["", " ", "\t"])
def test_an_empty_out_is_refused_in_the_parser(tmp_path, capsys, monkeypatch, empty):
    run = synthetic.write_run(tmp_path / "run.json")
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    assert main([str(run), "--out", empty, "--no-chapter"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err and "empty folder name" in err, err
    assert snapshot(tmp_path) == before
