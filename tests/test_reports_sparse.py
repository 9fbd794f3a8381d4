"""The report on sparse but valid runs: one size per backend (a partial sweep, ``-k h1024``)
has no fit and no crossover, and must still be written, saying so, not crash."""

from __future__ import annotations

import json

from core.spec import n_params
from reports.__main__ import main
from runfile import synthetic


def test_one_size_per_backend_writes_a_report(tmp_path):
    run = synthetic.make_run(hidden=(1024,), extras=False)
    path = tmp_path / "run.json"
    path.write_text(json.dumps(run))
    assert main([str(path), "--out", str(tmp_path / "out"), "--no-chapter"]) in (0, None)
    md = (tmp_path / "out" / "REPORT.md").read_text()
    p = n_params((784, 1024, 10))
    (_, _, a_np, b_np), (_, _, a_t, b_t) = synthetic.COSTS["numpy"], synthetic.COSTS["torch-cpu"]
    ratio = (a_np + b_np * p) / (a_t + b_t * p)  # the synthetic costs are exact: no noise
    assert f"at {p:,} parameters" in md and f"torch-cpu is {ratio:.1f}x faster" in md, md
    crossovers = (tmp_path / "out" / "crossovers.csv").read_text().splitlines()
    assert crossovers[0].split(",")[-12:] == ["measured_kind", "measured_p", "predicted_kind",
                                              "predicted_p", "p_min", "p_max", "n_sizes",
                                              "n_clean", "launches", "n_disagree",
                                              "disagree_p_min", "disagree_p_max"]
    assert len(crossovers) == 1  # the header alone: nothing to cross over with one size
