"""Interleaved probes: a fixed reference kernel timed just before every timed round.

Before each timed round of a single-process benchmark (in pytest-benchmark's untimed
``setup``), ``timed`` times a *probe*: a kernel whose cost the twins' code cannot change.
The record's relative time is ``median(round time / the probe time just before it)``: a
slowdown of the machine slows the probe and the round alike and cancels out; a change to
the twins slows only the round.

* step / forward: ``gemm_probe``, the GEMM ``(batch x n_in) @ (n_in x min(H, PROBE_MAX_WIDTH))``
  of the same library, device, dtype and threads (``H`` the first hidden width; the shape is
  ``gemm_shape``), run ``gemm_repeats`` times so that one probe call does at least
  ``PROBE_MIN_FLOP`` FLOPs;
* activation: a copy of the same array (built by ``bench/bench_activations.py``).

Guarantees. ``probe_seconds`` times a probe warm: one untimed call, then the fastest of
``PROBE_TIMED`` timed calls. ``timed(benchmark, fn, probe, budget)`` runs
``max(min_rounds, ceil(max_time / (round + (1 + PROBE_TIMED) probe calls)))`` rounds, at
most ``MAX_ROUNDS``, and returns the record keys ``probe_data`` (one probe time per timed
round, aligned with ``stats.data``; checked), ``relative`` and ``busy_other`` (``watch()``
of ``bench/quiet/cpuload.py`` around the rounds); ``{}`` when timing is disabled (the smoke
pass runs ``fn`` and the probe once). Each round starts after the probe has touched its own
arrays, i.e. with caches holding other data, as in a training loop whose data pipeline runs
between steps. ``probe_key(record)`` names the probe a record timed, the same for every
benchmark that runs the same probe in the same state.

Limits: only slowdowns that hit the probe and the round alike cancel. Parallel and epoch
benchmarks have no probe (``probe_key`` is None). Judging a record disturbed is
``bench/quiet/disturbance.py``'s job, not this module's.

Why these values: docs/methodology.md, 'The probe'.
"""

from __future__ import annotations

import math
import statistics

from bench.measure.kernels import gemm_numpy, gemm_torch
from bench.measure.timing import once, synced
from bench.quiet.cpuload import watch

PROBE_MAX_WIDTH = 512  # widest GEMM probe, in columns (n); a wider layer is probed this wide
# FLOPs one probe call does at least: smaller GEMMs are repeated up to it (the 784-512 layer
# at batch 32)
PROBE_MIN_FLOP = 2 * 32 * 784 * 512
PROBE_TIMED = 2  # timed probe calls after the untimed warm one; the fastest is kept
MAX_ROUNDS = 2000  # most timed rounds of one benchmark


def gemm_shape(batch: int, layer_sizes) -> tuple:
    """``(m, k, n)`` of the GEMM probe: the first layer of ``layer_sizes`` at ``batch``,
    at most ``PROBE_MAX_WIDTH`` wide."""
    return batch, layer_sizes[0], min(layer_sizes[1], PROBE_MAX_WIDTH)


def gemm_repeats(m: int, k: int, n: int) -> int:
    """How many times the probe runs its GEMM: enough for ``PROBE_MIN_FLOP``."""
    return max(1, math.ceil(PROBE_MIN_FLOP / (2 * m * k * n)))


def gemm_probe(lib: str, device: str, dtype: str, batch: int, layer_sizes) -> callable:
    """A synchronised GEMM shaped like the first layer of ``layer_sizes`` at ``batch``,
    run ``gemm_repeats`` times (once for all but the smallest shapes)."""
    m, k, n = gemm_shape(batch, layer_sizes)
    gemm = gemm_numpy(m, k, n, dtype) if lib == "numpy" else gemm_torch(m, k, n, dtype, device)
    call, sync = gemm
    repeats = gemm_repeats(m, k, n)
    if repeats == 1:
        return synced(call, sync)

    def repeated():
        for _ in range(repeats):
            out = call()
        return out

    return synced(repeated, sync)


def probe_seconds(probe) -> float:
    """The probe's time, warm: one untimed call, then the fastest of ``PROBE_TIMED``."""
    probe()
    return min(once(probe) for _ in range(PROBE_TIMED))


def probe_key(rec: dict) -> tuple | None:
    """Which probe a record's ``probe_data`` timed: ``(lib, device, dtype, threads, kind,
    shape, variant)``, the same for every benchmark that runs the same probe in the same
    state (a ``torch-cuda-tf32`` runner keeps TF32 on while its probe runs); None: no
    probe."""
    if rec["group"] in ("step", "forward") and rec["world_size"] == 1:
        kind, shape = "gemm", gemm_shape(rec["batch"], rec["layer_sizes"])
    elif rec["group"] == "activation":
        kind, shape = "copy", (rec["batch"],)  # an activation's batch: its elements
    else:
        return None
    return (rec["lib"], rec["device"], rec["dtype"], rec["threads"], kind, shape,
            rec.get("variant"))  # "tf32": its probe runs with TF32 on, faster


def timed(benchmark, fn, probe, budget) -> dict:
    """Time ``fn`` with pytest-benchmark, each round preceded by an (untimed) ``probe``,
    in about ``budget.max_time`` seconds and at least ``budget.min_rounds`` rounds (the
    ``round_budget`` fixture: the benchmark's own ``--benchmark-max-time`` / ``-min-rounds``).

    Returns the record keys ``probe_data`` (the probe's seconds before each timed round,
    aligned with ``stats.data``), ``relative`` (median of round / probe) and ``busy_other``
    (``bench/quiet/cpuload.py``, over the rounds); empty when timing is disabled (the smoke pass
    calls both once).
    """
    if benchmark.disabled:
        benchmark.pedantic(fn, setup=lambda: once(probe) and None, rounds=1)
        return {}
    est = min(once(fn) + (1 + PROBE_TIMED) * once(probe) for _ in range(2))
    rounds = max(budget.min_rounds, math.ceil(budget.max_time / est))
    rounds = min(rounds, MAX_ROUNDS)
    probe_s = []

    def setup():
        probe_s.append(probe_seconds(probe))

    with watch() as w:
        benchmark.pedantic(fn, setup=setup, rounds=rounds, iterations=1, warmup_rounds=1)
    probe_s = probe_s[-rounds:]  # the warm-up round's probe is not paired with a sample
    data = benchmark.stats.stats.data
    assert len(data) == len(probe_s), "probe times out of step with the rounds"
    return {"probe_data": probe_s, "busy_other": w.busy_other,
            "relative": statistics.median(t / p for t, p in zip(data, probe_s))}
