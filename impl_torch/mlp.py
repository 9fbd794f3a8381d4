"""The PyTorch twin of ``impl_numpy.mlp``: the same network as an ``nn.Module``.

Built from ``nn.Linear`` and activation modules; autograd does the backward pass that
``impl_numpy`` writes by hand. The same arguments give exactly ``impl_numpy.MLP``'s
initial params (drawn by ``core.init.init_params``), so twins start identical.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from core.init import init_params
from core.spec import make_spec

from .checks import check_X, check_y

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
TORCH_DTYPES = {"float32": torch.float32, "float64": torch.float64}


class MLP(nn.Module):
    def __init__(self, layer_sizes, activation="relu", loss="cross_entropy", dtype="float32",
                 seed=0, device="cpu"):
        super().__init__()
        self.spec = make_spec(layer_sizes, activation, loss, dtype)
        self.torch_dtype = TORCH_DTYPES[self.spec.dtype]
        sizes = self.spec.layer_sizes
        layers = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(fan_in, fan_out, dtype=self.torch_dtype, device="meta"))
            if i < len(sizes) - 2:
                layers.append(_ACTIVATIONS[self.spec.activation]())
        if self.spec.loss == "mse":
            layers.append(nn.Sigmoid())  # logistic output layer
        self.net = nn.Sequential(*layers).to_empty(device=device)
        self.load_numpy_params(init_params(sizes, self.spec.dtype, seed))

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def n_params(self) -> int:
        return self.spec.n_params

    def forward(self, X):
        """Network output: logits for ``cross_entropy``, logistic outputs for ``mse``."""
        return self.net(check_X(X, self.spec.n_in, self.torch_dtype, self.device))

    def loss(self, X, y):
        """Scalar loss tensor: ``CrossEntropyLoss()`` or ``MSELoss()`` on one-hot targets."""
        out = self(X)
        y = check_y(y, out.shape[0], self.spec.n_out, self.device)
        if self.spec.loss == "cross_entropy":
            return F.cross_entropy(out, y)
        return F.mse_loss(out, F.one_hot(y, self.spec.n_out).to(out.dtype))

    @torch.no_grad()
    def predict_proba(self, X):
        out = self(X)
        if self.spec.loss == "cross_entropy":
            return torch.softmax(out, dim=1)
        return out / out.sum(dim=1, keepdim=True)

    @torch.no_grad()
    def predict(self, X):
        return self(X).argmax(dim=1)

    # ------------------------------------------------------------ conversion
    def numpy_params(self) -> list:
        """``[W1, b1, ...]`` as NumPy arrays (copies, on the host)."""
        return [p.detach().cpu().numpy().copy() for p in self.parameters()]

    @torch.no_grad()
    def load_numpy_params(self, arrays) -> None:
        """Copy ``[W1, b1, ...]`` into the params; all are checked before any is written."""
        arrays = list(arrays)
        params = list(self.parameters())
        if len(arrays) != len(params):
            raise ValueError(f"params: expected {len(params)} arrays, got {len(arrays)}")
        tensors = []
        for i, (a, p) in enumerate(zip(arrays, params)):
            a = np.asarray(a) if not isinstance(a, torch.Tensor) else a
            if tuple(a.shape) != tuple(p.shape):
                raise ValueError(f"params[{i}] has shape {tuple(a.shape)}, expected "
                                 f"{tuple(p.shape)}")
            t = torch.as_tensor(a)
            if t.dtype != p.dtype:
                raise TypeError(f"params[{i}] has dtype {t.dtype}, expected {p.dtype}")
            tensors.append(t)
        for p, t in zip(params, tensors):
            p.copy_(t)
