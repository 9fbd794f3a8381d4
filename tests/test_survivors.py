"""Tests for the mutants that survived ``make mutation`` (tests/mutation.py): each test names
the kind of mutant it kills. Several survived only because the existing tests reach the
code through a module-scoped fixture (mutmut maps a function to the first test that called
it), so these call the code under test directly, per test."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
import torch

import impl_numpy
from gate import compare as cmp
from impl_numpy import activations as act_np
from impl_torch import activations as act_t
from reports import analysis
from reports.load import load_runs
from runfile import synthetic

from .gate_runs import BASE, steps_run

EXACT_RTOL = 1e-12  # ratios of synthetic medians, float64
STEP_ALLOC_BYTES = 4096  # a warm SGD step allocates (almost) nothing; a 1 MB param would
# need 1 MB for lr * d without the scratch buffer; measured: 0 bytes after the first step


# --------------------------------------------------------------- activations (both twins)
TWINS = {"impl_numpy": (act_np, np.asarray), "impl_torch": (act_t, torch.as_tensor)}


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("twin", list(TWINS))
def test_forward_out_may_alias_the_input(twin, name):
    """``g(z, out=z)`` writes in place and returns ``out`` (mutants dropping ``out``)."""
    act, as_array = TWINS[twin]
    z = as_array(np.linspace(-3.0, 3.0, 7))
    want = getattr(act, name)(as_array(np.linspace(-3.0, 3.0, 7)))
    got = getattr(act, name)(z, out=z)
    assert got is z, f"{twin}.{name} did not return out"
    np.testing.assert_array_equal(np.asarray(z), np.asarray(want), err_msg=f"{twin}.{name}")


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("twin", list(TWINS))
def test_derivatives_of_integers_are_float64(twin, name):
    """Integer net inputs become float64, as in NumPy (mutants of ``_real``)."""
    act, _ = TWINS[twin]
    g = getattr(act, f"{name}_grad")(np.array([-2, 0, 3]))
    assert str(g.dtype).removeprefix("torch.") == "float64", (twin, name, g.dtype)


# ----------------------------------------------------------------------------- SGD
def test_warm_sgd_step_allocates_nothing():
    """``p -= lr * d`` goes through the optimizer's scratch buffer: a benchmark that timed
    a fresh 1 MB allocation per step would time the allocator (mutant ``out=None``)."""
    p = np.zeros((512, 512), np.float32)
    g = np.ones_like(p)
    opt = impl_numpy.SGD([p], lr=0.5)
    opt.step([g])
    tracemalloc.start()
    try:
        opt.step([g])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < STEP_ALLOC_BYTES, f"a warm step allocated {peak} bytes"
    np.testing.assert_array_equal(p, -1.0)


# ---------------------------------------------------------------------------- gate
def _calibrated(run, gemm, copy=()):
    run.twins["calibration"] = {"gemm": gemm, "copy_gbps": list(copy)}
    return run


def _gemm(lib, dtype, gflops, threads=1):
    return {"lib": lib, "device": "cpu", "dtype": dtype, "threads": threads, "m": 1024,
            "k": 1024, "n": 1024, "gflops": gflops}


def test_rate_is_the_calibration_of_the_records_lib_dtype_and_threads():
    run = _calibrated(steps_run(BASE), [_gemm("numpy", "float32", 100.0),
                                        _gemm("numpy", "float64", 50.0),
                                        _gemm("torch", "float64", 70.0),
                                        _gemm("numpy", "float64", 40.0, threads=2)])
    rec = {"lib": "numpy", "group": "step", "device": "cpu", "dtype": "float64", "threads": 1}
    assert cmp.rate(run, rec) == 50.0
    assert cmp.rate(run, {**rec, "dtype": "float32"}) == 100.0
    assert cmp.rate(run, {**rec, "lib": "torch"}) == 70.0
    assert cmp.rate(run, {**rec, "threads": 2}) == 40.0
    assert cmp.rate(run, {**rec, "threads": 8}) == 100.0  # none at 8: the lib's best


def test_activation_rows_are_normalised_by_the_copy_rate():
    copy = [{"lib": "numpy", "device": "cpu", "threads": 1, "gbps": 12.0},
            {"lib": "torch", "device": "cpu", "threads": 1, "gbps": 20.0},
            {"lib": "numpy", "device": "cpu", "threads": 2, "gbps": 30.0}]
    run = _calibrated(steps_run(BASE), [_gemm("numpy", "float32", 100.0)], copy)
    rec = {"lib": "numpy", "group": "activation", "device": "cpu", "dtype": "float32",
           "threads": 1}
    assert cmp.rate(run, rec) == 12.0
    assert cmp.rate(run, {**rec, "lib": "torch"}) == 20.0


def test_a_different_gpu_is_a_different_environment():
    a, b = steps_run(BASE), steps_run(BASE)
    a.twins["gpu"], b.twins["gpu"] = {"name": "H100"}, {"name": "A100"}
    assert cmp.fingerprint(a)["gpu"] == "H100"
    assert cmp.fingerprint(a) != cmp.fingerprint(b)


def test_a_missing_row_has_an_empty_fullname():
    assert cmp._missing("x", "benchmark", "absolute") == {
        "name": "x", "kind": "benchmark", "fullname": "", "node_ids": [], "mode": "absolute",
        "verdict": "missing", "reason": ""}
    assert cmp._missing("x", "benchmark", "absolute", "skipped: no CUDA")["verdict"] == "skipped"


# ------------------------------------------------------------------ reports.analysis
@pytest.fixture
def synth(tmp_path):
    path = synthetic.write_run(tmp_path / "run.json")
    runs, table = load_runs([path])
    return runs, analysis.add_metrics(table, runs)


def test_efficiency_is_gflops_over_the_calibrated_peak(synth):
    _, table = synth
    rows = table[(table["group"] == "step") & (table["flops"] > 0) & (table["threads"] == 2)]
    assert len(rows) > 0
    for r in rows.itertuples():
        gflops = r.flops / r.median_s / 1e9
        peak = synthetic.GEMM[r.lib]
        np.testing.assert_allclose([r.gflops, r.peak_gflops, r.efficiency],
                                   [gflops, peak, gflops / peak], rtol=EXACT_RTOL)


def test_speedups_pair_rows_of_the_same_case(synth):
    _, table = synth
    rows = table[(table["group"] == "step") & (table["series"] == "torch-cpu")
                 & (table["threads"] == 2)]
    for r in rows.itertuples():
        ref = table[(table["series"] == "numpy") & (table["layers"] == r.layers)
                    & (table["threads"] == 2) & (table["group"] == "step")]
        np.testing.assert_allclose(r.speedup, ref["median_s"].iloc[0] / r.median_s,
                                   rtol=EXACT_RTOL)


def test_select_keeps_the_width_sweep_only():
    table = pd.DataFrame({"group": "step", "world_size": 1, "run": "r",
                          "hidden_layers": [1, 1, 2], "n_params": [10, 20, 30],
                          "series": "numpy"})
    assert analysis.select(table, {"run": "r"})["hidden_layers"].tolist() == [1, 1]
    deep_only = table.assign(hidden_layers=2)  # no width sweep: every row stays
    assert len(analysis.select(deep_only, {"run": "r"})) == 3


def test_fit_table_columns_and_values(synth):
    _, table = synth
    fits = analysis.fit_table(table)
    assert list(fits.columns) == [*analysis.SLICE, "series", *analysis.FIT_COLUMNS]
    assert analysis.FIT_COLUMNS == ["a_us", "b_ns", "a_known", "max_resid", "rms_resid",
                                    "n_sizes", "n_left_out", "p_min", "p_max"]
    row = fits[(fits["series"] == "numpy") & (fits["threads"] == 2)].iloc[0]
    _, _, a, b = synthetic.COSTS["numpy"]
    np.testing.assert_allclose([row["a_us"], row["b_ns"]], [a * 1e6, b * 1e9], rtol=1e-9)


def test_a_crossover_at_zero_parameters_is_always_ahead():
    numpy_fit = analysis.Fit(a_us=10.0, b_ns=2.0, n=3)
    same_start = analysis.Fit(a_us=10.0, b_ns=1.0, n=3)  # p = 0 exactly
    assert analysis.predicted_crossover(numpy_fit, same_start).kind == "always"


def test_measured_crossover_interpolates_on_log_p():
    c = analysis.measured_crossover(np.array([100, 10_000]), np.array([0.5, 2.0]))
    assert c.kind == "crossover" and c.p == pytest.approx(1000.0, rel=EXACT_RTOL)
