"""The compiled and captured variants: equivalent to the eager twin before they are timed,
no recompile inside the timed region, static shapes, the one-off cost and its break-even.

One real Inductor compile here (a tiny float64 net, checked to 1e-9); the Dynamo-level
checks (static shapes at a second width, recompile detection) use the ``aot_eager`` backend,
which traces exactly as Inductor's path does but builds no C++. The CUDA variants are
skipped with a reason where there is no card.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import impl_torch
from bench.backends import REGISTRY, Case, load_all, variants
from bench.backends import compile_backend as cb
from bench.backends.common import LR, make_batch
from bench.suite import grid
from runfile.schema import ONE_OFF_KEYS, OPTIONAL_RECORD_KEYS

from .helpers import CUDA_TRAIN_RTOL

TINY = Case((12, 8, 3), 8, "float64", 1)  # the one Inductor compile of this file


def test_tolerances_are_the_cuda_tests():
    assert variants.EQUIV_RTOL == CUDA_TRAIN_RTOL


@pytest.mark.parametrize("one_off, eager, variant, expected", [
    (10.0, 2e-3, 1e-3, 10_000.0), (1.0, 1e-3, 1e-3, None), (1.0, 1e-3, 2e-3, None)])
def test_break_even(one_off, eager, variant, expected):
    got = variants.break_even(one_off, eager, variant)
    assert got == (None if expected is None else pytest.approx(expected))


def test_paired_seconds_alternates_within_bounds():
    calls = []
    a, b = variants.paired_seconds(lambda: calls.append("a"), lambda: calls.append("b"),
                                   budget=0.0)
    assert calls[:4] == ["a", "b", "a", "b"]
    assert calls.count("a") == calls.count("b") == variants.PAIRED_MIN
    assert a >= 0 and b >= 0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_assert_equivalent_catches_a_drift(dtype):
    rng = np.random.default_rng(0)
    ref = [rng.standard_normal((4, 3)).astype(dtype), rng.standard_normal(4).astype(dtype)]
    near = [r * (1 + variants.EQUIV_RTOL[dtype] / 10) for r in ref]
    variants.assert_equivalent(near, ref, dtype, "near")
    far = [ref[0], ref[1] + 10 * variants.EQUIV_RTOL[dtype] * np.abs(ref[1]).max()]
    with pytest.raises(AssertionError, match=r"far: after \d+ steps, against the eager twin: b1"):
        variants.assert_equivalent(far, ref, dtype, "far")


@pytest.mark.parametrize("activation, loss", [("relu", "cross_entropy"), ("tanh", "mse")])
def test_functional_step_is_checked_step(activation, loss):
    """The step that gets compiled, run eagerly, is the twin's step (float64)."""
    def fresh():
        m = impl_torch.MLP((12, 8, 5, 3), activation, loss, dtype="float64", seed=3)
        return m, impl_torch.SGD(m.params, LR)

    (m, o), (t, to) = fresh(), fresh()
    X, y = (torch.from_numpy(a) for a in make_batch(Case((12, 8, 5, 3), 8, "float64", 1)))
    X, y = m.check_batch(X, y)
    step, params = cb.functional_step(m, o)
    for _ in range(2):
        loss_f = step(params, X, y)
        loss_e = impl_torch.checked_step(t, to, X, y)
        assert float(loss_f) == pytest.approx(float(loss_e), rel=1e-12)
    variants.assert_equivalent(m.numpy_params(), t.numpy_params(), "float64", "functional")


def test_functional_step_refuses_momentum():
    m = impl_torch.MLP((4, 3, 2), dtype="float64")
    with pytest.raises(ValueError, match="plain SGD"):
        cb.functional_step(m, impl_torch.SGD(m.params, LR, momentum=0.9))


def _traced(width, inner="aot_eager"):
    sizes = (12, width, 3)
    m = impl_torch.MLP(sizes, dtype="float32")
    X, y = (torch.from_numpy(a) for a in make_batch(Case(sizes, 8, "float32", 1)))
    fn, params, backend = cb.compiled_step(m, impl_torch.SGD(m.params, LR), inner)
    return fn, params, m.check_batch(X, y), backend


def test_a_second_width_compiles_static_not_dynamic():
    """The trap: the same step function compiled for another width went dynamic. With a
    reset and dynamic=False each width is one static graph (StaticBackend refuses others)."""
    for width in (8, 16):
        fn, params, (X, y), backend = _traced(width)
        fn(params, X, y)
        fn(params, X, y)
        assert backend.graphs == 1


def test_dynamic_shapes_are_refused():
    backend = cb.StaticBackend("aot_eager")
    f = torch.compile(lambda x: x * 2, backend=backend, dynamic=True, fullgraph=True)
    with pytest.raises(Exception, match="dynamic shapes"):
        f(torch.ones(5))
    assert backend.graphs == 0


def test_a_recompile_in_the_timed_region_raises():
    fn, params, (X, y), backend = _traced(8)
    fn(params, X, y)
    with torch._dynamo.config.patch(error_on_recompile=True):
        with pytest.raises(torch._dynamo.exc.RecompileError):
            fn(params, X[:4], y[:4])  # another batch shape: a guard fails
    assert backend.graphs == 1


@pytest.fixture(scope="module")
def compiled():
    reason = cb.inductor_missing()
    if reason:
        pytest.skip(reason)
    runner = cb.CompiledRunner(TINY, "cpu")  # checked against the eager twin to 1e-9 inside
    yield runner
    runner.close()


def test_compiled_runner_records_its_one_off_cost(compiled):
    compiled.step()
    compiled.check()
    info = compiled.extra_info()
    assert set(info) == set(ONE_OFF_KEYS) <= set(OPTIONAL_RECORD_KEYS)
    assert info["one_off_kind"] == "compile" and info["one_off_s"] > 0
    assert info["eager_step_s"] > 0 and info["variant_step_s"] > 0
    be = variants.break_even(info["one_off_s"], info["eager_step_s"], info["variant_step_s"])
    assert info["break_even_steps"] == be


def test_compiled_runner_fails_on_a_recompile_counted_after_timing(compiled):
    compiled._backend.graphs += 1  # as if a guard had failed while timed
    try:
        with pytest.raises(AssertionError, match="recompiled inside the timed region"):
            compiled.check()
    finally:
        compiled._backend.graphs -= 1


def test_inductor_missing_names_the_compiler(monkeypatch):
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setattr(cb.shutil, "which", lambda name: None)
    assert "C++ compiler" in cb.inductor_missing()
    monkeypatch.setenv("CXX", "no-such-compiler")
    assert "C++ compiler" in cb.inductor_missing()


def test_inductor_missing_names_the_python_headers(monkeypatch, tmp_path):
    monkeypatch.setattr(cb.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(cb.sysconfig, "get_paths", lambda: {"include": str(tmp_path)})
    assert "Python.h" in cb.inductor_missing()


@pytest.mark.parametrize("name", ["torch-cuda-compile", "torch-cuda-graphs"])
def test_cuda_variants_skip_with_a_reason_without_cuda(name):
    load_all()
    reason = REGISTRY[name].unavailable()
    if torch.cuda.is_available():
        pytest.skip("CUDA is available: the variant runs (tests/test_cuda.py territory)")
    assert "CUDA is not available" in reason


@pytest.mark.cuda
@pytest.mark.parametrize("name", ["torch-cuda-compile", "torch-cuda-graphs"])
def test_cuda_variants_match_the_eager_twin(name):
    load_all()
    reason = REGISTRY[name].unavailable()
    if reason:
        pytest.skip(f"{name}: {reason}")
    runner = REGISTRY[name].make(Case((784, 100, 10), 256, "float32", 1))
    try:  # make checked the variant against the eager twin; the record is complete
        runner.step()
        runner.check()
        assert set(runner.extra_info()) <= set(ONE_OFF_KEYS)
    finally:
        runner.close()


@pytest.mark.parametrize("name", grid.PROFILES)
def test_variant_grid_is_small_where_it_must_be(name):
    p = grid.profile(name)
    sizes = grid.variant_step_sizes(p)
    assert all(d == ("float32",) for _, d in sizes)
    if name in ("smoke", "gpu-dry"):
        assert len(sizes) * len(p.variant_batches) == 1  # one compile in the smoke pass
    if name == "quick":
        assert ((784, 100, 10), ("float32",)) in sizes  # the headline MLP's 79,510 params
    if name == "full":
        assert [s[1] for s, _ in sizes] == list(p.widths)


# ------------------------------------------------------------------ the report's part
def _report_inputs():
    from types import SimpleNamespace

    import pandas as pd

    rows, benches = [], []
    for backend, speed in (("numpy", 1.0), ("torch-cpu", 0.7), ("torch-cpu-compile", 0.95)):
        for h, p in ((16, 12_730), (100, 79_510)):
            rows.append({"run": "m", "backend": backend, "group": "step", "dtype": "float32",
                         "threads": 1, "batch": 256, "world_size": 1, "hidden_layers": 1,
                         "variant": None, "speedup": speed, "n_params": p})
            if backend == "torch-cpu-compile":
                benches.append({"extra_info": {
                    "backend": backend, "layer_sizes": [784, h, 10], "n_params": p,
                    "dtype": "float32", "threads": 1, "batch": 256, "one_off_s": 9.0,
                    "one_off_kind": "compile", "one_off_cache_hit": False,
                    "eager_step_s": 1.5e-3, "variant_step_s": 1.5e-3 if h == 16 else 1e-3,
                    "break_even_steps": None if h == 16 else 18_000.0}})
    return [SimpleNamespace(label="m", benchmarks=benches)], pd.DataFrame(rows)


def test_report_table_gives_compile_time_and_break_even():
    from reports import compiled

    runs, _ = _report_inputs()
    text = "\n".join(compiled.section(runs, None))
    assert "| m | torch-cpu-compile | 784-100-10 | 79.5k | 1 | 256 | 9.0 compile |" in text
    assert "| 18,000 |" in text and "never (not faster)" in text


def test_report_figure_draws_eager_and_compiled_lines():
    from reports import compiled

    runs, table = _report_inputs()
    fig, caption = compiled.fig_variants(table)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["torch-cpu (1 thr)", "torch-cpu-compile (1 thr)"]
    assert "79,510" in caption
    with pytest.raises(compiled.Skip, match="no compiled"):
        compiled.fig_variants(table[table["backend"] != "torch-cpu-compile"])
