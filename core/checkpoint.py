"""The checkpoint format both twins write and read, and a reader that needs only NumPy.

A checkpoint is either an ``.npz`` (``impl_numpy.save``: arrays ``W1, b1, ...`` beside
``format``, ``layer_sizes``, ``activation``, ``loss``, ``dtype``) or a ``torch.save`` zip
(``impl_torch.save``: ``{"format", "config", "state_dict"}``). ``read_checkpoint`` reads
both *without importing torch*: ``np.load(..., allow_pickle=False)`` for ``.npz``, and for
the torch zip a whitelisting unpickler that rebuilds each tensor from its raw storage bytes.
Nothing else is ever unpickled, so a checkpoint cannot run code.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from collections import OrderedDict

import numpy as np

FORMAT = "mlp-twins/1"


def param_names(n: int) -> list:
    """``["W1", "b1", "W2", "b2", ...]``: the names of ``n`` params in checkpoint order."""
    return [f"{'W' if i % 2 == 0 else 'b'}{i // 2 + 1}" for i in range(n)]


def config_of(spec) -> dict:
    """The checkpoint's ``config``: what ``MLP(**config)`` needs to rebuild the network."""
    return {"layer_sizes": list(spec.layer_sizes), "activation": spec.activation,
            "loss": spec.loss, "dtype": spec.dtype}


def is_torch_zip(path) -> bool:
    """True for a ``torch.save`` zip (it holds a ``data.pkl``), False for anything else."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as z:
        return any(n.endswith("data.pkl") for n in z.namelist())


def read_checkpoint(path):
    """``(config dict, [W1, b1, ...])`` from an ``.npz`` or an ``impl_torch`` checkpoint."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a checkpoint (neither .npz nor torch.save zip)")
    if is_torch_zip(path):
        return _read_torch(path)
    with np.load(path, allow_pickle=False) as f:
        if "format" not in f or str(f["format"]) != FORMAT:
            raise ValueError(f"{path} is not an {FORMAT} checkpoint")
        config = {"layer_sizes": tuple(int(v) for v in f["layer_sizes"]),
                  "activation": str(f["activation"]), "loss": str(f["loss"]),
                  "dtype": str(f["dtype"])}
        n = 2 * (len(config["layer_sizes"]) - 1)
        params = [f[name] for name in param_names(n)]
    return config, params


# ------------------------------------------------------ torch.save, read without torch
_STORAGE_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64,
                   "LongStorage": np.int64, "IntStorage": np.int32}


class _StateDict(OrderedDict):
    """OrderedDict that accepts the ``_metadata`` attribute torch pickles onto state_dicts."""


def _rebuild_tensor(storage, offset, size, stride, *_ignored):
    data, itemsize = storage
    if not size:
        return data[offset].copy()
    strides = tuple(s * itemsize for s in stride)
    return np.lib.stride_tricks.as_strided(data[offset:], shape=size, strides=strides).copy()


class _TorchUnpickler(pickle.Unpickler):
    def __init__(self, file, zf, prefix):
        super().__init__(file)
        self.zf, self.prefix = zf, prefix

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return _StateDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}")

    def persistent_load(self, pid):
        kind, dtype, key, _location, numel = pid
        if kind != "storage" or dtype not in _STORAGE_DTYPES.values():
            raise pickle.UnpicklingError(f"unsupported storage {pid!r}")
        raw = self.zf.read(f"{self.prefix}/data/{key}")
        data = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"), count=numel)
        return data, data.itemsize


def _read_torch(path):
    with zipfile.ZipFile(path) as zf:
        pkl = next(n for n in zf.namelist() if n.endswith("/data.pkl"))
        prefix = pkl[: -len("/data.pkl")]
        try:
            obj = _TorchUnpickler(io.BytesIO(zf.read(pkl)), zf, prefix).load()
        except (pickle.UnpicklingError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"{path}: not a readable impl_torch checkpoint ({e})") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError(f"{path} is not an {FORMAT} checkpoint")
    config = dict(obj["config"])
    config["layer_sizes"] = tuple(config["layer_sizes"])
    params = list(obj["state_dict"].values())
    return config, params
