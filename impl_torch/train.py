"""One training step, the unit every benchmark times. Twin of ``impl_numpy.train``."""

from __future__ import annotations

import torch

from core.checks import check_sgd_args


def make_sgd(model, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False):
    """``torch.optim.SGD`` over the model's params, with the twin's argument names; refuses
    what ``impl_numpy.SGD`` refuses (``core.checks.check_sgd_args``)."""
    check_sgd_args(lr, momentum, dampening, weight_decay, nesterov)
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, dampening=dampening,
                           weight_decay=weight_decay, nesterov=nesterov)


def train_step(model, opt, X, y) -> float:
    """Forward, backward and SGD update on one batch; returns the batch loss (before the update)."""
    opt.zero_grad(set_to_none=True)
    loss = model.loss(X, y)
    loss.backward()
    opt.step()
    return loss.item()
