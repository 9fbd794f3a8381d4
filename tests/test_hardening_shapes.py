"""Round 4 of the hardening (after a second hostile tester): shapes refused before any copy,
gradient buffers that share memory, byte order, longdouble params, huge checkpoint strides
and checkpoint paths that are not regular files. Both twins, one verdict and one message, no
warning (``-W error``), and a refused call changes nothing."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
import torch

import impl_numpy
import impl_torch
from core.checks import byte_span
from core.torch_zip import INDEX_LIMIT, _is_index

TWINS = {"numpy": impl_numpy, "torch": impl_torch}
HUGE = 2**40  # rows or columns of a broadcast view: 4-8 TiB if it were ever copied


def _verdict(call):
    try:
        call()
    except Exception as e:  # noqa: BLE001 - the verdict is what is compared
        return type(e).__name__, str(e)
    return "ok", ""


def _both(call):
    """``call(twin)`` in both twins: one verdict, one single-line message."""
    got = [_verdict(lambda tw=tw: call(tw)) for tw in TWINS.values()]
    assert got[0] == got[1] and "\n" not in got[0][1], got
    return got[0]


def _model(tw, sizes=(4, 3, 2), dtype="float32"):
    return tw.MLP(list(sizes), dtype=dtype, seed=0)


def _host(a):
    """A copy of an array or a tensor, as a NumPy array."""
    return a.numpy().copy() if isinstance(a, torch.Tensor) else a.copy()


X5 = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
Y5 = np.array([0, 1, 1, 0, 1])


@pytest.mark.parametrize("X, y, words", [
    (X5, np.broadcast_to(np.int64(0), (HUGE,)), f"len(y) = {HUGE} does not match len(X) = 5"),
    (X5, np.broadcast_to(np.uint8(1), (HUGE,)), f"len(y) = {HUGE} does not match len(X) = 5"),
    (X5, np.broadcast_to(np.int32(0), (5, HUGE)), f"y must be 1-D (n_samples,), got shape "
                                                  f"(5, {HUGE})"),
    (np.broadcast_to(np.float32(0), (1, HUGE)), Y5[:1], f"X has {HUGE} features but the "
                                                        f"network expects 4"),
    (np.broadcast_to(np.float64(0), (2, 3, HUGE)), Y5[:2], "X must be 2-D"),
    (torch.zeros(1, 1).expand(1, HUGE), Y5[:1], f"X has {HUGE} features"),
    (X5, torch.zeros(1, dtype=torch.long).expand(HUGE), f"len(y) = {HUGE} does not match"),
])
@pytest.mark.parametrize("call", ["loss_and_grads", "loss", "train_step"])
def test_a_huge_view_is_refused_on_its_shape_before_any_copy(X, y, words, call):
    def run(tw):
        m = _model(tw)
        if call == "train_step":
            return tw.train_step(m, tw.SGD(m.params if tw is impl_numpy else m.parameters(),
                                            lr=0.1), X, y)
        return getattr(m, call)(X, y)
    kind, message = _both(run)
    assert kind == "ValueError" and words in message, message


@pytest.mark.parametrize("twin", TWINS)
def test_gradient_buffers_that_share_memory_are_refused_before_writing(twin):
    """out[2] is out[0] (the hostile case), or two views of one buffer that overlap; two
    views of one buffer that do not overlap are fine (a flat gradient buffer)."""
    tw = TWINS[twin]
    m = _model(tw, (3, 3, 3))
    X, y = X5[:, :3], Y5
    out = list(m.zero_grads())
    out[2] = out[0]
    before = [_host(o) for o in out]
    with pytest.raises(ValueError, match=r"^out\[2\] shares memory with out\[0\]"):
        m.loss_and_grads(X, y, out=out)
    assert all(np.array_equal(_host(o), b) for o, b in zip(out, before))
    lib = np if twin == "numpy" else torch
    flat = lib.zeros(40, dtype=lib.float32)
    shapes = [(3, 3), (3,), (3, 3), (3,)]
    views, at = [], 0
    for shape in shapes:  # back to back: no overlap
        n = int(np.prod(shape))
        views.append(flat[at:at + n].reshape(shape))
        at += n
    m.loss_and_grads(X, y, out=views)  # accepted
    views[2] = flat[5:14].reshape(3, 3)  # overlaps views[0] (0..9) and views[1] (9..12)
    with pytest.raises(ValueError, match=r"^out\[2\] shares memory with out\[0\]"):
        m.loss_and_grads(X, y, out=views)


@pytest.mark.parametrize("shape, strides, itemsize, span", [
    ((3, 4), (16, 4), 4, (100, 148)),
    ((3, 4), (-16, 4), 4, (68, 116)),
    ((0, 4), (16, 4), 4, (100, 100)),
    ((5,), (0,), 8, (100, 108)),
])
def test_byte_span_is_the_bounds_np_may_share_memory_uses(shape, strides, itemsize, span):
    assert byte_span(100, shape, strides, itemsize) == span


@pytest.mark.parametrize("order", [">f4", ">f8", "<f4"])
def test_either_byte_order_is_read_alike(order):
    """Big-endian X and y: the NumPy twin computes on them, the torch twin (which has no
    big-endian tensors) reads a native copy; the same loss."""
    X, y = X5.astype(order), Y5.astype(order.replace("f", "i"))
    losses = [_model(tw, dtype="float64").loss(X, y) for tw in TWINS.values()]
    assert losses[0] == pytest.approx(losses[1], rel=1e-12)


@pytest.mark.parametrize("dtype, words", [
    (np.longdouble, "params[0] has dtype float128, expected float32"),
    (">f4", "params[0] has dtype >f4, expected float32"),
    (np.float64, "params[0] has dtype float64, expected float32"),
])
def test_load_numpy_params_names_the_param_of_a_wrong_dtype(dtype, words):
    m = impl_torch.MLP([4, 3, 2], dtype="float32", seed=0)
    before = [p.detach().clone() for p in m.parameters()]
    arrays = [a.astype(dtype) for a in m.numpy_params()]
    with pytest.raises(TypeError, match=r"^" + words.replace("[", r"\[").replace("]", r"\]")):
        m.load_numpy_params(arrays)
    assert all(torch.equal(p, b) for p, b in zip(m.parameters(), before))


@pytest.mark.parametrize("value, ok", [(0, True), (2**63 - 1, True), (2**63, False),
                                       (2**64, False), (2**100, False), (-1, False),
                                       (True, False), (1.0, False)])
def test_checkpoint_sizes_strides_and_offsets_fit_int64_as_torch_needs(value, ok):
    assert INDEX_LIMIT == 2**63 and _is_index(value) is ok


@pytest.mark.parametrize("twin", TWINS)
def test_a_checkpoint_path_that_is_no_regular_file_is_refused_without_reading(tmp_path, twin):
    """A FIFO would block the reader forever; a folder is no checkpoint either."""
    fifo = tmp_path / "model.pt"
    os.mkfifo(fifo)
    done = []
    worker = threading.Thread(target=lambda: done.append(_verdict(
        lambda: TWINS[twin].load(fifo))), daemon=True)
    worker.start()
    worker.join(timeout=20)
    if worker.is_alive():  # unblock the reader so the test process can end, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("load blocked on a FIFO")
    assert done == [("ValueError", f"{fifo}: not a checkpoint: a FIFO, device or socket, "
                                   "not a regular file")]
    folder = tmp_path / "folder.pt"
    folder.mkdir()
    assert _verdict(lambda: TWINS[twin].load(folder)) == (
        "ValueError", f"{folder}: not a checkpoint: a folder, not a regular file")


@pytest.mark.parametrize("sizes", [[4, 0, 2], [4, -3, 2], [0, 2]])
def test_a_zero_or_negative_width_names_layer_sizes(sizes):
    kind, message = _both(lambda tw: tw.MLP(sizes))
    assert kind == "ValueError" and message.startswith("layer_sizes: every layer width must "
                                                       "be positive")
