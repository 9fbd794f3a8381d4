"""Shared test helpers: twin construction, torch autograd gradients and the named tolerances
(random batches: ``core.init.random_batch``; the allclose: ``core.close``)."""

from __future__ import annotations

import torch

import impl_numpy
import impl_torch

# Named tolerances (relative), per dtype and per check: a small multiple (5-20x) of what is
# measured here (numpy 2.4 + OpenBLAS, torch 2.13 CPU), so that a real bug cannot hide in them.
GRAD_RTOL_F64 = 1e-12  # impl_numpy grads vs torch autograd, float64; measured 6.3e-14
# (worst |diff| / max |grad| over test_gradients' 216 nets; numpy-mp vs one process 4.6e-16)
TRAIN_RTOL = {"float64": 1e-14, "float32": 4e-6}  # params (and loss) after k SGD steps;
# measured, twins after 50 steps (test_training): float64 1.25e-15, float32 4.1e-7
# (loss 5.6e-16 / 2.5e-7); numpy-mp vs one process 2.8e-16 / 7.0e-8
# CUDA vs the CPU twin (tests/test_cuda.py): not measured yet (no GPU where these were
# tightened); cuBLAS sums in another order, so the old, loose values stand until a GPU run
CUDA_TRAIN_RTOL = {"float64": 1e-9, "float32": 1e-4}
FD_RTOL = 5e-7  # central finite differences, float64, step FD_EPS; measured 8.8e-8
FD_EPS = 1e-6

def twins(layer_sizes, **kw):
    """The NumPy and torch MLPs built from the same arguments."""
    return impl_numpy.MLP(layer_sizes, **kw), impl_torch.MLP(layer_sizes, **kw)


def torch_grads(model, X, y):
    """Loss and gradients of the torch twin by autograd, as NumPy arrays."""
    model.zero_grad(set_to_none=True)
    loss = model.loss_tensor(torch.from_numpy(X), torch.from_numpy(y))
    loss.backward()
    return loss.item(), [p.grad.numpy().copy() for p in model.parameters()]


