"""What a result needs to describe itself: versions, CPU, BLAS pools, GPU, TF32.

The GPU facts (card, driver, CUDA and cuBLAS versions, multiprocessors) are read without
raising: a fact that cannot be read is None, so the run's JSON is always written.
"""

from __future__ import annotations

import ctypes
import platform
import subprocess
import sys
from importlib import metadata

import numpy as np
from threadpoolctl import threadpool_info

from core.procs import available_cores

from .precision import matmul_precision, tf32_enabled


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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
    import torch

    parallel = torch.__config__.parallel_info().strip().splitlines()
    return {
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "torch": torch.__version__,
        "cpu_model": cpu_model(),
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
