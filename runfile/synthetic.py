"""Synthetic runs with known answers, in the shape of ``runfile/schema.py``, for tests and demos.

    python -m runfile.synthetic results/demo.json && python -m reports results/demo.json

The one builder of synthetic runs: ``entry`` makes one benchmark entry, ``run_doc`` wraps
entries in a whole run (machine info, calibration, missing list), ``make_run`` is the
report's grid. In ``make_run`` every step time is exactly ``a + b * n_params`` per backend
(no noise), so the fitted cost model, the speedups and the predicted crossover are known in
closed form. The gate's tests pass their own noisy samples (``data``) and names.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from core import cli
from core.flops import step_flops
from core.spec import HEADLINE_SIZES, n_params
from runfile.read import RunFileError
from runfile.schema import SCHEMA_VERSION, SUITE
from runfile.write import write_json

HIDDEN = (16, 64, 100, 256, 1024, 4096)  # 784-h-10; h = 100 is the headline MLP's 79,510 params
# backend -> (lib, device, a seconds, b seconds per parameter)
COSTS = {
    "numpy": ("numpy", "cpu", 20e-6, 2e-9),
    "torch-cpu": ("torch", "cpu", 200e-6, 1e-9),  # overtakes NumPy at P* = 180,000
}
GEMM = {"numpy": 150.0, "torch": 300.0}  # calibrated GFLOP/s, cpu float32, all threads
NOISY_IQR = 0.2  # IQR / median of the one deliberately high-variance cell
QUIET_IQR = 0.02
# the disturbance evidence of a record measured on a quiet machine; ``quality=None`` in
# ``entry`` leaves it out, as in runs older than the evidence
QUIET = {"busy_other": 0.01, "disturbance": 1.0, "disturbed": False, "reruns": 0}


def entry(group, backend, lib, device, layer_sizes, batch, median, *, dtype="float32",
           threads=2, world_size=1, iqr=None, data=None, name=None, quality=QUIET, **extra):
    """One pytest-benchmark entry whose extra_info follows the schema. ``data``: the raw
    per-round seconds (default: the median, 20 rounds); ``name``: the benchmark's name;
    ``quality``: the disturbance evidence (``QUIET``; ``disturb`` marks a record disturbed).
    The statistics agree with ``data`` (``runfile/check.py`` checks it): given ``data``, it is
    scaled to have ``median`` as its median, and its quartiles and IQR replace ``iqr`` (and,
    with ``probe_data``, ``relative`` is the median of round / probe); else 20 rounds spread
    evenly from ``median - iqr`` to ``median + iqr``, around ``median``."""
    iqr = QUIET_IQR * median if iqr is None else iqr
    if data is None:
        data = [median + iqr * (2 * i - 19) / 19 for i in range(20)]
        q1, q3 = median - iqr / 2, median + iqr / 2
    else:
        scale = median / statistics.median(data)
        data = [float(x) * scale for x in data]
        median = statistics.median(data)
        ordered = sorted(data)
        half = len(ordered) // 2
        q1 = statistics.median(ordered[:max(half, 1)])
        q3 = statistics.median(ordered[-max(half, 1):])
        iqr = q3 - q1
    info = {"suite": SUITE, "schema": SCHEMA_VERSION, "group": group, "backend": backend,
            "lib": lib, "device": device, "dtype": dtype, "threads": threads,
            "world_size": world_size, "batch": batch, "layer_sizes": list(layer_sizes),
            "n_params": n_params(layer_sizes) if layer_sizes else 0,
            "flops": step_flops(layer_sizes, batch) if layer_sizes else 0, "bytes": 0,
            "samples_per_s": batch / median, "peak_mem_bytes": None, "pipeline": None,
            "input_s": None, "activation": None, "variant": None, **(quality or {})}
    info.update(extra)
    if info.get("probe_data") is not None:
        info["relative"] = statistics.median(t / p for t, p in zip(data, info["probe_data"]))
    name = name or f"test_{group}[{backend}-{'-'.join(map(str, layer_sizes))}-b{batch}-{dtype}]"
    return {"group": group, "name": name, "fullname": f"bench/bench_x.py::{name}",
            "params": None, "param": None, "extra_info": info, "options": {},
            "stats": {"median": median, "iqr": iqr, "q1": q1, "q3": q3, "rounds": len(data),
                      "data": data}}


def disturb(bench: dict, busy_other=0.6, disturbance=29.0, reruns=2) -> dict:
    """Mark one entry as measured on a busy machine (still disturbed after ``reruns``)."""
    bench["extra_info"].update(busy_other=busy_other, disturbance=disturbance, disturbed=True,
                               reruns=reruns)
    return bench


def make_run(costs=None, hidden=HIDDEN, batch=64, node="synth", threads=2, gpu=None,
             extras=True, missing=()):
    """A complete run: the step grid over ``hidden``, plus epoch and scaling records."""
    costs = COSTS if costs is None else costs
    benches = []
    for i, h in enumerate(hidden):
        sizes = (784, h, 10)
        for backend, (lib, device, a, b) in costs.items():
            t = a + b * n_params(sizes)
            noisy = backend == "numpy" and i == 0
            benches.append(entry("step", backend, lib, device, sizes, batch, t,
                                  threads=threads, iqr=NOISY_IQR * t if noisy else None))
    if extras:
        head = HEADLINE_SIZES
        t = COSTS["numpy"][2] + COSTS["numpy"][3] * n_params(head)
        benches.append(entry("step", "numpy", "numpy", "cpu", head, batch, 1.6 * t,
                              threads=1))
        benches.append(entry("step", "torch-cpu", "torch", "cpu", head, batch, 1.8 * t,
                              threads=1))
        for w in (1, 2):
            for backend, lib in (("torch-ddp", "torch"), ("numpy-mp", "numpy")):
                benches.append(entry("step", backend, lib, "cpu", head, batch,
                                      (3 - w) * t, threads=1, world_size=w))
        for pipeline, backend, lib, inp, total in (
                ("numpy-batches", "numpy", "numpy", 0.01, 0.2),
                ("torch-per-sample", "torch-cpu", "torch", 0.9, 1.1),
                ("torch-batched", "torch-cpu", "torch", 0.02, 0.22),
                ("in-memory", "torch-cpu", "torch", 0.0, 0.19),
                ("sklearn", "sklearn", "numpy", None, 0.5)):
            benches.append(entry("epoch", backend, lib, "cpu", head, batch, total,
                                  pipeline=pipeline, input_s=inp))
        benches.append(entry("activation", "numpy", "numpy", "cpu", (), 1_000_000, 1e-3,
                              activation="relu", bytes=8_000_000))
    return run_doc(benches, node=node, threads=threads, gpu=gpu, missing=missing)


def run_doc(benches, *, node="synth", threads=2, gpu=None, gemm=None, cpu_model="Synthetic CPU",
            missing=(), interrupted=(), stopped_at=None) -> dict:
    """A whole run around ``benches``: machine info with the GEMM rates ``gemm`` ({lib:
    GFLOP/s} at ``threads``, default ``GEMM``), the missing list (``missing``: node ids
    skipped, ``interrupted``: cut short by Ctrl-C, ``stopped_at``: where) and the date."""
    gemm = GEMM if gemm is None else gemm
    calib = [{"lib": lib, "device": "cpu", "dtype": "float32", "threads": threads,
              "m": 1024, "k": 1024, "n": 1024, "gflops": g} for lib, g in gemm.items()]
    calib.append({"lib": "numpy", "device": "cpu", "dtype": "float32", "threads": threads,
                  "m": 256, "k": 256, "n": 256, "gflops": gemm["numpy"] / 2})
    twins = {"profile": "synthetic", "numpy": "2.0", "torch": "2.5", "python": "3.11",
             "cpu_model": cpu_model, "cpu_id": "Synthetic 0/0", "cpu_flags": ["avx2", "fma"],
             "cores": threads,
             "blas": [{"user_api": "blas", "internal_api": "openblas", "version": "0.3.27",
                       "threading_layer": "pthreads", "num_threads": threads,
                       "architecture": "Haswell"}],
             "torch_config": ["ATen/Parallel:", "at::get_num_threads() : 2"],
             "gpu": gpu, "tf32": False,
             "calibration": {"gemm": calib, "copy_gbps": []}}
    return {"machine_info": {"node": node, "machine": "x86_64", "python_version": "3.11",
                             "cpu": {"brand_raw": cpu_model, "count": threads},
                             "mlp_twins": twins},
            "commit_info": {}, "benchmarks": list(benches), "datetime": "2025-01-01T00:00:00",
            "version": "5.1.0",
            "mlp_twins": {"missing": [{"test": m, "reason": "skipped"} for m in missing]
                          + [{"test": m, "reason": "interrupted"} for m in interrupted],
                          "complete": not (missing or interrupted or stopped_at),
                          "stopped_at": stopped_at}}


def write_run(path, run=None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, make_run() if run is None else run)
    return path


def main(argv=None) -> int:
    parser = cli.Parser(
        prog="python -m runfile.synthetic",
        description="Write a synthetic run with known answers (a demo input for the report).")
    parser.add_argument("out", nargs="?", default="synthetic-run.json",
                        help="where to write the run JSON (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        print(write_run(args.out))
    except OSError as e:
        cli.fail(parser.prog, f"cannot write {args.out}: {e.strerror}")
    except RunFileError as e:
        cli.fail(parser.prog, f"cannot write {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
