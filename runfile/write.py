"""Writing runs: one benchmark's ``extra_info`` record (``make_record``; keys and meanings:
``runfile/schema.py``) and a JSON document written atomically (``write_json``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from core.spec import n_params
from runfile.read import RunFileError
from runfile.schema import RECORD_KEYS, SCHEMA_VERSION, SUITE


def make_record(*, group, backend, case, flops, median, lib, device, nbytes=0, peak=None,
                pipeline=None, input_s=None, activation=None, variant=None, samples=None,
                busy_other=None, disturbance=None, disturbed=False, reruns=0, **extra) -> dict:
    sizes = list(case.layer_sizes)
    per_call = case.batch if samples is None else samples
    rec = {
        "suite": SUITE, "schema": SCHEMA_VERSION, "group": group, "backend": backend,
        "lib": lib, "device": device, "dtype": case.dtype, "threads": case.threads,
        "world_size": case.world_size, "batch": case.batch, "layer_sizes": sizes,
        "n_params": n_params(sizes) if sizes else 0, "flops": int(flops), "bytes": int(nbytes),
        "samples_per_s": (per_call / median) if median else None,
        "peak_mem_bytes": None if peak is None else int(peak), "pipeline": pipeline,
        "input_s": input_s, "activation": activation, "variant": variant,
        "busy_other": busy_other, "disturbance": disturbance, "disturbed": bool(disturbed),
        "reruns": int(reruns),
    }
    assert set(rec) == set(RECORD_KEYS), "record keys drifted from runfile/schema.py"
    rec.update(extra)
    return rec


def write_json(path: str | Path, doc: dict, indent: int = 1) -> None:
    """Write ``doc`` atomically: a temporary file beside ``path``, then a rename; on any
    failure nothing is left behind and ``path`` is as it was. NaN and infinities are refused
    (``ValueError``): JSON has no such numbers."""
    path = Path(path)
    if path.is_dir():
        raise RunFileError(f"{path}: is a directory; name the JSON file to write")
    if not path.parent.is_dir():
        raise RunFileError(f"{path}: no such folder {str(path.parent)!r}")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(doc, indent=indent, allow_nan=False))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would outlive the rename
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
