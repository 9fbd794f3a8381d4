"""Synthetic runs for the gate's tests, built with ``runfile.synthetic`` (the one builder):
single-thread float32 steps with seeded noise, optionally a probe before each round."""

from __future__ import annotations

import numpy as np

import runfile
from gate.baseline import make_baseline
from runfile import synthetic

RNG_SEED = 0


def noisy(median, rng, jitter, n):
    """``n`` samples around ``median`` with relative spread ``jitter``."""
    return median * (1 + jitter * rng.standard_normal(n))


def step(backend, med, data, h=1024, **extra):
    """One single-thread float32 step entry named as the suite names it."""
    return synthetic.entry("step", backend, "numpy" if backend == "numpy" else "torch", "cpu",
                            (784, h, 10), 256, med, threads=1, data=data.tolist(),
                            name=f"test_step[{backend}-h{h}-b256-f32-t1]", **extra)


def steps_doc(medians, gflops=100.0, cpu="cpu-A", jitter=0.01, n=50, seed=RNG_SEED, probe=None):
    """A synthetic run document: ``medians`` maps backend name -> median seconds (step,
    h1024). With ``probe`` (seconds), each round has a probe time before it, as
    ``bench/quiet/probe.py``."""
    rng = np.random.default_rng(seed)
    benches = []
    for backend, med in medians.items():
        data, extra = noisy(med, rng, jitter, n), {}
        if probe is not None:
            probe_data = noisy(probe, rng, jitter, n)
            extra.update(probe_data=probe_data.tolist(),
                         relative=float(np.median(data / probe_data)))
        benches.append(step(backend, med, data, **extra))
    return wrap(benches, gflops, cpu)


def wrap(benches, gflops=100.0, cpu="cpu-A"):
    """The run around ``benches``: one thread, both libraries calibrated at ``gflops``."""
    return synthetic.run_doc(benches, threads=1, gemm={"numpy": gflops, "torch": gflops},
                              cpu_model=cpu)


def steps_run(*args, **kw):
    """``steps_doc`` as the gate reads it (``runfile.parse``)."""
    return runfile.parse(steps_doc(*args, **kw), "synthetic.json")


BASE = {"numpy": 0.010, "torch-cpu": 0.008}


COMMIT = "c0ffee" * 6 + "abcd"  # the commit a synthetic baseline says it measured


def steps_baseline():
    """A baseline from 3 runs of ``BASE``, 1 % apart, of commit ``COMMIT``."""
    runs = [steps_run({k: v * (1 + d) for k, v in BASE.items()}, seed=i)
            for i, d in enumerate([0.0, 0.01, -0.01])]
    return with_commit(make_baseline(runs))


def with_commit(doc, sha=COMMIT):
    doc["commit"] = {"id": sha, "dirty": False, "note": "synthetic"}
    return doc


class HereAB:
    """Stands in for ``gate.ab.confirm``, the same-machine A/B against the baseline's
    commit that confirms a regression on this host: each call is recorded and answers
    ``verdict`` with ``change`` (its own threshold ``threshold``) for every row named in its
    node ids, and for the aggregates named in ``aggregates``, each over all the ids asked
    for (or over the ids ``aggregates`` maps it to)."""

    def __init__(self, verdict="regression", change=0.5, aggregates=(), threshold=0.1):
        self.verdict, self.change, self.threshold = verdict, change, threshold
        self.aggregates, self.calls = aggregates, []

    def __call__(self, repo, sha, pytest_args, folder, pairs):
        ids = [a for a in pytest_args if "::" in a]
        self.calls.append({"sha": sha, "ids": ids, "pairs": pairs, "args": list(pytest_args)})
        named = {i.split("::", 1)[1]: [i] for i in ids}
        for agg in self.aggregates:
            named[agg] = self.aggregates[agg] if isinstance(self.aggregates, dict) else ids
        return [{"name": n, "node_ids": node_ids, "verdict": self.verdict,
                 "change": self.change, "threshold": self.threshold}
                for n, node_ids in named.items()]


def here_ab(monkeypatch, present=True, same_code=True, **kw) -> HereAB:
    """Replace the A/B against the baseline's commit with a ``HereAB(**kw)``; the commit is
    (``present``) or is not in this clone; this checkout is (``same_code``) or is not the
    code a ``--run`` run measured."""
    from gate import ab
    fake = HereAB(**kw)
    monkeypatch.setattr(ab, "confirm", fake)
    monkeypatch.setattr(ab, "has_commit", lambda repo, sha: present)
    monkeypatch.setattr(ab, "not_this_code", lambda commit: None if same_code else
                        "the run measured commit 0123456789, this checkout is at 9876543210")
    return fake


def sized_run(factors, seed):
    """Four >= 400k-parameter NumPy steps, each off by its own factor (noise per row)."""
    base = noisy(0.010, np.random.default_rng(seed), 0.01, 50)
    benches = [step("numpy", 0.010 * h / 1024 * f, base * h / 1024 * f, h=h)
               for h, f in zip((512, 1024, 2048, 4096), factors)]
    return runfile.parse(wrap(benches), "sized.json")


def as_this_machine(monkeypatch, fp=None):
    """Make ``gate.machine.this_machine`` answer the synthetic runs' machine (or ``fp``), so
    that ``gate check`` re-runs their suspects here instead of refusing a foreign machine."""
    from gate import machine
    fp = fp or machine.fingerprint(steps_run(BASE).twins)
    monkeypatch.setattr(machine, "this_machine", lambda: fp)
    return fp
