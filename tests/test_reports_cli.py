"""``python -m reports``: every bad input is one line on stderr naming the file, exit 2, and
the output folder left exactly as it was; good input builds the whole report."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import pytest

from reports.__main__ import MARKER, chapter_markdown, main
from runfile import synthetic
from runfile.schema import SCHEMA_VERSION

FIGURES = ("fig1_step_time", "fig2_speedup", "fig3_gflops", "fig4_epoch", "fig5_scaling",
           "fig6_activations")


def snapshot(folder):
    """Every file under ``folder`` with its bytes (empty when it does not exist)."""
    if not folder.exists():
        return {}
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def out(tmp_path):
    """An earlier report in place, which a failing run must not touch."""
    folder = tmp_path / "report"
    folder.mkdir()
    (folder / MARKER).write_text("earlier\n")
    (folder / "REPORT.md").write_text("# the earlier report\n")
    return folder


def _write(path, doc):
    if isinstance(doc, bytes):
        path.write_bytes(doc)
    else:
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def _schema(run, version):
    for b in run["benchmarks"]:
        b["extra_info"]["schema"] = version
    return run


def _bad_inputs(tmp_path):
    good = synthetic.write_run(tmp_path / "good.json")
    other = {"machine_info": {}, "benchmarks": [
        {"name": "test_x", "extra_info": {"suite": "someone-else"}, "stats": {"median": 1.0}}]}
    return {
        "missing file": ([tmp_path / "absent.json"], "absent.json", "no such file"),
        "not JSON": ([_write(tmp_path / "junk.json", "{not json")], "junk.json", "not JSON"),
        "binary": ([_write(tmp_path / "bin.json", b"\xff\xfe\x00")], "bin.json", "not UTF-8"),
        "empty": ([_write(tmp_path / "nothing.json", "")], "nothing.json", "not JSON"),
        "no benchmarks key": ([_write(tmp_path / "list.json", [1, 2])], "list.json",
                              "not a pytest-benchmark JSON"),
        "no benchmarks": ([_write(tmp_path / "empty.json", {"benchmarks": []})], "empty.json",
                          "no benchmarks"),
        "another project": ([_write(tmp_path / "other.json", other)], "other.json",
                            "another project"),
        "schemas differ": ([good, _write(tmp_path / "v2.json",
                                         _schema(synthetic.make_run(), SCHEMA_VERSION + 1))],
                           "v2.json", "cannot be combined"),
        "unknown schema": ([_write(tmp_path / "v9.json", _schema(synthetic.make_run(), 9))],
                           "v9.json", "this code reads version"),
        "record lacks keys": ([_write(tmp_path / "lack.json", _lacking())], "lack.json",
                              "extra_info.n_params is absent"),
        "named twice": ([good, good], "good.json", "named twice"),
        "a folder": ([tmp_path], tmp_path.name, "is a directory"),
    }


def _lacking():
    run = synthetic.make_run(extras=False)
    del run["benchmarks"][0]["extra_info"]["n_params"]
    return run


BAD = ["missing file", "not JSON", "binary", "empty", "no benchmarks key", "no benchmarks",
       "another project", "schemas differ", "unknown schema", "record lacks keys",
       "named twice", "a folder"]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_exit_2_and_dir_untouched(tmp_path, out, capsys, case):
    paths, name, problem = _bad_inputs(tmp_path)[case]
    before = snapshot(out)
    code = main([str(p) for p in paths] + ["--out", str(out), "--no-chapter"])
    err = capsys.readouterr().err
    assert code == 2, case
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert name in err and problem in err, err
    assert snapshot(out) == before, case
    assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".report")) == []


def test_no_run_in_results_dir(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["--out", "o"]) == 2
    err = capsys.readouterr().err
    assert "results/runs" in err and "no run JSON found" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_out_that_is_not_a_report_is_refused(tmp_path, capsys):
    run = synthetic.write_run(tmp_path / "r.json")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    assert main([str(run), "--out", str(mine)]) == 2
    assert "not an earlier report" in capsys.readouterr().err
    assert snapshot(mine) == {mine.joinpath("notes.txt").relative_to(mine): b"keep me"}


def test_help_explains_the_command():
    done = subprocess.run([sys.executable, "-m", "reports", "--help"], capture_output=True,
                          text=True, check=True)
    for word in ("RUN.json", "--out", "results/runs", "Exit status"):
        assert word in done.stdout, word


def test_chapter_section_is_called_and_failures_become_a_note(tmp_path, monkeypatch):
    def build(out_dir, mnist_dir=None):
        (out_dir / "chapter_fig.png").write_bytes(b"png")
        return "Chapter **text** ![curve](chapter_fig.png)"

    def broken(out_dir, mnist_dir=None):
        raise RuntimeError("no MNIST")

    for fn, expected in ((build, "Chapter **text**"), (broken, "failed to build (RuntimeError")):
        monkeypatch.setitem(sys.modules, "chapter.section",
                            types.SimpleNamespace(build=fn))
        assert expected in chapter_markdown(tmp_path, True, None)
    monkeypatch.setitem(sys.modules, "chapter.section", types.SimpleNamespace())
    assert "has no build" in chapter_markdown(tmp_path, True, None)
    monkeypatch.setitem(sys.modules, "chapter.section", None)  # import fails
    assert "does not import" in chapter_markdown(tmp_path, True, None)


def test_whole_report_builds_from_two_runs(tmp_path, out, capsys, monkeypatch):
    cpu = synthetic.write_run(tmp_path / "cpu.json")
    gpu_costs = {**synthetic.COSTS, "torch-cuda": ("torch", "cuda", 80e-6, 0.05e-9)}
    gpu = synthetic.make_run(gpu_costs, node="gpubox", extras=False,
                             gpu={"name": "Synthetic GPU", "driver": "1", "capability": "9.0",
                                  "memory_gb": 80}, missing=["bench/bench_x.py::test_gone"])
    gpu = synthetic.write_run(tmp_path / "gpu.json", gpu)

    def build(out_dir, mnist_dir=None):
        (out_dir / "chapter_fig.png").write_bytes(b"\x89PNG")
        return "The chapter says hello. ![chapter](chapter_fig.png)"

    monkeypatch.setitem(sys.modules, "chapter.section", types.SimpleNamespace(build=build))
    assert main([str(cpu), str(gpu), "--out", str(out)]) == 0
    assert str(out / "REPORT.md") in capsys.readouterr().out
    for stem in FIGURES:
        assert (out / f"{stem}.png").stat().st_size > 0, stem
        assert (out / f"{stem}.svg").stat().st_size > 0, stem
    report = (out / "REPORT.md").read_text()
    assert "at the headline MLP's 79,510 parameters torch-cpu takes" in report
    assert "On gpubox (Synthetic GPU)" in report and "torch-cuda is" in report
    assert "(! 20%)" in report and "high variance" in report
    assert "bench/bench_x.py::test_gone" in report
    assert "The chapter says hello." in report
    page = (out / "index.html").read_text()
    assert page.count("data:image/png;base64,") == len(FIGURES) + 1
    assert "<table>" in page and "Traceback" not in page
    csv = (out / "results.csv").read_text().splitlines()
    n = sum(len(json.loads(p.read_text())["benchmarks"]) for p in (cpu, gpu))
    assert len(csv) == n + 1 and "speedup" in csv[0] and "efficiency" in csv[0]
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".report")]


def test_missing_groups_skip_figures_and_say_so(tmp_path, capsys):
    only_numpy = {"numpy": synthetic.COSTS["numpy"]}
    run = synthetic.write_run(tmp_path / "r.json", synthetic.make_run(only_numpy, extras=False))
    out = tmp_path / "new" / "report"
    assert main([str(run), "--out", str(out), "--no-chapter"]) == 0
    report = (out / "REPORT.md").read_text()
    for stem in ("fig2_speedup", "fig4_epoch", "fig5_scaling"):
        assert not (out / f"{stem}.png").exists(), stem
    assert report.count("Not drawn:") == 3
    assert "no 'epoch' records" in report
    assert "no backend was measured beside NumPy" in report
    assert (out / "fig1_step_time.png").exists() and (out / "fig6_activations.png").exists()


@pytest.mark.parametrize("names", [["my_notes.txt"], ["notes.md", "data"], ["fig1_step_time.pdf"]])
def test_an_earlier_report_holding_other_files_is_not_replaced(tmp_path, out, capsys, names):
    """Replacing a report deletes it whole: a folder that also holds the user's files (a
    note, a folder, another format) is refused, one line, everything left in place."""
    for name in names:
        if "." in name:
            (out / name).write_text("mine\n")
        else:
            (out / name).mkdir()
    before = snapshot(out)
    run = _write(tmp_path / "run.json", synthetic.make_run())
    assert main([str(run), "--out", str(out), "--no-chapter"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"holds {sorted(names)[0]!r}" in err, err
    assert snapshot(out) == before and sorted(p.name for p in out.iterdir()) == sorted(
        [MARKER, "REPORT.md", *names])
