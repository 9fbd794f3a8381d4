r"""Each library at its best (issue 24): how much of each step backend's step is matrix products.

    from reports.best import fig_best, section
    fig, caption = fig_best(table, slices)   # GEMM share against parameters
    lines = section(table, slices, drawn)    # REPORT.md lines: the figure and its table

The GEMM share of a step record is

.. math::
    s = \frac{t_\text{GEMM}}{t_\text{step}}

with ``t_GEMM`` the record's ``gemm_s`` (the step's own matrix products, same library, shapes
and layouts, timed alone: ``bench/measure/breakdown.py``) and ``t_step`` its median. A
backend near 1 spends its step in BLAS and has little left to gain but a faster GEMM; the
gap below 1 is its overhead (activations, softmax, the update, allocation, Python,
dispatch). Drawn for every single-process step backend in the report's slices, the
idiomatic twins beside each library at its best (``BEST``: ``numpy-fused``, NumPy's own
BLAS with the update fused into the weight GEMM; ``torch-cpu-aot``, the step compiled ahead
of time). ``gemm_s`` is timed apart from the step, so a share a little above 1 is noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from core.spec import HEADLINE_N_PARAMS

from . import md
from .analysis import human, select
from .compiled import COLORS as VARIANT_COLORS
from .style import Skip, color, section_lines

STEM, TITLE = "fig8_best", "Each library at its best: the GEMM share of a step"
BEST = ("numpy-fused", "torch-cpu-aot")
STYLES = ("-", "--", "-.", ":")  # one per slice
MAX_TOP = 2.0  # the axis top when every point is disturbed
TABLE_SIZES = (79_510, 1_628_170)  # 784-100-10 and 784-2048-10: the quick profile's pair


def share_rows(table: pd.DataFrame, slices) -> pd.DataFrame:
    """The step rows of each slice that carry ``gemm_s``, with their ``gemm_share``."""
    frames = []
    for sl in slices:
        rows = select(table, sl)
        if "gemm_s" not in rows:
            continue
        rows = rows[pd.to_numeric(rows["gemm_s"], errors="coerce").notna()].copy()
        rows["gemm_share"] = rows["gemm_s"].astype(float) / rows["median_s"]
        rows["slice"] = len(frames)
        frames.append(rows)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _color(series: str) -> str:
    return VARIANT_COLORS.get(series) or color(series)


def fig_best(table: pd.DataFrame, slices):
    rows = share_rows(table, slices)
    if rows.empty:
        raise Skip("no step record carries gemm_s (the step's GEMMs timed alone)")
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax, many, bad_any = fig.add_subplot(), len(slices) > 1, False
    for (i, series), g in rows.sort_values("n_params").groupby(["slice", "series"], sort=True):
        best = series in BEST
        bad = g["disturbed"].to_numpy(bool)
        label = series + (" (at its best)" if best else "") + \
            (f" - {slices[i]['run']}" if many else "")
        ax.plot(g["n_params"][~bad], g["gemm_share"][~bad], STYLES[i % len(STYLES)],
                marker="o", ms=4 if best else 3, lw=2.2 if best else 1.0,
                color=_color(series), label=label)
        if bad.any():
            bad_any = True
            ax.plot(g["n_params"][bad], g["gemm_share"][bad], ls="none", marker="o", ms=6,
                    mfc="none", mec=_color(series), mew=1.2)
    if bad_any:
        ax.plot([], [], ls="none", marker="o", ms=6, mfc="none", mec="0.3",
                label="hollow: disturbed")
    ax.axhline(1.0, color="k", lw=1)
    ax.axvline(HEADLINE_N_PARAMS, color="0.4", lw=1, ls=":")
    ax.set_xscale("log")
    clean = rows.loc[~rows["disturbed"].astype(bool), "gemm_share"]
    top = max(1.1, float(np.nanmax(clean)) * 1.05) if len(clean) else MAX_TOP
    ax.set_ylim(0, top)  # a disturbed gemm_s can be anything: it does not set the axis
    above = int((rows["gemm_share"] > top).sum())
    ax.set(xlabel="parameters P (weights + biases)",
           ylabel="GEMM share of the step (gemm_s / step median)",
           title="Each library at its best: how much of a step is GEMM")
    ax.legend(fontsize=7)
    where = "; ".join(f"{md.text(s['run'])}: {s['dtype']}, {s['threads']} threads, "
                      f"batch {s['batch']}"
                      if many else f"{s['dtype']}, {s['threads']} threads, batch {s['batch']}"
                      for s in slices)
    return fig, (f"The step's own matrix products timed alone (gemm_s, same library and "
                 f"layouts) over the step's median, for every step backend ({where}); thick: "
                 f"each library at its best ({', '.join(BEST)}); 1 = all GEMM, the gap below "
                 f"is overhead; dotted: the headline MLP's {HEADLINE_N_PARAMS:,} parameters."
                 + (f" {above} disturbed point(s) lie above the axis." if above else ""))


def table_lines(rows: pd.DataFrame) -> list[str]:
    """Per slice, the GEMM share and step time of every backend at ``TABLE_SIZES``."""
    rows = rows[rows["n_params"].isin(TABLE_SIZES)]
    if rows.empty:
        return []
    sizes = sorted(rows["n_params"].unique())
    out = ["| run | backend | " + " | ".join(f"{human(p)}: GEMM share (step ms)" for p in sizes)
           + " |", "|---|---|" + "---:|" * len(sizes)]
    for (run, series), g in rows.groupby(["run", "series"], sort=True):
        cells = []
        for p in sizes:
            r = g[g["n_params"] == p]
            cells.append("" if r.empty else f"{r.iloc[0]['gemm_share']:.2f} "
                         f"({r.iloc[0]['median_s'] * 1e3:,.3f})"
                         + (" disturbed" if bool(r.iloc[0]["disturbed"]) else ""))
        out.append(f"| {md.text(run)} | {md.text(series)}{' (best)' if series in BEST else ''} | "
                   + " | ".join(cells) + " |")
    return out + [""]


def section(table: pd.DataFrame, slices, drawn) -> list[str]:
    """REPORT.md lines: the figure (or why not) and the GEMM shares at the quick sizes."""
    slices = [s for s in slices if s]
    return section_lines(
        "Each library at its best", share_rows(table, slices),
        "No step record in these runs carries `gemm_s` (the step's GEMMs timed alone), so "
        "there is no GEMM share to draw.", drawn,
        "`numpy-fused`: NumPy's own BLAS through ctypes, the weight update fused into the "
        "weight-gradient GEMM, no allocation; `torch-cpu-aot`: the step compiled ahead of time, "
        "no per-call guards (docs/methodology.md, 'Each library at its best'). Both are "
        "checked against their twin before they are timed.", table_lines)
