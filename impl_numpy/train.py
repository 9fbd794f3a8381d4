"""One training step, the unit every benchmark times. Twin of ``impl_torch.train``."""

from __future__ import annotations


def train_step(model, opt, X, y) -> float:
    """Forward, backward and SGD update on one batch; returns the batch loss (before the update).

    The gradients go into the model's own arrays (``model.grads``, like torch's ``p.grad``),
    so a step allocates nothing large."""
    out = model.grads if model.grads is not None else model.zero_grads()
    loss, grads = model.loss_and_grads(X, y, out=out)
    opt.step(grads)
    return loss
