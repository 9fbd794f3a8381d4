"""A float32 step stays float32: every intermediate, gradient and optimizer buffer, in both
twins. A float32 benchmark that silently computes in float64 measures the wrong thing, and
its results can still agree with torch to 1e-4, so equality tests do not see it.

NumPy twin: the model's arrays are views of ``Watched``, an ndarray subclass whose
``__array_ufunc__`` sees every ufunc it takes part in (operators, ``np.exp``, ``np.matmul``,
reductions such as ``.sum()`` and ``.max()``) and every ``astype``, and logs the dtypes of
inputs, outputs and any ``dtype=`` asked for. Torch twin: a ``TorchDispatchMode`` logs every
aten op of forward, autograd's backward and the optimizer, with its tensors' dtypes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

import impl_numpy
import impl_torch
from core.init import random_batch

SIZES = [12, 9, 7, 5]
CASES = [("relu", "cross_entropy"), ("tanh", "mse"), ("sigmoid", "cross_entropy")]
OPTIMIZERS = {"plain": {}, "nesterov": {"momentum": 0.9, "nesterov": True},
              "decay": {"momentum": 0.5, "dampening": 0.1, "weight_decay": 1e-3}}
STEPS = 2  # the second step updates the momentum buffers made by the first
MIN_OPS = 30  # a step is dozens of ops: fewer logged means the hook saw nothing


# ------------------------------------------------------------------ NumPy twin
def _plain(x):
    return x.view(np.ndarray) if isinstance(x, Watched) else x


def _float_dtype(x):
    dtype = getattr(x, "dtype", None)
    return dtype if dtype is not None and dtype.kind in "fc" else None


class Watched(np.ndarray):
    """An ndarray that logs ``(op, dtype)`` of every ufunc it takes part in."""

    log: list = []

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_plain(o) for o in out)
        name = f"{ufunc.__name__}.{method}" if method != "__call__" else ufunc.__name__
        for key in ("dtype", "signature"):
            if kwargs.get(key) is not None:
                Watched.log.append((f"{name}({key}=)", np.dtype(kwargs[key])))
        result = getattr(ufunc, method)(*map(_plain, inputs), **kwargs)
        results = result if isinstance(result, tuple) else (result,)
        for x in (*inputs, *(out or ()), *results):
            if _float_dtype(x) is not None:
                Watched.log.append((name, x.dtype))
        if out is not None:
            return out[0] if len(out) == 1 else out
        return result.view(Watched) if type(result) is np.ndarray else result

    def astype(self, dtype, *args, **kwargs):
        Watched.log.append(("astype", np.dtype(dtype)))
        return super().astype(dtype, *args, **kwargs)


def watched_numpy_twin(activation, loss):
    """A float32 NumPy MLP whose params and scratch arrays are ``Watched`` views."""
    model = impl_numpy.MLP(SIZES, activation=activation, loss=loss, dtype="float32", seed=0)
    model.params[:] = [p.view(Watched) for p in model.params]
    scratch = model._scratch
    model._scratch = lambda key, shape: scratch(key, shape).view(Watched)
    return model


def upcasts(log):
    return sorted({f"{op} -> {dtype}" for op, dtype in log if dtype != np.float32})


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("activation, loss", CASES)
def test_numpy_float32_step_stays_float32(activation, loss, opt_name):
    model = watched_numpy_twin(activation, loss)
    opt = impl_numpy.SGD(model.params, lr=0.05, **OPTIMIZERS[opt_name])
    X, y = random_batch(np.random.default_rng(0), 8, SIZES[0], SIZES[-1], "float32")
    Watched.log = []
    for _ in range(STEPS):
        value = impl_numpy.train_step(model, opt, X, y)
    model.predict_proba(X)
    assert type(value) is float and np.isfinite(value)
    log, Watched.log = Watched.log, []
    assert len(log) >= MIN_OPS, f"only {len(log)} ops seen: the hook is not in the step"
    assert upcasts(log) == [], "a float32 step computed in another dtype"
    held = {"params": model.params, "grads": model.grads, "momentum buffers": opt.buffers,
            "optimizer scratch": opt._scratch, "model scratch": list(model._ws.values())}
    for what, arrays in held.items():
        dtypes = {a.dtype for a in arrays if a is not None}
        assert dtypes <= {np.dtype(np.float32)}, f"{what}: {dtypes}"
    momentum = bool(OPTIMIZERS[opt_name].get("momentum"))
    assert all(b is not None for b in opt.buffers) == momentum, "momentum buffers"


def test_the_numpy_hook_sees_a_planted_upcast():
    """The hook itself: a float64 op between float32 arrays is logged (one hidden in an
    operator, one asked for with ``astype``)."""
    a = np.ones(3, np.float32).view(Watched)
    Watched.log = []
    b = a * np.float64(2.0)  # NEP 50: a NumPy float64 scalar is not weak
    c = (a + 1).astype(np.float64).sum()
    log, Watched.log = Watched.log, []
    assert b.dtype == c.dtype == np.float64
    assert upcasts(log) == ["add.reduce -> float64", "astype -> float64",
                            "multiply -> float64"]


# ------------------------------------------------------------------ torch twin
class DtypeLog(TorchDispatchMode):
    """Logs ``(aten op, dtype)`` for every floating tensor an op takes or returns."""

    def __init__(self):
        super().__init__()
        self.log = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten((args, kwargs, out))[0]:
            if isinstance(t, torch.Tensor) and t.is_floating_point():
                self.log.append((str(func), t.dtype))
        return out


@pytest.mark.parametrize("opt_name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("activation, loss", CASES)
def test_torch_float32_step_stays_float32(activation, loss, opt_name):
    model = impl_torch.MLP(SIZES, activation=activation, loss=loss, dtype="float32", seed=0)
    opt = impl_torch.SGD(model.params, 0.05, **OPTIMIZERS[opt_name])
    X, y = random_batch(np.random.default_rng(0), 8, SIZES[0], SIZES[-1], "float32")
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    with DtypeLog() as mode:
        for _ in range(STEPS):
            value = impl_torch.train_step(model, opt, X, y)
        model.predict_proba(X)
    assert type(value) is float
    ops = {op for op, _ in mode.log}
    assert len(mode.log) >= MIN_OPS and any("backward" in op for op in ops), sorted(ops)
    assert sorted({f"{op} -> {d}" for op, d in mode.log if d != torch.float32}) == []
    buffers = [opt.state[p].get("momentum_buffer") for p in model.params]
    held = {"params": model.params, "grads": model.grads,
            "momentum buffers": [b for b in buffers if b is not None]}
    for what, tensors in held.items():
        assert {t.dtype for t in tensors} <= {torch.float32}, what
    assert all(b is not None for b in buffers) == bool(OPTIMIZERS[opt_name].get("momentum"))
