"""What the GPU sweep will cost, from FLOP counts and assumed rates, before any card runs it.

    python -m bench.gpu.plan [PROFILE]     # the estimate of bench/gpu/run.py's sweep

The card machine gives a few minutes (one H100 or H200, 16 host cores, one command of at
most 10 minutes), so the ``gpu`` profile is sized here, on paper: every benchmark the
sweep selects (``points``, the same grid as ``bench/suite/cases.py``) costs a fixed set-up, the
model's initialisation, its untimed calls (warm-up, the GEMM breakdown, the peak-memory
step) and its timed rounds with their probes (``bench/quiet/probe.py``: about ``max_time``,
at least ``min_rounds``). A call's time is ``overhead + FLOPs / rate``, with the rates
below: CPU rates are this project's 2-core machine's single-core NumPy GEMM rate (~40
GFLOP/s float32, ~20 float64) times 16 cores at half efficiency, and the card's are a
conservative share of an H100's dense peaks (67 TFLOP/s FP32 and FP64 tensor cores, ~400
dense TF32), with a launch-bound floor per step. ``tests/test_gpu_dry.py`` keeps the
estimate under ``SWEEP_BUDGET_S``.
"""

from __future__ import annotations

import math
import sys

from bench.backends import REGISTRY, load_all
from bench.backends.common import WARMUP
from bench.measure.breakdown import REPEATS as BREAKDOWN_REPEATS
from bench.quiet.probe import MAX_ROUNDS, PROBE_MAX_WIDTH
from bench.suite import grid
from bench.suite.cases import batches_for
from core import cli
from core.flops import forward_flops, step_flops
from core.spec import n_params

SWEEP_BACKENDS = ("numpy", "torch-cpu", "torch-cuda", "torch-cuda-tf32")
SWEEP_BUDGET_S = 300  # the sweep's share of the ~6-minute run (tests and report apart)
STARTUP_S = 20.0  # python, torch import, collection, calibration
FIXED_S = 0.3  # per benchmark: pytest, model and optimizer objects, batch
INIT_S_PER_PARAM = 3e-8  # core.init's draw and the copy to the device
CPU_GFLOPS = {"float32": 300.0, "float64": 150.0}  # a step on 16 cores
CPU_OVERHEAD_S = {"numpy": 60e-6, "torch": 150e-6}  # per step, Python and small ops
CUDA_GFLOPS = {("float32", False): 40e3, ("float32", True): 150e3,
               ("float64", False): 40e3, ("float64", True): 40e3}  # TF32 leaves f64 alone
CUDA_FLOOR_S = 250e-6  # per step: ~20 kernel launches and the optimizer, eager mode


def points(prof, backends=SWEEP_BACKENDS) -> list:
    """``(group, backend, layer_sizes, batch, dtype)`` of every benchmark the sweep runs."""
    load_all()
    out = []
    for name in backends:
        b = REGISTRY[name]
        for sizes, dtypes in grid.step_sizes(prof):
            out += [("step", name, sizes, batch, d) for batch in batches_for(b, prof)
                    for d in dtypes]
        for h in prof.forward_widths:
            out += [("forward", name, (grid.N_IN, h, grid.N_OUT), batch, d)
                    for batch in batches_for(b, prof) for d in prof.dtypes]
    return out


def call_seconds(backend: str, flops: float, dtype: str) -> float:
    b = REGISTRY[backend]
    if b.device == "cpu":
        return CPU_OVERHEAD_S[b.lib] + flops / (CPU_GFLOPS[dtype] * 1e9)
    rate = CUDA_GFLOPS[(dtype, b.variant == "tf32")] * 1e9
    return max(CUDA_FLOOR_S, flops / rate)


def benchmark_seconds(prof, group, backend, sizes, batch, dtype) -> float:
    """One benchmark, end to end (see the module's docstring)."""
    if group == "step":
        call = call_seconds(backend, step_flops(sizes, batch), dtype)
        untimed = 2 * WARMUP + 2 + BREAKDOWN_REPEATS + 1  # + peak step, warm-up round
    else:
        call = call_seconds(backend, forward_flops(sizes, batch), dtype)
        untimed = 2 * WARMUP + 2
    probe = call_seconds(backend, 2 * batch * sizes[0] * min(sizes[1], PROBE_MAX_WIDTH), dtype)
    rounds = min(MAX_ROUNDS, max(prof.min_rounds, math.ceil(prof.max_time / (call + probe))))
    return (FIXED_S + INIT_S_PER_PARAM * n_params(sizes) + untimed * call
            + rounds * (call + probe))


def estimate(prof, backends=SWEEP_BACKENDS) -> dict:
    """``{"seconds": total, "benchmarks": n, "by_backend": {name: seconds}}``."""
    by = {}
    pts = points(prof, backends)
    for p in pts:
        by[p[1]] = by.get(p[1], 0.0) + benchmark_seconds(prof, *p)
    return {"seconds": STARTUP_S + sum(by.values()), "benchmarks": len(pts),
            "by_backend": {k: round(v, 1) for k, v in by.items()}}


def main(argv=None) -> int:
    p = cli.Parser(prog="python -m bench.gpu.plan",
                   description="The estimated seconds of a profile's sweep on the GPU machine.")
    p.add_argument("profile", nargs="?", default="gpu", choices=grid.PROFILES,
                   help="the profile to estimate (default: %(default)s)")
    print(estimate(grid.profile(p.parse_args(argv).profile)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
