"""Performance regression gate: judge a benchmark run against numbers of the same machine.

    python -m gate check      # this machine's baseline in gate/baselines/, else an A/B here
    python -m gate baseline   # add or replace this machine's baseline (noise -> thresholds)
"""
