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

    Validates the batch first (``model.check_batch``)."""
    check_opt_params(opt.params, model.params)
    return float(checked_step(model, opt, *model.check_batch(X, y)))


def checked_step(model, opt, X, y):
    """``train_step`` on ``(X, y)`` from ``model.check_batch``: no check; the loss is the
    NumPy scalar (the host is the only device).

    Backward: ``model.loss_and_grads`` by hand, into the model's own arrays (``model.grads``,
    like torch's ``p.grad``), so a step allocates nothing large; ``opt.step`` takes them."""
    out = model.grads if model.grads is not None else model.zero_grads()
    loss, grads = model.loss_and_grads(X, y, out=out, checked=True)
    opt.step(grads)
    return loss
