"""Interleaved probes: a fixed reference kernel timed just before every timed round.

A shared machine drifts: the same step takes 22 ms in one process and 28 ms in the next
(CPU steal, frequency, a neighbour's memory traffic), so a time stored in one run says
little about a time measured in another. A probe cancels that drift. Before each round
of a benchmark (``benchmark.pedantic(..., setup=...)``, untimed) we time a kernel whose
cost our code cannot change (a GEMM of the library's BLAS, or a copy); the benchmark's
*relative* time is ``median(round time / the probe time just before it)``. Whatever slows
the machine for a second slows both; a change to the twins slows only the round.

* step / forward: the GEMM ``(batch x n_in) @ (n_in x min(H, PROBE_MAX_WIDTH))`` of the
  same library, device, dtype and threads (``H`` the first hidden width: the probe is
  sized like the work, so it stays cheap for small models), repeated up to
  ``PROBE_MIN_FLOP`` where it is smaller (a single tiny GEMM times threading noise);
* activation: a copy of the same array (the memory-bound yardstick).

The probe is timed warm: one untimed call, then the faster of ``PROBE_TIMED`` timed calls
(``probe_seconds``). Timed cold, straight after a round, it measured what the round left
behind rather than the machine: after a step of 784-8192-10 at batch 32 the round had
evicted the probe's operands and the cold probe took 1.71x its time after a 784-512-10
step (NumPy, 2 threads; 1.2-1.4x in other rows), on a quiet machine, so a full-profile run
marked such rows "disturbed" with other processes at 0-3% of the CPU. Warm, the same rows
measured 0.93-1.20x of it (a one-off comparison of 24 rows); ``python -m bench.quiet.noise`` now
covers such rows (its quiet maxima: ``bench/quiet/disturbance.py``). For the activations' copy of
a 64 MiB array, beyond every cache, the warm call only costs time. A machine slowed ``k`` times
still slows every call ``k`` times, the warm ones too.

Rounds are budgeted like pytest-benchmark's own: ``max_time / (round + the probe's 1 +
PROBE_TIMED calls)``, at least ``min_rounds``, so the profile's total time does not grow
(a tiny step that used to stop at ``MAX_ROUNDS`` now fills ``max_time``, mostly probing).
Each round starts after the probe has touched its own arrays, i.e. with caches holding
other data, as a training loop whose data pipeline runs between steps.
"""

from __future__ import annotations

import math
import statistics

from bench.measure.kernels import gemm_numpy, gemm_torch
from bench.measure.timing import once, synced
from bench.quiet.cpuload import watch

PROBE_MAX_WIDTH = 512
# Smaller GEMMs are repeated up to this many FLOPs per probe (the 784-512 layer at batch 32,
# ~0.2 ms here): one 784x16 GEMM at batch 256 (~40 us) read 1.96x its quiet time on a quiet
# machine in one of two `python -m bench.quiet.noise` runs (2 threads: its times are bimodal).
PROBE_MIN_FLOP = 2 * 32 * 784 * 512
PROBE_TIMED = 2  # timed probe calls after the untimed warm one; the fastest is kept
MAX_ROUNDS = 2000


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
