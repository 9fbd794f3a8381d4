"""``gate.ab.confirm`` for real (git worktree and all; only pytest is replaced): the
same-machine A/B that confirms, on this host, a regression against a stored baseline
measures this checkout as the head and the baseline's commit as the base, not the other way
round; and the checks that decide whether it may run (``has_commit``, ``not_this_code``).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from gate import ab as abm

from .gate_runs import BASE, steps_run

SLOWED = {"numpy": 0.020, "torch-cpu": 0.008}  # NumPy 2x slower in this checkout
NUMPY_ROW = "test_step[numpy-h1024-b256-f32-t1]"
TORCH_ROW = "test_step[torch-cpu-h1024-b256-f32-t1]"


def _git(repo, *args) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c",
                           "user.email=t@test.invalid", *args], check=True,
                          capture_output=True, text=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "code.py").write_text("x = 1\n")
    _git(repo, "add", "code.py")
    _git(repo, "commit", "-qm", "c0")
    return repo


def test_confirm_measures_this_checkout_against_the_commit(repo, tmp_path, monkeypatch):
    sha = _git(repo, "rev-parse", "HEAD")
    sides = []

    def fake_pytest(pytest_args, out_json, quiet=True, cwd=None, env=None, same_schema=True):
        head = Path(cwd).resolve() == repo.resolve()
        if not head:  # the base: a worktree of the commit, importable first
            assert _git(cwd, "rev-parse", "HEAD") == sha and env["PYTHONPATH"] == str(cwd)
        sides.append("head" if head else "base")
        return steps_run(SLOWED if head else BASE, seed=len(sides))

    monkeypatch.setattr(abm, "run_benchmarks", fake_pytest)
    rows = {r["name"]: r for r in abm.confirm(repo, sha, ["-k", "x"], tmp_path / "ab", 3)}
    assert sides[:6] == ["base", "head"] * 3  # interleaved, base first
    assert rows[NUMPY_ROW]["verdict"] == "regression"
    assert rows[NUMPY_ROW]["change"] == pytest.approx(1.0, abs=0.05)
    assert rows[TORCH_ROW]["verdict"] == "ok"
    assert _git(repo, "worktree", "list").count("\n") == 0  # the worktree is gone


def test_has_commit_knows_the_commits_of_this_clone(repo):
    sha = _git(repo, "rev-parse", "HEAD")
    assert abm.has_commit(repo, sha)
    assert not abm.has_commit(repo, "0" * 40)


def test_not_this_code_names_what_differs(repo, monkeypatch):
    monkeypatch.chdir(repo)
    sha = _git(repo, "rev-parse", "HEAD")
    assert abm.not_this_code({"id": sha, "dirty": False}) is None
    assert abm.not_this_code({"id": "0" * 40, "dirty": False}) == (
        f"the run measured commit 0000000000, this checkout is at {sha[:10]}")
    assert abm.not_this_code({}).startswith("the run measured commit (not recorded)")
    assert "with uncommitted changes" in abm.not_this_code({"id": sha, "dirty": True})
    assert "with uncommitted changes" in abm.not_this_code({"id": sha})
    (repo / "code.py").write_text("x = 2\n")
    assert abm.not_this_code({"id": sha, "dirty": False}) == (
        "this checkout has uncommitted changes the run did not measure")


def test_not_this_code_outside_a_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert abm.not_this_code({"id": "0" * 40, "dirty": False}).startswith(
        "this is not a git checkout")
