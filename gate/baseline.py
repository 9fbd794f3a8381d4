"""The gate's baseline: medians, raw samples and noise thresholds from repeated runs.

    from gate.baseline import make_baseline
    doc = make_baseline(runs)  # runs: >= 2 runfile.Run of unchanged code, one machine
    doc = load(path)           # read back, checked, its fingerprint matching its machine

The arithmetic (metrics, thresholds from noise, aggregates) is ``gate/compare.py``'s; this
module assembles the document that ``runfile.load_baseline`` reads back. A baseline
names the machine that measured it (``gate/machine.py``: fingerprint, id, label) and the
commit its runs measured (pytest-benchmark's ``commit_info``: id and whether the tree had
uncommitted changes), so that another machine can measure that commit itself (``gate ab``).
"""

from __future__ import annotations

import copy
import math
import statistics

from runfile import BASELINE_FORMAT, Run, RunFileError, load_baseline

from . import compare as cmp
from . import machine

MAX_SAMPLES = 200  # raw samples kept per benchmark in the baseline


def subsample(values, k=MAX_SAMPLES) -> list:
    values = list(values)
    if len(values) <= k:
        return values
    step = len(values) / k
    return [values[math.floor(i * step)] for i in range(k)]


def _entry(run: Run, name: str) -> dict:
    return next(b for b in run.benchmarks if cmp.short_name(b) == name)


def benchmark_reference(name: str, runs: list, thresholds: dict) -> dict:
    """One benchmark's entry: per mode its median metric over the runs, the raw samples of
    the median run, its threshold and noise (``thresholds``: ``{mode: {name: (thr, noise)}}``)."""
    entries = [(r, _entry(r, name)) for r in runs]
    ref = {"metric": {}, "samples": {}, "threshold": {}, "noise": {}}
    for mode in cmp.MODES:
        if name not in thresholds[mode]:
            continue  # relative: not every run has a probe for this row
        values = [cmp.metric(r, b, mode) for r, b in entries]
        mid_run, mid_b = sorted(entries, key=lambda e: cmp.metric(e[0], e[1], mode))[
            len(entries) // 2]
        ref["metric"][mode] = statistics.median(values)
        ref["samples"][mode] = subsample(cmp.samples(mid_run, mid_b, mode))
        ref["threshold"][mode], ref["noise"][mode] = thresholds[mode][name]
    ref["extra_info"] = {k: v for k, v in entries[0][1]["extra_info"].items()
                         if k != "probe_data"}
    return ref


def aggregate_reference(members: list, runs: list, benches: dict) -> dict:
    """One aggregate's entry: per mode the noise of its geometric mean over the runs and
    the threshold ``max(AGG_MIN_THRESHOLD, AGG_NOISE_K x noise)``."""
    ref = {"members": members, "threshold": {}, "noise": {}}
    for mode in cmp.MODES:
        if any(mode not in benches[n]["metric"] for n in members):
            continue
        per_run = [cmp.geomean([cmp.metric(r, _entry(r, n), mode) / benches[n]["metric"][mode]
                                for n in members]) for r in runs]
        mid = statistics.median(per_run)
        ref["noise"][mode] = max(abs(v / mid - 1.0) for v in per_run)
        ref["threshold"][mode] = max(cmp.AGG_MIN_THRESHOLD[mode],
                                     cmp.AGG_NOISE_K * ref["noise"][mode])
    return ref


def median_environment(runs: list) -> dict:
    """The first run's ``machine_info.mlp_twins`` with each calibrated GEMM rate replaced by
    the median over the runs of the same probe."""
    info = copy.deepcopy(runs[0].twins)
    for g in info["calibration"]["gemm"]:
        key = cmp.gemm_key(g)
        g["gflops"] = statistics.median(h["gflops"] for r in runs
                                        for h in r.calibration()["gemm"]
                                        if cmp.gemm_key(h) == key)
    return info


def commit_of(runs: list) -> dict:
    """``{"id", "dirty"}``: the commit the runs measured (None where they do not say); an
    error where they name different commits (not runs of unchanged code)."""
    ids = {r.commit.get("id") for r in runs}
    if len(ids) > 1:
        raise ValueError(f"the baseline's runs measured different commits "
                         f"({', '.join(sorted(str(i)[:10] for i in ids))}): a baseline is "
                         "made from runfile of one commit")
    (sha,) = ids
    dirty = [r.commit.get("dirty") for r in runs]
    return {"id": sha if isinstance(sha, str) and len(sha) == 40 else None,
            "dirty": None if None in dirty else any(dirty)}


def make_baseline(runs: list, own_machine: bool = True) -> dict:
    """The baseline document from N >= 2 runs of unchanged code on one machine. A baseline
    to keep (``own_machine``) must say which machine measured it; an A/B's base (``gate
    ab``, both sides measured here by construction) may come from code that recorded less."""
    if len(runs) < 2:
        raise ValueError("a baseline needs at least 2 runs to measure noise")
    for run in runs:  # a baseline is evidence too: whole, clean runs only
        if run.incomplete():
            raise ValueError(f"{run.path}: incomplete, not a baseline run: "
                             + "; ".join(run.incomplete()))
        noisy = [cmp.short_name(b) for b in run.benchmarks if cmp.disturbed(b)]
        if noisy:
            raise ValueError(f"{run.path}: {len(noisy)} row(s) measured on a disturbed machine "
                             f"({', '.join(noisy[:3])}{', ...' if len(noisy) > 3 else ''}); "
                             "make the baseline on a quiet machine")
    fps = [cmp.fingerprint(r) for r in runs]
    if any(fp != fps[0] for fp in fps):
        raise ValueError("baseline runs come from different machines (fingerprints: "
                         + ", ".join(sorted({machine.machine_id(fp) for fp in fps})) + ")")
    if own_machine and machine.unknown(fps[0]):
        raise ValueError(f"{runs[0].path}: the run does not say which machine measured it "
                         f"(machine_info.mlp_twins lacks {', '.join(machine.unknown(fps[0]))}): "
                         "a baseline must name its machine")
    thresholds = {m: cmp.thresholds_from_runs(runs, m) for m in cmp.MODES}
    names = set.intersection(*({cmp.short_name(b) for b in r.benchmarks} for r in runs))
    benches = {n: benchmark_reference(n, runs, thresholds) for n in sorted(names)}
    groups = cmp.aggregate_members({n: ref["extra_info"] for n, ref in benches.items()})
    aggregates = {agg: aggregate_reference(members, runs, benches)
                  for agg, members in groups.items()}
    return {"format": BASELINE_FORMAT, "fingerprint": fps[0],
            "machine": {"id": machine.machine_id(fps[0]), "label": machine.label(fps[0])},
            "commit": commit_of(runs),
            "machine_info": median_environment(runs), "runs": len(runs),
            "constants": {"MIN_THRESHOLD": cmp.MIN_THRESHOLD, "NOISE_K": cmp.NOISE_K,
                          "ALPHA": cmp.ALPHA, "AGG_NOISE_K": cmp.AGG_NOISE_K,
                          "AGG_MIN_THRESHOLD": cmp.AGG_MIN_THRESHOLD,
                          "AGG_MIN_PARAMS": cmp.AGG_MIN_PARAMS},
            "benchmarks": benches, "aggregates": aggregates}


def load(path) -> dict:
    """A baseline read back (``runfile.load_baseline`` checks its fields), refused
    where its fingerprint or machine id is not the one its own ``machine_info`` gives: a
    hand-edited machine would let a run be judged against another machine's numbers."""
    doc = load_baseline(path)
    fp = machine.fingerprint(doc["machine_info"])
    if doc["fingerprint"] != fp:
        diff = machine.differences(doc["fingerprint"], fp)
        raise RunFileError(f"{path}: fingerprint does not match its machine_info (differs in "
                           f"{', '.join(diff) or 'its keys'})")
    if doc["machine"]["id"] != machine.machine_id(fp):
        raise RunFileError(f"{path}: machine.id {doc['machine']['id']!r} is not its "
                           f"fingerprint's ({machine.machine_id(fp)!r})")
    return doc
