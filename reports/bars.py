"""Figures 4 and 5, bar charts: one epoch split into input pipeline and compute, and the
thread and process scaling at one size.

    from reports.bars import fig_epoch, fig_scaling
    fig, caption = fig_epoch(table)  # raises style.Skip when the run has no epoch records
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from core.spec import HEADLINE_SIZES

from .style import Skip, color

SCALING = ("numpy", "torch-cpu", "torch-ddp", "numpy-mp")
PARALLEL = ("torch-ddp", "numpy-mp")


def fig_epoch(table):
    ep = table[table["group"] == "epoch"]
    if ep.empty:
        raise Skip("the run has no 'epoch' records")
    dtype = "float32" if (ep["dtype"] == "float32").any() else ep["dtype"].mode()[0]
    ep = ep[ep["dtype"] == dtype]
    layers = "-".join(map(str, HEADLINE_SIZES))
    layers = layers if (ep["layers"] == layers).any() else ep["layers"].mode()[0]
    ep = ep[ep["layers"] == layers]
    batch = int(ep["batch"].mode()[0])
    ep = ep[ep["batch"] == batch].sort_values(["run", "median_s"], ascending=[True, False])
    many = ep["run"].nunique() > 1
    labels = [f"{p or s}" + (f" ({s})" if p and s.split("-")[0] not in str(p) else "")
              + (f" - {r}" if many else "")
              for p, s, r in zip(ep["pipeline"], ep["series"], ep["run"])]
    inp = ep["input_s"].astype(float).fillna(0.0).to_numpy()
    comp = np.maximum(ep["median_s"].to_numpy() - inp, 0.0)
    fig = Figure(figsize=(7, 0.9 + 0.45 * len(ep)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(ep))
    ax.barh(y, inp, color="tab:red", label="input pipeline (input_s)")
    ax.barh(y, comp, left=inp, color="tab:blue", label="compute (median - input_s)")
    for yi, total in zip(y, ep["median_s"]):
        ax.annotate(f"{total:.3g} s", (total, yi), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=7)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlim(0, ep["median_s"].max() * 1.2)
    ax.set(xlabel="median time per epoch (s)", title="One epoch: input pipeline vs compute")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=7)
    unknown = ep["input_s"].isna().sum()
    note = (f" {unknown} pipeline(s) did not record input_s and show as all compute."
            if unknown else "")
    return fig, (f"One training epoch of the {layers} MLP ({dtype}, batch {batch}), split into "
                 f"iterating the input pipeline alone and the rest.{note}")


def fig_scaling(table, slices):
    bars = []
    for sl in slices:
        rows = table[(table["run"] == sl["run"]) & (table["group"] == "step")
                     & (table["dtype"] == sl["dtype"]) & table["backend"].isin(SCALING)]
        combos = rows.groupby(["layers", "batch"]).apply(
            lambda g: (len(g.drop_duplicates(["series", "threads", "world_size"])),
                       g["n_params"].iloc[0]), include_groups=False)
        if combos.empty:
            continue
        layers, batch = max(combos.index, key=lambda k: combos[k])
        g = rows[(rows["layers"] == layers) & (rows["batch"] == batch)]
        g = g.sort_values(["series", "world_size", "threads"])
        if g[["threads", "world_size"]].drop_duplicates().shape[0] < 2:
            continue
        for r in g.itertuples():
            procs = f"{r.world_size} proc{'s' * (r.world_size > 1)} x " \
                if r.backend in PARALLEL else ""
            label = f"{r.series}: {procs}{r.threads} thread{'s' * (r.threads > 1)}" \
                + (f" - {r.run}" if len(slices) > 1 else "")
            bars.append((label, r.median_s * 1e3, (r.median_s - r.q1_s) * 1e3,
                         (r.q3_s - r.median_s) * 1e3, color(r.series), layers, batch,
                         bool(r.disturbed)))
    if not bars:
        raise Skip("no step records that vary threads or processes at one size")
    fig = Figure(figsize=(7, 0.9 + 0.4 * len(bars)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(bars))
    drawn = ax.barh(y, [b[1] for b in bars], xerr=[[b[2] for b in bars], [b[3] for b in bars]],
                    color=[b[4] for b in bars])
    for patch, b in zip(drawn.patches, bars):
        if b[7]:  # disturbed: a hollow bar
            patch.set(fill=False, edgecolor=b[4], hatch="//")
    for yi, b in zip(y, bars):
        ax.annotate(f"{b[1]:.3g} ms", (b[1] + b[3], yi), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=7)
    ax.set_xlim(0, max(b[1] + b[3] for b in bars) * 1.15)
    ax.set_yticks(y, [b[0] for b in bars], fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="median time per step (ms); whisker: IQR",
           title=f"Threads and processes: {bars[0][5]}, batch {bars[0][6]}")
    hollow = any(b[7] for b in bars)
    return fig, ("Step time of one size with 1 thread against all threads, and of the parallel "
                 "backends (torch-ddp, numpy-mp) with 1 and more processes; a shorter bar is "
                 "faster." + (" Hollow, hatched bars: measured on a disturbed machine."
                              if hollow else ""))
