"""The prepared GPU run (``bench/gpu/run.py``) on this CPU machine: ``--dry`` runs every
stage but CUDA and packs what must come back; the ``gpu`` profile fits its time; the parts
that keep a run from hanging or losing its files work; the fair-timing pieces hold."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import impl_numpy
import impl_torch
from bench.backends import Case
from bench.backends.torch_backend import TorchRunner
from bench.gpu import plan as gpu_plan
from bench.gpu import run as gpu_run
from bench.measure.precision import matmul_precision, tf32, tf32_enabled
from bench.suite import grid
from core.init import random_batch
from runfile import load
from runfile.schema import MACHINE_KEYS

ROOT = Path(__file__).resolve().parent.parent
DRY_TIMEOUT_S = 180  # ~50 s on 2 shared cores; the subprocess is killed past this
STEP_RTOL = {"float64": 1e-12, "float32": 1e-6}  # checked_step vs train_step: same ops


@pytest.fixture(scope="module")
def dry(tmp_path_factory):
    """``(completed process, OUT_DIR)`` of one ``bench/gpu/run.py OUT --dry``."""
    out = tmp_path_factory.mktemp("gpu") / "out"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu" / "run.py"), str(out),
                           "--dry"], capture_output=True, text=True, timeout=DRY_TIMEOUT_S,
                          cwd=ROOT)
    return proc, out


def test_dry_run_passes_every_stage(dry):
    proc, out = dry
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert [s["stage"] for s in summary["stages"]] == ["env", "tests", "sweep", "report"]
    assert {s["status"] for s in summary["stages"]} == {"ok"}, summary["stages"]
    assert proc.stdout.strip().splitlines()[-1].startswith("gpu_run: OK (dry)")


def test_dry_run_packs_at_most_8_small_files(dry):
    _, out = dry
    files = sorted(p.name for p in out.iterdir())
    assert len(files) <= gpu_run.MAX_FILES
    assert set(files) == set(gpu_run.FILES)
    assert all((out / f).is_file() and 0 < (out / f).stat().st_size <= gpu_run.MAX_BYTES
               for f in files)


def test_dry_run_json_is_a_valid_run_with_the_cuda_rows_skipped(dry):
    run = load(dry[1] / "run.json")  # the report's and the gate's own reader
    assert set(MACHINE_KEYS) <= set(run.twins)
    assert run.twins["profile"] == "gpu-dry"
    backends = {b["extra_info"]["backend"] for b in run.benchmarks}
    assert backends == {"numpy", "torch-cpu"}
    assert {b["extra_info"]["group"] for b in run.benchmarks} == {"step", "forward"}
    cuda = [m for m in run.missing if "cuda" in m["test"]]
    assert cuda and all("CUDA is not available" in m["reason"] for m in cuda)
    assert len(run.missing) == len(cuda)  # nothing else is missing


def test_dry_run_keeps_the_facts_the_logs_and_the_report(dry):
    _, out = dry
    env = json.loads((out / "env.json").read_text())
    assert env["warnings_as_errors"] == "ok"
    assert env["facts"]["step_probe"].startswith("skipped: CUDA is not available")
    assert env["facts"]["tf32_switch"] == {"on": True, "off": False, "after": False}
    assert env["facts"]["sweep_estimate"]["profile"] == "gpu-dry"
    assert "SKIPPED" in (out / "tests.log").read_text()  # the CUDA tests, with the reason
    assert "CUDA not available" in (out / "tests.log").read_text()
    assert "# " in (out / "REPORT.md").read_text()
    with tarfile.open(out / "report.tar.gz") as tar:
        assert "report/REPORT.md" in tar.getnames()


def test_gpu_profile_spans_the_card_and_fits_its_minutes():
    prof = grid.profile("gpu")
    pts = gpu_plan.points(prof)
    assert {p[1] for p in pts} == set(gpu_plan.SWEEP_BACKENDS)
    assert ("step", "torch-cuda", (784, 16384, 10), 4096, "float64") in pts
    assert any(len(p[2]) >= 10 for p in pts if p[1] == "torch-cuda-tf32")  # 8 hidden layers
    assert {p[3] for p in pts if p[1] in ("numpy", "torch-cpu")} == {256}
    assert {p[3] for p in pts if p[1] == "torch-cuda"} == {256, 1024, 4096}
    assert gpu_plan.estimate(prof)["seconds"] <= gpu_plan.SWEEP_BUDGET_S
    total = sum(gpu_run.STAGE_TIMEOUT_S.values())
    assert gpu_run.DEFAULT_BUDGET_S < total  # the budget, not the sum, bounds the run


def test_a_stage_past_its_time_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_run, "MIN_STAGE_S", 0.5)
    t0 = time.monotonic()
    result = gpu_run.run_stage("sleep", [sys.executable, "-c", "import time; time.sleep(60)"],
                               1.0, tmp_path / "log", None)
    assert result["status"].startswith("timed out after 1 s")
    assert time.monotonic() - t0 < 20
    skipped = gpu_run.run_stage("late", ["true"], 0.4, tmp_path / "l2", None)
    assert skipped["status"] == "skipped: no time left"


def test_packing_gzips_a_large_json_and_cuts_a_large_log(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_run, "MAX_BYTES", 4000)
    monkeypatch.setattr(gpu_run, "LOG_TAIL_BYTES", 1000)
    src = tmp_path / "big.json"
    src.write_text(json.dumps({"benchmarks": [0.125] * 2000}))
    packed = gpu_run.fit(src, tmp_path / "run.json")
    assert packed.name == "run.json.gz" and packed.stat().st_size <= 4000
    assert json.loads(gzip.decompress(packed.read_bytes())) == json.loads(src.read_text())
    log = tmp_path / "big.log"
    log.write_text("head\n" + "x" * 10000 + "\ntail\n")
    cut = gpu_run.fit(log, tmp_path / "sweep.log")
    text = cut.read_text()
    assert cut.stat().st_size <= 4000 and text.startswith("head") and text.endswith("tail\n")


def test_bad_out_dir_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "x").write_text("taken")
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu" / "run.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "not an empty folder" in proc.stderr


# ------------------------------------------------------------ fair timing, on the CPU
def test_tf32_is_restored_and_readers_never_raise():
    before = tf32_enabled()
    with tf32(True):
        assert tf32_enabled() is True
    assert tf32_enabled() == before
    with pytest.raises(ZeroDivisionError), tf32(True):
        raise ZeroDivisionError
    assert tf32_enabled() == before
    matmul = torch.backends.cuda.matmul
    old = matmul.fp32_precision
    try:
        matmul.fp32_precision = "tf32"  # a mixed legacy/new state makes torch's own read raise
        assert matmul_precision() in (None, "high", "highest", "medium")
    finally:
        matmul.fp32_precision = old


def test_a_failed_runner_set_up_leaves_tf32_as_it_was(monkeypatch):
    before = tf32_enabled()

    def broken(*args, **kwargs):
        raise RuntimeError("set-up fails")

    monkeypatch.setattr(impl_torch, "SGD", broken)
    with pytest.raises(RuntimeError, match="set-up fails"):
        TorchRunner(Case((4, 3, 2), 2, "float32", 1), "cpu", tf32_on=True)
    assert tf32_enabled() == before


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("tw", [impl_numpy, impl_torch], ids=["numpy", "torch"])
def test_checked_step_is_train_step_without_the_checks(tw, dtype):
    X, y = random_batch(np.random.default_rng(0), 16, 6, 3, dtype)
    a, b = tw.MLP([6, 5, 3], dtype=dtype), tw.MLP([6, 5, 3], dtype=dtype)
    oa, ob = tw.SGD(a.params, lr=0.1), tw.SGD(b.params, lr=0.1)
    Xc, yc = b.check_batch(X, y)
    for _ in range(3):
        la = tw.train_step(a, oa, X, y)
        lb = tw.checked_step(b, ob, Xc, yc)
        assert la == pytest.approx(float(lb), rel=STEP_RTOL[dtype])
    if tw is impl_torch:
        assert isinstance(lb, torch.Tensor) and lb.ndim == 0 and not lb.requires_grad
    for pa, pb in zip(a.params, b.params):
        np.testing.assert_allclose(np.asarray(pa.detach() if tw is impl_torch else pa),
                                   np.asarray(pb.detach() if tw is impl_torch else pb),
                                   rtol=STEP_RTOL[dtype])
