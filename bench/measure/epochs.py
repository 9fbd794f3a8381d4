"""Group (c): one full epoch over an MNIST-shaped set, input pipeline included.

Each runner's ``epoch()`` is one pass over the data through its pipeline, training as it
goes; ``iterate()`` walks the same pipeline without computing (the input cost alone).

* ``in-memory``        batches sliced once, before timing (no shuffle): compute only
* ``numpy-batches``    ``impl_numpy.batches``: a permutation and fancy indexing per batch
* ``torch-batched``    ``DataLoader`` + ``BatchSampler`` over a ``TensorDataset``: one
                       indexing call per batch (the fastest correct torch pipeline here)
* ``torch-per-sample`` ``DataLoader(TensorDataset, batch_size, shuffle=True)``: one
                       ``__getitem__`` per sample, then collate (how most people start)
* ``torch-pinned``     on CUDA: the batched loader with ``pin_memory=True`` and
                       ``non_blocking=True`` copies to the device
* ``sklearn``          ``MLPClassifier(solver="sgd").partial_fit``: one epoch of the peer
                       NumPy implementation (plain SGD, no L2, no momentum, same batch)
"""

from __future__ import annotations

import numpy as np

import impl_numpy
import impl_torch
from bench.measure.timing import device_sync

LR = 0.01


class _Base:
    def check(self):
        params = self.params()
        assert [p.shape for p in params] == self.shapes, "param shapes changed"
        assert all(np.isfinite(p).all() for p in params), "non-finite params after the epoch"

    def close(self):
        pass


class NumpyEpoch(_Base):
    def __init__(self, pipeline, case, X, y):
        self.model = impl_numpy.MLP(case.layer_sizes, dtype=case.dtype, seed=case.seed)
        self.opt = impl_numpy.SGD(self.model.params, lr=LR)
        X = X.astype(case.dtype, copy=False)
        if pipeline == "in-memory":
            b = case.batch
            self.loader = [(X[i:i + b], y[i:i + b]) for i in range(0, len(X), b)]
        else:
            self.loader = impl_numpy.batches(X, y, case.batch, seed=case.seed)
        self.shapes = [p.shape for p in self.model.params]

    def epoch(self):
        for Xb, yb in self.loader:
            impl_numpy.train_step(self.model, self.opt, Xb, yb)

    def iterate(self):
        for _ in self.loader:
            pass

    def params(self):
        return self.model.params


class TorchEpoch(_Base):
    def __init__(self, pipeline, case, X, y, device="cpu"):
        import torch

        self.torch, self.device = torch, device
        self.model = impl_torch.MLP(case.layer_sizes, dtype=case.dtype, seed=case.seed,
                                    device=device)
        self.opt = impl_torch.SGD(self.model.params, LR)
        Xt, yt = torch.from_numpy(X.astype(case.dtype, copy=False)), torch.from_numpy(y)
        b = case.batch
        self.non_blocking = pipeline == "torch-pinned"
        if pipeline == "in-memory":
            Xd, yd = Xt.to(device), yt.to(device)
            self.loader = [(Xd[i:i + b], yd[i:i + b]) for i in range(0, len(Xd), b)]
        elif pipeline == "torch-batched":
            self.loader = impl_torch.batched_loader(Xt, yt, b, seed=case.seed)
        elif pipeline == "torch-per-sample":
            self.loader = impl_torch.per_sample_loader(Xt, yt, b, seed=case.seed)
        elif pipeline == "torch-pinned":
            self.loader = impl_torch.batched_loader(Xt, yt, b, seed=case.seed, pin_memory=True)
        else:
            raise ValueError(f"unknown torch pipeline {pipeline!r}")
        self.shapes = [tuple(p.shape) for p in self.model.parameters()]
        self.sync = device_sync(device)

    def epoch(self):
        nb = self.non_blocking
        for Xb, yb in self.loader:
            Xb, yb = Xb.to(self.device, non_blocking=nb), yb.to(self.device, non_blocking=nb)
            impl_torch.train_step(self.model, self.opt, Xb, yb)
        self.sync()

    def iterate(self):
        nb = self.non_blocking
        for Xb, yb in self.loader:
            Xb.to(self.device, non_blocking=nb), yb.to(self.device, non_blocking=nb)
        self.sync()

    def params(self):
        return self.model.numpy_params()

    def close(self):
        if self.device.startswith("cuda"):
            self.torch.cuda.empty_cache()


class SklearnEpoch(_Base):
    def __init__(self, pipeline, case, X, y):
        from sklearn.neural_network import MLPClassifier

        self.X, self.y = X.astype(case.dtype, copy=False), y
        self.clf = MLPClassifier(hidden_layer_sizes=tuple(case.layer_sizes[1:-1]),
                                 activation="relu", solver="sgd", batch_size=case.batch,
                                 learning_rate_init=LR, momentum=0.0, alpha=0.0, shuffle=True,
                                 random_state=case.seed)
        self.classes = np.arange(case.layer_sizes[-1])
        self.clf.partial_fit(self.X[: case.batch], y[: case.batch], classes=self.classes)
        self.shapes = [p.shape for p in self.params()]

    def epoch(self):
        self.clf.partial_fit(self.X, self.y)  # one pass over the data, shuffled, in batches

    def iterate(self):
        return None  # sklearn's batching is internal: no separate input cost to measure

    def params(self):
        return [a for pair in zip(self.clf.coefs_, self.clf.intercepts_) for a in pair]

    def check(self):
        params = self.params()
        assert all(np.isfinite(p).all() for p in params), "non-finite sklearn params"


def make_epoch(pipeline, backend, case, X, y):
    if backend == "numpy":
        return NumpyEpoch(pipeline, case, X, y)
    if backend == "sklearn":
        return SklearnEpoch(pipeline, case, X, y)
    device = "cuda" if backend.startswith("torch-cuda") else "cpu"
    return TorchEpoch(pipeline, case, X, y, device=device)
