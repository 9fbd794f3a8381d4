"""What the suite asks of pytest-benchmark, through its public interface only.

pytest-benchmark is driven by its command-line options (``--benchmark-max-time``,
``--benchmark-min-rounds``, ``--benchmark-disable``, ``--benchmark-json``), read once when
its own ``pytest_configure`` builds its session. A profile changes their defaults by
setting the same options first, from a ``pytest_configure(tryfirst=True)``: as if they had
been typed, and never over what the user typed (a value differing from the default).
``budget`` gives a test the round budget its ``benchmark`` fixture was built with: those
options, overridden by a ``@pytest.mark.benchmark(max_time=..., min_rounds=...)``.

No private attribute of pytest-benchmark is read or written. ``tests/test_pb_options.py``
runs pytest-benchmark itself to check the defaults and the ordering this relies on.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

PLUGIN = "benchmark"  # pytest-benchmark's entry-point name
DEFAULT_MAX_TIME = 1.0  # pytest-benchmark's defaults, seconds and rounds
DEFAULT_MIN_ROUNDS = 5


class Budget(NamedTuple):
    """Rounds of one benchmark: about ``max_time`` seconds, at least ``min_rounds``."""

    min_rounds: int
    max_time: float


def active(config) -> bool:
    """Whether pytest-benchmark is loaded (not ``-p no:benchmark``)."""
    return config.pluginmanager.hasplugin(PLUGIN)


def timing_enabled(config) -> bool:
    """False under ``--benchmark-disable`` (each benchmark runs once, untimed)."""
    return not (config.getoption("benchmark_disable")
                and not config.getoption("benchmark_enable"))


def set_defaults(config, *, disable: bool, max_time: float, min_rounds: int,
                 json: Path | None) -> None:
    """Set pytest-benchmark's options before it reads them (call from a
    ``pytest_configure(tryfirst=True)``): ``disable`` runs each benchmark once, untimed;
    ``max_time`` / ``min_rounds`` replace the defaults, ``json`` an absent
    ``--benchmark-json``, when timing is on."""
    opt = config.option
    if disable:
        opt.benchmark_disable, opt.benchmark_enable = True, False
        return
    if not timing_enabled(config):
        return
    if float(opt.benchmark_max_time) == DEFAULT_MAX_TIME:
        opt.benchmark_max_time = max_time
    if int(opt.benchmark_min_rounds) == DEFAULT_MIN_ROUNDS:
        opt.benchmark_min_rounds = min_rounds
    if opt.benchmark_json is None and json is not None:
        opt.benchmark_json = Path(json)


def json_path(config) -> Path | None:
    """Where pytest-benchmark writes the run's JSON (``--benchmark-json``), if anywhere."""
    return config.getoption("benchmark_json")


def budget(config, node) -> Budget:
    """The round budget of ``node``'s ``benchmark`` fixture: the options, overridden by the
    node's ``benchmark`` marker, as pytest-benchmark builds its fixture."""
    marker = node.get_closest_marker("benchmark")
    kw = marker.kwargs if marker else {}
    return Budget(int(kw.get("min_rounds", config.getoption("benchmark_min_rounds"))),
                  float(kw.get("max_time", config.getoption("benchmark_max_time"))))
