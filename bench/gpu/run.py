"""The prepared GPU run: the CUDA tests, the GPU sweep and the report, packed into few files.

    python3 bench/gpu/run.py OUT_DIR [--dry] [--budget SECONDS]

For the card machine: its own ``python3`` (torch, numpy, pytest, pytest-benchmark, pandas,
matplotlib, scikit-learn, scipy, threadpoolctl installed; no venv, no pip, no network); the
checkout is put on ``PYTHONPATH`` here, for every stage. Each stage is a child process with
its own timeout, cut to what is left of ``--budget``; a stage past its time gets SIGINT
first (pytest then still writes the run's JSON), then SIGTERM, then SIGKILL:

1. ``env``    ``python3 -W error -m bench.gpu.facts gpu``: versions, card, driver, CUDA,
              cuBLAS, the TF32 switch, the host syncs (must be 0) and kernels of one timed
              step, the sweep's estimated cost; plus ``nvidia-smi -q -d CLOCK,POWER,...``
2. ``tests``  the CUDA tests (``tests -m cuda``): CUDA = CPU twin after k steps (float64 to
              1e-9, float32 to 1e-4, TF32 off), and the sync-debug test of the timed calls
3. ``sweep``  ``bench/bench_step.py`` (step and forward) in the ``gpu`` profile for numpy,
              torch-cpu, torch-cuda and torch-cuda-tf32, one run JSON
4. ``report`` ``python -m reports`` on that JSON

Whatever happens, OUT_DIR then gets at most ``MAX_FILES`` files of at most ``MAX_BYTES``
each (``FILES``): the run JSON (gzipped if too large), the report as a tarball and its
REPORT.md, the facts, one log per stage, and ``summary.json`` (stages, times, headline
speedups); the last line on stdout sums it up. ``--dry`` is the same on a CPU machine with
the ``gpu-dry`` profile: tiny sizes, the CUDA backends and tests skipped with their reasons
(``tests/test_gpu_dry.py`` runs it). Exit status: 0 all stages passed, 1 a stage failed or
timed out, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository (this is bench/gpu/run.py)
if str(ROOT) not in sys.path:  # run as a script, by the card machine's own python
    sys.path.insert(0, str(ROOT))
from core import cli  # noqa: E402  (stdlib only: needs nothing the card machine lacks)

MAX_FILES, MAX_BYTES = 8, 16 * 2**20
FILES = ("summary.json", "env.json", "tests.log", "sweep.log", "report.log", "run.json",
         "report.tar.gz", "REPORT.md")  # run.json may become run.json.gz
STAGE_TIMEOUT_S = {"env": 90, "tests": 120, "sweep": 330, "report": 120}
DEFAULT_BUDGET_S = 420  # the whole run; leaves room for a rerun in 15 device minutes
PACK_RESERVE_S = 15  # kept back from the stages for packing
MIN_STAGE_S = 10  # a stage with less time left is skipped, not started
GRACE_S = {signal.SIGINT: 30, signal.SIGTERM: 5, signal.SIGKILL: 5}
BACKENDS = "numpy,torch-cpu,torch-cuda,torch-cuda-tf32"
LOG_TAIL_BYTES = 4 * 2**20  # a log over MAX_BYTES keeps its head and this much of its tail


def stop(proc) -> int | None:
    """Stop ``proc``'s process group: SIGINT, SIGTERM, SIGKILL, each given its grace."""
    for sig, grace in GRACE_S.items():
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            return proc.wait(grace)
        except subprocess.TimeoutExpired:
            continue
    return proc.poll()


def run_stage(name, argv, timeout, log: Path, env) -> dict:
    """Run ``argv`` from the checkout, output to ``log``; never longer than ``timeout``."""
    t0 = time.monotonic()
    if timeout < MIN_STAGE_S:
        log.write_text(f"{name}: not started, {timeout:.0f} s of the budget left\n")
        return {"stage": name, "status": "skipped: no time left", "seconds": 0.0}
    with open(log, "w") as out:
        out.write("$ " + " ".join(argv) + "\n")
        out.flush()
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            rc = proc.wait(timeout)
            status = "ok" if rc == 0 else f"failed (exit {rc})"
        except subprocess.TimeoutExpired:
            rc = stop(proc)
            status = f"timed out after {timeout:.0f} s (exit {rc})"
    return {"stage": name, "status": status, "seconds": round(time.monotonic() - t0, 1),
            "timeout_s": round(timeout)}


def smi_text() -> str:
    try:
        return subprocess.run(["nvidia-smi", "-q", "-d", "CLOCK,POWER,PERFORMANCE,MEMORY"],
                              capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError) as e:
        return f"nvidia-smi not run: {e}"


def headline(doc) -> dict:
    """(From the sweep's own JSON, parsed with the standard library, not runfile: this summary
    must come out even when the run is incomplete, and the full report is the report stage's.)
    Counts, and the float32 step speedups over numpy at numpy's smallest batch (256 in
    the gpu profile) at the headline MLP's size (784-100-10) and the largest width: from the
    run JSON alone."""
    benches = [b for b in doc.get("benchmarks", []) if isinstance(b.get("extra_info"), dict)]
    steps = [(b["extra_info"], b["stats"]["median"]) for b in benches
             if b["extra_info"].get("group") == "step"
             and b["extra_info"].get("dtype") == "float32"]
    batch = min((e["batch"] for e, _ in steps if e["backend"] == "numpy"), default=None)
    med = {(e["backend"], tuple(e["layer_sizes"])): t for e, t in steps if e["batch"] == batch}
    widths = sorted({s for _, s in med if len(s) == 3}, key=lambda s: s[1])
    picks = {(784, 100, 10), *widths[-1:]}
    speedups = {f"{b} {'-'.join(map(str, s))}": round(med[("numpy", s)] / t, 2)
                for (b, s), t in sorted(med.items())
                if b != "numpy" and s in picks and ("numpy", s) in med}
    twins = doc.get("mlp_twins") or {}
    gpu = ((doc.get("machine_info") or {}).get("mlp_twins") or {}).get("gpu") or {}
    return {"benchmarks": len(benches), "missing": len(twins.get("missing") or []),
            "card": gpu.get("name"), "speedup_batch": batch, "speedup_vs_numpy_f32": speedups}


def fit(src: Path, dst: Path) -> Path | None:
    """Copy ``src`` to ``dst`` within ``MAX_BYTES``: a large log keeps its head and tail,
    a large JSON is gzipped (``dst`` + ``.gz``)."""
    if not src.exists():
        return None
    size = src.stat().st_size
    if size <= MAX_BYTES:
        shutil.copyfile(src, dst)
        return dst
    if dst.suffix == ".json":
        gz = dst.with_name(dst.name + ".gz")
        with open(src, "rb") as f, gzip.open(gz, "wb") as g:
            shutil.copyfileobj(f, g)
        return gz if gz.stat().st_size <= MAX_BYTES else (gz.unlink() or None)
    with open(src, "rb") as f, open(dst, "wb") as g:
        g.write(f.read(MAX_BYTES - LOG_TAIL_BYTES - 200))
        g.write(f"\n[... {size - MAX_BYTES + 200} bytes cut ...]\n".encode())
        f.seek(size - LOG_TAIL_BYTES)
        g.write(f.read())
    return dst


def tar_report(report: Path, dst: Path) -> Path | None:
    """The report folder as a tarball; without its SVGs and HTML if it is too large."""
    if not (report / "REPORT.md").exists():
        return None
    for skip in ((), (".svg", ".html")):
        with tarfile.open(dst, "w:gz") as tar:
            for f in sorted(report.rglob("*")):
                if f.is_file() and f.suffix not in skip:
                    tar.add(f, arcname=f"report/{f.relative_to(report)}")
        if dst.stat().st_size <= MAX_BYTES:
            return dst
    dst.unlink()
    return None


def pack(work: Path, out: Path, summary: dict) -> list:
    """Fill ``out`` with the files that come back; returns their names."""
    sources = {n: work / n for n in FILES if n not in ("summary.json", "report.tar.gz")}
    sources["REPORT.md"] = work / "report" / "REPORT.md"
    made = [fit(src, out / n) for n, src in sources.items()]
    made.append(tar_report(work / "report", out / "report.tar.gz"))
    run = work / "run.json"
    try:
        summary["headline"] = headline(json.loads(run.read_text())) if run.exists() else None
    except (OSError, ValueError, KeyError, TypeError) as e:
        summary["headline"] = f"run JSON unreadable: {type(e).__name__}: {e}"
    names = sorted(p.name for p in made if p is not None) + ["summary.json"]
    summary["files"] = {n: (out / n).stat().st_size if n != "summary.json" else None
                        for n in names}
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    assert len(names) <= MAX_FILES, names
    return names


def stages(dry: bool, work: Path):
    """``(name, argv, log)`` of each stage, in order."""
    py = sys.executable
    profile = "gpu-dry" if dry else "gpu"
    pytest = [py, "-m", "pytest", "-p", "no:cacheprovider", "-ra", "-q"]
    return [
        ("env", [py, "-W", "error", "-m", "bench.gpu.facts", profile], work / "env.out"),
        ("tests", [*pytest, "tests", "-m", "cuda"], work / "tests.log"),
        ("sweep", [*pytest, "bench/bench_step.py", "--benchmark-only", "--profile", profile,
                   "--backends", BACKENDS, "-k", "test_step or test_forward",
                   "--benchmark-columns=median,iqr,rounds",
                   f"--benchmark-json={work / 'run.json'}"], work / "sweep.log"),
        ("report", [py, "-m", "reports", str(work / "run.json"), "--out",
                    str(work / "report"), "--no-chapter"], work / "report.log"),
    ]


def env_json(work: Path, result: dict) -> None:
    """env.json: the facts (or the failure's output), the stage's status, nvidia-smi."""
    text = (work / "env.out").read_text(errors="replace") if (work / "env.out").exists() else ""
    body = text.split("\n", 1)[1] if text.startswith("$ ") else text
    try:
        facts = json.loads(body)
    except ValueError:
        facts = {"error": body[-20000:]}
    doc = {"warnings_as_errors": result["status"], "facts": facts, "nvidia_smi": smi_text()}
    (work / "env.json").write_text(json.dumps(doc, indent=1, default=str))


def empty_or_new_folder(text: str) -> Path:
    """``OUT_DIR``: a new folder, or an empty one."""
    out = Path(text)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise argparse.ArgumentTypeError(f"{out} exists and is not an empty folder")
    return out


def budget_seconds(text: str) -> float:
    """``--budget``: enough for packing and one stage."""
    value = cli.positive_float(text)
    if value < PACK_RESERVE_S + MIN_STAGE_S:
        raise argparse.ArgumentTypeError(f"{value:g} s is too short (at least "
                                         f"{PACK_RESERVE_S + MIN_STAGE_S} s)")
    return value


def main(argv=None) -> int:
    p = cli.Parser(prog="python3 bench/gpu/run.py", description=__doc__,
                   formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=empty_or_new_folder, metavar="OUT_DIR",
                   help="empty or new folder for results")
    p.add_argument("--dry", action="store_true", help="the gpu-dry profile, for a CPU machine")
    p.add_argument("--budget", type=budget_seconds, default=DEFAULT_BUDGET_S, metavar="SECONDS",
                   help=f"the whole run's time limit (default {DEFAULT_BUDGET_S})")
    args = p.parse_args(argv)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + args.budget - PACK_RESERVE_S
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}
    summary = {"dry": args.dry, "host": socket.gethostname(), "python": sys.version.split()[0],
               "budget_s": args.budget, "stages": []}
    work = Path(tempfile.mkdtemp(prefix="gpu_run-"))
    try:
        for name, cmd, log in stages(args.dry, work):
            timeout = min(STAGE_TIMEOUT_S[name], deadline - time.monotonic())
            if name == "report" and not (work / "run.json").exists():
                result = {"stage": name, "status": "skipped: the sweep wrote no run JSON",
                          "seconds": 0.0}
            else:
                result = run_stage(name, cmd, timeout, log, env)
            summary["stages"].append(result)
            print(f"gpu_run: {name}: {result['status']} ({result['seconds']} s)", flush=True)
            if name == "env":
                if result["status"].startswith("failed"):  # a warning as error? facts anyway
                    cmd = [c for c in cmd if c not in ("-W", "error")]
                    timeout = min(STAGE_TIMEOUT_S[name], deadline - time.monotonic())
                    run_stage(name, cmd, timeout, log, env)
                env_json(work, result)
    finally:
        names = pack(work, out, summary)
        shutil.rmtree(work, ignore_errors=True)
    ok = all(s["status"] == "ok" for s in summary["stages"])
    h = summary.get("headline") if isinstance(summary.get("headline"), dict) else {}
    print(f"gpu_run: {'OK' if ok else 'INCOMPLETE'}{' (dry)' if args.dry else ''} | "
          f"card {h.get('card')} | {h.get('benchmarks', 0)} benchmarks, {h.get('missing', '?')} "
          f"missing | f32 step speedup over numpy at batch {h.get('speedup_batch')}: "
          f"{h.get('speedup_vs_numpy_f32')}"
          f" | {len(names)} files in {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
