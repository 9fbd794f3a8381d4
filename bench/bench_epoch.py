"""Group (c): one full epoch, input pipeline included (see ``bench/measure/epochs.py``).

    pytest --benchmark-only bench/bench_epoch.py [--data mnist:DIR]

Each round is one epoch (``pedantic``, a few rounds: an epoch takes seconds). The input
pipeline's own cost is measured apart, by walking it without computing, and stored as
``input_s`` so the report can split each epoch into input and compute.
"""

from __future__ import annotations

import statistics

import pytest

from bench.backends import REGISTRY
from bench.measure.epochs import make_epoch
from bench.measure.timing import seconds
from bench.quiet.cpuload import watch
from bench.suite.state import twins
from core.flops import step_flops
from core.threads import pinned

ROUNDS = {"smoke": 1, "quick": 3, "full": 5}
INPUT_PASSES = {"smoke": 1, "quick": 1, "full": 3}


def _epoch_flops(sizes, n, batch):
    full, rest = divmod(n, batch)
    return full * step_flops(sizes, batch) + (step_flops(sizes, rest) if rest else 0)


def test_epoch(benchmark, record, epoch_case, epoch_data, pytestconfig):
    pipeline, backend, case = epoch_case
    if backend in REGISTRY and (reason := REGISTRY[backend].unavailable()):
        pytest.skip(f"{backend}: {reason}")
    profile = twins(pytestconfig).profile.name
    X, y = epoch_data
    with pinned(case.threads):
        runner = make_epoch(pipeline, backend, case, X, y)
        try:
            # the input pipeline alone, after a warm-up pass (page in the data, start the
            # loader machinery); sklearn's batching is internal, so it has no input cost
            input_s = None if pipeline == "sklearn" else seconds(
                runner.iterate, INPUT_PASSES[profile], statistics.median)
            with watch() as w:  # loader workers are our children: their time is our own
                benchmark.pedantic(runner.epoch, rounds=ROUNDS[profile], iterations=1)
            runner.check()
        finally:
            runner.close()
    lib = "torch" if backend.startswith("torch") else "numpy"
    device = "cuda" if backend.startswith("torch-cuda") else "cpu"
    record(group="epoch", backend=backend, case=case, lib=lib, device=device,
           flops=_epoch_flops(case.layer_sizes, len(X), case.batch), pipeline=pipeline,
           input_s=input_s, samples=len(X), n_samples=len(X), busy_other=w.busy_other,
           data=pytestconfig.getoption("data").split(":")[0])
