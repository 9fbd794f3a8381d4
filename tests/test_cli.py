"""The command lines' side of the input contract (docs/testing.md, "Input contract"): every bad
argument is refused while parsing (or, for files, before any work) with one line on stderr
naming it and exit status 2; never a traceback, never exit 0 having done nothing or having
produced a NaN. Surfaces: ``python -m impl_torch.parallel`` (the torchrun entry), the
``chapter.*`` commands, and the pytest options ``--data``, ``--backends``, ``--profile``.
Most cases call ``main(argv)`` in this process; a few run the real command to show that
what reaches a user's terminal is the same one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from bench import plugin
from bench.suite.state import TWINS
from chapter import linreg, mnist, mnist_mlp, section
from core import mnist as core_mnist
from impl_torch import parallel

ROOT = Path(__file__).resolve().parent.parent
TINY = ["--epochs", "1", "--batch", "8", "--samples", "16", "--hidden", "4"]


def _fake_mnist(directory: Path, n=300) -> Path:
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(n, 28, 28))
    core_mnist.save_idx(directory / "t10k-images-idx3-ubyte", images)
    core_mnist.save_idx(directory / "t10k-labels-idx1-ubyte", rng.integers(0, 10, size=n))
    return directory


def _refused(main, argv, capsys, problem, status=2):
    """``main(argv)`` exits with ``status`` and prints exactly one line naming ``problem``."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == status, err
    assert err.count("\n") == 1 and "error:" in err and problem in err, err
    assert "Traceback" not in err


@pytest.fixture
def single_process(monkeypatch):
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(k, raising=False)


# ------------------------------------------------------------- python -m impl_torch.parallel
PARALLEL_BAD = [  # (argv, what the one line names)
    (["--epochs", "0"], "--epochs"), (["--epochs", "-1"], "--epochs"),
    (["--epochs", "-3"], "--epochs"), (["--epochs", "two"], "--epochs"),
    (["--batch", "0"], "--batch"), (["--batch", "-5"], "--batch"),
    (["--batch", "300", "--samples", "256"], "exceeds --samples"),
    (["--samples", "0"], "--samples"), (["--hidden", "0"], "--hidden"),
    (["--hidden", "16", "-4"], "--hidden"), (["--threads", "-1"], "--threads"),
    (["--threads", "0"], "--threads"), (["--timeout", "0"], "--timeout"),
    (["--timeout", "nan"], "--timeout"), (["--timeout", "-1"], "--timeout"),
    (["--timeout", "inf"], "--timeout"), (["--device", "bogus"], "--device"),
    (["--lr", "nan"], "--lr"), (["--lr", "-1"], "--lr"), (["--momentum", "nan"], "--momentum"),
    (["--momentum", "-0.5"], "--momentum"), (["--seed", "-1"], "--seed"),
    (["--dtype", "float16"], "--dtype"), (["--nosuch"], "unrecognized"),
]


@pytest.mark.parametrize("argv, problem", PARALLEL_BAD, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else None)
def test_parallel_refuses_bad_arguments(single_process, capsys, argv, problem):
    _refused(parallel.main, argv, capsys, problem)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_parallel_refuses_cuda_without_cuda(single_process, capsys):
    _refused(parallel.main, [*TINY, "--device", "cuda"], capsys, "--device cuda")


@pytest.mark.parametrize("rank, lines", [("0", 1), ("1", 0)])
def test_parallel_under_torchrun_only_rank_0_speaks(monkeypatch, capsys, rank, lines):
    """Two ranks and ``--batch 1``: both exit 2 before joining the group; one line per job."""
    monkeypatch.setenv("RANK", rank)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    with pytest.raises(SystemExit) as info:
        parallel.main([*TINY, "--batch", "1"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == lines, err
    assert lines == 0 or "smaller than the 2 ranks" in err


def test_parallel_exits_1_when_the_loss_is_nan(single_process, capsys):
    """A learning rate that diverges: the epoch's loss is printed, then one line, exit 1."""
    _refused(parallel.main, [*TINY, "--lr", "1e30", "--epochs", "3"], capsys,
             "the loss is", status=1)


def test_parallel_trains_one_rank(single_process, capsys):
    parallel.main(TINY)
    out = capsys.readouterr().out
    assert "1 rank(s)" in out and "epoch 1/1  loss" in out


# ------------------------------------------------------------------------------ chapter.*
def test_chapter_mnist_mlp_refuses_bad_arguments(tmp_path, capsys):
    data = str(_fake_mnist(tmp_path))
    cases = [  # (argv, what the one line names): 13 cases
        (["--epochs", "0"], "--epochs"),  # no longer "0 -> the 50-epoch default"
        (["--epochs", "-3"], "--epochs"),
        (["--threads", "0"], "--threads"),
        (["--threads", "-1"], "--threads"),
        (["--train", "0", "--data", data], "--train"),
        (["--test", "0", "--data", data], "--test"),
        (["--train", "50", "--data", data], "fewer than one batch"),
        (["--every", "-1"], "--every"),
        (["--seed", "-1"], "--seed"),
        (["--dtype", "float16"], "--dtype"),
        (["--data", str(tmp_path / "nowhere")], "does not exist"),
        (["--data", data, "--kind", "train"], "no train-images-idx3-ubyte"),
        (["--data", data, "--train", "250", "--test", "100"], "add up to at most the 300"),
    ]
    for argv, problem in cases:
        _refused(mnist_mlp.main, argv, capsys, problem)


def test_chapter_mnist_mlp_bad_files_exit_2(tmp_path, capsys):
    data = _fake_mnist(tmp_path)
    images = data / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:-5])  # truncated
    _refused(mnist_mlp.main, ["--data", str(data)], capsys, "truncated")
    images.write_bytes(b"\x1f\x8bnot gzip at all")
    _refused(mnist_mlp.main, ["--data", str(data)], capsys, "corrupt or truncated gzip")


def test_chapter_mnist_refuses(tmp_path, capsys):
    _refused(mnist.main, [str(tmp_path / "nowhere")], capsys, "does not exist")
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08")
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"")
    _refused(mnist.main, [str(tmp_path)], capsys, "too short")
    _refused(mnist.main, [], capsys, "directory")


def test_chapter_section_refuses_before_writing(tmp_path, capsys):
    out = tmp_path / "out"
    _refused(section.main, [str(out), "--mnist", str(tmp_path / "nowhere")], capsys,
             "does not exist")
    assert not out.exists()
    (tmp_path / "file").write_text("x")
    _refused(section.main, [str(tmp_path / "file"), "--mnist", str(tmp_path / "nowhere")],
             capsys, "exists and is not a folder")  # the parser's check comes first


def test_chapter_linreg_refuses_arguments(capsys):
    _refused(linreg.main, ["--epochs", "3"], capsys, "unrecognized")


# -------------------------------------------------------------------- the pytest options
PYTEST_BAD = [  # (options, what the usage error names), checked in this process
    ({"data": "nonsense"}, "--data 'nonsense'"),
    ({"data": "mnist:"}, "--data 'mnist:'"),
    ({"data": "mnist:/nonexistent"}, "does not exist"),
    ({"backends": ",,,"}, "names no backend"),
    ({"backends": ""}, "names no backend"),
    ({"backends": "numpy,nosuch"}, "unknown ['nosuch']"),
]


class _Config:
    """Just enough of pytest's config for ``bench.plugin.pytest_configure`` to check its
    options (pytest-benchmark absent: it stops after the checks)."""

    def __init__(self, **options):
        self.options = {"profile": None, "data": "synthetic", "backends": None,
                        "benchmark_only": False, **options}
        self.stash = {}
        self.pluginmanager = SimpleNamespace(register=lambda *a: None,
                                             hasplugin=lambda name: False)

    def getoption(self, name):
        return self.options[name]


@pytest.mark.parametrize("options, problem", PYTEST_BAD, ids=lambda v: " ".join(
    f"--{k} {v!r}" for k, v in v.items()) if isinstance(v, dict) else None)
def test_pytest_options_are_usage_errors(options, problem, monkeypatch):
    monkeypatch.delenv("BENCH_PROFILE", raising=False)
    with pytest.raises(pytest.UsageError) as info:
        plugin.pytest_configure(_Config(**options))
    assert problem in str(info.value) and "\n" not in str(info.value), info.value


def test_pytest_data_option_accepts_an_mnist_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("BENCH_PROFILE", raising=False)
    config = _Config(data=f"mnist:{_fake_mnist(tmp_path)}", backends="numpy")
    plugin.pytest_configure(config)
    assert config.stash[TWINS].backends == {"numpy"}


@pytest.mark.parametrize("options, problem", [
    (["--profile", "bogus"], "--profile"),  # pytest's own parsing of our option
    (["--backends", "numpy,nosuch"], "unknown ['nosuch']"),  # our check, as a user sees it
])
def test_real_pytest_usage_errors_are_one_line_and_exit_4(options, problem):
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p",
                           "no:cacheprovider", "bench/bench_epoch.py", *options],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 4, proc.stdout + proc.stderr  # pytest's usage error
    assert problem in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert "error" not in proc.stdout.lower(), proc.stdout  # no ERROR per test


# ----------------------------------------------------- the real commands, as a user sees them
@pytest.mark.parametrize("module, argv, problem", [
    ("impl_torch.parallel", ["--timeout", "nan"], "--timeout"),
    ("chapter.mnist_mlp", ["--epochs", "0"], "--epochs"),
    ("gate", ["check", "--pairs", "1"], "--pairs"),
    ("gate", ["ab", "--base", "HEAD", "--pairs", "x"], "--pairs"),
    ("gate", ["baseline", "--repeats", "1"], "--repeats"),
    ("gate", ["baseline", "--out", "/no/such/folder/b.json"], "--out"),
    ("gate", ["frobnicate"], "frobnicate"),
    ("reports", ["--bogus"], "--bogus"),
    ("reports.readme", ["--bogus"], "--bogus"),
    ("runfile.synthetic", ["a.json", "b.json"], "b.json"),
    ("bench.quiet.noise", ["--seconds", "-1"], "--seconds"),  # 0: the fewest rounds
    ("bench/gpu/run.py", ["new-folder", "--budget", "1"], "--budget"),
    ("bench/gpu/run.py", ["README.md"], "not an empty folder"),
    ("bench.gpu.plan", ["bogus"], "invalid choice"),
    ("bench.gpu.facts", ["bogus"], "invalid choice"),
    ("gate", ["ab", "--base", "HEAD", "--keep", "README.md"], "--keep"),
    ("gate", ["check", "--baselines", "README.md"], "is not a folder"),
    ("reports", ["--out", "README.md"], "exists and is not a folder"),
    ("reports", ["--out", "README.md/sub"], "README.md is a file"),
    ("reports.readme", ["--runs", "no-such-folder", "--check"], "no such folder"),
    ("reports", ["--mnist-dir", "no-such-folder"], "no such folder"),
    ("reports", ["--mnist-dir", "README.md"], "README.md: is not a folder"),
    ("reports", ["--mnist-dir", ""], "no such folder"),
    ("chapter.section", ["README.md"], "exists and is not a folder"),
    ("chapter.section", [""], "empty folder name"),
    ("reports", ["--out", ""], "empty folder name"),
])
def test_real_command_prints_one_line_and_exits_2(module, argv, problem):
    command = [module] if module.endswith(".py") else ["-m", module]
    proc = subprocess.run([sys.executable, *command, *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == "", proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and problem in proc.stderr, proc.stderr


def test_every_command_parses_with_the_one_parser():
    """One CLI style: every command line of the project is a ``core.cli.Parser`` (one line on
    stderr, exit 2), its ranges checked by ``type=`` functions while parsing."""
    import ast

    plain = []
    for pkg in ("core", "impl_numpy", "impl_torch", "runfile", "bench", "reports", "gate",
                "chapter", "tests"):
        for path in sorted((ROOT / pkg).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                called = isinstance(node, ast.Call) and getattr(
                    node.func, "attr", getattr(node.func, "id", None)) == "ArgumentParser"
                raw = (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
                       and ast.unparse(node.value) == "sys.argv")  # sys.argv[1]: no parser
                if (called or raw) and path != ROOT / "core" / "cli.py":
                    plain.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert plain == [], f"argparse.ArgumentParser or sys.argv[i], not core.cli.Parser: {plain}"
