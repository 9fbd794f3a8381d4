"""Disturbance evidence (bench/quiet/cpuload.py, bench/quiet/disturbance.py) on injected counters
and probe times: a fake /proc for busy_other, fake probe data for the disturbance ratio, and
each rule of the verdict and of the re-run budget."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.quiet import cpuload, disturbance
from bench.quiet.disturbance import BUSY_OTHER_MAX, DISTURBANCE_MAX, MAX_RERUNS, Evidence
from bench.quiet.probe import PROBE_MAX_WIDTH, probe_key

ROOT = 100  # the benchmark's process in the fake /proc


def write_proc(path: Path, machine: tuple, procs: dict) -> Path:
    """A fake /proc: ``machine`` (user, nice, system, idle, iowait, irq, softirq, steal)
    jiffies, ``procs``: pid -> (ppid, comm, utime, stime, cutime, cstime)."""
    path.mkdir(exist_ok=True)
    (path / "stat").write_text("cpu  " + " ".join(map(str, machine)) + " 0 0\ncpu0 1 2 3\n")
    for old in path.iterdir():
        if old.name.isdigit() and int(old.name) not in procs:
            (old / "stat").unlink()
            old.rmdir()
    for pid, (ppid, comm, *ticks) in procs.items():
        (path / str(pid)).mkdir(exist_ok=True)
        fields = ["S", ppid, 0, 0, 0, 0, 0, 0, 0, 0, 0, *ticks, 20, 0, 1]
        (path / str(pid) / "stat").write_text(f"{pid} ({comm}) " + " ".join(map(str, fields)))
    (path / "loadavg").write_text("1.50 0.75 0.25 3/120 999\n")
    return path


def test_machine_line_sums_busy_and_idle_jiffies():
    total, busy = cpuload.parse_machine("cpu  10 1 5 80 4 0 0 2 7 0")  # guest not added
    assert (total, busy) == (102, 18)  # idle 80 + iowait 4 are not busy; steal 2 is


def test_process_line_with_spaces_and_parentheses_in_its_name():
    ppid, comm, ticks = cpuload.parse_proc("42 (a (b) c) R 7 0 0 0 0 0 0 0 0 0 3 4 5 6 20")
    assert (ppid, comm, ticks) == (7, "a (b) c", 3 + 4 + 5 + 6)


@pytest.mark.parametrize("bad", ["intr 1 2 3", "cpu 1 2"])
def test_not_the_machine_line_is_refused(bad):
    with pytest.raises(ValueError, match="not the machine line"):
        cpuload.parse_machine(bad)


def test_busy_other_counts_other_processes_not_our_tree(tmp_path):
    """200 jiffies pass (2 CPUs, 1 s); 150 busy, of which our tree (the root, a worker
    and the worker's child) used 50 and another process 100: busy_other = 100 / 200."""
    before = {ROOT: (1, "pytest", 10, 0, 0, 0), 101: (ROOT, "worker", 5, 0, 0, 0),
              102: (101, "loader", 0, 0, 0, 0), 500: (1, "hog", 0, 0, 0, 0)}
    after = {ROOT: (1, "pytest", 40, 5, 0, 0), 101: (ROOT, "worker", 15, 0, 0, 0),
             102: (101, "loader", 5, 0, 0, 0), 500: (1, "hog", 90, 10, 0, 0)}
    proc = tmp_path / "proc"
    start = cpuload.snapshot(write_proc(proc, (100, 0, 0, 100, 0, 0, 0, 0), before))
    end = cpuload.snapshot(write_proc(proc, (230, 0, 20, 150, 0, 0, 0, 0), after))
    assert cpuload.busy_other(start, end, ROOT) == pytest.approx(100 / 200)
    assert cpuload.top_others(start, end, ROOT) == [("hog", 500, pytest.approx(0.5))]


def test_a_reaped_worker_is_counted_once(tmp_path):
    """A worker that exits and is reaped moves its ticks into its parent's cutime: our
    tree's time is unchanged by the reaping, so busy_other stays 0."""
    proc = tmp_path / "proc"
    start = cpuload.snapshot(write_proc(proc, (0, 0, 0, 200, 0, 0, 0, 0),
                                        {ROOT: (1, "pytest", 10, 0, 0, 0),
                                         101: (ROOT, "worker", 40, 0, 0, 0)}))
    end = cpuload.snapshot(write_proc(proc, (100, 0, 0, 300, 0, 0, 0, 0),
                                      {ROOT: (1, "pytest", 60, 0, 90, 0)}))
    assert cpuload.busy_other(start, end, ROOT) == 0.0  # 100 busy, all ours


def test_window_measures_through_a_fake_proc(tmp_path):
    proc = write_proc(tmp_path / "proc", (0, 0, 0, 0, 0, 0, 0, 0), {ROOT: (1, "p", 0, 0, 0, 0)})
    w = cpuload.Window(root=ROOT, proc=proc).start()
    write_proc(proc, (80, 0, 0, 20, 0, 0, 0, 0), {ROOT: (1, "p", 20, 0, 0, 0)})
    assert w.stop().busy_other == pytest.approx(60 / 100)


def test_no_counters_no_figure(tmp_path):
    """Not Linux (no /proc/stat): busy_other is unknown, never 0."""
    w = cpuload.Window(proc=tmp_path / "nowhere").start().stop()
    assert w.busy_other is None and w.top == []
    assert cpuload.load_average(tmp_path / "nowhere") is None


def test_real_counters_give_a_share():
    with cpuload.watch() as w:
        sum(i * i for i in range(300_000))
    assert w.busy_other is None or 0.0 <= w.busy_other <= 1.0


# ------------------------------------------------------------------ the verdict
def record(probes, busy=None, group="step", threads=1, world_size=1, width=100):
    return {"group": group, "lib": "numpy", "device": "cpu", "dtype": "float32",
            "threads": threads, "world_size": world_size, "batch": 256,
            "layer_sizes": [784, width, 10], "probe_data": probes, "busy_other": busy}


def test_probe_key_is_shared_by_benchmarks_running_the_same_probe():
    assert probe_key(record([])) == probe_key(record([], group="forward"))
    assert probe_key(record([], width=PROBE_MAX_WIDTH)) == probe_key(record([], width=4096))
    assert probe_key(record([], threads=2)) != probe_key(record([]))
    assert probe_key({**record([]), "variant": "tf32"}) != probe_key(record([]))  # TF32 on
    assert probe_key(record([], world_size=2)) is None
    assert probe_key(record([], group="epoch")) is None


def test_quiet_time_is_the_lowest_quartile():
    assert disturbance.quiet_time([5.0]) == 5.0
    assert disturbance.quiet_time([4.0, 1.0, 3.0, 2.0, 5.0]) == 2.0


@pytest.mark.parametrize("busy, ratio, expected", [
    (None, None, False), (0.0, 1.0, False),
    (BUSY_OTHER_MAX, DISTURBANCE_MAX, False),  # at the threshold: not above it
    (BUSY_OTHER_MAX + 0.01, None, True), (None, DISTURBANCE_MAX + 0.01, True),
    (0.9, 1.0, True), (0.0, 29.0, True),
])
def test_disturbed_when_either_evidence_is_above_its_threshold(busy, ratio, expected):
    assert disturbance.is_disturbed(busy, ratio) is expected


def test_a_consistently_slow_benchmark_is_caught_by_the_probe():
    """The issue's case: probes of one shape took 0.27 ms in the run, 7.8 ms during one
    benchmark whose IQR was small: disturbance 29, disturbed."""
    ev = Evidence()
    quiet = ev.observe("a", record([0.27e-3] * 20, busy=0.0))
    slow = ev.observe("b", record([7.8e-3] * 20, busy=0.0, group="forward"))
    assert quiet == {"disturbance": pytest.approx(1.0), "disturbed": False, "reruns": 0}
    assert slow["disturbance"] == pytest.approx(7.8 / 0.27) and slow["disturbed"]


def test_busy_other_alone_marks_a_row_without_probes():
    ev = Evidence()
    got = ev.observe("p", record(None, busy=0.6, world_size=2))
    assert got == {"disturbance": None, "disturbed": True, "reruns": 0}


def test_final_verdict_uses_every_probe_time_of_the_run():
    """A slow first benchmark looks quiet against itself; faster probes measured later
    in the run show it disturbed when the run is written."""
    ev = Evidence()
    first = record([3e-3] * 10, busy=0.0)
    assert not ev.observe("first", first)["disturbed"]
    ev.observe("later", record([1e-3] * 40, busy=0.0))
    assert ev.final(first, "first") == {"disturbance": pytest.approx(3.0), "disturbed": True,
                                        "reruns": 0}


def test_rerun_while_disturbed_at_most_max_reruns():
    ev = Evidence()
    ev.spend(100.0, rerun=False)
    ev.observe("x", record(None, busy=0.9))
    for _ in range(MAX_RERUNS):
        assert "other processes used 90% of the CPU" in ev.why_rerun("x", last_s=1.0)
        ev.reruns["x"] += 1
        ev.spend(1.0, rerun=True)
        ev.observe("x", record(None, busy=0.9))
    assert ev.why_rerun("x", last_s=1.0) is None
    assert ev.latest["x"]["reruns"] == MAX_RERUNS and ev.latest["x"]["disturbed"]


def test_no_rerun_when_clean_or_unknown():
    ev = Evidence()
    ev.observe("clean", record([1e-3] * 5, busy=0.0))
    assert ev.why_rerun("clean", last_s=1.0) is None
    assert ev.why_rerun("never recorded", last_s=1.0) is None


def test_reruns_stop_when_the_run_budget_is_spent():
    ev = Evidence()
    first_s = 20.0
    ev.spend(first_s, rerun=False)
    budget = disturbance.RERUN_FLOOR_S + disturbance.RERUN_SHARE * first_s
    ev.observe("x", record(None, busy=0.9))
    assert ev.why_rerun("x", last_s=budget) is not None
    ev.spend(budget - 1.0, rerun=True)
    assert ev.why_rerun("x", last_s=2.0) is None  # would go 1 s over the budget


def test_busy_start_warns_in_one_line_naming_load_and_top_processes(tmp_path):
    w = cpuload.Window()
    w.busy_other, w.top = 0.63, [("hog", 500, 0.41), ("cc1", 77, 0.12)]
    line = disturbance.busy_warning(w, 2, cpuload.load_average(write_proc(tmp_path, (0,) * 8,
                                                                          {})))
    assert "\n" not in line
    for part in ("load average 1.50 0.75 0.25", "2 core(s)", "63%", "hog (pid 500) 41%",
                 "cc1 (pid 77) 12%"):
        assert part in line
    w.busy_other = BUSY_OTHER_MAX / 2
    assert disturbance.busy_warning(w, 2, None) is None


# ------------------------------------------------------------- python -m bench.quiet.noise
def test_noise_refuses_a_busy_machine_in_one_line(monkeypatch, capsys):
    from bench.quiet import noise

    monkeypatch.setattr(cpuload, "load_average", lambda: (noise.QUIET_LOAD, 0.0, 0.0))
    assert noise.main([]) == 2
    err = capsys.readouterr().err
    assert "not a quiet machine" in err and err.count("\n") == 1


def test_noise_measures_every_row_with_its_evidence(monkeypatch, capsys):
    from bench.quiet import noise

    monkeypatch.setattr(cpuload, "load_average", lambda: None)  # unknown: measure
    monkeypatch.setattr(noise, "ROWS", (("step", (16,)), ("forward", (16, 16))))
    monkeypatch.setattr(noise, "BATCHES", (8, 16))
    assert noise.main(["--seconds", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # libs x rows x batches x threads
    assert len(lines) == 2 * 2 * 2 * len({1, noise.available_cores()}) + 1
    assert any(line.startswith("numpy-forward-h16x2-b16-t1 ") for line in lines), lines
    assert lines[-1].startswith("max busy_other")
    assert all(" disturbance " in line for line in lines[:-1])
