"""Build one benchmark's ``extra_info`` record (keys and meanings: ``bench/schema.py``)."""

from __future__ import annotations

from core.spec import n_params

from .schema import RECORD_KEYS, SCHEMA_VERSION, SUITE


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
    assert set(rec) == set(RECORD_KEYS), "record keys drifted from bench/schema.py"
    rec.update(extra)
    return rec
