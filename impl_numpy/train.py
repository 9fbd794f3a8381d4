"""One training step, the unit every benchmark times. Twin of ``impl_torch.train``."""

from __future__ import annotations


def train_step(model, opt, X, y) -> float:
    """Forward, backward and SGD update on one batch; returns the batch loss (before the update)."""
    loss, grads = model.loss_and_grads(X, y)
    opt.step(grads)
    return loss
