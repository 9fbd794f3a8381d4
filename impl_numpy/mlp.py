r"""The NumPy twin's MLP: the network below, its backward pass written by hand at the end.

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
order of ``params``; ``train_step`` uses the model-owned gradients of ``zero_grads``.
Backward: by hand, in the last section (the equations are there).
"""

from __future__ import annotations

import numpy as np

from core.checks import check_seed
from core.init import init_params
from core.spec import DTYPES, make_spec

from . import activations as act
from .checks import check_device, check_out, check_X, check_y


class MLP:
    """``MLP(layer_sizes, activation="relu", loss="cross_entropy", dtype="float32", seed=0,
    device="cpu")``.

    ``params`` is ``[W1, b1, W2, b2, ...]`` with ``W`` of shape (fan_out, fan_in), as in
    ``nn.Linear``; both twins built with the same arguments start from the same values.
    """

    def __init__(self, layer_sizes, activation="relu", loss="cross_entropy",
                 dtype="float32", seed=0, device="cpu"):
        self.spec = make_spec(layer_sizes, activation, loss, dtype)
        seed, device = check_seed(seed), check_device(device)  # device: 'cpu' only
        self.dtype = DTYPES[self.spec.dtype]
        self.params = init_params(self.spec.layer_sizes, self.spec.dtype, seed)
        self.grads = None  # model-owned gradient arrays, like torch's p.grad (zero_grads)
        self._ws = {}  # scratch arrays reused across calls: no allocation, no page faults

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
            X = check_X(X, self.spec.n_in, self.dtype, self.spec.layer_sizes)
        return self._forward(X)[-1]  # (B, n_in) -> (B, C), one matmul per layer

    @np.errstate(all="ignore")  # inf and NaN pass silently, as in torch (no RuntimeWarning)
    def predict_proba(self, X):
        """Class probabilities: softmax of the logits (``cross_entropy``), or the logistic
        outputs normalised to sum to one per row (``mse``)."""
        out = self(X)  # model(X): in torch, nn.Module.__call__ runs the hooks
        if self.spec.loss == "cross_entropy":
            return act.softmax(out, axis=1)
        return out / out.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Predicted class labels, shape (B,)."""
        return self(X).argmax(axis=1)

    # -------------------------------------------------------------------- loss
    def check_batch(self, X, y):
        """``(X, y)`` validated and converted, as every entry point checks them: done
        once for a batch that many steps reuse (``checked=True``, ``checked_step``)."""
        X = check_X(X, self.spec.n_in, self.dtype, self.spec.layer_sizes)
        return X, check_y(y, len(X), self.spec.n_out)

    def loss(self, X, y) -> float:
        """The mean batch loss, as a Python float."""
        X, y = self.check_batch(X, y)
        return float(self._loss_and_dout(self._forward(X)[-1], y, need_grad=False)[0])

    def loss_and_grads(self, X, y, out=None, checked=False):
        """``(loss, grads)``, grads in the order, shapes and dtype of params: new arrays, or
        written into ``out`` (a list like params, e.g. ``model.zero_grads()``) if given.
        ``checked=True``: X and y come from ``check_batch`` and are not checked again.
        Checks the batch first, then ``out``, as both twins do: a call with both bad raises
        the batch's error."""
        if not checked:
            X, y = self.check_batch(X, y)
        grads = [None] * len(self.params) if out is None else check_out(out, self.params)
        As = self._forward(X)
        loss, dZ = self._loss_and_dout(As[-1], y, need_grad=True)
        return float(loss), self._backward(As, dZ, grads)

    def zero_grads(self) -> list:
        """The model-owned gradient arrays (``self.grads``), created on first use, zeroed."""
        if self.grads is None:
            self.grads = [np.zeros_like(p) for p in self.params]
        else:
            for g in self.grads:
                g.fill(0)
        return self.grads

    # ------------------------ only in this twin: the forward cache and the backward pass
    def __call__(self, X, checked=False):
        """``model(X)``, as for an ``nn.Module`` (which runs its hooks around ``forward``)."""
        return self.forward(X, checked)

    def _scratch(self, key, shape):
        """A model-owned array of ``shape``, reused by the next call that asks for ``key``."""
        buf = self._ws.get(key)
        if buf is None or buf.shape != shape:
            buf = self._ws[key] = np.empty(shape, self.dtype)
        return buf

    @np.errstate(all="ignore")  # an overflow is inf, as in torch: no RuntimeWarning
    def _forward(self, X):
        """All layer outputs ``[A_0 = X, A_1, ..., A_L]`` (A_L: logits or logistic output).

        Hidden outputs live in scratch arrays (overwritten by the next call); A_L is new."""
        As = [X]
        n_layers = len(self.params) // 2
        g = act.BY_NAME[self.spec.activation].forward
        for l in range(n_layers):
            W, b = self.params[2 * l], self.params[2 * l + 1]
            out = None if l == n_layers - 1 else self._scratch(("Z", l), (len(X), W.shape[0]))
            Z = np.matmul(As[-1], W.T, out=out)  # (B, n_in) @ (n_in, n_out) -> (B, n_out)
            Z += b
            if l < n_layers - 1:
                g(Z, out=Z)  # A_l = g(Z_l), in place
            elif self.spec.loss == "mse":
                act.sigmoid(Z, out=Z)  # logistic output layer
            As.append(Z)
        return As

    @np.errstate(all="ignore")
    def _loss_and_dout(self, out, y, need_grad):
        r"""Loss value and dL/dZ_L for the output ``out`` = A_L.

        .. math::
            dZ_L = \tfrac{1}{B}(\mathrm{softmax}(Z_L) - T) \;\; (CE), \qquad
            dZ_L = \tfrac{2}{BC}(A_L - T) \odot A_L \odot (1 - A_L) \;\; (MSE)
        """
        B, C = out.shape
        rows = np.arange(B)
        if self.spec.loss == "cross_entropy":
            # log softmax(z)_y = z_y - m - log(s), with m = max_k z_k, s = sum_k exp(z_k - m)
            m = out.max(axis=1, keepdims=True)
            e = np.exp(out - m)  # (B, C), every entry in (0, 1]
            s = e.sum(axis=1, keepdims=True)
            loss = (np.log(s[:, 0]) - (out[rows, y] - m[:, 0])).sum() / B
            if not need_grad:
                return loss, None
            e /= s  # softmax(Z_L)
            e[rows, y] -= 1.0
            e *= 1.0 / B
            return loss, e
        diff = out.copy()  # A_L - T
        diff[rows, y] -= 1.0
        loss = np.mean(diff * diff)
        if not need_grad:
            return loss, None
        dZ = diff
        dZ *= 2.0 / (B * C)
        act.sigmoid_backward(dZ, out)  # dZ *= sigma'(Z_L) = A_L (1 - A_L)
        return loss, dZ

    @np.errstate(all="ignore")
    def _backward(self, As, dZ, grads) -> list:
        r"""Fill ``grads`` from the layer outputs ``As`` and ``dZ = dL/dZ_L``, last layer first.

        ``\odot`` is elementwise; ``g'`` is computed from the output ``A`` (``*_backward``):

        .. math::
            dW_l = dZ_l^T A_{l-1}, \quad db_l = \textstyle\sum_i dZ_{l,i}, \quad
            dA_{l-1} = dZ_l W_l, \quad dZ_{l-1} = dA_{l-1} \odot g'(A_{l-1})
        """
        g_backward = act.BY_NAME[self.spec.activation].backward
        for l in reversed(range(len(self.params) // 2)):
            A_prev, W = As[l], self.params[2 * l]
            # (n_out, B) @ (B, n_in) -> (n_out, n_in)
            grads[2 * l] = np.matmul(dZ.T, A_prev, out=grads[2 * l])
            grads[2 * l + 1] = np.sum(dZ, axis=0, out=grads[2 * l + 1])  # (n_out,)
            if l > 0:
                dA = self._scratch(("dA", l), A_prev.shape)
                np.matmul(dZ, W, out=dA)  # (B, n_out) @ (n_out, n_in) -> (B, n_in)
                dZ = g_backward(dA, A_prev)
        return grads
