"""The report's figures, drawn headless with matplotlib's object API (no pyplot, no display).

    from reports.figures import draw_all
    results = draw_all(table, fits, crossovers, slices, out_dir)  # PNG + SVG per figure

A figure whose data is absent from the run is skipped with a reason, never an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from core.spec import HEADLINE_N_PARAMS, HEADLINE_SIZES

from . import md
from .activation_figure import fig_activations
from .analysis import REFERENCE, human, select
from .bars import fig_epoch, fig_scaling
from .best import STEM as BEST_STEM
from .best import TITLE as BEST_TITLE
from .best import fig_best
from .compiled import STEM as COMPILED_STEM
from .compiled import TITLE as COMPILED_TITLE
from .compiled import fig_variants
from .style import Skip, color

RUN_STYLES = ("-", "--", "-.", ":")
BOX = {"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.75}  # label bg
DECADE = 10.0  # use a log axis when the data spans at least this ratio


@dataclass
class Drawn:
    stem: str
    title: str
    caption: str = ""
    skipped: str | None = None  # the reason, when the figure was not drawn


def _scale(ax, values, axis="y"):
    v = np.asarray([x for x in values if np.isfinite(x) and x > 0])
    if v.size and v.max() / v.min() >= DECADE:
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")


def _plain(ax, axis="y"):
    """Tick labels like 20 and 300 (y) or 20k and 1M (x: parameters) rather than 2x10^4;
    minor ticks labelled (2, 5) only on spans under two decades. Call after the limits."""
    target, name = (ax.yaxis, "y") if axis == "y" else (ax.xaxis, "x")
    lo, hi = ax.get_ylim() if name == "y" else ax.get_xlim()
    log = (ax.get_yscale() if name == "y" else ax.get_xscale()) == "log"
    text = (lambda v: f"{v:g}") if name == "y" else human

    def minor(v, _):
        lead = round(v / 10 ** math.floor(math.log10(v))) if v > 0 else 0
        return text(v) if log and hi / lo < 100 and lead in (2, 5) else ""

    target.set_major_formatter(FuncFormatter(lambda v, _: text(v) if v else "0"))
    target.set_minor_formatter(FuncFormatter(minor))


def _headline_line(ax):
    """The headline MLP (784-100-10) as a dotted vertical line, labelled on its emptier side."""
    ax.axvline(HEADLINE_N_PARAMS, color="0.4", lw=1, ls=":")
    lo, hi = ax.get_xlim()
    if ax.get_xscale() == "log":
        lo, hi, at = math.log10(lo), math.log10(hi), math.log10(HEADLINE_N_PARAMS)
    else:
        at = HEADLINE_N_PARAMS
    right = (at - lo) / (hi - lo) > 0.7
    sizes = "-".join(map(str, HEADLINE_SIZES))
    ax.annotate(f"headline MLP {sizes}\n({HEADLINE_N_PARAMS:,} params)",
                (HEADLINE_N_PARAMS, 1.0), xycoords=("data", "axes fraction"),
                xytext=(-3 if right else 3, -3), textcoords="offset points", va="top",
                ha="right" if right else "left", fontsize=7, color="0.3", bbox=BOX)
    _plain(ax, "x")


def _legend(ax, **kw):
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, **kw)


def _points(ax, x, y, bad, style, c, label) -> bool:
    """Clean points joined by a line; disturbed ones as hollow markers, not joined (they are
    no evidence of the trend). Returns whether any point was disturbed."""
    x, y, bad = np.asarray(x, float), np.asarray(y, float), np.asarray(bad, dtype=bool)
    ax.plot(x[~bad], y[~bad], style, marker="o", ms=3, color=c, label=label)
    if bad.any():
        ax.plot(x[bad], y[bad], ls="none", marker="o", ms=6, mfc="none", mec=c, mew=1.2)
    return bool(bad.any())


def _hollow_key(ax, any_bad: bool) -> None:
    if any_bad:
        ax.plot([], [], ls="none", marker="o", ms=6, mfc="none", mec="0.3",
                label="hollow: disturbed, left out")


HOLLOW = " Hollow markers: rows measured on a disturbed machine, left out of lines and fits."


def _where(sl: dict, many_runs: bool) -> str:
    run = f"{md.text(sl['run'])}, " if many_runs else ""  # in the caption's Markdown
    return f"{run}{sl['dtype']}, {sl['threads']} threads, batch {sl['batch']}"


def _match(frame, sl: dict, series: str):
    """Rows of a fits or crossovers frame for one slice and series."""
    mask = frame["series"] == series
    for k, v in sl.items():
        mask &= frame[k] == v
    return frame[mask]


def _lines(table, slices):
    """(slice, series, rows) for every line of the step figures."""
    for sl in slices:
        rows = select(table, sl)
        for series, g in rows.groupby("series", sort=True):
            yield sl, series, g


def fig_time(table, fits, slices):
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax, many = fig.add_subplot(), len(slices) > 1
    allp, allt, bad = [], [], False
    for i, (sl, series, g) in enumerate(_lines(table, slices)):
        ls, label = RUN_STYLES[slices.index(sl) % 4], series + (f" - {sl['run']}" if many else "")
        p = g["n_params"].to_numpy()
        bad |= _points(ax, p, g["median_s"] * 1e3, g["disturbed"], ls, color(series), label)
        ok = ~g["disturbed"].to_numpy()
        ax.fill_between(p[ok], g["q1_s"][ok] * 1e3, g["q3_s"][ok] * 1e3, color=color(series),
                        alpha=0.2)
        f = _match(fits, sl, series)
        if len(f):
            a, b = f.iloc[0]["a_us"] * 1e-3, f.iloc[0]["b_ns"] * 1e-6
            xs = np.geomspace(p.min(), p.max(), 50)
            ax.plot(xs, a + b * xs, ":", lw=0.8, color=color(series),
                    label="fit a + bP" if i == 0 else None)
        allp += list(p)
        allt += list(g["median_s"] * 1e3)
    if not allp:
        raise Skip("no single-process 'step' records")
    _scale(ax, allp, "x")
    _scale(ax, allt, "y")
    _plain(ax)
    _headline_line(ax)
    ax.set(xlabel="parameters P (weights + biases)", ylabel="median time per step (ms)",
           title="Time per training step (band: interquartile range)")
    _hollow_key(ax, bad)
    _legend(ax, loc="lower right")
    where = "; ".join(_where(s, many) for s in slices)
    return fig, (f"Median time of one SGD step (forward + backward + update) against the "
                 f"parameter count, shaded between the quartiles, dotted: the fitted "
                 f"a + b*P ({where})." + (HOLLOW if bad else ""))


def fig_speedup(table, crossovers, slices):
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax, many, ys, marks, bad = fig.add_subplot(), len(slices) > 1, [], [], False
    ranges: set[int] = set()  # launches behind the plotted ratios
    for sl, series, g in _lines(table, slices):
        g = g[g["speedup"].notna()]
        if series == REFERENCE or g.empty:
            continue
        label = series + (f" - {sl['run']}" if many else "")
        bad |= _points(ax, g["n_params"], g["speedup"], ~g["trusted"],
                       RUN_STYLES[slices.index(sl) % 4], color(series), label)
        ys += list(g["speedup"])
        many_launches = g[g["trusted"] & (g["launches"] > 1)]
        if len(many_launches):  # the range over launches, as an error bar
            mid = many_launches["speedup"].to_numpy(float)
            lo, hi = (many_launches[k].to_numpy(float) for k in ("speedup_lo", "speedup_hi"))
            ax.errorbar(many_launches["n_params"], mid, yerr=[mid - lo, hi - mid], ls="none",
                        color=color(series), capsize=2, lw=0.8)
            ys += list(lo) + list(hi)
            ranges.add(int(many_launches["launches"].min()))
            ranges.add(int(many_launches["launches"].max()))
        if (g["trusted"] & (g["launches"] <= 1)).any() or not g["trusted"].any():
            ranges.add(1)
        c = _match(crossovers, sl, series)
        if len(c) and c.iloc[0]["measured_kind"] == "crossover":
            p = c.iloc[0]["measured_p"]
            ax.axvline(p, color=color(series), lw=1, ls="--")
            ax.annotate(f"{series} overtakes at ~{human(p)}", (p, 0.02), rotation=90,
                        xycoords=("data", "axes fraction"), xytext=(-2, 0), ha="right",
                        va="bottom", textcoords="offset points", fontsize=7, color=color(series),
                        bbox=BOX)
            marks.append(f"{series} at about {human(p)} parameters")
    if not ys:
        raise Skip("no backend besides NumPy was measured in the same step slice as NumPy")
    ax.axhline(1.0, color="k", lw=1)
    ax.annotate("1x: as fast as NumPy", (0.0, 1.0), xycoords=("axes fraction", "data"),
                xytext=(4, -10), textcoords="offset points", fontsize=7)
    ax.set_xscale("log")
    lo, hi = min(ys + [1.0]), max(ys + [1.0])
    _scale(ax, [lo, hi], "y")
    log = ax.get_yscale() == "log"
    ax.set_ylim(lo / 1.3 if log else 0, hi * 1.3 if log else hi * 1.15)  # 1x never on the rim
    _plain(ax)
    _headline_line(ax)
    ax.set(xlabel="parameters P (weights + biases)",
           ylabel="speedup over NumPy (NumPy time / time)", title="Speedup over NumPy per step")
    _hollow_key(ax, bad)
    _legend(ax)
    where = "; ".join(_where(s, many) for s in slices)
    cross = ("dashed lines mark the measured crossover: " + ", ".join(marks)) if marks else \
        "no measured crossover in this range"
    return fig, (f"NumPy's step time divided by each backend's; above 1 it beats NumPy "
                 f"({where}); {cross}. {_launch_words(ranges)}" + (HOLLOW if bad else ""))


def _launch_words(ranges: set) -> str:
    """What the speedup figure's points stand for: one launch, or the median launch with a
    bar over the range of every launch used."""
    n = sorted(ranges - {1})
    if not n:
        return "Each point is one launch (one process): no range over launches."
    count = f"{n[0]}" if len(n) == 1 else f"{n[0]}-{n[-1]}"
    one = " (points without a bar: one launch)" if 1 in ranges else ""
    return (f"Points are the median of {count} launches (fresh processes), bars the range "
            f"over them{one}.")


def fig_gflops(table, slices):
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax, many, ys, ceilings, bad = fig.add_subplot(), len(slices) > 1, [], {}, False
    for sl, series, g in _lines(table, slices):
        g = g[g["gflops"].notna()]
        if g.empty:
            continue
        bad |= _points(ax, g["n_params"], g["gflops"], g["disturbed"],
                       RUN_STYLES[slices.index(sl) % 4], color(series),
                       series + (f" - {sl['run']}" if many else ""))
        ys += list(g["gflops"])
        for r in g.drop_duplicates(["lib", "device", "peak_gflops"]).itertuples():
            if np.isfinite(r.peak_gflops):
                # coloured by library (numpy-mp shares NumPy's ceiling, torch-ddp torch's)
                lib_color = color("numpy" if r.lib == "numpy" else "torch-cpu")
                ceilings[(sl["run"], r.lib, r.device)] = (r.peak_gflops, lib_color)
    if not ys:
        raise Skip("no step records with a FLOP count")
    merged: dict = {}  # one label per line, naming every run that shares it
    for (run, lib, device), (peak, c) in sorted(ceilings.items()):
        merged.setdefault((lib, device, peak, c), []).append(run)
    by_height = sorted(merged.items(), key=lambda kv: -kv[0][2])
    for i, ((lib, device, peak, c), names) in enumerate(by_height):
        ax.axhline(peak, color=c, lw=1.2, ls="--")
        above = i % 2 == 0  # alternate above/below the line so close ceilings stay legible
        ax.annotate(f"{lib} GEMM ceiling ({device}): {peak:.0f} GFLOP/s"
                    + (f" - {', '.join(names)}" if many else ""), (1.0, peak),
                    xycoords=("axes fraction", "data"), xytext=(-4, 3 if above else -3),
                    va="bottom" if above else "top", textcoords="offset points", ha="right",
                    fontsize=7, color=c, bbox=BOX)
    ax.set_xscale("log")
    tops = ys + [v for v, _ in ceilings.values()]
    _scale(ax, tops, "y")
    if ax.get_yscale() == "log":  # headroom for the headline label above the top ceiling
        ax.set_ylim(min(tops) / 1.5, max(tops) * 3)
    else:
        ax.set_ylim(0, max(tops) * 1.25)
    _plain(ax)
    _headline_line(ax)
    ax.set(xlabel="parameters P (weights + biases)", ylabel="achieved GFLOP/s (matmul FLOPs)",
           title="Achieved throughput under the calibrated GEMM ceiling")
    _hollow_key(ax, bad)
    _legend(ax, loc="best")
    where = "; ".join(_where(s, many) for s in slices)
    note = "" if ceilings else " No calibration was recorded, so no ceiling is drawn."
    note += HOLLOW if bad else ""
    return fig, (f"Matmul FLOPs per second of one step against the parameter count; dashed: "
                 f"the GEMM rate calibrated in the same run ({where}).{note}")


def save(fig, out_dir: Path, stem: str) -> None:
    fig.savefig(out_dir / f"{stem}.png", dpi=120)
    fig.savefig(out_dir / f"{stem}.svg")


def plan(table, fits, crossovers, slices) -> list:
    """``(stem, title, needs_step_slices, draw)`` per figure, in the report's order;
    ``needs_step_slices``: the figure plots single-process step slices."""
    return [("fig1_step_time", "Time per training step", True,
             lambda: fig_time(table, fits, slices)),
            ("fig2_speedup", "Speedup over NumPy", True,
             lambda: fig_speedup(table, crossovers, slices)),
            ("fig3_gflops", "Achieved GFLOP/s under the GEMM ceiling", True,
             lambda: fig_gflops(table, slices)),
            ("fig4_epoch", "Input pipeline vs compute in one epoch", False,
             lambda: fig_epoch(table)),
            ("fig5_scaling", "Thread and process scaling", True,
             lambda: fig_scaling(table, slices)),
            ("fig6_activations", "Activations and their derivatives", False, fig_activations),
            (COMPILED_STEM, COMPILED_TITLE, False, lambda: fig_variants(table)),
            (BEST_STEM, BEST_TITLE, True, lambda: fig_best(table, slices))]


def draw_all(table, fits, crossovers, slices, out_dir: Path) -> list[Drawn]:
    """Draw every figure into ``out_dir``; a figure without data comes back ``skipped``."""
    done = []
    for stem, title, needs_steps, draw in plan(table, fits, crossovers, slices):
        try:
            if needs_steps and not slices:
                raise Skip("the run has no single-process 'step' records")
            fig, caption = draw()
        except Skip as why:
            done.append(Drawn(stem, title, skipped=str(why)))
            continue
        save(fig, out_dir, stem)
        done.append(Drawn(stem, title, caption))
    return done
