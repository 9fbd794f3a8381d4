"""Checkpoints: ``save(path, model)`` writes a ``torch.save`` zip; ``load(path)`` reads it back.

The format, and the reader that also takes an ``impl_torch`` checkpoint without importing
torch, live in ``core.checkpoint``; either twin's checkpoint loads into the other.
Here: ``torch.save({"format", "config", "state_dict"})``; read with ``weights_only=True``
(no arbitrary unpickling), or with ``core.checkpoint`` for an ``impl_numpy`` ``.npz``.
"""

from __future__ import annotations

import os

import torch

from core.checkpoint import FORMAT, config_of, is_torch_zip, read_checkpoint

from .mlp import MLP


def save(path, model: MLP) -> None:
    """Write the params (a ``state_dict``) and the spec to ``path``, atomically."""
    config = config_of(model.spec)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    path = os.fspath(path)
    tmp = path + ".tmp"
    torch.save({"format": FORMAT, "config": config, "state_dict": state}, tmp)
    os.replace(tmp, path)


def load(path, device="cpu") -> MLP:
    """A new ``MLP`` with the checkpoint's spec and params (validated shape and dtype)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}")
    if not is_torch_zip(path):  # an impl_numpy .npz (or garbage, which read_checkpoint refuses)
        config, params = read_checkpoint(path)
    else:
        obj = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(obj, dict) or obj.get("format") != FORMAT:
            raise ValueError(f"{path} is not an {FORMAT} checkpoint")
        config, params = dict(obj["config"]), list(obj["state_dict"].values())
    model = MLP(**config, device=device)
    model.load_numpy_params(params)
    return model
