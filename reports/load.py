"""Load pytest-benchmark JSON runs of the mlp-twins suite into one tidy pandas table.

    from reports.load import load_runs
    runs, table = load_runs(["results/runs/2025-01-01T00-00-00-quick.json"])

Every problem with an input becomes a ``ReportError`` whose message is one line that names
the file: the CLI prints it and exits 2. The record contract is ``bench/schema.py``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bench.schema import RESULTS_DIR, SCHEMA_VERSION, SUITE

# extra_info keys without which a record cannot be placed in the table
REQUIRED_KEYS = ("group", "backend", "lib", "device", "dtype", "threads", "world_size",
                 "batch", "layer_sizes", "n_params", "flops")
OPTIONAL_KEYS = ("bytes", "samples_per_s", "peak_mem_bytes", "pipeline", "input_s",
                 "activation", "variant")
STAT_KEYS = ("median", "iqr", "q1", "q3", "rounds")


class ReportError(Exception):
    """A one-line, user-facing problem with the input or the output folder."""


@dataclass
class Run:
    """One benchmark JSON: its label, where it came from, and its run-level metadata."""

    path: Path
    label: str
    schema: int
    machine: dict  # machine_info (pytest-benchmark's keys)
    twins: dict  # machine_info["mlp_twins"] ({} when absent)
    missing: list | None  # output_json["mlp_twins"]["missing"], None when not recorded
    complete: bool | None
    datetime: str | None
    records: list = field(default_factory=list)

    @property
    def gemm(self) -> list:
        return list((self.twins.get("calibration") or {}).get("gemm") or [])


def newest_run(results_dir: str | Path = RESULTS_DIR) -> Path:
    """The most recently written ``*.json`` in ``results_dir`` (ties broken by name)."""
    folder = Path(results_dir)
    found = sorted(folder.glob("*.json"), key=lambda p: (p.stat().st_mtime, p.name))
    if not found:
        raise ReportError(f"{folder}: no run JSON found; run the benchmarks first "
                          "(make report) or name a RUN.json")
    return found[-1]


def _read_json(path: Path):
    if not path.exists():
        raise ReportError(f"{path}: no such file")
    if path.is_dir():
        raise ReportError(f"{path}: is a directory, not a run JSON")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ReportError(f"{path}: not JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise ReportError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from None
    except OSError as e:
        raise ReportError(f"{path}: cannot read ({e.strerror})") from None


def _label(machine: dict, twins: dict) -> str:
    node = machine.get("node") or "unknown machine"
    gpu = twins.get("gpu") or {}
    what = gpu.get("name") if isinstance(gpu, dict) else None
    what = what or twins.get("cpu_model") or (machine.get("cpu") or {}).get("brand_raw")
    return f"{node} ({what})" if what else node


def _number(path, name, key, value, integral=False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or (integral and value != int(value)) or (ok and math.isnan(value)):
        raise ReportError(f"{path}: benchmark {name!r} has a bad {key!r}: {value!r}")
    return int(value) if integral else float(value)


def _record(path: Path, bench: dict) -> dict:
    name = bench.get("name") or bench.get("fullname") or "?"
    info, stats = bench["extra_info"], bench.get("stats")
    lacking = [k for k in REQUIRED_KEYS if k not in info]
    if lacking:
        raise ReportError(f"{path}: benchmark {name!r} lacks extra_info keys {lacking}")
    if not isinstance(stats, dict) or "median" not in stats:
        raise ReportError(f"{path}: benchmark {name!r} has no stats.median")
    sizes = info["layer_sizes"]
    if not isinstance(sizes, list) or not all(isinstance(s, int) for s in sizes):
        raise ReportError(f"{path}: benchmark {name!r} has bad layer_sizes {sizes!r}")
    row = {"name": name, **{k: info[k] for k in REQUIRED_KEYS}}
    row.update({k: info.get(k) for k in OPTIONAL_KEYS})
    row["layers"] = "-".join(str(s) for s in sizes)
    row["hidden_layers"] = max(len(sizes) - 2, 0)
    del row["layer_sizes"]
    for key in ("threads", "world_size", "batch", "n_params"):
        row[key] = _number(path, name, key, info[key], integral=True)
    row["flops"] = _number(path, name, "flops", info["flops"])
    median = _number(path, name, "median", stats["median"])
    if median <= 0:
        raise ReportError(f"{path}: benchmark {name!r} has a non-positive median {median!r}")
    row["median_s"] = median
    row["iqr_s"] = float(stats.get("iqr") or 0.0)
    row["q1_s"] = float(stats.get("q1", median))
    row["q3_s"] = float(stats.get("q3", median))
    row["rounds"] = int(stats.get("rounds") or 0)
    return row


def load_run(path: str | Path) -> Run:
    """Read and validate one run; the schema version is checked by ``load_runs``."""
    path = Path(path)
    doc = _read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise ReportError(f"{path}: not a pytest-benchmark JSON (no 'benchmarks' list)")
    if not doc["benchmarks"]:
        raise ReportError(f"{path}: the run has no benchmarks")
    ours = [b for b in doc["benchmarks"] if isinstance(b, dict)
            and isinstance(b.get("extra_info"), dict) and b["extra_info"].get("suite") == SUITE]
    if not ours:
        raise ReportError(f"{path}: no benchmark of the {SUITE!r} suite (extra_info.suite); "
                          "is it another project's JSON?")
    versions = sorted({repr(b["extra_info"].get("schema")) for b in ours})
    if len(versions) > 1:
        raise ReportError(f"{path}: records mix schema versions {', '.join(versions)}")
    machine = doc.get("machine_info") if isinstance(doc.get("machine_info"), dict) else {}
    twins = machine.get("mlp_twins") if isinstance(machine.get("mlp_twins"), dict) else {}
    extra = doc.get("mlp_twins") if isinstance(doc.get("mlp_twins"), dict) else {}
    missing = extra.get("missing") if isinstance(extra.get("missing"), list) else None
    run = Run(path=path, label=_label(machine, twins), schema=ours[0]["extra_info"].get("schema"),
              machine=machine, twins=twins, missing=missing, complete=extra.get("complete"),
              datetime=doc.get("datetime"))
    run.records = [_record(path, b) for b in ours]
    return run


def load_runs(paths) -> tuple[list[Run], pd.DataFrame]:
    """Load every run (all validated before anything is returned) and the combined table."""
    paths = [Path(p) for p in paths]
    seen = set()
    for p in paths:
        key = p.resolve()
        if key in seen:
            raise ReportError(f"{p}: named twice")
        seen.add(key)
    runs = [load_run(p) for p in paths]
    first = runs[0]
    for run in runs[1:]:
        if run.schema != first.schema:
            raise ReportError(f"{run.path}: schema version {run.schema!r} cannot be combined "
                              f"with {first.path} (schema version {first.schema!r})")
    if first.schema != SCHEMA_VERSION:
        raise ReportError(f"{first.path}: schema version {first.schema!r}; this report reads "
                          f"version {SCHEMA_VERSION}")
    labels: dict[str, int] = {}
    for run in runs:  # same machine twice: tell the runs apart by time, then by number
        labels[run.label] = labels.get(run.label, 0) + 1
    counts: dict[str, int] = {}
    for run in runs:
        if labels[run.label] > 1:
            counts[run.label] = counts.get(run.label, 0) + 1
            run.label = f"{run.label} #{counts[run.label]}"
    rows = [{"run": run.label, **rec} for run in runs for rec in run.records]
    return runs, pd.DataFrame(rows)
