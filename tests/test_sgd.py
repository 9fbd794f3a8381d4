"""impl_numpy.SGD against torch.optim.SGD: same updates, same refusals; impl_torch.SGD
refuses exactly what impl_numpy.SGD refuses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import impl_torch
from impl_numpy import SGD

SGD_RTOL = 2e-13  # float64, 5 update steps on the same gradients; measured 2.8e-14 (elementwise)

CONFIGS = {
    "plain": {},
    "momentum": {"momentum": 0.9},
    "dampening": {"momentum": 0.9, "dampening": 0.3},
    "momentum_one": {"momentum": 1.0},  # the boundary a "momentum != 1" mutant moves
    "nesterov": {"momentum": 0.8, "nesterov": True},
    "weight_decay": {"weight_decay": 0.01},
    "all": {"momentum": 0.7, "weight_decay": 0.05, "nesterov": True},
}


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_updates_match_torch(config):
    kw = CONFIGS[config]
    rng = np.random.default_rng(1)
    shapes = [(4, 3), (4,), (2, 4), (2,)]
    params = [rng.standard_normal(s) for s in shapes]
    tparams = [torch.tensor(p, requires_grad=True) for p in params]
    opt, topt = SGD(params, lr=0.1, **kw), torch.optim.SGD(tparams, lr=0.1, **kw)
    for step in range(5):
        grads = [rng.standard_normal(s) for s in shapes]
        for tp, g in zip(tparams, grads):
            tp.grad = torch.tensor(g)
        opt.step(grads)
        topt.step()
        for i, (p, tp) in enumerate(zip(params, tparams)):
            np.testing.assert_allclose(p, tp.detach().numpy(), rtol=SGD_RTOL,
                                       err_msg=f"{config} step {step} param {i}")


@pytest.mark.parametrize("kw, message", [
    ({"lr": -0.1}, "learning rate"),
    ({"lr": 0.1, "momentum": -1}, "momentum"),
    ({"lr": 0.1, "weight_decay": -1}, "weight_decay"),
    ({"lr": 0.1, "nesterov": True}, "Nesterov"),
    ({"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "nesterov": True}, "Nesterov"),
])
def test_refuses_what_torch_refuses(kw, message):
    with pytest.raises(ValueError, match=message):
        SGD([np.zeros(2)], **kw)
    with pytest.raises(ValueError, match=message):
        impl_torch.SGD([torch.zeros(2, requires_grad=True)], **kw)
    with pytest.raises(ValueError):
        torch.optim.SGD([torch.zeros(2, requires_grad=True)], **kw)


def test_refuses_non_finite_hyperparameters():
    """Stricter than torch, which accepts lr=nan and then silently produces NaN params."""
    for make, param in ((SGD, np.zeros(2)), (impl_torch.SGD, torch.zeros(2, requires_grad=True))):
        with pytest.raises(ValueError, match="lr"):
            make([param], lr=float("nan"))
        with pytest.raises(TypeError, match="momentum must be a number"):
            make([param], lr=0.1, momentum="0.9")
        with pytest.raises(ValueError, match="^params: SGD got an empty parameter list$"):
            make([], lr=0.1)


def test_bad_grads_change_nothing():
    params = [np.ones((2, 3)), np.ones(2)]
    opt = SGD(params, lr=0.5, momentum=0.9)
    before = [p.copy() for p in params]
    with pytest.raises(ValueError, match=r"grads\[1\] has shape"):
        opt.step([np.ones((2, 3)), np.ones(3)])
    with pytest.raises(TypeError, match=r"grads\[0\] has dtype float32"):
        opt.step([np.ones((2, 3), np.float32), np.ones(2)])
    with pytest.raises(ValueError, match="expected 2 arrays"):
        opt.step([np.ones((2, 3))])
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p, b)
    assert opt.buffers == [None, None]
