"""The benchmark grid: ``backend x size x batch x dtype x threads``, per profile.

Profiles (``--profile NAME`` or ``BENCH_PROFILE=NAME``):

* ``smoke``  what plain ``pytest`` runs: the smallest point of every group, timing
             disabled, so a broken benchmark fails ``make test``;
* ``quick``  the default of ``pytest --benchmark-only``: the width sweep at one batch,
             a depth sweep, both dtypes, 1 and all threads; about 3 minutes on 2 cores;
* ``full``   the whole grid: more widths, three batch sizes; ~15 minutes on 2 cores.
* ``gpu``    the card's sweep (``bench/gpu/run.py``): widths up to 784-16384-10 and deep
             stacks at batch 256 to 4096, both dtypes, all cores; the CPU backends only at
             batch 256 (``cpu_batches``: same-run speedups there, the card's regime above);
             sized for ~4 minutes on one H100 and 16 cores (``bench.gpu.plan.estimate``).
* ``gpu-dry`` the same axes at tiny sizes: what ``bench/gpu/run.py --dry`` runs on a CPU.

The step-only variants (``torch-cpu-compile``, ``torch-cuda-compile``, ``torch-cuda-graphs``)
pay a compile (4-17 s on this 2-core machine) per (size, dtype, batch, threads), so they run a
grid of their own (``variant_step_sizes``, float32): smoke one tiny size (one compile), quick
the headline MLP 784-100-10 at 1 and all threads (two compiles, ~30 s), full every width at batch
256, gpu 784-100-10 and 784-2048-10 at batch 256. Each library at its best (``BEST_VARIANTS``:
``numpy-fused``, ``torch-cpu-aot``) also runs 784-2048-10 in the quick profile (``best_widths``).

Ids read like ``numpy-h1024-b256-f32-t2`` (one hidden layer of 1024) or
``torch-cpu-h256x3-b256-f32-t1`` (three hidden layers of 256).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.procs import available_cores
from core.spec import HEADLINE_SIZES
from runfile.ids import case_id  # noqa: F401 - the suite's ids: runfile owns the names

N_IN, N_OUT = 784, 10  # MNIST-shaped
EPOCH_SAMPLES = 60_000
EPOCH_HIDDEN, EPOCH_BATCH = HEADLINE_SIZES[1], 100  # the headline MLP at batch 100
ACTIVATION_ELEMENTS = 2**24  # 64 MiB in float32: far beyond the caches
QUICK_VARIANT_WIDTHS = (HEADLINE_SIZES[1],)  # the headline MLP 784-100-10 (79,510 params)
# each library at its best (issue 24): these variants also run the quick profile's 784-2048-10
BEST_VARIANTS = ("numpy-fused", "torch-cpu-aot")
QUICK_BEST_WIDTHS = (HEADLINE_SIZES[1], 2048)
# the full profile's width sweep: powers of two, and the headline MLP's 100 (a full run holds
# every row the quick profile's headline is made of)
FULL_WIDTHS = (16, 32, 64, 100, 128, 256, 512, 1024, 2048, 4096, 8192)


@dataclass(frozen=True)
class Profile:
    name: str
    widths: tuple  # one hidden layer: 784-H-10
    depths: tuple  # hidden layers at DEPTH_WIDTH
    depth_width: int
    depth_dtypes: tuple  # dtypes of the depth sweep (the width sweep uses ``dtypes``)
    batches: tuple
    dtypes: tuple
    threads: tuple
    forward_widths: tuple
    parallel_widths: tuple
    world_sizes: tuple
    epoch_samples: int
    epoch_dtypes: tuple
    activation_elements: int
    max_time: float  # pytest-benchmark seconds per benchmark (after calibration)
    min_rounds: int
    cpu_batches: tuple | None = None  # batches of the CPU backends where not ``batches``
    variant_widths: tuple = ()  # 784-H-10 sizes of the step-only (compiled) variants
    variant_batches: tuple = (256,)  # their batches, float32 only
    best_widths: tuple = ()  # widths of BEST_VARIANTS where not variant_widths


def _threads():
    return tuple(sorted({1, available_cores()}))


def _world_sizes():
    return tuple(sorted({1, 2, *([available_cores()] if available_cores() <= 8 else [])}))


def profile(name: str) -> Profile:
    if name == "smoke":
        return Profile("smoke", widths=(16,), depths=(2,), depth_width=16,
                       depth_dtypes=("float32",), batches=(8,),
                       dtypes=("float32", "float64"), threads=(1,), forward_widths=(16,),
                       parallel_widths=(16,), world_sizes=(1, 2), epoch_samples=500,
                       epoch_dtypes=("float32",), activation_elements=2**10, max_time=0.0,
                       min_rounds=1, variant_widths=(16,), variant_batches=(8,))
    if name == "quick":
        return Profile("quick", widths=(16, 100, 512, 2048, 4096), depths=(1, 2, 4),
                       depth_width=256, depth_dtypes=("float32",), batches=(256,),
                       dtypes=("float32", "float64"), threads=_threads(),
                       forward_widths=(100, 2048), parallel_widths=(2048,),
                       world_sizes=_world_sizes(), epoch_samples=EPOCH_SAMPLES,
                       epoch_dtypes=("float32",), activation_elements=ACTIVATION_ELEMENTS,
                       max_time=1.0, min_rounds=5, variant_widths=QUICK_VARIANT_WIDTHS,
                       best_widths=QUICK_BEST_WIDTHS)
    if name == "full":
        return Profile("full", widths=FULL_WIDTHS,
                       depths=(1, 2, 3, 4, 6), depth_width=512,
                       depth_dtypes=("float32", "float64"), batches=(32, 256, 1024),
                       dtypes=("float32", "float64"), threads=_threads(),
                       forward_widths=(16, 100, 1024, 8192), parallel_widths=(256, 2048),
                       world_sizes=_world_sizes(), epoch_samples=EPOCH_SAMPLES,
                       epoch_dtypes=("float32", "float64"),
                       activation_elements=ACTIVATION_ELEMENTS, max_time=1.0, min_rounds=7,
                       variant_widths=FULL_WIDTHS)
    if name == "gpu":
        return Profile("gpu", widths=(16, 100, 512, 2048, 4096, 8192, 16384),
                       depths=(2, 4, 8), depth_width=2048,
                       depth_dtypes=("float32", "float64"), batches=(256, 1024, 4096),
                       dtypes=("float32", "float64"), threads=(available_cores(),),
                       forward_widths=(100, 2048, 16384), parallel_widths=(2048,),
                       world_sizes=(1,), epoch_samples=EPOCH_SAMPLES,
                       epoch_dtypes=("float32",), activation_elements=ACTIVATION_ELEMENTS,
                       max_time=0.25, min_rounds=5, cpu_batches=(256,),
                       variant_widths=(100, 2048), variant_batches=(256,))
    if name == "gpu-dry":
        return Profile("gpu-dry", widths=(16, 64), depths=(2,), depth_width=32,
                       depth_dtypes=("float32", "float64"), batches=(8, 32),
                       dtypes=("float32", "float64"), threads=(1,), forward_widths=(16,),
                       parallel_widths=(16,), world_sizes=(1,), epoch_samples=500,
                       epoch_dtypes=("float32",), activation_elements=2**10, max_time=0.0,
                       min_rounds=2, cpu_batches=(8,), variant_widths=(16,),
                       variant_batches=(8,))
    raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")


PROFILES = ("smoke", "quick", "full", "gpu", "gpu-dry")


def step_sizes(p: Profile):
    """``[(layer_sizes, dtypes)]`` of the step sweep: widths at one hidden layer (784-H-10,
    in every dtype), then the depth sweep at a fixed width (in ``depth_dtypes``)."""
    sizes = [((N_IN, h, N_OUT), p.dtypes) for h in p.widths]
    for d in p.depths:
        deep = (N_IN, *([p.depth_width] * d), N_OUT)
        if all(deep != s for s, _ in sizes):
            sizes.append((deep, p.depth_dtypes))
    return sizes


def variant_step_sizes(p: Profile, backend: str | None = None):
    """``[(layer_sizes, dtypes)]`` of the step-only variants: 784-H-10, float32 (``backend``
    one of ``BEST_VARIANTS``: its ``best_widths`` where the profile has them)."""
    widths = p.best_widths if backend in BEST_VARIANTS and p.best_widths else p.variant_widths
    return [((N_IN, h, N_OUT), ("float32",)) for h in widths]
