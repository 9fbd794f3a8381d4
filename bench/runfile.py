"""The run format's one owner: read, validate and version a run JSON and the gate's baseline.

    from bench.runfile import load
    run = load("results/runs/2025-01-01T00-00-00-quick.json")  # a validated Run
    run.benchmarks[0]["extra_info"]["backend"], run.twins["calibration"]["gemm"]

Both the report (``reports/load.py``) and the gate (``gate/``) read runs through here, so a
run means one thing to both. What the keys mean: ``bench/schema.py``. Every problem with a
file becomes one ``RunFileError`` (a ``ValueError``) whose message is one line naming the file
and the field. Files are data: parsed as JSON, never executed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .schema import SCHEMA_VERSION, SUITE

# extra_info keys without which a record cannot be read, and those that must be numbers
REQUIRED_KEYS = ("group", "backend", "lib", "device", "dtype", "threads", "world_size",
                 "batch", "layer_sizes", "n_params", "flops")
INTEGER_KEYS = ("threads", "world_size", "batch", "n_params")
BASELINE_FORMAT = "mlp-twins-gate/1"  # the gate's baseline document (``gate/baseline.py``)
BASELINE_KEYS = ("fingerprint", "machine_info", "benchmarks", "aggregates", "pytest_args")


class RunFileError(ValueError):
    """A one-line problem with a run or baseline file: names the file and the field."""


@dataclass
class Run:
    """One run of this suite: its run-level metadata and its validated benchmark entries."""

    path: Path
    schema: int
    machine: dict  # machine_info (pytest-benchmark's keys)
    twins: dict  # machine_info["mlp_twins"] ({} when absent)
    missing: list | None  # output_json["mlp_twins"]["missing"], None when not recorded
    complete: bool | None
    datetime: str | None
    benchmarks: list = field(default_factory=list)  # pytest-benchmark entries of this suite
    label: str = ""  # the machine in words, ``node (GPU or CPU model)``; readers may amend it

    @property
    def gemm(self) -> list:
        """The calibrated GEMM rates (``[]`` when the run has none)."""
        return list((self.twins.get("calibration") or {}).get("gemm") or [])

    def calibration(self) -> dict:
        """``machine_info.mlp_twins.calibration``; an error where the run has none (the gate
        cannot normalise without it)."""
        cal = self.twins.get("calibration")
        if not isinstance(cal, dict) or not isinstance(cal.get("gemm"), list):
            raise RunFileError(f"{self.path}: no machine_info.mlp_twins.calibration.gemm")
        return cal


def read_json(path: str | Path):
    """The parsed JSON of ``path``; every failure is a ``RunFileError`` naming the file."""
    path = Path(path)
    if not path.exists():
        raise RunFileError(f"{path}: no such file")
    if path.is_dir():
        raise RunFileError(f"{path}: is a directory, not a run JSON")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise RunFileError(f"{path}: not JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise RunFileError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from None
    except OSError as e:
        raise RunFileError(f"{path}: cannot read ({e.strerror})") from None


def number(path, name, key, value, integral=False):
    """``value`` as an int or float, or a ``RunFileError`` naming the benchmark and key."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or (integral and value != int(value)) or (ok and math.isnan(value)):
        raise RunFileError(f"{path}: benchmark {name!r} has a bad {key!r}: {value!r}")
    return int(value) if integral else float(value)


def check_benchmark(path, bench: dict) -> None:
    """The fields every reader relies on: the required extra_info keys, a positive
    ``stats.median``, integer ``layer_sizes`` and numeric counts."""
    name = bench.get("name") or bench.get("fullname") or "?"
    info, stats = bench["extra_info"], bench.get("stats")
    lacking = [k for k in REQUIRED_KEYS if k not in info]
    if lacking:
        raise RunFileError(f"{path}: benchmark {name!r} lacks extra_info keys {lacking}")
    if not isinstance(stats, dict) or "median" not in stats:
        raise RunFileError(f"{path}: benchmark {name!r} has no stats.median")
    sizes = info["layer_sizes"]
    if not isinstance(sizes, list) or not all(isinstance(s, int) for s in sizes):
        raise RunFileError(f"{path}: benchmark {name!r} has bad layer_sizes {sizes!r}")
    for key in INTEGER_KEYS:
        number(path, name, key, info[key], integral=True)
    number(path, name, "flops", info["flops"])
    if number(path, name, "median", stats["median"]) <= 0:
        raise RunFileError(f"{path}: benchmark {name!r} has a non-positive median "
                           f"{stats['median']!r}")


def machine_label(machine: dict, twins: dict) -> str:
    """``node (GPU or CPU model)``."""
    node = machine.get("node") or "unknown machine"
    gpu = twins.get("gpu") or {}
    what = gpu.get("name") if isinstance(gpu, dict) else None
    what = what or twins.get("cpu_model") or (machine.get("cpu") or {}).get("brand_raw")
    return f"{node} ({what})" if what else node


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def parse(doc, path: str | Path = "<run>") -> Run:
    """Validate one parsed run document; ``path`` names it in errors. The schema version
    is checked within the run here and against this code by ``check_versions``."""
    path = Path(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise RunFileError(f"{path}: not a pytest-benchmark JSON (no 'benchmarks' list)")
    if not doc["benchmarks"]:
        raise RunFileError(f"{path}: the run has no benchmarks")
    ours = [b for b in doc["benchmarks"] if isinstance(b, dict)
            and isinstance(b.get("extra_info"), dict) and b["extra_info"].get("suite") == SUITE]
    if not ours:
        raise RunFileError(f"{path}: no benchmark of the {SUITE!r} suite (extra_info.suite); "
                           "is it another project's JSON?")
    versions = sorted({repr(b["extra_info"].get("schema")) for b in ours})
    if len(versions) > 1:
        raise RunFileError(f"{path}: records mix schema versions {', '.join(versions)}")
    machine = _dict(doc.get("machine_info"))
    twins = _dict(machine.get("mlp_twins"))
    extra = _dict(doc.get("mlp_twins"))
    missing = extra.get("missing") if isinstance(extra.get("missing"), list) else None
    for bench in ours:
        check_benchmark(path, bench)
    return Run(path=path, schema=ours[0]["extra_info"].get("schema"), machine=machine,
               twins=twins, missing=missing, complete=extra.get("complete"),
               datetime=doc.get("datetime"), benchmarks=ours, label=machine_label(machine, twins))


def load(path: str | Path) -> Run:
    """Read and validate one run (the version against this code: ``check_versions``)."""
    return parse(read_json(path), path)


def check_versions(runs: list[Run]) -> None:
    """All runs share one schema version, and it is the one this code reads."""
    first = runs[0]
    for run in runs[1:]:
        if run.schema != first.schema:
            raise RunFileError(f"{run.path}: schema version {run.schema!r} cannot be combined "
                               f"with {first.path} (schema version {first.schema!r})")
    if first.schema != SCHEMA_VERSION:
        raise RunFileError(f"{first.path}: schema version {first.schema!r}; this code reads "
                           f"version {SCHEMA_VERSION}")


def load_baseline(path: str | Path) -> dict:
    """Read the gate's baseline document and check its format and top-level keys."""
    doc = read_json(path)
    if not isinstance(doc, dict) or doc.get("format") != BASELINE_FORMAT:
        raise RunFileError(f"{path}: not a gate baseline (format is not {BASELINE_FORMAT!r})")
    lacking = [k for k in BASELINE_KEYS if k not in doc]
    if lacking:
        raise RunFileError(f"{path}: the baseline lacks {lacking}")
    return doc


def write_json(path: str | Path, doc: dict) -> None:
    """Write ``doc`` atomically: a temporary file beside ``path``, then a rename."""
    path = Path(path)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(path)
