"""What a result needs to describe itself: versions, CPU, BLAS pools, GPU, TF32.

``environment()`` is the run's ``machine_info["mlp_twins"]`` without the profile and the
calibration (keys: ``runfile/schema.py``, ``MACHINE_KEYS``); the gate fingerprints a machine
from it (``gate/machine.py``). Its parts: ``cpu_model()``, ``cpu_id()`` ("vendor family/model"),
``cpu_flags()`` (the ``KERNEL_FLAGS`` this CPU has: the features that select BLAS kernels),
``gpu_info()`` (``GPU_KEYS``: card, driver, CUDA and cuBLAS versions, multiprocessors, memory,
count; None without CUDA) and ``cublas_version()``. Every fact is read without raising: one
that cannot be read is None, so the run's JSON is always written.
"""

from __future__ import annotations

import ctypes
import platform
import subprocess
import sys
from importlib import metadata

import numpy as np
from threadpoolctl import threadpool_info

from bench.measure.precision import matmul_precision, tf32_enabled
from core.procs import available_cores

# The CPU features that decide which kernels OpenBLAS, MKL and oneDNN pick (and so what a
# step costs): two CPUs with the same model string but different ones are different machines
# (a VM's "Intel(R) Xeon(R) Processor" is Cascade Lake or Sapphire Rapids alike).
KERNEL_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512dq",
                "avx512cd", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
                "avx512_fp16", "avx512ifma", "avx512vbmi", "amx_tile", "amx_bf16", "amx_int8",
                "asimd", "sve", "sve2")  # the last three: Arm (``Features`` in cpuinfo)


def _cpuinfo() -> dict:
    """The first processor's ``key: value`` lines of ``/proc/cpuinfo`` ({} where unreadable)."""
    out = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor only
                key, _, value = line.partition(":")
                out.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return out


def cpu_model() -> str:
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def cpu_id() -> str | None:
    """``vendor family/model`` (x86, e.g. "GenuineIntel 6/143") or ``implementer part/variant``
    (Arm, e.g. "0x41 0xd0c/0x3"), None where cpuinfo has neither."""
    info = _cpuinfo()
    if "vendor_id" in info:
        return f"{info['vendor_id']} {info.get('cpu family', '?')}/{info.get('model', '?')}"
    if "CPU implementer" in info:
        return (f"{info['CPU implementer']} {info.get('CPU part', '?')}/"
                f"{info.get('CPU variant', '?')}")
    return None


def cpu_flags() -> list | None:
    """The ``KERNEL_FLAGS`` this CPU has, sorted; None where cpuinfo lists no flags."""
    info = _cpuinfo()
    flags = info.get("flags", info.get("Features"))
    if flags is None:
        return None
    return sorted(set(flags.split()) & set(KERNEL_FLAGS))


def _driver():
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=driver_version",
                              "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=10).stdout
        return out.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return None


def cublas_version() -> str | None:
    """The cuBLAS this process loaded (``cublasGetProperty`` on the library in
    ``/proc/self/maps`` after one CUDA matmul), else the pip package's version, else None."""
    import torch

    try:
        torch.ones(2, 2, device="cuda") @ torch.ones(2, 2, device="cuda")  # loads cuBLAS
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "libcublas.so" in line}
        lib = ctypes.CDLL(sorted(libs)[0])
        parts = []
        for prop in (0, 1, 2):  # MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL
            value = ctypes.c_int()
            if lib.cublasGetProperty(prop, ctypes.byref(value)) != 0:
                raise OSError("cublasGetProperty failed")
            parts.append(str(value.value))
        return ".".join(parts)
    except (OSError, IndexError, AttributeError, RuntimeError):
        pass
    for dist in ("nvidia-cublas", "nvidia-cublas-cu13", "nvidia-cublas-cu12"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return None


def gpu_info():
    import torch

    if not torch.cuda.is_available():
        return None
    props = torch.cuda.get_device_properties(0)
    return {"name": props.name, "driver": _driver(), "cuda": torch.version.cuda,
            "cublas": cublas_version(), "capability": f"{props.major}.{props.minor}",
            "sm_count": props.multi_processor_count,
            "memory_gb": round(props.total_memory / 2**30, 1), "count": torch.cuda.device_count()}


def environment() -> dict:
    """The machine and software a run measured on. scipy's BLAS is loaded first (as
    scikit-learn loads it), so that the BLAS list, which decides which machine this is
    (``gate/machine.py``), does not depend on whether the run imported scikit-learn."""
    import scipy.linalg  # noqa: F401
    import torch

    parallel = torch.__config__.parallel_info().strip().splitlines()
    return {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "torch": torch.__version__,
        "cpu_model": cpu_model(),
        "cpu_id": cpu_id(),
        "cpu_flags": cpu_flags(),
        "cores": available_cores(),
        "blas": [{k: p.get(k) for k in ("user_api", "internal_api", "version", "num_threads",
                                        "threading_layer", "architecture", "prefix")}
                 for p in threadpool_info()],
        "torch_config": [line.strip() for line in parallel[:8]],
        "torch_blas": "MKL" if torch.backends.mkl.is_available() else "other",
        "gpu": gpu_info(),
        "tf32": tf32_enabled(),  # the default; the -tf32 backends set their own
        "float32_matmul_precision": matmul_precision(),
    }
