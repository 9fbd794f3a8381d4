"""The NumPy twin: an MLP with hand-written backprop, SGD with torch's semantics,
a shuffle/batch/repeat iterator and ``.npz`` checkpoints. Imports NumPy only."""

from . import activations
from .data import batches
from .io import load, save
from .mlp import MLP
from .sgd import SGD
from .spec import init_params, n_params, step_flops
from .train import train_step

__all__ = ["MLP", "SGD", "activations", "batches", "init_params", "load", "n_params", "save",
           "step_flops", "train_step"]
