"""The chapter's MNIST set-up: the book's learning rate maps onto ours, both twins train to
the same accuracy on the same batches, and the command line behaves."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
import torch

import impl_numpy
import impl_torch
from chapter import mnist_mlp
from core import mnist
from core.close import assert_params_close

BOOK_STEP_RTOL = 1e-12  # float64: book's gradient x 0.1 vs ours x 1.0 differ by rounding only
PARITY_POINTS = 0.005  # the twins' test accuracies: within half a point
PARITY_PARAM_ATOL = 1e-9  # float64 params of the twins after training on the same batches
DIGITS_MIN_ACCURACY = 0.9
SIZES = [784, mnist_mlp.N_HIDDEN, mnist_mlp.N_CLASSES]


def _batch(n=mnist_mlp.BATCH, n_in=784):
    rng = np.random.default_rng(7)
    return rng.uniform(-1.0, 1.0, size=(n, n_in)), rng.integers(0, 10, size=n)


def test_book_gradient_is_n_classes_times_ours():
    X, y = _batch()
    npm, _ = mnist_mlp.make_twins(784)
    _, ours = npm.loss_and_grads(X, y)
    book = mnist_mlp.book_grads(npm.params, X, y)
    assert_params_close(book, [mnist_mlp.N_CLASSES * g for g in ours], BOOK_STEP_RTOL,
                        "book gradient vs C x ours")


def test_one_book_step_is_one_twin_step_at_the_equivalent_lr():
    X, y = _batch()
    start = mnist_mlp.book_init(SIZES)
    book = [p - mnist_mlp.BOOK_LR * g for p, g in zip(start, mnist_mlp.book_grads(start, X, y))]
    npm, tm = mnist_mlp.make_twins(784)
    impl_numpy.train_step(npm, impl_numpy.SGD(npm.params, lr=mnist_mlp.LR), X, y)
    impl_torch.train_step(tm, impl_torch.SGD(tm.params, mnist_mlp.LR), torch.from_numpy(X),
                          torch.from_numpy(y))
    assert mnist_mlp.LR == 1.0
    assert_params_close(npm.params, book, BOOK_STEP_RTOL, "impl_numpy at lr 1.0 vs book")
    assert_params_close(tm.numpy_params(), book, BOOK_STEP_RTOL, "impl_torch at lr 1.0 vs book")
    moved = max(np.abs(a - b).max() for a, b in zip(book, start))
    assert moved > 1e-3, "the step moved the params"


def test_book_init():
    params = mnist_mlp.book_init(SIZES)
    assert [p.shape for p in params] == [(50, 784), (50,), (10, 50), (10,)]
    assert params[0][0, 0] == np.random.RandomState(123).normal(0.0, 0.1)  # the book's draw
    assert 0.098 < params[0].std() < 0.102, params[0].std()
    assert not params[1].any() and not params[3].any(), "biases start at zero"
    npm, tm = mnist_mlp.make_twins(784)
    assert_params_close(tm.numpy_params(), npm.params, 0.0, "twins start equal")


def test_scale_maps_pixels_to_minus_one_one():
    out = mnist_mlp.scale(np.array([0, 51, 255], dtype=np.uint8), "float32")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [-1.0, -0.6, 1.0], rtol=0, atol=1e-7, err_msg="scale")


def test_digits_parity():
    r = mnist_mlp.digits_parity()
    assert r["acc_numpy"] >= DIGITS_MIN_ACCURACY, r["acc_numpy"]
    assert abs(r["acc_numpy"] - r["acc_torch"]) <= PARITY_POINTS, (r["acc_numpy"], r["acc_torch"])
    assert r["max_param_diff"] <= PARITY_PARAM_ATOL, r["max_param_diff"]
    assert len(r["history"]["numpy"]) == r["epochs"] == mnist_mlp.DIGITS_EPOCHS


def _fake_mnist(directory, n=300):
    rng = np.random.default_rng(3)
    mnist.save_idx(directory / "t10k-images-idx3-ubyte.gz",
                   rng.integers(0, 256, size=(n, 28, 28)), compress=True)
    mnist.save_idx(directory / "t10k-labels-idx1-ubyte.gz", rng.integers(0, 10, size=n),
                   compress=True)


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        mnist_mlp.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--data DIR" in out and "--epochs" in out and "94.5%" in out


def test_cli_trains_both_twins_on_an_idx_folder(tmp_path, capsys):
    _fake_mnist(tmp_path)
    argv = ["--data", str(tmp_path), "--train", "200", "--test", "100", "--epochs", "2",
            "--dtype", "float32", "--every", "1"]
    assert mnist_mlp.main(argv) == 0
    out = capsys.readouterr().out
    assert "first 200 train / last 100 test" in out and "float32, 2 epochs" in out
    # the numbers printed are the ones the same training computes, epoch by epoch
    r = mnist_mlp.mnist_parity(tmp_path, n_train=200, n_test=100, epochs=2, dtype="float32")
    epochs = re.findall(r"^\s+(\d+)  (\d+\.\d\d)%  (\d+\.\d\d)%$", out, re.MULTILINE)
    assert epochs == [(str(e + 1), f"{100 * r['history']['numpy'][e]:.2f}",
                       f"{100 * r['history']['torch'][e]:.2f}") for e in range(2)], out
    final = re.search(r"test accuracy  numpy (\d+\.\d\d)%  torch (\d+\.\d\d)%", out)
    assert final.groups() == (f"{100 * r['acc_numpy']:.2f}", f"{100 * r['acc_torch']:.2f}"), out


@pytest.mark.parametrize("argv, problem", [
    (["--data", "{tmp}/nowhere"], "does not exist"),
    (["--data", "{tmp}", "--train", "250", "--test", "100"], "add up to at most the 300"),
])
def test_cli_bad_input_is_one_line_and_nonzero(tmp_path, capsys, argv, problem):
    _fake_mnist(tmp_path)
    with pytest.raises(SystemExit) as info:
        mnist_mlp.main([a.format(tmp=tmp_path) for a in argv])
    assert info.value.code == 2  # bad input (more cases: tests/test_cli.py)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and problem in err, err


MNIST_DIR = os.environ.get("MNIST_DIR")


@pytest.mark.skipif(not MNIST_DIR, reason="set MNIST_DIR to a folder with the MNIST t10k files "
                                          "to train both twins on real MNIST")
def test_mnist_parity_on_real_data():
    r = mnist_mlp.mnist_parity(MNIST_DIR, n_train=1000, n_test=500, epochs=3)
    assert abs(r["acc_numpy"] - r["acc_torch"]) <= PARITY_POINTS, (r["acc_numpy"], r["acc_torch"])
    assert r["max_param_diff"] <= PARITY_PARAM_ATOL, r["max_param_diff"]
