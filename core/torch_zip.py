"""An ``impl_torch`` checkpoint (a ``torch.save`` zip) read with NumPy alone, untrusted.

``data.pkl`` goes through an unpickler that knows five names and refuses every other
global; a tensor comes out as a record ``(storage, offset, size, stride)``, checked and
only then turned into an array: nothing is read from a storage before its view has
been bounds-checked. The rules (caps, CRC-32, bounds) are in ``core.checkpoint``.
"""

from __future__ import annotations

import io
import math
import pickle
import re
import zipfile
from collections import OrderedDict
from typing import NamedTuple

import numpy as np

from .checkpoint_rules import (
    MAX_EXTRA_BYTES,
    MAX_PARAMS,
    MAX_PICKLE_BYTES,
    Refused,
    check_config,
    check_member_size,
    check_names,
    param_shapes,
    short,
    state_dict_names,
)

_STORAGES = {"FloatStorage": np.dtype("<f4"), "DoubleStorage": np.dtype("<f8")}
_KEY = re.compile(r"[0-9A-Za-z_]{1,32}")  # torch names storages "0", "1", ...
_CHUNK = 1 << 20


class _Storage(NamedTuple):
    key: str
    dtype: np.dtype
    numel: int


class _Tensor(NamedTuple):
    storage: _Storage
    offset: int
    size: tuple
    stride: tuple


class _StateDict(OrderedDict):
    """OrderedDict that accepts the ``_metadata`` attribute torch pickles onto state_dicts."""


def _is_index(v) -> bool:
    return type(v) is int and v >= 0  # not bool, not float, not negative


def _rebuild_tensor(storage, offset, size, stride, *_ignored):
    """``torch._utils._rebuild_tensor_v2``'s stand-in: check the arguments, build nothing."""
    if not isinstance(storage, _Storage):
        raise Refused(f"a tensor refers to {short(storage)}, not to a storage")
    if not (isinstance(size, tuple) and isinstance(stride, tuple) and len(size) == len(stride)
            and all(map(_is_index, size + stride)) and _is_index(offset)):
        raise Refused(f"a tensor has size {short(size)}, stride {short(stride)}, offset "
                      f"{short(offset)}: these must be non-negative ints, one stride per size")
    return _Tensor(storage, offset, size, stride)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return _StateDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGES:
            return name
        raise Refused(f"refusing to unpickle {module:.80}.{name:.80} "
                      "(only tensors of float32 or float64 may appear)")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and pid[1] in _STORAGES and isinstance(pid[2], str) and _KEY.fullmatch(pid[2])
                and _is_index(pid[4]) and pid[4] <= MAX_PARAMS):
            raise Refused(f"unsupported storage {short(pid)}")
        return _Storage(pid[2], _STORAGES[pid[1]], pid[4])


def read_torch_zip(zf: zipfile.ZipFile):
    """``(config, [W1, b1, ...])``; every problem raises ``Refused``."""
    infos = {i.filename: i for i in zf.infolist()}
    pkls = [n for n in infos if n == "data.pkl" or n.endswith("/data.pkl")]
    if len(pkls) != 1:
        raise Refused(f"a torch.save zip holds one data.pkl, this one {len(pkls)}")
    prefix = pkls[0].removesuffix("data.pkl")
    check_member_size(infos[pkls[0]], 0, MAX_PICKLE_BYTES)
    obj = _unpickle(zf.read(pkls[0]))  # zipfile checks the CRC-32
    if not isinstance(obj, dict) or set(obj) != {"format", "config", "state_dict"}:
        keys = sorted(map(str, obj)) if isinstance(obj, dict) else type(obj).__name__
        raise Refused(f"not an impl_torch checkpoint (holds {short(keys)}, not "
                      "format, config, state_dict)")
    config = check_config(obj["format"], obj["config"])
    state = obj["state_dict"]
    shapes = param_shapes(config["layer_sizes"])
    names = state_dict_names(len(shapes))
    if not isinstance(state, dict):
        raise Refused(f"state_dict is a {type(state).__name__}, not a dict")
    check_names(list(state), names, "state_dict keys")
    dtype = np.dtype(config["dtype"]).newbyteorder("<")
    tensors = [state[name] for name in names]
    storages = {}
    for name, shape, t in zip(names, shapes, tensors):
        _check_view(name, t, dtype, shape)
        if storages.setdefault(t.storage.key, t.storage) != t.storage:
            raise Refused(f"storage {t.storage.key} is declared twice, differently")
    _check_members(zf, infos, prefix, storages.values(),
                   sum(map(math.prod, shapes)) * dtype.itemsize)
    data = {key: np.frombuffer(zf.read(f"{prefix}data/{key}"), s.dtype)
            for key, s in storages.items()}
    return config, [_view(data[t.storage.key], t) for t in tensors]


def _unpickle(raw: bytes):
    if not raw.startswith(b"\x80\x02"):  # torch.save writes protocol 2; torch.load warns on others
        raise Refused("data.pkl is not a protocol-2 pickle, as torch.save writes it")
    try:
        return _Unpickler(io.BytesIO(raw)).load()
    except Refused:
        raise
    except Exception as e:  # a malformed pickle fails in many ways; each one means "bad"
        first = str(e).splitlines()[0] if str(e) else ""
        raise Refused(f"data.pkl is not a readable pickle ({type(e).__name__}: "
                      f"{short(first)})") from None


def _check_view(name: str, t, dtype: np.dtype, shape: tuple) -> None:
    """The view ``t`` must be ``shape`` of ``dtype`` and lie inside its storage."""
    if not isinstance(t, _Tensor):
        raise Refused(f"{name} is a {type(t).__name__}, not a tensor")
    if t.storage.dtype != dtype or t.size != shape:
        raise Refused(f"{name} is {t.storage.dtype.name} of shape {t.size}, layer_sizes and "
                      f"dtype need {dtype.name} of shape {shape}")
    if math.prod(t.size) == 0:
        last = t.offset - 1  # an empty view reads nothing; its offset may be numel
    else:  # the furthest element the view reads, with every stride non-negative
        last = t.offset + sum((n - 1) * s for n, s in zip(t.size, t.stride))
    if last >= t.storage.numel:
        raise Refused(f"{name} reads element {last:,} of storage {t.storage.key}, which "
                      f"holds {t.storage.numel:,}")


def _check_members(zf, infos, prefix, storages, n_bytes: int) -> None:
    """Storage members exactly ``numel * itemsize`` bytes, all together within what
    ``layer_sizes`` needs, little-endian, every member's CRC-32 intact."""
    total = 0  # bytes
    for s in storages:
        member = f"{prefix}data/{s.key}"
        if member not in infos:
            raise Refused(f"storage {s.key} is missing (no {member})")
        nbytes = s.numel * s.dtype.itemsize
        check_member_size(infos[member], nbytes, nbytes)
        total += nbytes
    if total > n_bytes:
        raise Refused(f"storages hold {total:,} bytes, layer_sizes need {n_bytes:,}")
    extra = sum(i.file_size for i in infos.values()) - total
    if extra > MAX_EXTRA_BYTES:
        raise Refused(f"zip members beyond the storages declare {extra:,} bytes, more than "
                      f"the cap of {MAX_EXTRA_BYTES:,}")
    outside = [n for n in infos if not n.startswith(prefix)]
    if outside:
        raise Refused(f"zip members {short(outside)} lie outside {prefix or '/'}")
    if f"{prefix}byteorder" in infos:
        check_member_size(infos[f"{prefix}byteorder"], 0, 16)
        if zf.read(f"{prefix}byteorder") != b"little":
            raise Refused("storages are not little-endian")
    for info in infos.values():  # read to the end: zipfile raises on a bad CRC-32
        with zf.open(info) as f:
            while f.read(_CHUNK):
                pass


def _view(data: np.ndarray, t: _Tensor) -> np.ndarray:
    """A copy of the view ``t`` of ``data``, after ``_check_view`` proved it in bounds."""
    if math.prod(t.size) == 0:
        return np.empty(t.size, data.dtype)
    strides = tuple(s * data.itemsize for s in t.stride)
    view = np.lib.stride_tricks.as_strided(data[t.offset:], t.size, strides, writeable=False)
    return np.array(view, dtype=data.dtype.newbyteorder("="))
