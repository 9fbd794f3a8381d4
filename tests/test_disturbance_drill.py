"""The disturbance drill on real timings (opt-in: ``make drill``, marker ``timing``).

A short real sweep (four step benchmarks) runs in a pytest subprocess; as soon as it has
calibrated, a bounded CPU hog starts beside it: ``HOG_PROCESSES`` busy loops, outside
the sweep's process tree, each stopping by itself after ``HOG_S`` seconds. The benchmark
the hog overlapped must be flagged (its evidence printed, re-measured), and the
benchmarks measured after the hog ended must come out clean. Run it on an otherwise quiet
machine (load average well under 1): other load is disturbance too, and is flagged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.timing

ROOT = Path(__file__).parents[1]
SELECT = "test_step and (numpy-h100-b256-f32 or numpy-h512-b256-f32)"  # t1 and t2 of each
HOG_PROCESSES = 2  # one per core of the 2-core machine
HOG_S = 1.5  # each hog's lifetime: about one benchmark and its first re-run
SWEEP_TIMEOUT_S = 300
HOG = "import time\nend = time.monotonic() + {s}\nwhile time.monotonic() < end:\n    pass\n"


def test_a_cpu_hog_is_flagged_and_the_rows_after_it_are_clean(tmp_path):
    out = tmp_path / "drill.json"
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    env["PYTHONUNBUFFERED"] = "1"  # lines as they happen: the hog starts on one
    sweep = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--benchmark-only",
         "--benchmark-json", str(out), "-k", SELECT, "bench/bench_step.py"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    hogs, lines, hog_end = [], [], None
    try:
        for line in sweep.stdout:
            lines.append(line)
            if hog_end is None and line.startswith("mlp-twins: calibrated in"):
                hogs = [subprocess.Popen([sys.executable, "-c", HOG.format(s=HOG_S)])
                        for _ in range(HOG_PROCESSES)]
                hog_end = time.monotonic() + HOG_S
        sweep.wait(timeout=SWEEP_TIMEOUT_S)
    finally:
        for p in [sweep, *hogs]:
            if p.poll() is None:
                p.kill()
            p.wait()
        sweep.stdout.close()
    output = "".join(lines)
    assert hog_end is not None, f"the sweep never calibrated:\n{output}"
    rows = json.loads(out.read_text())["benchmarks"]
    first = rows[0]
    assert first["extra_info"]["reruns"] >= 1, output  # overlapped by the hog: flagged
    assert f"{first['fullname']} disturbed (other processes used" in output
    for row in rows[1:]:  # measured after the hog had stopped
        assert row["extra_info"]["reruns"] == 0 and not row["extra_info"]["disturbed"], (
            row["name"], row["extra_info"]["busy_other"], row["extra_info"]["disturbance"],
            output)
    assert not first["extra_info"]["disturbed"], output  # re-measured after the hog ended
