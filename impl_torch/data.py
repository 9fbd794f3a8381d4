"""The input pipeline: shuffle, batch, repeat. ``DataLoader``s over in-memory tensors.

``batches(X, y, 32)`` is an iterable: each ``for`` loop over it is one epoch, drawn
with a fresh permutation from one ``np.random.default_rng(seed)``, so iterating
again *repeats* the data in a new order, reproducibly for a given seed::

    loader = batches(X, y, batch_size=32, shuffle=True, seed=0)
    for epoch in range(3):
        for Xb, yb in loader:
            ...

Both twins' ``batches`` given the same arguments yield the same batches (NumPy arrays in
one, tensors here). Only in this twin, two loaders that show what ``DataLoader`` costs:

* ``per_sample_loader``: ``DataLoader(TensorDataset(X, y), batch_size, shuffle=True)``, as
  most people first write it. It fetches one sample at a time and collates the batch:
  Python work per *sample*.
* ``batched_loader`` (what ``batches`` is): a batch sampler that cuts one permutation tensor
  per epoch into index tensors, and a ``TensorDataset`` whose ``__getitems__`` (the
  batched-fetch hook ``DataLoader`` calls when a dataset has one) gathers each batch with one
  ``index_select`` per tensor, with no collation. Same batches, no Python work per sample.

``order="numpy"`` draws each epoch's permutation from ``np.random.default_rng(seed)``
exactly as ``impl_numpy.batches`` does, so a test can feed both twins the same batches;
``order="torch"`` uses a seeded ``torch.Generator`` (the idiomatic choice).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import (
    DataLoader,
    RandomSampler,
    Sampler,
    SequentialSampler,
    TensorDataset,
)

from core.checks import check_batch_size, check_data, check_seed

from .checks import _convert


def batches(X, y, batch_size, shuffle=True, seed=0, drop_last=False):
    """``batched_loader(..., order="numpy")``: the NumPy twin's batches, as tensors."""
    return batched_loader(X, y, batch_size, shuffle, seed, drop_last, order="numpy")


# ------------------------------------- only in this twin: DataLoader variants and samplers
class NumpyOrderSampler(Sampler):
    """Yields ``np.random.default_rng(seed).permutation(n)``, a fresh one per epoch."""

    def __init__(self, n, seed=0):
        self.n, self.rng = n, np.random.default_rng(seed)

    def __len__(self):
        return self.n

    def __iter__(self):
        return iter(self.rng.permutation(self.n).tolist())


class PermutationBatchSampler(Sampler):
    """Yields LongTensor index batches: one permutation per epoch, cut into ``batch_size``
    pieces (the last one shorter unless ``drop_last``). Same order rules as ``_sampler``."""

    def __init__(self, n, batch_size, shuffle=True, seed=0, drop_last=False, order="torch"):
        _check_order(order)
        self.n, self.batch_size, self.drop_last = n, batch_size, drop_last
        self.shuffle, self.order = shuffle, order
        self.rng = np.random.default_rng(seed)
        self.gen = torch.Generator().manual_seed(seed)

    def __len__(self):
        return self.n // self.batch_size if self.drop_last else -(-self.n // self.batch_size)

    def __iter__(self):
        if len(self) == 0:  # n = 0, or n < batch_size with drop_last: no batch at all
            return
        if not self.shuffle:
            perm = torch.arange(self.n)
        elif self.order == "numpy":
            perm = torch.from_numpy(self.rng.permutation(self.n))
        else:
            perm = torch.randperm(self.n, generator=self.gen)
        yield from perm[: len(self) * self.batch_size].split(self.batch_size)


def _check_order(order):
    if order not in ("torch", "numpy"):
        raise ValueError(f"order must be 'torch' or 'numpy', got {order!r}")


def _sampler(n, shuffle, seed, order):
    _check_order(order)
    if not shuffle or n == 0:  # RandomSampler refuses n = 0; no order to draw anyway
        return SequentialSampler(range(n))
    if order == "numpy":
        return NumpyOrderSampler(n, seed)
    return RandomSampler(range(n), generator=torch.Generator().manual_seed(seed))


def _dataset(X, y):
    X = _convert(X, "X", lambda a: check_data(a, "X"))  # before any copy, as the NumPy twin
    y = _convert(y, "y", lambda a: check_data(a, "y"))
    if X.dim() < 1 or y.dim() < 1 or len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got shapes {tuple(X.shape)} "
                         f"and {tuple(y.shape)}")
    return TensorDataset(X, y)


def per_sample_loader(X, y, batch_size, shuffle=True, seed=0, drop_last=False, order="torch",
                      **kwargs):
    """The textbook ``DataLoader``: one ``__getitem__`` per sample, then collate."""
    batch_size, seed = check_batch_size(batch_size), check_seed(seed)
    ds = _dataset(X, y)
    return DataLoader(ds, batch_size=int(batch_size), drop_last=drop_last,
                      sampler=_sampler(len(ds), shuffle, seed, order), **kwargs)


class BatchedTensorDataset(TensorDataset):
    """``TensorDataset`` that fetches a batch at once: ``index_select`` on each tensor."""

    def __getitems__(self, indices):
        idx = torch.as_tensor(indices, dtype=torch.long)  # already a tensor: no copy
        return tuple(_take(t, idx) for t in self.tensors)


def _take(t, idx):
    """``t.index_select(0, idx)``; a 1-D tensor as a column (torch has no 1-D index_select for
    uint16/32/64 labels, which the NumPy twin takes)."""
    if t.dim() == 1:
        return t.unsqueeze(1).index_select(0, idx).squeeze(1)
    return t.index_select(0, idx)


def _as_is(batch):
    return batch


def batched_loader(X, y, batch_size, shuffle=True, seed=0, drop_last=False, order="torch",
                   **kwargs):
    """One fetch per batch (``__getitems__`` + ``index_select``), no per-sample collate."""
    batch_size, seed = check_batch_size(batch_size), check_seed(seed)
    ds = _dataset(X, y)
    ds = BatchedTensorDataset(*ds.tensors)
    sampler = PermutationBatchSampler(len(ds), int(batch_size), shuffle, seed, drop_last, order)
    return DataLoader(ds, batch_sampler=sampler, collate_fn=_as_is, **kwargs)
