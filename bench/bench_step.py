"""Groups (a) and (b): one training step, and one inference forward, on a resident batch.

    pytest --benchmark-only bench/bench_step.py                 # quick profile
    pytest --benchmark-only bench/bench_step.py --profile full  # the whole grid

Only ``runner.step()`` / ``runner.forward()`` is timed: data, model and optimizer are
built and warmed up by ``open_runner`` before, the result is checked after. Single-process
rounds are interleaved with an untimed GEMM probe (``bench/quiet/probe.py``) so the regression
gate can compare times that the machine's drift has cancelled out of.
"""

from __future__ import annotations

from bench.backends import REGISTRY
from bench.measure.breakdown import gemm_seconds
from bench.quiet.cpuload import watch
from bench.quiet.probe import gemm_probe, timed
from core.flops import forward_flops, step_flops


def _probe_for(name, case):
    b = REGISTRY[name]
    return gemm_probe(b.lib, b.device, case.dtype, case.batch, case.layer_sizes)


def test_step(benchmark, round_budget, open_runner, record, step_case):
    name, case = step_case
    runner = open_runner(name, case)
    probed = timed(benchmark, runner.step, _probe_for(name, case), round_budget)
    runner.check()
    b = REGISTRY[name]
    gemm_s = None if benchmark.disabled else gemm_seconds(b.lib, case.layer_sizes, case.batch,
                                                          case.dtype, b.device)
    one_off = runner.extra_info() if hasattr(runner, "extra_info") else {}  # compiled variants
    record(group="step", backend=name, case=case, flops=step_flops(case.layer_sizes, case.batch),
           peak=runner.peak_memory(), gemm_s=gemm_s, **probed, **one_off)


def test_forward(benchmark, round_budget, open_runner, record, forward_case):
    name, case = forward_case
    runner = open_runner(name, case)
    probed = timed(benchmark, runner.forward, _probe_for(name, case), round_budget)
    runner.check()
    record(group="forward", backend=name, case=case,
           flops=forward_flops(case.layer_sizes, case.batch), **probed)


def test_parallel_step(benchmark, open_runner, record, parallel_case):
    """One data-parallel step over W processes (workers started before timing)."""
    name, case = parallel_case
    runner = open_runner(name, case)
    with watch() as w:  # the workers are our children: their CPU time is our own
        benchmark(runner.step)
    runner.check()
    record(group="step", backend=name, case=case, variant=f"w{case.world_size}",
           flops=step_flops(case.layer_sizes, case.batch), busy_other=w.busy_other)
