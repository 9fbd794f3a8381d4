r"""The chapter's MNIST set-up, trained by both twins on the same batches.

    python -m chapter.mnist_mlp --data DIR [--train 8000 --test 2000 --epochs 50]
    python -m chapter.mnist_mlp              # no --data: scikit-learn's digits, in seconds

The network and recipe of the book's ``NeuralNetMLP``: 784-50-10, logistic activations in
both layers, MSE against one-hot targets, minibatches of 100 (the last partial batch is
dropped, as the book's generator does), pixels scaled to [-1, 1] by ``x / 255 * 2 - 1``,
weights drawn as the book draws them (``RandomState(123)``, N(0, 0.1), zero biases).

The learning rate. The book steps by 0.1 along a gradient it defines as

.. math::
    \frac{\partial L}{\partial A_{out}} = \frac{2 (A_{out} - T)}{B}

i.e. the gradient of a loss summed over the C classes and averaged over the B samples. Our
twins' ``mse`` is torch's ``MSELoss()``, averaged over all B*C entries, whose gradient is C
times smaller. So the book's step is ours at ``lr = 0.1 * C = 1.0`` (``LR``); one step of
each is compared in tests/test_chapter_mnist_mlp.py.

The book trains on 55,000 images for 50 epochs and reports 94.5% test accuracy. Here
``--data`` names a folder with MNIST's IDX files (``t10k-*`` by default: the 10,000 test
images, of which the first ``--train`` train and the last ``--test`` test). Both twins are
fed identical batches by their own pipelines (``impl_numpy.batches`` and
``impl_torch.batched_loader(order="numpy")``) and their accuracies are printed side by side.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from sklearn.datasets import load_digits

import impl_numpy
import impl_torch
from core import cli
from core.checks import check_positive_int
from core.mnist import KINDS, load_mnist
from core.threads import pinned
from impl_numpy import activations as act

N_HIDDEN, N_CLASSES = 50, 10
ACTIVATION, LOSS = "sigmoid", "mse"  # "logistic" in the book
BOOK_LR = 0.1
LR = BOOK_LR * N_CLASSES  # the book's step for our mean-over-B*C loss: 1.0
BATCH = 100
INIT_SEED = 123  # NeuralNetMLP(random_seed=123)
BOOK = {"epochs": 50, "n_train": 55_000, "test_accuracy": 0.945}
DIGITS_EPOCHS = 100  # 1,400 steps: about 94% on digits
DEFAULT_EPOCHS = BOOK["epochs"]


def scale(X, dtype="float64"):
    """Pixels to [-1, 1]: ``x / 255 * 2 - 1``."""
    return (np.asarray(X, dtype=dtype) / 255.0 * 2.0 - 1.0).astype(dtype)


def book_init(layer_sizes, dtype="float64", seed=INIT_SEED):
    """``[W1, b1, W2, b2, ...]`` drawn as ``NeuralNetMLP`` draws them: one
    ``RandomState(seed)``, weights N(0, 0.1) layer by layer, biases zero."""
    rng = np.random.RandomState(seed)  # the book's generator, for the book's numbers
    params = []
    for fan_in, fan_out in zip(layer_sizes[:-1], layer_sizes[1:]):
        params += [rng.normal(0.0, 0.1, size=(fan_out, fan_in)).astype(dtype),
                   np.zeros(fan_out, dtype=dtype)]
    return params


def book_grads(params, X, y):
    """Gradients ``[dW1, db1, dW2, db2]`` by the book's definition (loss summed over classes,
    averaged over the batch), for one logistic hidden layer and logistic outputs."""
    W1, b1, W2, b2 = params
    B, C = len(X), len(b2)
    Z1 = X @ W1.T + b1  # (B, n_in) @ (n_in, H) -> (B, H)
    A1 = act.sigmoid(Z1)
    Z2 = A1 @ W2.T + b2  # (B, H) @ (H, C) -> (B, C)
    A2 = act.sigmoid(Z2)
    T = np.eye(C, dtype=X.dtype)[y]  # (B, C) one-hot
    dZ2 = 2.0 * (A2 - T) / B * A2 * (1.0 - A2)  # the book: 2 (a_out - y) / n_examples
    dW2 = dZ2.T @ A1  # (C, B) @ (B, H) -> (C, H)
    dZ1 = (dZ2 @ W2) * A1 * (1.0 - A1)  # (B, C) @ (C, H) -> (B, H)
    dW1 = dZ1.T @ X  # (H, B) @ (B, n_in) -> (H, n_in)
    return [dW1, dZ1.sum(axis=0), dW2, dZ2.sum(axis=0)]


def make_twins(n_in, dtype="float64", seed=INIT_SEED):
    """The NumPy and torch twins of ``n_in``-50-10, both starting from ``book_init``."""
    sizes = [n_in, N_HIDDEN, N_CLASSES]
    npm = impl_numpy.MLP(sizes, activation=ACTIVATION, loss=LOSS, dtype=dtype)
    tm = impl_torch.MLP(sizes, activation=ACTIVATION, loss=LOSS, dtype=dtype)
    npm.params = book_init(sizes, dtype, seed)
    tm.load_numpy_params(npm.params)
    return npm, tm


def accuracy(predicted, y) -> float:
    return float(np.mean(np.asarray(predicted) == np.asarray(y)))


def train_twins(X_train, y_train, X_test, y_test, epochs, lr=LR, batch=BATCH,
                dtype="float64", seed=0, threads=1) -> dict:
    """Train both twins on identical batches; test accuracy of each after every epoch, with
    NumPy's BLAS and torch both at ``threads`` (a 784-50-10 step on batch 100 is
    overhead-bound: more threads only add contention)."""
    with pinned(threads, user_api=None):  # every pool, OpenMP included
        return _train_twins(X_train, y_train, X_test, y_test, epochs, lr, batch, dtype, seed)


def _train_twins(X_train, y_train, X_test, y_test, epochs, lr, batch, dtype, seed) -> dict:
    check_positive_int(epochs, "epochs")
    if len(X_train) < batch:  # the last partial batch is dropped: not one step
        raise ValueError(f"{len(X_train)} training images are fewer than one batch of {batch}: "
                         f"nothing would be trained")
    npm, tm = make_twins(X_train.shape[1], dtype)
    opt, topt = impl_numpy.SGD(npm.params, lr=lr), impl_torch.SGD(tm.params, lr=lr)
    np_loader = impl_numpy.batches(X_train, y_train, batch, seed=seed, drop_last=True)
    t_loader = impl_torch.batched_loader(X_train, y_train, batch, seed=seed, drop_last=True,
                                         order="numpy")
    X_test_t = torch.from_numpy(X_test)
    history = {"numpy": [], "torch": []}
    start = time.perf_counter()
    for _epoch in range(epochs):
        for (Xb, yb), (Xt, yt) in zip(np_loader, t_loader, strict=True):
            impl_numpy.train_step(npm, opt, Xb, yb)
            impl_torch.train_step(tm, topt, Xt, yt)
        history["numpy"].append(accuracy(npm.predict(X_test), y_test))
        history["torch"].append(accuracy(tm.predict(X_test_t).numpy(), y_test))
    diffs = [np.abs(a - b).max() for a, b in zip(npm.params, tm.numpy_params())]
    return {"epochs": epochs, "lr": lr, "batch": batch, "dtype": dtype,
            "n_in": X_train.shape[1], "n_train": len(X_train), "n_test": len(X_test),
            "acc_numpy": accuracy(npm.predict(X_test), y_test),
            "acc_torch": accuracy(tm.predict(X_test_t).numpy(), y_test),
            "history": history, "max_param_diff": float(max(diffs)),
            "seconds": time.perf_counter() - start}


def digits_parity(epochs=DIGITS_EPOCHS, dtype="float64", seed=0, threads=1) -> dict:
    """The same set-up on scikit-learn's 8x8 digits (64-50-10, pixels 0..16 to [-1, 1]):
    what the report shows when no MNIST folder is given. A couple of seconds."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0 * 2.0 - 1.0).astype(dtype)
    idx = np.random.default_rng(seed).permutation(len(X))
    train, test = idx[:-360], idx[-360:]
    result = train_twins(X[train], y[train], X[test], y[test], epochs, dtype=dtype, seed=seed,
                         threads=threads)
    result["data"] = f"scikit-learn digits ({len(train)} train / {len(test)} test)"
    return result


def mnist_parity(directory, n_train=8000, n_test=2000, epochs=DEFAULT_EPOCHS, dtype="float64",
                 seed=0, kind="t10k", threads=1) -> dict:
    """Train on the first ``n_train`` and test on the last ``n_test`` images of ``kind``."""
    X, y = load_mnist(directory, kind)
    if n_train <= 0 or n_test <= 0 or n_train + n_test > len(X):
        raise ValueError(f"--train {n_train} and --test {n_test} must be positive and add up "
                         f"to at most the {len(X)} images of {kind}")
    X = scale(X, dtype)
    result = train_twins(X[:n_train], y[:n_train], X[-n_test:], y[-n_test:], epochs,
                         dtype=dtype, seed=seed, threads=threads)
    result["data"] = f"MNIST {kind} (first {n_train} train / last {n_test} test)"
    return result


def summary(r: dict) -> str:
    """Two lines: the set-up, then both accuracies side by side."""
    return (f"{r['data']}: {N_HIDDEN}-hidden logistic MLP, MSE, lr {r['lr']} (book: {BOOK_LR} "
            f"x {N_CLASSES} classes), batch {r['batch']}, {r['dtype']}, {r['epochs']} epochs\n"
            f"test accuracy  numpy {100 * r['acc_numpy']:.2f}%  torch {100 * r['acc_torch']:.2f}%"
            f"  (difference {100 * abs(r['acc_numpy'] - r['acc_torch']):.2f} points; max |param "
            f"difference| {r['max_param_diff']:.1e}; wall time {r['seconds']:.1f} s)")


def main(argv=None) -> int:
    parser = cli.Parser(
        prog="python -m chapter.mnist_mlp", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train the chapter's 784-50-10 logistic MLP with both twins on the same "
                    "batches and print their test accuracies side by side.",
        epilog=f"The book: {BOOK['epochs']} epochs on {BOOK['n_train']:,} images, "
               f"{100 * BOOK['test_accuracy']:.1f}% test accuracy.")
    parser.add_argument("--data", metavar="DIR", help="folder with MNIST IDX files "
                        "({kind}-images-idx3-ubyte[.gz], {kind}-labels-idx1-ubyte[.gz]); "
                        "without it, scikit-learn's digits are used")
    parser.add_argument("--kind", default="t10k", choices=KINDS,
                        help="IDX file prefix (default: t10k)")
    parser.add_argument("--train", type=cli.positive_int, default=8000, metavar="N",
                        help="train on the first N images (default: 8000)")
    parser.add_argument("--test", type=cli.positive_int, default=2000, metavar="N",
                        help="test on the last N images (default: 2000)")
    parser.add_argument("--epochs", type=cli.positive_int, metavar="N",
                        help=f"default: {DEFAULT_EPOCHS} on MNIST, {DIGITS_EPOCHS} on digits")
    parser.add_argument("--dtype", default="float64", choices=["float32", "float64"],
                        help="default: float64, NumPy's and the book's")
    parser.add_argument("--seed", type=cli.non_negative_int, default=0,
                        help="batch-order seed (default: 0)")
    parser.add_argument("--threads", type=cli.positive_int, default=1, metavar="N",
                        help="threads for NumPy's BLAS and for torch (default: 1; this small "
                        "net is overhead-bound)")
    parser.add_argument("--every", type=cli.non_negative_int, default=0, metavar="K",
                        help="also print both accuracies every K epochs")
    args = parser.parse_args(argv)
    if args.data is not None and args.train < BATCH:
        parser.error(f"--train {args.train} is fewer than one batch of {BATCH} images: "
                     f"nothing would be trained")
    default_epochs = DIGITS_EPOCHS if args.data is None else DEFAULT_EPOCHS
    epochs = default_epochs if args.epochs is None else args.epochs  # never 0 -> default
    try:
        if args.data is None:
            r = digits_parity(epochs, args.dtype, args.seed, args.threads)
        else:
            r = mnist_parity(args.data, args.train, args.test, epochs, args.dtype, args.seed,
                             args.kind, args.threads)
    except (OSError, ValueError) as e:  # a missing or malformed MNIST file, too few images
        cli.fail(parser.prog, str(e))
    if not np.isfinite(r["max_param_diff"]):
        cli.fail(parser.prog, "training produced NaN or inf parameters", status=1)
    if args.every > 0:
        print("epoch  numpy    torch")
        for e in range(args.every, r["epochs"] + 1, args.every):
            print(f"{e:5d}  {100 * r['history']['numpy'][e - 1]:.2f}%  "
                  f"{100 * r['history']['torch'][e - 1]:.2f}%")
    print(summary(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
