"""The report's 'each library at its best' figure and table (issue 24): GEMM share =
gemm_s / step median, per step backend, on hand-made rows."""

from __future__ import annotations

import pandas as pd
import pytest

from reports import best, figures
from reports.style import Skip

SLICE = {"run": "m", "dtype": "float32", "threads": 1, "batch": 256}
SIZES = {100: 79_510, 2048: 1_628_170}
# backend: (step ms at 784-100-10, at 784-2048-10); the GEMMs take 0.7 and 20 ms alone
STEPS = {"numpy": (1.0, 25.0), "numpy-fused": (0.8, 21.0), "torch-cpu": (1.4, 26.0),
         "torch-cpu-aot": (0.875, 22.0)}


def _table(gemm=True, disturbed=False):
    rows = []
    for backend, times in STEPS.items():
        for (h, p), t, g in zip(SIZES.items(), times, (0.7e-3, 20e-3)):
            rows.append({**SLICE, "backend": backend, "series": backend, "group": "step",
                         "world_size": 1, "hidden_layers": 1, "variant": None,
                         "layers": f"784-{h}-10", "n_params": p, "median_s": t * 1e-3,
                         "gemm_s": g if gemm else None, "disturbed": disturbed})
    return pd.DataFrame(rows)


def test_the_share_is_gemm_over_the_step_median():
    rows = best.share_rows(_table(), [SLICE])
    got = rows.set_index(["series", "n_params"])["gemm_share"]
    assert got[("numpy-fused", 79_510)] == pytest.approx(0.7 / 0.8)
    assert got[("torch-cpu-aot", 1_628_170)] == pytest.approx(20 / 22)
    assert len(rows) == 8


def test_the_figure_draws_every_step_backend_the_best_ones_marked():
    fig, caption = best.fig_best(_table(), [SLICE])
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert labels == ["numpy", "numpy-fused (at its best)", "torch-cpu",
                      "torch-cpu-aot (at its best)"]
    assert "gemm_s" in caption and "79,510" in caption
    assert fig.axes[0].get_ylim()[1] == pytest.approx(1.1)


def test_disturbed_points_do_not_set_the_axis():
    table = _table(disturbed=True)
    table.loc[0, "gemm_s"] = 36 * table.loc[0, "median_s"]  # a gemm_s timed under load
    fig, caption = best.fig_best(table, [SLICE])
    assert fig.axes[0].get_ylim()[1] == best.MAX_TOP
    assert "1 disturbed point(s) lie above the axis" in caption


def test_without_gemm_s_the_figure_is_skipped_with_the_reason():
    with pytest.raises(Skip, match="gemm_s"):
        best.fig_best(_table(gemm=False), [SLICE])
    text = "\n".join(best.section(_table(gemm=False), [SLICE], None))
    assert "carries `gemm_s`" in text and "Not drawn" not in text


def test_the_section_tabulates_the_quick_sizes():
    drawn = figures.Drawn(best.STEM, best.TITLE, "caption")
    text = "\n".join(best.section(_table(), [SLICE, None], drawn))
    assert "## Each library at its best" in text and f"({best.STEM}.svg)" in text
    assert "| m | numpy-fused (best) | 0.88 (0.800) | 0.95 (21.000) |" in text
    assert "| m | numpy | 0.70 (1.000) | 0.80 (25.000) |" in text


def test_the_figure_is_in_the_plan():
    stems = [stem for stem, *_ in figures.plan(_table(), None, None, [SLICE])]
    assert stems[-1] == best.STEM
