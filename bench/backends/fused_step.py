r"""The NumPy twin's training step as an expert writes it, plain SGD only: ``numpy-fused``'s.

    step = FusedStep(model, opt, X, y)    # impl_numpy MLP + SGD, a batch from check_batch
    loss = step()                         # one step, model.params updated in place

The same model (``impl_numpy.MLP``: its params, activations and loss) and the same update
as ``impl_numpy.SGD`` with momentum 0, in one pass that owns all its memory. Shapes: ``B``
samples, layer ``l`` maps ``n_{l-1}`` to ``n_l`` features, ``A_0 = X``, ``eta`` = lr.

Forward, each layer ONE GEMM into a buffer pre-filled with the bias (as ``torch.addmm``),
the activation in place:

.. math::
    Z_l \leftarrow b_l;\quad Z_l \leftarrow A_{l-1} W_l^T + Z_l \;(\beta = 1);\quad
    A_l = g(Z_l) \text{ in place}

Loss and ``dZ_L`` in preallocated buffers, the twin's expressions one by one
(``impl_numpy/mlp.py``, ``_loss_and_dout``). Backward, last layer first, the update of
``W_l`` fused into its gradient's GEMM (``alpha = -eta``, ``beta = 1``, accumulating into
``W_l``'s own storage: the gradient is never stored):

.. math::
    b_l \leftarrow b_l - \eta \textstyle\sum_i dZ_{l,i}, \qquad
    dA_{l-1} = dZ_l W_l \;(\text{with } W_l \text{ before its update}),

    W_l \leftarrow W_l - \eta\, dZ_l^T A_{l-1}, \qquad
    dZ_{l-1} = dA_{l-1} \odot g'(A_{l-1}) \text{ in place}

Every GEMM is a call to NumPy's own BLAS (``bench/backends/cblas.py``: one thread pool, the
one the suite pins), on C-contiguous operands read in place (a transposed operand is a
transpose flag, never a copy), bound and checked once. A warm step allocates no array: the
twin's temporaries (``np.exp(out - m)``, the ReLU mask ``A > 0``, the gradients, ``lr * g``)
are buffers made once. Differences from the twin are rounding only (a fused
``W + (-eta) G`` instead of ``W - eta G``; the bias added before the GEMM's sum, not after),
and the ReLU backward ``dA * sign(A)``: a NaN activation gives a NaN gradient where the
twin's mask gives 0 (the loss is NaN then anyway). ``bench/backends/fused_backend.py`` checks
``STRICT_STEPS`` steps against the twin before anything is timed.

Why each of these choices, and what they measured: docs/methodology.md, 'The fused NumPy step'.

Refused (``ValueError``): momentum, dampening, weight decay or Nesterov (an SGD with state or
another update), params of the optimizer that are not the model's. Unavailable (skipped with
the reason, ``cblas.GemmUnavailable``): NumPy's BLAS is not OpenBLAS or exposes no cblas GEMM.
"""

from __future__ import annotations

import numpy as np

from bench.backends.cblas import GemmCall, numpy_gemm


def check_plain_sgd(opt, params) -> None:
    """ValueError unless ``opt`` is plain SGD (momentum, dampening, weight decay 0, no
    Nesterov) over exactly ``params`` (the same arrays)."""
    bad = {k: getattr(opt, k) for k in ("momentum", "dampening", "weight_decay", "nesterov")
           if getattr(opt, k)}
    if bad:
        raise ValueError(f"the fused step supports plain SGD only (momentum, dampening, "
                         f"weight_decay 0, nesterov False), got {bad}")
    if len(opt.params) != len(params) or any(a is not b for a, b in zip(opt.params, params)):
        raise ValueError("the optimizer's params are not the model's arrays")


class FusedStep:
    """``step() -> loss``: one training step of ``model`` with plain SGD ``opt`` on the batch
    ``(X, y)`` (from ``model.check_batch``), updating ``model.params`` in place (module doc)."""

    def __init__(self, model, opt, X, y, gemm=None):
        check_plain_sgd(opt, model.params)
        s = model.spec
        self.gemm = numpy_gemm(s.dtype) if gemm is None else gemm
        dt, B, sizes = model.dtype, len(X), s.layer_sizes
        self.params, self.lr, self.B = model.params, opt.lr, B
        self._bound = list(self.params)  # the arrays the GEMMs update
        self.activation, self.loss_kind = s.activation, s.loss
        self.X, self.y = X, y
        L = len(sizes) - 1
        Ws, bs = self.params[0::2], self.params[1::2]
        for i, b in enumerate(bs):
            if not (type(b) is np.ndarray and b.dtype == dt and b.flags.c_contiguous
                    and b.flags.writeable and b.shape == (sizes[i + 1],)):
                raise ValueError(f"b{i + 1}: a writeable C-contiguous {dt} vector of "
                                 f"{sizes[i + 1]}")
        Z = [np.empty((B, n), dt) for n in sizes[1:]]  # Z_l, then A_l in place (l = 1..L)
        A = [X, *Z[:-1]]  # A_{l-1}: the input of layer l
        dA = [None] + [np.empty((B, n), dt) for n in sizes[1:-1]]  # dA_l, then dZ_l in place
        self.Z, self.dA, self.bs = Z, dA, bs
        self.db = [np.empty(n, dt) for n in sizes[1:]]  # eta * db_l
        self.mask = [np.empty((B, n), bool) for n in sizes[1:]]  # ReLU / sigmoid sign mask
        self.tmp = [np.empty((B, n), dt) for n in sizes[1:]]  # g'(A), sigmoid's exp(-|z|)
        C = sizes[-1]
        self.E = np.empty((B, C), dt)  # softmax, then dZ_L (CE) / A_L - T (MSE)
        self.E_flat, self.out_flat = self.E.reshape(-1), Z[-1].reshape(-1)  # views
        self.m, self.s = np.empty((B, 1), dt), np.empty((B, 1), dt)
        self.m1, self.s1 = self.m[:, 0], self.s[:, 0]
        self.pick, self.row_loss = np.empty(B, dt), np.empty(B, dt)
        self.at_y = np.arange(B) * C + np.asarray(y, np.int64)  # flat index of (i, y_i)
        if self.at_y.size and not (0 <= self.at_y.min() and self.at_y.max() < B * C):
            raise ValueError("labels outside 0..C-1")
        g = self.gemm
        # (B, n_{l-1}) @ (n_{l-1}, n_l) -> (B, n_l), added to Z_l = b_l
        self.fwd = [GemmCall(g, "N", "T", 1.0, A[l], Ws[l], 1.0, Z[l]) for l in range(L)]
        dZ = [*dA[1:], self.E]  # dZ of layer l: dA_l after g' (hidden), E (output)
        # (B, n_l) @ (n_l, n_{l-1}) -> (B, n_{l-1}), W_l before its update (not layer 1)
        self.back = [None] + [GemmCall(g, "N", "N", 1.0, dZ[l], Ws[l], 0.0, dA[l])
                              for l in range(1, L)]
        # W_l <- W_l - eta (n_l, B) @ (B, n_{l-1}): the update fused into the gradient's GEMM
        self.upd = [GemmCall(g, "T", "N", -self.lr, dZ[l], A[l], 1.0, Ws[l]) for l in range(L)]

    def calls(self) -> list:
        return [c for c in (*self.fwd, *self.back, *self.upd) if c is not None]

    def verify(self) -> None:
        """AssertionError unless every GEMM's arrays are as bound and the model's params are
        still the arrays the step updates (a replaced array would no longer be trained)."""
        for call in self.calls():
            call.verify()
        assert all(a is b for a, b in zip(self.params, self._bound, strict=True)), \
            "the model's params were replaced since the fused step was bound"

    # ------------------------------------------------------------ in place activations
    def _act(self, l, Z):
        if self.activation == "relu":
            np.maximum(Z, 0, out=Z)
        elif self.activation == "tanh":
            np.tanh(Z, out=Z)
        else:
            self._sigmoid(l, Z)

    def _sigmoid(self, l, Z):
        """``impl_numpy.activations.sigmoid(Z, out=Z)`` in buffers: sigma(|z|) = 1/(1+e),
        sigma(-|z|) = e/(1+e) with e = exp(-|z|) <= 1."""
        neg, e = self.mask[l], self.tmp[l]
        np.less(Z, 0, out=neg)
        np.abs(Z, out=e)
        np.negative(e, out=e)
        np.exp(e, out=e)
        np.add(e, 1.0, out=Z)
        np.reciprocal(Z, out=Z)
        np.multiply(Z, e, out=e)
        np.copyto(Z, e, where=neg)

    def _act_backward(self, l, dA, A):
        """``dA *= g'(z)`` from the output ``A``, the twin's ``*_backward`` in buffers."""
        t = self.tmp[l]
        if self.activation == "relu":  # [a > 0] = sign(a), as a = relu(z) >= 0 (module doc)
            np.sign(A, out=t)
        elif self.activation == "tanh":  # 1 - a^2
            np.multiply(A, A, out=t)
            np.subtract(1.0, t, out=t)
        else:  # sigmoid: a (1 - a)
            np.subtract(1.0, A, out=t)
            np.multiply(A, t, out=t)
        np.multiply(dA, t, out=dA)

    # --------------------------------------------------------------------- the step
    @np.errstate(all="ignore")  # an overflow is inf, as in the twin: no RuntimeWarning
    def __call__(self):
        L, Z = len(self.fwd), self.Z
        for l in range(L):  # forward
            np.copyto(Z[l], self.bs[l])  # Z_l = b_l (broadcast over the batch)
            self.fwd[l]()  # Z_l += A_{l-1} W_l^T
            if l < L - 1:
                self._act(l, Z[l])
            elif self.loss_kind == "mse":
                self._sigmoid(l, Z[l])  # logistic output layer
        loss, dZ = self._loss_and_dout(Z[-1])
        for l in reversed(range(L)):  # backward + update, last layer first
            np.sum(dZ, axis=0, out=self.db[l])  # db_l = sum_i dZ_l
            np.multiply(self.db[l], self.lr, out=self.db[l])
            np.subtract(self.bs[l], self.db[l], out=self.bs[l])  # b_l -= eta db_l
            if l > 0:
                self.back[l]()  # dA_{l-1} = dZ_l W_l
            self.upd[l]()  # W_l <- W_l - eta dZ_l^T A_{l-1}
            if l > 0:
                dZ = self.dA[l]
                self._act_backward(l - 1, dZ, Z[l - 1])  # dZ_{l-1} = dA_{l-1} * g'(A_{l-1})
        return loss

    def _pick_minus_one(self, flat):
        """``arr[rows, y] -= 1.0`` on ``flat`` (a view of ``arr``), in the ``pick`` buffer."""
        np.take(flat, self.at_y, out=self.pick)
        np.subtract(self.pick, 1.0, out=self.pick)
        np.put(flat, self.at_y, self.pick)

    def _loss_and_dout(self, out):
        """The twin's ``_loss_and_dout(out, y, need_grad=True)``, expression by expression."""
        B, E = self.B, self.E
        if self.loss_kind == "cross_entropy":
            np.max(out, axis=1, keepdims=True, out=self.m)  # m = max_k z_k
            np.copyto(E, self.m)  # m over the row: a broadcast ufunc would buffer
            np.subtract(out, E, out=E)
            np.exp(E, out=E)  # e = exp(z - m)
            np.sum(E, axis=1, keepdims=True, out=self.s)  # s = sum_k e_k
            np.log(self.s1, out=self.row_loss)  # log s - (z_y - m)
            np.take(self.out_flat, self.at_y, out=self.pick)
            np.subtract(self.pick, self.m1, out=self.pick)
            np.subtract(self.row_loss, self.pick, out=self.row_loss)
            loss = self.row_loss.sum() / B
            np.copyto(self.tmp[-1], self.s)
            np.divide(E, self.tmp[-1], out=E)  # softmax(Z_L)
            self._pick_minus_one(self.E_flat)  # - T
            np.multiply(E, 1.0 / B, out=E)  # dZ_L = (softmax - T) / B
            return loss, E
        C = E.shape[1]  # mse: A_L - T, loss its mean square
        np.copyto(E, out)
        self._pick_minus_one(self.E_flat)
        np.multiply(E, E, out=self.tmp[-1])
        loss = self.tmp[-1].mean()
        np.multiply(E, 2.0 / (B * C), out=E)
        np.subtract(1.0, out, out=self.tmp[-1])  # dZ_L *= A_L (1 - A_L)
        np.multiply(out, self.tmp[-1], out=self.tmp[-1])
        np.multiply(E, self.tmp[-1], out=E)
        return loss, E
