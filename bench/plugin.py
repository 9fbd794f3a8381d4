"""pytest hooks of the benchmark suite: profiles, the grid, calibration, and the run's JSON.

* ``pytest --benchmark-only`` runs exactly the benchmarks (``bench/``) in the ``quick``
  profile and writes ``results/runs/<UTC time>-<profile>.json``;
  ``--profile full`` (or ``BENCH_PROFILE=full``) runs the whole grid.
* plain ``pytest`` runs ``tests/`` plus the ``smoke`` profile of ``bench/`` with timing
  disabled: every benchmark runs once at its smallest size, so a broken one fails.
* The JSON is written at the end even after Ctrl-C or failures; benchmarks that produced
  no record are listed with the reason under ``"mlp_twins": {"missing": [...]}``, and a
  benchmark whose post-timing check failed is dropped (a fast wrong answer is no result).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import time
from pathlib import Path

import pytest

from core.mnist import load_mnist
from core.threads import pinned

from . import grid
from . import pb_options as pb
from .backends import REGISTRY, load_all
from .environment import environment
from .schema import RESULTS_DIR
from .state import TWINS, Twins, twins

DATA_HELP = ("input data of the epoch benchmarks: 'synthetic' (default, MNIST-shaped random "
             "data) or 'mnist:DIR' (the IDX files in DIR, e.g. t10k-images-idx3-ubyte.gz)")


def pytest_addoption(parser):
    g = parser.getgroup("mlp-twins", "mlp-twins benchmark suite")
    g.addoption("--profile", choices=grid.PROFILES, default=None,
                help="benchmark grid: smoke (plain pytest), quick (default with "
                     "--benchmark-only, ~3 min on 2 cores) or full (~30 min); "
                     "env BENCH_PROFILE sets the default")
    g.addoption("--backends", default=None, metavar="A,B",
                help="only these backends (comma-separated), e.g. numpy,torch-cpu")
    g.addoption("--data", default="synthetic", metavar="SPEC", help=DATA_HELP)


def _profile_name(config) -> str:
    name = config.getoption("profile") or os.environ.get("BENCH_PROFILE")
    if name is None:
        return "quick" if config.getoption("benchmark_only") else "smoke"
    if name not in grid.PROFILES:
        raise pytest.UsageError(f"BENCH_PROFILE={name!r}: choose one of {grid.PROFILES}")
    return name


def _check_data(spec: str) -> None:
    """``--data``, checked at start-up: a usage error, not an ERROR in every epoch test."""
    if spec == "synthetic":
        return
    if not spec.startswith("mnist:") or not spec.removeprefix("mnist:"):
        raise pytest.UsageError(f"--data {spec!r}: {DATA_HELP}")
    try:
        load_mnist(spec.removeprefix("mnist:"), kind="t10k")
    except (OSError, ValueError) as e:
        raise pytest.UsageError(f"--data {spec}: {e}") from None


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark reads its options
def pytest_configure(config):
    prof = grid.profile(_profile_name(config))
    _check_data(config.getoption("data"))
    state = config.stash[TWINS] = Twins(profile=prof)
    config.pluginmanager.register(_OutcomeTracker(state.outcomes), "twins-outcomes")
    backends = config.getoption("backends")
    load_all()
    if backends is not None:
        wanted = [b.strip() for b in backends.split(",") if b.strip()]
        if not wanted:
            raise pytest.UsageError(f"--backends {backends!r} names no backend; known: "
                                    f"{sorted(REGISTRY) + ['sklearn']}")
        unknown = sorted(set(wanted) - set(REGISTRY) - {"sklearn"})
        if unknown:
            raise pytest.UsageError(f"--backends: unknown {unknown}; known: "
                                    f"{sorted(REGISTRY) + ['sklearn']}")
        state.backends = set(wanted)
    if not pb.active(config):
        return
    json = None
    if pb.json_path(config) is None and not config.getoption("collectonly"):
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        json = Path(config.rootpath, RESULTS_DIR, f"{stamp}-{prof.name}.json")
    untimed = prof.name == "smoke" and not config.getoption("benchmark_only")  # run once each
    pb.set_defaults(config, disable=untimed, max_time=prof.max_time,
                    min_rounds=prof.min_rounds, json=json)
    if json is not None and pb.json_path(config) == json:  # taken: timing is on
        json.parent.mkdir(parents=True, exist_ok=True)


def pytest_collection_modifyitems(config, items):
    if not config.getoption("benchmark_only"):
        return
    keep = [i for i in items if "benchmark" in getattr(i, "fixturenames", ())]
    dropped = [i for i in items if i not in keep]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_collection_finish(session):
    twins(session.config).selected = [i.nodeid for i in session.items
                                      if "benchmark" in i.fixturenames]


def pytest_sessionstart(session):
    config = session.config
    if not pb.active(config) or not pb.timing_enabled(config) or config.getoption("collectonly"):
        return
    import torch

    prof = twins(config).profile
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    tr = config.pluginmanager.get_plugin("terminalreporter")
    t0 = time.perf_counter()
    if tr:
        tr.write_line(f"mlp-twins: profile {prof.name}; calibrating GEMM and copy rates "
                      f"(threads {list(prof.threads)}, devices {devices}) ...")
    from .calibrate import calibrate

    twins(config).calibration = calibrate(prof.dtypes, prof.threads, devices)
    if tr:
        tr.write_line(f"mlp-twins: calibrated in {time.perf_counter() - t0:.1f} s; "
                      f"results go to {pb.json_path(config)}")


class _OutcomeTracker:
    """Remembers how each benchmark item ended: "ok", "skipped: why" or "failed in ...: why"."""

    def __init__(self, outcomes):
        self.outcomes = outcomes

    def pytest_runtest_logreport(self, report):
        outcome = None
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else "skipped"
            outcome = f"skipped: {reason}"
        elif report.failed:
            lines = str(report.longreprtext).strip().splitlines() or ["?"]
            outcome = f"failed in {report.when}: {lines[-1]}"
        elif report.when == "call":
            outcome = "ok"
        if outcome is not None:
            self.outcomes.setdefault(report.nodeid, outcome)


def pytest_benchmark_update_machine_info(config, machine_info):
    info = environment()
    info["profile"] = twins(config).profile.name
    info["calibration"] = twins(config).calibration
    machine_info["mlp_twins"] = info


def pytest_benchmark_update_json(config, benchmarks, output_json):
    state = twins(config)
    outcomes = state.outcomes
    bad = {n for n, o in outcomes.items() if o != "ok" and not o.startswith("skipped")}
    output_json["benchmarks"] = [b for b in output_json["benchmarks"]
                                 if b["fullname"] not in bad]
    recorded = {b["fullname"] for b in output_json["benchmarks"]}
    missing = [{"test": n, "reason": outcomes.get(n, "not run (interrupted)")}
               for n in state.selected if n not in recorded]
    output_json["mlp_twins"] = {"profile": state.profile.name, "missing": missing,
                                "complete": not missing}


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture
def open_runner():
    """``open_runner(backend_name, case)``: a warmed-up runner with threads pinned."""
    with contextlib.ExitStack() as stack:

        def _open(name, case):
            backend = REGISTRY[name]
            reason = backend.unavailable()
            if reason:
                pytest.skip(f"{name}: {reason}")
            stack.enter_context(pinned(case.threads))
            runner = backend.make(case)
            stack.callback(runner.close)
            return runner

        yield _open


@pytest.fixture
def round_budget(request):
    """``Budget(min_rounds, max_time)`` of this test's ``benchmark`` fixture, for
    ``bench.probe.timed``, which chooses its own rounds."""
    return pb.budget(request.config, request.node)


@pytest.fixture
def record(benchmark):
    """``record(group=..., backend=..., case=..., flops=..., ...)`` fills ``extra_info``;
    ``lib``, ``device`` and ``variant`` default to the registered backend's."""
    from .records import make_record

    def _record(**kw):
        b = REGISTRY.get(kw["backend"])
        if b is not None:
            for key in ("lib", "device", "variant"):
                kw.setdefault(key, getattr(b, key))
        median = None if benchmark.stats is None else float(benchmark.stats.stats.median)
        benchmark.extra_info.update(make_record(median=median, **kw))

    return _record


def pytest_generate_tests(metafunc):
    from .cases import parametrize

    parametrize(metafunc)


@pytest.fixture(scope="session")
def epoch_data(pytestconfig):
    """``(X float32 in [-1, 1], y int64)`` for the epoch group, per ``--data``."""
    import numpy as np

    from .grid import N_IN, N_OUT

    spec = pytestconfig.getoption("data")
    n = twins(pytestconfig).profile.epoch_samples
    if spec == "synthetic":
        rng = np.random.default_rng(0)
        X = rng.uniform(-1.0, 1.0, size=(n, N_IN)).astype(np.float32)
        return X, rng.integers(0, N_OUT, size=n)
    if spec.startswith("mnist:"):
        try:
            images, labels = load_mnist(spec.removeprefix("mnist:"), kind="t10k")
        except (OSError, ValueError) as e:
            raise pytest.UsageError(f"--data {spec}: {e}") from None
        X = (images[:n].astype(np.float32) / 255.0) * 2.0 - 1.0  # pixels to [-1, 1]
        return X, labels[:n].astype(np.int64)
    raise pytest.UsageError(f"--data {spec!r}: {DATA_HELP}")
