"""The card machine's facts, as one JSON document on stdout: the first stage of
bench/gpu/run.py.

    python3 -W error -m bench.gpu.facts [PROFILE]

Versions, CPU, BLAS pools and the GPU (``bench.measure.environment``: card, driver, CUDA, cuBLAS),
the TF32 switch read back both ways (``bench.measure.precision``), and, on a card, a probe of one
timed step of 784-100-10 at batch 256 in float32: how many host syncs it makes
(``torch.cuda.set_sync_debug_mode("warn")``: must be 0) and how many kernels it launches
(``torch.profiler``). Run under ``-W error`` first: a deprecation warning from this torch
would fail the tests, whose pytest turns warnings into errors. With a PROFILE, the
document also holds that sweep's estimated cost (``bench.gpu.plan.estimate``).
"""

from __future__ import annotations

import json
import sys
import warnings

from core import cli

PROBE_SIZES, PROBE_BATCH = (784, 100, 10), 256


def tf32_switch() -> dict:
    """TF32 read back after setting it on and off (what the -tf32 backend relies on)."""
    from bench.measure.precision import tf32, tf32_enabled

    with tf32(True):
        on = tf32_enabled()
    with tf32(False):
        off = tf32_enabled()
    return {"on": on, "off": off, "after": tf32_enabled()}


def step_probe() -> dict:
    """Host syncs and kernel launches of one timed ``torch-cuda`` step (the call the
    benchmark times, without its final ``synchronize``)."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    import impl_torch
    from bench.backends import Case
    from bench.backends.torch_backend import TorchRunner

    runner = TorchRunner(Case(PROBE_SIZES, PROBE_BATCH, "float32", 1), "cuda")
    try:
        model, opt, X, y = runner.model, runner.opt, runner.X, runner.y
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("warn")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                impl_torch.checked_step(model, opt, X, y)
        finally:
            torch.cuda.set_sync_debug_mode("default")
        out = {"layer_sizes": list(PROBE_SIZES), "batch": PROBE_BATCH, "dtype": "float32",
               "host_syncs": len(caught),
               "sync_messages": [str(w.message)[:200] for w in caught[:5]]}
        torch.cuda.synchronize()
        try:  # the profiler is a nicety: its failure must not cost the facts
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                impl_torch.checked_step(model, opt, X, y)
                torch.cuda.synchronize()
            kernels = [e for e in prof.events()
                       if e.device_type == torch.autograd.DeviceType.CUDA]
            out["cuda_kernels"] = len(kernels)
            out["kernel_names"] = sorted({e.name for e in kernels})[:40]
        except Exception as e:  # noqa: BLE001 (reported, not raised)
            out["cuda_kernels"] = f"profiler failed: {type(e).__name__}: {e}"[:300]
        return out
    finally:
        runner.close()


def facts(profile: str | None = None) -> dict:
    import torch

    from bench.measure.environment import environment

    out = {"environment": environment(), "tf32_switch": tf32_switch(),
           "cuda_available": torch.cuda.is_available()}
    if profile:
        from bench.gpu.plan import estimate
        from bench.suite.grid import profile as get_profile

        out["sweep_estimate"] = {"profile": profile, **estimate(get_profile(profile))}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        out["l2_mb"] = round(getattr(props, "L2_cache_size", 0) / 2**20, 1)
        try:
            out["step_probe"] = step_probe()
        except Exception as e:  # noqa: BLE001 (reported in the facts, not raised)
            out["step_probe"] = f"failed: {type(e).__name__}: {e}"[:500]
    else:
        out["step_probe"] = "skipped: CUDA is not available on this machine"
    return out


def main(argv=None) -> int:
    from bench.suite.grid import PROFILES

    p = cli.Parser(prog="python -m bench.gpu.facts",
                   description="The card machine's facts, as one JSON document on stdout.")
    p.add_argument("profile", nargs="?", choices=PROFILES,
                   help="also estimate this profile's sweep (bench.gpu.plan)")
    print(json.dumps(facts(p.parse_args(argv).profile), indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
