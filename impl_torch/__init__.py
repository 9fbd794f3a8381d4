"""The PyTorch twin: an ``nn.Module`` MLP with autograd, ``torch.optim.SGD``,
``DataLoader`` pipelines and ``state_dict`` checkpoints. Imports torch.

Both twins export the same names (``import impl_numpy as tw`` or ``import impl_torch as tw``);
the data-parallel trainer is in ``.parallel``. Shared rules and formats are in ``core``, and
are imported from there (``core.init.init_params``, ``core.spec.n_params``,
``core.flops.step_flops``), never through a twin.
"""

from . import activations
from .data import batched_loader, batches, per_sample_loader
from .io import load, save
from .mlp import MLP
from .sgd import SGD
from .train import checked_step, train_step

__all__ = ["MLP", "SGD", "activations", "checked_step", "batched_loader", "batches", "load",
           "per_sample_loader", "save", "train_step"]
