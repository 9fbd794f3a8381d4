"""One training step, the unit every benchmark times: forward, backward, SGD update.

Both twins: ``train_step(model, opt, X, y) -> float``, the batch loss before the update; the
gradients land in the model's own storage (``model.grads``).
"""

from __future__ import annotations

from core.checks import check_opt_params


def train_step(model, opt, X, y) -> float:
    """Forward, backward and SGD update on one batch; returns the batch loss (before the update).

    Backward: ``model.loss_and_grads`` by hand, into the model's own arrays (``model.grads``,
    like torch's ``p.grad``), so a step allocates nothing large; ``opt.step`` takes them."""
    check_opt_params(opt.params, model.params)
    out = model.grads if model.grads is not None else model.zero_grads()
    loss, grads = model.loss_and_grads(X, y, out=out)
    opt.step(grads)
    return loss
