"""The README's first screen and docs/ come from the committed reference runs
(``reports/readme.py``): the committed block is exactly what the runs in results/reference/
give, docs/ was rendered from those runs, and the block's numbers are right on a synthetic
run with known answers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reports import readme
from runfile import synthetic

ROOT = Path(__file__).resolve().parents[1]
RUNS = readme.reference_runs(ROOT / readme.REFERENCE_DIR)
DOCS = ROOT / readme.DOCS_DIR
SPEEDUP_DIGITS = 2  # the table prints speedups as 1.63x


def _committed_block() -> str:
    text = (ROOT / readme.README).read_text(encoding="utf-8")
    start, end = readme.current_block(text, readme.README)
    return text[start:end]


def test_readme_block_is_what_the_committed_runs_give():
    expected = readme.block(RUNS, DOCS, ROOT)
    assert _committed_block() == expected, (
        "README.md's results block differs from what results/reference/ gives: run make docs")


def test_docs_are_rendered_from_the_committed_runs():
    report = DOCS / "REPORT.md"
    if not RUNS:
        assert not report.exists(), "docs/ holds a report, but results/reference/ has no run"
        return
    text = report.read_text(encoding="utf-8")
    for run in RUNS:
        assert f"`{run.name}`" in text, f"docs/report/REPORT.md was not rendered from {run.name}"
    headline = text.split("## Headline", 1)[1].split("\n## ", 1)[0]
    for para in _committed_block().split("\n\n"):
        if para.startswith("On "):
            assert para in headline, f"headline not in docs/report/REPORT.md: {para}"
    assert (DOCS / readme.FIGURE).is_file() and (DOCS / "index.html").is_file()


def test_committed_runs_are_real_runs():
    """A synthetic run (runfile.synthetic) is a demo, never a reference result."""
    for run in RUNS:
        assert "Synthetic" not in run.read_text(encoding="utf-8"), f"{run.name} is synthetic"


@pytest.fixture
def synthetic_reference(tmp_path):
    runs = tmp_path / "results" / "reference"
    runs.mkdir(parents=True)
    synthetic.write_run(runs / "cpu-synth.json", synthetic.make_run())
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / readme.FIGURE).write_bytes(b"\x89PNG")
    return tmp_path


def test_block_answer_table_figure_and_sources(synthetic_reference):
    """The synthetic run's costs (``synthetic.COSTS``) give the speedup at 79,510 params in
    closed form; 784-2048-10 is not in the synthetic sweep ("-"); torch-cpu overtakes NumPy
    between the measured sizes that bracket P* = 180,000 (79,510 and 203,530)."""
    text = readme.block(readme.reference_runs(synthetic_reference / "results" / "reference"),
                        synthetic_reference / "docs", synthetic_reference)
    assert text.startswith(readme.START) and text.endswith(readme.END)
    assert '<img src="docs/fig2_speedup.png"' in text
    assert "`results/reference/cpu-synth.json`" in text and "(docs/REPORT.md)" in text
    rows = [line.split(" | ") for line in text.splitlines() if re.match(r"\| .* \| \d \| ", line)]
    assert [r[1] for r in rows] == ["1", "2"]  # a row per thread count
    assert rows[0][0] == "| Synthetic CPU (Synthetic 0/0), OpenBLAS kernel Haswell, 2 cores, " \
                         "1 launch, so no range" and rows[1][0] == "| "
    _, _, a_np, b_np = synthetic.COSTS["numpy"]
    _, _, a_t, b_t = synthetic.COSTS["torch-cpu"]
    p = 79_510
    one, two = rows  # 1 thread: one size only, NumPy 1.6 t and torch 1.8 t (make_run)
    assert one[2:] == [f"{1.6 / 1.8:.2f}x", "-", "- |"]
    shown = float(two[2].rstrip("x"))
    assert shown == pytest.approx((a_np + b_np * p) / (a_t + b_t * p),
                                  abs=0.5 * 10 ** -SPEEDUP_DIGITS), two
    assert two[3] == "-"
    crossover = re.fullmatch(r"from ~([\d.]+)k \|", two[-1])
    assert crossover and 79.5 < float(crossover[1]) < 203.5, two


def test_block_without_runs_says_so(tmp_path):
    text = readme.block([], tmp_path / "docs", tmp_path)
    assert "No reference run is committed yet" in text and "<img" not in text


def test_check_and_write_touch_only_the_block(synthetic_reference, capsys, monkeypatch):
    root = synthetic_reference
    target = root / "README.md"
    target.write_text(f"# top\n\n{readme.START}\nold\n{readme.END}\n\nrest\n", encoding="utf-8")
    args = ["--runs", str(root / "results" / "reference"), "--docs", str(root / "docs"),
            "--readme", str(target)]
    assert readme.main([*args, "--check"]) == 1
    assert "run make docs" in capsys.readouterr().err
    rendered = []
    monkeypatch.setattr(readme, "render_docs", lambda paths, docs: rendered.append(docs))  # fast
    assert readme.main(args) == 0 and rendered == [root / "docs"]
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# top\n\n" + readme.START) and text.endswith(readme.END + "\n\nrest\n")
    assert readme.main([*args, "--check"]) == 0
    target.write_text(text.replace("| 0.", "| 9.", 1), encoding="utf-8")  # a tampered number
    assert readme.main([*args, "--check"]) == 1


@pytest.mark.parametrize("text", ["no markers\n", f"{readme.END}\n{readme.START}\n",
                                  f"{readme.START}\n{readme.END}\n{readme.START}\n"])
def test_bad_markers_are_one_line_and_exit_2(tmp_path, capsys, text):
    target = tmp_path / "README.md"
    target.write_text(text)
    assert readme.main(["--readme", str(target), "--runs", str(tmp_path), "--check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "results:start" in err


def test_no_runs_writes_the_block_and_renders_nothing(tmp_path, capsys):
    target = tmp_path / "README.md"
    target.write_text(f"{readme.START}\n{readme.END}\n")
    assert readme.main(["--readme", str(target), "--runs", str(tmp_path),
                        "--docs", str(tmp_path / "docs")]) == 0
    assert "not rendered (no run)" in capsys.readouterr().out
    assert "No reference run" in target.read_text() and not (tmp_path / "docs").exists()
    with pytest.raises(readme.ReportError, match="no run JSON"):
        readme.render_docs([], tmp_path / "docs")


@pytest.mark.slow
def test_docs_render_is_reproducible(synthetic_reference):
    """Same runs, same bytes: a diff in docs/ means the runs or the code changed."""
    runs = readme.reference_runs(synthetic_reference / "results" / "reference")
    outs = []
    for name in ("a", "b"):
        readme.render_docs(runs, synthetic_reference / name, chapter=False)
        outs.append({p.name: p.read_bytes() for p in (synthetic_reference / name).iterdir()})
    assert outs[0].keys() == outs[1].keys() and "fig2_speedup.svg" in outs[0]
    assert [k for k in outs[0] if outs[0][k] != outs[1][k]] == []


def test_no_speedup_without_numpy(tmp_path):
    """A run without NumPy rows shows no made-up speedup."""
    run = synthetic.write_run(tmp_path / "cpu.json", synthetic.make_run(
        {"torch-cpu": synthetic.COSTS["torch-cpu"]}, extras=False))
    text = readme.block([run], tmp_path / "docs", tmp_path)
    assert "nan" not in text and not re.search(r"\d\.\d\dx", text)
