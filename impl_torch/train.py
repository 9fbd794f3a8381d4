"""One training step, the unit every benchmark times: forward, backward, SGD update.

Both twins: ``train_step(model, opt, X, y) -> float``, the batch loss before the update; the
gradients land in the model's own storage (``model.grads``).
"""

from __future__ import annotations

from core.checks import check_opt_params


def train_step(model, opt, X, y) -> float:
    """Forward, backward and SGD update on one batch; returns the batch loss (before the update).

    Backward: autograd on ``model.loss_tensor``, into the model's own tensors (``p.grad``);
    ``opt.step`` reads them. The loss is read back last: one sync, after the update."""
    check_opt_params(opt.params, model.params)
    opt.zero_grad(set_to_none=True)
    loss = model.loss_tensor(X, y)
    loss.backward()
    opt.step()
    return loss.item()
