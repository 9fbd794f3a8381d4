"""One training step, the unit every benchmark times: forward, backward, SGD update.

Both twins: ``train_step(model, opt, X, y) -> float``, the batch loss before the update; the
gradients land in the model's own storage (``model.grads``). ``checked_step`` is the same
step on a batch already validated by ``model.check_batch``: what the benchmarks time, so
that neither twin's timed step holds validation, and on a device nothing waits for the host.
"""

from __future__ import annotations

from core.checks import check_opt_params


def train_step(model, opt, X, y) -> float:
    """Forward, backward and SGD update on one batch; returns the batch loss (before the update).

    Validates the batch first (``model.check_batch``); reads the loss back last: on a device
    the one sync, after the update."""
    check_opt_params(opt.params, model.params)
    return float(checked_step(model, opt, *model.check_batch(X, y)))


def checked_step(model, opt, X, y):
    """``train_step`` on ``(X, y)`` from ``model.check_batch``: no check and no read-back, so
    on a device it queues its kernels and returns; the loss is a 0-d tensor on the device.

    Backward: autograd on ``model.loss_tensor``, into the model's own tensors (``p.grad``);
    ``opt.step`` reads them."""
    opt.zero_grad(set_to_none=True)
    loss = model.loss_tensor(X, y, checked=True)
    loss.backward()
    opt.step()
    return loss.detach()
