"""Known answers for the report's numbers: speedups, efficiencies, the cost-model fit and the
crossover (measured and predicted), on synthetic runs built by ``runfile.synthetic``."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.flops import step_flops
from core.spec import n_params
from reports import analysis
from reports.analysis import Fit, measured_crossover, predicted_crossover
from reports.load import load_runs
from reports.render import crossover_sentence, headline
from runfile import synthetic

FIT_RTOL = 1e-9  # a and b from noise-free t = a + bP (float64 least squares)
EXACT_RTOL = 1e-12  # ratios of the synthetic medians


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    path = synthetic.write_run(tmp_path_factory.mktemp("run") / "run.json")
    runs, table = load_runs([path])
    table = analysis.add_metrics(table, runs)
    fits = analysis.fit_table(table)
    return runs, table, fits, analysis.crossover_table(table, fits)


def _time(backend, sizes):
    _, _, a, b = synthetic.COSTS[backend]
    return a + b * n_params(sizes)


def _step(table, backend, threads=2):
    rows = table[(table["group"] == "step") & (table["series"] == backend)
                 & (table["threads"] == threads) & (table["world_size"] == 1)]
    return rows.sort_values("n_params")


def test_one_row_per_benchmark(synth):
    runs, table, _, _ = synth
    assert len(table) == len(runs[0].benchmarks)
    assert table["run"].unique().tolist() == ["synth (Synthetic CPU)"]


@pytest.mark.parametrize("h", synthetic.HIDDEN)
def test_speedup_is_numpy_time_over_time(synth, h):
    _, table, _, _ = synth
    sizes = (784, h, 10)
    row = _step(table, "torch-cpu").set_index("layers").loc[f"784-{h}-10"]
    expected = _time("numpy", sizes) / _time("torch-cpu", sizes)
    np.testing.assert_allclose(row["speedup"], expected, rtol=EXACT_RTOL, err_msg=f"h={h}")
    numpy_row = _step(table, "numpy").set_index("layers").loc[f"784-{h}-10"]
    assert numpy_row["speedup"] == 1.0


def test_speedups_pair_only_equal_threads(synth):
    _, table, _, _ = synth
    one = _step(table, "torch-cpu", threads=1).iloc[0]
    numpy_one = _step(table, "numpy", threads=1).iloc[0]
    np.testing.assert_allclose(one["speedup"], numpy_one["median_s"] / one["median_s"],
                               rtol=EXACT_RTOL)


@pytest.mark.parametrize("backend", ["numpy", "torch-cpu"])
def test_efficiency_uses_the_best_gemm_of_the_same_lib(synth, backend):
    _, table, _, _ = synth
    lib = synthetic.COSTS[backend][0]
    for r in _step(table, backend).itertuples():
        sizes = tuple(int(s) for s in r.layers.split("-"))
        gflops = step_flops(sizes, 64) / _time(backend, sizes) / 1e9
        np.testing.assert_allclose(r.gflops, gflops, rtol=EXACT_RTOL, err_msg=r.layers)
        np.testing.assert_allclose(r.efficiency, gflops / synthetic.GEMM[lib],
                                   rtol=EXACT_RTOL, err_msg=r.layers)


def test_efficiency_blank_without_matching_calibration(synth):
    _, table, _, _ = synth
    assert _step(table, "numpy", threads=1)["efficiency"].isna().all()


@pytest.mark.parametrize("backend", ["numpy", "torch-cpu"])
def test_fit_recovers_a_and_b(synth, backend):
    _, _, fits, _ = synth
    f = fits[(fits["series"] == backend) & (fits["threads"] == 2)].iloc[0]
    _, _, a, b = synthetic.COSTS[backend]
    np.testing.assert_allclose([f["a_us"], f["b_ns"]], [a * 1e6, b * 1e9], rtol=FIT_RTOL,
                               err_msg=backend)
    assert f["a_known"] and f["max_resid"] < FIT_RTOL
    assert f["n_sizes"] == len(synthetic.HIDDEN) and f["n_left_out"] == 0


def test_fit_needs_two_sizes():
    with pytest.raises(ValueError, match="two distinct"):
        analysis.fit_line([5.0, 5.0], [1.0, 2.0])


def test_predicted_crossover_from_the_fits(synth):
    _, _, _, cross = synth
    c = cross[(cross["series"] == "torch-cpu") & (cross["threads"] == 2)].iloc[0]
    (_, _, an, bn), (_, _, at, bt) = synthetic.COSTS["numpy"], synthetic.COSTS["torch-cpu"]
    assert c["predicted_kind"] == "crossover"
    np.testing.assert_allclose(c["predicted_p"], (at - an) / (bn - bt), rtol=FIT_RTOL)


def test_measured_crossover_interpolates_on_log_p(synth):
    _, table, _, cross = synth
    c = cross[(cross["series"] == "torch-cpu") & (cross["threads"] == 2)].iloc[0]
    rows = _step(table, "torch-cpu")
    p, s = rows["n_params"].to_numpy(float), rows["speedup"].to_numpy()
    i = int(np.argmax(s >= 1))  # the synthetic speedup rises monotonically through 1
    frac = -math.log(s[i - 1]) / (math.log(s[i]) - math.log(s[i - 1]))
    expected = p[i - 1] * (p[i] / p[i - 1]) ** frac
    assert c["measured_kind"] == "crossover"
    np.testing.assert_allclose(c["measured_p"], expected, rtol=EXACT_RTOL)
    assert p[i - 1] < c["measured_p"] < p[i]


@pytest.mark.parametrize("p, s, kind, at", [
    ([1e4, 1e6], [0.5, 2.0], "crossover", 1e5),  # halfway on log P between the neighbours
    ([1e6, 1e4], [2.0, 0.5], "crossover", 1e5),  # order of the input does not matter
    ([1e3, 1e4, 1e5], [0.5, 1.5, 2.0], "crossover", 1e3 * 10 ** (math.log(2) / math.log(3))),
    ([1e3, 1e4, 1e5], [1.2, 0.8, 1.1], "crossover", None),  # dips back: the last rise counts
    ([1e3, 1e4], [1.0, 3.0], "always", None),
    ([1e3, 1e4], [0.2, 0.9], "never", None),
    ([1e3, 1e4], [1.5, 0.9], "reverse", None),
])
def test_measured_crossover_cases(p, s, kind, at):
    c = measured_crossover(p, s)
    assert c.kind == kind
    if kind == "crossover" and at is None:
        assert 1e4 < c.p < 1e5
    elif at is not None:
        np.testing.assert_allclose(c.p, at, rtol=EXACT_RTOL)


@pytest.mark.parametrize("numpy_fit, other_fit, kind, p", [
    (Fit(20, 2, 5), Fit(200, 1, 5), "crossover", 180_000),
    (Fit(20, 2, 5), Fit(10, 1, 5), "always", None),  # negative P*: ahead everywhere
    (Fit(20, 1, 5), Fit(200, 2, 5), "never", None),  # negative P*: behind everywhere
    (Fit(20, 1, 5), Fit(10, 2, 5), "reverse", 10_000),  # NumPy overtakes torch
    (Fit(20, 1, 5), Fit(30, 1, 5), "never", None),  # parallel lines
    (Fit(0, 2, 5, a_known=False), Fit(200, 1, 5), "unidentified", None),  # a unknown: no P*
    (Fit(20, 2, 5), Fit(0, 1, 5, a_known=False), "unidentified", None),
])
def test_predicted_crossover_cases(numpy_fit, other_fit, kind, p):
    c = predicted_crossover(numpy_fit, other_fit)
    assert c.kind == kind
    if p is not None:
        np.testing.assert_allclose(c.p, p, rtol=FIT_RTOL)


def test_no_crossover_is_said_plainly(tmp_path):
    costs = {"numpy": ("numpy", "cpu", 10e-6, 1e-9), "torch-cpu": ("torch", "cpu", 100e-6, 2e-9)}
    path = synthetic.write_run(tmp_path / "r.json", synthetic.make_run(costs, extras=False))
    runs, table = load_runs([path])
    table = analysis.add_metrics(table, runs)
    fits = analysis.fit_table(table)
    cross = analysis.crossover_table(table, fits)
    c = next(cross.itertuples())
    assert (c.measured_kind, c.predicted_kind) == ("never", "never")
    text = crossover_sentence(c)
    assert "no crossover in the measured range" in text
    assert "predicts no crossover" in text
    sl = analysis.default_slice(table, runs[0].label)
    assert "no crossover" in headline(table, cross, sl, runs[0].label)


def test_headline_names_the_chapter_size(synth):
    runs, table, _, cross = synth
    sl = analysis.default_slice(table, runs[0].label)
    assert sl == {"run": runs[0].label, "dtype": "float32", "threads": 2, "batch": 64}
    text = headline(table, cross, sl, runs[0].label)
    ratio = _time("torch-cpu", (784, 100, 10)) / _time("numpy", (784, 100, 10))
    said = f"at the headline MLP's 79,510 parameters torch-cpu takes {ratio:.1f}x NumPy's time"
    assert said in text
    assert "overtakes NumPy from about 183k parameters" in text
    assert "predicts P* = 180k" in text


def _slice_table(rows):
    import pandas as pd

    return pd.DataFrame([{"run": "r", "group": "step", "world_size": 1, "dtype": "float32",
                          "threads": 2, "batch": b, "series": s, "variant": v}
                         for b, s, v in rows])


def test_default_slice_takes_the_batch_with_most_single_process_backends():
    """The full profile: the compiled step at batch 256 only, the multi-process steps (W = 1
    rows too) at 1024 only: the headline's batch is 256; a tie goes to the larger batch."""
    plain = [(b, s, None) for b in (32, 256, 1024) for s in ("numpy", "torch-cpu")]
    table = _slice_table([*plain, (256, "torch-cpu-compile", None),
                          (1024, "numpy-mp (w1)", "w1"), (1024, "torch-ddp (w1)", "w1")])
    assert analysis.default_slice(table, "r")["batch"] == 256
    assert analysis.default_slice(_slice_table(plain), "r")["batch"] == 1024
    only_parallel = _slice_table([(64, "numpy-mp (w1)", "w1"), (128, "numpy-mp (w1)", "w1")])
    assert analysis.default_slice(only_parallel, "r")["batch"] == 128
