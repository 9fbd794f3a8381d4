"""The GitHub Actions workflow: actionlint finds nothing, and it does what the README says
(tests; on pull requests the A/B gate against the base with its Markdown summary; on main the
report; a venv cache keyed by the Makefile's torch spec and pyproject; artifacts). The
Makefile targets it relies on are checked with ``make -n`` (nothing runs)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def _actionlint():
    found = Path(sys.executable).with_name("actionlint")  # the dev extra's, in this venv
    found = str(found) if found.exists() else shutil.which("actionlint")
    if found is None:
        pytest.skip("actionlint is not installed (pip install -e '.[dev]')")
    return found


def _make(*args) -> str:
    if shutil.which("make") is None:
        pytest.skip("needs make")
    return subprocess.run(["make", "-s", "-C", str(ROOT), *args], check=True,
                          capture_output=True, text=True).stdout


def test_actionlint_finds_nothing():
    proc = subprocess.run([_actionlint(), "-no-color"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ".github/workflows/ci.yml" not in proc.stdout


def _step(text: str, name: str) -> str:
    """The text of the step named ``name`` (up to the next step)."""
    start = text.index(f"- name: {name}")
    end = text.find("\n      - ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def test_pull_requests_run_the_ab_gate_with_a_markdown_summary():
    text = WORKFLOW.read_text()
    assert "\n  pull_request:" in text and "branches: [main]" in text
    assert "fetch-depth: 0" in text  # the base commit must be there to check out
    ab = _step(text, "Performance A/B against the PR's base")
    assert "if: github.event_name == 'pull_request'" in ab
    assert "BASE_SHA: ${{ github.event.pull_request.base.sha }}" in ab
    assert 'check-perf BASE="$BASE_SHA" GATE_FORMAT=markdown' in ab
    assert '>> "$GITHUB_STEP_SUMMARY"' in ab
    assert text.index("run: make test") < text.index("- name: Performance A/B")
    assert "run: make lint" in text
    report = _step(text, "Benchmark report")
    assert "github.event_name == 'push'" in report and "run: make report" in report
    assert "reports/out/" in _step(text, "Upload the report and its runs")
    assert "/ab/*.json" in _step(text, "Upload the A/B runs")


def test_venv_cache_is_keyed_by_torch_spec_and_pyproject():
    text = WORKFLOW.read_text()
    assert "make -s torch-spec" in _step(text, "Venv cache key (torch spec, pyproject)")
    assert "path: .venv" in text
    assert "${{ steps.key.outputs.torch }}-${{ hashFiles('pyproject.toml') }}" in text
    assert _make("torch-spec", "TORCH_SPEC=torch==9.9 --index-url X").strip() == \
        "torch==9.9 --index-url X"


def test_check_perf_runs_ab_with_base_and_the_baseline_check_without():
    ab = _make("-n", "check-perf", "BASE=HEAD~1", "GATE_KEEP=k", "VENV=.no-venv")
    ab = " ".join(ab.replace("\\\n", " ").split())  # one line, continuations joined
    assert '-m gate ab --base "HEAD~1" --format text --keep "k"' in ab
    plain = _make("-n", "check-perf", "VENV=.no-venv")
    assert "-m gate check" in plain and "gate ab" not in plain


def test_ci_runs_tests_lint_and_the_gate():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert [ln for ln in lines if ln.startswith("make ")] == [
        "make test", "make lint", "make check-perf"]
    assert "actionlint" in _make("-n", "lint", "VENV=.no-venv")
