"""The contract between the benchmarks (``bench/``) and their readers (``reports/``, ``gate/``).

A run is one pytest-benchmark JSON file (``results/runs/<UTC time>-<profile>.json``;
``pytest --benchmark-json=PATH`` overrides). On top of pytest-benchmark's own keys:

``benchmarks[i]`` (one per timed benchmark)
    ``stats``: pytest-benchmark's statistics in seconds (``median``, ``iqr``, ``q1``, ``q3``,
    ``rounds``, ... and ``data``: the raw per-round times, always saved).
    ``extra_info``: the record below, with ``suite == SUITE``.

``extra_info`` keys (``RECORD_KEYS``)
    ``suite``        "mlp-twins" (marks records of this suite)
    ``schema``       SCHEMA_VERSION
    ``group``        "step" (forward + backward + SGD update on a resident batch),
                     "forward" (inference), "epoch" (one epoch, input pipeline included),
                     "activation" (one elementwise activation over a large array)
    ``backend``      one of ``BACKENDS``: "numpy", "torch-cpu", "torch-cuda", "torch-cuda-tf32",
                     "torch-ddp", "numpy-mp" (``PARALLEL_BACKENDS``), "sklearn", the step-only
                     variants (``STEP_VARIANTS``)
    ``lib``          "numpy" or "torch": whose calibrated GEMM rate is the ceiling
    ``device``       "cpu", "cuda", ...
    ``dtype``        "float32" or "float64"
    ``threads``      BLAS / intra-op threads per process, as read back before timing
    ``world_size``   processes (1 except for the parallel backends, which may also run 1)
    ``batch``        samples per step (global batch for parallel backends)
    ``layer_sizes``  e.g. [784, 100, 10]; [] for "activation"
    ``n_params``     weights + biases
    ``flops``        FLOPs of one timed call (``core.flops.step_flops`` for a step,
                     ``forward_flops`` for a forward, steps x step_flops for an epoch, 0 for
                     an activation)
    ``bytes``        bytes read + written by one timed call ("activation" only, else 0)
    ``samples_per_s`` batch (or epoch size) / median time
    ``peak_mem_bytes`` tracemalloc peak of one call (NumPy), ``torch.cuda.max_memory_allocated``
                     above the ``memory_allocated`` before it (CUDA), or null where not
                     measurable (torch on CPU)
    ``pipeline``     "epoch" only: "numpy-batches", "torch-per-sample", "torch-batched",
                     "in-memory" (pre-sliced tensors: compute only), "sklearn",
                     "torch-pinned" (CUDA: pinned host memory); else null
    ``input_s``      "epoch" only: seconds to iterate the pipeline alone, no compute; else null
    ``activation``   "activation" only: "relu", "tanh", "sigmoid", "copy"; else null
    ``variant``      "tf32" (torch-cuda-tf32, ``BACKEND_VARIANTS``), "w<world_size>" (a
                     parallel backend, or null) or null
    ``busy_other``   share (0..1) of the machine's CPU time used by processes outside the
                     benchmark's own process tree (its workers count as its own) during its
                     timed rounds, from /proc/stat and /proc/PID/stat (``bench/quiet/cpuload.py``);
                     null where not measurable (no /proc, or under one clock tick)
    ``disturbance``  median of the record's ``probe_data`` over the quiet time of the same
                     probe (library, device, dtype, threads, shape): the lowest quartile of
                     every time the run measured for it; ~1 on a quiet machine, ``k`` on a
                     machine ``k`` times slower; null where there is no probe (parallel,
                     epoch, or timing disabled)
    ``disturbed``    true when ``busy_other`` or ``disturbance`` is above its threshold
                     (``BUSY_OTHER_MAX``, ``DISTURBANCE_MAX`` below, set from measured
                     quiet-machine noise; ``bench/quiet/disturbance.py`` judges), after the
                     last re-measurement; true with quiet evidence is allowed (a record judged
                     again with later probes), false with evidence above a threshold is not
    ``reruns``       how many times the benchmark was re-measured because it was disturbed
                     (0: measured once); the record is the last measurement

Optional extra keys (``OPTIONAL_RECORD_KEYS``): ``gemm_s`` ("step", single-process: median
seconds of the step's own matrix products timed alone, same library and layouts,
``bench/measure/breakdown.py``; the share of the step spent in GEMM is ``gemm_s / median``);
``n_samples`` and ``data`` ("epoch": epoch size and "synthetic" or "mnist"); ``probe_data``
and ``relative`` (single-process "step", "forward" and "activation": the seconds of the
untimed probe run before each timed round, aligned with ``stats.data``, and the median of
round / probe; ``bench/quiet/probe.py``); ``ONE_OFF_KEYS`` (the step-only variants: compile,
capture or prepare seconds, ``one_off_kind`` one of ``ONE_OFF_KINDS``, paired eager and variant
step medians, ``break_even_steps`` = one_off_s / (eager_step_s - variant_step_s) or null if not
faster; ``bench/backends/variants.py``);
``launch`` (a run of several launches: which one measured the record, 0-based).

``machine_info["mlp_twins"]`` (once per run, ``MACHINE_KEYS``; ``bench/measure/environment.py``)
    ``profile``, ``numpy``, ``torch``, ``python`` versions, ``cpu_model``, ``cpu_id``
    ("vendor family/model" from /proc/cpuinfo, or null), ``cpu_flags`` (the CPU features that
    select BLAS kernels, ``environment.KERNEL_FLAGS``, or null), ``cores``,
    ``blas`` (threadpoolctl's ``threadpool_info()``), ``torch_config``
    (``torch.__config__.parallel_info()`` first lines), ``torch_blas`` ("MKL" when torch
    has MKL, else "other"), ``gpu`` (``GPU_KEYS``: ``{"name", "driver", "cuda", "cublas",
    "capability", "sm_count", "memory_gb", "count"}`` or null), ``tf32`` (TF32 for CUDA
    float32 matmuls by default, null if unreadable; ``-tf32`` backends set it for themselves),
    ``float32_matmul_precision`` (``torch.get_float32_matmul_precision()``: "highest",
    "high" or "medium"; null if unreadable), ``calibration``: ``{"gemm": [{"lib", "device",
    "dtype", "threads", "m", "k", "n", "variant", "gflops"}], "copy_gbps": [{"lib", "device",
    "threads", "gbps"}]}`` (``variant`` "tf32": measured with TF32 on, the ceiling of TF32 rows).

``output_json["mlp_twins"]`` (once per run, written at the end even after Ctrl-C or SIGTERM;
``RUN_KEYS``)
    ``profile``; ``missing``: ``[{"test": nodeid, "reason": str}]`` for every selected
    benchmark that produced no record: reason "skipped: ..." (on purpose, e.g. no CUDA),
    "failed in ...: ...", "interrupted" (the benchmark Ctrl-C cut short: its partial rounds
    are not kept) or "not run: the run was interrupted"; ``complete``: true only when every
    selected benchmark has a record or was skipped and the run was not interrupted;
    ``stopped_at``: where Ctrl-C (or SIGTERM) stopped the run ("collection", "calibration" or the
    benchmark's node id), null when it was not interrupted. A run interrupted before any
    benchmark finished is still written (no ``benchmarks``), so it says where it stopped.

A run of several launches (``LAUNCH_KEYS``; ``python -m bench.suite.launch``, issue 23): the
same selection run by ``launches`` fresh processes, merged by ``runfile.write.merge_launches``.
Every benchmark entry of launch ``k`` carries ``extra_info["launch"] = k`` (0-based; a name
appears once per launch), ``mlp_twins.launches`` is their number, ``missing`` entries carry
their ``launch``, ``complete`` holds only when every launch is complete, ``stopped_at`` is the
first launch's stop, and ``machine_info`` is launch 0's (each launch calibrates again; the
others' calibrations are ``machine_info["mlp_twins"]["launch_calibrations"]``, ``launches`` - 1
of them, present only with ``launches``). Every launch has a benchmark or a ``missing`` entry,
or the run was stopped. A run without
``launches`` is one launch.

Reading and validating a run: ``runfile/``.
"""

from core.spec import ACTIVATIONS, DTYPES

SUITE = "mlp-twins"
# 2: busy_other, disturbance, disturbed, reruns; stopped_at. 3: the probe is timed warm and
# repeated up to PROBE_MIN_FLOP (bench/quiet/probe.py), so probe_data, relative and disturbance
# are not comparable with version 2's.
SCHEMA_VERSION = 3
RECORD_KEYS = ("suite", "schema", "group", "backend", "lib", "device", "dtype", "threads",
               "world_size", "batch", "layer_sizes", "n_params", "flops", "bytes",
               "samples_per_s", "peak_mem_bytes", "pipeline", "input_s", "activation",
               "variant", "busy_other", "disturbance", "disturbed", "reruns")
ONE_OFF_KEYS = ("one_off_s", "one_off_kind", "one_off_cache_hit", "eager_step_s",
                "variant_step_s", "break_even_steps")
# the step-only variants, each with the backend whose step it replaces: compiled, captured,
# and each library at its best (issue 24: numpy-fused, torch-cpu-aot); and what their one-off
# cost paid for (compile: trace + codegen + build; capture: CUDA graph; prepare: bind + buffers)
STEP_VARIANTS = {"torch-cpu-compile": "torch-cpu", "torch-cuda-compile": "torch-cuda",
                 "torch-cuda-graphs": "torch-cuda", "numpy-fused": "numpy",
                 "torch-cpu-aot": "torch-cpu"}
ONE_OFF_KINDS = ("compile", "capture", "prepare")
# every backend the bench registers (``bench.backends.load_all()``; tests/test_schema.py keeps
# the two equal), and the epoch-only peer it times without registering it
PARALLEL_BACKENDS = ("numpy-mp", "torch-ddp")  # world_size processes, group "step" only
REGISTERED_BACKENDS = ("numpy", "torch-cpu", "torch-cuda", "torch-cuda-tf32",
                       *PARALLEL_BACKENDS, *STEP_VARIANTS)
BACKENDS = (*REGISTERED_BACKENDS, "sklearn")
# ``variant``: a single-process backend's own (``Backend.variant``; null for the others), and a
# parallel backend's "w<world_size>" (``bench/bench_step.py``; null in older synthetic runs)
BACKEND_VARIANTS = {"torch-cuda-tf32": "tf32"}
# ``profile``: the bench's profiles (``bench/suite/grid.py`` PROFILES) and synthetic runs'
PROFILES = ("smoke", "quick", "full", "gpu", "gpu-dry", "synthetic")
OPTIONAL_RECORD_KEYS = ("gemm_s", "n_samples", "data", "probe_data", "relative", "launch",
                        *ONE_OFF_KEYS)
MACHINE_KEYS = ("profile", "python", "numpy", "torch", "cpu_model", "cpu_id", "cpu_flags",
                "cores", "blas",
                "torch_config", "torch_blas", "gpu", "tf32", "float32_matmul_precision",
                "calibration")
GPU_KEYS = ("name", "driver", "cuda", "cublas", "capability", "sm_count", "memory_gb", "count")
RUN_KEYS = ("profile", "missing", "complete", "stopped_at")
LAUNCH_KEYS = ("launches",)  # in the mlp_twins block of a run of several launches only
# the vocabulary of a record's words: a value outside it is refused (runfile/check.py)
GROUPS = ("step", "forward", "epoch", "activation")
LIBS = ("numpy", "torch")
DEVICES = ("cpu", "cuda")
RECORD_DTYPES = tuple(DTYPES)  # "float32", "float64"
PIPELINES = ("in-memory", "numpy-batches", "torch-batched", "torch-per-sample", "sklearn",
             "torch-pinned")
ACTIVATION_KINDS = (*ACTIVATIONS, "copy")
DATA_KINDS = ("synthetic", "mnist")
# what ``disturbed`` means: a record whose evidence is above either threshold is disturbed
# (``bench/quiet/disturbance.py`` judges with them; they sit above the quiet-machine maxima
# that ``python -m bench.quiet.noise`` measures)
BUSY_OTHER_MAX = 0.10  # share (0..1) of the machine's CPU used by other processes
DISTURBANCE_MAX = 1.5  # ratio: median probe time / the probe's quiet time
RESULTS_DIR = "results/runs"  # relative to the repository root
