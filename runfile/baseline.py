"""The gate's baseline document as a file: its format version, its keys, reading it back.

What the numbers in it mean and how they are made: ``gate/baseline.py``; its fields are
checked by ``runfile/check.py`` (``check_baseline``).
"""

from __future__ import annotations

from pathlib import Path

from runfile.check import check_baseline
from runfile.read import RunFileError, problem_at, read_json

# the gate's baseline document (``gate/baseline.py``); /2: relative times of schema 3's probe;
# /3: one file per machine (``machine``: id and label), the ``commit`` its runs measured
BASELINE_FORMAT = "mlp-twins-gate/3"
BASELINE_KEYS = ("fingerprint", "machine", "commit", "machine_info", "benchmarks", "aggregates",
                 "pytest_args")


def load_baseline(path: str | Path) -> dict:
    """Read the gate's baseline document and check its format and top-level keys."""
    doc = read_json(path)
    fmt = doc.get("format") if isinstance(doc, dict) else None
    if isinstance(fmt, str) and fmt.startswith("mlp-twins-gate/") and fmt != BASELINE_FORMAT:
        raise RunFileError(f"{path}: a gate baseline of format {fmt!r}, made by another "
                           f"version of the suite (this one reads {BASELINE_FORMAT!r}): "
                           f"re-make it with `make baseline`")
    if fmt != BASELINE_FORMAT:
        raise RunFileError(f"{path}: not a gate baseline (format is not {BASELINE_FORMAT!r})")
    lacking = [k for k in BASELINE_KEYS if k not in doc]
    if lacking:
        raise RunFileError(f"{path}: the baseline lacks {lacking}")
    check_baseline(problem_at(path), doc)
    return doc
