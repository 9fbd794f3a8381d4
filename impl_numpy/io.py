"""Checkpoints: ``save(path, model)`` writes an ``.npz``; ``load(path)`` reads it back.

The format, and the reader that also takes an ``impl_torch`` checkpoint without importing
torch, live in ``core.checkpoint``; either twin's checkpoint loads into the other.
Here: ``np.savez`` of ``W1, b1, ...`` beside ``format`` and the members of
``core.checkpoint.config_of`` (the torch twin's ``config``), each a NumPy array
(``layer_sizes`` int64, the others strings); read with ``allow_pickle=False``.
"""

from __future__ import annotations

import os

import numpy as np

from core.checkpoint import FORMAT, config_of, param_names, read_checkpoint
from core.checks import NOT_SAVED

from .checks import check_finite, check_like
from .mlp import MLP


def save(path, model: MLP) -> None:
    """Write the params ``W1, b1, ...`` and the spec to ``path``, atomically. A model
    holding NaN or inf (``load`` would refuse the file) is a ``ValueError`` naming the param,
    and nothing is written (an existing file at ``path`` is left as it was)."""
    for i, p in enumerate(model.params):
        check_finite(p, i, "model.params", NOT_SAVED)
    config = config_of(model.spec)
    arrays = dict(zip(param_names(len(model.params)), model.params))
    meta = {"format": np.array(FORMAT), **{k: np.array(v) for k, v in config.items()}}
    meta["layer_sizes"] = np.array(config["layer_sizes"], dtype=np.int64)  # int64 everywhere
    path = os.fspath(path)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        np.savez(f, **meta, **arrays)
    os.replace(tmp, path)


def load(path) -> MLP:
    """A new ``MLP`` with the checkpoint's spec and params (validated shape and dtype)."""
    config, params = read_checkpoint(path)
    model = MLP(**config)
    model.params = [np.array(p) for p in check_like(params, model.params, "checkpoint")]
    return model
