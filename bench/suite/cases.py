"""Turn the active profile into pytest parameters with readable ids.

A benchmark function asks for its axis by argument name: ``step_case``, ``forward_case``,
``parallel_case``, ``epoch_case`` or ``activation_case``.
"""

from __future__ import annotations

from bench.backends import REGISTRY, Case
from bench.suite import grid
from bench.suite.state import TWINS, twins
from core.procs import available_cores
from runfile.schema import ACTIVATION_KINDS

EPOCH_PIPELINES = [  # (pipeline, backend): who feeds batches to whom
    ("in-memory", "numpy"), ("numpy-batches", "numpy"),
    ("in-memory", "torch-cpu"), ("torch-batched", "torch-cpu"),
    ("torch-per-sample", "torch-cpu"),
    ("sklearn", "sklearn"),
    ("in-memory", "torch-cuda"), ("torch-pinned", "torch-cuda"),
]


def _selected(config, name):
    chosen = twins(config).backends
    return chosen is None or name in chosen


def _single_process_backends(config, step_only=False):
    """Accelerators first (a sweep cut short by its time limit keeps the card's rows);
    ``step_only``: the step-only variants alone, else every other single-process backend."""
    chosen = [b for b in REGISTRY.values() if not b.parallel and _selected(config, b.name)
              and b.step_only == step_only]
    return sorted(chosen, key=lambda b: b.device == "cpu")


def _threads_for(backend, prof):
    # an accelerator's speed does not depend on host threads: time it once, at all cores
    return prof.threads if backend.device == "cpu" else (max(prof.threads),)


def batches_for(backend, prof):
    # the CPU backends may stop at smaller batches than the accelerator's (the gpu profile)
    if backend.step_only:
        return prof.variant_batches
    return prof.cpu_batches if backend.device == "cpu" and prof.cpu_batches else prof.batches


def step_cases(config, sizes_of, step_only=False):
    """``sizes_of(profile)`` gives ``[(layer_sizes, dtypes)]``; ``step_only``: the grid of the
    step-only variants (``grid.variant_step_sizes(profile, backend)``)."""
    prof = twins(config).profile
    out = []
    for b in _single_process_backends(config, step_only):
        for sizes, dtypes in (sizes_of(prof, b.name) if step_only else sizes_of(prof)):
            for batch in batches_for(b, prof):
                for dtype in dtypes:
                    for t in _threads_for(b, prof):
                        out.append(((b.name, Case(sizes, batch, dtype, t)),
                                    grid.case_id(b.name, sizes, batch, dtype, t)))
    return out


def parallel_cases(config):
    prof = twins(config).profile
    out = []
    for b in REGISTRY.values():
        if not b.parallel or not _selected(config, b.name):
            continue
        for h in prof.parallel_widths:
            sizes = (grid.N_IN, h, grid.N_OUT)
            for w in prof.world_sizes:
                t = max(1, available_cores() // w)  # threads per process = cores / W
                batch = max(prof.batches)
                out.append(((b.name, Case(sizes, batch, "float32", t, world_size=w)),
                            grid.case_id(b.name, sizes, batch, "float32", t, w)))
    return out


def epoch_cases(config):
    prof = twins(config).profile
    sizes = (grid.N_IN, grid.EPOCH_HIDDEN, grid.N_OUT)
    out = []
    for pipeline, backend in EPOCH_PIPELINES:
        if not _selected(config, backend):
            continue
        for dtype in prof.epoch_dtypes:
            t = max(prof.threads)
            case = Case(sizes, grid.EPOCH_BATCH, dtype, t)
            out.append(((pipeline, backend, case),
                        f"{pipeline}-" + grid.case_id(backend, sizes, grid.EPOCH_BATCH, dtype, t)))
    return out


def activation_cases(config):
    prof = twins(config).profile
    out = []
    for b in _single_process_backends(config):
        for t in _threads_for(b, prof):
            for act in ACTIVATION_KINDS:  # each activation, and a copy
                out.append(((b.name, act, t), f"{b.name}-{act}-f32-t{t}"))
    return out


def parametrize(metafunc):
    config = metafunc.config
    if TWINS not in config.stash:
        return
    makers = {
        "step_case": lambda: (step_cases(config, grid.step_sizes)
                              + step_cases(config, grid.variant_step_sizes, step_only=True)),
        "forward_case": lambda: step_cases(
            config, lambda p: [((grid.N_IN, h, grid.N_OUT), p.dtypes) for h in p.forward_widths]),
        "parallel_case": lambda: parallel_cases(config),
        "epoch_case": lambda: epoch_cases(config),
        "activation_case": lambda: activation_cases(config),
    }
    for name, make in makers.items():
        if name in metafunc.fixturenames:
            cases = make()
            metafunc.parametrize(name, [c for c, _ in cases], ids=[i for _, i in cases])
