r"""Stochastic gradient descent: ``torch.optim.SGD``, refusing what the NumPy twin refuses.

For each parameter ``p`` with gradient ``g`` (``mu`` momentum, ``tau`` dampening,
``lambda`` weight decay, ``eta`` learning rate):

.. math::
    g \leftarrow g + \lambda p

    b_1 = g, \qquad b_t = \mu b_{t-1} + (1 - \tau) g \quad (t > 1,\ \text{only if } \mu \ne 0)

    d = g + \mu b_t \ \text{(nesterov)}, \quad d = b_t \ \text{(else)}, \quad d = g \ (\mu = 0)

    p \leftarrow p - \eta d

The first step copies the gradient into the momentum buffer (no dampening), as torch does.
Both twins: ``SGD(model.params, lr, ...)``; the NumPy twin's ``step(grads)`` takes the
gradients, this one's ``step()`` reads them from ``p.grad`` (autograd put them there).
"""

from __future__ import annotations

import torch

from core.checks import check_sgd_args

from .checks import check_params


class SGD(torch.optim.SGD):
    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False):
        self.params = check_params(params)  # one float dtype, leaves, no groups
        lr, momentum, dampening, weight_decay = check_sgd_args(  # Python floats
            lr, momentum, dampening, weight_decay, nesterov,
            str(self.params[0].dtype).removeprefix("torch."))
        super().__init__(self.params, lr=lr, momentum=momentum, dampening=dampening,
                         weight_decay=weight_decay, nesterov=nesterov)

    def step(self, closure=None):
        """``torch.optim.SGD.step``, refusing (as the NumPy twin does) a param made read-only
        since: torch would skip it silently and update the others."""
        for i, p in enumerate(self.params):
            if not p.requires_grad:
                raise ValueError(f"params[{i}] is read-only: it no longer requires grad")
        return super().step(closure)
