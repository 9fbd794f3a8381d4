"""Writing runs: one benchmark's ``extra_info`` record (``make_record``; keys and meanings:
``runfile/schema.py``), the runs of several launches as one (``merge_launches``) and a JSON
document written atomically (``write_json``).
"""

from __future__ import annotations

import copy
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


SETUP_FACTS = ("cpu_model", "cpu_id", "cores", "python", "numpy", "torch", "blas", "gpu",
               "profile")  # of machine_info["mlp_twins"]


def _setup(doc: dict) -> dict:
    """What must be the same in every launch of one run: the machine and its libraries,
    the profile, the code (commit and whether it was dirty)."""
    twins = (doc.get("machine_info") or {}).get("mlp_twins") or {}
    commit = doc.get("commit_info") or {}
    setup = {k: twins.get(k) for k in SETUP_FACTS}
    setup["blas"] = sorted(  # the libraries and kernels, not their thread counts of the moment
        str([p.get("internal_api"), p.get("version"), p.get("architecture")])
        for p in twins.get("blas") or [] if isinstance(p, dict))
    return {**setup, "commit": commit.get("id"), "dirty": commit.get("dirty")}


def merge_launches(docs: list) -> dict:
    """One run of ``len(docs)`` launches from the runs each launch wrote (pytest-benchmark
    documents of this suite, in launch order): every entry of launch ``k`` gets
    ``extra_info["launch"] = k``; the run-level keys as ``runfile/schema.py`` says. Raises
    ``ValueError`` on an empty list or launches of different set-ups (``_setup``)."""
    if not docs:
        raise ValueError("no launch to merge")
    first = _setup(docs[0])
    for k, doc in enumerate(docs[1:], 1):  # one machine, one code, one selection
        differs = [key for key, value in _setup(doc).items() if value != first[key]]
        if differs:
            raise ValueError(f"launch {k} is not launch 0's set-up: it differs in "
                             f"{', '.join(differs)}")
    out = copy.deepcopy({k: v for k, v in docs[0].items() if k != "benchmarks"})
    out["benchmarks"] = []
    for k, doc in enumerate(docs):
        for bench in doc.get("benchmarks") or []:
            bench = copy.deepcopy(bench)
            if isinstance(bench.get("extra_info"), dict):
                bench["extra_info"]["launch"] = k
            out["benchmarks"].append(bench)
    blocks = [doc.get("mlp_twins") or {} for doc in docs]
    out["mlp_twins"] = {
        "profile": blocks[0].get("profile"),
        "missing": [{**m, "launch": k} for k, b in enumerate(blocks)
                    for m in b.get("missing") or []],
        "complete": all(b.get("complete") is True for b in blocks),
        "stopped_at": next((b["stopped_at"] for b in blocks if b.get("stopped_at")), None),
        "launches": len(docs)}
    twins = out.setdefault("machine_info", {}).setdefault("mlp_twins", {})
    twins["launch_calibrations"] = [((doc.get("machine_info") or {}).get("mlp_twins") or {})
                                    .get("calibration") for doc in docs[1:]]
    return out


def split_launches(doc: dict) -> list:
    """The runs each launch of ``doc`` wrote, as ``merge_launches`` takes them (a run of one
    launch: ``[doc]``): launch ``k``'s entries without their ``launch``, its missing entries,
    its calibration (launch 0's is the run's, the others' ``launch_calibrations``)."""
    blocks = doc.get("mlp_twins") or {}
    launches = blocks.get("launches") or 1
    if launches == 1:
        return [copy.deepcopy(doc)]
    twins = (doc.get("machine_info") or {}).get("mlp_twins") or {}
    others = twins.get("launch_calibrations") or []
    out = []
    for k in range(launches):
        one = copy.deepcopy({key: v for key, v in doc.items() if key != "benchmarks"})
        one["benchmarks"] = []
        for bench in doc.get("benchmarks") or []:
            if (bench.get("extra_info") or {}).get("launch", 0) == k:
                bench = copy.deepcopy(bench)
                del bench["extra_info"]["launch"]
                one["benchmarks"].append(bench)
        one["mlp_twins"] = {"profile": blocks.get("profile"),
                            "missing": [{m_k: v for m_k, v in m.items() if m_k != "launch"}
                                        for m in blocks.get("missing") or []
                                        if m.get("launch", 0) == k],
                            "complete": blocks.get("complete"),
                            "stopped_at": blocks.get("stopped_at")}
        mine = one["machine_info"]["mlp_twins"]
        mine.pop("launch_calibrations", None)
        if k:
            mine["calibration"] = others[k - 1] if k - 1 < len(others) else None
        out.append(one)
    return out


def combine_runs(docs: list) -> dict:
    """One run of every launch of ``docs`` (runs of one machine, code and profile, each of
    one launch or several), in the order given: how a reference is widened with the launches
    of a later run (``python -m runfile.combine``). ``ValueError`` as ``merge_launches``."""
    return merge_launches([one for doc in docs for one in split_launches(doc)])
