"""Malformed runs and baselines, one field at a time, for the reports' and the gate's CLI
tests: ``(case, change to the parsed document, words the one-line error must contain)``."""

from __future__ import annotations

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


# a record or the run around it; the error names the field ("extra_info.batch") and the value
BAD_RUN_FIELDS = [
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
