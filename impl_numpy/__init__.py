"""The NumPy twin: an MLP with hand-written backprop, SGD with torch's semantics,
a shuffle/batch/repeat iterator and ``.npz`` checkpoints. Imports NumPy only.

Both twins export the same names (``import impl_numpy as tw`` or ``import impl_torch as tw``);
the data-parallel trainer is in ``.parallel``. Shared rules and formats are in ``core``, and
are imported from there (``core.init.init_params``, ``core.spec.n_params``,
``core.flops.step_flops``), never through a twin.
"""

from . import activations
from .data import batches
from .io import load, save
from .mlp import MLP
from .sgd import SGD
from .train import checked_step, train_step

__all__ = ["MLP", "SGD", "activations", "checked_step", "batches", "load", "save", "train_step"]
