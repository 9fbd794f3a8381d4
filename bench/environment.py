"""What a result needs to describe itself: versions, CPU, BLAS pools, GPU, TF32."""

from __future__ import annotations

import platform
import sys

import numpy as np
from threadpoolctl import threadpool_info

from core.procs import available_cores


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_info():
    import torch

    if not torch.cuda.is_available():
        return None
    props = torch.cuda.get_device_properties(0)
    driver = None
    try:
        import subprocess

        driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version",
                                 "--format=csv,noheader"], capture_output=True, text=True,
                                timeout=10).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        pass
    return {"name": props.name, "driver": driver, "cuda": torch.version.cuda,
            "capability": f"{props.major}.{props.minor}",
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
        "tf32": bool(torch.backends.cuda.matmul.allow_tf32),
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
    }
