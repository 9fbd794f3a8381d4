"""Round 3 of the hardening: huge broadcast data in every entry point, exotic tensors and
dates where numbers belong. Both twins give one verdict (and, where they refuse, one message)
with no warning (pytest runs with ``-W error``), and a refused call changes nothing.

* ``batches`` (both twins) holds at most ``MAX_DATA_BYTES`` of X and of y at their logical
  size (a broadcast array counts every row it shows), checked before any copy; X and y must
  hold numbers (bool, int, unsigned, float). The data-parallel engines check the activation
  cap on X's shape before copying it, as ``loss_and_grads`` does.
* Tensors with the negative or conjugate bit, made under ``inference_mode``, or requiring
  grad as the NumPy twin's gradients: read alike (complex ones refused as complex).
* ``np.timedelta64`` / ``np.datetime64`` (NumPy calls timedelta64 an int) as a
  hyper-parameter, size or seed: a ``TypeError`` naming the argument.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import impl_numpy
import impl_torch
from core.spec import MAX_DATA_BYTES
from impl_numpy.parallel import DataParallel

TWINS = {"numpy": impl_numpy, "torch": impl_torch}
X = np.random.default_rng(0).standard_normal((4, 3))
Y = np.array([0, 1, 1, 0])


def _verdict(call):
    """``("ok", batch shapes and values)`` or ``(exception type, message)``."""
    try:
        out = call()
    except Exception as e:  # noqa: BLE001 - the verdict is what is compared
        return type(e).__name__, str(e)
    return "ok", out


def _both(call):
    """The verdicts of ``call(twin)`` for both twins, which must be equal."""
    got = [_verdict(lambda tw=tw: call(tw)) for tw in TWINS.values()]
    assert got[0][0] == got[1][0], got
    if got[0][0] != "ok":
        assert got[0][1] == got[1][1] and "\n" not in got[0][1], got
    return got[0]


def _host(p) -> np.ndarray:
    return p.detach().numpy().copy() if isinstance(p, torch.Tensor) else p.copy()


def _epoch(tw, X, y, batch_size=2):
    return [(np.asarray(a).tolist(), np.asarray(b).tolist())
            for a, b in tw.batches(X, y, batch_size, shuffle=True, seed=3)]


# ------------------------------------------------------------------ huge broadcast data
HUGE = {  # id -> (X, y): logical sizes beyond MAX_DATA_BYTES, a few bytes in memory
    "X 2**40 x 784 float64": (lambda: np.broadcast_to(np.zeros(784), (2**40, 784)),
                              lambda: np.broadcast_to(np.int64(0), (2**40,))),
    "X 2**30 x 4 float32": (lambda: np.broadcast_to(np.float32(1), (2**30, 4)),
                            lambda: np.zeros(2**30, np.int8)[:0]),
    "X 2**33 x 1 uint8 (its order alone)": (lambda: np.broadcast_to(np.uint8(1), (2**33, 1)),
                                            lambda: np.zeros(4, np.int64)),
    "X an expanded tensor": (lambda: torch.zeros(784).expand(2**40, 784),
                             lambda: torch.zeros(0, dtype=torch.long)),
    "y only": (lambda: np.zeros((4, 3)), lambda: np.broadcast_to(np.int64(0), (2**40,))),
    "y an expanded tensor": (lambda: X, lambda: torch.zeros(1, dtype=torch.long).expand(2**40)),
}


@pytest.mark.parametrize("case", HUGE)
def test_batches_refuses_huge_logical_data_alike_before_any_copy(case):
    make_X, make_y = HUGE[case]
    name = "y" if case.startswith("y") else "X"
    kind, msg = _both(lambda tw: tw.batches(make_X(), make_y(), 2))
    assert kind == "ValueError", msg
    assert msg.startswith(f"{name}: (") and f"MAX_DATA_BYTES = {MAX_DATA_BYTES:,}" in msg, msg


def test_batches_takes_a_broadcast_X_below_the_cap_alike():
    Xb = np.broadcast_to(np.arange(3.0), (6, 3))
    kind, out = _both(lambda tw: _epoch(tw, Xb, np.arange(6) % 2))
    assert kind == "ok" and len(out) == 3


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [2**40, 2**28])
def test_huge_broadcast_batch_refused_by_train_step_and_the_numpy_pool(n, dtype):
    """``train_step`` (both twins) and ``DataParallel.loss_and_grads``: the activation cap on
    X's shape, before X is copied or scanned."""
    Xb = np.broadcast_to(np.zeros(784, dtype), (n, 784))
    yb = np.broadcast_to(np.int64(0), (n,))
    for tw in TWINS.values():
        model = tw.MLP([784, 16, 10], dtype=dtype)
        before = [_host(p) for p in model.params]
        with pytest.raises(ValueError, match=r"^X: a batch of .* MAX_ACTIVATION_BYTES"):
            tw.train_step(model, tw.SGD(model.params, lr=0.1), Xb, yb)
        for a, p in zip(before, model.params, strict=True):
            np.testing.assert_array_equal(a, _host(p))
    with DataParallel(impl_numpy.MLP([784, 16, 10], dtype=dtype), world_size=1,
                      max_batch=4) as dp:
        with pytest.raises(ValueError, match=r"^X: a batch of .* MAX_ACTIVATION_BYTES"):
            dp.loss_and_grads(Xb, yb)


# ----------------------------------------------------------- what batches takes, alike
Y_DTYPES = ["<U3", "S2", object, "datetime64[s]", "timedelta64[s]", np.complex64,
            np.uint64, np.uint32, np.uint16, np.uint8, np.int8, np.float32, bool]


@pytest.mark.parametrize("dtype", Y_DTYPES, ids=str)
@pytest.mark.parametrize("which", ["X", "y"])
def test_batches_gives_one_verdict_for_every_dtype(which, dtype):
    a = (X if which == "X" else Y).astype(dtype)
    kind, out = _both(lambda tw: _epoch(tw, a if which == "X" else X, a if which == "y" else Y))
    refused = np.dtype(dtype).kind not in "biuf"
    assert kind == ("TypeError" if refused else "ok"), out
    if refused:
        assert out == f"{which} must hold numbers, got dtype {np.dtype(dtype)}"


def test_uint64_labels_batch_alike_and_keep_their_dtype():
    y = np.array([0, 2**64 - 1, 5, 2**63], np.uint64)
    got = [[b for _, b in tw.batches(X, y, 3, shuffle=False)] for tw in TWINS.values()]
    assert [str(b.dtype).removeprefix("torch.") for b in got[1]] == ["uint64", "uint64"]
    for a, b in zip(*got, strict=True):
        np.testing.assert_array_equal(a, b.numpy())


# ------------------------------------------------------------------------ exotic tensors
def _inference(make):
    with torch.inference_mode():
        return make()


TENSORS = {  # id -> (X maker, accepted)
    "negative bit": (lambda: torch._neg_view(torch.from_numpy(X)), True),
    "negative bit, resolved": (lambda: torch.from_numpy(X).neg().resolve_neg(), True),
    "negative bit, strided": (lambda: torch._neg_view(torch.from_numpy(X).T.contiguous().T),
                              True),
    "conjugate bit on a real tensor": (lambda: torch.from_numpy(X).conj(), True),
    "conjugate bit, complex": (lambda: torch.from_numpy(X).to(torch.complex64).conj(), False),
    "negative bit, complex": (lambda: torch._neg_view(torch.from_numpy(X).to(torch.cdouble)),
                              False),
    "made under inference_mode": (lambda: _inference(lambda: torch.from_numpy(X).clone()), True),
    "inference_mode, float32": (lambda: _inference(lambda: torch.ones(4, 3)), True),
    "inference_mode, requires grad": (
        lambda: torch.from_numpy(X).clone().requires_grad_(True).neg(), True),
}


@pytest.mark.parametrize("call", ["batches", "loss_and_grads", "train_step", "predict"])
@pytest.mark.parametrize("case", TENSORS)
def test_exotic_tensors_get_one_verdict(case, call):
    make, accepted = TENSORS[case]
    expected = np.array(make().tolist()) if accepted else None  # tolist reads any bit

    def run(tw):
        if call == "batches":
            return _epoch(tw, make(), Y)
        model = tw.MLP([3, 4, 2], seed=1)
        if call == "predict":
            return np.asarray(model.predict(make())).tolist()
        if call == "train_step":
            return tw.train_step(model, tw.SGD(model.params, lr=0.1), make(), Y)
        loss, grads = model.loss_and_grads(make(), Y)
        ref, _ = model.loss_and_grads(expected, Y)
        assert loss == pytest.approx(ref, rel=1e-6)
        return loss

    kind, out = _both(run)
    if accepted:
        assert kind == "ok", out
    else:
        assert (kind, out.split(",")[0]) in {("TypeError", "X must hold real numbers"),
                                             ("TypeError", "X must hold numbers")}, out


@pytest.mark.parametrize("requires_grad", [True, False])
@pytest.mark.parametrize("bits", ["plain", "negative", "inference"])
def test_numpy_sgd_takes_tensor_gradients_read_detached(requires_grad, bits):
    model = impl_numpy.MLP([3, 4, 2], seed=0)
    before = [p.copy() for p in model.params]
    grads = [torch.ones(p.shape, dtype=torch.float32) for p in model.params]
    if bits == "negative":
        grads = [torch._neg_view(-g) for g in grads]
    elif bits == "inference":
        grads = [_inference(g.clone) for g in grads]
    if requires_grad and bits != "inference":
        grads = [g.detach().clone().requires_grad_(True) for g in grads]
    impl_numpy.SGD(model.params, lr=0.5).step(grads)
    for b, p in zip(before, model.params, strict=True):
        np.testing.assert_array_equal(p, b - np.float32(0.5))
    assert all(g.grad is None for g in grads)


def test_numpy_sgd_refuses_tensor_gradients_of_another_kind_unchanged():
    model = impl_numpy.MLP([3, 4, 2], seed=0)
    before = [p.copy() for p in model.params]
    opt = impl_numpy.SGD(model.params, lr=0.5)
    for i, bad in [(3, torch.ones(2, dtype=torch.float64)), (0, torch.ones(4, 3).to("meta")),
                   (2, torch.ones(3, 4))]:
        grads = [torch.ones(p.shape) for p in model.params]
        grads[i] = bad
        with pytest.raises((TypeError, ValueError), match=rf"^grads\[{i}\]"):
            opt.step(grads)
    for b, p in zip(before, model.params, strict=True):
        np.testing.assert_array_equal(p, b)


# ------------------------------------------------------------------- dates as numbers
DATES = [np.timedelta64(1), np.timedelta64(1, "s"), np.timedelta64(3, "D"),
         np.datetime64(1, "s"), np.datetime64("2020-01-01"), np.timedelta64("NaT")]


@pytest.mark.parametrize("value", DATES, ids=repr)
@pytest.mark.parametrize("arg", ["lr", "momentum", "weight_decay", "dampening"])
def test_dates_as_sgd_arguments_are_a_typeerror_naming_them(arg, value):
    kind, msg = _both(lambda tw: tw.SGD(tw.MLP([3, 4, 2]).params, **{"lr": 0.1, arg: value}))
    assert kind == "TypeError" and msg.startswith(f"{arg} must be a number, got "), msg


@pytest.mark.parametrize("value", DATES[:3], ids=repr)
def test_dates_as_sizes_or_seeds_are_a_typeerror_naming_them(value):
    for call, name in [(lambda tw: tw.batches(X, Y, value), "batch_size"),
                       (lambda tw: tw.batches(X, Y, 2, seed=value), "seed"),
                       (lambda tw: tw.MLP([3, 4, 2], seed=value), "seed"),
                       (lambda tw: tw.MLP([3, value, 2]), "layer_sizes")]:
        kind, msg = _both(call)
        assert kind == "TypeError" and msg.startswith(f"{name} must "), msg
