"""Performance regression gate: compare a benchmark run with a committed baseline.

    python -m gate check      # run the quick profile, compare with gate/baseline.json
    python -m gate baseline   # rewrite the baseline from repeated runs (noise -> thresholds)
"""
