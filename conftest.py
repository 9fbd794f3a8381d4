# The benchmark suite's pytest hooks (profiles, thread pinning, calibration, JSON location)
# live in bench/plugin.py; registering it here makes them apply to a run from the root.
import os

pytest_plugins = ["bench.plugin"]

# `make test` runs the suite on pytest-xdist workers (-n, --dist loadfile), whose
# environment says so (PYTEST_XDIST_WORKER ...). The pytest runs that tests start as
# subprocesses (the A/B, the GPU dry run, the plugin end to end) would inherit it, and
# pytest-benchmark would then switch their benchmarks off; they are not workers.
for _var in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
    os.environ.pop(_var, None)
