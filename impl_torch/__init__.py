"""The PyTorch twin: an ``nn.Module`` MLP with autograd, ``torch.optim.SGD``,
``DataLoader`` pipelines and ``state_dict`` checkpoints. Imports torch.

Both twins export the same names (``import impl_numpy as tw`` or ``import impl_torch as tw``);
the data-parallel trainer is in ``.parallel``. Shared rules and formats are in ``core``.
"""

from core.flops import step_flops
from core.init import init_params
from core.spec import n_params

from . import activations
from .data import batched_loader, batches, per_sample_loader
from .io import load, save
from .mlp import MLP
from .sgd import SGD
from .train import checked_step, train_step

__all__ = ["MLP", "SGD", "activations", "checked_step", "batched_loader", "batches",
           "init_params", "load", "n_params", "per_sample_loader", "save", "step_flops",
           "train_step"]
