"""The suite's per-run state, kept in ``config.stash`` (pytest's typed store for plugins).

``TWINS`` holds one ``Twins``: set in ``bench.plugin``'s ``pytest_configure``, read by the
grid's parametrisation (``bench/suite/cases.py``), the benchmarks and the JSON hooks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bench.quiet.disturbance import Evidence
from bench.suite.grid import Profile


@dataclass
class Twins:
    profile: Profile
    backends: set | None = None  # --backends, None: all
    outcomes: dict = field(default_factory=dict)  # nodeid -> "ok" / "skipped: ..." / "failed ..."
    selected: list = field(default_factory=list)  # nodeids of the selected benchmarks
    calibration: dict | None = None  # bench.measure.calibrate.calibrate(), when timing
    evidence: Evidence = field(default_factory=Evidence)  # disturbance evidence, re-runs
    stage: str = "collection"  # where the run is: "calibration", then each node id
    interrupted: bool = False  # Ctrl-C cut the run short
    json_written: bool = False  # pytest-benchmark wrote the run's JSON
    cut_short: dict = field(default_factory=dict)  # nodeid -> measurements to keep (Ctrl-C
    # cut its second-look re-run short: the earlier ones stand)
    old_sigterm: object = None  # SIGTERM's handler before a timed run made it Ctrl-C
    mnist: tuple | None = None  # --data mnist:DIR: (images, labels), read once at start-up


TWINS = pytest.StashKey[Twins]()


def twins(config) -> Twins:
    """This run's state (``bench.plugin`` must be registered)."""
    return config.stash[TWINS]
