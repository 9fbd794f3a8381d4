r"""The gate's arithmetic: metrics, noise-derived thresholds, significance and verdicts.

A benchmark's *metric* is its median, expressed so that runs can be compared:

* ``relative``   (preferred, wherever the row has one) the median over rounds of the round's
                 time divided by the probe timed just before it (``bench/quiet/probe.py``: a GEMM
                 or copy of the same library, dtype and threads). The machine's drift (steal,
                 frequency, a neighbour) slows round and probe alike and cancels; a change to
                 the twins slows only the round. It holds while the same machine runs faster
                 or slower, not across CPUs (a step/probe ratio of the same code moved
                 17-135% between an AMD EPYC and an Intel Xeon VM).
* ``absolute``   the median in seconds, where the baseline's runs come from the same
                 machine (``gate/machine.py``'s fingerprint) and its GEMM calibration
                 is within ``CALIBRATION_TOLERANCE`` (not a slower host of the same kind);
* ``normalised`` the median times the run's own calibrated rate of the same library,
                 dtype and threads (GEMM GFLOP/s for compute groups, copy GB/s for the
                 activation group): for the same machine running slower or faster.

None of the three carries across machines (another CPU, BLAS kernel or library version):
the gate never compares runs of two machines (``gate/__main__.py`` refuses, or measures
the reference on this machine instead, ``gate/ab.py``).

Rows without a probe (epochs, multi-process steps) use absolute or normalised. A row the run
measured on a disturbed machine (``extra_info.disturbed``) gets the verdict "disturbed" and is
never judged on those samples; a baseline benchmark absent from the run is "skipped" where
the run says why (``mlp_twins.missing``), else "missing" (``gate/verdict.py`` decides).
Rows that do not time this project's code are shown (``info``) and never gated: copy rows
time the machine's memory, and ``REFERENCE_BACKENDS`` (scikit-learn) time other projects.

Per benchmark, ``threshold = max(floor, NOISE_K * noise)`` where ``noise`` is the largest
relative deviation of one run's metric from the median over the baseline's repeated runs of
unchanged code, and the floor is ``MIN_THRESHOLD[mode]``. A benchmark is a *suspect* when
its change exceeds its threshold and a one-sided Mann-Whitney U test on the raw per-round
samples says it is slower with ``p < ALPHA`` (not applied below ``MIN_SAMPLES`` rounds); a
suspect is a *regression* only if a re-run confirms it. Ratios between backends within one
run (``torch-cpu / numpy`` at the same case) are reported beside the table.

*Aggregates.* The geometric mean of a backend's changes over all its single-process training
steps of at least ``AGG_MIN_PARAMS`` parameters, per thread count, averages the rows' noise
down. Each aggregate is gated like a benchmark (its own noise from the baseline runs,
``AGG_NOISE_K`` times it, floor ``AGG_MIN_THRESHOLD[mode]``, re-run), so a backend made
uniformly 1.2x slower is caught even where no single row is.
"""

from __future__ import annotations

import statistics

import numpy as np
from scipy.stats import mannwhitneyu

from runfile import Run, RunFileError, check

from . import machine

MODES = check.MODES  # the metrics, named where the baseline's format is checked

# one row: never flag less (a few runs underrate a row's noise; times drift 10-40 % between
# processes on a shared VM, relative times a few %)
MIN_THRESHOLD = {"relative": 0.15, "absolute": 0.30, "normalised": 0.30}
NOISE_K = 5.0  # threshold = NOISE_K x the worst deviation seen between unchanged runs
AGG_MIN_PARAMS = 400_000  # backend aggregates: single-process steps of at least this size
AGG_MIN_MEMBERS = 2
AGG_NOISE_K = 3.0  # an aggregate's noise is an average's: better estimated, less heavy-tailed
AGG_MIN_THRESHOLD = {"relative": 0.10, "absolute": 0.15, "normalised": 0.15}
ALPHA = 0.01  # significance of the one-sided Mann-Whitney U test
MIN_SAMPLES = 5  # below this on either side the U test cannot reach ALPHA: not applied
REFERENCE_BACKENDS = ("sklearn",)  # other projects' code, timed for comparison: never gated


def short_name(bench: dict) -> str:
    return bench["name"]  # e.g. test_step[numpy-h1024-b256-f32-t2]


def fingerprint(run: Run) -> dict:
    """The machine that measured ``run`` (``gate/machine.py``)."""
    return machine.fingerprint(run.twins)


def rate(run: Run, rec: dict) -> float:
    """The calibrated rate a record's time is normalised by (GEMM GFLOP/s or copy GB/s)."""
    cal = run.calibration()
    lib = "numpy" if rec["lib"] != "torch" else "torch"
    if rec["group"] == "activation":
        rows = [c["gbps"] for c in cal.get("copy_gbps") or []
                if c["lib"] == lib and c["device"] == rec["device"]
                and c["threads"] == rec["threads"]]
    else:
        dtype = rec["dtype"] if rec["dtype"] in ("float32", "float64") else "float32"
        rows = [g["gflops"] for g in cal["gemm"]
                if g["lib"] == lib and g["device"] == rec["device"] and g["dtype"] == dtype
                and g["threads"] == rec["threads"]]
    if not rows:
        # no calibration at this thread count (e.g. a worker's share): the closest one
        rows = [g["gflops"] for g in cal["gemm"] if g["lib"] == lib]
    if not rows:
        raise RunFileError(f"{run.path}: machine_info.mlp_twins.calibration.gemm has no {lib} "
                           f"rate to normalise {rec['backend']} by")
    return max(rows)


def disturbed(bench: dict) -> bool:
    """The run marked this record disturbed (absent in older runs: not known to be)."""
    return bench["extra_info"].get("disturbed") is True


def evidence(bench: dict) -> str:
    """The disturbance evidence of a record in words."""
    e = bench["extra_info"]
    parts = []
    if e.get("busy_other") is not None:
        parts.append(f"other processes {e['busy_other']:.0%} of the CPU")
    if e.get("disturbance") is not None:
        parts.append(f"probe {e['disturbance']:.1f}x its quiet time")
    if e.get("reruns"):
        parts.append(f"{e['reruns']} re-run(s)")
    return ", ".join(parts) or "marked disturbed"


def has_relative(bench: dict) -> bool:
    e = bench["extra_info"]
    return e.get("relative") is not None and bool(e.get("probe_data"))


def gated(extra_info: dict) -> bool:
    """This project's code: not a copy row (the machine's memory) nor a reference
    implementation (scikit-learn); those are shown as ``info``, never gated."""
    return (extra_info.get("activation") != "copy"
            and extra_info.get("backend") not in REFERENCE_BACKENDS)


def samples(run: Run, bench: dict, mode: str) -> np.ndarray:
    data = np.asarray(bench["stats"].get("data") or [bench["stats"]["median"]], dtype=float)
    if mode == "relative":
        probe = np.asarray(bench["extra_info"]["probe_data"], dtype=float)
        return data[-len(probe):] / probe
    return data * rate(run, bench["extra_info"]) if mode == "normalised" else data


def metric(run: Run, bench: dict, mode: str) -> float:
    if mode == "relative":
        return float(bench["extra_info"]["relative"])
    m = bench["stats"]["median"]
    return m * rate(run, bench["extra_info"]) if mode == "normalised" else m


def thresholds_from_runs(runs: list, mode: str) -> dict:
    """``{name: (threshold, noise)}`` from repeated runs of unchanged code."""
    per = {}
    for run in runs:
        for b in run.benchmarks:
            if mode != "relative" or has_relative(b):
                per.setdefault(short_name(b), []).append(metric(run, b, mode))
    out = {}
    for name, values in per.items():
        if len(values) < len(runs):
            continue  # not in every run (relative: a run without probes)
        mid = statistics.median(values)
        noise = max(abs(v / mid - 1.0) for v in values)
        out[name] = (max(MIN_THRESHOLD[mode], NOISE_K * noise), noise)
    return out


def slower_p(now: np.ndarray, base: np.ndarray):
    """One-sided Mann-Whitney U p-value that ``now`` is stochastically larger than ``base``;
    None where there are too few samples for the test to mean anything (an epoch benchmark's
    3 rounds: the smallest p of 3 vs 3 is 0.05). Those rely on threshold and re-run alone."""
    if len(now) < MIN_SAMPLES or len(base) < MIN_SAMPLES:
        return None
    return float(mannwhitneyu(now, base, alternative="greater").pvalue)


def aggregate_members(benchmarks: dict) -> dict:
    """``{aggregate name: [benchmark names]}`` from ``{name: extra_info}``."""
    groups = {}
    for name, e in sorted(benchmarks.items()):
        if (e.get("group") == "step" and e.get("world_size", 1) == 1
                and e.get("n_params", 0) >= AGG_MIN_PARAMS):
            key = f"steps >= {AGG_MIN_PARAMS // 1000}k params [{e['backend']}-t{e['threads']}]"
            groups.setdefault(key, []).append(name)
    return {k: v for k, v in groups.items() if len(v) >= AGG_MIN_MEMBERS}


def geomean(values) -> float:
    return float(np.exp(np.mean(np.log(values))))


def _verdict(change, thr, p=None) -> str:
    if change > thr and (p is None or p < ALPHA):
        return "suspect"
    return "faster" if change < -thr else "ok"


def _missing(name: str, kind: str, mode: str, reason: str | None = None) -> dict:
    """A row without a measurement: "skipped" where the run says why (``reason``)."""
    return {"name": name, "kind": kind, "fullname": "", "node_ids": [], "mode": mode,
            "verdict": "skipped" if reason else "missing", "reason": reason or ""}


UNMEASURED = ("missing", "skipped")


CASE_KEYS = ("group", "backend", "layer_sizes", "dtype", "threads", "batch", "world_size",
             "variant", "activation", "pipeline")  # what a benchmark measures: its case


def same_case(run: Run, bench: dict, ref_info: dict) -> None:
    """A ``RunFileError`` when the run's record under a baseline benchmark's name describes
    another case than the baseline's (another backend, size, dtype, ...)."""
    info = bench["extra_info"]
    for key in CASE_KEYS:
        if info.get(key) != ref_info.get(key):
            raise RunFileError(
                f"{run.path}: benchmark {short_name(bench)!r}: extra_info.{key} is "
                f"{info.get(key)!r}; expected {ref_info.get(key)!r}, the baseline's record "
                "of that name (another case under the same name)")


def compare(baseline: dict, run: Run, mode: str | None = None) -> list:
    """One row per benchmark of the baseline, then one per aggregate: name, kind
    ("benchmark" or "aggregate"), fullname (a string: the pytest node id, or the aggregate's
    name), node_ids (what a re-run of the row runs), mode, base, now, change, threshold, p,
    verdict. ``mode`` is the timed mode of rows without a probe (default: ``choose_mode``);
    rows with a probe in both runs compare relative times."""
    mode = mode or choose_mode(baseline, run)
    by_name = {short_name(b): b for b in run.benchmarks}
    rows, skipped = [], run.skipped()
    for name, ref in sorted(baseline["benchmarks"].items()):
        b = by_name.get(name)
        if b is None:
            reason = skipped.get(name) or (None if gated(ref["extra_info"]) else
                                           "not in this run; never gated (not this project's "
                                           "code)")
            rows.append(_missing(name, "benchmark", mode, reason))
            continue
        same_case(run, b, ref["extra_info"])
        m = "relative" if "relative" in ref["metric"] and has_relative(b) else mode
        base_metric, now_metric = ref["metric"][m], metric(run, b, m)
        change = now_metric / base_metric - 1.0
        p = slower_p(samples(run, b, m), np.asarray(ref["samples"][m], dtype=float))
        thr = ref["threshold"][m]
        verdict = _verdict(change, thr, p) if gated(ref["extra_info"]) else "info"
        if disturbed(b) and verdict != "info":
            verdict = "disturbed"  # never judged on disturbed samples: re-run
        rows.append({"name": name, "kind": "benchmark", "fullname": b["fullname"],
                     "node_ids": [b["fullname"]], "mode": m,
                     "base": base_metric, "now": now_metric, "change": change,
                     "threshold": thr, "p": p, "verdict": verdict,
                     "reason": evidence(b) if disturbed(b) else ""})
    by_row = {r["name"]: r for r in rows}
    for agg, ref in sorted(baseline.get("aggregates", {}).items()):
        members = [by_row.get(n) for n in ref["members"]]
        gone = [m for m in members if m is None or m["verdict"] in UNMEASURED]
        if gone:
            why = all(m is not None and m["verdict"] == "skipped" for m in gone)
            rows.append(_missing(agg, "aggregate", mode, "members skipped" if why else None))
            continue
        rel = all(r["mode"] == "relative" for r in members) and "relative" in ref["threshold"]
        m = "relative" if rel else mode
        changes = [1.0 + r["change"] if rel else metric(run, by_name[r["name"]], mode)
                   / baseline["benchmarks"][r["name"]]["metric"][mode] for r in members]
        change = geomean(changes) - 1.0
        thr = ref["threshold"][m]
        noisy = [r["name"] for r in members if r["verdict"] == "disturbed"]
        rows.append({"name": agg, "kind": "aggregate", "fullname": agg,
                     "node_ids": [r["fullname"] for r in members], "mode": m,
                     "base": 1.0, "now": 1.0 + change, "change": change, "threshold": thr,
                     "p": None, "verdict": "disturbed" if noisy else _verdict(change, thr),
                     "reason": f"{len(noisy)} member(s) disturbed" if noisy else ""})
    return rows


CALIBRATION_TOLERANCE = 0.25  # same fingerprint but GEMM rates this far off: another host
# (the calibration itself moves by up to ~30 % between runs on a shared VM, hence so wide)


def gemm_key(g: dict) -> tuple:
    """What identifies one calibrated GEMM probe."""
    return g["lib"], g["device"], g["dtype"], g["threads"], g["m"], g["k"], g["n"]


def calibration_shift(baseline: dict, run: Run) -> float:
    """Geometric mean of run / baseline calibrated GEMM rates over the probes both have."""
    def rates(calibration):
        return {gemm_key(g): g["gflops"] for g in calibration["gemm"]}
    old, new = rates(baseline["machine_info"]["calibration"]), rates(run.calibration())
    common = sorted(set(old) & set(new))
    return geomean([new[k] / old[k] for k in common]) if common else float("nan")


def choose_mode(baseline: dict, run: Run, same_machine: bool = False) -> str:
    """Absolute times only for the same machine (same fingerprint, or ``same_machine``: an
    A/B, both sides measured here) *and* as fast as the baseline's (its GEMM calibration
    within ``CALIBRATION_TOLERANCE``); else normalised."""
    if not (same_machine or machine.same(baseline["fingerprint"], fingerprint(run))):
        return "normalised"
    shift = calibration_shift(baseline, run)
    return "absolute" if abs(shift - 1.0) <= CALIBRATION_TOLERANCE else "normalised"


def backend_ratios(run: Run, against: str = "numpy") -> dict:
    """``{case name: this backend's median / numpy's}`` within one run."""
    meds = {short_name(b): b["stats"]["median"] for b in run.benchmarks}
    out = {}
    for name, m in meds.items():
        func, _, rest = name.partition("[")
        for backend in ("torch-cpu", "torch-cuda"):
            if rest.startswith(backend + "-"):
                ref = f"{func}[{against}-{rest[len(backend) + 1:]}"
                if ref in meds:
                    out[name] = m / meds[ref]
    return out
