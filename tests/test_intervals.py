"""Every published ratio with its range over launches (issue 23): the crossover's sizes of
disagreement, the report's speedup tables, the README's per-machine answer, the one-off
table, the missing list, the figure's bars and ``reports.holds``, pinned on hand-computed
launched runs."""

from __future__ import annotations

import json

import pytest

import runfile
from reports import analysis, compiled, holds, readme, render
from reports.figures import _launch_words
from reports.load import load_runs
from runfile import synthetic

NUMPY_S = 1.0e-3
# four widths of the width sweep and the speedups (NumPy / torch) each launch measures:
# below 1 everywhere at h16, straddling 1 at h100 and h300, above 1 everywhere at h2048
WIDTHS = (16, 100, 300, 2048)
SPEEDUPS = {16: (0.50, 0.60, 0.55), 100: (0.90, 1.10, 0.95), 300: (0.98, 1.20, 1.05),
            2048: (1.50, 1.60, 1.40)}


def _launch(k: int, speedups=SPEEDUPS, **doc):
    benches = []
    for h in WIDTHS:
        sizes = (784, h, 10)
        benches.append(synthetic.entry("step", "numpy", "numpy", "cpu", sizes, 256, NUMPY_S))
        benches.append(synthetic.entry("step", "torch-cpu", "torch", "cpu", sizes, 256,
                                       NUMPY_S / speedups[h][k]))
    return synthetic.run_doc(benches, **doc)


def _path(tmp_path, docs, name="run.json"):
    path = tmp_path / name
    path.write_text(json.dumps(runfile.merge_launches(docs) if len(docs) > 1 else docs[0]))
    return path


def _analysed(*paths):
    runs, table = load_runs(paths)
    table = analysis.add_metrics(table, runs)
    return runs, table, analysis.crossover_table(table, analysis.fit_table(table))


def test_the_crossover_names_the_sizes_where_the_launches_disagree(tmp_path):
    """Ranges 0.90-1.10 (784-100-10) and 0.98-1.20 (784-300-10) straddle 1: the launches
    disagree there; the median launch's speedups (0.55, 0.95, 1.05, 1.50) cross between
    them, at exp(log 79,510 + 0.5 * log(238,510 / 79,510)) ~ 137.7k (log-linear: -log 0.95 =
    log 1.05 to 4 digits: 0.0513 vs 0.0488, so frac = 0.0513 / 0.1001)."""
    _, _, cross = _analysed(_path(tmp_path, [_launch(k) for k in range(3)]))
    c = cross.iloc[0]
    assert (c["launches"], c["n_disagree"]) == (3, 2)
    assert (c["disagree_p_min"], c["disagree_p_max"]) == (79_510, 238_510)
    frac = 0.05129329 / (0.05129329 + 0.04879016)
    expected = 79_510 * (238_510 / 79_510) ** frac
    assert c["measured_kind"] == "crossover"
    assert c["measured_p"] == pytest.approx(expected, rel=1e-6)
    said = render.crossover_sentence(next(cross.itertuples()))
    assert ("; the 3 launches disagree on who is ahead at 2 sizes from 79.5k to 239k "
            "parameters;") in said


def test_launches_that_agree_say_so_and_one_launch_says_nothing(tmp_path):
    agree = {h: tuple(s + 0.5 if s > 0.8 else s for s in v) for h, v in SPEEDUPS.items()}
    _, _, cross = _analysed(_path(tmp_path, [_launch(k, agree) for k in range(3)]))
    c = next(cross.itertuples())
    assert c.n_disagree == 0
    assert "; all 3 launches agree on who is ahead at every size;" in \
        render.crossover_sentence(c)
    _, _, cross = _analysed(_path(tmp_path, [_launch(1)], "one.json"))
    c = next(cross.itertuples())
    assert c.launches == 1 and "launch" not in render.crossover_sentence(c)


@pytest.mark.parametrize("speedup, lo, hi, launches, trusted, disturbed, cell", [
    (1.29, 1.26, 1.32, 5, True, False, "1.29x (1.26-1.32)"),
    (0.5, 0.5, 0.5, 1, True, False, "0.50x (1 launch)"),
    (0.5, 0.5, 0.5, 1, False, True, "disturbed"),
    (0.5, 0.5, 0.5, 1, False, False, "NumPy disturbed"),
    (float("nan"), float("nan"), float("nan"), 1, True, False, ""),
])
def test_a_ratio_cell_carries_its_range_or_says_it_has_none(speedup, lo, hi, launches, trusted,
                                                            disturbed, cell):
    class R:
        pass

    r = R()
    r.speedup, r.speedup_lo, r.speedup_hi, r.launches = speedup, lo, hi, launches
    r.trusted, r.disturbed = trusted, disturbed
    assert render.ratio_cell(r) == cell


def test_the_report_tables_every_speedup_with_its_range(tmp_path):
    runs, table, _ = _analysed(_path(tmp_path, [_launch(k) for k in range(3)]))
    lines = render.speedup_tables(table, runs[0].label)
    assert "range over 3 launches" in lines[0]
    row = next(line for line in lines if line.startswith("| 784-100-10 |"))
    assert row == "| 784-100-10 | 79,510 | 0.95x (0.90-1.10) |"


def test_the_readme_answer_table_gives_each_machine_its_ranges(tmp_path):
    """Two machines (another CPU name): a row per machine, the launched one with ranges, the
    one-launch one saying so once in its machine cell; torch-cpu overtakes from the median
    crossover, with the sizes the launches disagree on."""
    launched = _path(tmp_path, [_launch(k) for k in range(3)], "a.json")
    single = _path(tmp_path, [_launch(1, cpu_model="Other CPU", node="other")], "b.json")
    runs, table, cross = _analysed(launched, single)
    lines = readme.answer_table(runs, table, cross)
    assert lines[0].startswith("| machine | threads | torch-cpu at 79.5k | torch-cpu at 1.63M |")
    a, b = lines[2], lines[3]
    kind = "(Synthetic 0/0), OpenBLAS kernel Haswell, 2 cores"
    assert a == (f"| Synthetic CPU {kind}, 3 launches | 2 | 0.95x (0.90-1.10) | "
                 "1.50x (1.40-1.60) | from ~140k; launches disagree at 79.5k-239k |")
    assert b == f"| Other CPU {kind}, 1 launch, so no range | 2 | 1.10x | 1.60x | from ~59.6k |"


def test_the_readme_says_why_machines_differ_from_their_calibrations(tmp_path):
    a = _path(tmp_path, [_launch(0, gemm={"numpy": 50.0, "torch": 80.0})], "a.json")
    b = _path(tmp_path, [_launch(0, gemm={"numpy": 90.0, "torch": 70.0}, cpu_model="Other",
                                 node="other")], "b.json")
    runs, _, _ = _analysed(a, b)
    said = " ".join(readme.why_they_differ(runs))
    assert "50 vs 80 GFLOP/s" in said and "90 vs 70 GFLOP/s" in said
    assert readme.why_they_differ(runs[:1]) == []


def test_holds_compares_each_ratio_with_the_reference_range(tmp_path, capsys):
    """Reference ranges from SPEEDUPS; a fresh run whose every median lies inside holds
    (exit 0); one whose 784-100-10 median is 1.2 (above 0.90-1.10) does not (exit 1)."""
    ref = _path(tmp_path, [_launch(k) for k in range(3)], "ref.json")
    inside = {h: (v[2],) * 3 for h, v in SPEEDUPS.items()}
    fresh = _path(tmp_path, [_launch(k, inside) for k in range(3)], "fresh.json")
    assert holds.main([str(ref), str(fresh)]) == 0
    out = capsys.readouterr().out
    assert "2 of 2 ratios hold" in out and "Not the same machine" not in out
    outside = {**inside, 100: (1.2, 1.2, 1.2)}
    fresh = _path(tmp_path, [_launch(k, outside) for k in range(3)], "out.json")
    assert holds.main([str(ref), str(fresh)]) == 1
    out = capsys.readouterr().out
    assert "| 2 | torch-cpu at 79.5k | 0.95x (0.90-1.10) | 1.20x (1.20-1.20) | outside | " \
           "0.90-1.20 |" in out
    assert holds.main([str(ref), str(tmp_path / "absent.json")]) == 2


def test_a_benchmark_missing_from_every_launch_is_listed_once():
    missing = [{"test": "t", "reason": "no CUDA", "launch": k} for k in range(3)]
    missing.append({"test": "u", "reason": "cut short", "launch": 2})
    assert render.missing_by_test(missing) == {("t", "no CUDA"): {0, 1, 2},
                                               ("u", "cut short"): {2}}


def test_the_one_off_table_shows_the_median_launch_and_the_range():
    rows = compiled.pd.DataFrame([
        {"run": "r", "backend": "torch-cpu-compile", "layers": "784-100-10", "n_params": 79510,
         "dtype": "float32", "threads": 1, "batch": 256, "kind": "compile", "one_off_s": s,
         "cache_hit": False, "eager_step_s": 1e-3, "variant_step_s": 0.9e-3,
         "break_even_steps": s / 1e-4, "launch": k} for k, s in enumerate((3.0, 1.0, 2.0))],
        columns=compiled.COLUMNS)
    (line,) = compiled.table_lines(rows)[2:-1]
    assert "| 2.0 compile (1.0-3.0 over 3 launches) |" in line
    assert line.endswith("| 20,000 (10,000-30,000 over 3 launches) |")


@pytest.mark.parametrize("ranges, words", [
    ({1}, "Each point is one launch"),
    ({3}, "Points are the median of 3 launches (fresh processes), bars the range over them."),
    ({3, 1}, "(points without a bar: one launch)"),
    ({2, 3}, "median of 2-3 launches"),
])
def test_the_speedup_figure_says_what_its_points_and_bars_are(ranges, words):
    assert words in _launch_words(ranges)


def test_two_runs_of_one_machine_are_told_apart_by_date(tmp_path):
    a, b = _launch(0), _launch(1)
    a["datetime"], b["datetime"] = "2026-11-28T10:00:00", "2026-12-03T10:00:00"
    runs, _ = load_runs([_path(tmp_path, [a], "a.json"), _path(tmp_path, [b], "b.json")])
    assert [r.label for r in runs] == ["synth (Synthetic CPU), 2026-11-28",
                                       "synth (Synthetic CPU), 2026-12-03"]


@pytest.mark.parametrize("speedups, words", [
    (SPEEDUPS, "neither library is always faster: eager PyTorch runs at 0.90-1.10x NumPy's "
               "speed"),
    ({**SPEEDUPS, 100: (0.5, 0.8, 0.625)}, "NumPy is faster: eager PyTorch takes 1.25-2.00x "
                                            "NumPy's time"),
    ({**SPEEDUPS, 100: (1.5, 1.2, 1.25)}, "PyTorch is faster: 1.20-1.50x NumPy's speed"),
])
def test_in_short_spans_every_launch_at_the_headline_size(tmp_path, speedups, words):
    runs, table, _ = _analysed(_path(tmp_path, [_launch(k, speedups) for k in range(3)]))
    (line, _) = readme.in_short(runs, table)
    assert words in line and "79,510 parameters" in line


# each library at its best, per launch (ms): numpy-fused and torch-cpu-aot at 784-100-10 and
# 784-2048-10; the AOT step of launch 2 at 784-100-10 is disturbed, so it pairs with nothing
FUSED_MS = {100: (1.0, 1.0, 1.0), 2048: (2.0, 2.2, 2.4)}
AOT_MS = {100: (0.8, 0.9, 0.5), 2048: (2.5, 2.0, 3.0)}


def _best_launch(k: int):
    doc = _launch(k)
    for h in (100, 2048):
        sizes = (784, h, 10)
        doc["benchmarks"].append(synthetic.entry("step", "numpy-fused", "numpy", "cpu", sizes,
                                                 256, FUSED_MS[h][k] * 1e-3))
        aot = synthetic.entry("step", "torch-cpu-aot", "torch", "cpu", sizes, 256,
                              AOT_MS[h][k] * 1e-3)
        doc["benchmarks"].append(synthetic.disturb(aot) if (h, k) == (100, 2) else aot)
    return doc


def test_each_at_its_best_pairs_the_two_launch_by_launch(tmp_path):
    """The ratio is numpy-fused's time over torch-cpu-aot's in the same launch: 1.0/0.8 =
    1.25 and 1.0/0.9 = 1.11 at 784-100-10 (launch 2 disturbed, left out), 2.0/2.5 = 0.80,
    2.2/2.0 = 1.10, 2.4/3.0 = 0.80 at 784-2048-10; the first sentence is unchanged."""
    path = _path(tmp_path, [_best_launch(k) for k in range(3)])
    runs, table = load_runs([path])
    per_launch = analysis.launch_metrics(table, runs)
    table = analysis.combine_launches(per_launch)
    ratios = readme.best_ratios(runs, table, per_launch)
    label = runs[0].label
    assert ratios[(label, 79_510, 2)] == pytest.approx({0: 1.25, 1: 1.0 / 0.9})
    assert ratios[(label, 1_628_170, 2)] == pytest.approx({0: 0.8, 1: 1.1, 2: 0.8})
    (line, _) = readme.in_short(runs, table, per_launch)
    first, best = line.split(" **Each at its best**")
    assert first == readme.in_short(runs, table)[0]
    assert best.endswith("below 1x NumPy is faster, paired launch by launch) on the "
                         "Synthetic CPU (Synthetic 0/0), OpenBLAS kernel Haswell: 1.11-1.25x "
                         "with 2 threads at 79.5k parameters (2 launches); 0.80-1.10x with 2 "
                         "threads at 1.63M parameters (3 launches).")


def test_each_at_its_best_stands_alone_and_never_divides_by_zero(tmp_path):
    """Without eager torch-cpu the first sentence has no evidence, the second still has; a
    ratio that underflows to 0 (1e-30 s against 1e300 s) is left out, not divided by."""
    docs = [_best_launch(k) for k in range(3)]
    for doc in docs:
        doc["benchmarks"] = [b for b in doc["benchmarks"]
                             if b["extra_info"]["backend"] != "torch-cpu"]
    docs[0]["benchmarks"].append(synthetic.entry("step", "numpy-fused", "numpy", "cpu",
                                                 (784, 300, 10), 256, 1e-30))
    docs[0]["benchmarks"].append(synthetic.entry("step", "torch-cpu-aot", "torch", "cpu",
                                                 (784, 300, 10), 256, 1e300))
    runs, table = load_runs([_path(tmp_path, docs)])
    per_launch = analysis.launch_metrics(table, runs)
    table = analysis.combine_launches(per_launch)
    assert readme.in_short(runs, table) == []
    (line, _) = readme.in_short(runs, table, per_launch)
    assert line.startswith("**Each at its best**") and "1.11-1.25x with 2 threads" in line


@pytest.mark.parametrize("a, b, words", [
    (1e-300, 0.5, "takes 2.00-1e+300x"), (2000.0, 3000.0, "2e+03-3e+03x"),
    (1.0, 1.0, "the two are level: torch runs at 1.00x NumPy's speed"),
    (0.9999, 0.99999, "the two are level"), (0.5, 0.501, "takes 2.00x"),
    (999.996, 1000.0, "is faster: 1e+03x NumPy's speed"),
    (0.95, 1.0001, "neither library is always faster: torch runs at 0.95-1.00x")])
def test_verdict_numbers_stay_short(a, b, words):
    assert words in readme._verdict(a, b, "torch", "NumPy")


def test_ratios_whose_inverse_overflows_are_not_usable():
    assert readme._usable([1e-310, 0.0, float("inf"), float("nan"), 0.5]) == [0.5]


def test_two_runs_of_one_machine_are_named_by_their_labels(tmp_path):
    a, b = ([_best_launch(k) for k in range(3)] for _ in range(2))
    for doc in a:
        doc["datetime"] = "2026-11-28T10:00:00"
    runs, table = load_runs([_path(tmp_path, a, "a.json"), _path(tmp_path, b, "b.json")])
    per_launch = analysis.launch_metrics(table, runs)
    words = readme.at_its_best(runs, analysis.combine_launches(per_launch), per_launch)
    assert "on the synth (Synthetic CPU), 2026-11-28: " in words
    assert "on the synth (Synthetic CPU), 2025-01-01: " in words


def test_each_at_its_best_is_left_out_where_no_run_measured_both(tmp_path):
    path = _path(tmp_path, [_launch(k) for k in range(3)])
    runs, table = load_runs([path])
    per_launch = analysis.launch_metrics(table, runs)
    assert readme.at_its_best(runs, analysis.combine_launches(per_launch), per_launch) == ""


def test_combining_runs_widens_every_ratio_they_share(tmp_path, capsys):
    """A reference of 3 launches and a later run of 2 (speedups 1.3 at 784-100-10, outside the
    reference's 0.90-1.10): the combined run has 5 launches and the range 0.90-1.30 there;
    sizes only the reference measured keep its 3 launches. Runs of another commit, an input
    given as the output, or a single run are refused in one line (exit 2)."""
    from runfile import combine

    ref = _path(tmp_path, [_launch(k) for k in range(3)], "ref.json")
    later = {**SPEEDUPS, 100: (1.3, 1.3, 1.3)}
    docs = [_launch(k, later) for k in range(2)]
    for doc in docs:
        doc["benchmarks"] = [b for b in doc["benchmarks"]
                             if list(b["extra_info"]["layer_sizes"]) == [784, 100, 10]]
    fresh = _path(tmp_path, docs, "fresh.json")
    out = tmp_path / "combined.json"
    assert combine.main([str(ref), str(fresh), "--out", str(out)]) == 0
    assert "5 launches from 2 runs" in capsys.readouterr().out
    runs, table, _ = _analysed(out)
    torch = table[table["backend"] == "torch-cpu"].set_index("n_params")
    assert (torch.loc[79_510, "launches"], torch.loc[12_730, "launches"]) == (5, 3)
    assert (torch.loc[79_510, "speedup_lo"], torch.loc[79_510, "speedup_hi"]) == (
        pytest.approx(0.9), pytest.approx(1.3))
    assert runs[0].launches == 5 and len(runs[0].twins["launch_calibrations"]) == 4
    other = json.loads(fresh.read_text())
    other["commit_info"] = {"id": "1" * 40, "dirty": False}
    (tmp_path / "other.json").write_text(json.dumps(other))
    for argv in ([str(ref), str(tmp_path / "other.json"), "--out", str(tmp_path / "x.json")],
                 [str(ref), str(fresh), "--out", str(ref)], [str(ref), "--out", str(out)]):
        assert combine.main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
    assert not (tmp_path / "x.json").exists()
