"""pytest hooks of the benchmark suite: profiles, the grid, calibration, and the run's JSON.

* ``pytest --benchmark-only`` runs exactly the benchmarks (``bench/``) in the ``quick``
  profile and writes ``results/runs/<UTC time>-<profile>.json``;
  ``--profile full`` (or ``BENCH_PROFILE=full``) runs the whole grid.
* plain ``pytest`` runs ``tests/`` plus the ``smoke`` profile of ``bench/`` with timing
  disabled: every benchmark runs once at its smallest size, so a broken one fails.
* The JSON is written at the end even after Ctrl-C or SIGTERM (at collection, calibration or a
  benchmark) or failures; benchmarks that produced no record are listed with the reason
  under ``"mlp_twins": {"missing": [...]}``, with ``complete`` and ``stopped_at``
  (``bench/suite/outcomes.py``); a benchmark whose post-timing check failed is dropped (a fast
  wrong answer is no result), and so are the partial rounds of one Ctrl-C cut short.
* Every record carries its disturbance evidence, and a disturbed benchmark is re-measured
  (``bench/quiet/disturbance.py``, ``bench/quiet/remeasure.py``); a run that starts on a busy
  machine says so in one line.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import time
from pathlib import Path

import pytest

from bench.backends import REGISTRY, load_all
from bench.measure import pb_options as pb
from bench.measure.environment import environment
from bench.quiet import cpuload
from bench.quiet.disturbance import busy_warning
from bench.quiet.remeasure import Remeasure
from bench.suite import grid, outcomes
from bench.suite.state import TWINS, Twins, twins
from core.mnist import load_mnist
from core.procs import available_cores
from core.threads import pinned
from runfile.schema import RESULTS_DIR, SUITE

DATA_HELP = ("input data of the epoch benchmarks: 'synthetic' (default, MNIST-shaped random "
             "data) or 'mnist:DIR' (the IDX files in DIR, e.g. t10k-images-idx3-ubyte.gz)")


def pytest_addoption(parser):
    g = parser.getgroup("mlp-twins", "mlp-twins benchmark suite")
    g.addoption("--profile", choices=grid.PROFILES, default=None,
                help="benchmark grid: smoke (plain pytest), quick (default with "
                     "--benchmark-only, ~3 min on 2 cores) or full (~15 min); "
                     "env BENCH_PROFILE sets the default")
    g.addoption("--backends", default=None, metavar="A,B",
                help="only these backends (comma-separated), e.g. numpy,torch-cpu")
    g.addoption("--data", default="synthetic", metavar="SPEC", help=DATA_HELP)
    g.addoption("--reverse-order", action="store_true",
                help="run the selected benchmarks in reverse order (bench.suite.launch does "
                     "so in every other launch, so that neither library always runs first)")


def _profile_name(config) -> str:
    name = config.getoption("profile") or os.environ.get("BENCH_PROFILE")
    if name is None:
        return "quick" if config.getoption("benchmark_only") else "smoke"
    if name not in grid.PROFILES:
        raise pytest.UsageError(f"BENCH_PROFILE={name!r}: choose one of {grid.PROFILES}")
    return name


def _read_data(spec: str) -> tuple | None:
    """``--data``, read once at start-up (a bad one is a usage error, not an ERROR in every
    epoch test): None for "synthetic", else the MNIST ``(images, labels)``."""
    if spec == "synthetic":
        return None
    if not spec.startswith("mnist:") or not spec.removeprefix("mnist:"):
        raise pytest.UsageError(f"--data {spec!r}: {DATA_HELP}")
    try:
        return load_mnist(spec.removeprefix("mnist:"), kind="t10k")
    except (OSError, ValueError) as e:
        raise pytest.UsageError(f"--data {spec}: {e}") from None


@pytest.hookimpl(tryfirst=True)  # before pytest-benchmark reads its options
def pytest_configure(config):
    prof = grid.profile(_profile_name(config))
    mnist = _read_data(config.getoption("data"))
    state = config.stash[TWINS] = Twins(profile=prof, mnist=mnist)
    config.pluginmanager.register(outcomes.Tracker(state), "twins-outcomes")
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
    if pb.timing_enabled(config) and not config.getoption("collectonly"):
        config.pluginmanager.register(Remeasure(state, lambda line: _say(config, line)),
                                      "twins-remeasure")
        state.old_sigterm = outcomes.stop_on_sigterm()


def pytest_unconfigure(config):
    state = config.stash.get(TWINS, None)
    if state is not None:
        outcomes.restore_sigterm(state.old_sigterm)


def _say(config, line: str, **markup) -> None:
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr:
        tr.write_line(line, **markup)


def pytest_collection_modifyitems(config, items):
    if config.getoption("reverse_order"):
        items.reverse()
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


@pytest.hookimpl(tryfirst=True)  # before pytest's own loop runs the benchmarks
def pytest_runtestloop(session):
    """Calibrate (after collection, so that Ctrl-C here still writes the run's JSON), and
    warn in one line when other processes keep the machine busy meanwhile."""
    config = session.config
    if (not pb.active(config) or not pb.timing_enabled(config)
            or config.getoption("collectonly") or not session.items
            or (session.testsfailed and not config.option.continue_on_collection_errors)):
        return
    import torch

    state = twins(config)
    state.stage = "calibration"
    prof = state.profile
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    t0 = time.perf_counter()
    _say(config, f"mlp-twins: profile {prof.name}; calibrating GEMM and copy rates "
                 f"(threads {list(prof.threads)}, devices {devices}) ...")
    from bench.measure.calibrate import calibrate

    with cpuload.watch() as w:
        state.calibration = calibrate(prof.dtypes, prof.threads, devices)
    _say(config, f"mlp-twins: calibrated in {time.perf_counter() - t0:.1f} s; "
                 f"results go to {pb.json_path(config)}")
    warning = busy_warning(w, available_cores(), cpuload.load_average())
    if warning:
        _say(config, warning, yellow=True)


def pytest_benchmark_update_machine_info(config, machine_info):
    info = environment()
    info["profile"] = twins(config).profile.name
    info["calibration"] = twins(config).calibration
    machine_info["mlp_twins"] = info


def pytest_benchmark_update_json(config, benchmarks, output_json):
    state = twins(config)
    state.json_written = True
    kept = outcomes.keep(output_json["benchmarks"], state.outcomes, state.cut_short)
    for b in kept:  # judged again, with every probe time of the run
        if b["extra_info"].get("suite") == SUITE:
            b["extra_info"].update(state.evidence.final(b["extra_info"], b["fullname"]))
    output_json["benchmarks"] = kept
    output_json["mlp_twins"] = outcomes.summary(state, kept)


def pytest_sessionfinish(session):
    """pytest-benchmark writes nothing when no benchmark finished: after Ctrl-C, write the
    run anyway, so that it says where it stopped."""
    config, state = session.config, twins(session.config)
    path = pb.json_path(config) if pb.active(config) else None
    if state.interrupted and path is not None and not state.json_written:
        outcomes.write_empty_run(config, path)
        _say(config, f"mlp-twins: interrupted at {state.stage}; wrote {path}")


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
    ``bench.quiet.probe.timed``, which chooses its own rounds."""
    return pb.budget(request.config, request.node)


@pytest.fixture
def record(benchmark, request):
    """``record(group=..., backend=..., case=..., flops=..., ...)`` fills ``extra_info``;
    ``lib``, ``device`` and ``variant`` default to the registered backend's. The
    disturbance verdict and re-run count come from the run's evidence."""
    from runfile.write import make_record

    def _record(**kw):
        b = REGISTRY.get(kw["backend"])
        if b is not None:
            for key in ("lib", "device", "variant"):
                kw.setdefault(key, getattr(b, key))
        median = None if benchmark.stats is None else float(benchmark.stats.stats.median)
        rec = make_record(median=median, **kw)
        rec.update(twins(request.config).evidence.observe(request.node.nodeid, rec))
        benchmark.extra_info.update(rec)

    return _record


def pytest_generate_tests(metafunc):
    from bench.suite.cases import parametrize

    parametrize(metafunc)


@pytest.fixture(scope="session")
def epoch_data(pytestconfig):
    """``(X float32 in [-1, 1], y int64)`` for the epoch group, per ``--data``."""
    import numpy as np

    from bench.suite.grid import N_IN, N_OUT

    state = twins(pytestconfig)
    n = state.profile.epoch_samples
    if state.mnist is None:  # --data synthetic: pixels' range, uniform labels
        rng = np.random.default_rng(0)
        X = rng.uniform(-1.0, 1.0, size=(n, N_IN)).astype(np.float32)
        return X, rng.integers(0, N_OUT, size=n)
    images, labels = state.mnist  # read and checked once, by pytest_configure
    X = (images[:n].astype(np.float32) / 255.0) * 2.0 - 1.0  # pixels to [-1, 1]
    return X, labels[:n].astype(np.int64)
