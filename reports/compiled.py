r"""Eager vs compiled vs CUDA-graph steps: the figure and the one-off cost table.

    from reports.compiled import fig_variants, section
    fig, caption = fig_variants(table)        # speedup over NumPy against parameters
    lines = section(runs, table, drawn)       # REPORT.md lines: figure, table of one-off costs

The step-only variants (``torch-cpu-compile``, ``torch-cuda-compile``, ``torch-cuda-graphs``,
``bench/backends/variants.py``) carry their one-off cost in the record: the compile (or
capture) seconds and the break-even step count

.. math::
    n^* = \frac{t_\text{one-off}}{t_\text{eager} - t_\text{variant}}

from the eager twin's and the variant's step times measured paired beside it; none when the
variant is not faster. The figure compares each variant with its eager backend, as speedup
over NumPy measured in the same run, slice by slice (dtype, threads, batch).
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure

from core.spec import HEADLINE_N_PARAMS
from runfile.schema import STEP_VARIANTS

from . import md
from .analysis import human
from .style import Skip, section_lines

EAGER = STEP_VARIANTS  # each variant and the eager backend it replaces
COLORS = {"torch-cpu": "tab:orange", "torch-cpu-compile": "tab:red", "torch-cuda": "tab:green",
          "torch-cuda-compile": "tab:cyan", "torch-cuda-graphs": "tab:purple",
          "numpy-fused": "navy", "torch-cpu-aot": "tab:brown"}
LINES = ("-", "--", "-.", ":")  # one style per (run, threads) slice
STEM, TITLE = "fig7_compiled", "Eager, compiled and CUDA-graph steps against NumPy"
COLUMNS = ["run", "backend", "layers", "n_params", "dtype", "threads", "batch", "kind",
           "one_off_s", "cache_hit", "eager_step_s", "variant_step_s", "break_even_steps",
           "launch"]
CASE = ["run", "backend", "layers", "n_params", "dtype", "threads", "batch"]


def one_off_rows(runs) -> pd.DataFrame:
    """One row per variant record that carries its one-off cost, in ``COLUMNS``."""
    rows = []
    for run in runs:
        for b in run.benchmarks:
            info = b.get("extra_info") or {}
            if info.get("backend") not in EAGER or info.get("one_off_s") is None:
                continue
            rows.append({"run": run.label, "backend": info["backend"],
                         "layers": "-".join(map(str, info["layer_sizes"])),
                         "n_params": int(info["n_params"]), "dtype": info["dtype"],
                         "threads": int(info["threads"]), "batch": int(info["batch"]),
                         "kind": info.get("one_off_kind"),
                         "one_off_s": float(info["one_off_s"]),
                         "cache_hit": info.get("one_off_cache_hit"),
                         "eager_step_s": info.get("eager_step_s"),
                         "variant_step_s": info.get("variant_step_s"),
                         "break_even_steps": info.get("break_even_steps"),
                         "launch": int(info.get("launch", 0))})
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(
        ["run", "backend", "threads", "n_params"], ignore_index=True)


def _slices(table):
    """(run, dtype, threads, batch) of every slice where a variant was measured."""
    v = table[table["backend"].isin(list(EAGER)) & (table["group"] == "step")]
    return sorted(set(zip(v["run"], v["dtype"], v["threads"], v["batch"])))


def fig_variants(table):
    """Speedup over NumPy of each variant and of its eager backend, against parameters."""
    slices = _slices(table)
    if not slices:
        raise Skip("no compiled or CUDA-graph variant was measured")
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax, ys = fig.add_subplot(), []
    wanted = (set(EAGER) | set(EAGER.values())) - {"numpy"}  # NumPy: the 1x line
    for i, (run, dtype, threads, batch) in enumerate(slices):
        rows = table[(table["run"] == run) & (table["dtype"] == dtype) & (table["group"] == "step")
                     & (table["threads"] == threads) & (table["batch"] == batch)
                     & (table["world_size"] == 1) & (table["hidden_layers"] == 1)
                     & table["backend"].isin(wanted) & table["variant"].isna()
                     & table["speedup"].notna()]
        tag = f"{threads} thr" + (f", {run}" if len({s[0] for s in slices}) > 1 else "")
        for backend, g in rows.sort_values("n_params").groupby("backend", sort=True):
            ax.plot(g["n_params"], g["speedup"], LINES[i % len(LINES)], marker="o", ms=3,
                    color=COLORS.get(backend, "tab:gray"), label=f"{backend} ({tag})")
            ys += list(g["speedup"])
    if not ys:
        raise Skip("no variant shares a slice with NumPy, so there is no speedup to draw")
    ax.axhline(1.0, color="k", lw=1)
    ax.axvline(HEADLINE_N_PARAMS, color="0.4", lw=1, ls=":")
    ax.set_xscale("log")
    if max(ys) / min(ys) >= 10:
        ax.set_yscale("log")
    ax.set(xlabel="parameters P (weights + biases)",
           ylabel="speedup over NumPy (NumPy time / time)",
           title="Eager vs compiled vs CUDA graphs, per step")
    ax.legend(fontsize=7)
    where = "; ".join(f"{md.text(r)}: {d}, {t} threads, batch {b}" for r, d, t, b in slices)
    return fig, (f"NumPy's step time divided by each backend's, eager torch beside its "
                 f"torch.compile / CUDA-graph variants ({where}); above 1 beats NumPy; dotted: "
                 f"the headline MLP's {HEADLINE_N_PARAMS:,} parameters.")


def _seconds(s) -> str:
    return "" if s is None or (isinstance(s, float) and math.isnan(s)) else f"{s * 1e3:,.3f}"


def _steps(n) -> str:
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "never (not faster)"
    return f"{n:,.0f}"


def _launch_range(g: pd.DataFrame, column: str, fmt) -> str:
    """`` (lo-hi over N launches)`` of one case's launches, nothing for one launch."""
    if len(g) <= 1:
        return ""
    values = pd.to_numeric(g[column], errors="coerce")
    if values.isna().any():  # a launch where it never pays back: the range has no top
        return f" (over {len(g)} launches, {int(values.isna().sum())} never)"
    return f" ({fmt(values.min())}-{fmt(values.max())} over {len(g)} launches)"


def table_lines(rows: pd.DataFrame) -> list[str]:
    """One line per case; a case measured by several launches shows its median launch (by
    one-off cost) and the range of one-off cost and break-even over the launches."""
    out = ["| run | backend | layers | params | threads | batch | one-off (s) | eager step (ms) "
           "| variant step (ms) | break-even steps |",
           "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for _, g in rows.groupby(CASE, sort=False):
        r = g.sort_values("one_off_s", kind="stable").iloc[(len(g) - 1) // 2]
        what = r.kind or "one-off"
        cached = " (cache hit)" if r.cache_hit is True else ""
        one_off = _launch_range(g, "one_off_s", lambda v: f"{v:,.1f}")
        steps = _launch_range(g, "break_even_steps", lambda v: f"{v:,.0f}")
        out.append(f"| {md.text(r.run)} | {md.text(r.backend)} | {r.layers} | {human(r.n_params)} "
                   f"| {r.threads} "
                   f"| {r.batch} | {r.one_off_s:,.1f} {what}{cached}{one_off} "
                   f"| {_seconds(r.eager_step_s)} | {_seconds(r.variant_step_s)} "
                   f"| {_steps(r.break_even_steps)}{steps} |")
    return out + [""]


def section(runs, drawn) -> list[str]:
    """REPORT.md lines: the figure (or why not) and the one-off cost table."""
    return section_lines(
        "Compiled and captured steps", one_off_rows(runs),
        "No compiled or CUDA-graph variant was measured in these runs "
        "(`--backends torch-cpu-compile,...`).", drawn,
        "One-off cost (untimed: compile, warm-up + capture, or numpy-fused's "
        "prepare: buffers and GEMM bindings) and the steps it takes "
        "to pay back: one-off / (eager step - variant step), both steps medians "
        "timed alternately beside each other; every variant was checked equal to its "
        "eager twin (float32 1e-4, float64 1e-9 after 3 steps; numpy-fused and "
        "torch-cpu-aot float64 1e-12 after 10) before it was timed.", table_lines)
