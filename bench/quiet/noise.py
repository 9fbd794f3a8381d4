"""Measure the disturbance evidence's own noise on a quiet machine.

    python -m bench.quiet.noise [--seconds 0.15]      # refuses a busy machine

The thresholds ``BUSY_OTHER_MAX`` and ``DISTURBANCE_MAX`` (``bench/quiet/disturbance.py``)
must sit above that noise; this command measures it. It times real step and forward runners
with their interleaved probes (``bench.quiet.probe.timed``, ``--seconds`` timed seconds per
row): NumPy and torch on the CPU, at 1 and all threads, each of ``ROWS`` (group and hidden
widths, float32; widths whose probes are shared as in the profiles) at each of ``BATCHES``.
It prints each row's ``busy_other`` and ``disturbance`` (judged against the whole
measurement, as a run's JSON is), their maxima and the load average before; ``measure``
returns the same rows.

It refuses to run (one line on stderr, exit 2) when the 1-minute load average is at or above
``QUIET_LOAD``. It sets nothing: the thresholds are constants of
``bench/quiet/disturbance.py``, chosen above its maxima, and no run file is written.

Why these rows and batches: docs/methodology.md, 'The noise measurement'.
"""

from __future__ import annotations

import itertools
import sys
import time
from types import SimpleNamespace

from bench.backends import REGISTRY, Case, load_all
from bench.measure.pb_options import Budget
from bench.quiet import cpuload
from bench.quiet.disturbance import Evidence
from bench.quiet.probe import gemm_probe, timed
from core import cli
from core.procs import available_cores
from core.threads import pinned

QUIET_LOAD = 0.5  # 1-minute load average below which the machine counts as quiet
ROWS = (("step", (16,)), ("step", (100,)), ("forward", (100,)), ("step", (512,)),
        ("forward", (2048,)), ("step", (2048,)), ("step", (4096,)), ("step", (8192,)),
        ("step", (512,) * 6))  # (group, hidden widths), float32, at each of BATCHES
BATCHES = (32, 256)  # the full profile's smallest batch and the quick profile's one


class _Rounds:
    """pytest-benchmark's ``pedantic`` as ``timed`` uses it, keeping the raw times."""

    disabled = False

    def pedantic(self, fn, setup, rounds, iterations, warmup_rounds):
        data = []
        for i in range(warmup_rounds + rounds):
            setup()
            t0 = time.perf_counter()
            fn()
            if i >= warmup_rounds:
                data.append(time.perf_counter() - t0)
        self.stats = SimpleNamespace(stats=SimpleNamespace(data=data))


def measure(seconds: float) -> list:
    """``[(row id, record with busy_other, disturbance)]`` of every row."""
    load_all()
    ev, rows = Evidence(), []
    for name in ("numpy", "torch-cpu"):
        b = REGISTRY[name]
        for t in sorted({1, available_cores()}):
            for (group, hidden), batch in itertools.product(ROWS, BATCHES):
                case = Case((784, *hidden, 10), batch, "float32", t)
                width = hidden[0] if len(hidden) == 1 else f"{hidden[0]}x{len(hidden)}"
                row = f"{name}-{group}-h{width}-b{batch}-t{t}"
                with pinned(t):
                    runner = b.make(case)
                    try:
                        fn = runner.step if group == "step" else runner.forward
                        got = timed(_Rounds(), fn, gemm_probe(b.lib, b.device, "float32", batch,
                                                              case.layer_sizes), Budget(5, seconds))
                    finally:
                        runner.close()
                rec = {"group": group, "lib": b.lib, "device": b.device, "dtype": "float32",
                       "threads": t, "world_size": 1, "batch": batch,
                       "layer_sizes": list(case.layer_sizes), **got}
                ev.observe(row, rec)
                rows.append((row, rec))
    return [(row, {**rec, **ev.final(rec, row)}) for row, rec in rows]


def main(argv=None) -> int:
    ap = cli.Parser(prog="python -m bench.quiet.noise", description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=cli.non_negative_float, default=0.15,
                    help="timed seconds per row")
    args = ap.parse_args(argv)
    load = cpuload.load_average()
    if load is not None and load[0] >= QUIET_LOAD:
        print(f"{ap.prog}: error: load average {load[0]:.2f} >= {QUIET_LOAD}: not a quiet machine",
              file=sys.stderr)
        return 2
    rows = measure(args.seconds)
    for row, rec in rows:
        print(f"{row:36s} busy_other {rec['busy_other']} disturbance {rec['disturbance']:.3f}")
    busy = [r["busy_other"] for _, r in rows if r["busy_other"] is not None]
    print(f"max busy_other {max(busy, default=float('nan')):.3f}; max disturbance "
          f"{max(r['disturbance'] for _, r in rows):.3f}; load before {load}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
