"""``torch-ddp``: data-parallel SGD for the torch twin under ``DistributedDataParallel``.

The PyTorch way: ``W`` ranks (gloo on CPU, nccl on CUDA), started once and reused, each run
the twin's own ``MLP`` and ``SGD`` on one shard of the global batch; DDP all-reduces the
gradients during ``backward``, so every rank makes the same update. Driven from one Python
process, as the tests and benchmarks do::

    with DDPTrainer([784, 1024, 10], world_size=2, lr=0.1, momentum=0.9) as ddp:
        loss = ddp.step(X, y)          # every rank's forward, backward, all-reduce and update
        params = ddp.numpy_params()

or launched by torchrun (synthetic MNIST-shaped data, rank 0 prints the loss per epoch;
bad arguments: one line from rank 0, exit 2)::

    torchrun --standalone --nproc-per-node=2 -m impl_torch.parallel --epochs 3 --batch 256

One step: the parent puts the global batch in shared memory and sends every rank ``("step",
B)``; rank ``r`` runs forward, ``backward`` (with the all-reduce) and ``SGD.step`` on its rows.

Uneven batches. Rank ``r`` takes the rows ``shard_bounds(B, W)[r]`` (the first ``B mod W``
ranks one more; ``B < W`` raises ``ValueError``). DDP averages gradients *equally* over
ranks, so rank ``r`` scales its shard-mean loss by ``W * n_r / B`` before ``backward``; the
all-reduced gradient is then ``sum_r (n_r / B) grad_r``, the single-process gradient on the
global batch (up to summation order) whether or not ``W`` divides ``B``. The loss reported
is the global-batch mean, ``sum_r n_r/B loss_r``.

Threads per rank: set and read back (default cores // W, or cores // ranks-per-node under
torchrun, which would leave OMP_NUM_THREADS=1). Failures: every collective has ``timeout``,
the parent waits on its ranks with bounds (``core.procs``), and nothing is left behind.
"""

from __future__ import annotations

import math
import os
import sys
import time
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from core import cli, procs
from core.checks import check_pool_args, check_seed, check_sgd_args
from core.procs import Pool, SharedBlock, WorkerError, available_cores, layout, shard_bounds
from core.spec import DTYPES, make_spec

from .checks import check_device, check_X, check_y
from .mlp import MLP, TORCH_DTYPES
from .sgd import SGD

__all__ = ["DDPTrainer", "Rank", "WorkerError", "shard_bounds"]
HOST = "127.0.0.1"


class _Loss(nn.Module):
    """``forward(X, y)`` is the twin's ``MLP.loss_tensor``: DDP must see the forward it syncs."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, X, y):
        return self.model.loss_tensor(X, y)


class Rank:
    """One rank: the twin in DDP and its SGD. Needs an initialised default process group."""

    def __init__(self, config: dict, threads: int, device="cpu"):
        torch.set_num_threads(int(threads))
        self.threads = torch.get_num_threads()
        self.rank, self.world_size = dist.get_rank(), dist.get_world_size()
        self.device = torch.device(device)
        opt_kw = {k: config[k] for k in ("lr", "momentum", "dampening", "weight_decay",
                                         "nesterov")}
        self.model = MLP(config["layer_sizes"], config["activation"], config["loss"],
                         config["dtype"], config["seed"], device=self.device)
        ids = [self.device.index] if self.device.type == "cuda" else None
        self.ddp = DDP(_Loss(self.model), device_ids=ids)
        self.opt = SGD(self.model.params, **opt_kw)

    def step(self, X, y, n_global: int) -> float:
        """SGD step on this rank's shard ``X, y`` of a ``n_global``-row batch; its shard loss."""
        scale = self.world_size * len(X) / n_global  # W n_r / B: DDP then divides by W
        self.opt.zero_grad(set_to_none=True)
        loss = self.ddp(X, y)
        (loss * scale).backward()  # gradient all-reduce happens here, bucket by bucket
        self.opt.step()
        return loss.item()


class DDPTrainer(Pool):
    """``W`` DDP ranks spawned once (``torch.multiprocessing``, spawn) and driven from here.

    ``DDPTrainer(layer_sizes, activation="relu", loss="cross_entropy", dtype="float32",
    seed=0, world_size=2, lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0,
    nesterov=False, threads_per_rank=None, device="cpu", max_batch=1024, timeout=60.0,
    start_timeout=180.0)``; model and SGD arguments as ``impl_torch.MLP`` / ``impl_torch.SGD``.

    ``step(X, y)`` returns once every rank has done its forward, backward (all-reduce) and
    update (on CUDA, rank ``r`` uses ``cuda:r``, nccl, and copies its shard in the step). This
    process serves the rendezvous store on a port the OS picks. ``_fault`` (test-only):
    ``"raise"``, ``"kill"`` or ``"hang"`` on the last rank's first step. Attributes:
    ``world_size``, ``rank_threads``, ``rank_pids``, ``shm_name``, ``port``.
    """

    def __init__(self, layer_sizes, activation="relu", loss="cross_entropy", dtype="float32",
                 seed=0, world_size=2, lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, threads_per_rank=None, device="cpu", max_batch=1024,
                 timeout=60.0, start_timeout=180.0, _fault=None):
        self.spec = make_spec(layer_sizes, activation, loss, dtype)
        seed, _ = check_seed(seed), check_device(device)
        check_pool_args(world_size, max_batch, threads_per_rank, timeout, start_timeout, _fault,
                        "threads_per_rank")
        check_sgd_args(lr, momentum, dampening, weight_decay, nesterov, self.spec.dtype)
        W = self.world_size = int(world_size)
        self.max_batch, self.timeout, self.device = int(max_batch), float(timeout), device
        self.threads_per_rank = int(threads_per_rank or max(1, available_cores() // W))
        s = self.spec
        config = {**vars(s), "seed": seed, "lr": lr, "momentum": momentum,
                  "dampening": dampening, "weight_decay": weight_decay, "nesterov": nesterov}
        fields = layout(X=((self.max_batch, s.n_in), DTYPES[s.dtype]),
                        y=((self.max_batch,), np.int64))
        store = dist.TCPStore(HOST, 0, None, True, timedelta(seconds=timeout),
                              wait_for_workers=False)
        self.port = store.port
        self._block = SharedBlock(fields)
        self.shm_name = self._block.name
        args = [(W, self.port, config, self.threads_per_rank, device, self.timeout,
                 self.shm_name, fields, _fault if r == W - 1 else None) for r in range(W)]
        ready = self._start(torch.multiprocessing.get_context("spawn"), _rank_worker, args,
                            "torch-ddp", start_timeout, self._block, keep=[store])
        self.rank_threads = [a["threads"] for a in ready]
        self.rank_pids = self._workers.pids

    def __repr__(self):
        return (f"DDPTrainer(world_size={self.world_size}, threads_per_rank="
                f"{self.threads_per_rank}, backend={_backend(self.device)!r})")

    def _call(self, msgs, what):
        try:
            return self._workers.call(msgs, self.timeout, what)
        except BaseException:
            self.close()
            raise

    def step(self, X, y) -> float:
        """One SGD step on the global batch over all ranks; its mean loss (before the update)."""
        self._check_open()
        s = self.spec
        X = check_X(X, s.n_in, TORCH_DTYPES[s.dtype], "cpu",  # the activation cap first
                    s.layer_sizes).numpy()  # host copy for the block
        y = check_y(y, len(X), s.n_out, "cpu").numpy()
        B = len(X)
        if B > self.max_batch:
            raise ValueError(f"batch of {B} samples exceeds max_batch={self.max_batch}")
        bounds = shard_bounds(B, self.world_size)
        self._block.views["X"][:B] = X
        self._block.views["y"][:B] = y
        losses = self._call([("step", B)] * self.world_size, "torch-ddp step")
        return float(sum((hi - lo) / B * loss for (lo, hi), loss in zip(bounds, losses)))

    def numpy_params(self, rank: int = 0) -> list:
        """``[W1, b1, ...]`` of rank ``rank`` (all ranks hold the same), as NumPy arrays."""
        self._check_open()
        if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < self.world_size:
            raise ValueError(f"rank must lie in [0, {self.world_size}), got {rank}")
        return self._call([("params", rank)] * self.world_size, "torch-ddp params")[rank]


def _backend(device: str) -> str:
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


def _rank_worker(rank, conn, world_size, port, config, threads, device, timeout, shm_name,
                 fields, fault):
    """A rank started by ``DDPTrainer``: joins the group through the parent's store, then
    answers ``("step", B)``, ``("params",)`` and ``("close",)``."""
    state = {"fault": fault}

    def handle(msg):
        if msg[0] == "ready":
            dev = torch.device(device)
            if dev.type == "cuda":
                dev = torch.device("cuda", rank)
                torch.cuda.set_device(dev)
            store = dist.TCPStore(HOST, port, world_size, False, timedelta(seconds=timeout))
            dist.init_process_group(_backend(device), store=store, rank=rank,
                                    world_size=world_size, timeout=timedelta(seconds=timeout))
            state["block"] = SharedBlock(fields, name=shm_name)
            r = state["rank"] = Rank(config, threads, dev)
            return {"threads": r.threads, "pid": os.getpid()}
        if msg[0] == "params":
            return state["rank"].model.numpy_params() if msg[1] == rank else None
        if msg[0] == "close":
            dist.destroy_process_group()
            state["block"].close()
            return None
        n = msg[1]
        lo, hi = shard_bounds(n, world_size)[rank]
        procs.inject_fault(state.pop("fault", None))
        views = state["block"].views
        X, y = torch.from_numpy(views["X"][lo:hi]), torch.from_numpy(views["y"][lo:hi])
        return state["rank"].step(X, y, n)

    procs.serve(conn, handle)


# ------------------------------------------- only in this twin: the torchrun entry point
def synthetic_data(n, n_in=784, n_out=10, dtype="float32", seed=0):
    """MNIST-shaped data a linear teacher labels: ``X`` in [0, 1), ``y = argmax(X T)``."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, n_in)).astype(dtype)
    teacher = rng.standard_normal((n_in, n_out))
    return X, np.argmax((X - 0.5) @ teacher, axis=1)  # (n, n_in) @ (n_in, n_out)


def _parse(argv):
    """The arguments, ranges checked; bad input is one line (rank 0's) and exit 2 on every rank."""
    p = cli.Parser(prog="python -m impl_torch.parallel", description="Train the torch twin "
                   "with DDP on synthetic data (rank 0 prints the loss of every epoch).")
    p.add_argument("--epochs", type=cli.positive_int, default=3)
    p.add_argument("--batch", type=cli.positive_int, default=256, help="global, over ranks")
    p.add_argument("--hidden", type=cli.positive_int, nargs="*", default=[1024], help="widths")
    p.add_argument("--samples", type=cli.positive_int, default=8192)
    p.add_argument("--lr", type=cli.non_negative_float, default=0.05)
    p.add_argument("--momentum", type=cli.non_negative_float, default=0.9)
    p.add_argument("--dtype", choices=sorted(DTYPES), default="float32")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="cuda: a GPU/rank")
    p.add_argument("--threads", type=cli.positive_int, help="default: cores // local ranks")
    p.add_argument("--timeout", type=cli.positive_float, default=60.0, help="seconds")
    p.add_argument("--seed", type=cli.non_negative_int, default=0)
    a = p.parse_args(argv)
    W, local_W = (int(os.environ.get(k, "1")) for k in ("WORLD_SIZE", "LOCAL_WORLD_SIZE"))
    if max(a.lr, a.momentum) > float(np.finfo(a.dtype).max):
        p.error(f"--lr {a.lr} / --momentum {a.momentum}: not finite in {a.dtype}")
    if a.batch > a.samples:
        p.error(f"--batch {a.batch} exceeds --samples {a.samples}: no full batch to train on")
    if a.batch < W:
        p.error(f"--batch {a.batch} is smaller than the {W} ranks: every rank needs a sample")
    if a.device == "cuda" and torch.cuda.device_count() < local_W:
        p.error(f"--device cuda needs {local_W} GPU(s) here, found {torch.cuda.device_count()}")
    return a


def main(argv=None) -> None:
    a = _parse(argv)
    local_rank, local_W = (int(os.environ.get(k, d)) for k, d in (("LOCAL_RANK", "0"),
                                                                   ("LOCAL_WORLD_SIZE", "1")))
    device = torch.device("cuda", local_rank) if a.device == "cuda" else torch.device("cpu")
    threads = a.threads or max(1, available_cores() // local_W)
    kw = {"timeout": timedelta(seconds=a.timeout),
          "device_id": device if device.type == "cuda" else None}
    if "RANK" not in os.environ:  # plain `python -m impl_torch.parallel`: one rank, no torchrun
        kw.update(store=dist.HashStore(), rank=0, world_size=1)
    dist.init_process_group(_backend(a.device), **kw)
    try:
        _train(a, device, threads)
    finally:
        dist.destroy_process_group()


def _train(a, device, threads):
    sizes = [784, *a.hidden, 10]
    config = dict(layer_sizes=sizes, activation="relu", loss="cross_entropy", dtype=a.dtype,
                  seed=a.seed, lr=a.lr, momentum=a.momentum, dampening=0.0, weight_decay=0.0,
                  nesterov=False)
    r = Rank(config, threads, device)
    W, rank = r.world_size, r.rank
    X, y = synthetic_data(a.samples, dtype=a.dtype, seed=a.seed)  # the same on every rank
    order = np.random.default_rng(a.seed + 1)  # the same batch order on every rank, too
    if rank == 0:
        print(f"torch-ddp: {W} rank(s) x {r.threads} thread(s), {dist.get_backend()}, MLP {sizes} "
              f"{a.dtype}, global batch {a.batch}, {a.samples} samples", flush=True)
    for epoch in range(1, a.epochs + 1):
        t0, total = time.perf_counter(), torch.zeros(2, dtype=torch.float64)
        idx = order.permutation(a.samples)
        for start in range(0, a.samples - a.batch + 1, a.batch):  # full batches only
            lo, hi = shard_bounds(a.batch, W)[rank]
            take = idx[start + lo:start + hi]
            loss = r.step(torch.from_numpy(X[take]), torch.from_numpy(y[take]), a.batch)
            total += torch.tensor([loss * (hi - lo), hi - lo], dtype=torch.float64)
        total = total.to(device)
        dist.all_reduce(total)
        loss = float(total[0] / total[1])  # the same on every rank, after the all-reduce
        if rank == 0:
            print(f"epoch {epoch}/{a.epochs}  loss {loss:.6f}  "
                  f"{time.perf_counter() - t0:.2f} s", flush=True)
        if not math.isfinite(loss):  # every rank stops; exit 1, not a silent 0
            cli.fail("python -m impl_torch.parallel", f"the loss is {loss} at epoch {epoch} "
                     f"(lower --lr?)", status=1)


if __name__ == "__main__":
    main()
    if "RANK" in os.environ:  # a rank under torchrun: all done and flushed, leave now
        # A rank sometimes died in the interpreter's own exit, after its last line and the
        # process group's teardown: "terminate called without an active exception" (a
        # gloo/c10d thread's C++ destructor; 2 runs in 14 of the two-rank test here, 0 in
        # 14 with this), and torchrun then failed the job. os._exit skips that teardown.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
