"""The parallel backends: ``numpy-mp`` (NumPy twin over multiprocessing) and ``torch-ddp``
(DistributedDataParallel, gloo on the CPU).

Workers start in ``make`` (outside the timed region) and stay up; the timed ``step()``
covers every rank's forward and backward, the gradient averaging (the parent's sum for
numpy-mp, the all-reduce for DDP) and the update. ``case.threads`` is the BLAS/intra-op
thread count *per process* (cores / W), set in each worker and read back.
"""

from __future__ import annotations

import numpy as np

from bench.backends import Backend, Case, register
from bench.backends.common import LR, WARMUP, check_finite, make_batch, setup_numpy
from impl_numpy.parallel import DataParallel


class _ParallelRunner:
    def forward(self):
        raise NotImplementedError("parallel backends are timed on the training step only")

    def peak_memory(self):
        return None  # spread over processes: not measured

    def _check_threads(self, got, case):
        if any(t != case.threads for t in got):
            raise RuntimeError(f"asked for {case.threads} threads per process, workers "
                               f"read back {got}")


class NumpyMPRunner(_ParallelRunner):
    def __init__(self, case: Case):
        setup_numpy(self, case)
        self.dp = DataParallel(self.model, case.world_size, threads_per_worker=case.threads,
                               max_batch=case.batch)
        self._check_threads(self.dp.worker_threads, case)
        for _ in range(WARMUP):
            self.step()

    def step(self):
        self.loss = self.dp.step(self.opt, self.X, self.y)

    def check(self):
        check_finite(self.model.params, self.shapes, None, None, self.loss)

    def close(self):
        self.dp.close()


class DDPRunner(_ParallelRunner):
    def __init__(self, case: Case):
        from impl_torch.parallel import DDPTrainer

        self.case = case
        self.X, self.y = make_batch(case)
        self.trainer = DDPTrainer(case.layer_sizes, dtype=case.dtype, seed=case.seed,
                                  world_size=case.world_size, lr=LR,
                                  threads_per_rank=case.threads, max_batch=case.batch)
        self._check_threads(self.trainer.rank_threads, case)
        self.loss = None
        for _ in range(WARMUP):
            self.step()

    def step(self):
        self.loss = self.trainer.step(self.X, self.y)

    def check(self):
        params = self.trainer.numpy_params()
        check_finite(params, [p.shape for p in params], None, None, self.loss)
        sizes = self.case.layer_sizes
        assert [p.shape for p in params[::2]] == [(b, a) for a, b in zip(sizes, sizes[1:])]
        assert np.isfinite(self.loss)

    def close(self):
        self.trainer.close()


register(Backend("numpy-mp", lib="numpy", device="cpu", make=NumpyMPRunner, parallel=True))
register(Backend("torch-ddp", lib="torch", device="cpu", make=DDPRunner, parallel=True))
