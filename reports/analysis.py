"""Derived metrics, the fitted cost model t(P) = a + b*P and the torch-vs-NumPy crossover.

    from reports.analysis import add_metrics, fit_table, crossover_table

All functions are pure functions of the tidy table from ``reports.load`` (one row per
benchmark). Speedups are only ever computed within one run. Only clean rows are evidence:
a row measured on a disturbed machine (``disturbed``) stays in the tables but is left out of
the fits, and a speedup is ``trusted`` only when neither its row nor its NumPy reference is
disturbed; crossovers and the headline use trusted speedups alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

REFERENCE = "numpy"  # the backend every speedup is measured against
# within one run, a speedup compares rows that agree on all of these
SPEEDUP_KEY = ["run", "launch", "group", "layers", "batch", "dtype", "threads", "activation"]
# multi-process step rows (bench/bench_step.py: variant "w<W>", also at W = 1)
PARALLEL_VARIANT = r"w\d+"
# one benchmark of one run, whichever launch measured it
IDENTITY = ["run", "name", "group", "backend", "variant", "layers", "batch", "dtype", "threads",
            "world_size", "activation", "pipeline"]
SLICE = ["run", "dtype", "threads", "batch"]  # one line per backend in the step figures
HIGH_VARIANCE = 0.10  # IQR / median above this is flagged, as torch.utils.benchmark does
A_SIGMAS = 2.0  # a fixed cost within this many standard errors of 0 is not identifiable
POOR_FIT = 0.25  # a relative residual above this: the line does not fit the sizes it spans


def add_metrics(table: pd.DataFrame, runs) -> pd.DataFrame:
    """Add series, GFLOP/s, the calibrated peak, efficiency, relative IQR and speedup, one
    row per benchmark of a run (``combine_launches`` of ``launch_metrics``)."""
    return combine_launches(launch_metrics(table, runs))


def launch_metrics(table: pd.DataFrame, runs) -> pd.DataFrame:
    """``add_metrics``'s columns on every launch's own rows, before they are combined
    (``trusted``: the row and its launch's NumPy reference undisturbed)."""
    t = table.copy()
    t["series"] = [b if not isinstance(v, str) or not v else f"{b} ({v})"
                   for b, v in zip(t["backend"], t["variant"])]
    t["gflops"] = np.where(t["flops"] > 0, t["flops"] / t["median_s"] / 1e9, np.nan)
    peaks = {}  # a TF32 row is the ceiling of TF32 benchmarks only (variant "tf32")
    for run in runs:  # each launch against its own calibration
        for launch in range(run.launches):
            for c in run.gemm_of(launch):
                key = (run.label, launch, c.get("lib"), c.get("device"), c.get("dtype"),
                       c.get("threads"), c.get("variant") == "tf32")
                peaks[key] = max(peaks.get(key, 0.0), float(c.get("gflops") or 0.0))
    t["peak_gflops"] = [peaks.get(k, np.nan) or np.nan for k in
                        zip(t["run"], t["launch"], t["lib"], t["device"], t["dtype"],
                            t["threads"], t["variant"] == "tf32")]
    t["efficiency"] = t["gflops"] / t["peak_gflops"]
    t["rel_iqr"] = t["iqr_s"] / t["median_s"]
    ref = t[(t["backend"] == REFERENCE) & t["variant"].isna()]
    ref = ref.drop_duplicates(SPEEDUP_KEY)[SPEEDUP_KEY + ["median_s", "disturbed"]]
    ref = ref.rename(columns={"median_s": "numpy_median_s"})
    ref = ref.rename(columns={"disturbed": "ref_disturbed"})
    t = t.merge(ref, on=SPEEDUP_KEY, how="left")
    t["speedup"] = t["numpy_median_s"] / t["median_s"]
    t["ref_disturbed"] = t["ref_disturbed"].astype("boolean").fillna(False).astype(bool)
    t["trusted"] = ~t["disturbed"] & ~t["ref_disturbed"]
    return t.drop(columns="numpy_median_s")


def combine_launches(t: pd.DataFrame) -> pd.DataFrame:
    """One row per benchmark of a run, from its launches (``launch``; a run of one launch is
    left as it is). The launches used are the trusted ones with a speedup (the row and its
    NumPy reference undisturbed, NumPy measured in that launch), all of them when none is;
    the row kept is the launch whose speedup is the median of those (the lower median for an
    even count; NumPy's own rows: its median time), with ``launches`` (how many were used),
    ``launches_measured`` (how many measured it at all) and ``speedup_lo`` / ``speedup_hi``
    (the range of the used ones). ``trusted`` holds when one launch was; ``disturbed`` when
    none was clean. Each row's other columns (time, GFLOP/s, efficiency against its own
    launch's calibration) are its kept launch's.

    The range, not a bootstrap: with 3-5 launches a bootstrap interval is no better founded
    than the range itself, and the range is what was seen (docs/reading-the-report.md)."""
    t = t.copy()
    t["launches"] = t["launches_measured"] = 1
    t["speedup_lo"] = t["speedup"]
    t["speedup_hi"] = t["speedup"]
    if t.empty or t["launch"].nunique() <= 1:
        return t
    rows = []
    for _, g in t.groupby(IDENTITY, sort=False, dropna=False):
        own = bool(((g["backend"] == REFERENCE) & g["variant"].isna()).all())
        good = g["trusted"] & (g["speedup"].notna() | own)
        use = g[good] if good.any() else g
        key = use["median_s"] if own or use["speedup"].isna().all() else use["speedup"]
        order = key.sort_values(kind="stable").index
        row = use.loc[order[(len(order) - 1) // 2]].copy()
        row["launches"], row["launches_measured"] = len(use), len(g)
        row["speedup_lo"], row["speedup_hi"] = use["speedup"].min(), use["speedup"].max()
        row["trusted"] = bool(good.any())
        row["disturbed"] = not good.any() and bool(row["disturbed"])
        rows.append(row)
    return pd.DataFrame(rows).reset_index(drop=True)


def default_slice(table: pd.DataFrame, run: str, group: str = "step",
                  threads: int | None = None) -> dict | None:
    """float32 if measured, then all cores (most threads; or ``threads`` where measured),
    then the batch at which the most single-process backends were measured (the widest
    comparison: in the full profile the compiled step is measured at batch 256 only, the
    multi-process ones at 1024 only), the largest of those."""
    rows = table[(table["run"] == run) & (table["group"] == group) & (table["world_size"] == 1)]
    if rows.empty:
        return None
    dtype = "float32" if (rows["dtype"] == "float32").any() else rows["dtype"].mode()[0]
    rows = rows[rows["dtype"] == dtype]
    if threads is None or not (rows["threads"] == threads).any():
        threads = int(rows["threads"].max())
    rows = rows[rows["threads"] == threads]
    single = rows[~rows["variant"].fillna("").str.fullmatch(PARALLEL_VARIANT)]
    backends = (single if not single.empty else rows).groupby("batch")["series"].nunique()
    batch = int(max(backends.index, key=lambda b: (backends[b], b)))
    return {"run": run, "dtype": dtype, "threads": threads, "batch": batch}


def _width_sweep(step: pd.DataFrame) -> pd.DataFrame:
    """One-hidden-layer rows when there are any (see ``select``)."""
    if "hidden_layers" in step and (step["hidden_layers"] == 1).any():
        return step[step["hidden_layers"] == 1]
    return step


def select(table: pd.DataFrame, sl: dict, group: str = "step") -> pd.DataFrame:
    """The single-process rows of ``group`` in slice ``sl``, sorted by parameter count.

    Only the width sweep (one hidden layer, 784-H-10) where the slice has one: the depth
    sweep's deeper nets sit at other parameter counts for other reasons, and mixing both in
    one line, fit or crossover would zig-zag. They stay in results.csv and the tables."""
    mask = (table["group"] == group) & (table["world_size"] == 1)
    if "hidden_layers" in table and ((table["hidden_layers"] == 1) & mask).any():
        mask &= table["hidden_layers"] == 1
    for k, v in sl.items():
        mask &= table[k] == v
    return table[mask].sort_values(["series", "n_params"])


@dataclass(frozen=True)
class Fit:
    """t(P) = a + b*P, with a in microseconds and b in nanoseconds per parameter; ``a_known``
    False where the sizes cannot tell the fixed cost from 0 (``a_us`` is then 0); the
    largest and the root-mean-square relative residual, (a + b*P) / t - 1."""

    a_us: float
    b_ns: float
    n: int
    a_known: bool = True
    max_resid: float = 0.0
    rms_resid: float = 0.0

    def seconds(self, p):
        return self.a_us * 1e-6 + self.b_ns * 1e-9 * np.asarray(p, dtype=float)


def fit_line(p, t) -> Fit:
    """Fit t = a + b*P in relative error, so that each size counts alike (absolute least
    squares is ruled by the largest sizes and gives negative fixed costs):

    .. math:: \\min_{a \\ge 0,\\, b \\ge 0} \\sum_i \\left(\\frac{a + b P_i}{t_i} - 1\\right)^2

    a weighted least squares with weights 1/t_i^2. The fixed cost a is *identifiable* when
    the unconstrained fit puts it more than ``A_SIGMAS`` standard errors above 0 (with two
    sizes: above 0); otherwise a = 0 and b is refitted through the origin."""
    p, t = np.asarray(p, dtype=float), np.asarray(t, dtype=float)
    if len(np.unique(p)) < 2:
        raise ValueError("a fit needs at least two distinct parameter counts")
    design = np.column_stack([1.0 / t, p / t])
    scale = np.abs(design).max(axis=0)  # conditioning: columns of unit size
    coef, *_ = np.linalg.lstsq(design / scale, np.ones_like(t), rcond=None)
    a, b = coef / scale
    known = a > 0
    if known and len(p) > 2:
        resid = design @ (coef / scale) - 1.0
        sigma2 = float(resid @ resid) / (len(p) - 2)
        cov = sigma2 * np.linalg.inv((design / scale).T @ (design / scale))
        known = a > A_SIGMAS * math.sqrt(max(cov[0, 0], 0.0)) / scale[0]
    if not known:  # a = 0: min sum (b P_i / t_i - 1)^2
        x = p / t
        a, b = 0.0, float(x.sum() / (x @ x))
    b = max(b, 0.0)
    resid = (a + b * p) / t - 1.0
    return Fit(a_us=a * 1e6, b_ns=b * 1e9, n=len(p), a_known=bool(known),
               max_resid=float(np.abs(resid).max()),
               rms_resid=float(np.sqrt(np.mean(resid ** 2))))


@dataclass(frozen=True)
class Crossover:
    """Where a backend overtakes NumPy. ``kind``: "crossover" (``p`` set), "always" (ahead
    everywhere), "never" (behind everywhere), "reverse" (ahead only below ``p``)."""

    kind: str
    p: float | None = None

    def describe(self, who: str, where: str) -> str:
        if self.kind == "crossover":
            return f"{who} overtakes NumPy from about {human(self.p)} parameters ({where})"
        if self.kind == "always":
            return f"{who} is at least as fast as NumPy everywhere ({where}): no crossover"
        if self.kind == "reverse":
            return (f"{who} is ahead only below about {human(self.p)} parameters "
                    f"({where}): NumPy overtakes it, not the other way round")
        return f"{who} never overtakes NumPy ({where}): no crossover"


def predicted_crossover(numpy_fit: Fit, other_fit: Fit) -> Crossover:
    """Solve a_o + b_o P = a_n + b_n P for P > 0; "unidentified" where either fixed cost
    is not identifiable (P* would rest on an a the sizes cannot tell from 0)."""
    if not (numpy_fit.a_known and other_fit.a_known):
        return Crossover("unidentified")
    da = other_fit.a_us * 1e-6 - numpy_fit.a_us * 1e-6  # extra fixed cost of the other
    db = numpy_fit.b_ns * 1e-9 - other_fit.b_ns * 1e-9  # per-parameter saving of the other
    if db == 0:
        return Crossover("always" if da <= 0 else "never")
    p = da / db
    if db > 0:
        return Crossover("crossover", p) if p > 0 else Crossover("always")
    return Crossover("reverse", p) if p > 0 else Crossover("never")


def measured_crossover(p, speedup) -> Crossover:
    """First size from which the speedup stays >= 1, interpolated on log P (log speedup)."""
    order = np.argsort(np.asarray(p, dtype=float))
    p = np.asarray(p, dtype=float)[order]
    s = np.asarray(speedup, dtype=float)[order]
    ahead = s >= 1.0
    if ahead.all():
        return Crossover("always")
    if not ahead[-1]:
        return Crossover("reverse" if ahead.any() else "never")
    i = int(np.flatnonzero(~ahead)[-1]) + 1  # from p[i] on it stays ahead
    l0, l1 = math.log(s[i - 1]), math.log(s[i])
    frac = -l0 / (l1 - l0) if l1 != l0 else 0.0
    return Crossover("crossover", math.exp(math.log(p[i - 1]) + frac * math.log(p[i] / p[i - 1])))


FIT_COLUMNS = ["a_us", "b_ns", "a_known", "max_resid", "rms_resid", "n_sizes", "n_left_out",
               "p_min", "p_max"]


def fit_table(table: pd.DataFrame) -> pd.DataFrame:
    """One fit per (run, dtype, threads, batch, series) of the single-process step group,
    on its undisturbed rows only (``n_left_out``: the disturbed ones)."""
    rows = []
    step = _width_sweep(table[(table["group"] == "step") & (table["world_size"] == 1)])
    for key, g in step.groupby(SLICE + ["series"], sort=True):
        clean = g[~g["disturbed"]]
        if clean["n_params"].nunique() < 2:
            continue
        f = fit_line(clean["n_params"], clean["median_s"])
        rows.append({**dict(zip(SLICE + ["series"], key)), "a_us": f.a_us, "b_ns": f.b_ns,
                     "a_known": f.a_known, "max_resid": f.max_resid, "rms_resid": f.rms_resid,
                     "n_sizes": f.n, "n_left_out": len(g) - len(clean),
                     "p_min": int(clean["n_params"].min()),
                     "p_max": int(clean["n_params"].max())})
    return pd.DataFrame(rows, columns=SLICE + ["series"] + FIT_COLUMNS)


def fit_of(r) -> Fit:
    """A ``Fit`` from one row of ``fit_table``."""
    return Fit(r["a_us"], r["b_ns"], r["n_sizes"], bool(r["a_known"]), r["max_resid"],
               r["rms_resid"])


CROSSOVER_COLUMNS = ["measured_kind", "measured_p", "predicted_kind", "predicted_p", "p_min",
                     "p_max", "n_sizes", "n_clean", "launches", "n_disagree", "disagree_p_min",
                     "disagree_p_max"]


def disagreement(g: pd.DataFrame) -> tuple[int, float | None, float | None]:
    """The sizes at which the launches disagree about who is ahead: the range over launches
    straddles 1 (``speedup_lo < 1 <= speedup_hi``). ``(count, smallest, largest)``; a
    crossover is only placed to within these sizes."""
    split = g[(g["speedup_lo"] < 1.0) & (g["speedup_hi"] >= 1.0)]
    if split.empty:
        return 0, None, None
    return len(split), float(split["n_params"].min()), float(split["n_params"].max())


def crossover_table(table: pd.DataFrame, fits: pd.DataFrame) -> pd.DataFrame:
    """Measured and predicted crossover of every non-NumPy series against NumPy, from trusted
    speedups only (``n_clean`` of ``n_sizes``); "insufficient" when under two sizes are
    left. The measured one is placed on the median launch's speedups; ``launches`` (the
    fewest any size used) and the sizes at which the launches disagree about the sign
    (``disagreement``) say how firmly."""
    rows = []
    by_key = {tuple(r[c] for c in SLICE + ["series"]): fit_of(r)
              for r in fits.to_dict("records")}
    step = _width_sweep(table[(table["group"] == "step") & (table["world_size"] == 1)
                              & table["speedup"].notna() & (table["series"] != REFERENCE)])
    for key, every in step.groupby(SLICE + ["series"], sort=True):
        g = every[every["trusted"]]
        if every["n_params"].nunique() < 2:
            continue
        meas = (measured_crossover(g["n_params"], g["speedup"])
                if g["n_params"].nunique() >= 2 else Crossover("insufficient"))
        pred = Crossover("unfitted")
        sel = dict(zip(SLICE, key[:-1]))
        fn, fo = by_key.get((*key[:-1], REFERENCE)), by_key.get(key)
        if fn is not None and fo is not None:
            pred = predicted_crossover(fn, fo)
        span = g if len(g) else every
        n_split, split_min, split_max = disagreement(g)
        rows.append({**sel, "series": key[-1], "measured_kind": meas.kind,
                     "measured_p": meas.p, "predicted_kind": pred.kind,
                     "predicted_p": pred.p, "p_min": int(span["n_params"].min()),
                     "p_max": int(span["n_params"].max()), "n_sizes": len(every),
                     "n_clean": len(g), "launches": int(span["launches"].min()),
                     "n_disagree": n_split, "disagree_p_min": split_min,
                     "disagree_p_max": split_max})
    return pd.DataFrame(rows, columns=SLICE + ["series"] + CROSSOVER_COLUMNS)


def human(p) -> str:
    """79510 -> '79.5k', 1.2e6 -> '1.2M' (three significant figures)."""
    p = float(p)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(p) >= div:
            return f"{p / div:.3g}{suffix}"
    return f"{p:.3g}"
