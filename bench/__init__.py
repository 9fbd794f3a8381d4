"""The benchmarks: pytest-benchmark sweeps of the twins (docs/methodology.md).

At the top, what pytest runs: ``plugin.py`` (the suite's hooks, registered by the root
conftest) and the benchmark files ``bench_step.py``, ``bench_epoch.py``,
``bench_activations.py``. Below, in rooms whose imports point down in this order:

    measure/   timing, yardstick kernels, calibration, a step's GEMMs, environment, TF32
    backends/  one module per timed backend, behind one protocol
    quiet/     was the machine quiet? CPU counters, probes, the verdict, re-measuring
    suite/     the grid per profile, the cases and their ids, per-run state, outcomes
    gpu/       the prepared run on a card machine

A run is written in the format ``runfile/`` owns (tests/test_layout.py checks the order).
"""
