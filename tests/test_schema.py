"""``runfile/schema.py`` documents every key the run writes: what ``bench/measure/environment.py``
returns, what ``runfile/write.py`` builds, and the extra record keys the benchmarks pass."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.measure import environment
from bench.quiet import probe
from runfile import schema
from runfile.write import make_record

BENCH = Path(schema.__file__).parents[1] / "bench"
PLUGIN_MACHINE_KEYS = ("profile", "calibration")  # added by bench/plugin.py to environment()


def documented(key: str) -> bool:
    return f"``{key}``" in schema.__doc__


def test_environment_keys_are_documented():
    written = set(environment.environment()) | set(PLUGIN_MACHINE_KEYS)
    assert written == set(schema.MACHINE_KEYS)
    assert [k for k in written if not documented(k)] == []


def test_gpu_keys_are_documented():
    """``gpu_info`` needs CUDA to run; read the keys of the dict it returns instead."""
    tree = ast.parse(inspect.getsource(environment.gpu_info))
    keys = {k.value for node in ast.walk(tree) if isinstance(node, ast.Return)
            and isinstance(node.value, ast.Dict) for k in node.value.keys}
    assert keys == set(schema.GPU_KEYS)
    assert [k for k in keys if f'"{k}"' not in schema.__doc__] == []


def test_record_keys_are_documented():
    case = SimpleNamespace(layer_sizes=(784, 100, 10), batch=64, dtype="float32", threads=1,
                           world_size=1)
    rec = make_record(group="step", backend="numpy", case=case, flops=1.0,
                              median=1e-3, lib="numpy", device="cpu")
    assert tuple(rec) == schema.RECORD_KEYS
    assert [k for k in rec if not documented(k)] == []


def _extra_record_kwargs() -> set:
    """Keyword arguments of every ``record(...)`` call in bench/ that ``make_record`` does
    not name itself (they land in extra_info as they are), plus what ``probe.timed`` returns
    (passed on as ``**probed``)."""
    own = set(inspect.signature(make_record).parameters) - {"extra"}
    found = set()
    for path in sorted(BENCH.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id in ("record", "make_record")):
                found |= {k.arg for k in node.keywords if k.arg is not None} - own
    timed = ast.parse(inspect.getsource(probe.timed))
    found |= {k.value for node in ast.walk(timed) if isinstance(node, ast.Return)
              and isinstance(node.value, ast.Dict) for k in node.value.keys} - own
    return found


def test_extra_record_keys_are_documented():
    extra = _extra_record_kwargs()
    assert {"gemm_s", "probe_data", "relative"} <= extra  # the scan finds what it should
    assert extra <= set(schema.OPTIONAL_RECORD_KEYS)
    assert [k for k in extra if not documented(k)] == []


@pytest.mark.parametrize("key", schema.RUN_KEYS)
def test_run_keys_are_documented(key):
    assert documented(key)


def test_every_word_the_bench_writes_is_in_the_schemas_vocabulary():
    """The words a record can carry (group, lib, device, dtype, pipeline, activation) are
    the schema's: a word the bench writes but the readers refuse would make every run with
    it unreadable (the CUDA epoch's 'torch-pinned' once was)."""
    from bench.backends import REGISTRY, load_all
    from bench.suite.cases import EPOCH_PIPELINES
    from core.spec import DTYPES

    load_all()
    assert {b.lib for b in REGISTRY.values()} <= set(schema.LIBS)
    assert {b.device for b in REGISTRY.values()} <= set(schema.DEVICES)
    assert {p for p, _ in EPOCH_PIPELINES} <= set(schema.PIPELINES)
    assert set(DTYPES) == set(schema.RECORD_DTYPES)
    groups = {path.stem.removeprefix("bench_") for path in BENCH.glob("bench_*.py")}
    assert groups - {"activations"} | {"activation", "forward"} <= set(schema.GROUPS), groups


@pytest.mark.parametrize("case,text,words", [
    ("nested 100,000 deep", '{"benchmarks": ' + "[" * 100000 + "]" * 100000 + "}",
     "nested too deeply"),
    ("nested objects 50,000 deep", '{"a": ' * 50000 + "1" + "}" * 50000, "nested too deeply"),
    ("a 5000-digit integer", '{"benchmarks": [' + "9" * 5000 + "]}", "not JSON"),
    ("a 10000-digit integer", '{"threads": -' + "1" * 10000 + "}", "not JSON"),
])
def test_json_a_reader_cannot_hold_is_one_line_naming_the_file(tmp_path, case, text, words):
    from runfile import RunFileError, read_json
    path = tmp_path / "run.json"
    path.write_text(text)
    with pytest.raises(RunFileError) as e:
        read_json(path)
    assert str(path) in str(e.value) and words in str(e.value)
    assert "\n" not in str(e.value)


def test_a_lone_surrogate_in_a_run_file_is_refused(tmp_path):
    import json

    from runfile import RunFileError, load, synthetic
    text = json.dumps(synthetic.make_run()).replace('"backend": "numpy"',
                                                    '"backend": "\\ud800"', 1)
    path = tmp_path / "run.json"
    path.write_text(text)
    with pytest.raises(RunFileError, match="extra_info.backend"):
        load(path)


def test_the_disturbance_thresholds_are_the_schemas():
    from bench.quiet import disturbance
    assert (disturbance.BUSY_OTHER_MAX, disturbance.DISTURBANCE_MAX) == (
        schema.BUSY_OTHER_MAX, schema.DISTURBANCE_MAX)


def test_the_backends_the_bench_registers_are_the_schemas_and_no_more():
    """``extra_info.backend`` is refused outside ``schema.BACKENDS``: a backend registered
    but not in it would make its runs unreadable, one in it but never registered (other than
    the epoch-only sklearn) would let a typo through. Each registered backend's variant and
    parallelism are the schema's too."""
    from bench.backends import load_all
    from bench.suite.cases import EPOCH_PIPELINES

    registry = load_all()
    assert set(registry) == set(schema.REGISTERED_BACKENDS)
    assert len(schema.BACKENDS) == len(set(schema.BACKENDS))
    unregistered = {b for _, b in EPOCH_PIPELINES} - set(registry)
    assert set(schema.BACKENDS) - set(registry) == unregistered == {"sklearn"}
    assert {n for n, b in registry.items() if b.parallel} == set(schema.PARALLEL_BACKENDS)
    assert {n: b.variant for n, b in registry.items() if b.variant} == schema.BACKEND_VARIANTS


def test_the_profiles_are_the_benchs_and_synthetic_runs():
    from bench.suite import grid
    from runfile import synthetic

    assert set(schema.PROFILES) == {*grid.PROFILES, "synthetic"}
    assert synthetic.make_run()["machine_info"]["mlp_twins"]["profile"] in schema.PROFILES


@pytest.mark.parametrize("sizes, batch, dtype, threads, world", [
    ((784, 1024, 10), 256, "float32", 2, 1), ((784, 256, 256, 256, 10), 32, "float64", 1, 1),
    ((784, 512, 128, 10), 1024, "float32", 16, 1), ((784, 2048, 10), 256, "float32", 1, 2),
    ((784, 10), 8, "float64", 4, 8)])
def test_runfiles_case_id_is_the_benchs(sizes, batch, dtype, threads, world):
    """runfile reads the case id in a benchmark's name with its own copy of the bench's."""
    from bench.suite import grid
    from runfile import ids

    for backend in ("numpy", "torch-cuda-tf32", "numpy-mp"):
        want = grid.case_id(backend, sizes, batch, dtype, threads, world)
        assert ids.case_id(backend, sizes, batch, dtype, threads, world) == want
        assert ids.STEP_ID.fullmatch(want)["prefix"] == backend
