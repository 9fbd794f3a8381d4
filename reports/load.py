"""Load pytest-benchmark JSON runs of the mlp-twins suite into one tidy pandas table.

    from reports.load import load_runs
    runs, table = load_runs(["results/runs/2025-01-01T00-00-00-quick.json"])

Reading, validating and versioning a run is ``runfile/``'s (a ``RunFileError`` there:
one line naming the file); this module turns validated runs into rows. A problem with the
choice of inputs is a ``ReportError``. The record contract is ``runfile/schema.py``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from runfile import REQUIRED_KEYS, Run, check_versions, load
from runfile.schema import RESULTS_DIR

OPTIONAL_KEYS = ("bytes", "samples_per_s", "peak_mem_bytes", "pipeline", "input_s",
                 "activation", "variant", "gemm_s")
# the disturbance evidence (``runfile/schema.py``); older runs lack it: "not measured", and
# their rows count as not disturbed
QUALITY_KEYS = ("busy_other", "disturbance", "reruns")


class ReportError(Exception):
    """A one-line, user-facing problem with the choice of inputs or the output folder."""


def newest_run(results_dir: str | Path = RESULTS_DIR) -> Path:
    """The most recently written ``*.json`` in ``results_dir`` (ties broken by name)."""
    folder = Path(results_dir)
    found = sorted(folder.glob("*.json"), key=lambda p: (p.stat().st_mtime, p.name))
    if not found:
        raise ReportError(f"{folder}: no run JSON found; run the benchmarks first "
                          "(make report) or name a RUN.json")
    return found[-1]


def row(bench: dict) -> dict:
    """One validated benchmark entry (``runfile.read.check_benchmark``) as a table row."""
    name = bench.get("name") or bench.get("fullname") or "?"
    info, stats = bench["extra_info"], bench["stats"]
    out = {"name": name, **{k: info[k] for k in REQUIRED_KEYS}}
    out.update({k: info.get(k) for k in OPTIONAL_KEYS})
    sizes = out.pop("layer_sizes")
    out["layers"] = "-".join(str(s) for s in sizes)
    out["hidden_layers"] = max(len(sizes) - 2, 0)
    for key in ("threads", "world_size", "batch", "n_params"):
        out[key] = int(info[key])
    out["flops"] = float(info["flops"])
    median = float(stats["median"])
    out["median_s"] = median
    out["iqr_s"] = float(stats.get("iqr") or 0.0)
    out["q1_s"] = float(stats.get("q1", median))
    out["q3_s"] = float(stats.get("q3", median))
    out["rounds"] = int(stats.get("rounds") or 0)
    for key in QUALITY_KEYS:
        out[key] = float(info[key]) if info.get(key) is not None else float("nan")
    out["evidence"] = any(k in info for k in (*QUALITY_KEYS, "disturbed"))
    out["disturbed"] = info.get("disturbed") is True
    out["launch"] = int(info.get("launch", 0))  # which fresh process measured it
    return out


def load_runs(paths) -> tuple[list[Run], pd.DataFrame]:
    """Load every run (all validated before anything is returned) and the combined table."""
    paths = [Path(p) for p in paths]
    seen = set()
    for p in paths:
        key = p.resolve()
        if key in seen:
            raise ReportError(f"{p}: named twice")
        seen.add(key)
    runs = [load(p) for p in paths]
    check_versions(runs)
    labels: dict[str, list] = {}
    for run in runs:  # same machine twice: tell the runs apart by date, else by number
        labels.setdefault(run.label, []).append(run)
    for same in labels.values():
        if len(same) < 2:
            continue
        dates = [str(run.datetime or "")[:10] for run in same]
        by_date = all(dates) and len(set(dates)) == len(dates)
        for k, (run, date) in enumerate(zip(same, dates), start=1):
            run.label = f"{run.label}, {date}" if by_date else f"{run.label} #{k}"
    rows = [{"run": run.label, **row(b)} for run in runs for b in run.benchmarks]
    return runs, pd.DataFrame(rows)
