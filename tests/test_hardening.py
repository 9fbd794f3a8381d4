"""Absurd sizes and inputs that used to warn: both twins refuse alike, or accept alike without
a warning (pytest runs with ``-W error``; the read-only and ``requires_grad`` cases are also run
in a fresh ``python -W error``, because torch warns about some of them only once a process).

* Sizes: a network beyond ``MAX_PARAMS`` params or ``MAX_LAYERS`` sizes, a batch beyond
  ``MAX_ACTIVATION_BYTES`` of activations, a ``batch_size`` beyond int64, a pool's ``max_batch``
  beyond ``MAX_ACTIVATION_BYTES // 8``: one ``ValueError`` naming the size, before anything is
  allocated (``core.spec``, ``core.checks``); products are Python ints, never wrapped int64.
* Inputs: SGD hyper-parameters as NumPy scalars of any width (stored as Python floats),
  read-only, broadcast and negatively strided arrays, tensors that require grad (detached),
  bfloat16 and float8 tensors, longdouble arrays, values beyond float32, overflow while
  training (inf and NaN, silently, as torch does); tensors on the ``meta`` device, sparse
  ones: a ``TypeError`` naming the argument and what is wrong.
"""

from __future__ import annotations

import itertools
import math
import re
import subprocess
import sys
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

import impl_numpy
import impl_torch
from core import checkpoint_rules, spec
from core.spec import MAX_ACTIVATION_BYTES, MAX_LAYERS, MAX_PARAMS, make_spec, n_params
from impl_numpy.parallel import DataParallel
from impl_torch.parallel import DDPTrainer

from .helpers import TRAIN_RTOL

ROOT = Path(__file__).resolve().parent.parent
TWINS = {"numpy": impl_numpy, "torch": impl_torch}
DTYPES = ("float32", "float64")
SIZES = [3, 4, 2]
X = np.random.default_rng(0).standard_normal((4, 3))
Y = np.array([0, 1, 1, 0])


def _params(model) -> list:
    return [p.detach().cpu().numpy().copy() if isinstance(p, torch.Tensor) else p.copy()
            for p in model.params]


def _assert_unchanged(model, before, what):
    for i, (a, b) in enumerate(zip(_params(model), before, strict=True)):
        np.testing.assert_array_equal(a, b, err_msg=f"{what}: params[{i}] changed")


# ------------------------------------------------------------------------------ sizes
I64 = np.int64
TOO_LARGE = {  # id -> layer_sizes beyond the caps; every one allocates terabytes or more
    "784-2**62-10": [784, 2**62, 10],
    "10**7 x 10**7": [10**7, 10**7],
    "2**31-2": [2**31, 2],
    "784-2**40-10": [784, 2**40, 10],
    "huge last layer": [3, 4, 2**40],
    "huge first layer": [2**40, 3],
    "2**64 wide (beyond uint64)": [3, 2**64, 2],
    "int64 product wraps to 0": [I64(2**32 - 1), I64(2**32)],  # (a + 1) * b = 2**64
    "uint64 widths": [np.uint64(2**63), np.uint64(3)],
    "20 x 4096: each layer fits, the sum does not": [4096] * 20,
    "one param over the cap": [2**14, 2**14],
    "more digits than str() prints": [3, 10**5000, 2],
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("case", TOO_LARGE)
def test_too_many_params_refused_alike_before_allocating(case, twin, dtype, monkeypatch):
    """``MLP`` refuses at spec validation: ``init_params`` (the first allocation) never runs."""
    tw = TWINS[twin]

    def allocates(*args, **kwargs):
        raise AssertionError(f"{case}: init_params ran")

    monkeypatch.setattr(tw.mlp, "init_params", allocates)
    with pytest.raises(ValueError, match=r"^layer_sizes(\[\d+\] = [\d,~*]+ units:| \[.*\]"
                       r"( \(\d+ sizes\))? declare [\d,]+ params,) more than the cap "
                       r"MAX_PARAMS = 268,435,456"):
        tw.MLP(TOO_LARGE[case], dtype=dtype)


def test_size_messages_are_one_line_and_the_same_in_both_twins():
    for sizes in [*TOO_LARGE.values(), [2] * (MAX_LAYERS + 1)]:
        messages = []
        for tw in TWINS.values():
            with pytest.raises(ValueError) as info:
                tw.MLP(sizes)
            messages.append(str(info.value))
        assert messages[0] == messages[1]
        assert "\n" not in messages[0] and len(messages[0]) < 300, messages[0]


@pytest.mark.parametrize("twin", TWINS)
def test_size_messages_name_the_size(twin):
    tw = TWINS[twin]
    for sizes, message in [
        ([784, 2**62, 10], "layer_sizes[1] = 4,611,686,018,427,387,904 units: more than the cap "
                           "MAX_PARAMS = 268,435,456 params in that layer alone"),
        ([3, 10**5000, 2], "layer_sizes[1] = ~2**16609 units: more than the cap"),
        ([4096] * 20, "layer_sizes [4096, 4096, 4096, ..., 4096, 4096] (20 sizes) declare "
                      "318,844,928 params, more than the cap MAX_PARAMS = 268,435,456"),
        ([I64(2**32 - 1), I64(2**32)], "layer_sizes[0] = 4,294,967,295 units"),
        ([3, -10**5000], "layer_sizes: every layer width must be positive, got -~2**16609 in "
                         "[3, -~2**16609]"),
    ]:
        with pytest.raises(ValueError) as info:
            tw.MLP(sizes)
        assert str(info.value).startswith(message), str(info.value)


@pytest.mark.parametrize("twin", TWINS)
def test_too_many_layers_refused(twin):
    with pytest.raises(ValueError, match=r"^layer_sizes has 1,025 sizes, more than the cap "
                                         r"MAX_LAYERS = 1,024$"):
        TWINS[twin].MLP([2] * (MAX_LAYERS + 1))


@pytest.mark.parametrize("twin", TWINS)
def test_endless_or_huge_layer_sizes_never_listed(twin):
    for sizes, count in [(range(1, 10**12), "999,999,999,999"), (range(10**30), "over 1,024"),
                         (itertools.count(1), "over 1,024"), (iter([2] * 2000), "over 1,024")]:
        with pytest.raises(ValueError, match=f"^layer_sizes has {count} sizes, more than the "
                                             f"cap MAX_LAYERS = 1,024$"):
            TWINS[twin].MLP(sizes)


def test_caps_are_the_checkpoints_caps():
    """A network the twins build can be saved, and a checkpoint's network can be built: the
    checkpoint rules import core.spec's caps (no copy of their own), and they hold there."""
    source = Path(checkpoint_rules.__file__).read_text()
    assert re.search(r"^MAX_(PARAMS|LAYERS)\s*=", source, re.M) is None
    assert checkpoint_rules.MAX_PARAMS is spec.MAX_PARAMS == 2**28
    assert checkpoint_rules.MAX_LAYERS is spec.MAX_LAYERS
    fmt = checkpoint_rules.FORMAT
    config = {"activation": "relu", "loss": "mse", "dtype": "float32"}
    for sizes in ([2**14 - 1, 2**14], [2] * MAX_LAYERS):  # at the caps: accepted
        checkpoint_rules.check_config(fmt, {**config, "layer_sizes": sizes})
    for sizes, why in [([2**14, 2**14], "MAX_PARAMS = 268,435,456"),
                       ([2] * (MAX_LAYERS + 1), "2 to 1024 ints")]:
        with pytest.raises(checkpoint_rules.Refused, match=re.escape(why)):
            checkpoint_rules.check_config(fmt, {**config, "layer_sizes": sizes})


def test_the_cap_itself_is_accepted_and_counts_are_exact():
    at_cap = [2**14 - 1, 2**14]  # (2**14 - 1 + 1) * 2**14 = 2**28
    assert make_spec(at_cap).n_params == MAX_PARAMS
    assert make_spec([2] * MAX_LAYERS).n_params == 3 * 2 * (MAX_LAYERS - 1)
    assert n_params([I64(2**32 - 1), I64(2**32)]) == 2**64  # Python ints: no wrap-around


def test_every_benchmarked_network_is_below_the_caps():
    from bench.suite.grid import PROFILES, profile, step_sizes, variant_step_sizes

    largest = 0
    for name in PROFILES:
        p = profile(name)
        for sizes, _ in [*step_sizes(p), *variant_step_sizes(p)]:
            largest = max(largest, make_spec(sizes).n_params)
            for batch in {*p.batches, *(p.cpu_batches or ())}:
                spec.check_activations(batch, sizes, "float64")  # float32 needs half
    for deep in ([784, *[4096] * 6, 10], [784, 16384, 10]):
        largest = max(largest, make_spec(deep).n_params)
    assert largest < MAX_PARAMS / 2, largest  # room to spare
    spec.check_activations(10_000, [784, 16384, 10], "float64")  # MNIST's test set: 1.4 GB
    with pytest.raises(ValueError, match="MAX_ACTIVATION_BYTES"):  # all of MNIST: 4.8 GB
        spec.check_activations(70_000, [784, 16384, 10], "float32")


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("call", ["loss", "loss_and_grads", "forward", "predict", "train_step"])
def test_a_batch_beyond_max_activations_refused_before_the_forward(twin, call):
    """1,024 samples through 1-2**22-1 need 2**32 activations (16 GiB at float32)."""
    tw = TWINS[twin]
    model = tw.MLP([1, 2**22, 1])
    before = _params(model)
    Xb, yb = np.ones((1024, 1), np.float32), np.zeros(1024, np.int64)
    calls = {"loss": lambda: model.loss(Xb, yb),
             "loss_and_grads": lambda: model.loss_and_grads(Xb, yb),
             "forward": lambda: model.forward(Xb), "predict": lambda: model.predict(Xb),
             "train_step": lambda: tw.train_step(model, tw.SGD(model.params, lr=0.1), Xb, yb)}
    with pytest.raises(ValueError, match=r"^X: a batch of 1,024 samples through layer_sizes "
                       r"\[1, 4194304, 1\] needs 4,294,969,344 activations \(17,179,877,376 "
                       r"bytes as float32\), more than the cap MAX_ACTIVATION_BYTES = "
                       r"4,294,967,296; split the batch$"):
        calls[call]()
    _assert_unchanged(model, before, call)


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("batch_size", [2**63, 2**64 - 1, np.uint64(2**64 - 1), 10**30])
def test_batch_size_beyond_int64_refused_alike(twin, batch_size):
    with pytest.raises(ValueError, match=r"^batch_size = [\d,]+ is more than the cap MAX_INDEX"):
        TWINS[twin].batches(X, Y, batch_size)


@pytest.mark.parametrize("batch_size", [2**31, 2**62, 2**63 - 1])
def test_batch_size_larger_than_the_data_accepted_alike(batch_size):
    got = [[len(b[0]) for b in tw.batches(X, Y, batch_size, drop_last=drop)]
           for tw in TWINS.values() for drop in (False, True)]
    assert got == [[4], [], [4], []]


@pytest.mark.parametrize("max_batch", [MAX_ACTIVATION_BYTES // 8 + 1, 2**40, 2**64])
def test_pool_max_batch_beyond_the_cap_refused_before_any_memory(max_batch):
    """It sizes the shared segment (``max_batch x n_in``): was ``OSError`` ENOMEM in both."""
    for make in (lambda: DataParallel(impl_numpy.MLP(SIZES), world_size=2, max_batch=max_batch),
                 lambda: DDPTrainer(SIZES, world_size=2, max_batch=max_batch)):
        with pytest.raises(ValueError, match=r"^max_batch = [\d,]+ is more than the cap "
                                             r"MAX_ACTIVATION_BYTES // 8 = 536,870,912"):
            make()


# ---------------------------------------------------------------- SGD hyper-parameters
F32_MAX = float(np.finfo(np.float32).max)
ACCEPTED_HYPER = {  # id -> (SGD keyword arguments, the params' dtypes)
    "lr float16": ({"lr": np.float16(0.1)}, DTYPES),
    "lr float16 max": ({"lr": np.float16(65504)}, DTYPES),
    "lr float32 near max over float32": ({"lr": np.float32(3e38)}, DTYPES),
    "lr float32 max over float64": ({"lr": np.float32(F32_MAX)}, ("float64",)),
    "lr int64 huge": ({"lr": np.int64(2**62)}, DTYPES),
    "lr uint64 max": ({"lr": np.uint64(2**64 - 1)}, DTYPES),
    "lr longdouble": ({"lr": np.longdouble("0.1")}, DTYPES),
    "lr Fraction": ({"lr": Fraction(1, 10)}, DTYPES),
    "momentum float16": ({"lr": 0.1, "momentum": np.float16(0.9)}, DTYPES),
    "momentum float32 max": ({"lr": 0.1, "momentum": np.float32(F32_MAX)}, DTYPES),
    "dampening float16": ({"lr": 0.1, "momentum": 0.9, "dampening": np.float16(0.5)}, DTYPES),
    "weight_decay float16": ({"lr": 0.1, "weight_decay": np.float16(1e-3)}, DTYPES),
    "weight_decay float64 over float32": ({"lr": 0.1, "weight_decay": np.float64(1e-3)},
                                          DTYPES),
}


@pytest.mark.parametrize("case", ACCEPTED_HYPER)
def test_numpy_scalar_hyperparameters_accepted_alike_as_python_floats(case):
    kw, dtypes = ACCEPTED_HYPER[case]
    for dtype in dtypes:
        npm, tm = (tw.MLP(SIZES, dtype=dtype) for tw in TWINS.values())
        npo, to = impl_numpy.SGD(npm.params, **kw), impl_torch.SGD(tm.params, **kw)
        for name in ("lr", "momentum", "dampening", "weight_decay"):
            value = getattr(npo, name)
            assert type(value) is float and type(to.param_groups[0][name]) is float, name
            assert value == to.param_groups[0][name]
        if max(float(v) for v in kw.values()) > 1e3:  # steps overflow: another test
            continue
        for _ in range(3):
            impl_numpy.train_step(npm, npo, X, Y)
            impl_torch.train_step(tm, to, X, Y)
        assert all(b is None or b.dtype == dtype for b in npo.buffers), case
        for a, b in zip(_params(npm), _params(tm)):
            np.testing.assert_allclose(a, b, rtol=TRAIN_RTOL[dtype], err_msg=case)


REFUSED_HYPER = {  # id -> (SGD keyword arguments, the params' dtype, message)
    "lr 10**400": ({"lr": 10**400}, "float64", r"^Invalid lr value: lr=inf \(must be finite"),
    "lr -10**400": ({"lr": -10**400}, "float64", r"^Invalid lr value: lr=-inf"),
    "lr Fraction 10**400": ({"lr": Fraction(10**400)}, "float64", "^Invalid lr value"),
    "lr longdouble 1e4000": ({"lr": np.longdouble("1e4000")}, "float64", "^Invalid lr value"),
    "lr float64 1e300 over float32": ({"lr": np.float64(1e300)}, "float32",
                                      r"^Invalid lr value: lr=1e\+300 \(must be finite in "
                                      r"float32\)$"),
    "lr float16 nan": ({"lr": np.float16("nan")}, "float32", "^Invalid lr value: lr=nan"),
    "lr float32 -inf": ({"lr": np.float32("-inf")}, "float32", "^Invalid lr value: lr=-inf"),
    "lr float16 negative": ({"lr": np.float16(-1)}, "float32", "^Invalid learning rate"),
    "momentum float16 inf": ({"lr": 0.1, "momentum": np.float16("inf")}, "float64",
                             "^Invalid momentum value"),
    "weight_decay float64 max over float32": ({"lr": 0.1, "weight_decay": np.float64(1e308)},
                                              "float32", "^Invalid weight_decay value"),
}


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("case", REFUSED_HYPER)
def test_out_of_range_hyperparameters_refused_alike(case, twin):
    kw, dtype, message = REFUSED_HYPER[case]
    model = TWINS[twin].MLP(SIZES, dtype=dtype)
    before = _params(model)
    with pytest.raises(ValueError, match=message) as info:
        TWINS[twin].SGD(model.params, **kw)
    assert len(str(info.value)) < 120, "a huge int is never printed in full"
    _assert_unchanged(model, before, case)


# ----------------------------------------------------------------------------- inputs
def _read_only(a):
    a = np.array(a)
    a.flags.writeable = False
    return a


ACCEPTED_X = {  # id -> X (the model is float64 unless the id says otherwise)
    "read-only": lambda: _read_only(X),
    "read-only float32": lambda: _read_only(X.astype(np.float32)),
    "broadcast (zero strides, read-only)": lambda: np.broadcast_to(X[0], X.shape),
    "negative strides": lambda: X[::-1],
    "Fortran order": lambda: np.asfortranarray(X),
    "strided view": lambda: np.repeat(X, 2, axis=1)[:, ::2],
    "longdouble": lambda: X.astype(np.longdouble),
    "tensor requiring grad": lambda: torch.tensor(X, requires_grad=True),
    "non-leaf tensor requiring grad": lambda: torch.tensor(X, requires_grad=True) * 1.0,
    "flipped tensor": lambda: torch.tensor(X[::-1].copy()).flip(0),
    "bfloat16 tensor": lambda: torch.tensor(X).to(torch.bfloat16),
    "float8 tensor": lambda: torch.tensor(X).to(torch.float8_e4m3fn),
    "float16 tensor": lambda: torch.tensor(X, dtype=torch.float16),
}


def _expected_X(case):
    """The same values as a plain writeable float64 array."""
    Xc = ACCEPTED_X[case]()
    return np.asarray(Xc.detach().double() if isinstance(Xc, torch.Tensor) else Xc, np.float64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ACCEPTED_X)
def test_unusual_but_valid_X_accepted_alike_without_a_warning(case, dtype):
    got = []
    for tw in TWINS.values():
        model = tw.MLP(SIZES, dtype=dtype)
        Xc, Xref = ACCEPTED_X[case](), _expected_X(case)
        loss = model.loss(Xc, Y)
        np.testing.assert_allclose(loss, model.loss(Xref, Y), rtol=TRAIN_RTOL[dtype],
                                   err_msg=f"{tw.__name__}: {case} read differently")
        out = np.asarray(model.forward(ACCEPTED_X[case]()).detach()
                         if tw is impl_torch else model.forward(ACCEPTED_X[case]()))
        step = tw.train_step(model, tw.SGD(model.params, lr=0.1), Xc, Y)
        got.append((loss, out, step, _params(model)))
        if isinstance(Xc, torch.Tensor) and Xc.requires_grad and Xc.is_leaf:
            assert Xc.grad is None, f"{tw.__name__}: train_step wrote X.grad"
        if isinstance(Xc, np.ndarray):
            np.testing.assert_array_equal(Xc, Xref)  # the caller's X is as it was
    rtol = TRAIN_RTOL[dtype]
    np.testing.assert_allclose(got[0][0], got[1][0], rtol=rtol)
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=rtol)
    np.testing.assert_allclose(got[0][2], got[1][2], rtol=rtol)
    for a, b in zip(got[0][3], got[1][3]):
        np.testing.assert_allclose(a, b, rtol=rtol)


@pytest.mark.parametrize("twin", TWINS)
def test_read_only_y_and_read_only_batches_accepted(twin):
    tw = TWINS[twin]
    model = tw.MLP(SIZES, dtype="float64")
    assert model.loss(_read_only(X), _read_only(Y)) == model.loss(X, Y)
    got = [[np.asarray(yb).tolist() for _, yb in tw.batches(_read_only(X), _read_only(Y), 3)]]
    assert got == [[np.asarray(yb).tolist() for _, yb in tw.batches(X, Y, 3)]]


def test_torch_twin_loads_read_only_params_without_a_warning():
    arrays = [_read_only(p) for p in impl_numpy.MLP(SIZES, seed=3).params]
    model = impl_torch.MLP(SIZES)
    model.load_numpy_params(arrays)
    for a, b in zip(model.numpy_params(), arrays):
        np.testing.assert_array_equal(a, b)


def _quietly(make):
    """``make()``: torch warns that sparse CSR support is in beta when one is made."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return make()


def _meta(shape, dtype=torch.float64):
    return torch.empty(shape, dtype=dtype, device="meta")


REFUSED_INPUT = {  # id -> (X, y, exception, message)
    "X on meta": (lambda: _meta((4, 3)), lambda: Y, TypeError,
                  r"^X is a tensor on the 'meta' device, which holds no data$"),
    "y on meta": (lambda: X, lambda: _meta((4,), torch.int64), TypeError,
                  r"^y is a tensor on the 'meta' device, which holds no data$"),
    "X on meta, requires grad": (lambda: _meta((4, 3)).requires_grad_(), lambda: Y, TypeError,
                                 "^X is a tensor on the 'meta' device"),
    "X sparse": (lambda: torch.tensor(X).to_sparse(), lambda: Y, TypeError,
                 r"^X is a sparse_coo tensor; pass a dense one \(X.to_dense\(\)\)$"),
    "X sparse csr": (lambda: _quietly(torch.tensor(X).to_sparse_csr), lambda: Y, TypeError,
                     "^X is a sparse_csr tensor"),
    "y sparse": (lambda: X, lambda: torch.tensor(Y).to_sparse(), TypeError,
                 "^y is a sparse_coo tensor"),
    "X beyond float32": (lambda: np.full((4, 3), 1e300), lambda: Y, ValueError,
                         r"^X contains NaN or inf \(as float32\)$"),
    "X longdouble beyond float64": (lambda: np.full((4, 3), np.longdouble("1e4000")),
                                    lambda: Y, ValueError, r"^X contains NaN or inf \(as "),
}


CALLS = ["loss", "loss_and_grads", "forward", "train_step", "batches"]
# forward takes no y; a loader holds values as they are (the model checks them)
REFUSED_CALLS = [(case, call) for case in REFUSED_INPUT for call in CALLS
                 if not (call == "forward" and case.startswith("y"))
                 and not (call == "batches" and REFUSED_INPUT[case][2] is ValueError)]


@pytest.mark.parametrize("twin", TWINS)
@pytest.mark.parametrize("case, call", REFUSED_CALLS)
def test_tensors_without_data_refused_alike(case, call, twin):
    make_X, make_y, exc, message = REFUSED_INPUT[case]
    tw = TWINS[twin]
    model = tw.MLP(SIZES, dtype="float32")
    opt = tw.SGD(model.params, lr=0.1, momentum=0.9)
    tw.train_step(model, opt, X, Y)
    before = _params(model)
    Xc, yc = make_X(), make_y()
    calls = {"loss": lambda: model.loss(Xc, yc),
             "loss_and_grads": lambda: model.loss_and_grads(Xc, yc),
             "forward": lambda: model.forward(Xc),
             "train_step": lambda: tw.train_step(model, opt, Xc, yc),
             "batches": lambda: tw.batches(Xc, yc, 2)}
    with pytest.raises(exc, match=message):
        calls[call]()
    _assert_unchanged(model, before, case)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("loss", ["cross_entropy", "mse"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_overflow_while_training_is_silent_inf_and_nan_in_both(dtype, loss, activation):
    """Finite inputs, a step that blows up: torch goes to inf and NaN silently; the NumPy twin
    did too, but with a RuntimeWarning (an error under ``-W error``) in matmul."""
    big = float(np.finfo(dtype).max) / 2
    Xb = np.full((4, 3), big)
    results = []
    for tw in TWINS.values():
        model = tw.MLP(SIZES, dtype=dtype, loss=loss, activation=activation)
        opt = tw.SGD(model.params, lr=1.0, momentum=0.9, weight_decay=big)
        losses = [tw.train_step(model, opt, Xb, Y) for _ in range(3)]
        proba = np.asarray(model.predict_proba(Xb))
        results.append((losses, proba, _params(model)))
    (l0, p0, w0), (l1, p1, w1) = results
    assert not math.isfinite(l0[-1]) and not math.isfinite(l1[-1])
    np.testing.assert_array_equal(np.isnan(p0), np.isnan(p1))
    for a, b in zip(w0, w1):
        np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b))


FRESH_PROCESS = r"""
import numpy as np, torch
import impl_numpy, impl_torch
X = np.random.default_rng(0).standard_normal((4, 3)); Y = np.array([0, 1, 1, 0])
ro = X.copy(); ro.flags.writeable = False
yro = Y.copy(); yro.flags.writeable = False
for tw in (impl_numpy, impl_torch):
    for dtype in ("float32", "float64"):
        m = tw.MLP([3, 4, 2], dtype=dtype)
        opt = tw.SGD(m.params, lr=np.float32(0.1), momentum=np.float16(0.9),
                     weight_decay=np.float16(1e-3))
        for make in (lambda: ro, lambda: np.broadcast_to(X[0], X.shape), lambda: X[::-1],
                     lambda: torch.tensor(X, requires_grad=True),
                     lambda: torch.tensor(X, requires_grad=True) * 1.0):
            m.loss_and_grads(make(), yro)
            m.forward(make())
            m.predict(make())
            tw.train_step(m, opt, make(), yro)
            list(tw.batches(make(), yro, 3))
        SGD = tw.SGD(m.params, lr=np.float32(3e38) if dtype == "float32" else np.float16(1))
    impl_torch.MLP([3, 4, 2]).load_numpy_params(
        [np.broadcast_to(p, p.shape) for p in impl_numpy.MLP([3, 4, 2]).params])
print("no warning")
"""


def test_no_warning_in_a_fresh_process_under_W_error():
    """torch warns about a read-only array once per process: here it is the first time."""
    done = subprocess.run([sys.executable, "-W", "error", "-c", FRESH_PROCESS], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "no warning"


# ---------------------------------------------- hostile round: seeds, caps, load_numpy_params
@pytest.mark.parametrize("seed", [2**63, 2**64, 10**100, -1])
def test_seeds_beyond_int64_are_one_valueerror_in_both_twins(seed):
    X, y = np.zeros((4, 3), np.float32), np.zeros(4, np.int64)
    for mod in (impl_numpy, impl_torch):
        with pytest.raises(ValueError, match=r"seed must be in 0\.\.2\*\*63 - 1"):
            mod.batches(X, y, 2, seed=seed)
        assert len(mod.batches(X, y, 2, seed=2**63 - 1)) == 2


@pytest.mark.parametrize("X", [
    lambda: np.broadcast_to(np.float32(0), (2**30, 4)),
    lambda: np.broadcast_to(np.float64(0), (2**28, 4)),
    lambda: np.broadcast_to(np.int64(1), (2**29, 4)),
])
@pytest.mark.parametrize("call", ["predict", "forward", "loss", "loss_and_grads"])
def test_a_huge_batch_is_refused_on_its_shape_before_any_copy(X, call):
    X = X()
    y = np.broadcast_to(np.int64(0), (len(X),))
    for mod in (impl_numpy, impl_torch):
        model = mod.MLP([4, 8, 3], dtype="float32", seed=0)
        args = (X,) if call in ("predict", "forward") else (X, y)
        with pytest.raises(ValueError, match="MAX_ACTIVATION_BYTES"):
            getattr(model, call)(*args)


@pytest.mark.parametrize("make", [
    lambda p: torch.empty_like(p, device="meta"),
    lambda p: p.detach().to_sparse(),
    lambda p: p.detach().to("meta"),
])
def test_load_numpy_params_refuses_tensors_without_data_before_writing(make):
    model = impl_torch.MLP([3, 4, 2], seed=0)
    before = model.numpy_params()
    arrays = [p.detach().clone() for p in model.params]
    arrays[-1] = make(model.params[-1])
    with pytest.raises(TypeError, match=r"params\[3\] is a"):
        model.load_numpy_params(arrays)
    for a, b in zip(before, model.numpy_params()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make", [
    lambda p: torch.empty_like(p, device="meta"),
    lambda p: torch.zeros_like(p).to_sparse(),
    lambda p: torch.zeros(p.shape[-1], dtype=p.dtype).expand(p.shape),
    lambda p: torch.zeros(1, dtype=p.dtype).expand(p.shape),
])
def test_torch_out_without_writable_distinct_memory_is_refused_before_writing(make):
    model = impl_torch.MLP([3, 4, 2], seed=0)
    out = model.zero_grads()
    out[0].fill_(7.0)
    out[2] = make(model.params[2])
    X, y = np.ones((2, 3), np.float32), np.zeros(2, np.int64)
    with pytest.raises((TypeError, ValueError), match=r"out\[2\]"):
        model.loss_and_grads(X, y, out=out)
    assert bool((out[0] == 7.0).all())


@pytest.mark.parametrize("shape, strides", [((2, 4), (0, 1)), ((2, 4), (1, 1)), ((2, 4), (2, 1))])
def test_numpy_out_that_overlaps_itself_is_refused_before_writing(shape, strides):
    model = impl_numpy.MLP([3, 4, 2], seed=0)
    out = model.zero_grads()
    out[0][...] = 7.0
    buf = np.zeros(64, model.params[2].dtype)
    out[2] = np.lib.stride_tricks.as_strided(buf, shape, [s * buf.itemsize for s in strides])
    X, y = np.ones((2, 3), np.float32), np.zeros(2, np.int64)
    with pytest.raises(ValueError, match=r"out\[2\] is read-only: its elements may overlap"):
        model.loss_and_grads(X, y, out=out)
    assert (out[0] == 7.0).all()
