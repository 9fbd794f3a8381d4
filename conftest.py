# The benchmark suite's pytest hooks (profiles, thread pinning, calibration, JSON location)
# live in bench/plugin.py; registering it here makes them apply to a run from the root.
import os
import signal

import pytest

pytest_plugins = ["bench.plugin"]

XDIST_VARS = ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID")


@pytest.fixture(autouse=True, scope="session")
def _subprocesses_are_not_xdist_workers():
    """`make test` runs the tests on pytest-xdist workers, whose environment says so. The
    pytest runs that tests start as subprocesses (the A/B, the GPU dry run, the plugin end
    to end) would inherit it, and pytest-benchmark would switch their benchmarks off; they
    are not workers. Cleared once tests run: the worker's own pytest-benchmark has seen it
    (a timed run on xdist workers stays refused, as pytest-benchmark means it to be)."""
    for var in XDIST_VARS:
        os.environ.pop(var, None)


@pytest.fixture(autouse=True, scope="session")
def _ctrl_c_reaches_the_tests():
    """The Ctrl-C tests send SIGINT, to this process or to the pytest runs they start. A
    shell that starts the suite in the background (``make test &`` in a script) ignores
    SIGINT, and Python then never raises KeyboardInterrupt, here or in any child: give it
    back Python's handler, as a terminal's Ctrl-C would find it."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
