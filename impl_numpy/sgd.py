r"""Stochastic gradient descent with exactly ``torch.optim.SGD``'s semantics.

For each parameter ``p`` with gradient ``g`` (``mu`` momentum, ``tau`` dampening,
``lambda`` weight decay, ``eta`` learning rate):

.. math::
    g \leftarrow g + \lambda p

    b_1 = g, \qquad b_t = \mu b_{t-1} + (1 - \tau) g \quad (t > 1,\ \text{only if } \mu \ne 0)

    d = g + \mu b_t \ \text{(nesterov)}, \quad d = b_t \ \text{(else)}, \quad d = g \ (\mu = 0)

    p \leftarrow p - \eta d

The first step copies the gradient into the momentum buffer (no dampening), as torch does.
Both twins: ``SGD(model.params, lr, ...)``; this twin's ``step(grads)`` takes the
gradients, the torch twin's ``step()`` reads them from ``p.grad`` (autograd put them there).
"""

from __future__ import annotations

import numpy as np

from core.checks import check_sgd_args

from .checks import check_like, check_params


class SGD:
    def __init__(self, params, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False):
        self.params = check_params(params)  # one float dtype, writeable, no groups
        lr, momentum, dampening, weight_decay = check_sgd_args(  # Python floats
            lr, momentum, dampening, weight_decay, nesterov, self.params[0].dtype.name)
        self.lr, self.momentum, self.dampening = lr, momentum, dampening
        self.weight_decay, self.nesterov = weight_decay, nesterov
        self.buffers = [None] * len(self.params)  # momentum buffers, created on first step
        self._scratch = [None] * len(self.params)  # lr * d, reused: no allocation per step

    @np.errstate(all="ignore")  # an overflow is inf, as in torch: no RuntimeWarning
    def step(self, grads):
        """Update every parameter in place. Checks all grads first: a bad call changes nothing."""
        grads = check_like(grads, self.params, "grads")
        for i, p in enumerate(self.params):  # made read-only since? It would stop half-way
            if not p.flags.writeable:
                raise ValueError(f"params[{i}] is read-only: SGD updates params in place")
        for i, (p, g) in enumerate(zip(self.params, grads)):
            if self.weight_decay != 0:
                g = g + self.weight_decay * p
            if self.momentum != 0:
                buf = self.buffers[i]
                if buf is None:
                    buf = self.buffers[i] = np.array(g, copy=True)
                else:
                    buf *= self.momentum
                    buf += (1 - self.dampening) * g
                g = g + self.momentum * buf if self.nesterov else buf
            if self._scratch[i] is None:
                self._scratch[i] = np.empty_like(p)
            p -= np.multiply(g, self.lr, out=self._scratch[i])
