"""Which machine measured a number: the fingerprint that decides what may be compared.

    from gate import machine
    fp = machine.fingerprint(run.twins)       # from a run's machine_info.mlp_twins
    here = machine.this_machine()             # the same, for the machine running this
    machine.machine_id(fp)                    # "intel-xeon-processor-2c-1a2b3c4d"
    found = machine.own_baseline(fp, machine.BASELINES)  # its baseline file, or None

Times measured on one CPU say nothing about another: a step/probe ratio of the same code
moved by 17-135% between a 2-core AMD EPYC and a 2-core Intel Xeon VM (relative times do
not carry over, nor do calibration-normalised ones). So the gate judges numbers only
against numbers of the same machine. Two machines are the same when everything that decides
which kernels run, and how fast, is the same (``FINGERPRINT_KEYS``):

* the CPU: model string, vendor family/model, the features that select BLAS kernels
  (``bench.measure.environment.KERNEL_FLAGS``) and the usable cores;
* the software: Python, NumPy and torch versions; each BLAS library's version and the kernel
  it chose (threadpoolctl's ``architecture``: OpenBLAS's "SkylakeX", "SapphireRapids", ...);
  torch's MKL and oneDNN versions (from ``torch.__config__``);
* the GPU's name (None without one).

A fingerprint with any of the CPU and software facts unknown is *incomplete*: it never
equals another (a run that does not say where it ran cannot be judged against anything).
The baselines of several machines live side by side in ``gate/baselines/``, one file per
machine, named by ``machine_id``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

BASELINES = Path(__file__).with_name("baselines")
FINGERPRINT_KEYS = ("cpu_model", "cpu_id", "cpu_flags", "cores", "python", "numpy", "torch",
                    "blas", "torch_kernels", "gpu")
REQUIRED = ("cpu_model", "cpu_id", "cpu_flags", "cores", "python", "numpy", "torch", "blas")
FACTS_TIMEOUT_S = 120  # importing torch and reading the facts takes a few seconds
TORCH_KERNEL_LINES = ("Math Kernel Library", "MKL-DNN", "oneDNN")  # in torch_config
BLAS_FACTS = ("internal_api", "version", "architecture")  # of each threadpoolctl BLAS pool
KERNEL_NAMED_BY = ("openblas", "blis")  # threadpoolctl gives an architecture only for these
BLAS_LIBS = ("openblas", "blis", "mkl", "flexiblas")  # threadpoolctl's internal_api names
POOL_KINDS = ("blas", "openmp")  # threadpoolctl's user_api names


def _word(v) -> bool:
    return isinstance(v, str) and v.strip() != ""


def blas_names(pools) -> list:
    """``["openblas 0.3.30 Haswell", ...]`` for threadpoolctl's pools, or [] (unknown) when
    any pool is not one threadpoolctl writes: not an object, of another kind than "blas" or
    "openmp", a BLAS pool of an unknown library (exactly as threadpoolctl names it), without
    its version, or (OpenBLAS, BLIS) without its kernel. MKL and FlexiBLAS pools have no
    architecture in threadpoolctl."""
    if not isinstance(pools, list):
        return []
    names = set()
    for p in pools:
        if not isinstance(p, dict) or p.get("user_api") not in POOL_KINDS:
            return []
        if p["user_api"] != "blas":
            continue
        lib, ver, arch = (p.get(k) for k in BLAS_FACTS)
        if lib not in BLAS_LIBS or not _word(ver) \
                or (lib in KERNEL_NAMED_BY and not _word(arch)):
            return []
        if arch is not None and not _word(arch):
            return []
        names.add(f"{lib} {ver} {arch}")
    return sorted(names)


def fingerprint(twins: dict) -> dict:
    """The comparability fingerprint of a run's (or a baseline's) ``mlp_twins`` machine
    info; facts it lacks are None (BLAS: an empty list)."""
    fp = {k: twins.get(k) for k in ("cpu_model", "cpu_id", "cores", "python", "numpy",
                                    "torch")}
    flags = twins.get("cpu_flags")
    fp["cpu_flags"] = sorted(flags) if isinstance(flags, list) else None
    fp["blas"] = blas_names(twins.get("blas"))
    fp["torch_kernels"] = sorted(line for line in twins.get("torch_config") or []
                                 if isinstance(line, str)
                                 and any(k in line for k in TORCH_KERNEL_LINES))
    fp["gpu"] = (twins.get("gpu") or {}).get("name")
    return {k: fp[k] for k in FINGERPRINT_KEYS}


def unknown(fp: dict) -> list:
    """The facts an incomplete fingerprint lacks ([] when complete)."""
    return [k for k in REQUIRED if fp.get(k) in (None, [], "")]


def same(a: dict, b: dict) -> bool:
    """One machine: complete fingerprints, equal in every key."""
    return not unknown(a) and not unknown(b) and \
        all(a.get(k) == b.get(k) for k in FINGERPRINT_KEYS)


def differences(a: dict, b: dict) -> list:
    """The keys where two fingerprints differ, or are unknown in either."""
    return [k for k in FINGERPRINT_KEYS
            if a.get(k) != b.get(k) or k in unknown(a) or k in unknown(b)]


def machine_id(fp: dict) -> str:
    """A file-name-safe name: the CPU model in words, the cores, a hash of the whole
    fingerprint (so that two machines differing in anything get two files)."""
    words = re.sub(r"\((r|tm|c)\)|\bcpu\b|@.*$", " ", str(fp.get("cpu_model") or "unknown cpu"),
                   flags=re.I)
    slug = "-".join(re.findall(r"[a-z0-9]+", words.lower()))[:40].strip("-") or "cpu"
    digest = hashlib.sha256(json.dumps(fp, sort_keys=True).encode()).hexdigest()[:8]
    return f"{slug}-{fp.get('cores')}c-{digest}"


def label(fp: dict) -> str:
    """The machine in words, for one-line messages."""
    gpu = f", {fp['gpu']}" if fp.get("gpu") else ""
    kernel = sorted({b.rsplit(" ", 1)[-1] for b in fp.get("blas") or []})
    return (f"{fp.get('cpu_model') or 'unknown CPU'} ({fp.get('cpu_id') or 'id unknown'}, "
            f"{fp.get('cores')} cores, OpenBLAS kernel {'/'.join(kernel) or 'unknown'}"
            f"{gpu}; numpy {fp.get('numpy')}, torch {fp.get('torch')})")


def this_machine() -> dict:
    """This machine's fingerprint, as a benchmark run here records it
    (``bench.measure.environment``), read in a short child process: the GPU facts start a
    CUDA context, which must not stay open in the gate's process beside the benchmarks it runs."""
    code = ("import json; from bench.measure.environment import environment; "
            "print(json.dumps(environment()))")
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=FACTS_TIMEOUT_S)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        raise RuntimeError(f"reading this machine's facts failed: {last}")
    return fingerprint(json.loads(proc.stdout.strip().splitlines()[-1]))


def baselines(folder: Path = BASELINES) -> list:
    """The committed baseline files, sorted by name."""
    folder = Path(folder)
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def own_baseline(fp: dict, docs: dict) -> Path | None:
    """The baseline (of ``{path: document}``) whose machine is ``fp``'s, else None."""
    return next((p for p, doc in sorted(docs.items()) if same(doc["fingerprint"], fp)), None)
