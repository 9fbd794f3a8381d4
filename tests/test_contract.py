"""The input contract, both twins alike (docs/testing.md, "Input contract"): each bad input in
``REFUSED`` is refused by *both* twins with the same exception type and a message naming the
argument, and leaves every piece of state as it was (params, optimizer momentum buffers);
each input in ``ACCEPTED`` gives both twins the same outcome. One table, one test, two twins.

A case is written once against a small namespace ``w`` (``w.tw`` the twin module, ``w.model``
and ``w.opt`` after one good step, so momentum buffers exist); ``w.array`` and ``w.param``
build the twin's own kind of array, ``w.pool`` its data-parallel engine (``DataParallel`` or
``DDPTrainer``, refused before any process starts). Where the twins differ in kind, the case
uses each twin's counterpart: a NumPy array made read-only is a tensor that does not require
grad.
"""

from __future__ import annotations

import multiprocessing
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import impl_numpy
import impl_torch
from impl_numpy.parallel import DataParallel
from impl_torch.parallel import DDPTrainer

SIZES = [3, 4, 2]
X = np.random.default_rng(0).standard_normal((4, 3))
Y = np.array([0, 1, 1, 0])
NAN = float("nan")


def _world(name: str) -> SimpleNamespace:
    tw = impl_numpy if name == "numpy" else impl_torch
    is_t = tw is impl_torch

    def array(a):
        return torch.as_tensor(np.asarray(a)) if is_t else np.asarray(a)

    def param(dtype="float64", read_only=False, shape=(3,)):
        if is_t:
            t = torch.zeros(shape, dtype=getattr(torch, dtype))
            return t.requires_grad_(not read_only and t.is_floating_point())
        a = np.zeros(shape, dtype)
        a.flags.writeable = not read_only
        return a

    def make_read_only(p):
        if is_t:
            p.requires_grad_(False)
        else:
            p.flags.writeable = False

    def pool(**kw):
        args = {"world_size": 2, "max_batch": 8, "timeout": 5.0, **kw}
        if "threads" in args:
            args["threads_per_rank" if is_t else "threads_per_worker"] = args.pop("threads")
        if is_t:
            return DDPTrainer(SIZES, dtype="float64", **args)
        return DataParallel(impl_numpy.MLP(SIZES, dtype="float64"), **args)

    model = tw.MLP(SIZES, dtype="float64", seed=0)
    opt = tw.SGD(model.params, lr=0.1, momentum=0.9)
    tw.train_step(model, opt, array(X), array(Y))  # momentum buffers now exist
    return SimpleNamespace(tw=tw, name=name, model=model, opt=opt, X=array(X), y=array(Y),
                           array=array, param=param, make_read_only=make_read_only, pool=pool)


def _state(w) -> list:
    """Params and momentum buffers as NumPy copies."""
    if w.tw is impl_torch:
        bufs = [w.opt.state[p].get("momentum_buffer") for p in w.model.params]
        return [t.detach().numpy().copy() for t in [*w.model.params, *bufs]]
    return [a.copy() for a in [*w.model.params, *w.opt.buffers]]


def _other_params(w):
    return w.tw.MLP(SIZES, dtype="float64", seed=1).params


def _train(w, X=None, y=None):
    return w.tw.train_step(w.model, w.opt, w.X if X is None else X, w.y if y is None else y)


def _read_only_after(w):
    w.make_read_only(w.model.params[-1])
    return _train(w)


def _out_detached(w):
    params = w.model.params
    return w.model.loss_and_grads(w.X, w.y, out=[p.detach() if w.tw is impl_torch else p[...]
                                                  for p in params])


def _out_read_only(w):
    """Gradient storage that cannot be written in place: a read-only array; a tensor that
    requires grad."""
    out = [w.param(shape=tuple(p.shape)) for p in w.model.params]
    if w.tw is impl_numpy:
        for o in out:
            o.flags.writeable = False
    return w.model.loss_and_grads(w.X, w.y, out=out)


# id -> (call(w), exception, what the message must name)
REFUSED = {
    # --- the network
    "MLP seed=True": (lambda w: w.tw.MLP(SIZES, seed=True), TypeError, "seed"),
    "MLP seed=-1": (lambda w: w.tw.MLP(SIZES, seed=-1), ValueError, "seed"),
    "MLP seed=1.5": (lambda w: w.tw.MLP(SIZES, seed=1.5), TypeError, "seed"),
    "MLP dtype=None": (lambda w: w.tw.MLP(SIZES, dtype=None), TypeError, "dtype"),
    "MLP dtype=int32": (lambda w: w.tw.MLP(SIZES, dtype="int32"), ValueError, "dtype"),
    "MLP device=nosuch": (lambda w: w.tw.MLP(SIZES, device="nosuch"), ValueError, "device"),
    "MLP device=None": (lambda w: w.tw.MLP(SIZES, device=None), TypeError, "device"),
    "MLP device=3": (lambda w: w.tw.MLP(SIZES, device=3), TypeError, "device"),
    "MLP loss=list": (lambda w: w.tw.MLP(SIZES, loss=["mse"]), TypeError, "loss"),
    "MLP activation=5": (lambda w: w.tw.MLP(SIZES, activation=5), TypeError, "activation"),
    "MLP layer_sizes=None": (lambda w: w.tw.MLP(None), TypeError, "layer_sizes"),
    "MLP layer_sizes bool": (lambda w: w.tw.MLP([3, True, 2]), TypeError, "layer_sizes"),
    # sizes (tests/test_hardening.py has more): refused at spec validation, before allocating
    "MLP layer_sizes 784-2**62-10": (lambda w: w.tw.MLP([784, 2**62, 10]), ValueError,
                                     "layer_sizes.*MAX_PARAMS"),
    "MLP layer_sizes 10**7 x 10**7": (lambda w: w.tw.MLP([10**7, 10**7]), ValueError,
                                      "layer_sizes.*MAX_PARAMS"),
    "MLP layer_sizes int64 wrap-around": (lambda w: w.tw.MLP([np.int64(2**32 - 1),
                                                              np.int64(2**32)]),
                                          ValueError, "layer_sizes.*MAX_PARAMS"),
    "MLP layer_sizes 20 x 4096": (lambda w: w.tw.MLP([4096] * 20), ValueError,
                                  "layer_sizes.*MAX_PARAMS"),
    "MLP layer_sizes 1025 sizes": (lambda w: w.tw.MLP([2] * 1025), ValueError,
                                   "layer_sizes.*MAX_LAYERS"),
    # --- the optimizer
    "SGD param groups": (lambda w: w.tw.SGD([{"params": w.model.params}], lr=0.1),
                         TypeError, "params"),
    "SGD one array": (lambda w: w.tw.SGD(w.model.params[0], lr=0.1), TypeError, "params"),
    "SGD mixed dtypes": (lambda w: w.tw.SGD([w.param("float64"), w.param("float32")], lr=0.1),
                         TypeError, "params"),
    "SGD int param": (lambda w: w.tw.SGD([w.param("int64")], lr=0.1), TypeError, "params"),
    "SGD read-only param": (lambda w: w.tw.SGD([w.param(), w.param(read_only=True)], lr=0.1),
                            ValueError, "params"),
    "SGD duplicate param": (lambda w: w.tw.SGD([w.model.params[0]] * 2, lr=0.1),
                            ValueError, "params"),
    "SGD empty": (lambda w: w.tw.SGD([], lr=0.1), ValueError, "params"),
    "SGD list of floats": (lambda w: w.tw.SGD([[1.0, 2.0]], lr=0.1), TypeError, "params"),
    "SGD lr=nan": (lambda w: w.tw.SGD(w.model.params, lr=NAN), ValueError, "lr"),
    "SGD lr=True": (lambda w: w.tw.SGD(w.model.params, lr=True), TypeError, "lr"),
    "SGD lr=-1": (lambda w: w.tw.SGD(w.model.params, lr=-1.0), ValueError, "lr"),
    "SGD lr=1e300 over float32": (lambda w: w.tw.SGD([w.param("float32")], lr=1e300),
                                  ValueError, "lr"),
    "SGD lr='0.1'": (lambda w: w.tw.SGD(w.model.params, lr="0.1"), TypeError, "lr"),
    "SGD momentum=nan": (lambda w: w.tw.SGD(w.model.params, lr=0.1, momentum=NAN),
                         ValueError, "momentum"),
    "SGD dampening=inf": (lambda w: w.tw.SGD(w.model.params, lr=0.1, dampening=float("inf")),
                          ValueError, "dampening"),
    "SGD weight_decay=nan": (lambda w: w.tw.SGD(w.model.params, lr=0.1, weight_decay=NAN),
                             ValueError, "weight_decay"),
    "SGD nesterov=1": (lambda w: w.tw.SGD(w.model.params, lr=0.1, momentum=0.9, nesterov=1),
                       TypeError, "nesterov"),
    "SGD nesterov without momentum": (lambda w: w.tw.SGD(w.model.params, lr=0.1,
                                                         nesterov=True), ValueError, "nesterov"),
    "SGD lr=10**400": (lambda w: w.tw.SGD(w.model.params, lr=10**400), ValueError, "lr"),
    "SGD lr=np.longdouble(1e4000)": (lambda w: w.tw.SGD(w.model.params,
                                                        lr=np.longdouble("1e4000")),
                                     ValueError, "lr"),
    "SGD momentum=np.float16(inf)": (lambda w: w.tw.SGD(w.model.params, lr=0.1,
                                                        momentum=np.float16("inf")),
                                     ValueError, "momentum"),
    # --- a training step
    "train_step opt of another model": (lambda w: w.tw.train_step(
        w.model, w.tw.SGD(_other_params(w), lr=0.1), w.X, w.y), ValueError, "opt"),
    "train_step param read-only since": (_read_only_after, ValueError, "params"),
    "train_step X=None": (lambda w: w.tw.train_step(w.model, w.opt, None, w.y), TypeError, "X"),
    "train_step y=None": (lambda w: w.tw.train_step(w.model, w.opt, w.X, None), TypeError, "y"),
    "train_step X ragged": (lambda w: _train(w, X=[[1.0, 2.0, 3.0], [1.0]] * 2), TypeError, "X"),
    "train_step X strings": (lambda w: _train(w, X=[["a", "b", "c"]] * 4), TypeError, "X"),
    "train_step X 5 features": (lambda w: _train(w, X=w.array(np.ones((4, 5)))),
                                ValueError, "X"),
    "train_step X NaN": (lambda w: _train(w, X=w.array(np.full((4, 3), np.nan))),
                         ValueError, "X"),
    "train_step X empty": (lambda w: _train(w, X=w.array(np.ones((0, 3))), y=w.array(Y[:0])),
                           ValueError, "X"),
    "train_step y float": (lambda w: _train(w, y=w.array(Y + 0.5)), TypeError, "y"),
    "train_step y out of range": (lambda w: _train(w, y=w.array(Y + 5)), ValueError, "y"),
    "train_step y too short": (lambda w: _train(w, y=w.array(Y[:3])), ValueError, "y"),
    "train_step X on meta": (lambda w: _train(w, X=torch.empty((4, 3), device="meta")),
                             TypeError, "X is a tensor on the 'meta' device"),
    "train_step y on meta": (lambda w: _train(w, y=torch.empty(4, dtype=torch.long,
                                                               device="meta")),
                             TypeError, "y is a tensor on the 'meta' device"),
    "train_step X sparse": (lambda w: _train(w, X=torch.as_tensor(X).to_sparse()),
                            TypeError, "X is a sparse_coo tensor"),
    "loss X=None": (lambda w: w.model.loss(None, w.y), TypeError, "X"),
    "forward X dict": (lambda w: w.model.forward({"a": 1}), TypeError, "X"),
    # --- gradients into caller storage
    "loss_and_grads out=params": (lambda w: w.model.loss_and_grads(w.X, w.y,
                                                                   out=w.model.params),
                                  ValueError, "out"),
    "loss_and_grads out=views of params": (_out_detached, ValueError, "out"),
    "loss_and_grads out read-only": (_out_read_only, ValueError, "out"),
    "loss_and_grads out too short": (lambda w: w.model.loss_and_grads(
        w.X, w.y, out=w.model.zero_grads()[:3]), ValueError, "out"),
    "loss_and_grads out=None list": (lambda w: w.model.loss_and_grads(w.X, w.y, out=[None] * 4),
                                     TypeError, "out"),
    "loss_and_grads out float32": (lambda w: w.model.loss_and_grads(
        w.X, w.y, out=[w.param("float32", shape=tuple(p.shape)) for p in w.model.params]),
        TypeError, "out"),
    # --- the input pipeline
    "batches X=None": (lambda w: w.tw.batches(None, Y, 2), TypeError, "X"),
    "batches y=None": (lambda w: w.tw.batches(X, None, 2), TypeError, "y"),
    "batches seed=True": (lambda w: w.tw.batches(X, Y, 2, seed=True), TypeError, "seed"),
    "batches seed=-1": (lambda w: w.tw.batches(X, Y, 2, seed=-1), ValueError, "seed"),
    "batches batch_size=0": (lambda w: w.tw.batches(X, Y, 0), ValueError, "batch_size"),
    "batches batch_size=2.0": (lambda w: w.tw.batches(X, Y, 2.0), TypeError, "batch_size"),
    "batches batch_size=2**63": (lambda w: w.tw.batches(X, Y, 2**63), ValueError, "batch_size"),
    "batches X on meta": (lambda w: w.tw.batches(torch.empty((4, 3), device="meta"), Y, 2),
                          TypeError, "X is a tensor on the 'meta' device"),
    "batches lengths differ": (lambda w: w.tw.batches(X, Y[:3], 2), ValueError, "X and y"),
    # --- the data-parallel engine (refused before any process starts)
    "pool world_size > max_batch": (lambda w: w.pool(world_size=3, max_batch=2),
                                    ValueError, "world_size"),
    "pool world_size=True": (lambda w: w.pool(world_size=True), TypeError, "world_size"),
    "pool max_batch=0": (lambda w: w.pool(max_batch=0), ValueError, "max_batch"),
    "pool max_batch=2**40": (lambda w: w.pool(max_batch=2**40), ValueError, "max_batch"),
    "pool timeout=nan": (lambda w: w.pool(timeout=NAN), ValueError, "timeout"),
    "pool timeout=0": (lambda w: w.pool(timeout=0), ValueError, "timeout"),
    "pool timeout=-1": (lambda w: w.pool(timeout=-1), ValueError, "timeout"),
    "pool timeout='5'": (lambda w: w.pool(timeout="5"), TypeError, "timeout"),
    "pool start_timeout=inf": (lambda w: w.pool(start_timeout=float("inf")),
                               ValueError, "start_timeout"),
    "pool threads=-1": (lambda w: w.pool(threads=-1), ValueError, "threads"),
    "pool threads=0": (lambda w: w.pool(threads=0), ValueError, "threads"),
}


@pytest.mark.parametrize("twin", ["numpy", "torch"])
@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_alike_and_nothing_changes(case, twin):
    call, exc, names = REFUSED[case]
    w = _world(twin)
    before = _state(w)
    with pytest.raises(exc, match=names) as info:
        call(w)
    assert type(info.value) is exc, f"{case}: {type(info.value).__name__}: {info.value}"
    assert "\n" not in str(info.value), f"{case}: the message is one line"
    after = _state(w)
    assert len(after) == len(before)
    for i, (a, b) in enumerate(zip(after, before)):
        np.testing.assert_array_equal(a, b, err_msg=f"{case}: state[{i}] changed")
    assert multiprocessing.active_children() == [], f"{case}: a process was left running"


def _read_only(a):
    a = np.array(a)
    a.flags.writeable = False
    return a


def _batch_count(loader):
    batches = list(loader)
    return len(loader), len(batches), sum(len(b[0]) for b in batches)


# id -> call(w) returning something comparable between the twins
ACCEPTED = {
    "batches drop_last n < batch": lambda w: _batch_count(
        w.tw.batches(X, Y, 10, drop_last=True)),
    "batches n = 0": lambda w: _batch_count(w.tw.batches(X[:0], Y[:0], 3)),
    "batches n = 0 drop_last": lambda w: _batch_count(w.tw.batches(X[:0], Y[:0], 3,
                                                                   drop_last=True)),
    "batches uneven": lambda w: _batch_count(w.tw.batches(X, Y, 3)),
    "batches drop_last uneven": lambda w: _batch_count(w.tw.batches(X, Y, 3, drop_last=True)),
    "MLP seed=np.int64(2)": lambda w: w.tw.MLP(SIZES, seed=np.int64(2)).n_params,
    "MLP dtype=np.float64": lambda w: repr(w.tw.MLP(SIZES, dtype=np.float64)),
    "MLP device=cpu": lambda w: repr(w.tw.MLP(SIZES, device="cpu")),
    "MLP device=torch.device": lambda w: repr(w.tw.MLP(SIZES, device=torch.device("cpu"))),
    "loss X as lists": lambda w: round(w.model.loss(X.tolist(), Y.tolist()), 12),
    "SGD lr=0": lambda w: w.tw.SGD(w.model.params, lr=0).__class__.__name__,
    # NumPy scalars of any width, read-only or strided arrays, tensors that require grad,
    # dtypes NumPy lacks: accepted alike, with no warning (tests/test_hardening.py has more)
    "SGD NumPy scalar hyper-parameters": lambda w: round(_train(w), 12) if w.tw.SGD(
        w.model.params, lr=np.float16(0.5), momentum=np.float32(0.9), dampening=np.int64(0),
        weight_decay=np.longdouble("1e-3")) else None,
    "train_step X read-only": lambda w: round(_train(w, X=_read_only(X), y=_read_only(Y)), 12),
    "train_step X broadcast": lambda w: round(_train(w, X=np.broadcast_to(X[0], X.shape)), 12),
    "train_step X negative strides": lambda w: round(_train(w, X=X[::-1]), 12),
    "train_step X requires grad": lambda w: round(_train(
        w, X=torch.tensor(X, requires_grad=True)), 12),
    "loss X bfloat16 tensor": lambda w: round(w.model.loss(torch.tensor(X).bfloat16(), Y), 12),
    "loss X longdouble": lambda w: round(w.model.loss(X.astype(np.longdouble), Y), 12),
    "batches batch_size=2**63 - 1": lambda w: _batch_count(w.tw.batches(X, Y, 2**63 - 1)),
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_accepted_alike(case):
    outcomes = [ACCEPTED[case](_world(t)) for t in ("numpy", "torch")]
    assert outcomes[0] == outcomes[1], case


@pytest.mark.parametrize("loader", ["batched_loader", "per_sample_loader"])
@pytest.mark.parametrize("n, drop_last", [(4, True), (0, True), (0, False)])
def test_torch_loaders_yield_nothing_when_numpy_does(loader, n, drop_last):
    """n < batch with drop_last, or n = 0: no batch and len 0, like ``impl_numpy.batches``."""
    make = getattr(impl_torch, loader)
    got = _batch_count(make(X[:n], Y[:n], 10, drop_last=drop_last))
    assert got == _batch_count(impl_numpy.batches(X[:n], Y[:n], 10, drop_last=drop_last))
    assert got == (0, 0, 0)
