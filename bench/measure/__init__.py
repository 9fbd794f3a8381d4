"""How one number is measured: the timer, the yardstick kernels, the machine's calibration
(GEMM rates, copy bandwidth), a step's own GEMMs, the environment a result describes itself
with, TF32, and the round budget asked of pytest-benchmark.

The bottom room of ``bench/``: it imports nothing else of the suite. ``timing.py`` is the one
timing path every benchmark and probe goes through.
"""
