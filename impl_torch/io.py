"""Checkpoints: ``save(path, model)`` writes a ``torch.save`` zip; ``load(path)`` reads it back.

The file is ``torch.save({"format", "config", "state_dict"})``, read back with
``torch.load(..., weights_only=True)`` (no arbitrary unpickling), once
``core.checkpoint.read_checkpoint`` has checked it (CRC-32, size caps, layout, key names,
shapes, bounds, finite values), so both twins refuse the same files with the same message;
torch's tensors must then equal the arrays core read. ``load`` also reads an
``impl_numpy`` ``.npz`` (``allow_pickle=False``); ``core.checkpoint`` reads these files
without torch. Either twin's checkpoint loads into the other.
"""

from __future__ import annotations

import os

import torch

from core.checkpoint import FORMAT, config_of, is_torch_zip, read_checkpoint, state_dict_names
from core.checks import NOT_SAVED

from .checks import check_finite
from .mlp import MLP, TORCH_DTYPES


def save(path, model: MLP) -> None:
    """Write the params (a ``state_dict``) and the spec to ``path``, atomically. A model
    holding NaN or inf (``load`` would refuse the file) is a ``ValueError`` naming the param,
    and nothing is written (an existing file at ``path`` is left as it was)."""
    for i, p in enumerate(model.params):
        check_finite(p, i, "model.params", NOT_SAVED)
    config = config_of(model.spec)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    path = os.fspath(path)
    tmp = path + ".tmp"
    torch.save({"format": FORMAT, "config": config, "state_dict": state}, tmp)
    os.replace(tmp, path)


def load(path, device="cpu") -> MLP:
    """A new ``MLP`` with the checkpoint's spec and params, once both ``core.checkpoint``
    and (for a torch zip) ``torch.load`` have read the file to the same values."""
    config, params = read_checkpoint(path)  # core.checkpoint: CRC, caps, names, shapes, bounds
    if is_torch_zip(path):  # the file core has verified, now through torch's own reader
        params = _torch_params(path, params)
    model = MLP(**config, device=device)
    model.load_numpy_params(params)
    return model


# ----------------------------- only in this twin: torch.load's reading, checked against core's
def _torch_params(path, expected) -> list:
    """The params as ``torch.load(weights_only=True)`` reads them, which must be the arrays
    core read (else ``ValueError``). An open file, not the path: given a name ending in
    ``.safetensors``, ``torch.load`` would hand it to another reader."""
    try:
        with open(path, "rb") as f:
            state = torch.load(f, map_location="cpu", weights_only=True)["state_dict"]
        params = [state[name] for name in state_dict_names(len(expected))]
    except Exception as e:  # core accepted it, so this would be a torch-only quirk
        why = (str(e).splitlines() or [type(e).__name__])[0]
        raise ValueError(f"{os.fspath(path)}: torch.load refused it ({why})") from None
    for name, t, e in zip(state_dict_names(len(expected)), params, expected):
        if not (isinstance(t, torch.Tensor) and t.dtype == TORCH_DTYPES[e.dtype.name]
                and tuple(t.shape) == e.shape and torch.equal(t, torch.from_numpy(e))):
            raise ValueError(f"{os.fspath(path)}: torch.load reads {name} differently from "
                             "core.checkpoint")
    return params
