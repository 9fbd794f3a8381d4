r"""The torch twin's MLP: the network below, an ``nn.Module`` whose backward is autograd's.

Shapes: ``B`` samples, layer ``l`` maps ``n_{l-1}`` to ``n_l`` features, ``C = n_L`` classes.

Forward, for l = 1..L (``A_0 = X``; ``g`` is the hidden activation):

.. math::
    Z_l = A_{l-1} W_l^T + b_l, \qquad A_l = g(Z_l) \quad (l < L)

The output layer is linear for ``cross_entropy`` (``A_L = Z_L``, logits) and logistic
for ``mse`` (``A_L = \sigma(Z_L)``). Losses, as torch's ``CrossEntropyLoss()`` and
``MSELoss()`` with their default mean reduction (``T`` = one-hot labels):

.. math::
    L_{CE} = -\frac{1}{B}\sum_i \log \mathrm{softmax}(Z_L)_{i, y_i}, \qquad
    L_{MSE} = \frac{1}{BC}\sum_{i,k} (A_{L,ik} - T_{ik})^2

Both twins: ``loss`` returns a float; ``loss_and_grads`` a float and the gradients in the
order of ``params``; ``train_step`` uses the model-owned gradients (``p.grad``).
Backward: autograd, from ``loss_tensor`` in the last section.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from core.checks import check_seed
from core.init import init_params
from core.spec import make_spec

from . import activations as act
from .checks import check_device, check_like, check_out, check_X, check_y

TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}  # core.spec.DTYPES in torch


class MLP(nn.Module):
    """``MLP(layer_sizes, activation="relu", loss="cross_entropy", dtype="float32", seed=0,
    device="cpu")``.

    ``params`` is ``[W1, b1, W2, b2, ...]`` with ``W`` of shape (fan_out, fan_in), as in
    ``nn.Linear``; both twins built with the same arguments start from the same values.
    """

    def __init__(self, layer_sizes, activation="relu", loss="cross_entropy",
                 dtype="float32", seed=0, device="cpu"):
        super().__init__()
        self.spec = make_spec(layer_sizes, activation, loss, dtype)
        seed, device = check_seed(seed), check_device(device)
        self.dtype = TORCH_DTYPES[self.spec.dtype]
        sizes, layers = self.spec.layer_sizes, []
        for l, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(fan_in, fan_out, dtype=self.dtype, device="meta"))
            if l < len(sizes) - 2:
                layers.append(act.MODULES[self.spec.activation]())  # A_l = g(Z_l)
        if self.spec.loss == "mse":
            layers.append(nn.Sigmoid())  # logistic output layer
        self.net = nn.Sequential(*layers).to_empty(device=device)
        self.load_numpy_params(init_params(self.spec.layer_sizes, self.spec.dtype, seed))

    def __repr__(self):
        s = self.spec
        return (f"MLP({list(s.layer_sizes)}, activation={s.activation!r}, loss={s.loss!r}, "
                f"dtype={s.dtype!r})  # {s.n_params:,} params")

    @property
    def n_params(self) -> int:
        return self.spec.n_params

    # ----------------------------------------------------------------- forward
    def forward(self, X, checked=False):
        """Network output: logits for ``cross_entropy``, logistic outputs for ``mse``.
        ``checked=True``: X comes from ``check_batch`` and is not checked again."""
        if not checked:
            X = check_X(X, self.spec.n_in, self.dtype, self.device, self.spec.layer_sizes)
        return self.net(X)  # (B, n_in) -> (B, C), one matmul per layer

    @torch.no_grad()
    def predict_proba(self, X):
        """Class probabilities: softmax of the logits (``cross_entropy``), or the logistic
        outputs normalised to sum to one per row (``mse``)."""
        out = self(X)  # model(X): in torch, nn.Module.__call__ runs the hooks
        if self.spec.loss == "cross_entropy":
            return act.softmax(out, axis=1)
        return out / out.sum(axis=1, keepdims=True)

    @torch.no_grad()
    def predict(self, X):
        """Predicted class labels, shape (B,)."""
        return self(X).argmax(axis=1)

    # -------------------------------------------------------------------- loss
    def check_batch(self, X, y):
        """``(X, y)`` validated and converted, as every entry point checks them: done
        once for a batch that many steps reuse (``checked=True``, ``checked_step``)."""
        X = check_X(X, self.spec.n_in, self.dtype, self.device, self.spec.layer_sizes)
        return X, check_y(y, len(X), self.spec.n_out, self.device)

    @torch.no_grad()
    def loss(self, X, y) -> float:
        """The mean batch loss, as a Python float."""
        return self.loss_tensor(X, y).item()

    def loss_and_grads(self, X, y, out=None, checked=False):
        """``(loss, grads)``, grads in the order, shapes and dtype of params: new tensors, or
        written into ``out`` (a list like params, e.g. ``model.zero_grads()``) if given.
        ``checked=True``: X and y come from ``check_batch`` and are not checked again.
        Checks the batch first, then ``out``, as both twins do: a call with both bad raises
        the batch's error."""
        if not checked:
            X, y = self.check_batch(X, y)
        out = None if out is None else check_out(out, self.params)
        loss = self.loss_tensor(X, y, checked=True)
        grads = list(torch.autograd.grad(loss, self.params))  # leaves p.grad alone
        if out is not None:
            grads = [o.copy_(g) for o, g in zip(out, grads)]
        return loss.item(), grads

    @torch.no_grad()
    def zero_grads(self) -> list:
        """The model-owned gradient tensors (``p.grad``), created on first use, zeroed."""
        for p in self.parameters():
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            else:
                p.grad.zero_()
        return self.grads

    # ------------ only in this twin: properties, autograd's loss, conversion to and from NumPy
    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def params(self) -> list:
        """``[W1, b1, ...]``: the ``nn.Parameter``s, in the NumPy twin's order."""
        return list(self.parameters())

    @property
    def grads(self) -> list:
        """The model-owned gradients ``[p.grad for p in params]`` (``None`` before any)."""
        return [p.grad for p in self.parameters()]

    def loss_tensor(self, X, y, checked=False):
        """The loss as a 0-d tensor with its autograd graph: ``CrossEntropyLoss()``, or
        ``MSELoss()`` on one-hot targets. ``train_step`` and DDP call ``backward`` on it.
        ``checked=True``: X and y come from ``check_batch`` (no check, no host read-back)."""
        if not checked:
            X, y = self.check_batch(X, y)
        out = self(X, checked=True)  # model(X): in torch, nn.Module.__call__ runs the hooks
        if self.spec.loss == "cross_entropy":
            return F.cross_entropy(out, y)
        return F.mse_loss(out, F.one_hot(y, self.spec.n_out).to(out.dtype))

    def numpy_params(self) -> list:
        """``[W1, b1, ...]`` as NumPy arrays (copies, on the host)."""
        return [p.detach().cpu().numpy().copy() for p in self.parameters()]

    @torch.no_grad()
    def load_numpy_params(self, arrays) -> None:
        """Copy ``[W1, b1, ...]`` into the params; all are checked (count, shape, dtype, and
        finite: NaN or +-inf is refused) before any is written, so a refusal changes nothing."""
        tensors = check_like(arrays, self.params, "params")
        for i, t in enumerate(tensors):
            # min and max propagate NaN and expose +-inf: one pass, as check_X does
            lo, hi = torch.aminmax(t.detach())
            if not (torch.isfinite(lo) and torch.isfinite(hi)):
                bad = t.numel() - int(torch.isfinite(t).sum())
                raise ValueError(f"params[{i}] ({'Wb'[i % 2]}{i // 2 + 1}) holds {bad:,} "
                                 f"non-finite value{'s' * (bad != 1)} (NaN or inf)")
        for p, t in zip(self.parameters(), tensors):
            p.copy_(t)
