# The benchmark suite's pytest hooks (profiles, thread pinning, calibration, JSON location)
# live in bench/plugin.py; registering it here makes them apply to a run from the root.
pytest_plugins = ["bench.plugin"]
