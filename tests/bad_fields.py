"""Malformed runs and baselines, one field at a time, for the reports' and the gate's CLI
tests: ``(case, change to the parsed document, words the one-line error must contain)``."""

from __future__ import annotations

import statistics

NAN, INF = float("nan"), float("inf")


def _info(key, value):
    def change(doc):
        doc["benchmarks"][0]["extra_info"][key] = value
    return change


def _stats(key, value):
    def change(doc):
        doc["benchmarks"][0]["stats"][key] = value
    return change


def _twins(key, value):
    def change(doc):
        doc["machine_info"]["mlp_twins"][key] = value
    return change


def _run(key, value):
    def change(doc):
        doc["mlp_twins"][key] = value
    return change


def _gemm(key, value):
    def change(doc):
        doc["machine_info"]["mlp_twins"]["calibration"]["gemm"][0][key] = value
    return change


def _bench0(doc):
    return doc["benchmarks"][0]


def _probed(change):
    """``change`` applied to a first record that has a probe before each round (added, with
    its consistent ``relative``, where the run has none)."""
    def apply(doc):
        info, data = _bench0(doc)["extra_info"], _bench0(doc)["stats"]["data"]
        if info.get("probe_data") is None:
            info["probe_data"] = [2.5e-3] * len(data)
            info["relative"] = statistics.median(t / 2.5e-3 for t in data)
        change(doc)
    return apply


def _scale_stats(key, factor):
    def change(doc):
        stats = _bench0(doc)["stats"]
        stats[key] = [t * factor for t in stats[key]] if key == "data" else stats[key] * factor
    return change


def _set_stats(key, of_data):
    def change(doc):
        stats = _bench0(doc)["stats"]
        stats[key] = of_data(stats["data"])
    return change


def _scale_info(key, factor):
    def change(doc):
        info = _bench0(doc)["extra_info"]
        info[key] = info[key] * factor
    return change


def _missing(entries, complete=None, stopped_at=None):
    """The run's missing list (``{name}``: the first benchmark's name), and its verdict."""
    def change(doc):
        name = _bench0(doc)["name"]
        doc["mlp_twins"]["missing"] = [{**m, "test": m["test"].format(name=name)}
                                       for m in entries]
        doc["mlp_twins"]["complete"] = complete if complete is not None else not entries
        doc["mlp_twins"]["stopped_at"] = stopped_at
    return change


def _calibration(change_gemm):
    def change(doc):
        cal = doc["machine_info"]["mlp_twins"]["calibration"]
        cal["gemm"] = change_gemm(cal["gemm"])
    return change


def _gpu(value):
    return _twins("gpu", value)


SKIP = "skipped: no CUDA"
# derived numbers against their inputs, the missing list against the records, the calibration
# against itself and the records, the gpu block (runfile/check.py, round 3)
DERIVED_BAD_RUNS = [
    ("flops of another batch", _scale_info("flops", 2), "extra_info.flops is"),
    ("flops 1 % off", _scale_info("flops", 1.01), "the step FLOPs of layer_sizes"),
    ("flops 0 for a step", _info("flops", 0), "extra_info.flops is 0; expected"),
    ("samples_per_s 2x", _scale_info("samples_per_s", 2), "extra_info.samples_per_s is"),
    ("samples_per_s 1e-6 off", _scale_info("samples_per_s", 1 + 1e-6),
     "batch / stats.median"),
    ("samples_per_s of the fastest round", lambda doc: _bench0(doc)["extra_info"].update(
        samples_per_s=_bench0(doc)["extra_info"]["batch"] / min(_bench0(doc)["stats"]["data"])),
     "extra_info.samples_per_s is"),
    ("missing names a present benchmark", _missing([{"test": "b/x.py::{name}",
                                                     "reason": SKIP}]),
     "mlp_twins.missing[0].test is 'b/x.py::test_step"),
    ("missing names a benchmark twice", _missing([{"test": "b/x.py::test_gone", "reason": SKIP},
                                                  {"test": "b/y.py::test_gone",
                                                   "reason": "interrupted"}], complete=False),
     "mlp_twins.missing[1].test is 'b/y.py::test_gone'; expected a benchmark missing once"),
    ("missing of a launch the run lacks", _missing([{"test": "t", "reason": SKIP,
                                                     "launch": 1}]),
     "mlp_twins.missing[0].launch is 1"),
    ("complete with a failure missing", _missing([{"test": "t", "reason": "failed in call: x"}],
                                                 complete=True),
     "mlp_twins.complete is True; expected false: mlp_twins.missing[0].reason is 'failed"),
    ("complete though stopped", _missing([], complete=True, stopped_at="calibration"),
     "mlp_twins.complete is True; expected false: the run was stopped"),
    ("a gemm probe twice", _calibration(lambda g: [*g, dict(g[0], gflops=1.0)]),
     "machine_info.mlp_twins.calibration.gemm[3] is"),
    ("a copy probe twice", lambda doc: doc["machine_info"]["mlp_twins"]["calibration"].update(
        copy_gbps=[{"lib": "numpy", "device": "cpu", "threads": 1, "gbps": 5.0}] * 2),
     "machine_info.mlp_twins.calibration.copy_gbps[1] is"),
    ("no gemm probe", _calibration(lambda g: []),
     "machine_info.mlp_twins.calibration.gemm is []; expected at least one"),
    ("no torch gemm probe", _calibration(lambda g: [x for x in g if x["lib"] != "torch"]),
     "machine_info.mlp_twins.calibration.gemm is '2 rates'; expected a torch rate"),
    ("gpu an empty object", _gpu({}), "machine_info.mlp_twins.gpu.name is absent"),
    ("gpu name false", _gpu({"name": False}), "machine_info.mlp_twins.gpu.name is False"),
    ("gpu name a number", _gpu({"name": 100}), "machine_info.mlp_twins.gpu.name is 100"),
    ("gpu name empty", _gpu({"name": ""}), "machine_info.mlp_twins.gpu.name is ''"),
    ("gpu a string", _gpu("H100"), "machine_info.mlp_twins.gpu is 'H100'"),
    ("gpu false", _gpu(False), "machine_info.mlp_twins.gpu is False"),
]


def _bench(key, value, at=0):
    def change(doc):
        doc["benchmarks"][at][key] = value
    return change


def _drop_name(at):
    def change(doc):
        doc["benchmarks"][at].pop("name")
    return change


def _moments(change_stats):
    """``change_stats`` applied to a first record whose stats carry pytest-benchmark's mean,
    stddev, total and ops, computed from its rounds as pytest-benchmark does."""
    def change(doc):
        stats = _bench0(doc)["stats"]
        data = stats["data"]
        stats.update(mean=statistics.mean(data), stddev=statistics.stdev(data),
                     total=sum(data), ops=len(data) / sum(data))
        change_stats(stats)
    return change


def named(test=None, **fields):
    """The first record under the name the suite would give it (``runfile.ids.case_id``),
    with ``fields`` (and ``test``, the test function) in the name changed."""
    from runfile.ids import case_id

    def change(doc):
        bench = _bench0(doc)
        info = bench["extra_info"]
        spec = {k: info[k] for k in ("backend", "layer_sizes", "batch", "dtype", "threads",
                                      "world_size")}
        param = case_id(**{**spec, **fields})
        bench.update(name=f"{test or 'test_' + info['group']}[{param}]", param=param)
        bench["fullname"] = f"bench/bench_step.py::{bench['name']}"
    return change


def _blas(key, value):
    def change(doc):
        doc["machine_info"]["mlp_twins"]["blas"][0][key] = value
    return change


def _unique_names(doc):
    """Synthetic names made unique (a launched run holds each name once per launch)."""
    seen = set()
    for i, bench in enumerate(doc["benchmarks"]):
        if bench["name"] in seen:
            bench["name"] = bench["name"][:-1] + f"-dup{i}]"
            bench["fullname"] = f"bench/bench_x.py::{bench['name']}"
        seen.add(bench["name"])


def _launched(n, cals=None, last=None, drop_launches=False):
    """The run as ``n`` launches (``launch_calibrations``: ``cals``, default one null per
    launch after the first); the last record measured by launch ``last``."""
    def change(doc):
        _unique_names(doc)
        doc["mlp_twins"]["launches"] = n
        if drop_launches:
            del doc["mlp_twins"]["launches"]
        twins = doc["machine_info"]["mlp_twins"]
        twins["launch_calibrations"] = [None] * (n - 1) if cals is None else cals
        if last is not None:
            doc["benchmarks"][-1]["extra_info"]["launch"] = last
    return change


def _other_suite(value):
    def change(doc):
        doc["benchmarks"][-1]["extra_info"]["suite"] = value
    return change


# round 4 (runfile/check.py, runfile/ids.py): names, the moments of stats.data, machine facts,
# the backend's words, the profile, launched runs
NAME_BAD_RUNS = [
    ("a benchmark without its name", _drop_name(0), "name is absent; expected the benchmark's"),
    ("a later benchmark without its name", _drop_name(-1), "name is absent"),
    ("name null", _bench("name", None), "name is None; expected the benchmark's name"),
    ("name empty", _bench("name", ""), "name is ''"),
    ("name a number", _bench("name", 7), "name is 7"),
    ("name a lone surrogate", _bench("name", "test_\ud800"), "name is 'test_\\ud800'"),
    ("fullname a lone surrogate", lambda doc: _bench0(doc).update(
        fullname="\ud800::" + _bench0(doc)["name"]), "fullname is '\\ud800::"),
    ("param not the name's", _bench("param", "numpy-h1-b1-f32-t1"),
     "param is 'numpy-h1-b1-f32-t1'; expected what the name"),
    ("param a number", _bench("param", 5), "param is 5"),
    ("fullname of another benchmark", _bench("fullname", "bench/b.py::test_step[other]"),
     "fullname is 'bench/b.py::test_step[other]'; expected a node id ending with"),
    ("fullname without its node path", lambda doc: _bench0(doc).update(
        fullname=_bench0(doc)["name"]), "fullname is"),
    ("fullname null", _bench("fullname", None), "fullname is None"),
    ("a record of another suite", _other_suite("mlp-twins-2"),
     "extra_info.suite is 'mlp-twins-2'; expected 'mlp-twins'"),
    ("a record of the suite in capitals", _other_suite("MLP-TWINS"),
     "extra_info.suite is 'MLP-TWINS'"),
    ("a record of suite null", _other_suite(None), "extra_info.suite is None"),
    # the suite's case id in a name spells the record's fields (bench/suite/grid.py)
    ("name says float64 over float32", named(dtype="float64"),
     "extra_info.dtype is 'float32'; expected 'float64', as the name"),
    ("name says 99 threads", named(threads=99), "expected 99, as the name"),
    ("name says another batch", named(batch=7), "extra_info.batch is"),
    ("name says another size", named(layer_sizes=[784, 5, 10]),
     "expected layer sizes whose hidden layers read 'h5'"),
    ("name says two hidden layers", named(layer_sizes=[784, 16, 16, 10]),
     "hidden layers read 'h16x2'"),
    ("name says another backend", named(backend="torch-cpu"),
     "extra_info.backend is 'numpy'; expected 'torch-cpu', as the name"),
    ("name says 2 processes", named(world_size=2), "extra_info.world_size is 1; expected 2"),
    ("name of another group", named(test="test_forward"),
     "extra_info.group is 'step'; expected 'forward', as the name"),
]

MOMENT_BAD_RUNS = [  # pytest-benchmark's mean, stddev, total, ops: those of stats.data
    ("mean negative", _moments(lambda s: s.update(mean=-s["mean"])), "stats.mean is -"),
    ("mean 10x the rounds'", _moments(lambda s: s.update(mean=10 * s["mean"])),
     "expected the mean of stats.data"),
    ("mean 1e-6 off", _moments(lambda s: s.update(mean=s["mean"] * (1 + 1e-6))), "stats.mean"),
    ("stddev -1", _moments(lambda s: s.update(stddev=-1)), "stats.stddev is -1"),
    ("stddev 2x the rounds'", _moments(lambda s: s.update(stddev=2 * s["stddev"])),
     "expected the standard deviation of stats.data"),
    ("stddev 0 over spread rounds", _moments(lambda s: s.update(stddev=0.0)),
     "stats.stddev is 0.0"),
    ("ops 1e9", _moments(lambda s: s.update(ops=1e9)),
     "stats.ops is 1000000000.0; expected the rounds per second"),
    ("ops 1/median", _moments(lambda s: s.update(ops=1 / s["median"] * 1.01)), "stats.ops is"),
    ("total 1e-9", _moments(lambda s: s.update(total=1e-9)),
     "stats.total is 1e-09; expected the sum of stats.data"),
    ("total 0", _moments(lambda s: s.update(total=0.0)), "stats.total is 0.0"),
    ("mean a string", _moments(lambda s: s.update(mean="1 ms")), "stats.mean is '1 ms'"),
    # the derived numbers of round 3, at the tester's values
    ("samples_per_s x1000", _scale_info("samples_per_s", 1000), "extra_info.samples_per_s is"),
    ("samples_per_s 0", _info("samples_per_s", 0), "extra_info.samples_per_s is 0; expected"),
    ("flops x1000 + 7", lambda doc: _bench0(doc)["extra_info"].update(
        flops=_bench0(doc)["extra_info"]["flops"] * 1000 + 7), "extra_info.flops is"),
]

FACT_BAD_RUNS = [  # the machine's facts against each other
    ("blas num_threads 0", _blas("num_threads", 0),
     "machine_info.mlp_twins.blas[0].num_threads is 0; expected an integer >= 1"),
    ("blas num_threads -1", _blas("num_threads", -1), "blas[0].num_threads is -1"),
    ("blas num_threads a string", _blas("num_threads", "2"), "blas[0].num_threads is '2'"),
    ("cores above the CPU count", _twins("cores", 64),
     "machine_info.mlp_twins.cores is 64; expected at most machine_info.cpu.count"),
    ("cpu count 0", lambda doc: doc["machine_info"]["cpu"].update(count=0),
     "machine_info.cpu.count is 0"),
    ("node a lone surrogate", lambda doc: doc["machine_info"].update(node="n\ud800"),
     "machine_info.node is 'n\\ud800'"),
    ("node a number", lambda doc: doc["machine_info"].update(node=5), "machine_info.node is 5"),
    ("a gemm probe at more threads than cores", _gemm("threads", 64),
     "calibration.gemm[0].threads is 64; expected at most"),
    ("a copy probe at more threads than cores", lambda doc: doc["machine_info"]["mlp_twins"][
        "calibration"].update(copy_gbps=[{"lib": "numpy", "device": "cpu", "threads": 64,
                                          "gbps": 5.0}]),
     "calibration.copy_gbps[0].threads is 64"),
    ("a gemm probe twice, variant null and absent",
     _calibration(lambda g: [*g, dict(g[0], variant=None, gflops=1.0)]),
     "machine_info.mlp_twins.calibration.gemm[3] is"),
    ("a gemm probe twice at twice the rate",
     _calibration(lambda g: [dict(g[0], gflops=2 * g[0]["gflops"]), *g]),
     "machine_info.mlp_twins.calibration.gemm[1] is"),
    ("missing names a present benchmark, interrupted",
     _missing([{"test": "bench/bench_step.py::{name}", "reason": "interrupted"}],
              complete=False), "mlp_twins.missing[0].test is 'bench/bench_step.py::test_step"),
    ("complete with an interrupted benchmark missing",
     _missing([{"test": "t", "reason": "interrupted"}], complete=True),
     "mlp_twins.complete is True; expected false"),
    ("complete though stopped at a benchmark",
     _missing([], complete=True, stopped_at="bench/x.py::test_y"),
     "mlp_twins.complete is True; expected false: the run was stopped"),
]

VOCABULARY_BAD_RUNS = [  # the backend, its variant and world size; the profile
    ("backend unknown", _info("backend", "jax"), "extra_info.backend is 'jax'; expected one of"),
    ("backend in capitals", _info("backend", "NUMPY"), "extra_info.backend is 'NUMPY'"),
    ("backend with markup", _info("backend", "numpy<b>"), "extra_info.backend is 'numpy<b>'"),
    ("backend with a newline", _info("backend", "numpy\n# x"), "extra_info.backend is"),
    ("backend with a pipe", _info("backend", "numpy|torch"), "extra_info.backend is"),
    ("variant free text", _info("variant", "compile"),
     "extra_info.variant is 'compile'; expected null for backend 'numpy'"),
    ("variant tf32 on numpy", _info("variant", "tf32"), "extra_info.variant is 'tf32'"),
    ("variant markup", _info("variant", "<script>"), "extra_info.variant is '<script>'"),
    ("a tf32 backend without its variant", lambda doc: _bench0(doc)["extra_info"].update(
        backend="torch-cuda-tf32", lib="torch", device="cuda", variant=None),
     "extra_info.variant is None; expected 'tf32' for backend 'torch-cuda-tf32'"),
    ("a parallel variant of another world size", lambda doc: _bench0(doc)["extra_info"].update(
        backend="numpy-mp", world_size=2, variant="w3"),
     "extra_info.variant is 'w3'; expected null or 'w2'"),
    ("numpy over 2 processes", _info("world_size", 2),
     "extra_info.world_size is 2; expected 1 for the single-process backend 'numpy'"),
    ("torch-cpu over 4 processes", lambda doc: _bench0(doc)["extra_info"].update(
        backend="torch-cpu", lib="torch", world_size=4), "extra_info.world_size is 4"),
    ("a parallel forward", lambda doc: _bench0(doc)["extra_info"].update(
        backend="torch-ddp", lib="torch", group="forward"),
     "extra_info.group is 'forward'; expected 'step' for the parallel backend"),
    ("profile unknown", _twins("profile", "turbo"),
     "machine_info.mlp_twins.profile is 'turbo'; expected null or one of"),
    ("profile a number", _twins("profile", 3), "machine_info.mlp_twins.profile is 3"),
    ("run profile unknown", _run("profile", "nightly"), "mlp_twins.profile is 'nightly'"),
    ("run profile markup", _run("profile", "<b>quick</b>"), "mlp_twins.profile is '<b>"),
]

LAUNCH_BAD_RUNS = [  # a run of several launches adds up
    ("2 launches, launch 1 without a benchmark", _launched(2),
     "mlp_twins.launches is 2; expected a benchmark or a mlp_twins.missing entry in every "
     "launch (launch 1 has no benchmark)"),
    ("3 launches, launch 2 without a benchmark", _launched(3, last=1),
     "(launch 2 has no benchmark)"),
    ("launch_calibrations without launches", _launched(2, drop_launches=True),
     "machine_info.mlp_twins.launch_calibrations is '1 calibrations'; expected absent"),
    ("launch_calibrations in a run of one launch", _launched(1, cals=[None]),
     "launch_calibrations is '1 calibrations'; expected 0, one per launch after the first"),
    ("launch_calibrations one short", _launched(3, cals=[None], last=1),
     "launch_calibrations is '1 calibrations'; expected 2"),
    ("missing launch a string", _missing([{"test": "t", "reason": SKIP, "launch": "0"}]),
     "mlp_twins.missing[0].launch is '0'"),
    ("missing launch negative", _missing([{"test": "t", "reason": SKIP, "launch": -1}]),
     "mlp_twins.missing[0].launch is -1"),
    ("missing launch true", _missing([{"test": "t", "reason": SKIP, "launch": True}]),
     "mlp_twins.missing[0].launch is True"),
    ("missing launch 0.0", _missing([{"test": "t", "reason": SKIP, "launch": 0.0}]),
     "mlp_twins.missing[0].launch is 0.0"),
]

ROUND4_BAD_RUNS = [*NAME_BAD_RUNS, *MOMENT_BAD_RUNS, *FACT_BAD_RUNS, *VOCABULARY_BAD_RUNS,
                   *LAUNCH_BAD_RUNS]
# a record or the run around it; the error names the field ("extra_info.batch") and the value
BAD_RUN_FIELDS = [
    # the statistics are those of the rounds (pytest-benchmark computes them from stats.data)
    ("median not the rounds' median", _scale_stats("median", 1.001),
     "expected the median of stats.data"),
    ("rounds 3x slower, median kept", _scale_stats("data", 3.0),
     "stats.median is"),
    ("median below every round", lambda doc: _bench0(doc)["stats"].update(
        median=min(_bench0(doc)["stats"]["data"]) / 10, q1=0.0),
     "expected the median of stats.data"),
    ("data empty", lambda doc: (_bench0(doc)["stats"].update(data=[]),
                                _bench0(doc)["stats"].pop("rounds")), "stats.data is []"),
    ("min not the rounds' min", _set_stats("min", lambda d: min(d) * 0.5),
     "expected the min of stats.data"),
    ("max below the rounds'", _set_stats("max", lambda d: min(d)),
     "expected the max of stats.data"),
    ("min above max", lambda doc: _bench0(doc)["stats"].update(min=5.0, max=1.0),
     "stats.min is 5.0"),
    ("q1 below every round", _set_stats("q1", lambda d: min(d) / 2), "stats.q1 is"),
    ("q3 above every round", _set_stats("q3", lambda d: max(d) * 2), "stats.q3 is"),
    ("iqr not q3 - q1", _stats("iqr", 100.0), "stats.iqr is 100.0; expected q3 - q1"),
    ("relative not the rounds over the probes", _probed(
        lambda doc: _bench0(doc)["extra_info"].update(relative=_bench0(doc)["extra_info"][
            "relative"] * 0.5)), "expected the median of stats.data / extra_info.probe_data"),
    ("relative slightly off", _probed(lambda doc: _bench0(doc)["extra_info"].update(
        relative=_bench0(doc)["extra_info"]["relative"] * (1 + 1e-6))), "extra_info.relative"),
    ("probe_data without relative", _probed(
        lambda doc: _bench0(doc)["extra_info"].pop("relative")), "extra_info.relative is absent"),
    ("probe_data with relative null", _probed(
        lambda doc: _bench0(doc)["extra_info"].update(relative=None)),
     "extra_info.relative is None"),
    ("relative without probe_data", _probed(
        lambda doc: _bench0(doc)["extra_info"].pop("probe_data")),
     "extra_info.probe_data is absent"),
    ("relative with probe_data null", _probed(
        lambda doc: _bench0(doc)["extra_info"].update(probe_data=None)),
     "extra_info.probe_data is None"),
    # disturbed agrees with its evidence (runfile/schema.py: BUSY_OTHER_MAX, DISTURBANCE_MAX)
    ("busy machine, not disturbed", lambda doc: _bench0(doc)["extra_info"].update(
        busy_other=0.99, disturbed=False), "extra_info.disturbed is False; expected true"),
    ("slow probe, not disturbed", lambda doc: _bench0(doc)["extra_info"].update(
        disturbance=50.0, disturbed=False), "disturbance 50.0 > 1.5"),
    ("busy machine, disturbed absent", lambda doc: (_bench0(doc)["extra_info"].update(
        busy_other=0.5), _bench0(doc)["extra_info"].pop("disturbed")),
     "extra_info.disturbed is absent"),
    # counts are JSON integers
    ("threads 2.0", _info("threads", 2.0), "extra_info.threads is 2.0"),
    ("world_size 1.0", _info("world_size", 1.0), "extra_info.world_size is 1.0"),
    ("batch a float", _info("batch", 256.0), "extra_info.batch is 256.0"),
    ("reruns 0.0", _info("reruns", 0.0), "extra_info.reruns is 0.0"),
    ("rounds a float", lambda doc: _bench0(doc)["stats"].update(
        rounds=float(len(_bench0(doc)["stats"]["data"]))), "stats.rounds is"),
    ("cores 2.0", _twins("cores", 2.0), "machine_info.mlp_twins.cores is 2.0"),
    ("gemm threads 2.0", _gemm("threads", 2.0), "calibration.gemm[0].threads is 2.0"),
    ("gemm m a float", _gemm("m", 1024.0), "calibration.gemm[0].m is 1024.0"),
    # words that belong to one group, devices a backend runs on, the calibration's words
    ("pipeline on a step", _info("pipeline", "in-memory"),
     "extra_info.pipeline is 'in-memory'; expected null for group 'step'"),
    ("activation on a step", _info("activation", "relu"),
     "extra_info.activation is 'relu'; expected null for group 'step'"),
    ("data on a step", _info("data", "mnist"), "extra_info.data is 'mnist'"),
    ("an epoch without its pipeline", _info("group", "epoch"), "extra_info.pipeline is"),
    ("an activation without its kind", _info("group", "activation"),
     "extra_info.activation is"),
    ("numpy on cuda", lambda doc: _bench0(doc)["extra_info"].update(
        backend="numpy", device="cuda"), "extra_info.device is 'cuda'; expected cpu"),
    ("numpy-mp on cuda", lambda doc: _bench0(doc)["extra_info"].update(
        backend="numpy-mp", device="cuda"), "extra_info.device is 'cuda'"),
    ("gemm lib unknown", _gemm("lib", "jax"), "calibration.gemm[0].lib is 'jax'"),
    ("gemm device unknown", _gemm("device", "tpu"), "calibration.gemm[0].device is 'tpu'"),
    ("gemm dtype unknown", _gemm("dtype", "float16"),
     "calibration.gemm[0].dtype is 'float16'"),
    ("gemm variant a number", _gemm("variant", 5), "calibration.gemm[0].variant is 5"),
    ("copy lib unknown", _twins("calibration", {"gemm": [
        {"lib": "numpy", "device": "cpu", "dtype": "float32", "threads": 1, "m": 64, "k": 64,
         "n": 64, "gflops": 10.0}], "copy_gbps": [
        {"lib": "NUMPY", "device": "cpu", "threads": 1, "gbps": 5.0}]}),
     "calibration.copy_gbps[0].lib is 'NUMPY'"),
    # text that is not Unicode (a lone surrogate)
    ("backend a lone surrogate", _info("backend", "\ud800"), "extra_info.backend is '\\ud800'"),
    ("variant a lone surrogate", _info("variant", "x\udc80"), "extra_info.variant is"),
    ("cpu_model a lone surrogate", _twins("cpu_model", "\ud800"),
     "machine_info.mlp_twins.cpu_model is"),
    ("stopped_at a lone surrogate", _run("stopped_at", "\udfff"), "mlp_twins.stopped_at is"),
    ("median NaN", _stats("median", NAN), "stats.median is nan"),
    ("median Infinity", _stats("median", INF), "stats.median is inf"),
    ("median 0", _stats("median", 0.0), "stats.median is 0.0"),
    ("median above q3", _stats("q3", 1e-9), "stats.median is"),
    ("median a string", _stats("median", "1 ms"), "stats.median is '1 ms'"),
    ("iqr a string", _stats("iqr", "small"), "stats.iqr is 'small'"),
    ("rounds a string", _stats("rounds", "20"), "stats.rounds is '20'"),
    ("rounds 0", _stats("rounds", 0), "stats.rounds is 0"),
    ("q1 a list", _stats("q1", [1.0]), "stats.q1 is [1.0]"),
    ("data with NaN", _stats("data", [1e-3, NAN]), "stats.data is"),
    ("no stats", lambda doc: doc["benchmarks"][0].pop("stats"), "stats is absent"),
    ("flops NaN", _info("flops", NAN), "extra_info.flops is nan"),
    ("flops Infinity", _info("flops", INF), "extra_info.flops is inf"),
    ("flops negative", _info("flops", -1.0), "extra_info.flops is -1.0"),
    ("threads Infinity", _info("threads", INF), "extra_info.threads is inf"),
    ("threads 0", _info("threads", 0), "extra_info.threads is 0"),
    ("threads 1.5", _info("threads", 1.5), "extra_info.threads is 1.5"),
    ("batch 0", _info("batch", 0), "extra_info.batch is 0"),
    ("batch negative", _info("batch", -64), "extra_info.batch is -64"),
    ("world_size 0", _info("world_size", 0), "extra_info.world_size is 0"),
    ("n_params 0", _info("n_params", 0), "extra_info.n_params is 0"),
    ("n_params negative", _info("n_params", -5), "extra_info.n_params is -5"),
    ("n_params not the layers'", _info("n_params", 12), "extra_info.n_params is 12"),
    ("layer_sizes strings", _info("layer_sizes", ["784", "10"]), "extra_info.layer_sizes"),
    ("dtype a list", _info("dtype", ["float32"]), "extra_info.dtype is ['float32']"),
    # words outside the schema's vocabulary (runfile/schema.py): never a row of the report
    ("group unknown", _info("group", "training"),
     "extra_info.group is 'training'; expected one of"),
    ("group in capitals", _info("group", "STEP"), "extra_info.group is 'STEP'"),
    ("lib unknown", _info("lib", "jax"), "extra_info.lib is 'jax'; expected one of numpy, torch"),
    ("lib empty", _info("lib", ""), "extra_info.lib is ''"),
    ("dtype never measured", _info("dtype", "float16"), "extra_info.dtype is 'float16'"),
    ("dtype bfloat16", _info("dtype", "bfloat16"), "extra_info.dtype is 'bfloat16'"),
    ("device unknown", _info("device", "tpu"), "extra_info.device is 'tpu'"),
    ("pipeline unknown", _info("pipeline", "magic"), "extra_info.pipeline is 'magic'"),
    ("activation unknown", _info("activation", "gelu"), "extra_info.activation is 'gelu'"),
    ("data unknown", _info("data", "cifar"), "extra_info.data is 'cifar'"),
    ("backend null", _info("backend", None), "extra_info.backend is None"),
    ("backend an int", _info("backend", 3), "extra_info.backend is 3"),
    ("relative NaN", _info("relative", NAN), "extra_info.relative is nan"),
    ("relative 0", _info("relative", 0.0), "extra_info.relative is 0.0"),
    ("probe_data a string", _info("probe_data", "x"), "extra_info.probe_data is 'x'"),
    # one probe per timed round (the relative metric divides round i by probe i)
    ("probe_data far fewer than rounds", _info("probe_data", [2.5e-3]),
     "extra_info.probe_data is '1 samples'; expected one per timed round"),
    ("probe_data one too many", lambda doc: doc["benchmarks"][0]["extra_info"].update(
        probe_data=[2.5e-3] * (len(doc["benchmarks"][0]["stats"]["data"]) + 1)),
     "expected one per timed round"),
    ("probe_data without stats.data", lambda doc: (
        doc["benchmarks"][0]["extra_info"].update(probe_data=[2.5e-3] * 3),
        doc["benchmarks"][0]["stats"].pop("data")), "one per timed round (no stats.data)"),
    ("rounds not the samples", lambda doc: doc["benchmarks"][0]["stats"].update(
        rounds=len(doc["benchmarks"][0]["stats"]["data"]) + 5), "stats.rounds is"),
    ("busy_other above 1", _info("busy_other", 1.5), "extra_info.busy_other is 1.5"),
    ("busy_other negative", _info("busy_other", -0.1), "extra_info.busy_other is -0.1"),
    ("disturbance 0", _info("disturbance", 0.0), "extra_info.disturbance is 0.0"),
    ("disturbance NaN", _info("disturbance", NAN), "extra_info.disturbance is nan"),
    ("disturbed a string", _info("disturbed", "yes"), "extra_info.disturbed is 'yes'"),
    ("reruns negative", _info("reruns", -1), "extra_info.reruns is -1"),
    ("calibration a string", _twins("calibration", "fast"),
     "machine_info.mlp_twins.calibration is 'fast'"),
    ("gemm rate 0", _gemm("gflops", 0), "calibration.gemm[0].gflops is 0"),
    ("gemm rate NaN", _gemm("gflops", NAN), "calibration.gemm[0].gflops is nan"),
    ("gemm threads null", _gemm("threads", None), "calibration.gemm[0].threads is None"),
    ("blas a string", _twins("blas", "openblas"), "machine_info.mlp_twins.blas is 'openblas'"),
    ("gpu a string", _twins("gpu", "H100"), "machine_info.mlp_twins.gpu is 'H100'"),
    # the facts that say which machine measured the run (gate/machine.py)
    ("gpu name a number", _twins("gpu", {"name": 7}), "machine_info.mlp_twins.gpu.name is 7"),
    ("cpu_flags with a number", _twins("cpu_flags", ["avx2", 512]),
     "machine_info.mlp_twins.cpu_flags is"),
    ("cpu_flags a string", _twins("cpu_flags", "avx2 fma"),
     "machine_info.mlp_twins.cpu_flags is 'avx2 fma'"),
    ("cpu_id a number", _twins("cpu_id", 6), "machine_info.mlp_twins.cpu_id is 6"),
    ("torch_config a number", _twins("torch_config", 5),
     "machine_info.mlp_twins.torch_config is 5"),
    ("cores zero", _twins("cores", 0), "machine_info.mlp_twins.cores is 0"),
    ("machine_info a list", lambda doc: doc.update(machine_info=[]), "machine_info is []"),
    ("missing not a list", _run("missing", "none"), "mlp_twins.missing is 'none'"),
    ("missing entry without reason", _run("missing", [{"test": "t"}]),
     "mlp_twins.missing[0].reason is absent"),
    ("complete a string", _run("complete", "yes"), "mlp_twins.complete is 'yes'"),
    ("stopped_at a number", _run("stopped_at", 3), "mlp_twins.stopped_at is 3"),
    *DERIVED_BAD_RUNS,
    *ROUND4_BAD_RUNS,
]


def _ref(key, mode, value):
    def change(doc):
        name = sorted(doc["benchmarks"])[0]
        doc["benchmarks"][name][key][mode] = value
    return change


def _drop(*path):
    def change(doc):
        target = doc
        for key in path[:-1]:
            target = target[key] if key != "*" else target[sorted(target)[0]]
        del target[path[-1]]
    return change


BAD_BASELINE_FIELDS = [
    ("a list", lambda doc: [doc], "not a gate baseline"),
    ("an older format", lambda doc: doc.update(format="mlp-twins-gate/1"),
     "a gate baseline of format 'mlp-twins-gate/1', made by another version of the suite"),
    ("no fingerprint", _drop("fingerprint"), "the baseline lacks ['fingerprint']"),
    ("no benchmarks", _drop("benchmarks"), "the baseline lacks ['benchmarks']"),
    ("benchmarks empty", lambda doc: doc.update(benchmarks={}, aggregates={}),
     "benchmarks is {}; expected at least one benchmark"),
    ("no calibration", _drop("machine_info", "calibration"),
     "machine_info.calibration is None"),
    ("no extra_info", _drop("benchmarks", "*", "extra_info"), ".extra_info is absent"),
    ("flops of another case", lambda doc: next(iter(doc["benchmarks"].values()))[
        "extra_info"].update(flops=12345), ".extra_info.flops is 12345; expected"),
    ("a gemm probe twice", lambda doc: doc["machine_info"]["calibration"]["gemm"].append(
        dict(doc["machine_info"]["calibration"]["gemm"][0])),
     "machine_info.calibration.gemm["),
    ("gpu name false", lambda doc: doc["machine_info"].update(gpu={"name": False}),
     "machine_info.gpu.name is False"),
    ("metric 0", _ref("metric", "absolute", 0), ".metric.absolute is 0"),
    ("metric negative", _ref("metric", "absolute", -1), ".metric.absolute is -1"),
    ("metric NaN", _ref("metric", "absolute", NAN), ".metric.absolute is nan"),
    ("metric Infinity", _ref("metric", "absolute", INF), ".metric.absolute is inf"),
    ("metric a string", _ref("metric", "absolute", "1"), ".metric.absolute is '1'"),
    ("metric null", _ref("metric", "absolute", None), ".metric.absolute is None"),
    ("threshold NaN", _ref("threshold", "absolute", NAN), ".threshold.absolute is nan"),
    ("threshold Infinity", _ref("threshold", "absolute", INF), ".threshold.absolute is inf"),
    ("threshold 0", _ref("threshold", "absolute", 0.0), ".threshold.absolute is 0.0"),
    ("threshold negative", _ref("threshold", "absolute", -0.3), ".threshold.absolute is -0.3"),
    ("threshold a string", _ref("threshold", "absolute", "30%"),
     ".threshold.absolute is '30%'"),
    ("threshold null", _ref("threshold", "absolute", None), ".threshold.absolute is None"),
    ("samples with inf", _ref("samples", "absolute", [1e-3, INF]), ".samples.absolute is"),
    ("an unknown mode", _ref("metric", "fastest", 1.0), ".metric.fastest is 1.0"),
    ("aggregate of unknown members",
     lambda doc: doc.update(aggregates={"agg": {"members": ["nope"], "threshold": {
         "absolute": 0.1}, "noise": {"absolute": 0.0}}}), "aggregates['agg'].members"),
    ("pytest_args a string", lambda doc: doc.update(pytest_args="--profile quick"),
     "pytest_args is '--profile quick'"),
    # which machine and which commit: a baseline must say both, consistently
    ("no machine", _drop("machine"), "the baseline lacks ['machine']"),
    ("no commit", _drop("commit"), "the baseline lacks ['commit']"),
    ("machine id empty", lambda doc: doc["machine"].update(id=""), "machine.id is ''"),
    ("commit id short", lambda doc: doc["commit"].update(id="3e07ebb"),
     "commit.id is '3e07ebb'; expected null or a full git commit id"),
    ("commit id not hex", lambda doc: doc["commit"].update(id="z" * 40), "commit.id is 'zzz"),
    ("commit dirty a string", lambda doc: doc["commit"].update(dirty="no"), "commit.dirty"),
    ("fingerprint of another CPU than its machine_info",
     lambda doc: doc["fingerprint"].update(cpu_model="AMD EPYC"),
     "fingerprint does not match its machine_info (differs in cpu_model)"),
    ("fingerprint without BLAS", lambda doc: doc["fingerprint"].update(blas=[]),
     "fingerprint does not match its machine_info (differs in blas)"),
    ("machine id of another machine", lambda doc: doc["machine"].update(id="amd-epyc-2c-0"),
     "machine.id 'amd-epyc-2c-0' is not its fingerprint's"),
    ("machine_info gpu a string", lambda doc: doc["machine_info"].update(gpu="H200"),
     "machine_info.gpu is 'H200'"),
    ("machine_info torch_config a number",
     lambda doc: doc["machine_info"].update(torch_config=5), "machine_info.torch_config is 5"),
    ("machine_info cpu_flags not strings",
     lambda doc: doc["machine_info"].update(cpu_flags=[1, "avx2"]), "machine_info.cpu_flags"),
]
