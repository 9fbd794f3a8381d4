"""Whether the machine was quiet while a row was measured, and re-measuring it if not.

Detect, judge, re-measure, in that order: ``cpuload.py`` (other processes' CPU time, from
/proc), ``probe.py`` (a fixed kernel timed before every round: the machine's speed now),
``disturbance.py`` (a record's evidence and its verdict, the thresholds, the re-run budget),
``remeasure.py`` (re-running a disturbed benchmark, bounded). The benchmarks call ``cpuload``
and ``probe`` around their timed rounds; the plugin calls ``disturbance`` and ``remeasure``.
``noise.py`` measures the evidence's own noise on a quiet machine, where the thresholds come
from (docs/methodology.md).
Imports ``bench.measure`` and ``bench.backends`` only.
"""
