r"""The chapter's linear-regression toy, trained three ways, against the closed form.

    python -m chapter.linreg

Ten points ``x = 0..9`` with the book's ``y``; ``x`` is standardised as in the book's code
(``(x - mean) / std`` with NumPy's ``std``, ddof=0). The model ``y_hat = w x + b`` is fitted
by SGD on the MSE loss, batch 1, shuffled, lr 0.001, 200 epochs (2000 steps), three ways:

1. ``fit_numpy``: hand-written SGD in NumPy, the gradient written out
   (``dw = 2 mean((y_hat - y) x)``, ``db = 2 mean(y_hat - y)``);
2. ``fit_autograd``: the same loop with torch tensors, gradients by ``loss.backward()``;
3. ``fit_nn``: ``nn.Linear(1, 1)`` + ``nn.MSELoss`` + ``torch.optim.SGD``.

Given the same initial weights (``w0 = torch.randn(1)`` after seed 1, i.e. 0.6614, as the
book draws it; ``b0 = 0``) and the same batch order (``impl_numpy.batches`` and a
``DataLoader`` in ``order="numpy"``), the three end with the same weights to float32
rounding (tests/test_chapter_linreg.py).

What we found (float64 least squares on the standardised x):

.. math::
    w^* = \mathrm{cov}(x, y) / \mathrm{std}(x) = 2.706908, \qquad b^* = \bar y = 4.97

SGD does not reach it in 200 epochs, and the gap is predictable: the mean of the
standardised ``x`` is 0 and its mean square is 1, so each epoch contracts the error by
about ``(1 - 2 lr)^{10}`` and after ``T = 2000`` steps

.. math::
    w_T - w^* \approx (1 - 2\,\mathrm{lr})^{T} (w_0 - w^*), \qquad (0.998)^{2000} = 0.0182

which predicts ``w = 2.6696, b = 4.8793``. All three methods land there (2.669774,
4.879751), and so does the book: it prints ``2.6698, 4.8796`` for the hand-written loop and
``2.6467, 4.8838`` for ``nn.Linear`` (another random init and a continued shuffle).
``replay_book`` reruns the book's own procedure (global seed 1, ``DataLoader(shuffle=True)``):
with torch 2.x it gives 2.669611, 4.879678, the figures in the book repository's notebook.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import impl_numpy
import impl_torch
from core import cli

X_RAW = np.arange(10, dtype=np.float32).reshape(10, 1)
Y = np.array([1.0, 1.3, 3.1, 2.0, 5.0, 6.3, 6.6, 7.4, 8.0, 9.0], dtype=np.float32)
LR = 0.001
EPOCHS = 200
BATCH = 1
STEPS = EPOCHS * len(Y)  # 2000 updates of batch 1
SEED = 1  # torch.manual_seed(1) before torch.randn(1), as in the book; also the shuffle seed

# The book's printed "Final Parameters" (w, b) for its two runs (chapter 12).
BOOK = {"hand-written SGD (book, printed)": (2.669806480407715, 4.879569053649902),
        "nn.Linear + optim.SGD (book, printed)": (2.646660089492798, 4.883835315704346)}


def standardise(x):
    """``(x - mean) / std`` with NumPy's population std (ddof=0), as the book does."""
    return (x - np.mean(x)) / np.std(x)


def closed_form(x, y):
    """Least-squares ``(w, b)`` of ``y = w x + b``, in float64."""
    A = np.column_stack([np.asarray(x, np.float64).ravel(), np.ones(len(y))])  # (n, 2)
    (w, b), *_ = np.linalg.lstsq(A, np.asarray(y, np.float64), rcond=None)
    return float(w), float(b)


def predicted_sgd_end(w0, b0, x, y, lr=LR, steps=STEPS):
    """``(w, b)`` predicted by the contraction ``(1 - 2 lr)^steps`` towards the closed form
    (first order, for standardised x: mean 0, mean square 1)."""
    w_star, b_star = closed_form(x, y)
    k = (1.0 - 2.0 * lr) ** steps
    return w_star + k * (w0 - w_star), b_star + k * (b0 - b_star)


def initial_weight(seed=SEED) -> float:
    """The book's ``torch.manual_seed(1); torch.randn(1)``, without touching the global RNG."""
    return float(torch.randn(1, generator=torch.Generator().manual_seed(seed)))


def training_data():
    """The ten training examples: x standardised, float32, shape (10, 1); y shape (10,)."""
    return standardise(X_RAW).astype(np.float32), Y


def fit_numpy(w0, b0=0.0, x=None, y=None, lr=LR, epochs=EPOCHS, batch_size=BATCH, seed=SEED,
              shuffle=True):
    """Hand-written SGD in NumPy (float32); batches from ``impl_numpy.batches``."""
    if x is None:
        x, y = training_data()
    w, b, lr = np.float32(w0), np.float32(b0), np.float32(lr)
    loader = impl_numpy.batches(x, y, batch_size, shuffle=shuffle, seed=seed)
    for _epoch in range(epochs):
        for xb, yb in loader:
            err = xb[:, 0] * w + b - yb  # (B,) = y_hat - y
            dw = np.float32(2.0) * np.mean(err * xb[:, 0])  # dL/dw of mean((y_hat - y)^2)
            db = np.float32(2.0) * np.mean(err)  # dL/db
            w, b = w - lr * dw, b - lr * db
    return float(w), float(b)


def fit_autograd(w0, b0=0.0, x=None, y=None, lr=LR, epochs=EPOCHS, batch_size=BATCH, seed=SEED):
    """The book's first loop: torch tensors, ``loss.backward()``, update under ``no_grad``."""
    if x is None:
        x, y = training_data()
    weight = torch.tensor([w0], dtype=torch.float32, requires_grad=True)  # (1,)
    bias = torch.tensor([b0], dtype=torch.float32, requires_grad=True)  # (1,)
    loader = impl_torch.per_sample_loader(x, y, batch_size, seed=seed, order="numpy")
    for _epoch in range(epochs):
        for xb, yb in loader:
            loss = (xb @ weight + bias - yb).pow(2).mean()  # (B, 1) @ (1,) -> (B,)
            loss.backward()
            with torch.no_grad():
                weight -= lr * weight.grad
                bias -= lr * bias.grad
                weight.grad.zero_()
                bias.grad.zero_()
    return weight.item(), bias.item()


def fit_nn(w0, b0=0.0, x=None, y=None, lr=LR, epochs=EPOCHS, batch_size=BATCH, seed=SEED):
    """The book's second loop: ``nn.Linear``, ``nn.MSELoss``, ``torch.optim.SGD``."""
    if x is None:
        x, y = training_data()
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(w0)
        model.bias.fill_(b0)
    loss_fn, opt = nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=lr)
    loader = impl_torch.per_sample_loader(x, y, batch_size, seed=seed, order="numpy")
    for _epoch in range(epochs):
        for xb, yb in loader:
            loss = loss_fn(model(xb)[:, 0], yb)  # (B, 1) -> (B,)
            loss.backward()
            opt.step()
            opt.zero_grad()
    return model.weight.item(), model.bias.item()


METHODS = {"NumPy, hand-written SGD": fit_numpy, "torch tensors + autograd": fit_autograd,
           "nn.Linear + optim.SGD": fit_nn}


def fit_all(seed=SEED) -> dict:
    """``{method: (w, b)}`` for the three methods from the same start and batch order, plus
    ``"closed form"``. Deterministic, so computed once per seed and process."""
    return dict(_fit_all(seed))


@functools.lru_cache(maxsize=4)
def _fit_all(seed):
    w0 = initial_weight(seed)
    out = [(name, fit(w0, 0.0, seed=seed)) for name, fit in METHODS.items()]
    return (*out, ("closed form", closed_form(*training_data())))


def replay_book(seed=SEED) -> dict:
    """The book's two runs exactly as written (global ``torch.manual_seed``, a shuffling
    ``DataLoader`` drawing from the global generator, ``nn.Linear``'s own init), inside
    ``torch.random.fork_rng`` so the caller's global RNG is left as it was."""
    x, y = training_data()
    dl = DataLoader(TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), BATCH, shuffle=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        weight = torch.randn(1).requires_grad_()
        bias = torch.zeros(1, requires_grad=True)
        for _epoch in range(EPOCHS):
            for xb, yb in dl:
                (xb @ weight + bias - yb).pow(2).mean().backward()
                with torch.no_grad():
                    weight -= weight.grad * LR
                    bias -= bias.grad * LR
                    weight.grad.zero_()
                    bias.grad.zero_()
        model = nn.Linear(1, 1)
        loss_fn, opt = nn.MSELoss(), torch.optim.SGD(model.parameters(), lr=LR)
        for _epoch in range(EPOCHS):
            for xb, yb in dl:
                loss_fn(model(xb)[:, 0], yb).backward()
                opt.step()
                opt.zero_grad()
    return {"hand-written SGD (book's code, rerun)": (weight.item(), bias.item()),
            "nn.Linear + optim.SGD (book's code, rerun)": (model.weight.item(),
                                                           model.bias.item())}


def main(argv=None) -> int:
    cli.Parser(prog="python -m chapter.linreg", description="The linear-regression toy, fit "
               "three ways, beside the book's numbers.").parse_args(argv)
    for name, (w, b) in {**fit_all(), **replay_book(), **BOOK}.items():
        print(f"{name:45s} w = {w:.6f}  b = {b:.6f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
