r"""The gate's arithmetic: metrics, noise-derived thresholds, significance and verdicts.

A benchmark's *metric* is its median time, expressed so that runs can be compared:

* ``absolute``   the median in seconds, used only when both runs come from the same
                 environment (same fingerprint: CPU model, cores, NumPy, torch, BLAS);
* ``normalised`` the median times the run's own calibrated rate of the same library,
                 dtype and threads (GEMM GFLOP/s for compute groups, copy GB/s for the
                 activation group): a time in "units of the machine's own peak work",
                 the inverse of an efficiency. It holds on a faster or slower machine.

Per benchmark, ``threshold = max(MIN_THRESHOLD, NOISE_K * noise)`` where ``noise`` is the
largest relative deviation of one run's median from the median of medians over the
baseline's repeated runs of unchanged code. A benchmark is a *suspect* when its change
exceeds its threshold and a one-sided Mann-Whitney U test on the raw per-round samples
says it is slower with ``p < ALPHA`` (not applied below ``MIN_SAMPLES`` rounds); a suspect
is a *regression* only if a re-run confirms it. Ratios between backends within one run
(``torch-cpu / numpy`` at the same case) are machine-independent too and are reported
beside the table.

*Aggregates.* One benchmark's noise on a shared machine can be 10-40 %, too much to see a
1.2x slowdown in; the geometric mean of a backend's changes over all its single-process
training steps of at least ``AGG_MIN_PARAMS`` parameters, per thread count, averages that
noise down. Each such aggregate is gated like a benchmark (its own noise from the baseline
runs, ``AGG_NOISE_K`` times it as threshold, re-run), so a backend made uniformly slower is
caught even where no single row is.
"""

from __future__ import annotations

import copy
import math
import statistics

import numpy as np
from scipy.stats import mannwhitneyu

MIN_THRESHOLD = 0.25  # one row: never flag less (3 runs underrate a row's noise on a VM)
NOISE_K = 5.0  # threshold = NOISE_K x the worst deviation seen between unchanged runs
AGG_MIN_PARAMS = 400_000  # backend aggregates: single-process steps of at least this size
AGG_MIN_MEMBERS = 2
AGG_NOISE_K = 3.0  # an aggregate's noise is an average's: better estimated, less heavy-tailed
AGG_MIN_THRESHOLD = 0.10  # and its floor
ALPHA = 0.01  # significance of the one-sided Mann-Whitney U test
MAX_SAMPLES = 200  # raw samples kept per benchmark in the baseline
MIN_SAMPLES = 5  # below this on either side the U test cannot reach ALPHA: not applied
FINGERPRINT_KEYS = ("cpu_model", "cores", "numpy", "torch")


def short_name(bench: dict) -> str:
    return bench["name"]  # e.g. test_step[numpy-h1024-b256-f32-t2]


def fingerprint(run: dict) -> dict:
    info = run["machine_info"]["mlp_twins"]
    fp = {k: info.get(k) for k in FINGERPRINT_KEYS}
    fp["blas"] = sorted(f"{p.get('internal_api')} {p.get('version')}" for p in info["blas"]
                        if p.get("user_api") == "blas")
    fp["gpu"] = (info.get("gpu") or {}).get("name")
    return fp


def rate(run: dict, rec: dict) -> float:
    """The calibrated rate a record's time is normalised by (GEMM GFLOP/s or copy GB/s)."""
    cal = run["machine_info"]["mlp_twins"]["calibration"]
    lib = "numpy" if rec["lib"] != "torch" else "torch"
    if rec["group"] == "activation":
        rows = [c["gbps"] for c in cal["copy_gbps"]
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
    return max(rows)


def samples(run: dict, bench: dict, mode: str) -> np.ndarray:
    data = np.asarray(bench["stats"].get("data") or [bench["stats"]["median"]], dtype=float)
    return data * rate(run, bench["extra_info"]) if mode == "normalised" else data


def metric(run: dict, bench: dict, mode: str) -> float:
    m = bench["stats"]["median"]
    return m * rate(run, bench["extra_info"]) if mode == "normalised" else m


def thresholds_from_runs(runs: list, mode: str) -> dict:
    """``{name: (threshold, noise)}`` from repeated runs of unchanged code."""
    per = {}
    for run in runs:
        for b in run["benchmarks"]:
            per.setdefault(short_name(b), []).append(metric(run, b, mode))
    out = {}
    for name, values in per.items():
        if len(values) < 2:
            continue
        mid = statistics.median(values)
        noise = max(abs(v / mid - 1.0) for v in values)
        out[name] = (max(MIN_THRESHOLD, NOISE_K * noise), noise)
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


def _geomean(values) -> float:
    return float(np.exp(np.mean(np.log(values))))


def compare(baseline: dict, run: dict, mode: str | None = None) -> list:
    """One row per benchmark of the baseline: name, base, now, change, threshold, p, verdict."""
    mode = mode or choose_mode(baseline, run)
    by_name = {short_name(b): b for b in run["benchmarks"]}
    rows = []
    for name, ref in sorted(baseline["benchmarks"].items()):
        b = by_name.get(name)
        if b is None:
            rows.append({"name": name, "mode": mode, "verdict": "missing"})
            continue
        base_metric = ref["metric"][mode]
        now_metric = metric(run, b, mode)
        change = now_metric / base_metric - 1.0
        base_samples = np.asarray(ref["samples"][mode], dtype=float)
        p = slower_p(samples(run, b, mode), base_samples)
        thr = ref["threshold"][mode]
        if change > thr and (p is None or p < ALPHA):
            verdict = "suspect"
        elif change < -thr:
            verdict = "faster"
        else:
            verdict = "ok"
        rows.append({"name": name, "fullname": b["fullname"], "mode": mode,
                     "base": base_metric, "now": now_metric, "change": change,
                     "threshold": thr, "p": p, "verdict": verdict})
    by_row = {r["name"]: r for r in rows}
    for agg, ref in sorted(baseline.get("aggregates", {}).items()):
        members = [by_row.get(n) for n in ref["members"]]
        if any(m is None or m["verdict"] == "missing" for m in members):
            rows.append({"name": agg, "mode": mode, "verdict": "missing"})
            continue
        change = _geomean([1.0 + m["change"] for m in members]) - 1.0
        thr = ref["threshold"][mode]
        verdict = "suspect" if change > thr else "faster" if change < -thr else "ok"
        rows.append({"name": agg, "fullname": [m["fullname"] for m in members], "mode": mode,
                     "base": 1.0, "now": 1.0 + change, "change": change, "threshold": thr,
                     "p": None, "verdict": verdict})
    return rows


CALIBRATION_TOLERANCE = 0.25  # same fingerprint but GEMM rates this far off: another host
# (the calibration itself moves by up to ~30 % between runs on a shared VM, hence so wide)


def calibration_shift(baseline: dict, run: dict) -> float:
    """Geometric mean of run / baseline calibrated GEMM rates over the probes both have."""
    def rates(info):
        return {(g["lib"], g["device"], g["dtype"], g["threads"], g["m"], g["k"], g["n"]):
                g["gflops"] for g in info["calibration"]["gemm"]}
    old, new = rates(baseline["machine_info"]), rates(run["machine_info"]["mlp_twins"])
    common = sorted(set(old) & set(new))
    return _geomean([new[k] / old[k] for k in common]) if common else float("nan")


def choose_mode(baseline: dict, run: dict) -> str:
    """Absolute times only for the same environment *and* a machine as fast as the
    baseline's (its GEMM calibration within ``CALIBRATION_TOLERANCE``); else normalised."""
    if baseline["fingerprint"] != fingerprint(run):
        return "normalised"
    shift = calibration_shift(baseline, run)
    return "absolute" if abs(shift - 1.0) <= CALIBRATION_TOLERANCE else "normalised"


def backend_ratios(run: dict, against: str = "numpy") -> dict:
    """``{case name: this backend's median / numpy's}`` within one run."""
    meds = {short_name(b): b["stats"]["median"] for b in run["benchmarks"]}
    out = {}
    for name, m in meds.items():
        func, _, rest = name.partition("[")
        for backend in ("torch-cpu", "torch-cuda"):
            if rest.startswith(backend + "-"):
                ref = f"{func}[{against}-{rest[len(backend) + 1:]}"
                if ref in meds:
                    out[name] = m / meds[ref]
    return out


def subsample(values, k=MAX_SAMPLES) -> list:
    values = list(values)
    if len(values) <= k:
        return values
    step = len(values) / k
    return [values[math.floor(i * step)] for i in range(k)]


def make_baseline(runs: list) -> dict:
    """The baseline document from N >= 2 runs of unchanged code on one machine."""
    if len(runs) < 2:
        raise ValueError("a baseline needs at least 2 runs to measure noise")
    fps = [fingerprint(r) for r in runs]
    if any(fp != fps[0] for fp in fps):
        raise ValueError("baseline runs come from different environments")
    thr = {m: thresholds_from_runs(runs, m) for m in ("absolute", "normalised")}
    benches = {}
    names = set.intersection(*({short_name(b) for b in r["benchmarks"]} for r in runs))
    for name in sorted(names):
        entries = [(r, next(b for b in r["benchmarks"] if short_name(b) == name)) for r in runs]
        ref = {"metric": {}, "samples": {}, "threshold": {}, "noise": {}}
        for mode in ("absolute", "normalised"):
            values = [metric(r, b, mode) for r, b in entries]
            mid_run, mid_b = sorted(entries, key=lambda e: metric(e[0], e[1], mode))[
                len(entries) // 2]
            ref["metric"][mode] = statistics.median(values)
            ref["samples"][mode] = subsample(samples(mid_run, mid_b, mode))
            ref["threshold"][mode], ref["noise"][mode] = thr[mode][name]
        ref["extra_info"] = entries[0][1]["extra_info"]
        benches[name] = ref
    aggregates = {}
    for agg, members in aggregate_members(
            {n: r["extra_info"] for n, r in benches.items()}).items():
        ref = {"members": members, "threshold": {}, "noise": {}}
        for mode in ("absolute", "normalised"):
            per_run = [_geomean([metric(r, next(b for b in r["benchmarks"]
                                                if short_name(b) == n), mode)
                                 / benches[n]["metric"][mode] for n in members])
                       for r in runs]
            mid = statistics.median(per_run)
            ref["noise"][mode] = max(abs(v / mid - 1.0) for v in per_run)
            ref["threshold"][mode] = max(AGG_MIN_THRESHOLD, AGG_NOISE_K * ref["noise"][mode])
        aggregates[agg] = ref
    info = copy.deepcopy(runs[0]["machine_info"]["mlp_twins"])
    for g in info["calibration"]["gemm"]:  # the median of the runs' calibrations, per probe
        key = (g["lib"], g["device"], g["dtype"], g["threads"], g["m"], g["k"], g["n"])
        g["gflops"] = statistics.median(
            h["gflops"] for r in runs for h in r["machine_info"]["mlp_twins"]["calibration"]["gemm"]
            if (h["lib"], h["device"], h["dtype"], h["threads"], h["m"], h["k"], h["n"]) == key)
    return {"format": "mlp-twins-gate/1", "fingerprint": fps[0],
            "machine_info": info, "runs": len(runs),
            "constants": {"MIN_THRESHOLD": MIN_THRESHOLD, "NOISE_K": NOISE_K, "ALPHA": ALPHA,
                          "AGG_NOISE_K": AGG_NOISE_K, "AGG_MIN_PARAMS": AGG_MIN_PARAMS},
            "benchmarks": benches, "aggregates": aggregates}
