"""``--format markdown``: the verdict first, then only the rows beyond noise, then the
within-run torch/NumPy ratios, and nothing else on stdout (``>> $GITHUB_STEP_SUMMARY``)."""

from __future__ import annotations

import json

from gate import compare as cmp
from gate import markdown, verdict
from gate.__main__ import main as gate_main

from .gate_runs import BASE, steps_baseline, steps_doc, steps_run

SLOWED = {"numpy": 0.015, "torch-cpu": 0.008}
NUMPY_ROW = "test_step[numpy-h1024-b256-f32-t1]"
TORCH_ROW = "test_step[torch-cpu-h1024-b256-f32-t1]"


def _render(medians):
    run = steps_run(medians, seed=9)
    rows = cmp.compare(steps_baseline(), run)
    code, lines = verdict.decide(rows, run, unconfirmed_is_regression=True)  # as --no-rerun
    ratios = {k: [v] for k, v in cmp.backend_ratios(run).items()}
    return code, markdown.render(code, lines, rows, ratios, ["now"], ["what was compared"])


def test_a_regression_comes_first_and_only_moved_rows_are_listed():
    code, md = _render(SLOWED)
    assert code == 1
    lines = md.splitlines()
    assert lines[0] == "## :x: mlp-twins performance gate: FAIL"
    assert lines[2].startswith("**FAIL**: 1 regression(s): ") and NUMPY_ROW in lines[2]
    table = [ln for ln in lines if ln.startswith("| `")]
    moved, ratio = table[0], table[-1]
    assert f"`{NUMPY_ROW}`" in moved and "+50.0%" in moved and "**SUSPECT**" in moved
    assert not any(f"`{TORCH_ROW}`" in ln for ln in table[:-1])  # within noise: not listed
    assert "1 row(s) within their noise threshold" in md
    assert md.index("Rows beyond noise") < md.index("Within-run ratios")
    assert ratio.startswith(f"| `{TORCH_ROW}` | 0.5") and ratio.endswith("x |")


def test_a_pass_lists_no_rows_and_says_how_many_were_within_noise():
    code, md = _render(BASE)
    assert code == 0
    assert md.startswith("## :white_check_mark: mlp-twins performance gate: PASS")
    assert "| benchmark |" not in md and "2 row(s) within their noise threshold" in md
    assert "- what was compared" in md


def test_unmeasured_rows_are_listed_with_their_reason():
    rows = [{"name": "a|b", "kind": "benchmark", "verdict": "missing", "reason": "gone"}]
    md = markdown.render(1, ["gate: FAIL: 1 missing"], rows, {}, [])
    assert "| `a\\|b` | | | | | | **MISSING** (gone) |" in md
    assert "Within-run ratios" not in md


def test_check_prints_only_markdown_on_stdout(tmp_path, capsys):
    bl = steps_baseline()
    bl["pytest_args"] = []
    (tmp_path / "bl.json").write_text(json.dumps(bl))
    (tmp_path / "bad.json").write_text(json.dumps(steps_doc(SLOWED, seed=5)))
    args = ["check", "--baseline", str(tmp_path / "bl.json"), "--no-rerun",
            "--run", str(tmp_path / "bad.json")]
    assert gate_main([*args, "--format", "markdown"]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("## :x: mlp-twins performance gate: FAIL"), out
    assert NUMPY_ROW in out.splitlines()[2]
    assert "gate: the run's machine's baseline" in err
    assert "gate: the run's machine's baseline" not in out
    assert gate_main(args) == 1  # text stays the default
    out = capsys.readouterr().out
    assert "benchmark " in out and "gate: FAIL" in out and "## " not in out
