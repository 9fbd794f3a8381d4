"""pytest-benchmark's own tools keep working on the run JSON our suite writes: the
``pytest-benchmark compare`` command (table and CSV) and ``--benchmark-compare`` against a
run file, beside our report. The run is real but tiny (the ``gpu-dry`` profile's NumPy
float32 steps, 2 rounds each), written by our plugin with its extra keys (``mlp_twins``,
``extra_info``) that pytest-benchmark must ignore."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SELECT = ["bench/bench_step.py", "--benchmark-only", "--profile", "gpu-dry",
          "-k", "test_step and numpy and f32", "-p", "no:cacheprovider", "-q"]
RUN_TIMEOUT_S = 300


def _pytest(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "pytest", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT_S)


@pytest.fixture(scope="module")
def run_json(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("pb") / "run.json"
    done = _pytest(*SELECT, f"--benchmark-json={path}")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    doc = json.loads(path.read_text())
    assert doc["benchmarks"] and "mlp_twins" in doc, "not a run of our suite"
    return path


def _cli() -> str:
    found = shutil.which("pytest-benchmark", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("pytest-benchmark's command is not installed beside this Python")
    return found


def test_pytest_benchmark_compare_reads_our_run(run_json, tmp_path):
    names = [b["name"] for b in json.loads(run_json.read_text())["benchmarks"]]
    done = subprocess.run([_cli(), "compare", str(run_json), "--columns=median,iqr,rounds",
                           f"--csv={tmp_path / 'cmp'}"], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Failed to load" not in done.stderr + done.stdout, done.stderr
    for name in names:
        assert name in done.stdout, f"{name} missing from:\n{done.stdout}"
    with open(tmp_path / "cmp.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["name"].split("::")[-1] for r in rows) == sorted(names)
    assert all(float(r["median"]) > 0 for r in rows)


def test_benchmark_compare_takes_our_run_as_the_baseline(run_json):
    """A second run of the same benchmarks, compared with ours by pytest-benchmark: each
    test shows up twice, as our file's and as NOW."""
    done = _pytest(*SELECT, f"--benchmark-compare={run_json}",
                   "--benchmark-compare-fail=median:1000%", "--benchmark-columns=median")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    assert "Comparing against benchmarks from" in out, out[-3000:]
    names = [b["name"] for b in json.loads(run_json.read_text())["benchmarks"]]
    for name in names:
        assert out.count(name) >= 2, f"{name} not compared:\n{out[-3000:]}"
