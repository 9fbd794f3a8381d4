"""Input pipelines: shuffle, batch, repeat, and the twins' loaders agreeing batch for batch."""

from __future__ import annotations

import numpy as np
import pytest

import impl_numpy
import impl_torch


def _data(n=23):
    X = np.arange(n * 2, dtype=np.float64).reshape(n, 2)
    return X, np.arange(n) % 5


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("shuffle", [True, False])
def test_numpy_batches_cover_each_epoch_once(shuffle, drop_last):
    X, y = _data()
    loader = impl_numpy.batches(X, y, 5, shuffle=shuffle, seed=1, drop_last=drop_last)
    orders = []
    for _epoch in range(3):
        seen = []
        for Xb, yb in loader:
            assert len(Xb) == len(yb) and len(Xb) <= 5
            np.testing.assert_array_equal(yb, (Xb[:, 0].astype(int) // 2) % 5)  # pairs intact
            seen.extend((Xb[:, 0] // 2).astype(int))
        assert len(seen) == (20 if drop_last else 23)
        assert len(loader) == (4 if drop_last else 5)
        assert len(set(seen)) == len(seen)
        orders.append(seen)
    assert (orders[0] != orders[1]) == shuffle  # repeat: a fresh order per epoch


def test_same_seed_same_order_different_seed_different_order():
    X, y = _data()
    a = [yb.tolist() for _, yb in impl_numpy.batches(X, y, 4, seed=3)]
    b = [yb.tolist() for _, yb in impl_numpy.batches(X, y, 4, seed=3)]
    c = [yb.tolist() for _, yb in impl_numpy.batches(X, y, 4, seed=4)]
    assert a == b and a != c


@pytest.mark.parametrize("make", [impl_torch.batched_loader, impl_torch.per_sample_loader])
@pytest.mark.parametrize("drop_last", [False, True])
def test_torch_loaders_in_numpy_order_give_the_same_batches(make, drop_last):
    X, y = _data()
    np_loader = impl_numpy.batches(X, y, 4, seed=9, drop_last=drop_last)
    t_loader = make(X, y, 4, seed=9, drop_last=drop_last, order="numpy")
    assert len(np_loader) == len(t_loader)
    for _epoch in range(2):
        for (Xb, yb), (Xt, yt) in zip(np_loader, t_loader, strict=True):
            np.testing.assert_array_equal(Xb, Xt.numpy())
            np.testing.assert_array_equal(yb, yt.numpy())


@pytest.mark.parametrize("drop_last", [False, True])
@pytest.mark.parametrize("shuffle", [True, False])
def test_both_twins_batches_give_the_same_batches(shuffle, drop_last):
    """``impl_numpy.batches`` and ``impl_torch.batches``, same arguments: the same batches,
    epoch after epoch, and the same ``len``."""
    X, y = _data()
    np_loader = impl_numpy.batches(X, y, 4, shuffle=shuffle, seed=9, drop_last=drop_last)
    t_loader = impl_torch.batches(X, y, 4, shuffle=shuffle, seed=9, drop_last=drop_last)
    assert len(np_loader) == len(t_loader) == (5 if drop_last else 6)
    for _epoch in range(3):
        for (Xb, yb), (Xt, yt) in zip(np_loader, t_loader, strict=True):
            np.testing.assert_array_equal(Xb, Xt.numpy())
            np.testing.assert_array_equal(yb, yt.numpy())


def test_torch_order_is_a_seeded_permutation():
    X, y = _data()
    first = [yt.tolist() for _, yt in impl_torch.batched_loader(X, y, 4, seed=5)]
    again = [yt.tolist() for _, yt in impl_torch.batched_loader(X, y, 4, seed=5)]
    assert first == again
    rows = np.concatenate([Xt.numpy() for Xt, _ in impl_torch.batched_loader(X, y, 4, seed=5)])
    np.testing.assert_array_equal(np.sort(rows[:, 0]), X[:, 0])


@pytest.mark.parametrize("make", [impl_numpy.batches, impl_torch.batches,
                                  impl_torch.batched_loader, impl_torch.per_sample_loader])
def test_loader_bad_input(make):
    X, y = _data()
    with pytest.raises(ValueError, match="same length"):
        make(X, y[:-1], 4)
    with pytest.raises(ValueError, match="batch_size must be positive"):
        make(X, y, 0)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        make(X, y, 2.5)
