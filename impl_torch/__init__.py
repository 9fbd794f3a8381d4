"""The PyTorch twin: ``nn.Module`` MLP, ``torch.optim.SGD``, ``DataLoader`` pipelines and
``state_dict`` checkpoints, with the same names and signatures as ``impl_numpy``."""

from .data import batched_loader, per_sample_loader
from .io import load, save
from .mlp import MLP
from .train import make_sgd, train_step

__all__ = ["MLP", "batched_loader", "load", "make_sgd", "per_sample_loader", "save",
           "train_step"]
