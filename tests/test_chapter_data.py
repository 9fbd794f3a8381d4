"""The chapter's shuffle / batch / repeat on a joint dataset of two tensors, batch_size=2,
shuffle=True, several epochs: each epoch is a permutation, features stay with their labels,
in ``impl_numpy.batches``, in the book's own ``DataLoader(JointDataset)`` and in both
``impl_torch`` loaders."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

import impl_numpy
import impl_torch

N, N_FEATURES, BATCH, EPOCHS = 6, 3, 2, 4


class JointDataset(Dataset):
    """The chapter's pattern: a ``Dataset`` over two tensors, one ``(x, y)`` per index."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]


def _data():
    rng = np.random.default_rng(0)
    return rng.random((N, N_FEATURES)), np.arange(N)  # label i belongs to row i


LOADERS = {
    "impl_numpy.batches": lambda X, y: impl_numpy.batches(X, y, BATCH, shuffle=True, seed=1),
    "DataLoader(JointDataset)": lambda X, y: DataLoader(
        JointDataset(torch.from_numpy(X), torch.from_numpy(y)), batch_size=BATCH, shuffle=True,
        generator=torch.Generator().manual_seed(1)),
    "impl_torch.batched_loader": lambda X, y: impl_torch.batched_loader(X, y, BATCH, seed=1),
    "impl_torch.per_sample_loader": lambda X, y: impl_torch.per_sample_loader(X, y, BATCH,
                                                                              seed=1),
}


@pytest.mark.parametrize("name", list(LOADERS))
def test_every_epoch_is_a_permutation_with_pairs_intact(name):
    X, y = _data()
    loader = LOADERS[name](X, y)
    orders = []
    for epoch in range(EPOCHS):
        labels = []
        for Xb, yb in loader:
            Xb, yb = np.asarray(Xb), np.asarray(yb)
            assert Xb.shape == (BATCH, N_FEATURES) and yb.shape == (BATCH,), name
            np.testing.assert_array_equal(Xb, X[yb], err_msg=f"{name} epoch {epoch}: pairs")
            labels.extend(yb.tolist())
        assert sorted(labels) == list(range(N)), f"{name} epoch {epoch}: not a permutation"
        orders.append(labels)
    assert len({tuple(o) for o in orders}) > 1, f"{name}: every epoch in the same order"
    assert list(range(N)) not in orders, f"{name}: an epoch left in the data's own order"
    loader = LOADERS[name](X, y)  # built again with the same seed: the same epochs
    again = [np.asarray(yb).tolist() for _ in range(EPOCHS) for _, yb in loader]
    assert again == [labels[i:i + BATCH] for labels in orders for i in range(0, N, BATCH)], \
        f"{name}: the same seed gave another order"
