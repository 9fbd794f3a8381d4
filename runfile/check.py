"""Field-level checks of a run and of the gate's baseline, for ``runfile/``.

    from runfile.check import check_record, check_run_meta, check_baseline
    check_record(problem, record_name, extra_info, stats)  # problem(field, value, expected)

Every check names the field and says what was expected; ``runfile`` turns that into one
``RunFileError`` line naming the file. A value that no measurement can produce (a batch of
0, a NaN or infinite time, a negative count, a share outside 0..1) is refused, not passed on.
"""

from __future__ import annotations

import math
import statistics

from core.flops import forward_flops, step_flops
from core.spec import n_params
from runfile.ids import check_backend
from runfile.schema import (
    ACTIVATION_KINDS,
    BACKENDS,
    BUSY_OTHER_MAX,
    DATA_KINDS,
    DEVICES,
    DISTURBANCE_MAX,
    GROUPS,
    LIBS,
    PIPELINES,
    PROFILES,
    RECORD_DTYPES,
)

MODES = ("relative", "absolute", "normalised")  # the gate's metrics (``gate/compare.py``)
REL_TOL = 1e-9  # a statistic recomputed from stats.data agrees to this relative tolerance
# extra_info's derived numbers, recomputed (flops from the group, layer_sizes and batch;
# samples_per_s as samples / stats.median), agree to this relative tolerance: the bench
# computes them from the same numbers (runfile/write.py make_record), off by rounding only
DERIVED_REL_TOL = 1e-9
CPU_ONLY_BACKENDS = ("numpy", "numpy-mp")  # NumPy runs on the CPU only


# ------------------------------------------------------------------ predicates: value -> ok
def _num(v) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    if isinstance(v, int):
        return abs(v) < 2**1024  # what a float can hold (float(10**400) overflows)
    return math.isfinite(v)


def _int(v) -> bool:
    return isinstance(v, int) and _num(v)  # a JSON integer: 2, not 2.0


def _unicode(v: str) -> bool:
    try:
        v.encode("utf-8")  # a lone surrogate ("\ud800") is not text
    except UnicodeEncodeError:
        return False
    return True


def _text(v) -> bool:
    return isinstance(v, str) and v != "" and _unicode(v)


def _list(pred):
    return lambda v: isinstance(v, list) and all(pred(x) for x in v)


def _or_null(pred):
    return lambda v: v is None or pred(v)


POSITIVE = (lambda v: _num(v) and v > 0, "a finite number > 0")
NON_NEGATIVE = (lambda v: _num(v) and v >= 0, "a finite number >= 0")
COUNT = (lambda v: _int(v) and v >= 1, "an integer >= 1")
NON_NEG_INT = (lambda v: _int(v) and v >= 0, "an integer >= 0")
TEXT = (_text, "a non-empty string (UTF-8 text)")
SHARE = (lambda v: _num(v) and 0.0 <= v <= 1.0, "a share from 0 to 1")
BOOL = (lambda v: isinstance(v, bool), "true or false")
COMMIT = (lambda v: isinstance(v, str) and len(v) == 40
          and all(c in "0123456789abcdef" for c in v), "a full git commit id (40 hex digits)")


def null_or(spec):
    return _or_null(spec[0]), f"null or {spec[1]}"


def list_of(spec, non_empty=False):
    return ((lambda v: _list(spec[0])(v) and (bool(v) or not non_empty)),
            f"a {'non-empty ' if non_empty else ''}list, each {spec[1]}")


OBJECT = (lambda v: isinstance(v, dict), "an object")
STRING = (lambda v: isinstance(v, str) and _unicode(v), "a string (UTF-8 text)")  # may be ""
MAX_LAUNCHES = 1000  # far above any run's launches; a reader loops over them
LAUNCH_COUNT = (lambda v: isinstance(v, int) and not isinstance(v, bool)
                and 1 <= v <= MAX_LAUNCHES, f"an integer from 1 to {MAX_LAUNCHES}")


def _close(a, b, tol=REL_TOL) -> bool:
    return abs(a - b) <= tol * max(abs(a), abs(b))


def one_of(words):
    return (lambda v: isinstance(v, str) and v in words), f"one of {', '.join(words)}"


# extra_info: required keys, then optional ones (absent is fine; present must be right)
RECORD = {"group": one_of(GROUPS), "backend": one_of(BACKENDS), "lib": one_of(LIBS),
          "device": one_of(DEVICES), "dtype": one_of(RECORD_DTYPES),
          "threads": COUNT, "world_size": COUNT, "batch": COUNT, "n_params": NON_NEG_INT,
          "flops": NON_NEGATIVE, "layer_sizes": list_of(COUNT)}
RECORD_OPTIONAL = {
    "bytes": null_or(NON_NEGATIVE), "samples_per_s": null_or(NON_NEGATIVE),
    "peak_mem_bytes": null_or(NON_NEGATIVE), "pipeline": null_or(one_of(PIPELINES)),
    "input_s": null_or(NON_NEGATIVE), "activation": null_or(one_of(ACTIVATION_KINDS)),
    "variant": null_or(TEXT), "gemm_s": null_or(POSITIVE), "n_samples": null_or(COUNT),
    "data": null_or(one_of(DATA_KINDS)),
    "probe_data": null_or(list_of(POSITIVE)), "relative": null_or(POSITIVE),
    # disturbance evidence (absent in older runs: unknown, read as not disturbed)
    "busy_other": null_or(SHARE), "disturbance": null_or(POSITIVE), "disturbed": BOOL,
    "reruns": NON_NEG_INT}
STATS = {"median": POSITIVE}
STATS_OPTIONAL = {"iqr": NON_NEGATIVE, "q1": NON_NEGATIVE, "q3": NON_NEGATIVE,
                  "min": POSITIVE, "max": POSITIVE, "rounds": COUNT,
                  "mean": POSITIVE, "stddev": NON_NEGATIVE, "ops": POSITIVE, "total": POSITIVE,
                  "data": list_of(POSITIVE, non_empty=True)}


def check_fields(problem, prefix: str, doc: dict, required: dict, optional: dict) -> None:
    """``problem(field, value, expected)`` for the first key of ``doc`` that is absent (from
    ``required``) or not what its spec expects."""
    for key, (ok, what) in required.items():
        if key not in doc:
            problem(f"{prefix}{key}", "absent", what)
        if not ok(doc[key]):
            problem(f"{prefix}{key}", doc[key], what)
    for key, (ok, what) in optional.items():
        if key in doc and not ok(doc[key]):
            problem(f"{prefix}{key}", doc[key], what)


def check_record(problem, info: dict, stats) -> None:
    """One benchmark's ``extra_info`` and ``stats``."""
    check_fields(problem, "extra_info.", info, RECORD, RECORD_OPTIONAL)
    sizes = info["layer_sizes"]
    if sizes and (len(sizes) < 2 or info["n_params"] != n_params(sizes)):
        problem("extra_info.n_params", info["n_params"],
                f"{n_params(sizes) if len(sizes) >= 2 else '?'} for layer_sizes {sizes}")
    if not isinstance(stats, dict):
        problem("stats", stats, "an object with the timing statistics")
    check_fields(problem, "stats.", stats, STATS, STATS_OPTIONAL)
    if not stats.get("q1", 0) <= stats["median"] <= stats.get("q3", float("inf")):
        problem("stats.median", stats["median"],
                f"a value between q1 {stats.get('q1')!r} and q3 {stats.get('q3')!r}")
    data = stats.get("data")
    if data is not None and "rounds" in stats and stats["rounds"] != len(data):
        problem("stats.rounds", stats["rounds"], f"the number of stats.data ({len(data)})")
    if data is not None:
        _check_stats_data(problem, stats, data)
    probe = info.get("probe_data")
    if probe is not None and (data is None or len(probe) != len(data)):
        # one probe per timed round: the gate's relative metric divides round i by probe i
        problem("extra_info.probe_data", f"{len(probe)} samples",
                f"one per timed round ({'no stats.data' if data is None else len(data)})")
    relative = info.get("relative")
    if probe is not None and relative is None:
        problem("extra_info.relative", relative if "relative" in info else "absent",
                "the median of round / probe, with extra_info.probe_data")
    if relative is not None and probe is None:
        problem("extra_info.probe_data", probe if "probe_data" in info else "absent",
                "the probe times extra_info.relative was computed from")
    if probe is not None:
        want = statistics.median(t / p for t, p in zip(data, probe))
        if not _close(relative, want):
            problem("extra_info.relative", relative,
                    f"the median of stats.data / extra_info.probe_data ({want!r})")
    _check_disturbed(problem, info)
    _check_vocabulary(problem, info)
    _check_flops(problem, "extra_info.", info)  # derived numbers last: their inputs are right
    samples = _samples(info)
    rate = info.get("samples_per_s")
    if rate is not None and samples is not None:
        want = samples / stats["median"]
        if not _close(rate, want, DERIVED_REL_TOL):
            problem("extra_info.samples_per_s", rate,
                    f"{'extra_info.n_samples' if info['group'] == 'epoch' else 'batch'} / "
                    f"stats.median ({want!r}) within {DERIVED_REL_TOL:g}")


def _samples(info: dict):
    """The samples one timed call processes (``make_record``'s ``samples``): the epoch's
    ``n_samples`` (None if not recorded), else the ``batch``."""
    return info.get("n_samples") if info["group"] == "epoch" else info["batch"]


def expected_flops(info: dict):
    """The FLOPs the bench records for ``info`` (``bench/bench_*.py``): a training step's
    (``core.flops.step_flops``), a forward's, an epoch's (its full batches and the short last
    one), none for an activation; ``None`` where it cannot be known (an epoch without
    ``n_samples``)."""
    group, sizes, batch = info["group"], info["layer_sizes"], info["batch"]
    if group == "activation" or not sizes:
        return 0
    if group == "forward":
        return forward_flops(sizes, batch)
    if group == "epoch":
        n = info.get("n_samples")
        if n is None:
            return None
        full, rest = divmod(n, batch)
        return full * step_flops(sizes, batch) + (step_flops(sizes, rest) if rest else 0)
    return step_flops(sizes, batch)


def _check_flops(problem, prefix: str, info: dict) -> None:
    want = expected_flops(info)
    if want is not None and not _close(info["flops"], want, DERIVED_REL_TOL):
        problem(f"{prefix}flops", info["flops"],
                f"{want:,}, the {info['group']} FLOPs of layer_sizes {info['layer_sizes']} at "
                f"batch {info['batch']}")


def _check_stats_data(problem, stats: dict, data: list) -> None:
    """median, min, max, q1, q3 and iqr agree with the rounds they summarise (pytest-benchmark
    computes them from ``data``)."""
    want = statistics.median(data)
    if not _close(stats["median"], want):
        problem("stats.median", stats["median"], f"the median of stats.data ({want!r})")
    low, high = min(data), max(data)
    for key, value in (("min", low), ("max", high)):
        if key in stats and not _close(stats[key], value):
            problem(f"stats.{key}", stats[key], f"the {key} of stats.data ({value!r})")
    for key in ("q1", "q3"):
        if key in stats and not (low * (1 - REL_TOL) <= stats[key] <= high * (1 + REL_TOL)):
            problem(f"stats.{key}", stats[key],
                    f"a value within stats.data ({low!r} to {high!r})")
    if all(k in stats for k in ("iqr", "q1", "q3")):
        want = stats["q3"] - stats["q1"]
        if abs(stats["iqr"] - want) > REL_TOL * stats["q3"]:
            problem("stats.iqr", stats["iqr"], f"q3 - q1 ({want!r})")
    _check_moments(problem, stats, data)


def _check_moments(problem, stats: dict, data: list) -> None:
    """mean, stddev, total and ops, where present, as pytest-benchmark computes them from
    ``data`` (mean, sample standard deviation (0 for one round), sum, rounds / sum), within
    ``REL_TOL`` (a standard deviation within ``REL_TOL`` of the mean); recomputed with
    ``math.fsum``, a rounding away from ``statistics``' exact sums and far faster."""
    if not any(k in stats for k in ("mean", "stddev", "total", "ops")):
        return
    n = len(data)
    try:
        total = math.fsum(data)
        mean = total / n
        squares = math.fsum((x - mean) * (x - mean) for x in data)
    except OverflowError:  # seconds no clock measures
        problem("stats.data", f"{n} rounds", "times whose sums a float can hold")
    for key, want, what in (("mean", mean, "the mean"), ("total", total, "the sum"),
                            ("ops", n / total, "the rounds per second (rounds / sum)")):
        if key in stats and not _close(stats[key], want):
            problem(f"stats.{key}", stats[key], f"{what} of stats.data ({want!r})")
    stddev = math.sqrt(squares / (n - 1)) if n > 1 else 0.0
    if "stddev" in stats and abs(stats["stddev"] - stddev) > REL_TOL * max(stddev, mean):
        problem("stats.stddev", stats["stddev"],
                f"the standard deviation of stats.data ({stddev!r})")


def _check_disturbed(problem, info: dict) -> None:
    """``disturbed`` agrees with its evidence: above a threshold is disturbed (true with quiet
    evidence is allowed: a record judged again with later probes)."""
    busy, ratio = info.get("busy_other"), info.get("disturbance")
    above = []
    if busy is not None and busy > BUSY_OTHER_MAX:
        above.append(f"busy_other {busy!r} > {BUSY_OTHER_MAX}")
    if ratio is not None and ratio > DISTURBANCE_MAX:
        above.append(f"disturbance {ratio!r} > {DISTURBANCE_MAX}")
    if above and info.get("disturbed") is not True:
        problem("extra_info.disturbed", info["disturbed"] if "disturbed" in info else "absent",
                f"true (its evidence: {', '.join(above)})")


def _check_vocabulary(problem, info: dict) -> None:
    """The words that belong to one group only, and the devices a backend can run on."""
    group = info["group"]
    for key, owner, words in (("pipeline", "epoch", PIPELINES),
                              ("activation", "activation", ACTIVATION_KINDS)):
        value = info.get(key)
        if group == owner and value is None:
            problem(f"extra_info.{key}", value if key in info else "absent",
                    f"one of {', '.join(words)} for group {owner!r}")
        if group != owner and value is not None:
            problem(f"extra_info.{key}", value, f"null for group {group!r} (only {owner!r})")
    if info.get("data") is not None and group != "epoch":
        problem("extra_info.data", info["data"], f"null for group {group!r} (only 'epoch')")
    if info["device"] == "cuda" and info["backend"] in CPU_ONLY_BACKENDS:
        problem("extra_info.device", info["device"],
                f"cpu for backend {info['backend']!r} (NumPy runs on the CPU)")
    check_backend(problem, info)


# ---------------------------------------------------------------- run-level metadata
GEMM = {"lib": one_of(LIBS), "device": one_of(DEVICES), "dtype": one_of(RECORD_DTYPES),
        "threads": COUNT, "m": COUNT, "k": COUNT, "n": COUNT, "gflops": POSITIVE}
GEMM_OPTIONAL = {"variant": null_or((lambda v: isinstance(v, str) and _unicode(v), "a string"))}
COPY = {"lib": one_of(LIBS), "device": one_of(DEVICES), "threads": COUNT, "gbps": POSITIVE}
MISSING = {"test": TEXT, "reason": TEXT}


def _entries(problem, prefix: str, value, spec: dict, optional=None) -> None:
    if not isinstance(value, list):
        problem(prefix, value, "a list")
    for i, entry in enumerate(value):
        if not isinstance(entry, dict):
            problem(f"{prefix}[{i}]", entry, "an object")
        check_fields(problem, f"{prefix}[{i}].", entry, spec, optional or {})


def check_calibration(problem, prefix: str, cal, cores=None) -> None:
    """``{"gemm": [...], "copy_gbps": [...]}`` (null is allowed by the caller); no probe at
    more threads than the machine's ``cores`` (where known)."""
    if not isinstance(cal, dict):
        problem(prefix, cal, "an object with 'gemm' and 'copy_gbps' lists")
    _entries(problem, f"{prefix}.gemm", cal.get("gemm"), GEMM, GEMM_OPTIONAL)
    if not cal["gemm"]:
        problem(f"{prefix}.gemm", cal["gemm"], "at least one calibrated GEMM rate")
    _unique(problem, f"{prefix}.gemm", cal["gemm"], GEMM_KEY)
    if cal.get("copy_gbps") is not None:
        _entries(problem, f"{prefix}.copy_gbps", cal["copy_gbps"], COPY)
        _unique(problem, f"{prefix}.copy_gbps", cal["copy_gbps"], COPY_KEY)
    for key in ("gemm", "copy_gbps") if cores is not None else ():
        for i, entry in enumerate(cal.get(key) or []):
            if entry["threads"] > cores:
                problem(f"{prefix}.{key}[{i}].threads", entry["threads"],
                        f"at most {cores}, the machine's cores (mlp_twins.cores)")


GEMM_KEY = ("lib", "device", "dtype", "threads", "m", "k", "n", "variant")  # one probe
COPY_KEY = ("lib", "device", "threads")


def _unique(problem, prefix: str, entries: list, key: tuple) -> None:
    """Each probe once: two rates for one probe would leave the reader to pick one."""
    seen = {}
    for i, entry in enumerate(entries):
        k = tuple(entry.get(name) for name in key)
        if k in seen:
            problem(f"{prefix}[{i}]", {n: v for n, v in zip(key, k) if v is not None},
                    f"a probe not measured before ({prefix}[{seen[k]}] is the same probe)")
        seen[k] = i


def check_calibrated(problem, prefix: str, cal, records: list) -> None:
    """Every record of a launch with a calibration (``cal``, not null) has a GEMM rate of its
    library (``gate/compare.py`` normalises by the closest one, on another device, thread
    count or dtype if it must, never by another library's)."""
    have = {(g["lib"],) for g in cal["gemm"]}
    for name, info in records:
        want = (info["lib"],)
        if info["group"] != "activation" and want not in have:
            problem(f"{prefix}.gemm", f"{len(cal['gemm'])} rates",
                    f"a {'/'.join(want)} rate, for benchmark {name!r}")


def _object(problem, field: str, value, allow_none=True) -> dict:
    if value is None and allow_none:
        return {}
    if not isinstance(value, dict):
        problem(field, value, "an object")
    return value


# machine facts that decide which machine a run is of (``gate/machine.py``): absent is
# unknown, present must be right
MACHINE_FACTS = {"cpu_model": null_or(TEXT), "cpu_id": null_or(TEXT),
                 "cpu_flags": null_or(list_of(TEXT)), "cores": null_or(COUNT),
                 "python": null_or(TEXT), "numpy": null_or(TEXT), "torch": null_or(TEXT),
                 "torch_config": null_or(list_of(TEXT))}


def check_machine(problem, prefix: str, twins: dict) -> None:
    """The facts of a machine description: ``MACHINE_FACTS``, BLAS pools (each at >= 1
    thread), GPU."""
    check_fields(problem, prefix + ".", twins, {}, MACHINE_FACTS)
    blas = twins.get("blas")
    if blas is not None and not (isinstance(blas, list)
                                 and all(isinstance(b, dict) for b in blas)):
        problem(f"{prefix}.blas", blas, "a list of objects (threadpoolctl's)")
    for i, pool in enumerate(blas or []):
        check_fields(problem, f"{prefix}.blas[{i}].", pool, {}, {"num_threads": COUNT})
    gpu = twins.get("gpu")
    if gpu is not None:  # null: no GPU; an object names it
        _object(problem, f"{prefix}.gpu", gpu, allow_none=False)
        check_fields(problem, f"{prefix}.gpu.", gpu, {"name": TEXT}, {})


def _check_cores(problem, machine: dict, twins: dict) -> None:
    """The cores the run could use (``mlp_twins.cores``, its affinity mask: a cgroup may give
    fewer) are at most the machine's (``machine_info.cpu.count``)."""
    cpu = machine.get("cpu")
    count = cpu.get("count") if isinstance(cpu, dict) else None
    if count is not None and not COUNT[0](count):
        problem("machine_info.cpu.count", count, COUNT[1])
    cores = twins.get("cores")
    if cores is not None and count is not None and cores > count:
        problem("machine_info.mlp_twins.cores", cores,
                f"at most machine_info.cpu.count ({count}), the machine's logical CPUs")


PROFILE = null_or(one_of(PROFILES))


def check_run_meta(problem, doc: dict) -> None:
    """``machine_info``, its ``mlp_twins`` (facts, calibration, blas, gpu) and the run's own
    ``mlp_twins`` block (profile, missing, complete, stopped_at, launches)."""
    machine = _object(problem, "machine_info", doc.get("machine_info"))
    twins = _object(problem, "machine_info.mlp_twins", machine.get("mlp_twins"))
    check_machine(problem, "machine_info.mlp_twins", twins)
    _check_cores(problem, machine, twins)
    check_fields(problem, "machine_info.", machine, {}, {"node": null_or(STRING)})
    check_fields(problem, "machine_info.mlp_twins.", twins, {}, {"profile": PROFILE})
    if twins.get("calibration") is not None:
        check_calibration(problem, "machine_info.mlp_twins.calibration", twins["calibration"],
                          twins.get("cores"))
    others = twins.get("launch_calibrations")
    if others is not None:
        if not isinstance(others, list):
            problem("machine_info.mlp_twins.launch_calibrations", others, "a list")
        for i, cal in enumerate(others):
            if cal is not None:
                check_calibration(problem, f"machine_info.mlp_twins.launch_calibrations[{i}]",
                                  cal, twins.get("cores"))
    extra = _object(problem, "mlp_twins", doc.get("mlp_twins"))
    if extra.get("missing") is not None:
        _entries(problem, "mlp_twins.missing", extra["missing"], MISSING)
    check_fields(problem, "mlp_twins.", extra, {}, {"profile": PROFILE,
                                                      "complete": null_or(BOOL),
                                                      "stopped_at": null_or(TEXT),
                                                      "launches": null_or(LAUNCH_COUNT)})


def check_run_records(problem, doc: dict, records: list) -> None:
    """What the run-level blocks say about its records (``records``: ``(name, extra_info)``,
    validated): no benchmark both missing and present in one launch, none missing twice;
    ``complete`` only without a stop and with nothing missing but skips (``runfile/schema.py``);
    each launch's calibration covers its records."""
    extra = doc.get("mlp_twins") or {}
    launches = extra.get("launches") or 1
    present = {(name, info.get("launch", 0)) for name, info in records}
    seen = {}
    for i, m in enumerate(extra.get("missing") or []):
        at = f"mlp_twins.missing[{i}]"
        launch = m.get("launch", 0)
        if not (isinstance(launch, int) and not isinstance(launch, bool)
                and 0 <= launch < launches):
            problem(f"{at}.launch", launch, f"a launch from 0 to {launches - 1}")
        key = (m["test"].rpartition("::")[2], launch)
        if key in present:
            problem(f"{at}.test", m["test"], f"a benchmark without a record (launch {launch} "
                    f"has a record of {key[0]!r})")
        if key in seen:
            problem(f"{at}.test", m["test"], f"a benchmark missing once (mlp_twins.missing"
                    f"[{seen[key]}] names it in launch {launch})")
        seen[key] = i
        if extra.get("complete") is True and not m["reason"].startswith("skipped"):
            problem("mlp_twins.complete", True, f"false: {at}.reason is {m['reason']!r}, "
                    f"not a skip")
    if extra.get("complete") is True and extra.get("stopped_at") is not None:
        problem("mlp_twins.complete", True,
                f"false: the run was stopped (mlp_twins.stopped_at {extra['stopped_at']!r})")
    twins = (doc.get("machine_info") or {}).get("mlp_twins") or {}
    _check_launches(problem, extra, twins.get("launch_calibrations"),
                    {launch for _, launch in [*present, *seen]})
    cals = [("machine_info.mlp_twins.calibration", twins.get("calibration"))]
    cals += [(f"machine_info.mlp_twins.launch_calibrations[{k}]", cal)
             for k, cal in enumerate(twins.get("launch_calibrations") or [])]
    for launch, (prefix, cal) in enumerate(cals):
        if cal is not None:
            check_calibrated(problem, prefix, cal, [(name, info) for name, info in records
                                                    if info.get("launch", 0) == launch])


def _check_launches(problem, extra: dict, others, measured: set) -> None:
    """A run of ``launches`` launches: ``launch_calibrations`` (``others``) only with it, one
    per launch after the first; every launch has a record or a missing entry (``measured``:
    the launches that have either), unless the run was stopped."""
    count = extra.get("launches")
    at = "machine_info.mlp_twins.launch_calibrations"
    if others is not None and count is None:
        problem(at, f"{len(others)} calibrations", "absent: the run has no mlp_twins.launches")
    if others is not None and len(others) != count - 1:
        problem(at, f"{len(others)} calibrations", f"{count - 1}, one per launch after the "
                f"first (mlp_twins.launches is {count})")
    if extra.get("stopped_at") is not None:
        return  # a launch the stop cut off before any benchmark left nothing to say
    for k in range(count or 1):
        if k not in measured:
            problem("mlp_twins.launches", count, f"a benchmark or a mlp_twins.missing entry in "
                    f"every launch (launch {k} has no benchmark)")


# ---------------------------------------------------------------------- the baseline
def _per_mode(problem, prefix: str, value, spec, non_empty=True) -> dict:
    if not isinstance(value, dict) or (non_empty and not value):
        problem(prefix, value, "an object of {mode: value}")
    for mode, v in value.items():
        if mode not in MODES:
            problem(f"{prefix}.{mode}", v, f"one of the modes {', '.join(MODES)}")
        if not spec[0](v):
            problem(f"{prefix}.{mode}", v, spec[1])
    return value


def check_baseline(problem, doc: dict) -> None:
    """The baseline's fields (``gate/baseline.py`` writes them): per benchmark a positive
    metric, threshold and samples for the same modes, its record; per aggregate its members
    and thresholds."""
    _object(problem, "fingerprint", doc["fingerprint"], allow_none=False)
    ident = _object(problem, "machine", doc["machine"], allow_none=False)
    check_fields(problem, "machine.", ident, {"id": TEXT, "label": TEXT}, {})
    commit = _object(problem, "commit", doc["commit"], allow_none=False)
    check_fields(problem, "commit.", commit, {"id": null_or(COMMIT), "dirty": null_or(BOOL)},
                 {"note": TEXT})
    machine = _object(problem, "machine_info", doc["machine_info"], allow_none=False)
    check_machine(problem, "machine_info", machine)
    check_calibration(problem, "machine_info.calibration", machine.get("calibration"),
                      machine.get("cores"))
    check_fields(problem, "", doc, {"pytest_args": list_of(TEXT), "runs": COUNT}, {})
    benches = _object(problem, "benchmarks", doc["benchmarks"], allow_none=False)
    if not benches:
        problem("benchmarks", benches, "at least one benchmark")
    for name, ref in benches.items():
        at = f"benchmarks[{name!r}]"
        _object(problem, at, ref, allow_none=False)
        check_fields(problem, f"{at}.", ref, {"metric": OBJECT, "extra_info": OBJECT}, {})
        metric = _per_mode(problem, f"{at}.metric", ref["metric"], POSITIVE)
        for key, spec in (("threshold", POSITIVE), ("noise", NON_NEGATIVE),
                          ("samples", list_of(POSITIVE, non_empty=True))):
            got = _per_mode(problem, f"{at}.{key}", ref.get(key), spec)
            if set(got) != set(metric):
                problem(f"{at}.{key}", sorted(got), f"the modes of its metric {sorted(metric)}")
        check_fields(problem, f"{at}.extra_info.", ref["extra_info"], RECORD, RECORD_OPTIONAL)
        _check_flops(problem, f"{at}.extra_info.", ref["extra_info"])
    aggregates = _object(problem, "aggregates", doc["aggregates"], allow_none=False)
    for name, ref in aggregates.items():
        at = f"aggregates[{name!r}]"
        _object(problem, at, ref, allow_none=False)
        members = ref.get("members")
        if not (isinstance(members, list) and members and all(m in benches for m in members)):
            problem(f"{at}.members", members, "a non-empty list of the baseline's benchmarks")
        _per_mode(problem, f"{at}.threshold", ref.get("threshold"), POSITIVE)
        _per_mode(problem, f"{at}.noise", ref.get("noise"), NON_NEGATIVE)
